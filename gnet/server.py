"""gnet.Server: Node's ``net.Server`` as a gevent ``StreamServer``.

Server owns its accept loop: the listening socket's io watcher calls
``_accept_ready`` in the hub, which accepts up to ``max_accept`` connections
per wakeup and hands each to ``handle()``, right there in the hub: it only
wraps the new descriptor in a :class:`gnet.Socket` and schedules the
'connection' event in a worker greenlet. No greenlet exists per connection.
With the ``proxyProtocol`` option, ``handle()`` first hands the descriptor to
a :class:`gnet.proxy_protocol.HeaderReader` (hub, its own io watcher and
timer), and the Socket is made when the PROXY header has been read.
What an accept() error does is one table (:func:`accept_error_action`).
Of gevent's ``StreamServer`` it keeps the class, its public API and the few
internals listed in the block "What Server takes from gevent" below.

The 'connection' listeners run outside the socket's own event sequence, so
a listener may serve its socket synchronously (``for chunk in sock``, or
``once(sock, 'data')``) while the socket's events keep flowing.
"""

from __future__ import annotations

import _socket
import errno
import inspect
import logging
import os
import stat
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.server import StreamServer
from zope.interface import implementer

from gnet.abort import add_abort_listener
from gnet.addresses import address_info, host_name_error, isIP
from gnet.arguments import listen_backlog, parse_listen
from gnet.blocklist import block_list_option
from gnet.dispatch import abandon, check_thread, schedule
from gnet.errors import (
    InvalidArgTypeError,
    ProxyProtocolUntrustedError,
    ServerAlreadyListenError,
    ServerNotRunningError,
    dns_error,
    system_error,
)
from gnet.events import EventEmitter
from gnet.graceful import track
from gnet.interfaces import IConnectionOwner, IServer
from gnet.loop import Handle, fail_run
from gnet.options import merge_options
from gnet.proxy_protocol import HeaderReader, ProxyPeer, connection_info, proxy_config, trusted
from gnet.socket import Socket, accept, advertise, serve, socket_setup
from gnet.transport import StreamTransport
from gnet.validate import validate_function

__all__ = ("Server", "createServer")

logger = logging.getLogger("gnet")

V = TypeVar("V", bound="Server")

# Set by gnet.cluster in a worker process (set_listen_hook): shares the
# primary's listening socket.
_cluster_listen: Callable[..., bool] | None = None


def tcp_listener(host: str | None, port: int, backlog: int, ipv6_only: bool = False,
                 reuse_port: bool = False) -> Any:
    """A listening TCP socket as Node's listen() makes one (raises OSError).

    ``host`` None listens on every address: dual-stack ``::``, or
    ``0.0.0.0`` on a machine without IPv6. Shared by Server and
    :mod:`gnet.cluster` (the primary binds for its workers). An error names
    the address it was binding in ``filename``.
    """
    if host is None:
        try:
            sock = _socket.socket(_socket.AF_INET6, _socket.SOCK_STREAM)
            bind_host = "::"
        except OSError:  # no IPv6 on this machine
            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            bind_host = "0.0.0.0"
    else:
        family = _socket.AF_INET6 if isIP(host) == 6 else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        bind_host = host
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if sock.family == _socket.AF_INET6:
            # Dual-stack unless asked otherwise: the system default
            # varies (net.ipv6.bindv6only), Node's does not.
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1 if ipv6_only else 0)
        if reuse_port:
            if not hasattr(_socket, "SO_REUSEPORT"):
                raise OSError(errno.ENOTSUP, "SO_REUSEPORT is not supported here")
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEPORT, 1)
        sock.bind((bind_host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        exc.filename = bind_host
        raise
    return sock


def set_listen_hook(hook: Callable[..., bool] | None) -> None:
    """Let ``hook(server, host, port, backlog, opts)`` answer TCP and ``{fd}`` listens first.

    The declared way in for :mod:`gnet.cluster`: in a worker, the hook takes
    the primary's shared socket and returns True; False lets the server bind
    its own.
    """
    global _cluster_listen
    _cluster_listen = hook

# sizeof(sockaddr_un.sun_path) on Linux, terminating NUL included.
_SUN_PATH_MAX = 108

_SERVER_OPTIONS = (
    "allowHalfOpen", "pauseOnConnect", "noDelay", "keepAlive", "keepAliveInitialDelay",
    "highWaterMark", "blockList", "proxyProtocol",
)

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


# --- What Server takes from gevent ------------------------------------------
#
# A gnet.Server is a gevent StreamServer (the contract says so: start(),
# serve_forever(), stop(timeout), started, closed, loop, max_accept,
# stop_timeout keep gevent's meaning). It does not use gevent's accept loop
# (_do_read, do_read, do_handle, _watcher, _timer,
# _start_accepting_if_started): it overrides start_accepting() and
# stop_accepting() and runs its own (see "Accepting" in the class). What it
# still relies on, each a contract that tests/test_accept_policy.py checks
# and the `floor` tox env (gevent 23.9.1) runs against the oldest gevent
# allowed:
#
# 1. StreamServer.__init__(address, spawn=None) sets ``self.loop`` to the
#    hub's loop and ``self._stop_event`` to a set gevent Event, and writes
#    ``self.address`` (the constructor's address). Server routes that write
#    to ``_gevent_address`` with the ``address`` property, so that
#    ``server.address()`` stays Node's method.
# 2. ``started`` is ``not self._stop_event.is_set()``, and serve_forever()
#    calls ``self.start()`` unless started, waits on ``_stop_event``, then
#    calls ``self.stop()``. Server clears the event when it starts listening
#    and sets it in close().
# 3. ``closed`` is ``not hasattr(self, 'socket')``. Server keeps its
#    listening socket in the instance ``__dict__`` as ``socket`` and pops it
#    in close().
# 4. ``max_accept`` (connections per wakeup, 100), ``min_delay``/``max_delay``
#    (which Server redefines) and ``stop_timeout`` are class attributes.
#
# And of CPython: ``_socket.socket._accept()`` returns ``(fd, address)``
# without making a socket object (socket.accept() is built on it), which
# lets handle() build the one socket object gnet needs.


if TYPE_CHECKING:
    _G = TypeVar("_G", bound="_StreamServer")

    class _StreamServer:
        """gevent's ``StreamServer`` as type checkers see it (gevent ships no types).

        Declares what Server keeps of gevent and does not define itself, so
        that a misspelt attribute of a Server is an error rather than Any.
        Server's own ``listen``, ``close``, ``start``, ``stop``, ``address``,
        ``server_host`` and ``server_port`` are declared where it defines them.
        At run time ``_StreamServer`` is gevent's class itself.
        """

        #: The listening socket (gevent's), while listening.
        socket: Any
        family: int
        loop: Any
        #: Seconds ``stop()`` and ``serve_forever()`` wait for connections.
        stop_timeout: float
        #: Connections accepted per wakeup of the listening socket.
        max_accept: int

        @property
        def started(self) -> bool:
            """Whether the server is accepting (between ``start()`` and ``stop()``)."""

        @property
        def closed(self) -> bool:
            """Whether the listening socket is closed."""

        def serve_forever(self, stop_timeout: float | None = None) -> None:
            """``start()``, then block until the server is stopped."""

        def __enter__(self: _G) -> _G:
            """``with server:``; ``stop()`` on the way out."""

        def __exit__(self, *args: object) -> None:
            """Calls ``stop()``."""

        # gevent internals Server relies on (see "What Server takes from gevent").
        _stop_event: Any
else:
    _StreamServer = StreamServer


@implementer(IServer)
class Server(_StreamServer, EventEmitter, Handle):
    """A TCP or Unix stream server with Node's events (Node's ``net.Server``).

    Events: 'listening', 'connection'(socket), 'error'(err), 'close',
    'drop'(info), and gnet's 'proxyError'(err, info) (a connection closed
    for its PROXY protocol header; ``info`` as for 'drop'). Also a gevent
    ``StreamServer``: ``start()`` listens on the address given to the
    constructor, ``serve_forever()`` and
    ``stop(timeout)`` keep gevent's meaning (timeout in seconds).

    Args:
        options: Node's server options (a dict) or keyword arguments:
            ``allowHalfOpen``, ``pauseOnConnect``, ``noDelay``,
            ``keepAlive``, ``keepAliveInitialDelay`` (ms), ``highWaterMark``,
            ``blockList`` (a :class:`~gnet.BlockList`: a peer it blocks is closed
            as soon as accepted, with no 'connection' and no 'drop', as Node 22.13;
            behind a PROXY header it applies to the advertised client),
            gnet's ``proxyProtocol`` (``True`` or a dict: ``trusted``, a
            BlockList or list of addresses/subnets allowed to send the
            header, loopback by default; ``timeout`` ms, 3000; ``versions``,
            ``[1, 2]``): every connection must start with a PROXY protocol
            v1/v2 header, read before the Socket and 'connection' (see
            :mod:`gnet.proxy_protocol`).
            gevent style, an address tuple ``(host, port)`` is accepted here
            too and used by ``start()``.
        connectionListener: added as a 'connection' listener. A gevent
            handler instead (two required parameters, ``handle(socket,
            address)``) is served gevent's way: each connection gets a
            greenlet running the handler with a cooperative gevent socket,
            closed when the handler returns, and no 'connection' event.
            The migration path for a gevent ``StreamServer`` app.
    """

    # Node's options and properties, set per instance in __init__; declared
    # here so each gets its snake_case twin (max_connections, ...).
    maxConnections: int | None = None
    allowHalfOpen = False
    pauseOnConnect = False
    noDelay = False
    keepAlive = False
    keepAliveInitialDelay: float = 0
    highWaterMark: int | None = None

    # Tunables, as gevent documents its own.
    #: Accept-error backoff: first and longest delay, in seconds.
    min_delay = 0.01
    max_delay = 1.0

    def __init__(
        self,
        options: Any = None,
        connectionListener: Callable[[Socket], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        address: tuple[str, int] | None = None
        if callable(options) and connectionListener is None:
            options, connectionListener = None, options
        if isinstance(options, tuple):
            address, options = options, None
        opts = merge_options(options, kwargs, _SERVER_OPTIONS)
        EventEmitter.__init__(self)
        self._init_handle()
        StreamServer.__init__(self, address or ("", 0), spawn=None)
        self._start_address = address
        self.allowHalfOpen = bool(opts.get("allowHalfOpen", False))
        self.pauseOnConnect = bool(opts.get("pauseOnConnect", False))
        self.noDelay = bool(opts.get("noDelay", False))
        self.keepAlive = bool(opts.get("keepAlive", False))
        self.keepAliveInitialDelay = opts.get("keepAliveInitialDelay", 0)
        self.highWaterMark = opts.get("highWaterMark")
        # Peers it covers are closed as soon as they are accepted.
        self._block_list = block_list_option(opts.get("blockList"))
        # PROXY protocol (gnet.proxy_protocol): each connection's header is
        # read before its Socket is made.
        self._proxy = proxy_config(opts.get("proxyProtocol"))
        # What every accepted Socket is set up with, checked once here.
        self._socket_setup = socket_setup({
            "allowHalfOpen": self.allowHalfOpen,
            "highWaterMark": self.highWaterMark,
            "noDelay": self.noDelay,
            "keepAlive": self.keepAlive,
            "keepAliveInitialDelay": self.keepAliveInitialDelay,
        })
        #: Refuse connections beyond this many open ones (Node 22: 0 refuses all).
        self.maxConnections = None
        # Accepted sockets whose 'close' has not been emitted yet; of them,
        # _open are not destroyed (what Node counts: getConnections(),
        # maxConnections). A dict with no values, not a set: a set of 5,000
        # holds 32,768 slots of 16 bytes (512 KiB), a dict ~150 KiB.
        self._connections: dict[Socket, None] = {}
        self._open = 0
        self._owner = _ConnectionOwner(self)
        self._listening = False
        self._unix_path: str | None = None
        self._pending: Any = None  # the greenlet resolving a host name for listen()
        self._drained: Event | None = None
        self._accept_delay = self.min_delay
        # A gevent-style handle(socket, address), served gevent's way.
        self._gevent_handler: Callable[..., Any] | None = None
        if connectionListener is not None:
            if _is_gevent_handler(connectionListener):
                self._gevent_handler = connectionListener
            else:
                self.on("connection", connectionListener)

    # ------------------------------------------------------------------
    # Events are emitted in worker greenlets, FIFO.

    def _queue(self, fn: Callable[..., Any], *args: Any) -> None:
        schedule(partial(self._emit_safely, fn, args))

    def _emit_safely(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # A server outlives its listeners' mistakes, and an 'error' with
            # no listener: report, keep serving.
            logger.error("gnet: error in a listener of %r", self, exc_info=exc)

    # ------------------------------------------------------------------
    # listen()

    def listen(self: V, *args: Any, **kwargs: Any) -> V:
        """Start listening (Node's ``server.listen``); returns self.

        Overloads: ``listen([port[, host[, backlog]]][, callback])``,
        ``listen(path[, backlog][, callback])``, ``listen(options[,
        callback])`` with ``port``, ``host``, ``path``, ``backlog``,
        ``ipv6Only``, ``reusePort`` (SO_REUSEPORT: independent sockets share
        the port), ``exclusive`` (in a :mod:`gnet.cluster` worker: bind its
        own socket rather than share the primary's),
        ``readableAll``/``writableAll`` (Unix socket mode),
        gnet's ``removeStale`` (remove a Unix socket file nothing
        answers on), and ``signal`` (an :class:`~gnet.AbortSignal`: its abort
        closes the server as ``close()`` does; an already-aborted one closes
        it before 'listening'). Keyword arguments work as the options.
        ``{'fd': n}`` listens on an existing stream socket's descriptor
        (TCP or Unix, listening or only bound, inherited from a parent or
        systemd: see :func:`gnet.systemdFds`); port, host and path are
        then not looked at, and ``close()`` closes the descriptor. A
        descriptor that is no stream socket gives 'error' (EINVAL, or
        ENOTSOCK for a pipe), as in Node.

        With no host, binds ``::`` dual-stack where IPv6 exists, else
        ``0.0.0.0``. ``address()`` works as soon as this returns unless host
        is a name to resolve. 'listening' (and ``callback``) follow later;
        a bind failure arrives as 'error' (EADDRINUSE, EACCES...).

        Raises:
            ServerAlreadyListenError: already listening.
            SocketBadPortError / InvalidArgTypeError / InvalidArgValueError:
                bad arguments.
        """
        check_thread("listen")
        target = parse_listen(args, kwargs)
        if self._listening or self._pending is not None:
            raise ServerAlreadyListenError()
        if target.callback is not None:
            self.once("listening", target.callback)
        if target.signal is not None:
            self._watch_signal(target.signal)
        backlog = listen_backlog(target.backlog)
        self._set_active(True)
        self._listening = False
        opts = target.options
        if opts.get("fd") is not None:
            # In a cluster worker, a descriptor systemd passed to the primary
            # is the primary's to share (gnet.cluster, gnet.systemd).
            if _cluster_listen is None or not _cluster_listen(self, None, 0, backlog, opts):
                self._listen_fd(opts["fd"], backlog)
            return self
        if target.path is not None:
            self._listen_unix(target.path, backlog, opts)
            return self
        host, port = target.host, target.port
        if host is None or isIP(host):
            self._listen_tcp(host, port, backlog, opts)
            return self
        # A name no resolver can take (an empty or 64-character label, a
        # lone surrogate) fails here, as the lookup would, without a
        # traceback from gevent's resolver thread.
        err = host_name_error(host)
        if err is not None:
            self._listen_failed(err)
        else:
            self._pending = gevent.spawn(self._resolve_and_listen, host, port, backlog, opts)
        return self

    def _watch_signal(self, signal: Any) -> None:
        # Node's addServerAbortSignalOption: an abort is a close(). An
        # already-aborted signal closes on the next turn, ahead of the queued
        # 'listening', which therefore never comes (as in Node).
        if signal.aborted:
            self._queue(self.close)
        else:
            self.once("close", add_abort_listener(signal, self.close))

    def _listen_tcp(self, host: str | None, port: int, backlog: int,
                    opts: dict[str, Any]) -> None:
        # A cluster worker listens on its primary's socket (gnet.cluster).
        if _cluster_listen is not None and _cluster_listen(self, host, port, backlog, opts):
            return
        try:
            sock = tcp_listener(host, port, backlog, bool(opts.get("ipv6Only")),
                                bool(opts.get("reusePort")))
        except OSError as exc:
            bind_host = exc.filename if isinstance(exc.filename, str) else host
            self._listen_failed(system_error(exc, "listen", bind_host, port))
            return
        self._started(sock)

    def _listen_fd(self, fd: int, backlog: int) -> None:
        # Node's listen({fd}): take over a stream socket someone else made
        # (an inherited one: systemd, a parent process, gnet.systemdFds())
        # and listen on it; a bound socket starts listening, an unbound TCP
        # one gets an ephemeral port, as listen(2) does. The server owns the
        # descriptor from then on: close() closes it (as Node) and a Unix
        # socket's file is left in place (gnet did not create it).
        try:
            sock = _socket.socket(fileno=fd)
        except OSError as exc:
            self._listen_failed(system_error(_fd_error(fd, exc), "listen"))
            return
        if sock.type != _socket.SOCK_STREAM or sock.family not in (
                _socket.AF_INET, _socket.AF_INET6, _socket.AF_UNIX):
            sock.detach()  # not ours to close: the caller's descriptor stays open
            self._listen_failed(system_error(OSError(errno.EINVAL, os.strerror(errno.EINVAL)),
                                             "listen"))
            return
        try:
            sock.listen(backlog)
        except OSError as exc:
            sock.detach()
            self._listen_failed(system_error(exc, "listen"))
            return
        self._started(sock)

    def _resolve_and_listen(self, host: str, port: int, backlog: int,
                            opts: dict[str, Any]) -> None:
        from gevent import socket as gsocket

        try:
            infos = gsocket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
        except Exception as exc:
            # Whatever the resolver raises ends in 'error': a listen() that
            # never answers would keep run() waiting forever.
            self._pending = None
            if isinstance(exc, UnicodeError):
                exc = _socket.gaierror(_socket.EAI_NONAME, str(exc))
            err = dns_error(exc, host) if isinstance(exc, _socket.gaierror) else exc
            self._listen_failed(err)
            return
        self._pending = None
        self._listen_tcp(infos[0][4][0], port, backlog, opts)

    def _listen_unix(self, path: str, backlog: int, opts: dict[str, Any]) -> None:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            if len(os.fsencode(path)) >= _SUN_PATH_MAX:
                # Node 22+ (libuv) refuses an over-long path with EINVAL.
                raise OSError(errno.EINVAL, "path too long for a Unix socket")
            try:
                sock.bind(path)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or path.startswith("\0"):
                    raise
                answer = _unix_probe(path)
                if answer not in _STALE_ERRNOS:
                    raise _with_reason(exc, _PROBE_REASONS.get(
                        answer, f"cannot tell whether a server answers on it "
                        f"({os.strerror(answer)})")) from None
                if not opts.get("removeStale") or not stat.S_ISSOCK(os.stat(path).st_mode):
                    raise _with_reason(
                        exc, "nothing answers on it: a stale socket file left by a process "
                        "that exited; remove it, or listen with removeStale=True") from None
                os.unlink(path)
                sock.bind(path)
            if opts.get("readableAll") or opts.get("writableAll"):
                mode = os.stat(path).st_mode
                if opts.get("readableAll"):
                    mode |= stat.S_IRGRP | stat.S_IROTH
                if opts.get("writableAll"):
                    mode |= stat.S_IWGRP | stat.S_IWOTH
                os.chmod(path, mode)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            err = system_error(exc, "listen", path)
            reason = getattr(exc, "gnet_reason", None)
            if reason:
                err.strerror = f"{err.strerror} ({reason})"
                err.message = err.strerror  # type: ignore[attr-defined]
            self._listen_failed(err)
            return
        if not path.startswith("\0"):
            self._unix_path = path
        self._started(sock)

    def _started(self, sock: Any) -> None:
        track(self)  # for a graceful stop (gnet.graceful)
        sock.setblocking(False)
        self.socket = sock
        self.family = sock.family
        self.address = sock.getsockname()
        self._listening = True
        self._accept_delay = self.min_delay
        self._stop_event.clear()
        self.start_accepting()
        self._queue(self._emit_listening)

    def _report_error(self, err: BaseException) -> None:
        # Node: a server 'error' nobody listens for crashes the process. Here
        # it ends gnet.run() with that error (status 1 for a script);
        # sockets keep their contained behaviour.
        if self.listenerCount("error"):
            self.emit("error", err)
        else:
            fail_run(err)

    def _emit_listening(self) -> None:
        # A close() right after listen() cancels 'listening', as in Node.
        if self._listening:
            self.emit("listening")

    def _listen_failed(self, err: BaseException) -> None:
        self._set_active(False)
        self._queue(self._report_error, err)

    # ------------------------------------------------------------------
    # Accepting (hub). Server's own loop; gevent's _do_read is not used.

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

    def _connection_closed(self, sock: Socket) -> None:
        if sock not in self._connections:
            return  # given up on by stop(): the server's 'close' came already
        del self._connections[sock]
        if not self._connections:
            drained = self._drained
            if drained is not None:
                drained.set()
            if not self._listening and self._pending is None and self._closed_called:
                self._queue(self._emit_close)

    # ------------------------------------------------------------------
    # Closing

    _closed_called = False

    def close(self: V, callback: Any = None) -> V:
        """Stop accepting; 'close' follows once every connection has closed.

        Node's ``server.close([callback])``: existing connections stay open
        (see ``closeAllConnections()``). ``callback`` runs on 'close', with
        ``ServerNotRunningError`` as its one argument when the server was not
        listening (so give it an optional parameter). A callback that is not
        callable is ignored, as in Node. Returns self.
        """
        running = self._listening or self._pending is not None
        if callable(callback):
            if running:
                self.once("close", callback)
            else:
                self.once("close", lambda: callback(ServerNotRunningError()))
        self._closed_called = True
        if self._pending is not None:
            self._pending.kill(block=False)
            self._pending = None
        if self._listening:
            self._listening = False
            self._stop_event.set()
            self.stop_accepting()
            sock = self.__dict__.pop("socket", None)
            if sock is not None:
                sock.close()
            if self._unix_path is not None:
                try:
                    os.unlink(self._unix_path)
                except OSError:
                    pass
                self._unix_path = None
        self._set_active(False)
        if not self._connections:
            self._queue(self._emit_close)
        return self

    def _emit_close(self) -> None:
        self.emit("close")

    def closeAllConnections(self) -> None:
        """Destroy every open connection (gnet extension; Node has it on http.Server only).

        With ``close()``, the way to stop a server whose clients never hang up.
        """
        for sock in list(self._connections):
            sock.destroy()

    def stop(self, timeout: float | None = None) -> None:
        """gevent's stop: ``close()``, wait up to ``timeout`` **seconds**, then destroy the rest.

        ``timeout`` defaults to ``stop_timeout`` (1 s). Blocks the calling
        greenlet while it waits.

        A connection whose listener is still running when the timeout has
        passed (one that blocks forever, say) is destroyed and given up on:
        the server's 'close' and ``gnet.run()`` no longer wait for it, so
        'close' comes even though that listener may never return. The
        listener's greenlet is left as it is (nothing can safely interrupt
        it); if it returns, that socket's own 'close' follows then, after
        the server's.
        """
        if self._listening or self._pending is not None:
            self.close()
        if timeout is None:
            timeout = self.stop_timeout
        if self._connections:
            self._drained = Event()
            self._drained.wait(timeout)
            self._drained = None
        self.closeAllConnections()
        # Destroyed sockets whose 'close' waits behind a listener that is
        # still running (in another worker greenlet) would hold the server's
        # 'close' and run() for as long as it runs: stop waiting for them.
        stuck = abandon(self._connections) if self._connections else ()
        for sock in stuck:
            sock.unref()
            self._connection_closed(sock)

    def start(self) -> None:
        """gevent's start: listen on the address given to the constructor (port 0 if none)."""
        if self._listening:
            return
        host, port = self._start_address or ("", 0)
        self.listen({"port": port, "host": host or None})

    def getConnections(self, callback: Callable[..., Any] | None = None) -> Any:
        """How many connections are open.

        Node's ``server.getConnections(callback)``: ``callback(err, count)``
        runs later and self is returned. Without a callback (gnet), returns
        the count.
        """
        if callback is None:
            return self._open
        validate_function(callback, "callback")
        self._queue(callback, None, self._open)
        return self

    def _node_address(self) -> Any:
        """``{'port', 'family', 'address'}``, the path of a Unix server, or None.

        None before listening and after ``close()``, as Node's null.
        """
        if not self._listening:
            return None
        sock = self.__dict__.get("socket")
        if sock is None:
            return None
        return address_info(sock.getsockname(), sock.family)

    # gevent keeps its address tuple in ``self.address``; Node's API has an
    # ``address()`` method. Reading gives Node's method; gevent's writes land
    # in ``_gevent_address``, which server_host/server_port read.
    address = property(
        lambda self: self._node_address,
        lambda self, value: setattr(self, "_gevent_address", value),
        doc="Node's ``server.address()``; gevent's address is server_host/server_port.",
    )

    def _gevent_view(self) -> Any:
        if not self._listening and self._start_address is None:
            return None
        value = self.__dict__.get("_gevent_address")
        return value if isinstance(value, tuple) else None

    @property
    def server_host(self) -> Any:
        """The host the server is bound to (a str), or None; gevent's view."""
        value = self._gevent_view()
        return value[0] if value else None

    @property
    def server_port(self) -> Any:
        """The port the server is bound to (an int), or None; gevent's view."""
        value = self._gevent_view()
        return value[1] if value else None

    @property
    def listening(self) -> bool:
        """Whether the server is accepting connections."""
        return self._listening

    def __repr__(self) -> str:
        where = self._node_address() if self._listening else "not listening"
        return f"<gnet.Server {where}>"

    __str__ = __repr__

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        max_connections = maxConnections
        allow_half_open = allowHalfOpen
        pause_on_connect = pauseOnConnect
        no_delay = noDelay
        keep_alive = keepAlive
        keep_alive_initial_delay = keepAliveInitialDelay
        high_water_mark = highWaterMark
        close_all_connections = closeAllConnections
        get_connections = getConnections
    # --- end of PEP 8 twins ---


# What a connect() to a Unix socket file says when no process listens on it
# any more. Anything else (success, EAGAIN for a live server whose accept
# queue is full, EACCES...) means the file may belong to a live server and
# must not be removed.
_STALE_ERRNOS = frozenset((errno.ECONNREFUSED, errno.ENOENT))
_PROBE_REASONS = {
    0: "a server answers on it",
    errno.EAGAIN: "a server answers on it (its accept queue is full)",
}


def _unix_probe(path: str) -> int:
    # What connect() to the path says (0: accepted). Non-blocking, so a live
    # server's full backlog answers EAGAIN at once instead of stalling the loop.
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.setblocking(False)
        return probe.connect_ex(path)
    finally:
        probe.close()


def _fd_error(fd: int, exc: OSError) -> OSError:
    # What Node (libuv) reports for a descriptor that is no socket:
    # ENOTSOCK for a pipe or FIFO, EINVAL for a file or a closed descriptor.
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            return OSError(errno.ENOTSOCK, os.strerror(errno.ENOTSOCK))
    except OSError:
        pass
    return OSError(errno.EINVAL, os.strerror(errno.EINVAL))


def _with_reason(exc: OSError, reason: str) -> OSError:
    err = OSError(exc.errno, exc.strerror)
    err.gnet_reason = reason  # type: ignore[attr-defined]
    return err


def createServer(
    options: Any = None,
    connectionListener: Callable[[Socket], Any] | None = None,
    **kwargs: Any,
) -> Server:
    """Create a :class:`Server` (Node's ``net.createServer``).

    ``createServer([options][, connectionListener])``; options as a dict or
    keyword arguments.

    Raises:
        InvalidArgTypeError: options that are neither a dict nor a function.
    """
    if callable(options) and connectionListener is None:
        options, connectionListener = None, options
    if options is not None and not isinstance(options, dict):
        raise InvalidArgTypeError("options", "dict", options)
    if connectionListener is not None:
        validate_function(connectionListener, "connectionListener")
    return Server(options, connectionListener, **kwargs)


@implementer(IConnectionOwner)
class _ConnectionOwner:
    # What a server's Sockets tell it (the IConnectionOwner hooks).
    __slots__ = ("server",)

    def __init__(self, server: Server) -> None:
        self.server = server

    def connection_destroyed(self, socket: Any) -> None:
        # Node stops counting a socket at destroy, before its 'close'
        # listeners run.
        self.server._open -= 1

    def connection_closed(self, socket: Any) -> None:
        self.server._connection_closed(socket)


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
