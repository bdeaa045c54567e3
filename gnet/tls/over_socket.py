"""A connected gnet Socket as the lower transport of a TLS connection (STARTTLS).

Theory of operation
-------------------
``tls.connect({'socket': s})`` and ``TLSSocket(s)`` put TLS on a socket
that is already connected (a protocol that starts in plaintext and
upgrades: SMTP's STARTTLS, XMPP, PostgreSQL). The TLS transport
(:class:`~gnet.tls.transport.TLSTransport`) needs a lower transport;
:class:`SocketLower` is one made of the plain socket's public stream API,
as Node's TLS runs over any Duplex:

* ciphertext in: the plain socket's 'data' events fill a buffer that
  ``recv`` empties; past two chunks the plain socket is paused (TCP pushes
  back), and resumed once ``recv`` took them. Its 'end' is EOF, its
  'error' the error ``recv`` raises next.
* ciphertext out: ``send`` is the plain socket's ``write``; while that
  socket's buffer is full (``writableNeedDrain``), ``send`` refuses and
  the write callback waits for its 'drain'.
* ``shutdown()`` is its ``end()``; ``close()`` its ``destroy()``.

The callbacks come as a descriptor watcher's would: in the hub
(``loop.run_callback``), again and again while there is something to read
or room to write, so the TLS transport above works as over TCP. The plain
socket is set to ``allowHalfOpen`` (TLS ends each direction with its own
close_notify), and it must not be read or written by anyone else after the
upgrade.
"""

from __future__ import annotations

import _socket
import errno
from collections import deque
from collections.abc import Callable
from typing import Any

from gevent.event import Event

from gnet.dispatch import get_loop

__all__ = ("SocketLower",)

# Ciphertext buffered from the plain socket before it is paused.
_BUFFER_LIMIT = 128 * 1024


class SocketLower:
    """The lower-transport calls TLSTransport makes, over a connected gnet Socket."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        remote_family = sock.remoteFamily
        self.family = (_socket.AF_INET6 if remote_family == "IPv6" else
                       _socket.AF_INET if remote_family == "IPv4" else _socket.AF_UNIX)
        self.reading = False
        self.writing = False
        self._buffer: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._rcb: Callable[[], Any] | None = None
        self._wcb: Callable[[], Any] | None = None
        self._read_queued = False
        self._write_queued = False
        self._readable = Event()
        self._closed = False
        sock.allowHalfOpen = True
        sock.on("data", self._on_data)
        sock.on("end", self._on_end)
        sock.on("error", self._on_error)
        sock.on("close", self._on_close)
        sock.on("drain", self._on_drain)
        sock.resume()  # a plain socket paused for the upgrade flows again, into TLS

    @property
    def is_tcp(self) -> bool:
        return self.family != _socket.AF_UNIX

    # -- the plain socket's events (workers)

    def _on_data(self, chunk: Any) -> None:
        data = bytes(chunk)
        self._buffer.append(data)
        self._size += len(data)
        if self._size >= _BUFFER_LIMIT:
            self.sock.pause()
        self._ready()

    def _on_end(self) -> None:
        self._eof = True
        self._ready()

    def _on_error(self, err: BaseException) -> None:
        self._error = err
        self._ready()

    def _on_close(self, *_: Any) -> None:
        self._eof = True
        self._ready()

    def _on_drain(self) -> None:
        if self.writing:
            self._queue_write()

    def _ready(self) -> None:
        self._readable.set()
        if self.reading and not self._read_queued:
            self._read_queued = True
            get_loop().run_callback(self._fire_read)

    # -- hub callbacks, level-triggered like a descriptor's

    def _fire_read(self) -> None:
        self._read_queued = False
        if self.reading and self._rcb is not None and not self._closed:
            self._rcb()
            if self.reading and (self._buffer or self._eof or self._error) \
                    and not self._read_queued:
                self._read_queued = True
                get_loop().run_callback(self._fire_read)

    def _queue_write(self) -> None:
        if not self._write_queued:
            self._write_queued = True
            get_loop().run_callback(self._fire_write)

    def _fire_write(self) -> None:
        self._write_queued = False
        if self.writing and self._wcb is not None and not self._closed \
                and not self.sock.writableNeedDrain:
            self._wcb()
            if self.writing and not self.sock.writableNeedDrain:
                self._queue_write()

    # -- the calls TLSTransport makes

    def recv(self, n: int) -> bytes:
        if self._buffer:
            data = self._buffer.popleft()
            if len(data) > n:
                self._buffer.appendleft(data[n:])
                data = data[:n]
            self._size -= len(data)
            if self._size < _BUFFER_LIMIT and self.sock.isPaused() and not self._closed:
                self.sock.resume()
            if not self._buffer:
                self._readable.clear()
            return data
        if self._error is not None:
            raise self._error
        if self._eof:
            return b""
        self._readable.clear()
        raise BlockingIOError(errno.EAGAIN, "no data from the plain socket")

    def wait_readable(self) -> None:
        """Block the calling greenlet (the handshake's) until ``recv`` has something."""
        self._readable.wait()

    def send(self, data: Any) -> int:
        if self._closed or self.sock.destroyed:
            raise BrokenPipeError(errno.EPIPE, "the plain socket is closed")
        if self.sock.writableNeedDrain:
            raise BlockingIOError(errno.EAGAIN, "the plain socket's buffer is full")
        chunk = bytes(data)
        self.sock.write(chunk)
        return len(chunk)

    def sendmsg(self, buffers: Any) -> int:
        return self.send(b"".join(bytes(b) for b in buffers))

    def start_reading(self, callback: Callable[[], Any]) -> None:
        self._rcb = callback
        self.reading = True
        if self._buffer or self._eof or self._error:
            self._ready()

    def stop_reading(self) -> None:
        self.reading = False

    def start_writing(self, callback: Callable[[], Any]) -> None:
        self._wcb = callback
        self.writing = True
        if not self.sock.writableNeedDrain:
            self._queue_write()

    def stop_writing(self) -> None:
        self.writing = False

    def shutdown(self) -> None:
        self.sock.end()

    def reset(self) -> None:
        self.sock.resetAndDestroy()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.reading = self.writing = False
        self._readable.set()
        for name, listener in (("data", self._on_data), ("end", self._on_end),
                               ("close", self._on_close), ("drain", self._on_drain)):
            self.sock.removeListener(name, listener)
        self.sock.destroy()

    def getsockname(self) -> Any:
        info = self.sock.address()
        if not info:
            return ""
        return (info["address"], info["port"])

    def getpeername(self) -> Any:
        if self.sock.remoteAddress is None:
            return ""
        return (self.sock.remoteAddress, self.sock.remotePort)

    def set_no_delay(self, value: bool) -> None:
        self.sock.setNoDelay(value)

    def set_keep_alive(self, enable: bool, delay_ms: float, interval_ms: float | None,
                       count: int | None) -> None:
        self.sock.setKeepAlive(enable, delay_ms)

    def set_user_timeout(self, ms: int) -> None:
        self.sock.setUserTimeout(ms)
