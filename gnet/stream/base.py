"""What every stream class shares: per-side state, options, the deferred steps, destroy().

``_ReadableState`` and ``_WritableState`` are Node's ``ReadableState`` and
``WritableState``, field by field. ``_StreamBase`` holds the per-stream
queue of deferred steps (Node's ``process.nextTick``, per stream: see the
theory of operation in :mod:`gnet.stream`), ``destroy()`` and the error and
close emission both sides share; the option hooks (``read=``,
``write=``...) are bound here.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from abc import ABCMeta
from collections import deque
from collections.abc import Callable
from typing import Any

from gnet.abort import add_abort_listener, validate_abort_signal
from gnet.dispatch import schedule
from gnet.encodings import Decoder, normalize_encoding
from gnet.errors import (
    AbortError,
    InvalidArgTypeError,
    InvalidArgValueError,
    MultipleCallbackError,
    StreamDestroyedError,
)
from gnet.events import EventEmitter
from gnet.socket import getDefaultHighWaterMark
from gnet.validate import validate_function

__all__: tuple[str, ...] = ()  # internal: what the stream classes build on

logger = logging.getLogger("gnet")


_DEFAULT_OBJECT_HWM = 16  # Node's getDefaultHighWaterMark(true)
_TICK_BATCH = 1024  # deferred steps one stream runs before the others get a turn


def _is_bytes(chunk: Any) -> bool:
    return isinstance(chunk, (bytes, bytearray, memoryview))


class _ReadableState:
    __slots__ = ("autoDestroy", "buffer", "closeEmitted", "closed", "constructed",
                 "dataEmitted", "decoder", "destroyed", "emitClose", "emittedReadable",
                 "encoding", "endEmitted", "ended", "errorEmitted", "errored", "flowing",
                 "highWaterMark", "length", "needReadable", "objectMode", "paused",
                 "readableListening", "reading", "readingMore", "resumeScheduled", "sync")

    def __init__(self, options: dict[str, Any], duplex: bool) -> None:
        self.objectMode = bool(options.get("objectMode") or
                               (duplex and options.get("readableObjectMode")))
        hwm = options.get("highWaterMark")
        if hwm is None and duplex:
            hwm = options.get("readableHighWaterMark")
        self.highWaterMark = _hwm(hwm, self.objectMode, "readableHighWaterMark")
        self.buffer: deque[Any] = deque()
        self.length = 0
        self.flowing: bool | None = None
        self.ended = self.endEmitted = self.reading = False
        self.constructed = True
        self.sync = True
        self.needReadable = self.emittedReadable = self.readableListening = False
        self.resumeScheduled = self.readingMore = self.dataEmitted = False
        self.paused: bool | None = None
        self.errorEmitted = self.closeEmitted = self.closed = self.destroyed = False
        self.errored: BaseException | None = None
        self.emitClose = options.get("emitClose", True) is not False
        self.autoDestroy = options.get("autoDestroy", True) is not False
        self.encoding: str | None = None
        self.decoder: Decoder | None = None
        if options.get("encoding"):
            self.encoding = normalize_encoding(options["encoding"])
            self.decoder = Decoder(self.encoding)


class _WritableState:
    __slots__ = ("autoDestroy", "buffered", "closeEmitted", "closed", "constructed",
                 "corked", "decodeStrings", "defaultEncoding", "destroyed", "emitClose",
                 "ended", "ending", "errorEmitted", "errored", "finalCalled", "finished",
                 "highWaterMark", "length", "needDrain", "objectMode", "onFinished",
                 "pendingcb", "prefinished", "sync", "writecb", "writelen", "writing",
                 "bufferProcessing")

    def __init__(self, options: dict[str, Any], duplex: bool) -> None:
        self.objectMode = bool(options.get("objectMode") or
                               (duplex and options.get("writableObjectMode")))
        hwm = options.get("highWaterMark")
        if hwm is None and duplex:
            hwm = options.get("writableHighWaterMark")
        self.highWaterMark = _hwm(hwm, self.objectMode, "writableHighWaterMark")
        self.decodeStrings = options.get("decodeStrings", True) is not False
        self.defaultEncoding = normalize_encoding(options.get("defaultEncoding") or "utf8")
        self.length = 0
        self.writing = False
        self.corked = 0
        self.sync = True
        self.bufferProcessing = False
        self.writecb: Callable[..., Any] | None = None
        self.writelen = 0
        self.buffered: list[tuple[Any, str, Callable[..., Any]]] = []
        self.pendingcb = 0
        self.constructed = True
        self.prefinished = self.finalCalled = self.ending = self.ended = self.finished = False
        self.needDrain = False
        self.errorEmitted = self.closeEmitted = self.closed = self.destroyed = False
        self.errored: BaseException | None = None
        self.emitClose = options.get("emitClose", True) is not False
        self.autoDestroy = options.get("autoDestroy", True) is not False
        self.onFinished: list[Callable[..., Any]] = []


def _hwm(value: Any, object_mode: bool, name: str) -> int:
    if value is None:
        # Bytes: gnet.getDefaultHighWaterMark() (64 KiB, Node 22's default;
        # setDefaultHighWaterMark() changes it for streams made later).
        return _DEFAULT_OBJECT_HWM if object_mode else getDefaultHighWaterMark()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or value != value or value == math.inf:
        raise InvalidArgValueError(f"options.{name}", value)
    return int(value)


def _options(options: dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise InvalidArgTypeError("options", "of type dict", options)
    if kwargs:
        options = {**options, **kwargs}
    return options


class _StreamBase(EventEmitter, metaclass=ABCMeta):
    """What every stream class shares: the per-stream queue of deferred steps, destroy()."""

    _r: _ReadableState | None = None
    _w: _WritableState | None = None

    def _setup(self, options: dict[str, Any]) -> None:
        self._ticks: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._ticking = False
        for hook in ("read", "write", "writev", "final", "destroy", "transform", "flush",
                     "construct"):
            fn = options.get(hook)
            if fn is not None:
                validate_function(fn, f"options.{hook}")
                setattr(self, "_" + hook, _bind(fn, self, hook))
        self._pending_destroy: Callable[[], None] | None = None
        if callable(getattr(self, "_construct", None)):
            for st in (self._r, self._w):
                if st is not None:
                    st.constructed = False
            self._tick(self._construct_nt)
        signal = options.get("signal")
        if signal is not None:
            validate_abort_signal(signal, "options.signal")
            if signal.aborted:
                self._tick(lambda: self.destroy(AbortError(cause=signal.reason)))
            else:
                add_abort_listener(signal, lambda: self.destroy(AbortError(cause=signal.reason)))

    def _construct_nt(self) -> None:
        # Node's construct(): _construct(callback) runs on the next tick;
        # reads, writes, 'finish' and _destroy wait for its callback.
        called = [False]

        def on_construct(err: BaseException | None = None) -> None:
            if called[0]:
                self._error_or_destroy(err or MultipleCallbackError())
                return
            called[0] = True
            for st in (self._r, self._w):
                if st is not None:
                    st.constructed = True
            pending, self._pending_destroy = self._pending_destroy, None
            if pending is not None:
                pending()
            elif err is not None:
                self._error_or_destroy(err)
            else:
                self._tick(self._after_construct)

        try:
            self._construct(on_construct)  # type: ignore[attr-defined]
        except Exception as exc:
            on_construct(exc)

    def _after_construct(self) -> None:
        r, w = self._r, self._w
        if r is not None and (r.needReadable or r.flowing or r.readableListening):
            self._maybe_read_more()  # type: ignore[attr-defined]
        if w is not None:
            if w.buffered:
                self._clear_buffer()  # type: ignore[attr-defined]
            self._finish_maybe(False)  # type: ignore[attr-defined]

    # -- the deferred-step queue (Node's process.nextTick, per stream) --------

    def _tick(self, fn: Callable[..., Any], *args: Any) -> None:
        self._ticks.append((fn, args))
        if not self._ticking:
            self._ticking = True
            schedule(self._run_ticks)

    def _run_ticks(self) -> None:
        # A bounded batch, then to the back of the workers' queue: in a chain
        # of streams each one's steps come in turn, so a chunk reaches the
        # end of a pipeline (and backpressure its start) without every
        # buffer on the way filling up first.
        ticks = self._ticks
        try:
            for _ in range(_TICK_BATCH):
                if not ticks:
                    break
                fn, args = ticks.popleft()
                try:
                    fn(*args)
                except Exception as exc:
                    self._listener_failed(exc)
        finally:
            if ticks:
                schedule(self._run_ticks)
            else:
                self._ticking = False

    def _listener_failed(self, exc: BaseException) -> None:
        # Node would crash the process; gnet reports it and destroys this
        # stream only, as it does for a socket's listener.
        logger.error("gnet: error in a listener or hook of %r; destroying it", self, exc_info=exc)
        if not self.destroyed:
            self.destroy()

    # -- destroy --------------------------------------------------------------

    @property
    def destroyed(self) -> bool:
        """Whether ``destroy()`` was called (Node's ``destroyed``)."""
        r, w = self._r, self._w
        return bool((r is not None and r.destroyed) or (w is not None and w.destroyed))

    @destroyed.setter
    def destroyed(self, value: bool) -> None:
        # Node lets a stream be marked destroyed without destroy() (old
        # stream implementations do that); nothing else happens.
        for st in (self._r, self._w):
            if st is not None:
                st.destroyed = bool(value)

    @property
    def closed(self) -> bool:
        """Whether 'close' is due or was emitted (Node's ``closed``)."""
        r, w = self._r, self._w
        return bool((r is not None and r.closed) or (w is not None and w.closed))

    @property
    def errored(self) -> BaseException | None:
        """The error the stream was destroyed with, or None (Node's ``errored``)."""
        r, w = self._r, self._w
        return (r.errored if r is not None else None) or (w.errored if w is not None else None)

    def destroy(self, error: BaseException | None = None,
                callback: Callable[..., Any] | None = None) -> Any:
        """Destroy the stream: 'error' (if ``error``) then 'close' (Node's ``destroy([error])``).

        Calls ``_destroy(error, callback)``; pending write callbacks get
        ``ERR_STREAM_DESTROYED``. A second call does nothing. Returns self.
        """
        r, w = self._r, self._w
        if self.destroyed:
            if callback is not None:
                self._tick(callback, None)  # Node 20: cb() without the error
            return self
        if w is not None and (w.buffered or w.onFinished):
            self._tick(self._error_buffer)
        if error is not None:
            for st in (r, w):
                if st is not None and st.errored is None:
                    st.errored = error
        for st in (r, w):
            if st is not None:
                st.destroyed = True
        called = [False]

        def on_destroy(err: BaseException | None = None) -> None:
            if called[0]:
                return
            called[0] = True
            for st in (r, w):
                if st is not None:
                    if err is not None and st.errored is None:
                        st.errored = err
                    st.closed = True
            if callback is not None:
                self._tick(callback, err)
            if err is not None:
                self._tick(self._emit_error_close, err)
            else:
                self._tick(self._emit_close)

        def run_destroy() -> None:
            try:
                self._destroy(error, on_destroy)
            except Exception as exc:
                on_destroy(exc)

        if any(st is not None and not st.constructed for st in (r, w)):
            self._pending_destroy = run_destroy  # after _construct's callback
        else:
            run_destroy()
        return self

    def _destroy(self, error: BaseException | None, callback: Callable[..., Any]) -> None:
        """The hook ``destroy()`` calls (Node's ``_destroy(err, cb)``); the default calls back."""
        callback(error)

    def _emit_error_close(self, err: BaseException) -> None:
        self._emit_error_nt(err)
        self._emit_close()

    def _emit_error_nt(self, err: BaseException) -> None:
        r, w = self._r, self._w
        if (w is not None and w.errorEmitted) or (r is not None and r.errorEmitted):
            return
        for st in (r, w):
            if st is not None:
                st.errorEmitted = True
        self.emit("error", err)

    def _emit_close(self) -> None:
        r, w = self._r, self._w
        for st in (r, w):
            if st is not None:
                st.closeEmitted = True
        if (w is not None and w.emitClose) or (r is not None and r.emitClose):
            self.emit("close")

    def _error_or_destroy(self, err: BaseException) -> None:
        r, w = self._r, self._w
        if self.destroyed:
            return
        if (r is not None and r.autoDestroy) or (w is not None and w.autoDestroy):
            self.destroy(err)
            return
        for st in (r, w):
            if st is not None and st.errored is None:
                st.errored = err
        self._tick(self._emit_error_nt, err)

    def _error_buffer(self) -> None:
        w = self._w
        if w is None or w.writing:
            return  # the write in progress calls back first; _after_write comes here
        err = w.errored or StreamDestroyedError("write")
        buffered, w.buffered = w.buffered, []
        for chunk, _enc, cb in buffered:
            w.length -= 1 if w.objectMode else len(chunk)
            cb(err)
        finished, w.onFinished = w.onFinished, []
        for cb in finished:
            cb(w.errored or StreamDestroyedError("end"))


_HOOK_ARITY = {"read": 1, "write": 3, "writev": 2, "final": 1, "destroy": 2,
               "transform": 3, "flush": 1, "construct": 1}


def _bind(fn: Callable[..., Any], stream: Any, hook: str) -> Callable[..., Any]:
    # Node calls an option's function with ``this`` = the stream. A Python
    # function taking one more positional parameter than the hook gets the
    # stream first (``read=lambda this, size: this.push(...)``); otherwise it
    # gets the hook's arguments only (reach the stream through a closure).
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) == _HOOK_ARITY[hook] + 1:
        return functools.partial(fn, stream)
    return fn


def _is_own(stream: Any) -> bool:
    # A gnet.stream class itself, not one registered with it (a Socket).
    return _StreamBase in type(stream).__mro__


def _is_emitter(obj: Any) -> bool:
    return callable(getattr(obj, "on", None)) and callable(getattr(obj, "emit", None))
