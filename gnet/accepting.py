"""How a gnet Server takes connections: its accept loop, the accept() error policy, admission.

Theory of operation
-------------------
Accept path (hub -> worker)::

    listening socket readable -> _accept_ready: up to max_accept accept()s
      -> handle(fd, address) for each -> maxConnections reached? 'drop'
      -> proxyProtocol? a HeaderReader reads the header first -> _admit:
      blocked peer? closed -> _make_socket: the Socket -> schedule()
      -> _start_connection in a worker: 'connection', then reading

Everything up to the Socket runs in the hub, in the listening socket's io
watcher callback, and never blocks: ``handle()`` only wraps the descriptor
and schedules 'connection' in a worker greenlet, so no greenlet exists per
connection. At most ``max_accept`` connections are taken per wakeup, so a
flood on one listener cannot starve the loop. With ``proxyProtocol``, the
connection's :class:`~gnet.proxy_protocol.HeaderReader` (hub: its own io
watcher and timer) stands in the server's connection set until the header
is read; the Socket is made then, and reports the advertised client. A
gevent-style handler (``handle(socket, address)``) is served gevent's way
instead: a greenlet per connection with a cooperative gevent socket.

The two steps of a new connection, ``_make_socket`` (hub) and
``_start_connection`` (worker), are the seam :class:`gnet.tls.Server`
overrides: it makes TLSSockets, whose handshake comes before reading.

What an accept() error does is one table (:func:`accept_error_action`):
take the next connection at once, pause accepting for a growing delay, or
close the server. This loop replaces gevent's (``_do_read`` is never used);
what it takes from gevent is listed in "What Server takes from gevent" in
:mod:`gnet.server`.

:class:`Accepting` is a part of :class:`gnet.Server` (a mixin with no state
of its own: the server's instance holds it); the declarations under
``TYPE_CHECKING`` name what it needs from the server. How the listening
socket comes to be is :mod:`gnet.listening`.
"""

from __future__ import annotations

import _socket
import errno
import inspect
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import gevent
from gevent import socket as gsocket

from gnet.addresses import address_info
from gnet.dispatch import schedule
from gnet.errors import ProxyProtocolUntrustedError, system_error
from gnet.proxy_protocol import HeaderReader, ProxyPeer, connection_info, trusted
from gnet.socket import Socket, accept, advertise, serve
from gnet.transport import StreamTransport

if TYPE_CHECKING:
    from gnet.blocklist import BlockList
    from gnet.proxy_protocol import ProxyConfig

__all__ = ("BACK_OFF", "CLOSE", "RETRY", "Accepting", "accept_error_action")

logger = logging.getLogger("gnet")


# --- accept() errors: the policy -------------------------------------------
#
# An accept() error belongs either to one incoming connection, or to the
# server's capacity, or to the listening socket itself. Only the last may
# close a listening server; the others cost one connection at most.
#
# RETRY: the connection failed between the kernel queueing it and our
# accept() (the client reset or gave up, a firewall refused it, the network
# under it went away). It is gone; nothing is wrong with the server, so take
# the next one at once, silently. Linux's accept(2) says to treat these as
# EAGAIN ("ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
# EOPNOTSUPP, and ENETUNREACH" for TCP; EPERM when a firewall rule refuses);
# BSDs give ECONNABORTED; trio's ignore list adds ECONNRESET, ETIMEDOUT,
# ENOSR, ESOCKTNOSUPPORT, EPROTONOSUPPORT; Node's libuv skips ECONNABORTED.
# EOPNOTSUPP would also mean "not a SOCK_STREAM socket", but Server only
# ever listens on stream sockets it made, so here it is the TCP meaning.
_ACCEPT_RETRY = frozenset(
    getattr(errno, name) for name in (
        "ECONNABORTED", "ECONNRESET", "EPROTO", "ETIMEDOUT", "ENOSR", "EPERM", "EINTR",
        "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN", "ENONET", "EHOSTUNREACH", "EOPNOTSUPP",
        "ENETUNREACH", "ESOCKTNOSUPPORT", "EPROTONOSUPPORT",
    ) if hasattr(errno, name)
)
# CLOSE: the listening socket itself is broken (closed under us, no longer
# listening, not a socket): every later accept() fails the same way. Report
# it and close the server. gevent's fatal list, exactly.
_ACCEPT_FATAL = frozenset((errno.EBADF, errno.EINVAL, errno.ENOTSOCK))
# BACK OFF: everything else, above all running out of descriptors or kernel
# memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). accept() would fail again at
# once while the cause lasts, and the pending connection keeps the socket
# readable, so retrying now would spin the CPU. Stop accepting, report it
# ('error' if someone listens, else a warning in the log), and accept again
# after a delay that doubles from min_delay to max_delay (10 ms to 1 s, as
# gevent) while the failures last; a successful accept() resets it. An errno
# nobody listed is handled so too: it costs a pause, never the server.

#: What ``accept_error_action`` answers.
RETRY, BACK_OFF, CLOSE = "retry", "back off", "close"


def accept_error_action(code: int | None) -> str:
    """What the accept loop does about an accept() error with errno ``code``.

    Returns:
        ``RETRY`` (the error belongs to one connection: take the next one),
        ``CLOSE`` (the listening socket is broken: report and close), or
        ``BACK_OFF`` (anything else, capacity above all: report, pause
        accepting, retry after a growing delay).
    """
    if code in _ACCEPT_RETRY:
        return RETRY
    if code in _ACCEPT_FATAL:
        return CLOSE
    return BACK_OFF


class Accepting:
    """Server's own accept loop, and the steps of a new connection (hub, then a worker)."""

    if not TYPE_CHECKING:  # the server's instance holds the state
        __slots__ = ()

    if TYPE_CHECKING:
        # Set by Server.__init__ (and Listening._started).
        maxConnections: int | None
        pauseOnConnect: bool
        _listening: bool
        _accept_delay: float
        _block_list: BlockList | None
        _proxy: ProxyConfig | None
        _socket_setup: tuple[Any, ...]
        _connections: dict[Socket, None]
        _open: int
        _owner: Any
        _gevent_handler: Callable[..., Any] | None
        min_delay: float
        max_delay: float
        # gevent's (see "What Server takes from gevent" in gnet.server).
        socket: Any
        family: int
        loop: Any
        max_accept: int

        # Server and EventEmitter methods it calls.
        def _queue(self, fn: Callable[..., Any], *args: Any) -> None: ...
        def _report_error(self, err: BaseException) -> None: ...
        def _connection_closed(self, sock: Socket) -> None: ...
        def emit(self, name: Any, *args: Any) -> bool: ...
        def listenerCount(self, name: Any, listener: Any = None) -> int: ...
        def close(self, callback: Any = None) -> Any: ...

    _accept_watcher: Any = None
    _accept_timer: Any = None

    def start_accepting(self) -> None:
        """Watch the listening socket for connections (gevent's method).

        Does nothing unless listening, or when already watching. With
        ``stop_accepting()``, a way to pause accepting: connections wait in
        the kernel's backlog meanwhile.
        """
        if self._accept_watcher is not None or not self._listening:
            return
        sock = self.__dict__.get("socket")
        if sock is None:
            return
        self._accept_watcher = self.loop.io(sock.fileno(), 1)
        self._accept_watcher.start(self._accept_ready)

    def stop_accepting(self) -> None:
        """Stop watching the listening socket, which stays open (gevent's method).

        Also cancels a pending retry after an accept() error.
        """
        watcher, self._accept_watcher = self._accept_watcher, None
        if watcher is not None:
            watcher.stop()
            watcher.close()
        timer, self._accept_timer = self._accept_timer, None
        if timer is not None:
            timer.stop()
            timer.close()

    def _accept_ready(self) -> None:
        # Hub: the listening socket is readable. At most max_accept per
        # wakeup, so that a flood on one listener cannot starve the loop.
        sock = self.socket
        for _ in range(self.max_accept):
            try:
                fd, address = sock._accept()
            except BlockingIOError:
                return  # the backlog is empty
            except OSError as exc:
                if self._accept_failed(exc):
                    continue
                return
            self._accept_delay = self.min_delay
            try:
                self.handle(fd, address)
            except Exception as exc:
                # A bug in gnet, not the peer's doing. gevent printed such a
                # traceback and backed off; so does this.
                logger.error("gnet: %r failed to take a connection", self, exc_info=exc)
                self._back_off()
                return
            if self._accept_watcher is None:
                return  # handle() or a close() it caused stopped accepting

    def _accept_failed(self, exc: OSError) -> bool:
        # The policy above; True when the loop may take the next connection.
        action = accept_error_action(exc.errno)
        if action == RETRY:
            return True
        err = system_error(exc, "accept")
        if action == CLOSE:
            self._queue(self._report_error, err)
            self.close()
            return False
        delay = self._back_off()
        if self.listenerCount("error"):
            self._queue(self._report_error, err)
        else:
            logger.warning("gnet: %r cannot accept (%s); retrying in %.2f s",
                           self, err.strerror, delay)
        return False

    def _back_off(self) -> float:
        # Pause accepting for the current delay, doubling it for next time.
        delay = self._accept_delay
        self.stop_accepting()
        self._accept_timer = self.loop.timer(delay)
        self._accept_timer.start(self.start_accepting)
        self._accept_delay = min(self.max_delay, delay * 2)
        return delay

    def handle(self, fd: int, address: Any) -> None:
        """Wrap an accepted descriptor in a Socket and schedule 'connection' (hub)."""
        # Giving the family spares the three getsockopt() calls that
        # socket(fileno=fd) makes to find it out.
        raw = StreamTransport(self.family, _socket.SOCK_STREAM, 0, fd)
        limit = self.maxConnections
        if limit is not None and self._open >= limit:
            self._drop(raw)
            return
        if self._proxy is not None:
            self._read_proxy_header(raw, address)
            return
        self._admit(raw, address, None)

    def _admit(self, raw: Any, address: Any, proxy: ProxyPeer | None) -> None:
        # Hub: a connection the server takes (its PROXY header read, if any).
        ip = address[0] if self.family != _socket.AF_UNIX else None
        six = self.family == _socket.AF_INET6
        if proxy is not None and proxy.remote[0] is not None:
            # The advertised client is the connection's remote end.
            address = (proxy.remote[0], proxy.remote[1])
            ip, six = proxy.remote[0], proxy.remote[2] == "IPv6"
        # Node 22.13: a blocked peer is closed at once: no 'connection', no 'drop'.
        if self._block_list is not None and ip is not None and self._block_list._blocked(ip, six):
            raw.close()
            return
        if self._gevent_handler is not None:
            self._serve_gevent(raw, address)
            return
        sock = self._make_socket(raw, address if self.family != _socket.AF_UNIX else None)
        if proxy is not None:
            advertise(sock, proxy)
        self._connections[sock] = None
        self._open += 1
        schedule(partial(self._start_connection, sock))

    # The PROXY protocol header phase (hub): a HeaderReader stands in the
    # connection set, and counts as open, until the header is read.

    def _read_proxy_header(self, raw: Any, address: Any) -> None:
        config = self._proxy
        assert config is not None
        if not trusted(config, raw, address):
            info = connection_info(raw)
            raw.close()
            self._queue(self.emit, "proxyError", ProxyProtocolUntrustedError(
                f"{address[0]} may not send a PROXY protocol header (not trusted)"), info)
            return
        reader = HeaderReader(raw, address, config, self._proxy_header_read,
                              self._proxy_header_failed)
        self._connections[reader] = None  # type: ignore[index]
        self._open += 1
        reader.start()

    def _proxy_header_read(self, reader: HeaderReader, proxy: ProxyPeer | None) -> None:
        self._open -= 1
        if proxy is not None:
            self._admit(reader.raw, reader.address, proxy)
        self._connection_closed(reader)  # type: ignore[arg-type]

    def _proxy_header_failed(self, reader: HeaderReader, err: BaseException, info: Any) -> None:
        self._open -= 1
        self._queue(self.emit, "proxyError", err, info)
        self._connection_closed(reader)  # type: ignore[arg-type]

    # The two steps of a new connection, overridden by servers of other
    # socket kinds (gnet.tls.Server makes TLSSockets and handshakes first).

    def _make_socket(self, raw: Any, address: Any) -> Socket:
        """Hub: the Socket for an accepted descriptor."""
        return accept(Socket, self, self._owner, raw, address, self._socket_setup,
                      self.pauseOnConnect)

    def _start_connection(self, sock: Socket) -> None:
        """Worker: 'connection', then reading (unless paused)."""
        serve(sock, self.emit)

    def _serve_gevent(self, raw: Any, address: Any) -> None:
        # Hub: gevent's StreamServer would wrap the descriptor in a
        # cooperative socket and spawn the handler; so does this.
        conn = _HandlerConnection(gsocket.socket(raw.family, raw.type, 0, raw.detach()))
        self._connections[conn] = None  # type: ignore[index]
        self._open += 1
        conn.greenlet = gevent.spawn(self._run_gevent_handler, conn, address)

    def _run_gevent_handler(self, conn: _HandlerConnection, address: Any) -> None:
        handler = self._gevent_handler
        try:
            if handler is not None:
                handler(conn.socket, address)
        except Exception as exc:
            logger.error("gnet: error in the handler of %r", self, exc_info=exc)
        finally:
            conn.socket.close()
            self._open -= 1
            self._connection_closed(conn)  # type: ignore[arg-type]

    def _drop(self, raw: Any) -> None:
        # Node 22: accept, then close at once, and tell the application.
        info = None
        if raw.family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                local = address_info(raw.getsockname(), raw.family)
                remote = address_info(raw.getpeername(), raw.family)
                info = {
                    "localAddress": local["address"], "localPort": local["port"],
                    "localFamily": local["family"], "remoteAddress": remote["address"],
                    "remotePort": remote["port"], "remoteFamily": remote["family"],
                }
            except OSError:
                info = None
        raw.close()
        self._queue(self.emit, "drop", info)


class _HandlerConnection:
    """A connection served by a gevent-style handler (see ``Server``)."""

    __slots__ = ("greenlet", "socket")

    def __init__(self, sock: Any) -> None:
        self.socket = sock
        self.greenlet: Any = None

    def destroy(self) -> None:
        # closeAllConnections() / stop(): as gevent's stop() kills handlers.
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
        self.socket.close()


def _is_gevent_handler(listener: Callable[..., Any]) -> bool:
    # gevent's handle(socket, address) takes two arguments; Node's
    # 'connection' listener one.
    try:
        parameters = inspect.signature(listener).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in parameters
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    return len(required) == 2
