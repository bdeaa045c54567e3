"""The readable side of a stream socket: reading, flow control, 'data' and 'end'.

Theory of operation
-------------------
Read path (hub -> worker)::

    read watcher fires -> recv() -> chunk appended to the read queue
      -> the socket schedules itself once -> a worker runs _run()
      -> emit('data', chunk) -> the user's listener

The read watcher stays started while the socket reads; it stops only when
the read queue holds ``readableHighWaterMark`` bytes nobody consumed yet
(then TCP pushes back on the peer) and at EOF. As in Node, a socket nobody
reads from, or a paused one, still reads up to that mark (so a peer's FIN or
RST is seen), and 'end' waits until every queued chunk was consumed.

Pull mode ('readable', ``read()``, ``unshift()``) is :mod:`gnet.pull`.

:class:`ReadSide` is a part of :class:`gnet.Socket` (a mixin with no state
of its own: the socket's slots hold it); :class:`gnet.parts.SocketPart`
declares what it needs from the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from gevent import get_hub
from gevent.hub import Waiter
from greenlet import getcurrent

from gnet.dispatch import get_loop, schedule_last
from gnet.encodings import Decoder, normalize_encoding
from gnet.errors import system_error
from gnet.naming import add_aliases
from gnet.parts import END
from gnet.pull import PullMode, _Pull
from gnet.state import ENDED

if TYPE_CHECKING:
    pass

__all__ = ("END", "READ_SIZE", "ReadSide")

S = TypeVar("S", bound="ReadSide")

# One recv() asks for this much: Node reads 64 KiB at a time too.
READ_SIZE = 64 * 1024








@add_aliases
class ReadSide(PullMode):
    """Reading, pausing, resuming, decoding and iterating, as Node's Readable side."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    def _start_reading(self) -> None:
        t = self._t
        if t is not None and not t.reading and not self._life.read and not self._life.teardown:
            t.start_reading(self._on_readable)
            if not self._active:
                self._sync_active()

    def _stop_reading(self) -> None:
        t = self._t
        if t is not None and t.reading:
            t.stop_reading()
            self._sync_active()

    def _on_readable(self) -> None:
        # Hub: the kernel has data (or FIN, or an error) for us.
        try:
            data = self._t.recv(READ_SIZE)  # type: ignore[union-attr]
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._destroy(system_error(exc, "read"), True)
            return
        if self._timer is not None:
            self._touch()
        rq = self._rq
        if rq is None:
            rq = self._rq = []
        if data:
            self.bytesRead += len(data)
            rq.append(data)
            self._rlen += len(data)
            if self._rlen >= self._rhwm:
                # Nobody consumed a whole highWaterMark: let TCP push back.
                self._stop_reading()
        else:
            self._life = self._life.eof()
            self._stop_reading()
            rq.append(END)
        if self._pull:
            self._pulled()
        elif not self._queued:
            self._queued = True
            # Nothing follows in this callback: the worker may run now.
            schedule_last(self._run)

    def _consumed(self, n: int) -> None:
        self._rlen -= n
        t = self._t
        if t is not None and not t.reading and self._flowing is not False and self._has_room():
            self._start_reading()

    def _has_room(self) -> bool:
        # Node reads while less than readableHighWaterMark is buffered, and
        # always when nothing is (so highWaterMark 0 still reads).
        return self._rlen < self._rhwm or not self._rlen

    def _wake(self) -> None:
        # Wake an iterating reader. Only the hub may switch into a waiting
        # greenlet directly; from anywhere else, ask the hub to do it.
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            hub = get_hub()
            if getcurrent() is hub:
                waiter.switch(None)
            else:
                get_loop().run_callback(waiter.switch, None)

    def _emit_end(self) -> None:
        self._life = self._life.end()
        generation = self._generation
        decoder = self._decoder
        if decoder is not None:
            tail = decoder.end()
            if tail:
                self.emit("data", tail)
        self.emit("end")
        life = self._life  # as the 'end' listeners left it
        if generation != self._generation or life.teardown:
            return
        if not self.allowHalfOpen and not life.write:
            # Node ends our side after the user's 'end' listeners ran, so
            # they may still write a last reply.
            self.end()
        self._auto_destroy()

    def pause(self: S) -> S:
        """Stop emitting 'data' (Node's pause). Returns self.

        As in Node, reading goes on into the socket's buffer until it holds
        ``readableHighWaterMark`` bytes; then TCP pushes back on the peer.
        So a paused socket still sees the peer's reset ('error', 'close')
        and FIN ('end' once resumed and the buffer is consumed).
        """
        if self._flowing is not False:
            self._flowing = False
            self.emit("pause")
        p = self._pull
        if p.__class__ is _Pull:
            p.paused = True
        return self

    def resume(self: S) -> S:
        """Start or restart emitting 'data' and reading (Node's resume). Returns self.

        'resume' is emitted soon after (not inside the call), as in Node.
        While a 'readable' listener is there, the socket stays paused
        (``readableFlowing`` False) but 'resume' is still emitted, as in Node.
        """
        p = self._pull
        if p.__class__ is _Pull:
            self._resume_pull(p)
            return self
        if self._flowing is not True:
            self._queue(self.emit, "resume")
        self._flowing = True
        if self._has_room():
            self._start_reading()
        if self._rq and not self._queued:
            self._schedule()
        return self

    def isPaused(self) -> bool:
        """Whether ``pause()`` was called and ``resume()`` not since."""
        return self._flowing is False

    def setEncoding(self: S, encoding: str | None = None) -> S:
        """Make 'data' deliver ``str`` decoded with a Node encoding name.

        A multi-byte character split across reads arrives whole; in pull
        mode the buffered bytes are decoded at once and ``read(n)`` and
        ``readableLength`` count characters, as in Node. Returns self.

        Raises:
            UnknownEncodingError: the name is not one of Node's encodings.
        """
        self._decoder = Decoder(normalize_encoding(encoding))
        p = self._pull
        if p.__class__ is _Pull:
            self._decode_queue()
        elif p is False and self._rlen:
            # Bytes are buffered already: Node decodes them into one string
            # now. Pull mode does that (and keeps the buffer as text).
            self._pull_state()
        return self

    def __iter__(self) -> Iterator[Any]:
        """Yield received chunks until 'end' (Node's ``for await (const c of s)``).

        Reads in the calling greenlet, so a 'connection' listener can serve
        its socket synchronously. Leaving the loop early destroys the socket,
        as in Node; an error raises from the iterator.
        """
        if self._pull.__class__ is _Pull:
            yield from self._iter_pull()
            return
        self._pull = True
        if self._flowing is not False:
            self._flowing = True
        self._start_reading()
        finished = False
        try:
            while True:
                rq = self._rq
                if rq:
                    item = rq.pop(0)
                    if item is END:
                        finished = True
                        self._queue(self._emit_end)
                        return
                    self._consumed(len(item))
                    decoder = self._decoder
                    if decoder is not None:
                        item = decoder.write(item)
                        if not item:
                            continue
                    yield item
                    continue
                if self._life.teardown:
                    finished = True
                    if self._error is not None:
                        raise self._error
                    return
                if self._flowing is False:
                    self.resume()
                waiter = self._waiter = Waiter()
                waiter.get()
        finally:
            if self._pull is True:
                self._pull = False
            if not finished:
                self.destroy()


    # ------------------------------------------------------------------
    # Pull mode: 'readable', read(), unshift() (see the module docstring)























    @property
    def readableHighWaterMark(self) -> int:
        """Unconsumed bytes at which gnet stops reading from the kernel."""
        return self._rhwm

    @property
    def readableLength(self) -> int:
        """Bytes read from the kernel but not yet emitted."""
        return self._rlen

    @property
    def readableFlowing(self) -> bool | None:
        """None until a consumer appears, then True (flowing) or False (paused)."""
        return self._flowing

    @property
    def readableEnded(self) -> bool:
        """True once 'end' was emitted."""
        return self._life.read == ENDED

    @property
    def readable(self) -> bool:
        """Whether 'data'/'end' may still come."""
        return self._life.readable

    @property
    def readableEncoding(self) -> str | None:
        """The encoding given to ``setEncoding()`` (Node's name, e.g. 'utf8'), or None."""
        decoder = self._decoder
        return None if decoder is None else decoder.encoding

    @property
    def readableAborted(self) -> bool:
        """True once the socket was destroyed before 'end' was emitted."""
        life = self._life
        return bool(life.teardown) and life.read != ENDED

    @property
    def readableDidRead(self) -> bool:
        """True once a chunk was emitted as 'data' or returned by ``read()``."""
        p = self._pull
        if p.__class__ is _Pull:
            return p.did_read
        # The flowing path keeps no flag (it costs every chunk): what left
        # the read queue was emitted.
        return self.bytesRead > self._rlen and not (self._life.teardown
                                                     and self._flowing is not True)

    @property
    def readableObjectMode(self) -> bool:
        """Always False, since a socket carries bytes (or text after ``setEncoding``)."""
        return False

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        is_paused = isPaused
        set_encoding = setEncoding
        readable_high_water_mark = readableHighWaterMark
        readable_length = readableLength
        readable_flowing = readableFlowing
        readable_ended = readableEnded
        readable_encoding = readableEncoding
        readable_aborted = readableAborted
        readable_did_read = readableDidRead
        readable_object_mode = readableObjectMode
    # --- end of PEP 8 twins ---
