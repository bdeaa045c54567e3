"""The transport: the part of a stream socket that owns the OS socket.

Theory of operation
-------------------
gnet's stream sockets are two layers:

* the **transport** (this module) owns one non-blocking OS socket and its
  two gevent io watchers, and offers the few system calls the layer above
  needs: ``recv``, ``send``, ``sendmsg``, ``shutdown``, ``close``, socket
  options and addresses. It knows nothing of Node: no events, no queues,
  no encodings.
* the **stream** (:class:`gnet.Socket`) keeps Node's semantics on top: the
  read queue and high-water marks, the write queue and 'drain', events,
  encodings, timeouts and the lifecycle (:mod:`gnet.state`).

The seam is :class:`gnet.interfaces.ITransport`. Its contract, which every
transport keeps:

* ``recv(n)`` returns up to ``n`` bytes, ``b''`` at EOF, or raises
  ``BlockingIOError`` when nothing is ready, or ``OSError`` on failure;
  ``send(data)``/``sendmsg(buffers)`` return how many bytes were taken
  (possibly 0) or raise the same way. None of them ever blocks.
* ``start_reading(callback)`` calls ``callback()`` in the hub whenever
  ``recv`` may return something; ``start_writing(callback)`` whenever
  ``send`` may take something. ``reading``/``writing`` say whether they are
  started (what keeps ``gnet.run()`` waiting).
* ``pending`` counts bytes the transport accepted but the kernel has not
  taken yet (TLS records). The stream sends FIN, and counts its queue as
  flushed, only when it is 0; the transport calls the write callback again
  once they are out.
* errors: an ``OSError`` from the kernel (the stream names it with
  ``system_error``), or an error already carrying Node's code (a
  :class:`~gnet.errors.NodeError` that is also an ``OSError``: the stream
  passes it on unchanged).
* ``close()`` stops both watchers before the descriptor goes, and is safe
  to call twice.

How the next transports plug in:

* **TLS** is a transport over a transport: it wraps a lower
  :class:`ITransport` (plain TCP, or an already connected socket's, for
  STARTTLS) with ``ssl.MemoryBIO`` + ``SSLObject``. Its ``recv`` reads
  ciphertext from the lower transport, feeds the incoming BIO and returns
  plaintext (``BlockingIOError`` while a record is incomplete); its
  ``send`` encrypts into the outgoing BIO and writes that to the lower
  transport; its ``shutdown`` sends close_notify. The stream above does not
  change, so every ``net`` behaviour (backpressure, half-close, timeouts)
  holds over TLS, and the byte counters stay plaintext counts.
* **Pipes** (``Socket({'fd': n})`` on a pipe or FIFO, Node's Pipe handle)
  are :class:`PipeTransport`: the same contract over ``os.read``/
  ``os.write``/``os.writev`` on a descriptor of their own (see the class).
* **UDP** is a sibling, not a layer: a datagram socket has no stream above
  it, but it owns its descriptor and watchers the same way
  (:mod:`gnet.dgram`), by the same rules.

:class:`StreamTransport` *is* the OS socket: a subclass of the C socket
type with its two watchers added, so a connection pays for one object, and
``recv``/``send``/``sendmsg`` are the C methods themselves, with no Python
frame in between on the hot paths.

Why the ``_socket`` module and not ``socket``: under
``gevent.monkey.patch_all()`` the ``socket`` module's class is gevent's
cooperative socket, whose ``recv`` would *wait* (switch to the hub) when
nothing is ready. Transport calls run in the hub, which must never wait, so
they use the C type, which no monkey patching replaces, and which raises
``BlockingIOError`` instead.

Every method here runs in the loop's thread: watcher callbacks in the hub,
the rest in whichever greenlet made the call (the calls never block).
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import os
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from gnet.descriptors import open_nonblocking, release
from gnet.dispatch import get_loop
from gnet.interfaces import ITransport

__all__ = ("PipeTransport", "StreamTransport")

# TCP_KEEPIDLE/KEEPINTVL take at most 32767 s on Linux.
_KEEPALIVE_MAX_S = 32767
# SO_LINGER on, zero seconds: close() sends RST instead of FIN.
_LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"


@implementer(ITransport)
class StreamTransport(_socket.socket):
    """A connected TCP or Unix stream socket wired to gevent's loop.

    Made like ``_socket.socket`` (``StreamTransport(family, type, 0, fd)``
    for an accepted descriptor); :meth:`attach` makes it non-blocking and
    gives it its read watcher once it is connected.
    """

    __slots__ = ("reading", "writing", "_rw", "_ww")

    #: Bytes this transport holds that the kernel has not taken: always
    #: none here, since send() hands everything it accepts to the kernel.
    pending = 0

    # No __init__ of its own: the C type's makes accepting a connection
    # cheaper. The slots are set by attach(); until then (a connect attempt,
    # a connection the server drops) only close() may be called.

    def attach(self) -> StreamTransport:
        """Wire the connected socket to the loop; returns self."""
        self.setblocking(False)
        self.reading = False
        self.writing = False
        self._rw: Any = get_loop().io(self.fileno(), 1)
        self._ww: Any = None  # made on the first write that has to wait
        return self

    @property
    def is_tcp(self) -> bool:
        """An IPv4 or IPv6 socket (not a Unix one)."""
        family = self.family
        return family == _socket.AF_INET or family == _socket.AF_INET6

    def start_reading(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub while data (or EOF) is ready."""
        if not self.reading:
            self.reading = True
            self._rw.start(callback)

    def stop_reading(self) -> None:
        """Stop calling the read callback (the kernel buffers, then TCP pushes back)."""
        if self.reading:
            self.reading = False
            self._rw.stop()

    def start_writing(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub while the kernel has room for more."""
        if not self.writing:
            self.writing = True
            ww = self._ww
            if ww is None:
                ww = self._ww = get_loop().io(self.fileno(), 2)
            ww.start(callback)

    def stop_writing(self) -> None:
        """Stop calling the write callback."""
        if self.writing:
            self.writing = False
            self._ww.stop()

    def shutdown(self, how: int = _socket.SHUT_WR) -> None:
        """Send FIN (by default): the peer reads EOF; this side may still read."""
        _socket.socket.shutdown(self, how)

    def reset(self) -> None:
        """Make the coming ``close()`` send RST instead of FIN."""
        self.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, _LINGER_RESET)

    def close(self) -> None:
        """Stop the watchers, then release the descriptor; a second call does nothing."""
        self.reading = self.writing = False
        for watcher in (getattr(self, "_rw", None), getattr(self, "_ww", None)):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self._rw = self._ww = None
        _socket.socket.close(self)

    # Socket options. Each is best effort, as in Node: a Unix socket has no
    # Nagle, an old kernel may lack an option, and none of that is an error
    # the user can act on.

    def set_no_delay(self, value: bool) -> None:
        """TCP_NODELAY on (Nagle off) or off."""
        try:
            self.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, int(value))
        except OSError:
            pass

    def set_keep_alive(self, enable: bool, delay_ms: float, interval_ms: float | None,
                       count: int | None) -> None:
        """SO_KEEPALIVE, and the first probe's delay, the probe interval and count."""
        try:
            self.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, int(enable))
            if not enable:
                return
            if delay_ms >= 1000 and hasattr(_socket, "TCP_KEEPIDLE"):
                self.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPIDLE,
                                min(int(delay_ms // 1000), _KEEPALIVE_MAX_S))
            if hasattr(_socket, "TCP_KEEPINTVL"):
                # Node's defaults since 13.12: a probe a second, ten probes.
                secs = 1 if interval_ms is None else max(1, int(interval_ms // 1000))
                self.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPINTVL,
                                min(secs, _KEEPALIVE_MAX_S))
                self.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPCNT,
                                10 if count is None else min(count, 127))
        except OSError:
            pass

    def set_user_timeout(self, ms: int) -> None:
        """TCP_USER_TIMEOUT (Linux): how long sent data may stay unacknowledged."""
        option = getattr(_socket, "TCP_USER_TIMEOUT", None)
        if option is not None:
            try:
                self.setsockopt(_socket.IPPROTO_TCP, option, ms)
            except OSError:
                pass


@implementer(ITransport)
class PipeTransport:
    """A pipe or FIFO descriptor wired to gevent's loop (Node's Pipe handle).

    What ``Socket({'fd': n})`` uses when ``n`` is not a socket. The transport
    owns ``n`` from then on, as Node's handle does: :meth:`close` closes it.

    For I/O it opens the same pipe again through ``/proc/self/fd/N``
    (:func:`gnet.descriptors.open_nonblocking`), once per direction the descriptor was
    opened for: a non-blocking open file description of its own, so the one
    ``n`` shares with other processes keeps its blocking mode. Where that is
    impossible the shared description is made non-blocking and made blocking
    again on close, as for ``gnet.process.stdin``.

    A pipe end goes one way. As libuv's: writing to a read-only end fails
    with EPIPE, and reading from a write-only end with ENOTCONN (at once,
    from a loop callback, since the kernel never signals it); ``shutdown()``
    does nothing (a pipe has no half-close: the reader sees EOF once the
    descriptor closes). Socket options do nothing; ``is_tcp`` is False, so
    ``address()`` is ``{}`` and ``remoteAddress`` None, as in Node.
    """

    __slots__ = ("reading", "writing", "_fd", "_rfd", "_wfd", "_owned", "_rw", "_ww")

    #: Always none: ``send`` hands everything it accepts to the kernel.
    pending = 0
    #: Node's Pipe handle answers as a Unix one would (``address()`` is {}).
    family = _socket.AF_UNIX
    is_tcp = False

    def __init__(self, fd: int) -> None:
        mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        self._fd = fd
        self._rfd = -1 if mode == os.O_WRONLY else fd
        self._wfd = -1 if mode == os.O_RDONLY else fd
        self._owned: list[int] = []
        self.reading = False
        self.writing = False
        self._rw: Any = None
        self._ww: Any = None

    def attach(self) -> PipeTransport:
        """Open the non-blocking descriptors and the watchers; returns self."""
        loop = get_loop()
        if self._rfd >= 0:
            self._rfd = self._own(open_nonblocking(self._fd, False))
            self._rw = loop.io(self._rfd, 1)
        if self._wfd >= 0:
            self._wfd = self._own(open_nonblocking(self._fd, True))
        return self

    def _own(self, opened: tuple[int, int, bool]) -> int:
        fd = opened[0]  # gnet's own description, or self._fd made non-blocking
        self._owned.append(fd)
        return fd

    def fileno(self) -> int:
        """The descriptor given to ``Socket({'fd': n})``."""
        return self._fd

    def recv(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b''`` at EOF; BlockingIOError when none are ready."""
        if self._rfd < 0:
            raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        return os.read(self._rfd, n)

    def send(self, data: Any) -> int:
        """Bytes of ``data`` the pipe took; BlockingIOError when it is full."""
        if self._wfd < 0:
            raise OSError(errno.EPIPE, os.strerror(errno.EPIPE))
        return os.write(self._wfd, data)

    def sendmsg(self, buffers: Any) -> int:
        """Like :meth:`send` for several buffers, in one ``writev``."""
        if self._wfd < 0:
            raise OSError(errno.EPIPE, os.strerror(errno.EPIPE))
        return os.writev(self._wfd, buffers)

    def start_reading(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub while data (or EOF) is ready."""
        if not self.reading:
            self.reading = True
            if self._rw is None:
                # A write-only end: recv() fails at once, as libuv's readStart.
                self._rw = get_loop().run_callback(callback)
            else:
                self._rw.start(callback)

    def stop_reading(self) -> None:
        """Stop calling the read callback (the pipe fills, then its writer waits)."""
        if self.reading:
            self.reading = False
            self._rw.stop()
            if self._rfd < 0:
                self._rw = None

    def start_writing(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub while the pipe has room for more."""
        if not self.writing:
            self.writing = True
            ww = self._ww
            if self._wfd < 0:
                # A read-only end: send() fails at once.
                self._ww = get_loop().run_callback(callback)
                return
            if ww is None:
                ww = self._ww = get_loop().io(self._wfd, 2)
            ww.start(callback)

    def stop_writing(self) -> None:
        """Stop calling the write callback."""
        if self.writing:
            self.writing = False
            self._ww.stop()
            if self._wfd < 0:
                self._ww = None

    def shutdown(self, how: int = _socket.SHUT_WR) -> None:
        """Nothing: a pipe has no half-close (Node's end() on a pipe, likewise)."""

    def reset(self) -> None:
        """Nothing: a pipe has no RST (``resetAndDestroy()`` refuses it above)."""

    def close(self) -> None:
        """Stop the watchers, then close every descriptor; a second call does nothing."""
        self.reading = self.writing = False
        for watcher in (self._rw, self._ww):
            if watcher is not None:
                watcher.stop()
                close = getattr(watcher, "close", None)
                if close is not None:
                    close()
        self._rw = self._ww = None
        owned, self._owned = self._owned, []
        for fd in owned:
            release(fd, fd != self._fd)
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            self._rfd = self._wfd = -1
            try:
                os.close(fd)
            except OSError:
                pass

    def getsockname(self) -> str:
        """No address: a pipe has none (``address()`` is ``{}``)."""
        return ""

    def getpeername(self) -> str:
        """No address: a pipe has none (``remoteAddress`` is None)."""
        return ""

    def set_no_delay(self, value: bool) -> None:
        """Nothing: a pipe has no Nagle."""

    def set_keep_alive(self, enable: bool, delay_ms: float, interval_ms: float | None,
                       count: int | None) -> None:
        """Nothing: a pipe has no keep-alive."""

    def set_user_timeout(self, ms: int) -> None:
        """Nothing: a pipe has no TCP_USER_TIMEOUT."""
