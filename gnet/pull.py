"""Pull mode of a stream socket: 'readable', ``read([n])``, ``unshift(chunk)``.

Theory of operation
-------------------
Pull mode (Node's paused-mode ``Readable``: 'readable', ``read([n])``,
``unshift(chunk)``) is a second machine over the same read queue, entered
the first time a socket gets a 'readable' listener or calls ``read()`` or
``unshift()``; a socket that never does so keeps the flowing path
(``Socket._run`` pops chunks and emits 'data') and pays nothing for it. The
``_pull`` slot tells the paths apart: ``False`` (flowing path), ``True``
(a greenlet iterates the socket) or a :class:`_Pull` holding Node's
readable-state flags (needReadable, emittedReadable, readableListening,
kPaused, dataEmitted). In pull mode::

    read watcher fires -> recv() -> chunk appended to the read queue (hub)
      -> _pulled(): decoded at once if setEncoding() was called (so lengths
         count characters, as Node's do); 'readable' queued if a reader
         waits for it, or a flow step queued while flowing
      -> a worker emits 'readable' -> the listener calls read(n) -> 'data'

``read()`` is Node's algorithm: it returns None while fewer than ``n`` are
buffered (all that is left once the stream ended), emits 'data' for what it
returns, restarts reading from the kernel when the buffer drops below
``readableHighWaterMark``, and asks for 'end' when it finds the buffer
empty after EOF. Flowing in pull mode (a 'data' listener once 'readable' is
gone, or ``resume()``) is Node's ``flow()``: ``read()`` in a loop. A socket
stays in pull mode for the rest of its life.

:class:`PullMode` is a part of :class:`gnet.Socket` (through
:class:`~gnet.read_side.ReadSide`; no state of its own beyond the ``_pull``
slot's :class:`_Pull`); :class:`gnet.parts.SocketPart` declares what it
needs from the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from gevent.hub import Waiter

from gnet.encodings import Decoder, encode, normalize_encoding
from gnet.errors import InvalidArgTypeError, OutOfRangeError, StreamUnshiftAfterEndEventError
from gnet.events import EventEmitter
from gnet.naming import add_aliases
from gnet.parts import END, SocketPart
from gnet.state import CONNECTING, ENDED, READING

__all__ = ("PullMode",)

S = TypeVar("S", bound="PullMode")


# Node's MAX_HWM: read(n) raises the highWaterMark to n (rounded up to a
# power of two) up to this.
_MAX_HWM = 0x40000000


def raised_high_water_mark(n: int) -> int:
    """The highWaterMark a ``read(n)`` above it sets (Node's computeNewHighWaterMark).

    ``n`` rounded up to a power of two; shared by sockets in pull mode and
    ``gnet.stream.Readable``.

    Raises:
        OutOfRangeError: ``n`` over 1 GiB (Node's ``ERR_OUT_OF_RANGE``).
    """
    if n > _MAX_HWM:
        raise OutOfRangeError("size", "<= 1GiB", n)
    return 1 << (n - 1).bit_length()


class _Pull:
    # Node's readable-state flags for a socket in pull mode.
    __slots__ = ("did_read", "emitted", "ending", "flow_queued", "listening", "need",
                 "on_connect", "paused", "resume_scheduled", "update_queued")

    def __init__(self) -> None:
        self.listening = False  # readableListening: a 'readable' listener is there
        self.need = False  # needReadable: the next chunk emits 'readable'
        self.emitted = False  # emittedReadable: a 'readable' is queued or being emitted
        self.paused: bool | None = None  # kPaused: pause() (True) or resume() (False) called
        self.did_read = False  # dataEmitted: read() returned a chunk (readableDidRead)
        self.ending = False  # 'end' is queued
        self.flow_queued = False  # a flow step is queued
        self.resume_scheduled = False  # resume()'s 'resume' is queued
        self.update_queued = False  # 'readable' listeners were removed: recheck queued
        self.on_connect = False  # reading starts on 'connect'


@add_aliases
class PullMode(SocketPart):
    """Node's paused-mode Readable over the socket's read queue."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    def _iter_pull(self) -> Iterator[Any]:
        # Iterating a socket in pull mode: read() until the end (Node's
        # async iterator is made of read() too).
        finished = False
        try:
            while True:
                chunk = self.read()
                if chunk is not None:
                    yield chunk
                    continue
                life = self._life
                if life.teardown:
                    finished = True
                    if self._error is not None:
                        raise self._error
                    return
                if life.read != READING and not self._rlen:
                    finished = True
                    return
                waiter = self._waiter = Waiter()
                waiter.get()
        finally:
            if not finished:
                self.destroy()

    def _pull_state(self) -> _Pull:
        # Enter pull mode (once): from now on chunks reach the user through
        # read(), and Socket._run leaves the read queue alone.
        p = self._pull
        if p.__class__ is _Pull:
            return p
        p = self._pull = _Pull()
        # What the flowing path took from the read queue was emitted.
        p.did_read = self.bytesRead > self._rlen
        if self._decoder is not None:
            self._decode_queue()
        if self._flowing and self._rq:
            # Entered from a 'data' listener: what is queued keeps flowing.
            p.flow_queued = True
            self._queue(self._flow_step)
        return p

    def _pull_restart(self) -> None:
        # A destroyed socket connects anew: the old connection's flags go,
        # and a 'readable' listener gets reading started again (Node 20
        # leaves such a socket without reading).
        p = self._pull
        if p.__class__ is not _Pull:
            return
        listening = p.listening
        p.__init__()  # type: ignore[misc]
        p.listening = p.need = listening
        if listening:
            self._queue(self.read, 0)

    def _decode_queue(self) -> None:
        # setEncoding() in pull mode: what is buffered becomes text, and
        # the buffer's length counts characters, as in Node.
        rq = self._rq
        decoder = self._decoder
        if not rq or decoder is None:
            return
        ended = rq[-1] is END
        parts = [item if item.__class__ is str else decoder.write(item)
                 for item in rq if item is not END]
        if ended:
            parts.append(decoder.end())
        text = "".join(parts)
        rq[:] = [text] if text else []
        if ended:
            rq.append(END)
        self._rlen = len(text)

    def _pulled(self) -> None:
        # Hub, in pull mode or while iterating: a chunk (or END) was just
        # appended to the read queue. Node's addChunk / onEofChunk.
        p = self._pull
        if p.__class__ is _Pull:
            self._pull_chunk(p)
        if self._waiter is not None:
            # Last: the iterating greenlet runs (and reads) inside this switch.
            self._wake()

    def _pull_chunk(self, p: _Pull) -> None:
        rq = self._rq
        item = rq[-1]  # type: ignore[index]
        decoder = self._decoder
        if item is END:
            if decoder is not None:
                tail = decoder.end()
                if tail:
                    rq.insert(len(rq) - 1, tail)  # type: ignore[union-attr, arg-type]
                    self._rlen += len(tail)
            # At EOF 'readable' comes whether or not a reader asked for it.
            p.need = False
            p.emitted = True
            self._queue(self._emit_readable)
            return
        if decoder is not None:
            text = decoder.write(item)
            self._rlen += len(text) - len(item)
            if text:
                rq[-1] = text  # type: ignore[index]
            else:
                rq.pop()  # type: ignore[union-attr]
                return
        if self._flowing:
            if not p.flow_queued:
                p.flow_queued = True
                self._queue(self._flow_step)
        elif p.need:
            self._emit_readable_soon(p)

    def _emit_readable_soon(self, p: _Pull) -> None:
        # Node's emitReadable: one 'readable' at a time, on a later turn.
        p.need = False
        if not p.emitted:
            p.emitted = True
            self._queue(self._emit_readable)

    def _emit_readable(self) -> None:
        # Worker: Node's emitReadable_.
        p: _Pull = self._pull  # type: ignore[assignment]
        life = self._life
        ended = life.read != READING
        if not life.teardown and (self._rlen or (ended and life.read != ENDED)):
            self.emit("readable")
            p.emitted = False
        p.need = not self._flowing and not ended and self._rlen <= self._rhwm
        self._flow()

    def _flow_step(self) -> None:
        self._pull.flow_queued = False  # type: ignore[union-attr]
        self._flow()

    def _flow(self) -> None:
        # Node's flow(): while flowing, read() hands each chunk to 'data'.
        while self._flowing and not self._life.teardown:
            if self.read() is None:
                break

    def _end_readable(self, p: _Pull) -> None:
        # Node's endReadable: 'end' on a later turn, if still nothing is buffered.
        if not p.ending and self._life.read != ENDED:
            p.ending = True
            self._queue(self._pull_end)

    def _pull_end(self) -> None:
        p: _Pull = self._pull  # type: ignore[assignment]
        p.ending = False
        life = self._life
        if life.teardown or life.read == ENDED or self._rlen:
            return
        rq = self._rq
        if rq and rq[-1] is END:
            rq.pop()
        self._emit_end()

    def _read_more(self, p: _Pull) -> None:
        # Node's _read: start reading from the kernel (on 'connect' when
        # not connected yet).
        if self._t is not None:
            if self._has_room():
                self._start_reading()
        elif not p.on_connect and (self._life.phase == CONNECTING or not self._life.phase):
            p.on_connect = True
            self.once("connect", self._read_on_connect)

    def _read_on_connect(self) -> None:
        p: _Pull = self._pull  # type: ignore[assignment]
        p.on_connect = False
        if self._life.read == READING and not self._life.teardown:
            self._read_more(p)

    def _readable_added(self) -> None:
        # A 'readable' listener was added: pull mode, paused, as in Node.
        p = self._pull_state()
        if self._life.read == ENDED or p.listening:
            return
        p.listening = p.need = True
        self._flowing = False
        p.emitted = False
        if self._rlen:
            self._emit_readable_soon(p)
        else:
            self._queue(self.read, 0)

    def _readable_removed(self) -> None:
        p = self._pull
        if p.__class__ is _Pull and not p.update_queued:
            p.update_queued = True
            self._queue(self._update_readable_listening)

    def _update_readable_listening(self) -> None:
        # Node's updateReadableListening, a turn after a 'readable' listener
        # went: flow again if 'data' listeners are there.
        p: _Pull = self._pull  # type: ignore[assignment]
        p.update_queued = False
        p.listening = self.listenerCount("readable") > 0
        if p.resume_scheduled and p.paused is False:
            self._flowing = True
        elif self.listenerCount("data") > 0:
            self.resume()
        elif not p.listening:
            self._flowing = None

    def _resume_pull(self, p: _Pull) -> None:
        if not self._flowing:
            # A 'readable' listener keeps the socket paused.
            self._flowing = not p.listening
            if not p.resume_scheduled:
                p.resume_scheduled = True
                self._queue(self._resume_step)
        p.paused = False

    def _resume_step(self) -> None:
        # Node's resume_.
        p: _Pull = self._pull  # type: ignore[assignment]
        if self._life.teardown:
            p.resume_scheduled = False
            return
        self.read(0)
        p.resume_scheduled = False
        self.emit("resume")
        self._flow()

    def removeListener(self: S, name: Any, listener: Any) -> S:
        """Node's ``removeListener``; a 'readable' listener's removal may restart flowing."""
        EventEmitter.removeListener(self, name, listener)  # type: ignore[type-var]
        if name == "readable":
            self._readable_removed()
        return self

    def removeAllListeners(self: S, name: Any = None) -> S:
        """Node's ``removeAllListeners``; see ``removeListener``."""
        EventEmitter.removeAllListeners(self, name)  # type: ignore[type-var]
        if name is None or name == "readable":
            self._readable_removed()
        return self

    off = removeListener

    def read(self, n: Any = None) -> Any:
        """Take ``n`` bytes (characters after ``setEncoding``) from the buffer, or all of it.

        Node's ``readable.read([size])``, for pull mode: call it from a
        'readable' listener until it returns None. Returns None when fewer
        than ``n`` are buffered, unless the socket ended (then what is
        left); ``read()`` returns everything buffered, or None when nothing
        is. Each chunk returned is also emitted as 'data'. ``read(0)`` only
        starts reading. After EOF, the ``read()`` that finds the buffer
        empty makes 'end' come.

        Raises:
            OutOfRangeError: ``n`` above 1 GiB.
        """
        p = self._pull
        if (n.__class__ is int and p.__class__ is _Pull and 0 < n <= self._rlen
                and n <= self._rhwm):
            # A parser's usual call: n is buffered. What the full algorithm
            # below does in that case, without the cases it does not need.
            p.emitted = False
            ret: Any = self._take(n)
            t = self._t
            if t is None:
                self._read_more(p)
            elif not t.reading and self._has_room():
                self._start_reading()
            if not self._rlen and self._life.read == READING:
                p.need = True
            p.did_read = True
            self.emit("data", ret)
            return ret
        p = self._pull_state()
        life = self._life
        all_ = n is None
        if not all_:
            if isinstance(n, float) and n == n and n not in (float("inf"), float("-inf")):
                n = int(n)
            elif not isinstance(n, int) or isinstance(n, bool):
                try:
                    n = int(n)
                except (TypeError, ValueError):
                    all_ = True  # Node's parseInt gives NaN: read everything
            if not all_ and n > self._rhwm:
                self._rhwm = raised_high_water_mark(n)
        if all_ or n:
            p.emitted = False
        ended = life.read != READING
        length = self._rlen
        hwm = self._rhwm
        if not all_ and n == 0 and p.need and ((length >= hwm if hwm else length > 0) or ended):
            if not length and ended:
                self._end_readable(p)
            else:
                self._emit_readable_soon(p)
            return None
        # Node's howMuchToRead.
        if (not all_ and n <= 0) or (not length and ended):
            take = 0
        elif all_:
            take = len(self._rq[0]) if self._flowing and length else length  # type: ignore[index]
        elif n <= length:
            take = n
        else:
            take = length if ended else 0
        if take == 0 and ended:
            if not length:
                self._end_readable(p)
            return None
        if not ended and not life.teardown and (p.need or length - take < self._rhwm):
            if not length:
                p.need = True
            self._read_more(p)
        if take:
            ret = self._take(take)
        else:
            ret = None
            p.need = self._rlen <= self._rhwm
        if not self._rlen:
            if not ended:
                p.need = True
            elif (all_ or (take if ret is not None else 0) != n) and not self._life.teardown:
                self._end_readable(p)
        if ret is not None:
            if not self._life.teardown:
                self._read_more(p)
            p.did_read = True
            self.emit("data", ret)
        return ret

    def _take(self, n: int) -> Any:
        # The first n bytes or characters of the buffer, as one chunk. What
        # is left of a chunk of bytes stays a memoryview of it, so a parser
        # reading a few bytes at a time never copies the rest over and over.
        rq: list[Any] = self._rq  # type: ignore[assignment]
        self._rlen -= n
        first = rq[0]
        size = len(first)
        if size == n:
            del rq[0]
            return bytes(first) if first.__class__ is memoryview else first
        if size > n:
            if first.__class__ is str:
                rq[0] = first[n:]
                return first[:n]
            view = first if first.__class__ is memoryview else memoryview(first)
            rq[0] = view[n:]
            return bytes(view[:n])
        text = first.__class__ is str
        parts = []
        while n:
            item = rq[0]
            size = len(item)
            if size <= n:
                parts.append(item)
                del rq[0]
                n -= size
            else:
                if not text and item.__class__ is not memoryview:
                    item = memoryview(item)
                parts.append(item[:n])
                rq[0] = item[n:]
                n = 0
        return "".join(parts) if text else b"".join(parts)

    def unshift(self, chunk: Any, encoding: str | None = None) -> bool:
        """Put ``chunk`` back at the front of the buffer (Node's ``readable.unshift``).

        For a parser that read more than it needed: the next ``read()`` or
        'data' starts with ``chunk``. A ``str`` is encoded with
        ``encoding`` (utf8 by default). After 'end', the socket is destroyed
        with ERR_STREAM_UNSHIFT_AFTER_END_EVENT, as in Node. Returns
        whether the buffer is still below ``readableHighWaterMark``.

        Raises:
            InvalidArgTypeError: ``chunk`` is not str, bytes, bytearray or memoryview.
        """
        decoder = self._decoder
        if isinstance(chunk, str):
            if decoder is not None:
                if normalize_encoding(encoding) != decoder.encoding:
                    chunk = Decoder(decoder.encoding).end(encode(chunk, encoding))
            else:
                chunk = encode(chunk, encoding)
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            chunk = bytes(chunk)
            if decoder is not None:
                chunk = Decoder(decoder.encoding).end(chunk)
        else:
            raise InvalidArgTypeError("chunk", "str, bytes, bytearray or memoryview", chunk)
        p = self._pull_state()
        life = self._life
        if chunk:
            if life.read == ENDED:
                self._destroy(StreamUnshiftAfterEndEventError(), True)
                return False
            if life.teardown:
                return False
            if self._flowing and not self._rlen and self.listenerCount("data") > 0:
                p.did_read = True
                self.emit("data", chunk)
            else:
                rq = self._rq
                if rq is None:
                    self._rq = [chunk]
                else:
                    rq.insert(0, chunk)
                self._rlen += len(chunk)
                if p.need:
                    self._emit_readable_soon(p)
        return life.read == READING and (self._rlen < self._rhwm or not self._rlen)

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        remove_listener = removeListener
        remove_all_listeners = removeAllListeners
    # --- end of PEP 8 twins ---
