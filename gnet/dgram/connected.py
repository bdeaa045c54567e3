"""Connected mode of a UDP socket: ``connect()``, ``disconnect()``, ``remoteAddress()``.

Connecting associates the socket with one peer: ``send()`` then takes no
destination and only that peer's datagrams arrive. The kernel reports an
ICMP port-unreachable from the peer on the next receive: it becomes 'error'
``ECONNREFUSED`` with ``syscall='recvmsg'``, as in Node. ``disconnect()``
is libuv's ``connect(fd, AF_UNSPEC)``, which Python's socket module cannot
express, hence the one ctypes call.

:class:`ConnectedMode` is a part of :class:`gnet.dgram.Socket`;
:class:`gnet.dgram.parts.DatagramPart` declares what it needs from the socket.
"""

from __future__ import annotations

import _socket
import ctypes
import ctypes.util
import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gnet.addresses import address_info, isIP
from gnet.dgram.parts import (
    BOUND,
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    UNBOUND,
    DatagramPart,
    _dgram_port,
)
from gnet.errors import (
    IPBlockedError,
    SocketDgramIsConnectedError,
    SocketDgramNotConnectedError,
    system_error,
)
from gnet.naming import add_aliases
from gnet.validate import validate_string

__all__ = ("ConnectedMode",)

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


@add_aliases
class ConnectedMode(DatagramPart):
    """Node's ``connect()``, ``disconnect()`` and ``remoteAddress()``."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.dgram.parts)
        __slots__ = ()

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

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        remote_address = remoteAddress
    # --- end of PEP 8 twins ---
