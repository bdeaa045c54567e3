"""Node's ``process.stdin``, ``process.stdout`` and ``process.stderr``, cooperative.

``from gnet import process`` and port Node's chat client line by line::

    sock = net.connect(8124)
    process.stdin.pipe(sock)
    sock.pipe(process.stdout)

A plain ``for line in sys.stdin`` blocks the OS thread, so every socket
waits until the user types; these streams never block gevent's loop.
``stdin`` is a readable ('data', 'end', 'close', 'error', 'pause',
'resume'; ``pause()``, ``resume()``, ``setEncoding()``, ``pipe()``);
``stdout`` and ``stderr`` are writables (``write()`` returns False past
``writableHighWaterMark``, then 'drain'; ``end()``, 'finish', 'close';
'error' with ``EPIPE`` once nobody reads the other end).

They are made on first use (this module's ``__getattr__``): importing gnet
touches none of the descriptors 0, 1 and 2. A descriptor that was closed
when Python started (``<&-``; ``sys.__stdin__`` is then None) is never
touched, since its number may belong to something else by now: such a
stdin is empty ('end' then 'close' once resumed), such a stdout takes
writes and drops them.

Theory of operation
-------------------
Same execution-context rule as sockets (see ``socket.py`` and
``dispatch.py``): the I/O runs in gevent's hub, in io watcher and loop
callbacks that never block; every event is emitted in a gnet worker
greenlet, one stream's events one after another, never inside the call
that caused them. ``write()`` tries the descriptor at once when nothing is
queued, as ``Socket.write`` does (the descriptor is non-blocking, so the
attempt cannot wait).

How a descriptor is read and written depends on what it is (``fstat``):

* **A pipe, a FIFO, a terminal** can be polled. They need ``O_NONBLOCK``,
  but that flag belongs to the *open file description*, which a terminal
  shares with the shell and every other process started from it: a shell
  whose terminal was left non-blocking (by a crash, or ``kill -9``, before
  any clean-up could run) fails its next read with EAGAIN and exits.
  So, where the system allows it (Linux), gnet opens the same pipe or
  terminal again through ``/proc/self/fd/N``: a new open file
  description of its own, made non-blocking, that no other process
  shares, and nothing needs restoring. Where that is not possible (no
  ``/proc``, a socket as stdin, a FIFO whose reader is gone), gnet sets
  ``O_NONBLOCK`` on the shared description and clears it again when the
  stream is destroyed (unless another of the three still uses the same
  file) and at interpreter exit (``atexit``); a ``kill -9`` in that window
  is the one case that leaves it set.
* **A regular file** (and a device that cannot be polled, ``/dev/null``)
  is always "ready": epoll refuses it and ``O_NONBLOCK`` means nothing to
  it. It is read and written in chunks of :data:`CHUNK` bytes, one chunk
  per turn of the loop, from a loop callback: one system call on a local
  disk takes microseconds, and the loop serves every other watcher between
  two chunks, so a 1 GB file streams without freezing anyone. gevent's
  threadpool was the other choice; it costs a thread hand-off per chunk,
  runs the I/O outside the hub (against the rule above), and would not
  make a slow network file system any kinder to the loop than one bounded
  call is.

stdin reads only while it is flowing and holds less than
``readableHighWaterMark`` bytes nobody consumed; a paused stdin stops
reading at once (the writer of the pipe waits), as Node's does. Reading a closed descriptor
(EBADF) is its end. stdout's writes past a full pipe or terminal wait in a
queue that the write watcher drains; a write error (EPIPE when the reader
has gone, EIO...) destroys the stream with 'error' then 'close'. Python
ignores SIGPIPE from start-up, so EPIPE is an error, never the death of
the process; a program that restores SIGPIPE's default disposition gets
what it asked for.

A stream is an active handle (it keeps ``gnet.run()`` waiting) while stdin
reads and while stdout has bytes queued, as in Node; ``unref()`` lets go.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gevent import get_hub

from gnet.descriptors import FILE, NONE, POLL, open_nonblocking, release
from gnet.dispatch import check_thread, schedule
from gnet.encodings import Decoder, encode, normalize_encoding
from gnet.errors import (
    InvalidArgTypeError,
    StreamDestroyedError,
    StreamNullValuesError,
    StreamWriteAfterEndError,
    system_error,
)
from gnet.events import EventEmitter
from gnet.loop import Handle
from gnet.validate import validate_function

__all__ = ("CHUNK", "ReadStream", "WriteStream", "stderr", "stdin", "stdout")

logger = logging.getLogger("gnet")

#: Bytes asked for by one read, and written by one write to a regular file.
CHUNK = 64 * 1024
#: Both marks: one read's worth (Node uses 64 KiB for stdin, 16 KiB for stdout).
HIGH_WATER_MARK = 64 * 1024

def _chunk_bytes(data: Any, encoding: str | None) -> bytes:
    if isinstance(data, str):
        return encode(data, encoding)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)  # the caller may reuse its buffer
    if data is None:
        raise StreamNullValuesError()
    raise InvalidArgTypeError("chunk", "str, bytes, bytearray or memoryview", data)


class _Stream(EventEmitter, Handle):
    """What stdin and the writables share: the descriptor, the event queue, teardown."""

    def __init__(self, fd: int, usable: bool) -> None:
        EventEmitter.__init__(self)
        self._init_handle()
        self._source_fd = fd
        self._fd, self._kind, self._owned = (open_nonblocking(fd, self._writing) if usable
                                             else (fd, NONE, False))
        self._eq: deque[tuple[Any, ...]] = deque()
        self._queued = False
        self._destroyed = False
        self._close_emitted = False
        self._errored: BaseException | None = None
        self._watcher: Any = None

    _writing = False

    @property
    def fd(self) -> int:
        """The process's descriptor this stream stands for (0, 1 or 2)."""
        return self._source_fd

    @property
    def isTTY(self) -> bool:
        """Whether the descriptor is a terminal (Node sets it only then)."""
        try:
            return self._kind != NONE and os.isatty(self._source_fd)
        except OSError:
            return False

    @property
    def destroyed(self) -> bool:
        """Whether ``destroy()`` ran (or an error destroyed the stream)."""
        return self._destroyed

    @property
    def errored(self) -> BaseException | None:
        """The error that destroyed the stream, or None."""
        return self._errored

    @property
    def closed(self) -> bool:
        """Whether 'close' was emitted."""
        return self._close_emitted

    # -- events: queued from the hub or a caller, emitted in a worker --------------

    def _queue(self, fn: Callable[..., Any], *args: Any) -> None:
        self._eq.append((fn, *args))
        self._schedule()

    def _schedule(self) -> None:
        if not self._queued:
            self._queued = True
            schedule(self._run)

    def _run(self) -> None:
        try:
            while True:
                eq = self._eq
                if eq:
                    item = eq.popleft()
                    try:
                        item[0](*item[1:])
                    except Exception as exc:
                        self._listener_failed(exc)
                    continue
                if not self._more():
                    break
        finally:
            self._queued = False

    def _more(self) -> bool:
        """Emit one more thing that is not an event (a chunk); False when none."""
        return False

    def _listener_failed(self, exc: BaseException) -> None:
        # As for sockets: report it and destroy this stream only.
        logger.error("gnet: error in a listener of %r; destroying it", self, exc_info=exc)
        if not self._destroyed:
            self.destroy()

    def _error_event(self, err: BaseException) -> None:
        if not self._close_emitted:
            self.emit("error", err)

    def _emit_close(self) -> None:
        if not self._close_emitted:
            self._close_emitted = True
            self.emit("close")

    # -- teardown ---------------------------------------------------------------------

    def destroy(self, error: BaseException | None = None) -> Any:
        """Stop all I/O now; 'error' (if given) then 'close' follow. Returns self.

        The process's own descriptor stays open (as in Node): only gnet's
        copy of it is closed, and the shared description's mode restored.
        """
        if self._destroyed:
            return self
        check_thread("destroy")
        self._destroyed = True
        self._stop_io()
        self._set_active(False)
        release(self._fd, self._owned)
        self._owned = False
        self._kind = NONE
        if error is not None:
            self._errored = error
            self._queue(self._error_event, error)
        self._on_destroy(error)
        self._queue(self._emit_close)
        return self

    def _on_destroy(self, error: BaseException | None) -> None:
        pass

    def _stop_io(self) -> None:
        # Teardown: the watcher goes for good.
        watcher = self._watcher
        if watcher is not None:
            self._watcher = None
            watcher.stop()
            watcher.close()

    def _idle(self) -> None:
        # Nothing to do for now: the watcher is kept for the next time.
        watcher = self._watcher
        if watcher is not None and watcher.active:
            watcher.stop()
        self._set_active(False)

    def _start_io(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` in the hub once the descriptor is ready.

        A file is always ready: a zero-delay timer calls back on the next
        turn of the loop, after the loop has polled every other watcher.
        """
        watcher = self._watcher
        if watcher is None:
            loop = get_hub().loop
            if self._kind == POLL:
                watcher = loop.io(self._fd, 2 if self._writing else 1)
            elif self._kind == FILE:
                watcher = loop.timer(0.0)
            else:
                return
            self._watcher = watcher
        if not watcher.active:
            watcher.start(callback)

    def __repr__(self) -> str:
        name = {0: "stdin", 1: "stdout", 2: "stderr"}.get(self._source_fd, str(self._source_fd))
        state = " destroyed" if self._destroyed else ""
        return f"<gnet.process.{name}{state}>"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        is_tty = isTTY
    # --- end of PEP 8 twins ---


class ReadStream(_Stream):
    """``process.stdin``: a readable over descriptor 0 (or another one).

    Events: 'data'(chunk), 'end', 'close', 'error'(err), 'pause', 'resume'.
    Nothing is read until it flows (a 'data' listener, ``resume()`` or
    ``pipe()``), as in Node.
    """

    def __init__(self, fd: int = 0, *, usable: bool = True) -> None:
        super().__init__(fd, usable)
        self._buffer: deque[bytes] = deque()
        self._buffered = 0
        self._flowing: bool | None = None
        self._eof = False
        self._end_emitted = False
        self._decoder: Decoder | None = None

    @property
    def readable(self) -> bool:
        """Whether 'data' may still come (not ended, not destroyed)."""
        return not (self._destroyed or self._end_emitted)

    @property
    def readableFlowing(self) -> bool | None:
        """None until something reads, then True while flowing, False while paused."""
        return self._flowing

    @property
    def readableEnded(self) -> bool:
        """Whether 'end' was emitted."""
        return self._end_emitted

    @property
    def readableLength(self) -> int:
        """Bytes read from the descriptor and not yet emitted."""
        return self._buffered

    @property
    def readableHighWaterMark(self) -> int:
        """Reading stops while this many bytes wait to be consumed."""
        return HIGH_WATER_MARK

    @property
    def readableEncoding(self) -> str | None:
        """The encoding given to ``setEncoding()``, or None for bytes."""
        return None if self._decoder is None else self._decoder.encoding

    def isPaused(self) -> bool:
        """Whether ``pause()`` was called and ``resume()`` not since."""
        return self._flowing is False

    def setEncoding(self, encoding: str | None = None) -> ReadStream:
        """Make 'data' deliver ``str`` decoded with a Node encoding name. Returns self."""
        self._decoder = Decoder(normalize_encoding(encoding))
        return self

    def pause(self) -> ReadStream:
        """Stop emitting 'data' and reading (Node's readStop). Returns self.

        A paused stdin does not keep ``gnet.run()`` waiting, as in Node.
        """
        if self._flowing is not False:
            self._flowing = False
            self._idle()
            self._queue(self.emit, "pause")
        return self

    def resume(self) -> ReadStream:
        """Start or restart reading and emitting 'data'. Returns self."""
        check_thread("resume")
        if self._flowing is not True:
            self._flowing = True
            self._queue(self.emit, "resume")
        self._want_more()
        self._schedule()
        return self

    def pipe(self, destination: Any, options: dict[str, Any] | bool = True) -> Any:
        """Send everything read to ``destination`` with backpressure; returns it.

        Node's ``readable.pipe(dest[, {end}])``; see :func:`gnet.stream.pipe`.
        """
        from gnet.stream import pipe

        if isinstance(options, dict):
            end = options.get("end", True)
        elif isinstance(options, bool):
            end = options
        else:
            raise InvalidArgTypeError("options", "dict or bool", options)
        return pipe(self, destination, bool(end))

    def unpipe(self, destination: Any = None) -> ReadStream:
        """Undo ``pipe()`` for ``destination`` (or every destination). Returns self."""
        from gnet.stream import unpipe

        unpipe(self, destination)
        return self

    def _add_listener(self, name: Any, listener: Any, prepend: bool, once: bool) -> None:
        EventEmitter._add_listener(self, name, listener, prepend, once)
        if name == "data" and self._flowing is None:
            self.resume()

    # -- reading (hub) --------------------------------------------------------------------

    def _want_more(self) -> None:
        if self._destroyed or self._eof:
            return
        if self._kind == NONE:
            self._eof = True
            self._schedule()
            return
        if self._flowing and self._buffered < HIGH_WATER_MARK:
            self._set_active(True)
            self._start_io(self._on_readable)

    def _on_readable(self) -> None:
        # Hub: one read per wake-up, so one busy stdin cannot starve the loop.
        try:
            chunk = os.read(self._fd, CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno != errno.EBADF:
                self.destroy(system_error(exc, "read"))
                return
            chunk = b""
        if chunk:
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            if self._buffered >= HIGH_WATER_MARK or not self._flowing:
                self._idle()
            elif self._kind == FILE:
                self._start_io(self._on_readable)
        else:
            self._eof = True
            self._idle()
        self._schedule()

    # -- emitting (worker) ----------------------------------------------------------------

    def _more(self) -> bool:
        if self._destroyed or not self._flowing:
            return False
        buffer = self._buffer
        if buffer:
            chunk = buffer.popleft()
            self._buffered -= len(chunk)
            self._want_more()
            decoder = self._decoder
            try:
                data: Any = chunk if decoder is None else decoder.write(chunk)
                if data:
                    self.emit("data", data)
            except Exception as exc:
                self._listener_failed(exc)
            return True
        if self._eof and not self._end_emitted:
            self._end_emitted = True
            decoder = self._decoder
            try:
                if decoder is not None:
                    tail = decoder.end()
                    if tail:
                        self.emit("data", tail)
                self.emit("end")
            except Exception as exc:
                self._listener_failed(exc)
            # autoDestroy: the only direction is done.
            self.destroy()
            return True
        return False

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        readable_flowing = readableFlowing
        readable_ended = readableEnded
        readable_length = readableLength
        readable_high_water_mark = readableHighWaterMark
        readable_encoding = readableEncoding
        is_paused = isPaused
        set_encoding = setEncoding
    # --- end of PEP 8 twins ---


class WriteStream(_Stream):
    """``process.stdout`` / ``process.stderr``: a writable over descriptor 1 or 2.

    Events: 'drain', 'finish', 'close', 'error'(err), 'pipe', 'unpipe'.
    """

    _writing = True

    def __init__(self, fd: int = 1, *, usable: bool = True) -> None:
        super().__init__(fd, usable)
        # [data, callback]; an empty data stands for write(b'', cb) or end().
        self._pending: deque[list[Any]] = deque()
        self._length = 0
        self._need_drain = False
        self._ending = False
        self._finished = False

    @property
    def writable(self) -> bool:
        """Whether ``write()`` is still allowed (not ended, not destroyed)."""
        return not (self._ending or self._destroyed)

    @property
    def writableLength(self) -> int:
        """Bytes written and not yet taken by the descriptor."""
        return self._length

    @property
    def writableHighWaterMark(self) -> int:
        """``write()`` returns False once this many bytes wait."""
        return HIGH_WATER_MARK

    @property
    def writableNeedDrain(self) -> bool:
        """Whether a ``write()`` returned False and 'drain' has not come yet."""
        return self._need_drain

    @property
    def writableEnded(self) -> bool:
        """Whether ``end()`` was called."""
        return self._ending

    @property
    def writableFinished(self) -> bool:
        """Whether 'finish' was emitted (every byte was handed to the descriptor)."""
        return self._finished

    def write(self, data: Any, encoding: Any = None, callback: Any = None) -> bool:
        """Queue ``data`` (Node's ``writable.write``); False once past the mark.

        Writes at once what the descriptor takes without waiting; the rest
        waits for the write watcher (or the next loop turn, for a file).
        ``callback(err)`` runs once the chunk was written or failed; an
        empty chunk's callback runs once everything before it was written.

        Raises:
            StreamNullValuesError: data is None.
            InvalidArgTypeError: data of another type, or a bad callback.
            ForeignThreadError: called from an OS thread that does not run
                gnet's loop.
        """
        if encoding is not None and not isinstance(encoding, str):
            callback, encoding = encoding, None
        chunk = _chunk_bytes(data, encoding)
        if callback is not None:
            validate_function(callback, "callback")
        check_thread("write")  # gnet's loop, like gevent's, is not thread-safe
        if self._ending or self._destroyed:
            err: BaseException = (StreamDestroyedError("write") if self._destroyed
                                  else StreamWriteAfterEndError())
            # As Node (and gnet's sockets): the callback gets the error, then
            # the stream is destroyed with it ('error', 'close', no 'finish').
            if callback is not None:
                self._queue(callback, err)
            self.destroy(err)
            return False
        self._pending.append([chunk, callback])
        self._length += len(chunk)
        if len(self._pending) == 1:
            self._flush()
        ok = self._length < HIGH_WATER_MARK
        if not ok:
            self._need_drain = True
        return ok

    def end(self, data: Any = None, encoding: Any = None, callback: Any = None) -> WriteStream:
        """Write ``data`` if given, then 'finish' once all is written. Returns self.

        The process's descriptor stays open, as in Node.
        """
        if callable(data):
            data, callback = None, data
        elif callable(encoding):
            encoding, callback = None, encoding
        if data is not None:
            self.write(data, encoding)
        if callback is not None:
            validate_function(callback, "callback")
            self.once("finish", callback)
        if self._ending or self._destroyed:
            return self
        self._ending = True
        self._pending.append([b"", self._finish])
        if len(self._pending) == 1:
            self._flush()
        return self

    def _finish(self, err: BaseException | None) -> None:
        if err is None and not self._finished and not self._destroyed:
            self._finished = True
            self.emit("finish")
            self.destroy()  # autoDestroy: 'close' follows

    # -- writing (caller or hub) -----------------------------------------------------------

    def _flush(self) -> None:
        pending = self._pending
        fd = self._fd
        kind = self._kind
        budget = CHUNK if kind == FILE else -1
        while pending:
            item = pending[0]
            data = item[0]
            if data:
                if kind == NONE:
                    n = len(data)
                elif budget == 0:
                    self._start_io(self._flush)
                    self._set_active(True)
                    return
                else:
                    try:
                        n = os.write(fd, data if budget < 0 else data[:budget])
                    except (BlockingIOError, InterruptedError):
                        self._set_active(True)
                        self._start_io(self._flush)
                        return
                    except OSError as exc:
                        self.destroy(system_error(exc, "write"))
                        return
                    if budget > 0:
                        budget -= n
                self._length -= n
                if n < len(data):
                    item[0] = data[n:]
                    continue
            pending.popleft()
            if item[1] is not None:
                self._queue(item[1], None)
        self._idle()
        if self._need_drain:
            self._need_drain = False
            self._queue(self._emit_drain)

    def _emit_drain(self) -> None:
        if not self._destroyed:
            self.emit("drain")

    def _on_destroy(self, error: BaseException | None) -> None:
        # Node: the callbacks of what was never written get the error.
        failed = error if error is not None else StreamDestroyedError("write")
        for _data, callback in self._pending:
            if callback is not None and callback != self._finish:
                self._queue(callback, failed)
        self._pending.clear()
        self._length = 0

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        writable_length = writableLength
        writable_high_water_mark = writableHighWaterMark
        writable_need_drain = writableNeedDrain
        writable_ended = writableEnded
        writable_finished = writableFinished
    # --- end of PEP 8 twins ---


# Declared for type checkers; made by __getattr__ below on first use.
stdin: ReadStream
stdout: WriteStream
stderr: WriteStream

_names = {"stdin": 0, "stdout": 1, "stderr": 2}
_streams: dict[str, _Stream] = {}


def __getattr__(name: str) -> Any:
    # Made on first use, so importing gnet leaves descriptors 0, 1 and 2 alone.
    fd = _names.get(name)
    if fd is None:
        raise AttributeError(f"module 'gnet.process' has no attribute {name!r}")
    stream = _streams.get(name)
    if stream is None:
        usable = getattr(sys, f"__{name}__", None) is not None
        stream = ReadStream(fd, usable=usable) if fd == 0 else WriteStream(fd, usable=usable)
        _streams[name] = stream
        globals()[name] = stream
    return stream
