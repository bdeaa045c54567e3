"""Node's ``stream`` module: the classes a user subclasses, ``finished``, ``pipe``, ``pipeline``.

``Readable``, ``Writable``, ``Duplex``, ``Transform`` and ``PassThrough``
are Node's stream classes with Node's hooks and names: a subclass (or the
options ``read``/``write``/``writev``/``final``/``transform``/``flush``/
``destroy``) provides ``_read(size)``, ``_write(chunk, encoding,
callback)``, ``_writev(chunks, callback)``, ``_final(callback)``,
``_transform(chunk, encoding, callback)``, ``_flush(callback)``,
``_destroy(err, callback)``; the stream does the buffering, the
high-water marks, backpressure (``push()`` and ``write()`` return False
past the mark), the events and their order. A line splitter ported from
Node::

    class Lines(Transform):
        def __init__(self):
            super().__init__({'readableObjectMode': True})
            self.tail = ''
        def _transform(self, chunk, encoding, callback):
            *lines, self.tail = (self.tail + chunk.decode()).split('\\n')
            for line in lines:
                self.push(line)
            callback()
        def _flush(self, callback):
            if self.tail:
                self.push(self.tail)
            callback()

``pipe`` is Node's ``readable.pipe``: it moves chunks from a readable to a
writable and honours backpressure (pause the source when ``write()``
returns False, resume on the destination's 'drain'), but, as in Node, it
neither forwards errors nor destroys the other side. ``pipeline`` is
Node's ``stream.pipeline``: it pipes a chain (streams, iterables, generator
functions, a Python binary file at either end) and destroys every stream
when one of them fails or closes early, then calls back once. ``finished``
is Node's ``stream.finished`` (end-of-stream).

Theory of operation
-------------------
The state machine is Node's (``lib/internal/streams``), field by field,
with one change imposed by gnet's execution rule (``dispatch.py``): every
event and every user callback is emitted in a gnet worker greenlet, never
inside the call that caused it. Where Node calls ``process.nextTick`` (or
emits synchronously), a stream here appends the step to its own queue and
schedules itself once; a worker runs the queue in order, so one stream's
events come in Node's order, and a listener that blocks cooperatively
holds back only its own stream. A stream runs its queue in bounded
batches and reads ahead a few ``_read`` calls at a time, then lets the
other streams have their turn, so in a pipeline a chunk travels to the end
(and backpressure to the start) without every buffer on the way filling
up first. The hooks (``_read``, ``_write``...) are
called synchronously as in Node: they are the stream's own code, not
events. In flowing mode 'data' is emitted from the queue one chunk at a
time, so a ``pause()`` from a 'data' listener (``pipe()``'s backpressure)
stops the very next chunk, as in Node.

``gnet.Socket`` (and ``gnet.tls.TLSSocket``) are registered as
:class:`Duplex`, ``gnet.process.stdin`` as :class:`Readable` and
``stdout``/``stderr`` as :class:`Writable` (ABC registration: the classes
keep their own bases), so ``isinstance(sock, gnet.stream.Duplex)`` holds.

gnet's spellings: ``Readable.from_`` is Node's ``Readable.from`` (``from``
is a Python keyword; PEP 8's trailing underscore). A Python binary file
object (anything with ``read()`` or ``write()`` returning/taking bytes
and no ``on()``) is accepted by ``pipe()`` and ``pipeline()`` as a
destination or source; it is read in chunks of 64 KiB, one chunk per
task, so the loop serves everyone else between two chunks; gnet never
closes a file it did not open.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from abc import ABCMeta
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event
from zope.interface import implementer

from gnet.abort import AbortSignal, add_abort_listener, validate_abort_signal
from gnet.dispatch import get_loop, schedule
from gnet.encodings import Decoder, encode, normalize_encoding
from gnet.errors import (
    AbortError,
    InvalidArgTypeError,
    InvalidArgValueError,
    MethodNotImplementedError,
    MissingArgsError,
    MultipleCallbackError,
    StreamAlreadyFinishedError,
    StreamDestroyedError,
    StreamNullValuesError,
    StreamPrematureCloseError,
    StreamPushAfterEOFError,
    StreamUnshiftAfterEndEventError,
    StreamWriteAfterEndError,
    UnsupportedError,
)
from gnet.events import EventEmitter
from gnet.interfaces import IReadable, IWritable
from gnet.socket import getDefaultHighWaterMark
from gnet.validate import validate_function

__all__ = ("Duplex", "PassThrough", "Readable", "Transform", "Writable", "finished",
           "pipe", "pipeline", "unpipe")

logger = logging.getLogger("gnet")

CHUNK = 64 * 1024
"""Bytes read from a Python file object per task."""

_DEFAULT_OBJECT_HWM = 16  # Node's getDefaultHighWaterMark(true)
_TICK_BATCH = 1024  # deferred steps one stream runs before the others get a turn
_READ_MORE_BATCH = 16  # _read calls of one "read more" step


def _nop(*_args: Any) -> None:
    pass


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


@implementer(IReadable)
class Readable(_StreamBase):
    """Node's ``stream.Readable``: a source a user makes by providing ``_read(size)``.

    ``_read`` calls ``push(chunk)`` (``push(None)`` ends the stream);
    consumers use 'data' (flowing mode), 'readable' + ``read([n])`` (pull
    mode), ``pipe()``, or iteration (``for chunk in readable``, which reads in
    the calling greenlet). Options in Node's names: ``highWaterMark``,
    ``encoding``, ``objectMode``, ``emitClose``, ``autoDestroy``, ``signal``,
    and the hooks ``read``/``destroy`` as functions. Options may also be
    given as keyword arguments.
    """

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        EventEmitter.__init__(self)
        options = _options(options, kwargs)
        self._r = _ReadableState(options, isinstance(self, Duplex))
        self._setup(options)

    # -- hooks -------------------------------------------------------------

    def _read(self, size: int) -> None:
        """Produce data with ``push()``; subclasses override it (or pass ``read``)."""
        raise MethodNotImplementedError("_read()")

    # -- push side ---------------------------------------------------------

    def push(self, chunk: Any, encoding: str | None = None) -> bool:
        """Add ``chunk`` to the read buffer; ``None`` ends the stream.

        Returns False once the buffer holds ``readableHighWaterMark`` or more
        (stop pushing until the next ``_read``), as Node's ``push``.
        """
        return self._add_chunk(chunk, encoding, False)

    def unshift(self, chunk: Any, encoding: str | None = None) -> bool:
        """Put ``chunk`` back at the front of the read buffer (Node's ``unshift``)."""
        return self._add_chunk(chunk, encoding, True)

    def _add_chunk(self, chunk: Any, encoding: str | None, front: bool) -> bool:
        st = self._r
        assert st is not None
        if chunk is not None and not st.objectMode:
            if isinstance(chunk, str):
                enc = normalize_encoding(encoding) if encoding else "utf8"
                if not (front and st.encoding == enc):
                    chunk = encode(chunk, enc)
            elif _is_bytes(chunk):
                chunk = bytes(chunk)
            else:
                self._error_or_destroy(InvalidArgTypeError(
                    "chunk", "of type str or bytes-like", chunk))
                return False
        if chunk is None:
            st.reading = False
            self._on_eof()
        elif st.objectMode or len(chunk) > 0:
            if front:
                if st.endEmitted:
                    self._error_or_destroy(StreamUnshiftAfterEndEventError())
                    return False
                if st.destroyed or st.errored:
                    return False
                self._add(chunk, True)
            elif st.ended:
                self._error_or_destroy(StreamPushAfterEOFError())
                return False
            elif st.destroyed or st.errored:
                return False
            else:
                st.reading = False
                if st.decoder is not None and _is_bytes(chunk):
                    chunk = st.decoder.write(chunk)
                    if st.objectMode or len(chunk):
                        self._add(chunk, False)
                    else:
                        self._maybe_read_more()
                else:
                    self._add(chunk, False)
        elif not front:
            st.reading = False
            self._maybe_read_more()
        return not st.ended and (st.length < st.highWaterMark or st.length == 0)

    def _add(self, chunk: Any, front: bool) -> None:
        st = self._r
        assert st is not None
        if st.decoder is not None and _is_bytes(chunk):
            chunk = st.decoder.write(chunk)  # unshift of raw bytes on a decoding stream
        st.length += 1 if st.objectMode else len(chunk)
        if front:
            st.buffer.appendleft(chunk)
        else:
            st.buffer.append(chunk)
        if st.needReadable or st.flowing:
            self._emit_readable()
        self._maybe_read_more()

    def _on_eof(self) -> None:
        st = self._r
        assert st is not None
        if st.ended:
            return
        if st.decoder is not None:
            rest = st.decoder.end()
            if rest:
                st.buffer.append(rest)
                st.length += 1 if st.objectMode else len(rest)
        st.ended = True
        if st.sync:
            self._emit_readable()
        else:
            st.needReadable = False
            st.emittedReadable = True
            self._tick(self._emit_readable_nt)

    def _emit_readable(self) -> None:
        st = self._r
        assert st is not None
        st.needReadable = False
        if not st.emittedReadable:
            st.emittedReadable = True
            self._tick(self._emit_readable_nt)

    def _emit_readable_nt(self) -> None:
        st = self._r
        assert st is not None
        if not st.destroyed and st.errored is None and (st.length or st.ended):
            if st.readableListening:
                self.emit("readable")
            st.emittedReadable = False
        st.needReadable = not st.flowing and not st.ended and st.length <= st.highWaterMark
        self._flow()

    def _maybe_read_more(self) -> None:
        st = self._r
        assert st is not None
        if not st.readingMore and st.constructed:
            st.readingMore = True
            self._tick(self._maybe_read_more_nt)

    def _maybe_read_more_nt(self) -> None:
        st = self._r
        assert st is not None
        rounds = 0
        while (not st.reading and not st.ended
               and (st.length < st.highWaterMark or (st.flowing and st.length == 0))):
            rounds += 1
            if rounds > _READ_MORE_BATCH:
                # Later, after the other streams' turns (see _run_ticks).
                self._tick(self._maybe_read_more_nt)
                return
            before = st.length
            self._read_chunk(0, False)
            grew = st.length != before
            if st.flowing:
                # Node emits a chunk pushed while flowing at once; here it
                # goes out before the next _read, so a consumer downstream
                # (and its backpressure) sees it as early as in Node.
                self._flow()
            if not grew:
                break
        st.readingMore = False

    # -- read side ---------------------------------------------------------

    def read(self, n: int | None = None) -> Any:
        """Take ``n`` bytes (characters, objects) from the buffer, or all of it.

        Node's ``readable.read([size])``: returns None when fewer than ``n``
        are buffered (unless the stream ended: then what is left), and asks
        ``_read`` for more below the high-water mark. A chunk returned is
        also emitted as 'data' (later, in a worker).
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
            raise InvalidArgTypeError("size", "of type int", n)
        return self._read_chunk(n, False)

    def _read_chunk(self, n: int | None, emit_now: bool) -> Any:
        st = self._r
        assert st is not None
        n_orig = n
        if n is not None and n > st.highWaterMark:
            if n > 1 << 30:
                raise InvalidArgValueError("size", n, "must be <= 1GiB")
            st.highWaterMark = 1 << max(n - 1, 1).bit_length()
        if n != 0:
            st.emittedReadable = False
        if (n == 0 and st.needReadable and
                ((st.length >= st.highWaterMark if st.highWaterMark else st.length > 0)
                 or st.ended)):
            if st.length == 0 and st.ended:
                self._end_readable()
            else:
                self._emit_readable()
            return None
        n = self._how_much(n)
        if n == 0 and st.ended:
            if st.length == 0:
                self._end_readable()
            return None
        do_read = st.needReadable
        if st.length == 0 or st.length - n < st.highWaterMark:
            do_read = True
        if st.ended or st.reading or st.destroyed or st.errored or not st.constructed:
            do_read = False
        elif do_read:
            st.reading = True
            st.sync = True
            if st.length == 0:
                st.needReadable = True
            try:
                self._read(st.highWaterMark)
            except Exception as exc:
                self._error_or_destroy(exc)
            st.sync = False
            if not st.reading:
                n = self._how_much(n_orig)
        ret = self._from_list(n) if n > 0 else None
        if ret is None:
            st.needReadable = st.length <= st.highWaterMark
        if st.length == 0:
            if not st.ended:
                st.needReadable = True
            if n_orig != n and st.ended:
                self._end_readable()
        if ret is not None and not st.errorEmitted and not st.closeEmitted:
            st.dataEmitted = True
            if emit_now:
                self.emit("data", ret)
            else:
                self._tick(self.emit, "data", ret)
        return ret

    def _how_much(self, n: int | None) -> int:
        st = self._r
        assert st is not None
        if (n is not None and n <= 0) or (st.length == 0 and st.ended):
            return 0
        if st.objectMode:
            return 1
        if n is None:
            if st.flowing and st.length:
                return len(st.buffer[0])
            return st.length
        if n <= st.length:
            return n
        return st.length if st.ended else 0

    def _from_list(self, n: int) -> Any:
        st = self._r
        assert st is not None
        buf = st.buffer
        if not buf:
            return None
        if st.objectMode:
            st.length -= 1
            return buf.popleft()
        if n >= st.length:
            ret = buf[0] if len(buf) == 1 else ("" if isinstance(buf[0], str) else b"").join(buf)
            buf.clear()
        elif n < len(buf[0]):
            first = buf[0]
            ret = first[:n]
            buf[0] = first[n:]
        elif n == len(buf[0]):
            ret = buf.popleft()
        else:
            parts = []
            need = n
            while need:
                first = buf[0]
                if len(first) <= need:
                    parts.append(buf.popleft())
                    need -= len(first)
                else:
                    parts.append(first[:need])
                    buf[0] = first[need:]
                    need = 0
            ret = ("" if isinstance(parts[0], str) else b"").join(parts)
        st.length -= len(ret)
        return ret

    def _end_readable(self) -> None:
        st = self._r
        assert st is not None
        if not st.endEmitted:
            st.ended = True
            self._tick(self._end_readable_nt)

    def _end_readable_nt(self) -> None:
        st = self._r
        assert st is not None
        if not st.errorEmitted and not st.closeEmitted and not st.endEmitted and st.length == 0:
            st.endEmitted = True
            self.emit("end")
            w = self._w
            if w is not None and not getattr(self, "allowHalfOpen", True) and not w.ending:
                self.end()  # type: ignore[attr-defined]
            if st.autoDestroy and (w is None or (
                    w.autoDestroy and (w.finished or not self._writable_flag()))):
                self.destroy()

    def _writable_flag(self) -> bool:
        return True

    def _flow(self) -> None:
        st = self._r
        assert st is not None
        while st.flowing and self._read_chunk(None, True) is not None:
            pass

    # -- flowing / paused -------------------------------------------------

    def _add_listener(self, name: Any, listener: Any, prepend: bool, once: bool) -> None:
        super()._add_listener(name, listener, prepend, once)
        st = self._r
        if st is None:
            return
        if name == "data":
            st.readableListening = self.listenerCount("readable") > 0
            if st.flowing is not False:
                self.resume()
        elif name == "readable" and not st.endEmitted:
            st.readableListening = st.needReadable = True
            st.flowing = False
            st.emittedReadable = False
            if st.length:
                self._emit_readable()
            elif not st.reading:
                self._tick(self._read_chunk, 0, False)

    def removeListener(self, name: Any, listener: Any) -> Any:
        """Node's ``removeListener``; dropping the last 'readable' listener may resume flowing."""
        super().removeListener(name, listener)
        if name == "readable" and self._r is not None:
            self._tick(self._update_readable_listening)
        return self

    off = removeListener

    def removeAllListeners(self, name: Any = None) -> Any:
        """Node's ``removeAllListeners``."""
        super().removeAllListeners(name)
        if (name is None or name == "readable") and self._r is not None:
            self._tick(self._update_readable_listening)
        return self

    def _update_readable_listening(self) -> None:
        st = self._r
        assert st is not None
        st.readableListening = self.listenerCount("readable") > 0
        if st.resumeScheduled and st.paused is False:
            st.flowing = True
        elif self.listenerCount("data") > 0:
            self.resume()
        elif not st.readableListening:
            st.flowing = None

    def resume(self) -> Any:
        """Switch to flowing mode: 'data' events (Node's ``resume()``). Returns self."""
        st = self._r
        assert st is not None
        if not st.flowing:
            st.flowing = not st.readableListening
            if not st.resumeScheduled:
                st.resumeScheduled = True
                self._tick(self._resume_nt)
        st.paused = False
        return self

    def _resume_nt(self) -> None:
        st = self._r
        assert st is not None
        if not st.reading:
            self._read_chunk(0, False)
        st.resumeScheduled = False
        self.emit("resume")
        self._flow()
        if st.flowing and not st.reading:
            self._read_chunk(0, False)

    def pause(self) -> Any:
        """Stop 'data' events (Node's ``pause()``); 'pause' follows. Returns self."""
        st = self._r
        assert st is not None
        if st.flowing is not False:
            st.flowing = False
            self._tick(self.emit, "pause")
        st.paused = True
        return self

    def isPaused(self) -> bool:
        """Whether ``pause()`` was called and not undone (Node's ``isPaused()``)."""
        st = self._r
        assert st is not None
        return st.paused is True or (st.flowing is False and not st.readableListening
                                     and st.paused is not None)

    def setEncoding(self, encoding: str | None = None) -> Any:
        """Decode chunks to ``str`` with a Node encoding name (Node's ``setEncoding``)."""
        st = self._r
        assert st is not None
        enc = normalize_encoding(encoding or "utf8")
        decoder = Decoder(enc)
        st.decoder, st.encoding = decoder, enc
        if st.buffer:
            text = "".join(decoder.write(c) if _is_bytes(c) else c for c in st.buffer)
            st.buffer.clear()
            if text:
                st.buffer.append(text)
            st.length = len(text)
        return self

    def pipe(self, destination: Any, options: dict[str, Any] | bool = True) -> Any:
        """Send everything read to ``destination`` with backpressure; returns it.

        Node's ``readable.pipe(dest[, {end}])``; ``destination`` may also be a
        Python binary file object.
        """
        end = options.get("end", True) if isinstance(options, dict) else options
        return pipe(self, destination, end is not False)

    def unpipe(self, destination: Any = None) -> Any:
        """Undo ``pipe()`` for ``destination`` (or every destination). Returns self."""
        unpipe(self, destination)
        return self

    def wrap(self, stream: Any) -> Any:
        """Not provided: ``wrap()`` is for Node's pre-0.10 streams (``ERR_GNET_UNSUPPORTED``)."""
        raise UnsupportedError("readable.wrap()",
                               "old-style streams do not exist in gnet; subclass Readable "
                               "and push() from _read")

    # -- iteration ----------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        """Yield chunks until the end (Node's ``for await (const c of readable)``).

        Reads in the calling greenlet (never call it from gevent's hub);
        an error is raised; leaving the loop early destroys the stream, as
        Node's iterator does.
        """
        st = self._r
        assert st is not None
        wake = Event()
        done: list[BaseException | None] = []

        def on_readable() -> None:
            wake.set()

        def on_done(err: BaseException | None = None) -> None:
            done.append(err)
            wake.set()

        self.on("readable", on_readable)
        cleanup = finished(self, {"writable": False}, on_done)
        ok = False
        try:
            while True:
                chunk = None if st.destroyed else self.read()
                if chunk is not None:
                    yield chunk
                    continue
                if done:
                    if done[0] is not None:
                        raise done[0]
                    ok = True
                    return
                if st.endEmitted:
                    ok = True
                    return
                wake.clear()
                wake.wait()
        finally:
            self.removeListener("readable", on_readable)
            cleanup()
            if not ok and not st.destroyed:
                self.destroy()

    # -- Node's properties --------------------------------------------------

    @property
    def readable(self) -> bool:
        """Whether ``read()`` may still give data (Node's ``readable``)."""
        st = self._r
        assert st is not None
        return not st.destroyed and not st.errorEmitted and not st.endEmitted

    @property
    def readableFlowing(self) -> bool | None:
        """None, True or False, as Node's ``readableFlowing``."""
        st = self._r
        assert st is not None
        return st.flowing

    @property
    def readableLength(self) -> int:
        """Bytes (characters, objects) buffered for reading."""
        st = self._r
        assert st is not None
        return st.length

    @property
    def readableHighWaterMark(self) -> int:
        """The read buffer's high-water mark."""
        st = self._r
        assert st is not None
        return st.highWaterMark

    @property
    def readableEncoding(self) -> str | None:
        """The encoding from ``setEncoding``/``encoding``, or None."""
        st = self._r
        assert st is not None
        return st.encoding

    @property
    def readableEnded(self) -> bool:
        """Whether 'end' was emitted."""
        st = self._r
        assert st is not None
        return st.endEmitted

    @property
    def readableObjectMode(self) -> bool:
        """Whether the readable side is in object mode."""
        st = self._r
        assert st is not None
        return st.objectMode

    @property
    def readableAborted(self) -> bool:
        """Destroyed or errored before 'end' (Node's ``readableAborted``)."""
        st = self._r
        assert st is not None
        return (st.destroyed or st.errored is not None) and not st.endEmitted

    @property
    def readableDidRead(self) -> bool:
        """Whether any data was read (Node's ``readableDidRead``)."""
        st = self._r
        assert st is not None
        return st.dataEmitted

    @classmethod
    def from_(cls, iterable: Any, options: dict[str, Any] | None = None,
              **kwargs: Any) -> Readable:
        """Node's ``Readable.from(iterable[, options])`` (``from`` is a Python keyword).

        ``iterable`` is any iterable (a list, a generator; it may block
        cooperatively) or one str/bytes value, which is one chunk. Object
        mode unless ``objectMode=False``. ``None`` from the iterable is
        ``ERR_STREAM_NULL_VALUES``. The iterator is pulled in a worker, one
        item per ``_read``; destroying the stream closes a generator.
        """
        options = {"objectMode": True, "highWaterMark": 1, **_options(options, kwargs)}
        if isinstance(iterable, (str, bytes, bytearray, memoryview)):
            iterable = [iterable]
        if not hasattr(iterable, "__iter__"):
            raise InvalidArgTypeError("iterable", "an iterable", iterable)
        return _FromIterable(iter(iterable), options)

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        remove_listener = removeListener
        remove_all_listeners = removeAllListeners
        is_paused = isPaused
        set_encoding = setEncoding
        readable_flowing = readableFlowing
        readable_length = readableLength
        readable_high_water_mark = readableHighWaterMark
        readable_encoding = readableEncoding
        readable_ended = readableEnded
        readable_object_mode = readableObjectMode
        readable_aborted = readableAborted
        readable_did_read = readableDidRead
    # --- end of PEP 8 twins ---


class _FromIterable(Readable):
    """``Readable.from_``: pulls the iterator in a worker, never in the caller of ``read()``."""

    def __init__(self, it: Iterator[Any], options: dict[str, Any]) -> None:
        super().__init__(options)
        self._it: Iterator[Any] | None = it
        self._pulling = False

    def _read(self, size: int) -> None:
        if not self._pulling:
            self._pulling = True
            schedule(self._pull)

    def _pull(self) -> None:
        it = self._it
        self._pulling = False
        if it is None or self.destroyed:
            return
        try:
            value = next(it)
        except StopIteration:
            self.push(None)
            return
        except Exception as exc:
            self.destroy(exc)
            return
        if value is None:
            self.destroy(StreamNullValuesError())
        elif self.push(value):
            self._read(0)

    def _destroy(self, error: BaseException | None, callback: Callable[..., Any]) -> None:
        it, self._it = self._it, None
        close = getattr(it, "close", None)
        if close is not None and not self._pulling:
            try:
                close()
            except Exception as exc:
                error = error or exc
        callback(error)


@implementer(IWritable)
class Writable(_StreamBase):
    """Node's ``stream.Writable``: a sink a user makes by providing ``_write``.

    ``_write(chunk, encoding, callback)`` (and optionally
    ``_writev(chunks, callback)``, ``_final(callback)``); options in Node's
    names: ``highWaterMark``, ``decodeStrings``, ``defaultEncoding``,
    ``objectMode``, ``emitClose``, ``autoDestroy``, ``signal``, and the hooks
    ``write``/``writev``/``final``/``destroy`` as functions.
    """

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        EventEmitter.__init__(self)
        options = _options(options, kwargs)
        self._w = _WritableState(options, isinstance(self, Duplex))
        self._setup(options)

    def _write(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        """Consume one chunk, then ``callback(err=None)``; subclasses override it."""
        if self._has_writev():
            self._writev([{"chunk": chunk, "encoding": encoding}], callback)
            return
        raise MethodNotImplementedError("_write()")

    def _writev(self, chunks: list[dict[str, Any]], callback: Callable[..., Any]) -> None:
        """Consume several buffered chunks at once (optional)."""
        raise MethodNotImplementedError("_writev()")

    def _has_writev(self) -> bool:
        return "_writev" in vars(self) or type(self)._writev is not Writable._writev

    def _has_final(self) -> bool:
        return "_final" in vars(self) or type(self)._final is not Writable._final

    def _final(self, callback: Callable[..., Any]) -> None:
        """Called once every write is done, before 'finish' (optional)."""
        callback()

    def write(self, chunk: Any, encoding: Any = None, callback: Any = None) -> bool:
        """Write ``chunk``; False once ``writableHighWaterMark`` is reached (wait for 'drain').

        Node's ``writable.write(chunk[, encoding][, callback])``; the
        callback gets None or the error.

        Raises:
            StreamNullValuesError: ``chunk`` is None.
            InvalidArgTypeError: not str/bytes-like outside object mode.
        """
        w = self._w
        assert w is not None
        if callable(encoding):
            callback, encoding = encoding, None
        encoding = normalize_encoding(encoding) if encoding and encoding != "buffer" \
            else (encoding or w.defaultEncoding)
        if callback is None:
            callback = _nop
        else:
            validate_function(callback, "callback")
        if chunk is None:
            raise StreamNullValuesError()
        if not w.objectMode:
            if isinstance(chunk, str):
                if w.decodeStrings:
                    chunk = encode(chunk, encoding)
                    encoding = "buffer"
            elif _is_bytes(chunk):
                chunk = bytes(chunk)
                encoding = "buffer"
            else:
                raise InvalidArgTypeError("chunk", "of type str or bytes-like", chunk)
        err: BaseException | None = None
        if w.ending:
            err = StreamWriteAfterEndError()
        elif w.destroyed:
            err = StreamDestroyedError("write")
        if err is not None:
            self._tick(callback, err)
            self._error_or_destroy(err)
            return False
        w.pendingcb += 1
        size = 1 if w.objectMode else len(chunk)
        w.length += size
        ret = w.length < w.highWaterMark
        if not ret:
            w.needDrain = True
        if w.writing or w.corked or w.errored or not w.constructed:
            w.buffered.append((chunk, encoding, callback))
        else:
            self._do_write(size, chunk, encoding, callback)
        return ret and w.errored is None and not w.destroyed

    def _do_write(self, size: int, chunk: Any, encoding: str, callback: Callable[..., Any],
                  writev: bool = False) -> None:
        w = self._w
        assert w is not None
        w.writelen = size
        w.writecb = callback
        w.writing = True
        w.sync = True
        try:
            if w.destroyed:
                self._onwrite(StreamDestroyedError("write"))
            elif writev:
                self._writev(chunk, self._onwrite)
            else:
                self._write(chunk, encoding, self._onwrite)
        except Exception as exc:
            self._onwrite(exc)
        w.sync = False

    def _onwrite(self, err: BaseException | None = None) -> None:
        w = self._w
        assert w is not None
        cb = w.writecb
        if cb is None:
            self._error_or_destroy(MultipleCallbackError())
            return
        w.writing = False
        w.writecb = None
        w.length -= w.writelen
        w.writelen = 0
        if err is not None:
            if w.errored is None:
                w.errored = err
            r = self._r
            if r is not None and r.errored is None:
                r.errored = err
            self._tick(self._onwrite_error, err, cb)
        else:
            if w.buffered:
                self._clear_buffer()
            self._tick(self._after_write, cb)

    def _onwrite_error(self, err: BaseException, cb: Callable[..., Any]) -> None:
        w = self._w
        assert w is not None
        w.pendingcb -= 1
        cb(err)
        self._error_buffer()
        self._error_or_destroy(err)

    def _after_write(self, cb: Callable[..., Any]) -> None:
        w = self._w
        assert w is not None
        need_drain = not w.ending and not w.destroyed and w.length == 0 and w.needDrain
        if need_drain:
            w.needDrain = False
            self.emit("drain")
        w.pendingcb -= 1
        if cb is not _nop:
            cb(None)
        if w.destroyed:
            self._error_buffer()
        self._finish_maybe(False)

    def _clear_buffer(self) -> None:
        w = self._w
        assert w is not None
        if w.corked or w.bufferProcessing or w.destroyed or not w.constructed:
            return
        w.bufferProcessing = True
        buffered = w.buffered
        if len(buffered) > 1 and self._has_writev():
            w.pendingcb -= len(buffered) - 1
            callbacks = [cb for _c, _e, cb in buffered]
            chunks = [{"chunk": c, "encoding": e} for c, e, _cb in buffered]
            size = w.length if not w.objectMode else len(buffered)
            w.buffered = []

            def all_done(err: BaseException | None = None) -> None:
                for cb in callbacks:
                    if cb is not _nop:
                        cb(err)

            self._do_write(size, chunks, "", all_done, writev=True)
        else:
            i = 0
            while i < len(buffered) and not w.writing:
                chunk, enc, cb = buffered[i]
                i += 1
                self._do_write(1 if w.objectMode else len(chunk), chunk, enc, cb)
            del buffered[:i]
        w.bufferProcessing = False

    def cork(self) -> None:
        """Buffer writes until ``uncork()`` or ``end()`` (Node's ``cork()``)."""
        w = self._w
        assert w is not None
        w.corked += 1

    def uncork(self) -> None:
        """Undo one ``cork()``; the last one writes what was buffered."""
        w = self._w
        assert w is not None
        if w.corked:
            w.corked -= 1
            if not w.writing:
                self._clear_buffer()

    def setDefaultEncoding(self, encoding: str) -> Any:
        """The encoding of str chunks written without one (Node's ``setDefaultEncoding``)."""
        w = self._w
        assert w is not None
        w.defaultEncoding = normalize_encoding(encoding)
        return self

    def end(self, chunk: Any = None, encoding: Any = None, callback: Any = None) -> Any:
        """Finish writing: 'finish' once everything is written (Node's ``end()``). Returns self.

        ``callback`` runs at 'finish' or with the error that stops it.
        """
        w = self._w
        assert w is not None
        if callable(chunk):
            callback, chunk, encoding = chunk, None, None
        elif callable(encoding):
            callback, encoding = encoding, None
        if chunk is not None:
            self.write(chunk, encoding)
        if w.corked:
            w.corked = 1
            self.uncork()
        err: BaseException | None = None
        if w.errored is None and not w.ending:
            w.ending = True
            self._finish_maybe(True)
            w.ended = True
        elif w.finished:
            err = StreamAlreadyFinishedError("end")
        elif w.destroyed:
            err = StreamDestroyedError("end")
        if callback is not None:
            validate_function(callback, "callback")
            if err is not None or w.finished:
                self._tick(callback, err)
            else:
                w.onFinished.append(callback)
        return self

    def _need_finish(self) -> bool:
        w = self._w
        assert w is not None
        return (w.ending and not w.destroyed and w.constructed and w.length == 0
                and w.errored is None and not w.buffered and not w.finished
                and not w.writing and not w.errorEmitted and not w.closeEmitted)

    def _finish_maybe(self, sync: bool) -> None:
        w = self._w
        assert w is not None
        if not self._need_finish():
            return
        self._prefinish()
        if w.pendingcb == 0:
            w.pendingcb += 1
            self._tick(self._finish_nt)

    def _finish_nt(self) -> None:
        w = self._w
        assert w is not None
        if self._need_finish() and w.pendingcb == 1:
            self._finish()
        else:
            w.pendingcb -= 1

    def _prefinish(self) -> None:
        w = self._w
        assert w is not None
        if w.prefinished or w.finalCalled:
            return
        if self._has_final() and not w.destroyed:
            w.finalCalled = True
            w.pendingcb += 1
            called = [False]

            def on_final(err: BaseException | None = None) -> None:
                if called[0]:
                    self._error_or_destroy(err or MultipleCallbackError())
                    return
                called[0] = True
                self._tick(self._after_final, err)

            w.sync = True
            try:
                self._final(on_final)
            except Exception as exc:
                on_final(exc)
            w.sync = False
        else:
            w.prefinished = True
            self._tick(self.emit, "prefinish")

    def _after_final(self, err: BaseException | None) -> None:
        w = self._w
        assert w is not None
        w.pendingcb -= 1
        if err is not None:
            callbacks, w.onFinished = w.onFinished, []
            for cb in callbacks:
                cb(err)
            self._error_or_destroy(err)
        elif self._need_finish():
            w.prefinished = True
            self.emit("prefinish")
            w.pendingcb += 1
            self._tick(self._finish_nt)

    def _finish(self) -> None:
        w = self._w
        assert w is not None
        w.pendingcb -= 1
        w.finished = True
        callbacks, w.onFinished = w.onFinished, []
        for cb in callbacks:
            cb(None)
        self.emit("finish")
        if w.autoDestroy:
            r = self._r
            if r is None or (r.autoDestroy and (r.endEmitted or not self._readable_flag())):
                self.destroy()

    def _readable_flag(self) -> bool:
        return True

    # -- Node's properties ---------------------------------------------------

    @property
    def writable(self) -> bool:
        """Whether ``write()`` is still allowed (Node's ``writable``)."""
        w = self._w
        assert w is not None
        return not w.destroyed and w.errored is None and not w.ending

    @property
    def writableLength(self) -> int:
        """Bytes (objects) written and not yet handled by ``_write``."""
        w = self._w
        assert w is not None
        return w.length

    @property
    def writableHighWaterMark(self) -> int:
        """The write side's high-water mark."""
        w = self._w
        assert w is not None
        return w.highWaterMark

    @property
    def writableEnded(self) -> bool:
        """Whether ``end()`` was called."""
        w = self._w
        assert w is not None
        return w.ending

    @property
    def writableFinished(self) -> bool:
        """Whether 'finish' was emitted (everything written)."""
        w = self._w
        assert w is not None
        return w.finished

    @property
    def writableCorked(self) -> int:
        """How many ``uncork()`` calls are needed."""
        w = self._w
        assert w is not None
        return w.corked

    @property
    def writableNeedDrain(self) -> bool:
        """Whether ``write()`` returned False and 'drain' has not come yet."""
        w = self._w
        assert w is not None
        return w.needDrain

    @property
    def writableObjectMode(self) -> bool:
        """Whether the writable side is in object mode."""
        w = self._w
        assert w is not None
        return w.objectMode

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        set_default_encoding = setDefaultEncoding
        writable_length = writableLength
        writable_high_water_mark = writableHighWaterMark
        writable_ended = writableEnded
        writable_finished = writableFinished
        writable_corked = writableCorked
        writable_need_drain = writableNeedDrain
        writable_object_mode = writableObjectMode
    # --- end of PEP 8 twins ---


class Duplex(Readable, Writable):
    """Node's ``stream.Duplex``: a Readable and a Writable in one object.

    Takes the options of both, plus ``allowHalfOpen`` (default True: the
    writable side stays open after 'end'; False ends it then),
    ``readableObjectMode``/``writableObjectMode`` and
    ``readableHighWaterMark``/``writableHighWaterMark``. ``gnet.Socket`` is
    registered as a Duplex.
    """

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        EventEmitter.__init__(self)
        options = _options(options, kwargs)
        self._r = _ReadableState(options, True)
        self._w = _WritableState(options, True)
        self.allowHalfOpen = options.get("allowHalfOpen", True) is not False
        self._readable_opt = options.get("readable") is not False
        self._writable_opt = options.get("writable") is not False
        if options.get("readable") is False:
            self._r.ended = self._r.endEmitted = True
        if options.get("writable") is False:
            self._w.ending = self._w.ended = self._w.finished = True
        self._setup(options)

    def _writable_flag(self) -> bool:
        return self._writable_opt

    def _readable_flag(self) -> bool:
        return self._readable_opt


class Transform(Duplex):
    """Node's ``stream.Transform``: ``_transform(chunk, encoding, callback)`` + ``_flush``.

    ``_transform`` pushes what it makes (``push()``, or ``callback(None,
    data)``); ``_flush(callback)`` pushes the rest when the writable side
    ends. Backpressure: the next chunk is taken only when the readable side
    is below its high-water mark.
    """

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        r = self._r
        assert r is not None
        r.sync = False
        self._pending_cb: Callable[..., Any] | None = None
        if "_final" in vars(self):
            # A ``final`` option replaced the flushing _final: flush at
            # 'prefinish' instead, as Node's Transform does.
            self.on("prefinish", self._flush_at_prefinish)

    def _flush_at_prefinish(self) -> None:
        def done(err: BaseException | None = None) -> None:
            if err is not None:
                self.destroy(err)

        Transform._final(self, done)

    def _transform(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        """Turn one chunk into output with ``push()``; subclasses override it."""
        raise MethodNotImplementedError("_transform()")

    def _final(self, callback: Callable[..., Any]) -> None:
        flush = getattr(self, "_flush", None)
        if flush is not None and not self.destroyed:
            def done(err: BaseException | None = None, data: Any = None) -> None:
                if err is not None:
                    callback(err)
                    return
                if data is not None:
                    self.push(data)
                self.push(None)
                callback()

            flush(done)
        else:
            self.push(None)
            callback()

    def _has_final(self) -> bool:
        return True

    def _write(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        r, w = self._r, self._w
        assert r is not None and w is not None
        length = r.length

        def done(err: BaseException | None = None, value: Any = None) -> None:
            if err is not None:
                callback(err)
                return
            if value is not None:
                self.push(value)
            if w.ended or length == r.length or r.length < r.highWaterMark:
                callback()
            else:
                self._pending_cb = callback

        self._transform(chunk, encoding, done)

    def _read(self, size: int) -> None:
        cb, self._pending_cb = self._pending_cb, None
        if cb is not None:
            cb()


class PassThrough(Transform):
    """Node's ``stream.PassThrough``: a Transform that passes every chunk on unchanged."""

    def _transform(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        callback(None, chunk)


# ----------------------------------------------------------------------------
# Python binary file objects


def _is_own(stream: Any) -> bool:
    # A gnet.stream class itself, not one registered with it (a Socket).
    return _StreamBase in type(stream).__mro__


def _is_emitter(obj: Any) -> bool:
    return callable(getattr(obj, "on", None)) and callable(getattr(obj, "emit", None))


class _FileWritable(Writable):
    """A Python binary file as a pipe()/pipeline() destination; never closes it."""

    def __init__(self, file: Any) -> None:
        super().__init__()
        self.file = file

    def _write(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        view = memoryview(chunk)
        for i in range(0, len(view), CHUNK):
            self.file.write(view[i:i + CHUNK])
            if i + CHUNK < len(view):
                gevent.sleep(0)
        callback()

    def _final(self, callback: Callable[..., Any]) -> None:
        flush = getattr(self.file, "flush", None)
        if flush is not None:
            flush()
        callback()


class _FileReadable(Readable):
    """A Python binary file as a pipeline() source: one chunk per task; never closes it."""

    def __init__(self, file: Any) -> None:
        super().__init__()
        self.file = file
        self._pulling = False

    def _read(self, size: int) -> None:
        if not self._pulling:
            self._pulling = True
            # One chunk per turn of the loop: every other watcher runs
            # between two reads, so a large file never freezes the loop.
            get_loop().run_callback(schedule, self._pull)

    def _pull(self) -> None:
        self._pulling = False
        if self.destroyed:
            return
        try:
            reader = getattr(self.file, "read1", None) or self.file.read
            data = reader(CHUNK)
        except Exception as exc:
            self.destroy(exc)
            return
        if isinstance(data, str):
            self.destroy(InvalidArgTypeError("file", "a binary file (read() returned str)", data))
        elif not data:
            self.push(None)
        elif self.push(data):
            self._read(0)


def _as_destination(dest: Any) -> Any:
    if not _is_emitter(dest) and callable(getattr(dest, "write", None)):
        return _FileWritable(dest)
    return dest


# ----------------------------------------------------------------------------
# pipe / unpipe


class _Pipe:
    """One ``pipe()`` link. It is kept by the source's listeners and nowhere
    else: no registry to go stale, and both go with the source."""

    __slots__ = ("attached", "dest", "end", "source", "target")

    def __init__(self, source: Any, dest: Any, end: bool, target: Any = None) -> None:
        self.source = source
        self.dest = dest
        self.target = dest if target is None else target
        self.end = end
        self.attached = False

    def on_data(self, chunk: Any) -> None:
        if self.target.write(chunk) is False:
            self.source.pause()

    def on_drain(self) -> None:
        self.source.resume()

    def on_end(self) -> None:
        self.detach()
        if self.end:
            self.target.end()

    def on_close(self, *_args: Any) -> None:
        self.detach()

    def attach(self) -> None:
        source, target = self.source, self.target
        target.on("drain", self.on_drain)
        target.on("close", self.on_close)
        source.on("end", self.on_end)
        source.on("close", self.on_close)
        source.on("data", self.on_data)
        self.attached = True
        target.emit("pipe", source)

    def detach(self) -> None:
        source, target = self.source, self.target
        source.removeListener("data", self.on_data)
        source.removeListener("end", self.on_end)
        source.removeListener("close", self.on_close)
        target.removeListener("drain", self.on_drain)
        target.removeListener("close", self.on_close)
        if self.attached:
            self.attached = False
            target.emit("unpipe", source)


def _pipes(source: Any) -> list[_Pipe]:
    """The pipes from ``source``: read from its 'data' listeners, where they live."""
    return [link for listener in source.listeners("data")
            if isinstance(link := getattr(listener, "__self__", None), _Pipe)
            and link.source is source]


def pipe(source: Any, dest: Any, end: bool = True) -> Any:
    """Pipe ``source`` into ``dest`` (Node's ``source.pipe(dest, {end})``); returns dest.

    ``dest`` is a writable stream or a Python binary file object (an object
    with ``write()`` and no ``on()``; written in the source's worker, never
    closed: ``end`` flushes it).

    Raises:
        InvalidArgTypeError: ``dest`` is not a writable stream or file.
    """
    target = _as_destination(dest)
    for method in ("write", "end", "on", "removeListener", "emit"):
        if not callable(getattr(target, method, None)):
            raise InvalidArgTypeError("destination", "a writable stream", dest)
    _Pipe(source, dest, end, target).attach()
    if source.readableFlowing is not True:
        source.resume()
    return dest


def unpipe(source: Any, dest: Any = None) -> None:
    """Undo ``pipe()`` from ``source`` to ``dest``, or to every destination."""
    for link in list(_pipes(source)):
        if dest is None or link.dest is dest:
            link.detach()


# ----------------------------------------------------------------------------
# finished


def _is_readable_stream(stream: Any) -> bool:
    return callable(getattr(stream, "read", None)) or callable(getattr(stream, "pause", None))


def _is_writable_stream(stream: Any) -> bool:
    return callable(getattr(stream, "write", None)) and callable(getattr(stream, "end", None))


def finished(stream: Any, options: Any = None, callback: Any = None) -> Callable[[], None]:
    """Call ``callback(err)`` once ``stream`` is done (Node's ``stream.finished``).

    Done means: 'end' (readable) and 'finish' (writable) as the stream has
    them, or an error, or 'close' before those
    (``ERR_STREAM_PREMATURE_CLOSE``). Options: ``readable``, ``writable``
    (False: do not wait for that side), ``error`` (False: an 'error' does not
    count), ``signal``. The callback runs in a worker, once. Returns a
    function that removes the listeners finished() added.
    """
    if callable(options) and callback is None:
        callback, options = options, None
    validate_function(callback, "callback")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise InvalidArgTypeError("options", "of type dict", options)
    if not _is_emitter(stream):
        raise InvalidArgTypeError("stream", "a stream", stream)
    readable = options.get("readable", _is_readable_stream(stream)) is not False \
        and _is_readable_stream(stream)
    writable = options.get("writable", _is_writable_stream(stream)) is not False \
        and _is_writable_stream(stream)
    state = {"done": False, "rdone": False, "wdone": False}
    listeners: list[tuple[str, Callable[..., Any]]] = []
    dispose_signal: Callable[[], None] | None = None

    def call(err: BaseException | None) -> None:
        # Once, as Node's eos; its listeners stay until the caller's
        # cleanup, so an 'error' emitted later is still handled.
        if state["done"]:
            return
        state["done"] = True
        if dispose_signal is not None:
            dispose_signal()
        schedule(lambda: callback(err))

    own = _is_own(stream)
    r: _ReadableState | None = stream._r if own else None
    w: _WritableState | None = stream._w if own else None

    def readable_done(strict: bool = True) -> bool:
        # Node's isReadableFinished: 'end', or (not strict) ended with
        # nothing left to read.
        if state["rdone"] or getattr(stream, "readableEnded", False):
            return True
        return not strict and r is not None and r.ended and r.length == 0

    def writable_done(strict: bool = True) -> bool:
        if state["wdone"] or getattr(stream, "writableFinished", False):
            return True
        return not strict and w is not None and w.ended and w.length == 0

    def on_end() -> None:
        state["rdone"] = True
        if not writable or writable_done():
            call(None)

    def on_finish() -> None:
        state["wdone"] = True
        if not readable or readable_done():
            call(None)

    def on_error(err: BaseException) -> None:
        call(err)

    def on_close(*_args: Any) -> None:
        err = getattr(stream, "errored", None)
        if isinstance(err, BaseException):
            call(err)
        elif (readable and not readable_done(False)) or (writable and not writable_done(False)):
            call(StreamPrematureCloseError())
        else:
            call(None)

    def cleanup() -> None:
        state["done"] = True
        for name, fn in listeners:
            stream.removeListener(name, fn)
        listeners.clear()
        if dispose_signal is not None:
            dispose_signal()

    def listen(name: str, fn: Callable[..., Any]) -> None:
        stream.on(name, fn)
        listeners.append((name, fn))

    if readable:
        listen("end", on_end)
    if writable:
        listen("finish", on_finish)
    if options.get("error", True) is not False:
        listen("error", on_error)
    listen("close", on_close)

    # What has happened already (Node's eos): a stream that closed, or
    # that will emit no 'close' for the side that is done, is settled now.
    if own:
        closed = (r is not None and r.closed) or (w is not None and w.closed)
        will_close = not closed and all(st.autoDestroy and st.emitClose
                                        for st in (r, w) if st is not None)
        errored = (r is not None and r.errorEmitted) or (w is not None and w.errorEmitted)
        if closed or (errored and not will_close) or (
                not will_close and (not readable or readable_done())
                and (not writable or writable_done())):
            schedule(on_close)
    elif getattr(stream, "closed", False) is True or getattr(stream, "destroyed", False) is True:
        schedule(on_close)

    signal = options.get("signal")
    if signal is not None:
        validate_abort_signal(signal, "options.signal")
        aborted = signal

        def abort() -> None:
            call(AbortError(cause=aborted.reason))

        if signal.aborted:
            schedule(abort)
        else:
            dispose_signal = add_abort_listener(signal, abort)
    return cleanup


# ----------------------------------------------------------------------------
# pipeline


class _Iterate:
    """A stream read as a blocking iterable (a generator stage's source)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[Any]:
        # A gnet stream (a Socket too) iterates in the calling greenlet.
        return iter(self.stream)


def pipeline(*streams: Any, signal: AbortSignal | None = None) -> Any:
    """Pipe ``streams`` in a chain, destroying all of them if one fails.

    Node's ``stream.pipeline(source, ...transforms, destination, callback)``:
    the last argument is ``callback(err[, value])``, called once: with None
    when the destination has finished, or with the first error (a stream
    destroyed before its end gives ``StreamPrematureCloseError``). Returns
    the destination (a stream).

    The stages may be, as in Node:

    * streams (gnet sockets, ``gnet.stream`` classes, ``gnet.process`` streams);
    * as the source, an iterable (a list, a generator; ``Readable.from_``
      makes the stream) or a function returning one, or a Python binary file
      object (read in 64 KiB chunks, one per turn of the loop: meant for
      regular files and in-memory files, whose ``read()`` returns at once;
      for a pipe or a terminal use ``gnet.process.stdin``, which polls);
    * as a transform, a generator function taking the previous stage as an
      iterable (Node's ``async function*(source)``), iterated in a worker;
    * as the destination, a Python binary file object, or a plain function
      taking the previous stage as an iterable (Node's async function): it
      runs in a worker and its return value is the callback's second
      argument. A generator function there is a last transform: the
      pipeline returns its Readable, for the caller to consume.

    ``signal`` is an :class:`~gnet.AbortSignal` (the ``{signal}`` option of
    Node's ``stream/promises`` pipeline): its abort destroys every stream with
    an ``AbortError`` (``cause`` = the reason) and the callback gets that
    error. An already-aborted signal does so on the next turn of the loop.

    Raises:
        MissingArgsError: fewer than two stages.
        InvalidArgTypeError: the callback is not callable, or ``signal`` is
            not an AbortSignal.
        InvalidArgValueError: a stage that is none of the above.
    """
    if len(streams) == 2 and isinstance(streams[0], (list, tuple)):
        streams = (*streams[0], streams[1])  # Node's pipeline([a, b, c], callback)
    if not streams:
        raise MissingArgsError("streams")
    *stages, callback = streams
    validate_function(callback, "callback")
    if len(stages) < 2:
        raise MissingArgsError("streams")
    if signal is not None:
        validate_abort_signal(signal, "options.signal")
    chain: list[Any] = []
    sink: Callable[..., Any] | None = None
    for i, stage in enumerate(stages):
        first, last = i == 0, i == len(stages) - 1
        if _is_emitter(stage) and hasattr(stage, "destroy"):
            chain.append(stage)
        elif first and callable(getattr(stage, "read", None)):
            chain.append(_FileReadable(stage))
        elif first and callable(stage) and not hasattr(stage, "__iter__"):
            chain.append(Readable.from_(stage()))
        elif first and (hasattr(stage, "__iter__")):
            chain.append(Readable.from_(stage))
        elif last and callable(getattr(stage, "write", None)):
            chain.append(_FileWritable(stage))
        elif last and callable(stage) and not inspect.isgeneratorfunction(stage):
            sink = stage
        elif callable(stage):
            chain.append(Readable.from_(_lazy(stage, chain[-1])))
        else:
            raise InvalidArgValueError("streams", stage,
                                       "must be streams, iterables or generator functions")
    # Node's pipeline: every stage is watched with finished(); the first
    # error destroys every stream; the callback runs once all stages have
    # settled, with the first error, a real one winning over a premature
    # close (a consumer that failed closes its source early).
    state: dict[str, Any] = {"done": False, "error": None, "pending": 0, "value": ()}
    dispose_abort: Callable[[], None] | None = None

    def fail(err: BaseException) -> None:
        error = state["error"]
        if error is None or (isinstance(error, StreamPrematureCloseError)
                             and not isinstance(err, StreamPrematureCloseError)):
            state["error"] = err
        if error is None:
            for stream in chain:
                if not stream.destroyed:
                    stream.destroy(err)

    def settle(err: BaseException | None, *value: Any) -> None:
        if err is not None:
            fail(err)
        elif value:
            state["value"] = value
        state["pending"] -= 1
        if state["pending"] == 0 and not state["done"]:
            state["done"] = True
            if dispose_abort is not None:
                dispose_abort()
            error = state["error"]
            if error is not None:
                callback(error)
            else:
                callback(None, *state["value"])

    last_index = len(chain) - 1
    for i, stream in enumerate(chain):
        last = sink is None and i == last_index
        writable = i > 0 and _is_writable_stream(stream)
        opts = {"readable": not last or not writable, "writable": writable}
        state["pending"] += 1
        finished(stream, opts, settle)
    for src, dst in pairwise(chain):
        if not (isinstance(dst, _FromIterable) and isinstance(dst._it, _LazyGen)):
            pipe(src, dst)
    if sink is not None:
        source = chain[-1]
        fn = sink
        state["pending"] += 1

        def run_sink() -> None:
            try:
                value = fn(_Iterate(source))
            except Exception as exc:
                settle(exc)
                return
            settle(None, value)

        schedule(run_sink)
    if signal is not None:
        aborted = signal

        def abort() -> None:
            # The callback comes at once here, not when every stream has
            # closed: the abort is the outcome whatever the streams report.
            if not state["done"]:
                state["error"] = None
                fail(AbortError(cause=aborted.reason))
                state["pending"] = 1
                settle(None)

        if signal.aborted:
            schedule(abort)
        else:
            dispose_abort = add_abort_listener(signal, abort)
    return chain[-1]


class _LazyGen:
    """A generator function applied to the previous stage on the first pull."""

    def __init__(self, fn: Callable[[Iterable[Any]], Iterable[Any]], source: Any) -> None:
        self.fn = fn
        self.source = source
        self.it: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.it is None:
            result = self.fn(_Iterate(self.source))
            if not hasattr(result, "__iter__"):
                raise InvalidArgValueError("transform", result, "must return an iterable")
            self.it = iter(result)
        return next(self.it)

    def close(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            close()


def _lazy(fn: Callable[..., Any], source: Any) -> _LazyGen:
    return _LazyGen(fn, source)


def _register() -> None:
    # Node's own streams are instances of these classes; gnet's keep their
    # bases (no import cycle, no slots change) and are registered instead.
    from gnet.process import ReadStream, WriteStream
    from gnet.socket import Socket

    Duplex.register(Socket)
    Readable.register(ReadStream)
    Writable.register(WriteStream)


_register()
