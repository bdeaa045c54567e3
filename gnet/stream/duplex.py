"""``Duplex``, ``Transform``, ``PassThrough``: Node's two-sided streams, Readable and Writable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gnet.errors import MethodNotImplementedError
from gnet.events import EventEmitter
from gnet.stream.base import _options, _ReadableState, _WritableState
from gnet.stream.readable import Readable
from gnet.stream.writable import Writable

__all__ = ("Duplex", "PassThrough", "Transform")


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
