"""How a gnet Server comes to listen: listen()'s overloads, the bind, 'listening'.

Theory of operation
-------------------
``listen()`` reads Node's overloads (:func:`gnet.arguments.parse_listen`)
and takes one of four paths, each of which ends in ``_started`` (the
listening socket is the server's, accepting starts) or in ``_listen_failed``
(the error is queued for 'error'):

* ``{fd}``: take over a stream socket someone else made (systemd, a parent
  process), listening or only bound;
* a path: bind a Unix socket. A file in the way is probed with a
  non-blocking connect(): one a live server answers on is left alone, a
  stale one is reported, or removed with ``removeStale``;
* an IP address, or no host: bind TCP at once (:func:`tcp_listener`), so
  that ``address()`` works as soon as ``listen()`` returns;
* a host name: a greenlet of its own (``_pending``) resolves it, then binds
  as above, since a lookup may wait on the network.

In a :mod:`gnet.cluster` worker, the hook set by :func:`set_listen_hook`
answers TCP and ``{fd}`` listens first, with the primary's shared socket.

Where code runs: ``listen()`` and the bind in the caller's greenlet, which
they never block; a host name's lookup in a greenlet of its own, which binds
when the answer comes; 'listening' (and the callback) and a failed listen's
'error' in a worker greenlet, queued as every event is, never inside
``listen()`` (a ``close()`` before then cancels 'listening', as in Node).
Nothing here runs in the hub: ``_started`` starts the listening socket's io
watcher, whose callback is :mod:`gnet.accepting`'s. A ``signal`` given to
``listen()`` closes the server on abort, as ``close()`` does.

:class:`Listening` is a part of :class:`gnet.Server` (a mixin with no state
of its own: the server's instance holds it); the declarations under
``TYPE_CHECKING`` name what it needs from the server.
"""

from __future__ import annotations

import _socket
import errno
import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import gevent

from gnet.abort import add_abort_listener
from gnet.addresses import host_name_error, isIP
from gnet.arguments import listen_backlog, parse_listen
from gnet.dispatch import check_thread
from gnet.errors import ServerAlreadyListenError, dns_error, system_error
from gnet.graceful import track

__all__ = ("Listening", "set_listen_hook", "tcp_listener")

V = TypeVar("V", bound="Listening")

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


class Listening:
    """``listen()``, gevent's ``start()``, and what follows them up to 'listening'."""

    if not TYPE_CHECKING:  # the server's instance holds the state
        __slots__ = ()

    if TYPE_CHECKING:
        # Set by Server.__init__.
        _listening: bool
        _pending: Any
        _unix_path: str | None
        _start_address: tuple[str, int] | None
        _accept_delay: float
        min_delay: float
        # gevent's (see "What Server takes from gevent" in gnet.server).
        socket: Any
        family: int
        address: Any
        _stop_event: Any

        # Server, EventEmitter, Handle and Accepting methods it calls.
        def _queue(self, fn: Callable[..., Any], *args: Any) -> None: ...
        def _report_error(self, err: BaseException) -> None: ...
        def _set_active(self, active: bool) -> None: ...
        def emit(self, name: Any, *args: Any) -> bool: ...
        def once(self, name: Any, listener: Any = None) -> Any: ...
        def close(self, callback: Any = None) -> Any: ...
        def start_accepting(self) -> None: ...

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
        # For a graceful stop (gnet.graceful), which takes the Server this is part of.
        track(self)  # type: ignore[arg-type]
        sock.setblocking(False)
        self.socket = sock
        self.family = sock.family
        self.address = sock.getsockname()
        self._listening = True
        self._accept_delay = self.min_delay
        self._stop_event.clear()
        self.start_accepting()
        self._queue(self._emit_listening)

    def _emit_listening(self) -> None:
        # A close() right after listen() cancels 'listening', as in Node.
        if self._listening:
            self.emit("listening")

    def _listen_failed(self, err: BaseException) -> None:
        self._set_active(False)
        self._queue(self._report_error, err)

    def start(self) -> None:
        """gevent's start: listen on the address given to the constructor (port 0 if none)."""
        if self._listening:
            return
        host, port = self._start_address or ("", 0)
        self.listen({"port": port, "host": host or None})


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
