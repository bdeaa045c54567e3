"""gnet.dgram: Node's ``dgram`` module (UDP sockets) on gevent's loop.

Theory of operation
-------------------
This is the UDP sibling of the TCP transport in ``socket.py``: the same
pieces, arranged for datagrams. A :class:`Socket` owns at most one
non-blocking OS socket (``SOCK_DGRAM``) and two gevent io watchers on it.
I/O runs in the hub, in watcher callbacks that never block; every event
('listening', 'message', 'connect', 'error', 'close') and every send
callback is emitted in a gnet worker greenlet (``dispatch.py``), one
socket's events one after another, never inside the call that caused them.

The OS socket is created lazily, as libuv does for Node: ``createSocket()``
makes no descriptor, so calls that need one before ``bind()`` fail with
``EBADF`` exactly where Node's do (``address()``, ``setTTL()``, the buffer
sizes). ``bind()`` (or the implicit bind of the first ``send()`` or
``connect()``) resolves the address, then a queued step creates, configures
and binds the descriptor and emits 'listening'; sends and connects made
while that is pending wait in a list and run right after 'listening', as in
Node.

Receive path (hub -> worker)::

    read watcher fires -> recvfrom_into() a 64 KiB buffer until EAGAIN
      (at most READ_BATCH datagrams per loop turn, so a flood cannot starve
      other sockets) -> each datagram copied out as bytes, queued with its
      rinfo -> the socket schedules itself once -> a worker emits 'message'
      in arrival order

A datagram is never split or truncated: the buffer holds the largest UDP
payload (65,507 bytes over IPv4, 65,527 over IPv6). When listeners fall
behind, at most MAX_PENDING datagrams (or MAX_PENDING_BYTES) wait in gnet;
then the read watcher stops until the worker catches up, and further
datagrams wait in (or are dropped by) the kernel's receive buffer, whose
size ``setRecvBufferSize()`` sets. Memory stays bounded under any flood.

Send path (caller -> kernel)::

    send() -> bound, IP literal (or connected)? sendto()/sendmsg() now
      -> EAGAIN? queued, and the write watcher sends the queue in order
      -> the callback (err, bytes) is queued for the worker

A host name goes through the socket's ``lookup`` (gevent's cooperative
resolver by default) first. As in Node, a send error goes to the send's
callback; a send without a callback loses its syscall error silently (Node's
legacy behaviour), while a lookup error without a callback is emitted as
'error'. On a connected socket the kernel reports an ICMP port-unreachable
from the peer on the next receive: it becomes 'error' ``ECONNREFUSED`` with
``syscall='recvmsg'``, as in Node.

Lifecycle (Node's own state machine)::

    bind state:     UNBOUND -> BINDING -> BOUND
    connect state:  DISCONNECTED -> CONNECTING -> CONNECTED (-> DISCONNECTED)
    _closed:        close() ran; every call but ref()/unref() now raises
                    ERR_SOCKET_DGRAM_NOT_RUNNING; 'close' is queued once

A socket keeps ``gnet.run()`` alive from ``bind()`` (explicit or implicit)
until ``close()``, unless ``unref()`` was called; an unbound socket does not.
"""

from __future__ import annotations

import _socket
import ctypes
import ctypes.util
import errno
import logging
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import gevent
from gevent import socket as gsocket
from zope.interface import implementer

from gnet.abort import add_abort_listener, validate_abort_signal
from gnet.addresses import address_info, isIP, validate_port
from gnet.blocklist import block_list_option
from gnet.dispatch import get_loop, schedule
from gnet.errors import (
    BufferOutOfBoundsError,
    InvalidArgTypeError,
    InvalidFdTypeError,
    IPBlockedError,
    MissingArgsError,
    SocketAlreadyBoundError,
    SocketBadBufferSizeError,
    SocketBadPortError,
    SocketBadTypeError,
    SocketBufferSizeError,
    SocketDgramIsConnectedError,
    SocketDgramNotConnectedError,
    SocketDgramNotRunningError,
    dns_error,
    system_error,
)
from gnet.events import EventEmitter
from gnet.interfaces import IDatagramSocket
from gnet.loop import Handle
from gnet.naming import fix_module, module_aliases
from gnet.options import merge_options
from gnet.validate import validate_function, validate_int, validate_number, validate_string

__all__ = ("Socket", "createSocket")

logger = logging.getLogger("gnet")

S = TypeVar("S", bound="Socket")

# One receive buffer holds any UDP payload (65,507 B over IPv4, 65,527 over IPv6).
RECV_SIZE = 64 * 1024
# Datagrams (and bytes) read per loop turn before other watchers get their
# turn. The byte budget also keeps the datagrams alive at once few, so that
# freeing them never leaves a large free block at the top of the C heap,
# which malloc would give back to the kernel and fault in again next turn.
READ_BATCH = 64
READ_BUDGET = 128 * 1024
# Datagrams (and bytes) read but not yet emitted before reading pauses and the
# kernel's receive buffer takes over.
MAX_PENDING = 1024
MAX_PENDING_BYTES = 4 * 1024 * 1024

UNBOUND, BINDING, BOUND = range(3)
DISCONNECTED, CONNECTING, CONNECTED = range(3)

_UINT32_MAX = 2**32 - 1
_INT_MAX = 2**31 - 1

_OPTIONS = (
    "type", "reuseAddr", "reusePort", "ipv6Only", "recvBufferSize", "sendBufferSize",
    "lookup", "signal", "receiveBlockList", "sendBlockList",
)
_BIND_OPTIONS = ("port", "address", "exclusive", "fd")

# Linux values where the socket module lacks the name.
_IP_ADD_SOURCE_MEMBERSHIP = getattr(_socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
_IP_DROP_SOURCE_MEMBERSHIP = getattr(_socket, "IP_DROP_SOURCE_MEMBERSHIP", 40)
_MCAST_JOIN_SOURCE_GROUP = getattr(_socket, "MCAST_JOIN_SOURCE_GROUP", 46)
_MCAST_LEAVE_SOURCE_GROUP = getattr(_socket, "MCAST_LEAVE_SOURCE_GROUP", 47)
_IPV6_JOIN_GROUP = getattr(_socket, "IPV6_JOIN_GROUP", 20)
_IPV6_LEAVE_GROUP = getattr(_socket, "IPV6_LEAVE_GROUP", 21)
_SO_REUSEPORT = getattr(_socket, "SO_REUSEPORT", None)

_MISSING: Any = object()
_BUFFERS = (bytes, bytearray, memoryview)

_libc: Any = None


def _dissolve(fd: int) -> int:
    """connect(fd, AF_UNSPEC): end a UDP socket's association (0 or an errno)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    sockaddr = (ctypes.c_ubyte * 16)()  # sa_family 0 = AF_UNSPEC
    if _libc.connect(fd, sockaddr, ctypes.sizeof(sockaddr)) != 0:
        number = ctypes.get_errno()
        # Linux may answer EAFNOSUPPORT yet dissolve the association (libuv ignores it).
        return 0 if number == errno.EAFNOSUPPORT else number
    return 0


def _as_bytes(value: Any, name: str) -> Any:
    """One datagram piece as a bytes-like object (str encoded as UTF-8), or None."""
    if isinstance(value, _BUFFERS):
        if value.__class__ is memoryview and (value.itemsize != 1 or not value.c_contiguous):
            return value.tobytes()
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if value is None or isinstance(value, (int, float, list, tuple, dict)):
        return None
    try:  # array.array, numpy arrays...: Node's TypedArray and DataView
        return memoryview(value).cast("B")
    except TypeError:
        return None


_TYPE_NAMES = "str, bytes, bytearray or memoryview"


def _slice(buffer: Any, offset: Any, length: Any) -> Any:
    # Node's sliceBuffer: offset and length are read as uint32 (``>>> 0``).
    data = _as_bytes(buffer, "buffer")
    if data is None:
        raise InvalidArgTypeError("buffer", _TYPE_NAMES, buffer)
    size = len(data) if not isinstance(data, memoryview) else data.nbytes
    start = _uint32(offset)
    count = _uint32(length)
    if start > size:
        raise BufferOutOfBoundsError("offset")
    if start + count > size:
        raise BufferOutOfBoundsError("length")
    if start == 0 and count == size:
        return data
    return memoryview(data)[start:start + count]


def _uint32(value: Any) -> int:
    # JavaScript's ``value >>> 0`` for the numbers and non-numbers ported code passes.
    if value is None or value.__class__ is bool:
        return int(bool(value))
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return 0
        return int(value) & _UINT32_MAX
    if isinstance(value, str):
        try:
            return int(float(value)) & _UINT32_MAX
        except ValueError:
            return 0
    return 0


def _dgram_port(value: Any) -> int:
    # Node's validatePort(port, 'Port', false): any non-number is a bad port too.
    try:
        return validate_port(value, "Port", allow_zero=False)
    except InvalidArgTypeError:
        raise SocketBadPortError("Port", value, allow_zero=False) from None


# isIP() of the destinations seen lately: a send to an address already seen
# costs one dict lookup. Bounded; cleared when full.
_kinds: dict[str, int] = {}


def _ip_kind(address: str) -> int:
    kind = _kinds.get(address)
    if kind is None:
        if len(_kinds) >= 4096:
            _kinds.clear()
        kind = _kinds[address] = isIP(address)
    return kind


def _ip_bytes(address: str) -> tuple[int, bytes, int] | None:
    """(family, packed address, scope id) of an IP literal, or None."""
    kind = isIP(address)
    if kind == 4:
        return _socket.AF_INET, _socket.inet_aton(address), 0
    if kind == 6:
        host, _, zone = address.partition("%")
        scope = 0
        if zone:
            try:
                scope = int(zone) if zone.isdigit() else _socket.if_nametoindex(zone)
            except OSError:
                return None
        return _socket.AF_INET6, _socket.inet_pton(_socket.AF_INET6, host), scope
    return None


def _sockaddr_storage(family: int, packed: bytes, scope: int) -> bytes:
    # struct sockaddr_in / sockaddr_in6 padded to sockaddr_storage (128 bytes).
    if family == _socket.AF_INET:
        raw = struct.pack("=H2x4s8x", family, packed)
    else:
        raw = struct.pack("=H2xI16sI", family, 0, packed, scope)
    return raw.ljust(128, b"\0")


@implementer(IDatagramSocket)
class Socket(EventEmitter, Handle):
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

    # ------------------------------------------------------------------
    # Event queue: everything a listener sees runs from _run(), in order.

    def _queue(self, fn: Callable[..., Any], *args: Any) -> None:
        self._eq.append((fn, args))
        if not self._queued:
            self._queued = True
            schedule(self._run)

    def _run(self) -> None:
        # Worker: events and callbacks are (fn, args); a datagram is (bytes, rinfo).
        eq = self._eq
        popleft = eq.popleft
        try:
            while eq:
                item = popleft()
                try:
                    data = item[0]
                    if data.__class__ is not bytes:
                        data(*item[1])
                        continue
                    self._in_flight -= 1
                    self._in_flight_bytes -= len(data)
                    if self._throttled:
                        self._unthrottle()
                    if self._closed:
                        continue
                    # emit('message', ...) inlined: this is the per-datagram path.
                    listeners: Any = self._events.get("message")
                    if listeners is None:
                        continue
                    if listeners.__class__ is tuple:
                        for listener in listeners:
                            listener(data, item[1])
                    else:
                        listeners(data, item[1])
                except Exception as exc:
                    self._listener_failed(exc)
        finally:
            self._queued = False

    def _listener_failed(self, exc: BaseException) -> None:
        # No exception from a listener may reach the hub or hurt other
        # sockets: report it and close this socket only.
        logger.error("gnet: error in a listener of %r; closing it", self, exc_info=exc)
        if not self._closed:
            self._pending = None
            self.close()

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
    # Receive path

    def _on_readable(self) -> None:
        # Hub: drain up to READ_BATCH datagrams, then let other watchers run.
        sock = self._sock
        buf = self._buf
        view: Any = self._view
        append = self._eq.append
        family = self._family_name
        blocked = self._receive_block_list
        six = self._kind == 6
        got = 0
        budget = READ_BUDGET
        for _ in range(READ_BATCH):
            try:
                n, addr = sock.recvfrom_into(buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                append((self._error_event, (system_error(exc, "recvmsg", describe=False),)))
                got += 1
                break
            if blocked is not None and blocked._blocked(addr[0], six):
                continue  # Node drops it silently
            append((view[:n].tobytes(),
                    {"address": addr[0], "family": family, "port": addr[1], "size": n}))
            got += 1
            self._in_flight += 1
            self._in_flight_bytes += n
            if self._in_flight >= MAX_PENDING or self._in_flight_bytes >= MAX_PENDING_BYTES:
                # Listeners are behind: let the kernel's buffer hold (or drop) the rest.
                self._throttled = True
                self._rw.stop()
                break
            budget -= n
            if budget <= 0:
                break
        if got and not self._queued:
            self._queued = True
            schedule(self._run)

    def _unthrottle(self) -> None:
        # Worker: the listeners caught up with half the backlog; read again.
        if self._in_flight <= MAX_PENDING // 2 and self._in_flight_bytes <= MAX_PENDING_BYTES // 2:
            self._throttled = False
            if not self._closed and self._rw is not None:
                self._rw.start(self._on_readable)

    # ------------------------------------------------------------------
    # Send path

    def send(self, buffer: Any = _MISSING, offset: Any = _MISSING, length: Any = None,
             port: Any = None, address: Any = None, callback: Any = None) -> None:
        """Send one datagram (Node's ``socket.send``).

        Overloads, as in Node: ``send(msg, offset, length, port[, address]
        [, callback])``, ``send(msg, port[, address][, callback])``, and on a
        connected socket ``send(msg[, offset, length][, callback])``. ``msg``
        is bytes, bytearray, memoryview, str (UTF-8), any buffer-protocol
        object, or a list of those sent as one datagram. A falsy address
        means loopback (``'127.0.0.1'`` / ``'::1'``); a host name goes
        through ``lookup``. The first send on an unbound socket binds it to
        every interface and an ephemeral port ('listening' follows).

        Keyword form, a gnet convenience: ``send(msg, port=..., address=...,
        callback=...)`` means ``send(msg, port, address, callback)``; with
        ``offset=`` it means the positional call with the same arguments.

        ``callback(err, bytes_sent)`` runs once the datagram was handed to
        the kernel (``err`` None) or failed (``EMSGSIZE``, a lookup error...;
        then ``bytes_sent`` is None). It always gets both arguments.

        Raises:
            InvalidArgTypeError: ``msg`` or ``address`` of the wrong type.
            SocketBadPortError: no port or a bad one (unconnected socket).
            BufferOutOfBoundsError: ``offset`` / ``length`` beyond ``msg``.
            SocketDgramIsConnectedError: a destination on a connected socket.
            SocketDgramNotRunningError: the socket was closed.
        """
        # The common case first: send(bytes, port, ip[, callback]) on a bound,
        # unconnected socket with the default lookup. Everything else (and any
        # argument this does not like) takes Node's full path below.
        if (buffer.__class__ is bytes and offset.__class__ is int and 0 < offset < 65536
                and length.__class__ is str and address is None and callback is None
                and self._bind_state == BOUND and self._lookup is None
                and self._send_block_list is None
                and self._connect_state == DISCONNECTED and not self._closed
                and _ip_kind(length) == self._kind and (port is None or callable(port))):
            if self._sq:
                self._queue_send([[buffer], length, offset, length, port])
                return
            try:
                sent = self._sock.sendto(buffer, (length, offset))
            except (BlockingIOError, InterruptedError):
                self._queue_send([[buffer], length, offset, length, port])
                return
            except OSError as exc:
                if port is not None:
                    self._queue(port, system_error(exc, "send", length, offset,
                                                   describe=False), None)
                return
            if port is not None:
                self._queue(port, None, sent)
            return
        if offset is _MISSING:
            offset = None
            if length is None and (port is not None or address is not None):
                # Keywords without an offset: send(msg, port=p, address=a, callback=c).
                offset, length, port, address = port, address, None, None
            elif length is not None:
                offset = 0
        if buffer is _MISSING:
            buffer = None
        connected = self._connect_state == CONNECTED
        if not connected:
            if address or (port and not callable(port)):
                buffer = _slice(buffer, offset, length)
            else:
                if port is not None or callback is None:
                    callback = port
                port = offset
                address = length
        else:
            if isinstance(length, (int, float)) and length.__class__ is not bool:
                buffer = _slice(buffer, offset, length)
                if callable(port):
                    callback = port
                    port = None
            elif offset is not None or callback is None:
                callback = offset
            if port or address:
                raise SocketDgramIsConnectedError()
        if buffer.__class__ is bytes:
            chunks: list[Any] = [buffer]
        elif isinstance(buffer, list):
            chunks = []
            for item in buffer:
                piece = _as_bytes(item, "buffer")
                if piece is None:
                    raise InvalidArgTypeError("buffer list arguments", _TYPE_NAMES, buffer)
                chunks.append(piece)
        else:
            piece = _as_bytes(buffer, "buffer")
            if piece is None:
                raise InvalidArgTypeError("buffer", _TYPE_NAMES, buffer)
            chunks = [piece]
        if not connected:
            port = _dgram_port(port)
        if not callable(callback):
            callback = None
        if callable(address):
            callback = address
            address = None
        elif address is not None:
            validate_string(address, "address")
        self._health_check()
        if self._bind_state == UNBOUND:
            self._bind_implicit()
        if not chunks:
            chunks = [b""]
        self._send_checked(chunks, port, address, callback)

    def _send_checked(self, chunks: list[Any], port: Any, address: Any, callback: Any) -> None:
        if self._bind_state != BOUND:
            self._enqueue(lambda: self._send_after_bind(chunks, port, address, callback))
            return
        if self._connect_state == CONNECTED:
            self._do_send(None, None, chunks, None, None, callback)
            return
        if self._lookup is None:
            if not address:
                self._do_send(None, self._loopback, chunks, address, port, callback)
                return
            if _ip_kind(address):
                self._do_send(None, address, chunks, address, port, callback)
                return
        self._resolve(address, lambda err, ip=None, family=None:
                      self._do_send(err, ip, chunks, address, port, callback))

    def _send_after_bind(self, chunks: list[Any], port: Any, address: Any, callback: Any) -> None:
        if self._closed:
            return
        self._send_checked(chunks, port, address, callback)

    def _bind_implicit(self) -> None:
        self.bind({"port": 0, "exclusive": True})

    def _do_send(self, err: Any, ip: Any, chunks: list[Any], address: Any, port: Any,
                 callback: Any) -> None:
        # Hub, worker, caller or resolver greenlet: never blocks.
        if err is not None:
            if callback is not None:
                self._queue(callback, err, None)
            else:
                self._queue(self._error_event, err)
            return
        if self._closed:
            return
        if ip is not None and self._send_block_list is not None \
                and self._send_block_list._blocked(ip, _ip_kind(ip) == 6):
            # Node: the callback learns it; without one, nothing is said.
            if callback is not None:
                self._queue(callback, IPBlockedError(ip), None)
            return
        if ip is not None:
            kind = _ip_kind(ip)
            if kind == 4 and self._kind == 6:
                ip = "::ffff:" + ip
            elif kind != self._kind:
                if callback is not None:
                    self._queue(callback, system_error(errno.EINVAL, "send", address or ip,
                                                       port, describe=False), None)
                return
        entry = [chunks, ip, port, address, callback]
        if self._sq:
            self._queue_send(entry)
            return
        try:
            sent = self._sendmsg(chunks, ip, port)
        except (BlockingIOError, InterruptedError):
            self._queue_send(entry)
            return
        except OSError as exc:
            if callback is not None:
                self._queue(callback, system_error(exc, "send", address or ip, port,
                                                   describe=False), None)
            return
        if callback is not None:
            self._queue(callback, None, sent)

    def _sendmsg(self, chunks: list[Any], ip: Any, port: Any) -> int:
        sock = self._sock
        if ip is None:
            if len(chunks) == 1:
                return int(sock.send(chunks[0]))
            return int(sock.sendmsg(chunks))
        if len(chunks) == 1:
            return int(sock.sendto(chunks[0], (ip, port)))
        return int(sock.sendmsg(chunks, (), 0, (ip, port)))

    def _queue_send(self, entry: list[Any]) -> None:
        size = sum(len(c) if not isinstance(c, memoryview) else c.nbytes for c in entry[0])
        entry.append(size)
        self._sq.append(entry)
        self._sq_bytes += size
        if len(self._sq) == 1:
            self._ww.start(self._on_writable)

    def _on_writable(self) -> None:
        # Hub: the kernel has room again; send the queue in order.
        sq = self._sq
        while sq:
            chunks, ip, port, address, callback, size = sq[0]
            try:
                sent = self._sendmsg(chunks, ip, port)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                sq.popleft()
                self._sq_bytes -= size
                if callback is not None:
                    self._queue(callback, system_error(exc, "send", address or ip, port,
                                                       describe=False), None)
                continue
            sq.popleft()
            self._sq_bytes -= size
            if callback is not None:
                self._queue(callback, None, sent)
        self._ww.stop()

    def getSendQueueSize(self) -> int:
        """Bytes of datagrams waiting for room in the kernel (Node's ``getSendQueueSize``)."""
        return self._sq_bytes

    def getSendQueueCount(self) -> int:
        """Datagrams waiting for room in the kernel (Node's ``getSendQueueCount``)."""
        return len(self._sq)

    # ------------------------------------------------------------------
    # Connected mode

    def connect(self, port: Any = None, address: Any = None,
                callback: Callable[..., Any] | None = None) -> None:
        """Associate the socket with one peer (Node's ``socket.connect``).

        ``address`` defaults to loopback; a host name goes through
        ``lookup``. 'connect' follows (then ``callback``); an unbound socket
        is bound first. Once connected, ``send()`` takes no destination and
        only that peer's datagrams arrive; an ICMP port-unreachable from it
        comes as 'error' ``ECONNREFUSED``. A failure goes to ``callback``
        (when given) or 'error'.

        Raises:
            SocketBadPortError: ``port`` missing, 0 or out of range.
            InvalidArgTypeError: ``address`` not a str.
            SocketDgramIsConnectedError: connected or connecting already.
            SocketDgramNotRunningError: the socket was closed.
        """
        port = _dgram_port(port)
        if callable(address):
            callback = address
            address = ""
        elif address is None:
            address = ""
        validate_string(address, "address")
        self._health_check()
        if self._connect_state != DISCONNECTED:
            raise SocketDgramIsConnectedError()
        self._connect_state = CONNECTING
        if self._bind_state == UNBOUND:
            self._bind_implicit()
        if self._bind_state != BOUND:
            self._enqueue(lambda: self._connect(port, address, callback))
            return
        self._connect(port, address, callback)

    def _connect(self, port: int, address: str, callback: Any) -> None:
        if self._closed:
            return
        if callback is not None:
            self.once("connect", callback)
        self._resolve(address, lambda err, ip=None, family=None:
                      self._queue(self._do_connect, err, ip, address, port, callback))

    def _do_connect(self, err: Any, ip: Any, address: str, port: int, callback: Any) -> None:
        if self._closed:
            return
        if err is None and self._send_block_list is not None \
                and self._send_block_list._blocked(ip, isIP(ip) == 6):
            err = IPBlockedError(ip)
        if err is None:
            if isIP(ip) == 4 and self._af == _socket.AF_INET6:
                ip = "::ffff:" + ip
            try:
                self._sock.connect((ip, port))
            except OSError as exc:
                err = system_error(exc, "connect", address or ip, port, describe=False)
            except (TypeError, ValueError):
                err = system_error(errno.EINVAL, "connect", address or ip, port, describe=False)
        if err is not None:
            self._connect_state = DISCONNECTED
            if callback is not None:
                self.removeListener("connect", callback)
                callback(err)
            else:
                self._error_event(err)
            return
        self._connect_state = CONNECTED
        self._emit("connect")

    def disconnect(self) -> None:
        """End the association made by ``connect()`` (Node's ``disconnect``; synchronous).

        Raises:
            SocketDgramNotConnectedError: the socket is not connected.
        """
        if self._connect_state != CONNECTED:
            raise SocketDgramNotConnectedError()
        number = _dissolve(self._sock.fileno())
        if number:
            raise system_error(number, "connect", describe=False)
        self._connect_state = DISCONNECTED

    def remoteAddress(self) -> dict[str, Any]:
        """The connected peer: ``{'address', 'family', 'port'}`` (Node's ``remoteAddress``).

        Raises:
            SocketDgramNotConnectedError: the socket is not connected.
            SocketDgramNotRunningError: the socket was closed.
        """
        self._health_check()
        if self._connect_state != CONNECTED:
            raise SocketDgramNotConnectedError()
        try:
            peer = self._sock.getpeername()
        except OSError as exc:
            raise system_error(exc, "getpeername", describe=False) from None
        info: dict[str, Any] = address_info(peer, self._af)
        return info

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

    # ------------------------------------------------------------------
    # Socket options

    def _setopt(self, syscall: str, level: int, option: int, value: Any) -> None:
        sock = self._need_fd(syscall)
        try:
            sock.setsockopt(level, option, value)
        except OSError as exc:
            raise system_error(exc, syscall, describe=False) from None

    def _v6(self) -> bool:
        return bool(self._af == _socket.AF_INET6)

    def setBroadcast(self, flag: Any) -> None:
        """Allow sending to broadcast addresses (``SO_BROADCAST``; any truthy value)."""
        self._setopt("setBroadcast", _socket.SOL_SOCKET, _socket.SO_BROADCAST, 1 if flag else 0)

    def setTTL(self, ttl: Any) -> Any:
        """Set the unicast hop limit, 1-255 (``IP_TTL`` / ``IPV6_UNICAST_HOPS``); returns ttl.

        Raises:
            InvalidArgTypeError: ``ttl`` is not a number.
            OSError: ``setTTL EINVAL`` out of range, ``setTTL EBADF`` before bind.
        """
        validate_number(ttl, "ttl")
        self._need_fd("setTTL")
        value = int(ttl)
        if not 1 <= value <= 255:
            raise system_error(errno.EINVAL, "setTTL", describe=False)
        if self._v6():
            self._setopt("setTTL", _socket.IPPROTO_IPV6, _socket.IPV6_UNICAST_HOPS, value)
        else:
            self._setopt("setTTL", _socket.IPPROTO_IP, _socket.IP_TTL, value)
        return ttl

    def setMulticastTTL(self, ttl: Any) -> Any:
        """Set the multicast hop limit, 0-255 (``IP_MULTICAST_TTL``); returns ttl.

        Raises:
            InvalidArgTypeError: ``ttl`` is not a number.
            OSError: ``setMulticastTTL EINVAL`` out of range, ``EBADF`` before bind.
        """
        validate_number(ttl, "ttl")
        self._need_fd("setMulticastTTL")
        value = int(ttl)
        if not 0 <= value <= 255:
            raise system_error(errno.EINVAL, "setMulticastTTL", describe=False)
        if self._v6():
            self._setopt("setMulticastTTL", _socket.IPPROTO_IPV6,
                         _socket.IPV6_MULTICAST_HOPS, value)
        else:
            self._setopt("setMulticastTTL", _socket.IPPROTO_IP, _socket.IP_MULTICAST_TTL, value)
        return ttl

    def setMulticastLoopback(self, flag: Any) -> Any:
        """Whether this host's own multicast datagrams loop back to it; returns flag."""
        if self._v6():
            self._setopt("setMulticastLoopback", _socket.IPPROTO_IPV6,
                         _socket.IPV6_MULTICAST_LOOP, 1 if flag else 0)
        else:
            self._setopt("setMulticastLoopback", _socket.IPPROTO_IP,
                         _socket.IP_MULTICAST_LOOP, 1 if flag else 0)
        return flag

    def setMulticastInterface(self, interfaceAddress: Any) -> None:
        """Choose the outgoing multicast interface by its address (``'ip'`` or ``'::%eth0'``).

        Raises:
            InvalidArgTypeError: not a str.
            OSError: ``setMulticastInterface EINVAL`` (not an address),
                ``ENOPROTOOPT`` (an IPv6 address on a udp4 socket), ``EBADF``.
        """
        self._health_check()
        validate_string(interfaceAddress, "interfaceAddress")
        self._need_fd("setMulticastInterface")
        parsed = _ip_bytes(interfaceAddress)
        if parsed is None:
            raise system_error(errno.EINVAL, "setMulticastInterface", describe=False)
        family, packed, scope = parsed
        if family == _socket.AF_INET:
            self._setopt("setMulticastInterface", _socket.IPPROTO_IP,
                         _socket.IP_MULTICAST_IF, packed)
        else:
            self._setopt("setMulticastInterface", _socket.IPPROTO_IPV6,
                         _socket.IPV6_MULTICAST_IF, scope)

    def _membership(self, syscall: str, add: bool, group: Any, iface: Any) -> None:
        self._health_check()
        if not group:
            raise MissingArgsError("multicastAddress")
        sock = self._open()  # libuv creates the descriptor here if need be
        parsed = _ip_bytes(group) if isinstance(group, str) else None
        if parsed is None:
            raise system_error(errno.EINVAL, syscall, describe=False)
        family, packed, _scope = parsed
        try:
            if family == _socket.AF_INET:
                if iface:
                    iface_parsed = _ip_bytes(iface) if isinstance(iface, str) else None
                    if iface_parsed is None or iface_parsed[0] != _socket.AF_INET:
                        raise system_error(errno.EINVAL, syscall, describe=False)
                    local = iface_parsed[1]
                else:
                    local = b"\0\0\0\0"
                option = _socket.IP_ADD_MEMBERSHIP if add else _socket.IP_DROP_MEMBERSHIP
                sock.setsockopt(_socket.IPPROTO_IP, option, packed + local)
            else:
                index = 0
                if iface:
                    iface_parsed = _ip_bytes(iface) if isinstance(iface, str) else None
                    if iface_parsed is None:
                        raise system_error(errno.EINVAL, syscall, describe=False)
                    index = iface_parsed[2]
                option = _IPV6_JOIN_GROUP if add else _IPV6_LEAVE_GROUP
                sock.setsockopt(_socket.IPPROTO_IPV6, option, packed + struct.pack("=I", index))
        except OSError as exc:
            if getattr(exc, "syscall", None) == syscall:
                raise
            raise system_error(exc, syscall, describe=False) from None

    def addMembership(self, multicastAddress: Any = None, interfaceAddress: Any = None) -> None:
        """Join a multicast group, on ``interfaceAddress`` or the kernel's choice.

        Raises:
            MissingArgsError: no group.
            OSError: ``addMembership EINVAL`` (not a multicast address),
                ``EADDRINUSE`` (joined already), ...
        """
        self._membership("addMembership", True, multicastAddress, interfaceAddress)

    def dropMembership(self, multicastAddress: Any = None, interfaceAddress: Any = None) -> None:
        """Leave a multicast group joined with ``addMembership()``.

        Raises:
            MissingArgsError: no group.
            OSError: ``dropMembership EADDRNOTAVAIL`` (not joined), ...
        """
        self._membership("dropMembership", False, multicastAddress, interfaceAddress)

    def _source_membership(self, syscall: str, add: bool, source: Any, group: Any,
                           iface: Any) -> None:
        self._health_check()
        validate_string(source, "sourceAddress")
        validate_string(group, "groupAddress")
        sock = self._open()
        g = _ip_bytes(group)
        s = _ip_bytes(source)
        if g is None or s is None or g[0] != s[0]:
            raise system_error(errno.EINVAL, syscall, describe=False)
        try:
            if g[0] == _socket.AF_INET:
                local = b"\0\0\0\0"
                if iface:
                    i = _ip_bytes(iface) if isinstance(iface, str) else None
                    if i is None or i[0] != _socket.AF_INET:
                        raise system_error(errno.EINVAL, syscall, describe=False)
                    local = i[1]
                option = _IP_ADD_SOURCE_MEMBERSHIP if add else _IP_DROP_SOURCE_MEMBERSHIP
                # struct ip_mreq_source (Linux order): group, interface, source.
                sock.setsockopt(_socket.IPPROTO_IP, option, g[1] + local + s[1])
            else:
                index = 0
                if iface:
                    i = _ip_bytes(iface) if isinstance(iface, str) else None
                    if i is None:
                        raise system_error(errno.EINVAL, syscall, describe=False)
                    index = i[2]
                option = _MCAST_JOIN_SOURCE_GROUP if add else _MCAST_LEAVE_SOURCE_GROUP
                # struct group_source_req: interface, padding, group, source.
                req = (struct.pack("=I4x", index) + _sockaddr_storage(*g)
                       + _sockaddr_storage(*s))
                sock.setsockopt(_socket.IPPROTO_IPV6, option, req)
        except OSError as exc:
            if getattr(exc, "syscall", None) == syscall:
                raise
            raise system_error(exc, syscall, describe=False) from None

    def addSourceSpecificMembership(self, sourceAddress: Any = None, groupAddress: Any = None,
                                    interfaceAddress: Any = None) -> None:
        """Join a source-specific multicast group: ``groupAddress`` from ``sourceAddress`` only.

        Raises:
            InvalidArgTypeError: an address that is not a str.
            OSError: ``addSourceSpecificMembership EINVAL`` and the kernel's other codes.
        """
        self._source_membership("addSourceSpecificMembership", True, sourceAddress,
                                groupAddress, interfaceAddress)

    def dropSourceSpecificMembership(self, sourceAddress: Any = None, groupAddress: Any = None,
                                     interfaceAddress: Any = None) -> None:
        """Leave a source-specific group joined with ``addSourceSpecificMembership()``."""
        self._source_membership("dropSourceSpecificMembership", False, sourceAddress,
                                groupAddress, interfaceAddress)

    # ------------------------------------------------------------------
    # Buffer sizes

    def _buffer_size(self, size: Any, recv: bool) -> int:
        # Node's bufferSize(): 0 reads, anything else sets (Linux doubles it).
        if (size.__class__ is bool or not isinstance(size, (int, float))
                or size != size or size in (float("inf"), float("-inf"))
                or size != int(size) or not 0 <= size <= _UINT32_MAX):
            raise SocketBadBufferSizeError()
        syscall = "uv_recv_buffer_size" if recv else "uv_send_buffer_size"
        self._health_check()
        sock = self._sock
        if sock is None:
            raise SocketBufferSizeError(errno.EBADF, syscall)
        option = _socket.SO_RCVBUF if recv else _socket.SO_SNDBUF
        size = int(size)
        try:
            if size == 0:
                return int(sock.getsockopt(_socket.SOL_SOCKET, option))
            if size > _INT_MAX:
                raise SocketBufferSizeError(errno.EINVAL, syscall)
            sock.setsockopt(_socket.SOL_SOCKET, option, size)
        except OSError as exc:
            raise SocketBufferSizeError(exc, syscall) from None
        return size

    def setRecvBufferSize(self, size: Any) -> None:
        """Set ``SO_RCVBUF`` (bytes): how much the kernel keeps while listeners are busy.

        Linux doubles the value (``getRecvBufferSize()`` reports the double)
        and caps it at ``net.core.rmem_max``.

        Raises:
            SocketBadBufferSizeError: not an integer in 0..2**32-1.
            SocketBufferSizeError: before bind (``EBADF``), or the kernel refused.
        """
        self._buffer_size(size, True)

    def setSendBufferSize(self, size: Any) -> None:
        """Set ``SO_SNDBUF`` (bytes); Linux doubles it. Raises as ``setRecvBufferSize``."""
        self._buffer_size(size, False)

    def getRecvBufferSize(self) -> int:
        """The kernel's receive buffer size (``SO_RCVBUF``) in bytes."""
        return self._buffer_size(0, True)

    def getSendBufferSize(self) -> int:
        """The kernel's send buffer size (``SO_SNDBUF``) in bytes."""
        return self._buffer_size(0, False)

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        get_send_queue_size = getSendQueueSize
        get_send_queue_count = getSendQueueCount
        remote_address = remoteAddress
        set_broadcast = setBroadcast
        set_ttl = setTTL
        set_multicast_ttl = setMulticastTTL
        set_multicast_loopback = setMulticastLoopback
        set_multicast_interface = setMulticastInterface
        add_membership = addMembership
        drop_membership = dropMembership
        add_source_specific_membership = addSourceSpecificMembership
        drop_source_specific_membership = dropSourceSpecificMembership
        set_recv_buffer_size = setRecvBufferSize
        set_send_buffer_size = setSendBufferSize
        get_recv_buffer_size = getRecvBufferSize
        get_send_buffer_size = getSendBufferSize
    # --- end of PEP 8 twins ---


def createSocket(type: Any = _MISSING, listener: Callable[..., Any] | None = None,
                 **kwargs: Any) -> Socket:
    """Make a UDP socket (Node's ``dgram.createSocket(type | options[, onMessage])``).

    ``createSocket('udp4')``, ``createSocket('udp6', on_message)``,
    ``createSocket({'type': 'udp4', 'reuseAddr': True})`` or
    ``createSocket(type='udp4', reuse_addr=True)``. See :class:`Socket`.
    """
    return Socket(type, listener, **kwargs)


_public = ("Socket", "createSocket")
fix_module("gnet.dgram", globals(), _public)
__all__ = (*_public, *module_aliases(globals(), _public))  # type: ignore[assignment]

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    create_socket = createSocket
# --- end of PEP 8 twins ---
