"""The writable side of a stream socket: writing, corking, 'drain', end() and 'finish'.

Theory of operation
-------------------
Write path (caller -> kernel)::

    write(chunk) -> nothing queued? send() now -> the rest, if any, is queued
      -> write watcher drains the queue when the kernel has room -> 'drain'

The write-refused condition is one test of the lifecycle: the write side is
ending (end() was called) or the socket is destroyed. Everything queued
reaches the kernel before FIN; 'finish' follows FIN; nothing is emitted for
a socket already destroyed (except a never-connected socket's 'finish').

:class:`WriteSide` is a part of :class:`gnet.Socket` (a mixin with no state
of its own: the socket's slots hold it); the declarations under
``TYPE_CHECKING`` name what it needs from the socket.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from gevent.monkey import get_original

from gnet.dispatch import check_thread
from gnet.encodings import encode, normalize_encoding
from gnet.errors import (
    InvalidArgTypeError,
    StreamAlreadyFinishedError,
    StreamDestroyedError,
    StreamNullValuesError,
    StreamWriteAfterEndError,
    UnknownEncodingError,
    system_error,
)
from gnet.naming import add_aliases
from gnet.parts import SocketPart
from gnet.state import ENDED, ENDING, FINISHED, NEW, OPEN
from gnet.transport import StreamTransport
from gnet.validate import validate_function

__all__ = ("WRITEV_MAX", "WriteSide")

S = TypeVar("S", bound="WriteSide")

# os.write as Python made it (no monkey patch makes it wait).
_os_write: Callable[[int, Any], int] = get_original("os", "write")

# sendmsg() takes at most IOV_MAX (1024 on Linux) buffers; a few dozen
# already fill a socket buffer.
WRITEV_MAX = 64


@add_aliases
class WriteSide(SocketPart):
    """Writing, corking, ending and finishing, as Node's Writable side."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    # setDefaultEncoding() sets it on the instance (in its __dict__, made only then).
    _default_encoding: str | None = None

    def write(
        self,
        data: Any,
        encoding: str | Callable[..., Any] | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> bool:
        """Queue ``data`` for sending (Node's ``socket.write``).

        Sends at once when nothing is queued; queues only what the kernel
        did not take. ``callback(err)`` runs once the chunk is handed to the
        kernel (err is None) or the write failed.

        The caller may reuse ``data`` as soon as this returns: what has to
        wait in the queue is kept as a slice of ``bytes`` (no copy) but as a
        copy of a ``bytearray`` or a ``memoryview`` (so the caller's
        buffer is never aliased, and may be changed or resized). Node's
        Buffer has no such distinction: Node keeps a reference to the
        Buffer written.

        Args:
            data: bytes, bytearray, memoryview, or str (encoded with
                ``encoding``, default utf8).
            encoding: a Node encoding name, or the callback.
            callback: called as ``callback(err)``.

        Returns:
            False once ``writableLength`` reaches ``writableHighWaterMark``;
            'drain' follows when the buffer empties.

        Raises:
            StreamNullValuesError: data is None.
            InvalidArgTypeError: data of another type, or a bad callback.
            ForeignThreadError: called from an OS thread that does not run
                gnet's loop, when the chunk has to be queued or has a
                callback (gnet is not thread-safe).
        """
        if encoding is not None and not isinstance(encoding, str):
            callback, encoding = encoding, None
        # bytes is what a server writes most (a chat server once per member
        # per line): tested here, it costs no call to _chunk_bytes.
        chunk = data if data.__class__ is bytes else _chunk_bytes(data, encoding, self)
        if callback is not None:
            validate_function(callback, "callback")
        life = self._life
        if life.write or life.teardown:
            return self._write_refused(callback)
        n = len(chunk)
        self._bytes_written += n
        wlen = self._wlen
        if self._timer is not None:
            self._touch()
        if not wlen and life.phase == OPEN and not self._corked:
            # The fast path: nothing queued, so the kernel may take it all now.
            try:
                t = self._t
                if t.__class__ is StreamTransport:
                    # The same write(2) as socket.send(chunk) with no flags,
                    # but os.write takes its arguments without a tuple or
                    # format parsing: a tenth of a chat delivery's cost.
                    # fileno() is read now, so a closed transport's -1
                    # fails (EBADF) and never reaches a reused descriptor.
                    sent = _os_write(t.fileno(), chunk)
                else:
                    sent = t.send(chunk)  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                err = system_error(exc, "write")
                # Node: the write's callback, then 'error', then 'close'.
                if callback is not None:
                    self._queue(callback, err)
                self._destroy(err, True)
                return False
            if sent == n:
                # Node compares what is still buffered after the write: a
                # chunk the kernel took whole leaves nothing, so True and no
                # 'drain', however large the chunk.
                if callback is not None:
                    check_thread("write")
                    self._queue(callback, None)
                return True
            # The rest waits in the queue: a slice of immutable bytes, but a
            # copy of a bytearray (or a view of one), which the caller may
            # reuse or resize as soon as write() returns.
            if chunk.__class__ is bytes:
                chunk = memoryview(chunk)[sent:]
            else:
                chunk = bytes(memoryview(chunk)[sent:])
            # Node measures the whole chunk against the mark (n > 0 here).
            ok = n < self._whwm
            n -= sent
        else:
            if chunk.__class__ is not bytes:
                chunk = bytes(chunk)  # the caller may reuse its buffer
            # Node: below the mark, or nothing buffered at all (highWaterMark 0).
            ok = wlen + n < self._whwm or not wlen + n
        check_thread("write")
        wq = self._wq
        if wq is None:
            wq = self._wq = deque()
        wq.append([chunk, callback])
        self._wlen = wlen + n
        if not ok:
            self._need_drain = True
        t = self._t
        if life.phase == OPEN and not self._corked and not t.writing:  # type: ignore[union-attr]
            t.start_writing(self._flush)  # type: ignore[union-attr]
            self._sync_active()
        return ok

    def _write_refused(self, callback: Callable[..., Any] | None) -> bool:
        # The write-refused condition: the write side is ending or the socket
        # is destroyed. write() after end() or destroy(), as Node's Writable decides: once
        # 'end' was emitted and the socket ended its side in reply (not
        # allowHalfOpen), EPIPE (net's writeAfterFIN); after end(), write
        # after end; else destroyed. The error goes to the callback, then
        # destroys the socket ('error'), unless it was destroyed already.
        err = self._refusal(True)
        if callback is not None:
            self._queue(callback, err)
        self._destroy(err, True)
        return False

    def _refusal(self, fin: bool) -> BaseException:
        if not self._life.write:
            return StreamDestroyedError("write")
        if fin and self._life.read == ENDED and not self.allowHalfOpen:
            epipe = system_error(errno.EPIPE, "write")
            epipe.strerror = "This socket has been ended by the other party"
            epipe.message = epipe.strerror  # type: ignore[attr-defined]
            return epipe
        return StreamWriteAfterEndError()

    def _flush(self) -> None:
        # Hub (write watcher), or right after connecting: hand the kernel as
        # much of the queue as it takes, in one sendmsg() when there are
        # several chunks.
        # Loop exits: the queue is empty; the kernel refused (EAGAIN); the
        # kernel took less than the next chunk (the watcher calls again when
        # it has room). Empty chunks complete as soon as everything before them
        # did, so a write(b'') never stays queued (send(b'') returns 0).
        wq = self._wq
        t = self._t
        done: list[Callable[..., Any]] | None = None
        while wq:
            try:
                if len(wq) > 1:
                    # islice, not a generator of our own: no Python frame
                    # per queued chunk.
                    sent = t.sendmsg([item[0] for item in islice(wq, WRITEV_MAX)])  # type: ignore[union-attr]
                else:
                    sent = t.send(wq[0][0])  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if done:
                    for callback in done:
                        self._queue(callback, None)
                self._destroy(system_error(exc, "write"), True)
                return
            self._wlen -= sent
            full = False
            while wq:
                item = wq[0]
                size = len(item[0])
                if sent < size:
                    # Not all of this chunk went out: wait for the watcher.
                    if sent:
                        item[0] = memoryview(item[0])[sent:]
                    full = True
                    break
                sent -= size
                wq.popleft()
                if item[1] is not None:
                    if done is None:
                        done = [item[1]]
                    else:
                        done.append(item[1])
            if full:
                break
        # A transport may hold bytes of its own (TLS records the kernel did
        # not take yet): the queue counts as flushed only once they are out.
        if wq or t.pending:  # type: ignore[union-attr]
            if done:
                for callback in done:
                    self._queue(callback, None)
            if not t.writing:  # type: ignore[union-attr]
                t.start_writing(self._flush)  # type: ignore[union-attr]
                self._sync_active()
            return
        if t.writing:  # type: ignore[union-attr]
            t.stop_writing()  # type: ignore[union-attr]
            self._sync_active()
        if self._timer is not None:
            self._touch()
        # Node emits 'drain' before the callbacks of the writes that emptied
        # the buffer.
        if self._need_drain:
            self._queue(self._emit_drain)
        if done:
            for callback in done:
                self._queue(callback, None)
        if self._life.write == ENDING:
            self._shutdown()

    def _emit_drain(self) -> None:
        # Node: 'drain' answers a write() that returned False, never an end().
        if self._need_drain and not self._wlen and not self._life.write \
                and not self._life.teardown:
            self._need_drain = False
            self.emit("drain")

    def setDefaultEncoding(self: S, encoding: str) -> S:
        """Set the encoding of ``write(str)`` calls that name none (Node's default: utf8).

        Node's ``writable.setDefaultEncoding(encoding)``. Returns self.

        Raises:
            UnknownEncodingError: not one of Node's encoding names.
        """
        if not isinstance(encoding, str):
            raise UnknownEncodingError(encoding)
        self._default_encoding = normalize_encoding(encoding)
        return self

    def cork(self: S) -> S:
        """Hold writes in memory until ``uncork()`` (Node's cork). Returns self."""
        self._corked += 1
        return self

    def uncork(self: S) -> S:
        """Release one ``cork()``; the last one sends what was held. Returns self."""
        if self._corked:
            self._corked -= 1
            if not self._corked and self._wq and self._life.phase == OPEN:
                self._flush()
        return self

    def end(
        self: S,
        data: Any = None,
        encoding: str | Callable[..., Any] | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> S:
        """Send ``data`` (if any), then FIN once everything queued is out.

        Node's ``socket.end([data[, encoding]][, callback])``: nothing written
        before is lost. ``callback(err)`` runs on 'finish' (err None) or
        when the socket fails first. Returns self.
        """
        check_thread("end")
        if callable(data) and callback is None and encoding is None:
            data, callback = None, data
        elif encoding is not None and not isinstance(encoding, str):
            callback, encoding = encoding, None
        if callback is not None:
            validate_function(callback, "callback")
        err: BaseException | None = None
        life = self._life
        if data is not None:
            if life.write or life.teardown:
                # Node's end() writes through the stream, not net's
                # writeAfterFIN: never EPIPE here.
                err = self._refusal(False)
                self._destroy(err, True)
            else:
                self.write(data, encoding)
                life = self._life  # a failed write destroys the socket
        if err is None and (life.write or life.teardown):
            if life.write == FINISHED:
                err = StreamAlreadyFinishedError("end")
            elif life.teardown:
                err = StreamDestroyedError("end")
        if callback is not None:
            if err is not None:
                self._queue(callback, err)
            elif life.write == FINISHED:
                self._queue(callback, None)
            elif self._onfinished is None:
                self._onfinished = [callback]
            else:
                self._onfinished.append(callback)
        if life.write or life.teardown:
            return self
        self._life = life = life.ending()
        corked = self._corked
        # Node's end() uncorks: what was held goes out before FIN.
        self._corked = 0
        if life.phase == NEW:
            # Never connected: nothing to flush; finish, then close.
            self._life = life.fin()
            self._queue(self._emit_finish, self._generation)
            self._destroy(None, False)
        elif life.phase == OPEN:
            if not self._wq:
                self._shutdown()
            elif corked:
                self._flush()
        return self

    def _shutdown(self) -> None:
        # Everything queued is in the kernel: send FIN. When the peer's FIN
        # was read already, the close() that follows 'finish' sends ours (the
        # receive buffer is empty, so it is a FIN, not a RST): one system
        # call less for every connection a client closes first.
        life = self._life
        t = self._t
        if t.pending:  # type: ignore[union-attr]
            # FIN goes after the bytes the transport still holds: _flush
            # comes back here once they are out.
            if not t.writing:  # type: ignore[union-attr]
                t.start_writing(self._flush)  # type: ignore[union-attr]
                self._sync_active()
            return
        try:
            if life.read != ENDED:
                t.shutdown()  # type: ignore[union-attr]
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                self._destroy(system_error(exc, "shutdown"), True)
                return
        self._life = life.fin()
        self._queue(self._emit_finish, self._generation)

    def _emit_finish(self, generation: int) -> None:
        # Node never emits 'finish' once the socket was destroyed (its FIN
        # completes asynchronously; gnet's shutdown() returns at once, so the
        # check is made here). A never-connected socket is the exception.
        # A 'finish' queued before a reconnect belongs to the old connection.
        life = self._life
        if generation != self._generation or (life.teardown and life.phase != NEW):
            return
        self._life = life.finish()
        # end() callbacks run before the 'finish' listeners, as in Node.
        callbacks = self._onfinished
        if callbacks is not None:
            self._onfinished = None
            for callback in callbacks:
                callback(None)
        self.emit("finish")
        if generation == self._generation:
            self._auto_destroy()

    def destroySoon(self) -> None:
        """End the writable side, then destroy once it has finished (Node's destroySoon)."""
        if self._life.write == FINISHED or self._life.phase == NEW:
            self.destroy()
        else:
            self.end()
            self.once("finish", lambda: self.destroy())

    @property
    def bytesWritten(self) -> int:
        """Bytes accepted by ``write()``/``end()`` so far, counted at call time."""
        return self._bytes_written

    @property
    def writableLength(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        return self._wlen

    bufferSize = writableLength

    @property
    def writableHighWaterMark(self) -> int:
        """The ``writableLength`` at which ``write()`` returns False."""
        return self._whwm

    @property
    def writableNeedDrain(self) -> bool:
        """True after ``write()`` returned False, until 'drain'."""
        return self._need_drain

    @property
    def writableEnded(self) -> bool:
        """True once ``end()`` was called."""
        return bool(self._life.write)

    @property
    def writableFinished(self) -> bool:
        """True once everything was flushed, FIN sent and 'finish' emitted."""
        return self._life.write == FINISHED

    @property
    def writable(self) -> bool:
        """Whether ``write()`` is still accepted."""
        return self._life.writable

    @property
    def writableCorked(self) -> int:
        """How many ``cork()`` calls an ``uncork()`` has yet to release."""
        return self._corked

    @property
    def writableObjectMode(self) -> bool:
        """Always False (a socket carries bytes)."""
        return False

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        set_default_encoding = setDefaultEncoding
        destroy_soon = destroySoon
        bytes_written = bytesWritten
        writable_length = writableLength
        buffer_size = bufferSize
        writable_high_water_mark = writableHighWaterMark
        writable_need_drain = writableNeedDrain
        writable_ended = writableEnded
        writable_finished = writableFinished
        writable_corked = writableCorked
        writable_object_mode = writableObjectMode
    # --- end of PEP 8 twins ---


def _chunk_bytes(data: Any, encoding: str | None,
                 side: WriteSide) -> bytes | bytearray | memoryview:
    if data.__class__ is bytes:
        return data
    if isinstance(data, str):
        return encode(data, encoding if encoding is not None else side._default_encoding)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    if data is None:
        raise StreamNullValuesError()
    raise InvalidArgTypeError("chunk", "str, bytes, bytearray or memoryview", data)

