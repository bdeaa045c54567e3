"""``Writable``: Node's ``stream.Writable`` (write, cork, end, the finish sequence)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zope.interface import implementer

# A cycle (duplex.py imports this module), safe because gnet.stream loads
# duplex.py first and Duplex is looked up only when a stream is made.
import gnet.stream.duplex as _duplex
from gnet.encodings import encode, normalize_encoding
from gnet.errors import (
    InvalidArgTypeError,
    MethodNotImplementedError,
    MultipleCallbackError,
    StreamAlreadyFinishedError,
    StreamDestroyedError,
    StreamNullValuesError,
    StreamWriteAfterEndError,
)
from gnet.events import EventEmitter
from gnet.interfaces import IWritable
from gnet.stream.base import _is_bytes, _options, _StreamBase, _WritableState
from gnet.validate import validate_function

__all__ = ("Writable",)


def _nop(*_args: Any) -> None:
    pass


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
        self._w = _WritableState(options, isinstance(self, _duplex.Duplex))
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
