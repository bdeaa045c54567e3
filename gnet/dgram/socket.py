"""The UDP socket itself: construction, bind, lookup, events, address, close.

:class:`Socket` is Node's ``dgram.Socket``: this module holds its state
(every field is one of its ``__slots__``), the lazily created descriptor,
``bind()`` and the name lookup, and ``close()``; the parts it is assembled
from hold the rest, one concept each (see :mod:`gnet.dgram.parts`):
receiving and the event queue (``receive.py``), sending (``send.py``),
connected mode (``connected.py``), multicast (``multicast.py``) and the
socket options (``options.py``). The theory of operation is in
:mod:`gnet.dgram`.
"""

from __future__ import annotations

import _socket
import errno
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
from gevent import socket as gsocket
from zope.interface import implementer

from gnet.abort import add_abort_listener, validate_abort_signal
from gnet.addresses import address_info, isIP, validate_port
from gnet.blocklist import block_list_option
from gnet.dgram.connected import ConnectedMode
from gnet.dgram.multicast import Multicast
from gnet.dgram.options import DatagramOptions
from gnet.dgram.parts import (
    _INT_MAX,
    _MISSING,
    _UINT32_MAX,
    BINDING,
    BOUND,
    DISCONNECTED,
    UNBOUND,
)
from gnet.dgram.receive import RECV_SIZE, ReceivePath
from gnet.dgram.send import SendPath
from gnet.dispatch import get_loop
from gnet.errors import (
    InvalidArgTypeError,
    InvalidFdTypeError,
    SocketAlreadyBoundError,
    SocketBadTypeError,
    SocketBufferSizeError,
    SocketDgramNotRunningError,
    dns_error,
    system_error,
)
from gnet.events import EventEmitter
from gnet.interfaces import IDatagramSocket
from gnet.loop import Handle
from gnet.options import merge_options
from gnet.validate import validate_function, validate_int

__all__ = ("Socket",)

S = TypeVar("S", bound="Socket")

_OPTIONS = (
    "type", "reuseAddr", "reusePort", "ipv6Only", "recvBufferSize", "sendBufferSize",
    "lookup", "signal", "receiveBlockList", "sendBlockList",
)
_BIND_OPTIONS = ("port", "address", "exclusive", "fd")

# None where the platform lacks it (reusePort is then ignored).
_SO_REUSEPORT = getattr(_socket, "SO_REUSEPORT", None)


@implementer(IDatagramSocket)
class Socket(ReceivePath, SendPath, ConnectedMode, Multicast, DatagramOptions, EventEmitter,
             Handle):
    """A UDP socket with Node's ``dgram.Socket`` API and events.

    Node: ``dgram.createSocket(type | options[, onMessage])``. Events:
    'listening', 'message'(msg, rinfo), 'connect', 'error'(err), 'close'.
    ``rinfo`` is ``{'address': str, 'family': 'IPv4'|'IPv6', 'port': int,
    'size': int}``; ``msg`` is ``bytes``.

    Args:
        type: ``'udp4'`` or ``'udp6'``, or Node's options dict:
            ``type``, ``reuseAddr`` (False), ``reusePort`` (False),
            ``ipv6Only`` (False), ``recvBufferSize``, ``sendBufferSize``
            (bytes, applied at bind), ``lookup`` (``lookup(host, family,
            callback(err, address, family))``, Node's ``dns.lookup``
            signature), ``signal`` (an :class:`~gnet.AbortSignal` whose abort
            closes the socket), ``receiveBlockList`` (a :class:`~gnet.BlockList`:
            datagrams from the senders it covers are dropped unseen) and
            ``sendBlockList`` (a send to, or connect() with, an address it
            covers fails with ``ERR_IP_BLOCKED``: a send's callback gets it,
            as in Node 22.13). Keyword arguments with the same names work too.
        listener: added as a 'message' listener.

    Raises:
        SocketBadTypeError: ``type`` is neither 'udp4' nor 'udp6'.
        InvalidArgTypeError: ``signal`` is not an AbortSignal, or a block
            list option is not a BlockList.
    """

    __slots__ = (
        "_active", "_refed", "type", "_af", "_sock", "_rw", "_ww",
        "_bind_state", "_connect_state", "_closed", "_pending",
        "_eq", "_queued", "_in_flight", "_in_flight_bytes", "_throttled",
        "_sq", "_sq_bytes", "_reuse_addr", "_reuse_port", "_ipv6_only",
        "_receive_block_list", "_send_block_list",
        "_rbs", "_sbs", "_lookup", "_loopback", "_buf", "_view", "_family_name", "_kind",
    )

    def __init__(self, type: Any = _MISSING, listener: Callable[..., Any] | None = None,
                 **kwargs: Any) -> None:
        options: dict[str, Any] | None = None
        if kwargs:
            options = merge_options(type if isinstance(type, dict) else None, kwargs, _OPTIONS)
            if type is not _MISSING and not isinstance(type, dict):
                options.setdefault("type", type)
        elif isinstance(type, dict):
            options = merge_options(type, {}, _OPTIONS)
        lookup = None
        rbs = sbs = None
        signal = None
        receive_block_list = send_block_list = None
        if options is not None:
            type = options.get("type")
            lookup = options.get("lookup")
            for key in ("recvBufferSize", "sendBufferSize"):
                if options.get(key):
                    validate_int(options[key], f"options.{key}", 0, _UINT32_MAX)
            rbs = options.get("recvBufferSize") or None
            sbs = options.get("sendBufferSize") or None
            signal = options.get("signal")
            if signal is not None:
                validate_abort_signal(signal, "options.signal")
            receive_block_list = block_list_option(options.get("receiveBlockList"),
                                                   "options.receiveBlockList")
            send_block_list = block_list_option(options.get("sendBlockList"),
                                                "options.sendBlockList")
        if type == "udp4":
            af = _socket.AF_INET
        elif type == "udp6":
            af = _socket.AF_INET6
        else:
            raise SocketBadTypeError()
        if lookup is not None:
            validate_function(lookup, "lookup")
        EventEmitter.__init__(self)
        self._init_handle()
        self.type: str = type
        self._af = af
        self._family_name = "IPv6" if af == _socket.AF_INET6 else "IPv4"
        self._kind = 6 if af == _socket.AF_INET6 else 4
        self._loopback = "::1" if af == _socket.AF_INET6 else "127.0.0.1"
        self._sock: Any = None
        self._rw: Any = None
        self._ww: Any = None
        self._bind_state = UNBOUND
        self._connect_state = DISCONNECTED
        self._closed = False
        # Node's state.queue: work waiting for 'listening' (None when none).
        self._pending: list[Callable[[], Any]] | None = None
        self._eq: deque[tuple[Any, Any]] = deque()
        self._queued = False
        self._in_flight = 0
        self._in_flight_bytes = 0
        self._throttled = False
        # Datagrams the kernel had no room for yet: [chunks, ip, port, address, callback, size].
        self._sq: deque[list[Any]] = deque()
        self._sq_bytes = 0
        opts = options or {}
        self._reuse_addr = bool(opts.get("reuseAddr"))
        self._reuse_port = bool(opts.get("reusePort"))
        self._ipv6_only = bool(opts.get("ipv6Only"))
        self._rbs: int | None = int(rbs) if rbs else None
        self._sbs: int | None = int(sbs) if sbs else None
        self._lookup: Callable[..., Any] | None = lookup
        # Node 22.13: datagrams from receive-blocked senders are dropped
        # unseen; sends (and connect) to send-blocked addresses fail.
        self._receive_block_list = receive_block_list
        self._send_block_list = send_block_list
        self._buf: bytearray | None = None
        self._view: memoryview | None = None
        if listener is not None and callable(listener):
            self.on("message", listener)
        if signal is not None:
            self._watch_signal(signal)

    def _watch_signal(self, signal: Any) -> None:
        # Node: an abort closes the socket (unless closed already); an
        # already-aborted signal closes it at once, 'close' coming soon after.
        def on_abort() -> None:
            if not self._closed:
                self.close()

        if signal.aborted:
            on_abort()
        else:
            self.once("close", add_abort_listener(signal, on_abort))

    def __repr__(self) -> str:
        state = ("closed" if self._closed else
                 ("unbound", "binding", "bound")[self._bind_state])
        return f"<gnet dgram.Socket {self.type} {state}>"

    def _emit(self, name: str, *args: Any) -> None:
        if not self._closed or name == "close":
            self.emit(name, *args)

    def _error_event(self, err: BaseException) -> None:
        if not self._closed:
            self.emit("error", err)

    def _health_check(self) -> None:
        if self._closed:
            raise SocketDgramNotRunningError()

    # ------------------------------------------------------------------
    # The descriptor

    def _need_fd(self, syscall: str) -> Any:
        self._health_check()
        sock = self._sock
        if sock is None:
            raise system_error(errno.EBADF, syscall, describe=False)
        return sock

    def _open(self) -> Any:
        # Create the OS socket (not yet bound): libuv's deferred creation.
        sock = self._sock
        if sock is None:
            sock = _socket.socket(self._af, _socket.SOCK_DGRAM)
            sock.setblocking(False)
            self._sock = sock
        return sock

    def _wire(self) -> None:
        loop = get_loop()
        fd = self._sock.fileno()
        self._rw = loop.io(fd, 1)
        self._ww = loop.io(fd, 2)
        self._buf = bytearray(RECV_SIZE)
        self._view = memoryview(self._buf)

    def _setopt(self, syscall: str, level: int, option: int, value: Any) -> None:
        sock = self._need_fd(syscall)
        try:
            sock.setsockopt(level, option, value)
        except OSError as exc:
            raise system_error(exc, syscall, describe=False) from None

    def _v6(self) -> bool:
        return bool(self._af == _socket.AF_INET6)

    # ------------------------------------------------------------------
    # Binding

    def bind(self: S, *args: Any, **kwargs: Any) -> S:
        """Bind the socket; 'listening' follows, then ``callback`` (Node's ``bind``).

        Overloads: ``bind([port][, address][, callback])``,
        ``bind(options[, callback])`` with ``port``, ``address``,
        ``exclusive``, ``fd`` (an existing UDP descriptor), or the same as
        keyword arguments. No address means every interface (``'0.0.0.0'``,
        or ``'::'`` for udp6); a host name is resolved through ``lookup``.
        Failures ('EADDRINUSE', ...) come as 'error' with ``syscall='bind'``.

        Returns:
            The socket, for chaining.

        Raises:
            SocketAlreadyBoundError: bound or binding already.
            SocketDgramNotRunningError: the socket was closed.
        """
        self._health_check()
        if self._bind_state != UNBOUND:
            raise SocketAlreadyBoundError()
        callback = args[-1] if args and callable(args[-1]) else None
        if kwargs:
            if "callback" in kwargs:
                callback = kwargs.pop("callback")
                validate_function(callback, "callback")
            first: Any = merge_options(args[0] if args and isinstance(args[0], dict) else None,
                                       kwargs, _BIND_OPTIONS)
            args = (first,) + ((callback,) if callback is not None else ())
        port: Any = args[0] if args else None
        address: Any = args[1] if len(args) > 1 else None
        fd = None
        if isinstance(port, dict):
            options = merge_options(port, {}, _BIND_OPTIONS)
            fd = options.get("fd")
            if not (isinstance(fd, int) and fd.__class__ is not bool and 0 < fd <= _INT_MAX):
                fd = None
            address = options.get("address") or ""
            port = options.get("port")
        elif callable(address):
            address = ""
        if fd is None:
            port = 0 if port is None or callable(port) else validate_port(port, "port")
            if not address:
                address = "0.0.0.0" if self._af == _socket.AF_INET else "::"
            elif not isinstance(address, str):
                raise InvalidArgTypeError("hostname", "str", address)
        if fd is not None:
            raw = self._adopt_fd(fd)
            self._bind_state = BINDING
            self._listen_once(callback)
            self._set_active(True)
            self._sock = raw
            self._queue(self._start_listening)
            return self
        self._bind_state = BINDING
        self._listen_once(callback)
        self._set_active(True)
        self._resolve(address, lambda err, ip=None, family=None:
                      self._queue(self._do_bind, err, ip, port))
        return self

    def _adopt_fd(self, fd: int) -> Any:
        try:
            raw = _socket.socket(fileno=fd)
        except OSError as exc:
            if exc.errno == errno.ENOTSOCK:
                raise InvalidFdTypeError("FILE") from None
            raise system_error(exc, "open", describe=False) from None
        if raw.type != _socket.SOCK_DGRAM or raw.family not in (_socket.AF_INET,
                                                                 _socket.AF_INET6):
            # libuv's uv_guess_handle: only an IP datagram socket is UDP.
            kind = raw.type
            raw.detach()
            raise InvalidFdTypeError("TCP" if kind == _socket.SOCK_STREAM else "UNKNOWN")
        raw.setblocking(False)
        self._af = raw.family
        self._family_name = "IPv6" if raw.family == _socket.AF_INET6 else "IPv4"
        self._kind = 6 if raw.family == _socket.AF_INET6 else 4
        return raw

    def _listen_once(self, callback: Callable[..., Any] | None) -> None:
        # Node: the bind callback is a 'listening' listener, removed with its
        # 'error' twin by whichever comes first.
        if callback is None:
            return

        def on_listening() -> None:
            self.removeListener("error", on_error)
            callback()

        def on_error(_err: Any = None) -> None:
            self.removeListener("listening", on_listening)

        self.on("error", on_error)
        self.on("listening", on_listening)

    def _do_bind(self, err: Any, ip: Any, port: int) -> None:
        # Worker: the address is resolved; create, configure and bind.
        if self._closed:
            return
        if err is None and isIP(ip) != (6 if self._af == _socket.AF_INET6 else 4):
            if self._af == _socket.AF_INET6 and isIP(ip) == 4:
                ip = "::ffff:" + ip
            else:
                err = system_error(errno.EINVAL, "bind", ip, port or None, describe=False)
        if err is None:
            try:
                sock = self._open()
                if self._reuse_addr:
                    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
                if self._reuse_port and _SO_REUSEPORT is not None:
                    sock.setsockopt(_socket.SOL_SOCKET, _SO_REUSEPORT, 1)
                if self._af == _socket.AF_INET6:
                    sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY,
                                    1 if self._ipv6_only else 0)
                sock.bind((ip, port))
            except OSError as exc:
                err = system_error(exc, "bind", ip, port or None, describe=False)
                # libuv keeps the descriptor; Node may bind() again later.
        if err is not None:
            self._bind_state = UNBOUND
            self._pending = None  # Node's onListenError drops queued sends
            self._set_active(False)
            self._error_event(err)
            return
        self._start_listening()

    def _start_listening(self) -> None:
        # Worker: the descriptor is bound (or adopted).
        if self._closed:
            return
        self._wire()
        self._bind_state = BOUND
        self._rw.start(self._on_readable)
        try:
            if self._rbs:
                self._buffer_size(self._rbs, True)
            if self._sbs:
                self._buffer_size(self._sbs, False)
        except SocketBufferSizeError as exc:
            self._error_event(exc)
        self._emit("listening")
        pending = self._pending
        self._pending = None
        if pending:
            for work in pending:
                work()

    def _enqueue(self, work: Callable[[], Any]) -> None:
        if self._pending is None:
            self._pending = []
        self._pending.append(work)

    # ------------------------------------------------------------------
    # Name lookup

    def _resolve(self, address: str, callback: Callable[..., Any]) -> None:
        """Node's handle.lookup: ``callback(err, ip, family)``, maybe at once."""
        family = 6 if self._af == _socket.AF_INET6 else 4
        if not address:
            address = self._loopback
        lookup = self._lookup
        if lookup is not None:
            lookup(address, family, callback)
            return
        kind = isIP(address)
        if kind:
            callback(None, address, kind)
            return
        gevent.spawn(self._getaddrinfo, address, family, callback)

    @staticmethod
    def _getaddrinfo(host: str, family: int, callback: Callable[..., Any]) -> None:
        af = _socket.AF_INET6 if family == 6 else _socket.AF_INET
        try:
            infos = gsocket.getaddrinfo(host, None, af, _socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as exc:
            if isinstance(exc, UnicodeError):
                exc = _socket.gaierror(_socket.EAI_NONAME, str(exc))
            callback(dns_error(exc, host) if isinstance(exc, _socket.gaierror) else exc)
            return
        if not infos:
            callback(dns_error(_socket.gaierror(_socket.EAI_NONAME, "no address"), host))
            return
        callback(None, infos[0][4][0], family)

    # ------------------------------------------------------------------
    # Addresses and closing

    def address(self) -> dict[str, Any]:
        """The bound address: ``{'address', 'family', 'port'}`` (Node's ``address``).

        Raises:
            OSError: ``getsockname EBADF`` before the socket is bound.
            SocketDgramNotRunningError: the socket was closed.
        """
        sock = self._need_fd("getsockname")
        try:
            name = sock.getsockname()
        except OSError as exc:
            raise system_error(exc, "getsockname", describe=False) from None
        info: dict[str, Any] = address_info(name, self._af)
        return info

    def close(self: S, callback: Callable[..., Any] | None = None) -> S:
        """Close the socket; 'close' follows (Node's ``socket.close([callback])``).

        ``callback`` becomes a 'close' listener. Datagrams read but not yet
        emitted are dropped; sends still waiting for room in the kernel get
        ``ECANCELED``. A close while a bind with queued sends is pending
        runs after them, as in Node.

        Returns:
            The socket, for chaining.

        Raises:
            SocketDgramNotRunningError: already closed.
        """
        if callable(callback):
            self.on("close", callback)
        if self._pending is not None:
            self._pending.append(self.close)
            return self
        self._health_check()
        self._closed = True
        for watcher in (self._rw, self._ww):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self._rw = self._ww = None
        sq = self._sq
        while sq:
            _chunks, ip, port, address, cb, _size = sq.popleft()
            if cb is not None:
                self._queue(cb, system_error(errno.ECANCELED, "send", address or ip, port,
                                             describe=False), None)
        self._sq_bytes = 0
        sock = self._sock
        if sock is not None:
            sock.close()
        self._buf = self._view = None
        self._set_active(False)
        self._queue(self._emit, "close")
        return self
