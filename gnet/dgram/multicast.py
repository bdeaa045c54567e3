"""Multicast on a UDP socket: groups, source-specific groups, hop limit, interface.

Node's ``addMembership``/``dropMembership``,
``addSourceSpecificMembership``/``dropSourceSpecificMembership``,
``setMulticastTTL``, ``setMulticastLoopback`` and
``setMulticastInterface``, as the socket options libuv sets on Linux. As
in libuv, joining a group creates the descriptor if ``bind()`` has not yet.

:class:`Multicast` is a part of :class:`gnet.dgram.Socket`;
:class:`gnet.dgram.parts.DatagramPart` declares what it needs from the socket.
"""

from __future__ import annotations

import _socket
import errno
import struct
from typing import TYPE_CHECKING, Any

from gnet.addresses import isIP
from gnet.dgram.parts import DatagramPart
from gnet.errors import MissingArgsError, system_error
from gnet.naming import add_aliases
from gnet.validate import validate_number, validate_string

__all__ = ("Multicast",)

# Linux values where the socket module lacks the name.
_IP_ADD_SOURCE_MEMBERSHIP = getattr(_socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
_IP_DROP_SOURCE_MEMBERSHIP = getattr(_socket, "IP_DROP_SOURCE_MEMBERSHIP", 40)
_MCAST_JOIN_SOURCE_GROUP = getattr(_socket, "MCAST_JOIN_SOURCE_GROUP", 46)
_MCAST_LEAVE_SOURCE_GROUP = getattr(_socket, "MCAST_LEAVE_SOURCE_GROUP", 47)
_IPV6_JOIN_GROUP = getattr(_socket, "IPV6_JOIN_GROUP", 20)
_IPV6_LEAVE_GROUP = getattr(_socket, "IPV6_LEAVE_GROUP", 21)


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


@add_aliases
class Multicast(DatagramPart):
    """Node's multicast methods of ``dgram.Socket``."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.dgram.parts)
        __slots__ = ()

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

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        set_multicast_ttl = setMulticastTTL
        set_multicast_loopback = setMulticastLoopback
        set_multicast_interface = setMulticastInterface
        add_membership = addMembership
        drop_membership = dropMembership
        add_source_specific_membership = addSourceSpecificMembership
        drop_source_specific_membership = dropSourceSpecificMembership
    # --- end of PEP 8 twins ---
