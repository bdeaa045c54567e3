"""``Readable``: Node's ``stream.Readable`` (push, pull and flowing modes, iteration, ``from_``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gevent.event import Event
from zope.interface import implementer

# A cycle (duplex.py imports this module), safe because gnet.stream loads
# duplex.py first and Duplex is looked up only when a stream is made.
import gnet.stream.duplex as _duplex
from gnet.dispatch import schedule
from gnet.encodings import Decoder, encode, normalize_encoding
from gnet.errors import (
    InvalidArgTypeError,
    MethodNotImplementedError,
    StreamNullValuesError,
    StreamPushAfterEOFError,
    StreamUnshiftAfterEndEventError,
    UnsupportedError,
)
from gnet.events import EventEmitter
from gnet.interfaces import IReadable
from gnet.pull import raised_high_water_mark
from gnet.stream.base import _is_bytes, _options, _ReadableState, _StreamBase
from gnet.stream.end_of_stream import finished

__all__ = ("Readable",)

_READ_MORE_BATCH = 16  # _read calls of one "read more" step


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
        self._r = _ReadableState(options, isinstance(self, _duplex.Duplex))
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
            st.highWaterMark = raised_high_water_mark(n)
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
        from gnet.stream.piping import pipe  # piping.py imports this module

        end = options.get("end", True) if isinstance(options, dict) else options
        return pipe(self, destination, end is not False)

    def unpipe(self, destination: Any = None) -> Any:
        """Undo ``pipe()`` for ``destination`` (or every destination). Returns self."""
        from gnet.stream.piping import unpipe

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
