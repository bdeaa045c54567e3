"""Where a stream socket's connection runs between: Node's address properties.

Theory of operation
-------------------
Both ends of a connection are answered from what the socket already holds,
never from a field kept up to date for them:

* the local end (``address()``, ``localAddress``, ``localPort``,
  ``localFamily``) asks the transport (``getsockname()``) at each read, so
  it is there while the socket is connected and gone (``{}``, None) once it
  is closed, as in Node; a pipe or a Unix socket has no address;
* the remote end (``remoteAddress``, ``remotePort``, ``remoteFamily``) is the
  sockaddr the socket got when it was connected (from ``accept()`` or
  ``getpeername()``, see :mod:`gnet.connecting`), kept after close as Node
  keeps it;
* behind a PROXY protocol header (a gnet extension), the remote end is the
  client the header advertises (the :class:`~gnet.proxy_protocol.ProxyPeer`
  a server set with :func:`gnet.socket.advertise` before 'connection'), and
  the ``proxyPeer*`` properties, ``proxyHeader`` and ``proxyTlvs`` tell the
  real peer (the balancer) and the header. A socket that read no header
  answers None to each.

Where code runs: only in the caller's greenlet, when a property is read;
nothing here runs in the hub or in a worker, and nothing is computed for a
connection whose addresses nobody reads.

:class:`Endpoints` is a part of :class:`gnet.Socket` (a mixin with no state
of its own: the socket's slots and class defaults hold it);
:class:`gnet.parts.SocketPart` declares what it needs from the socket.
"""

from __future__ import annotations

import _socket
from typing import TYPE_CHECKING, Any

from gnet.addresses import address_info
from gnet.naming import add_aliases
from gnet.parts import SocketPart

__all__ = ("Endpoints",)


@add_aliases
class Endpoints(SocketPart):
    """Node's ``address()``, ``remote*`` and ``local*``; gnet's ``proxy*`` (PROXY protocol)."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    def address(self) -> dict[str, Any]:
        """The local address ``{'address', 'family', 'port'}``; ``{}`` when not connected."""
        t = self._t
        if t is None or not t.is_tcp:
            return {}  # Node gives {} for a pipe too
        try:
            info: dict[str, Any] = address_info(t.getsockname(), t.family)
            return info
        except OSError:
            return {}

    @property
    def remoteAddress(self) -> str | None:
        """The peer's IP address; kept after close, None before connecting.

        Behind a PROXY protocol header, the client's address it advertised.
        """
        if self._proxy is not None:
            return self._proxy.remote[0]
        remote = self._remote
        return remote[0] if remote is not None else None

    @property
    def remotePort(self) -> int | None:
        """The peer's port; kept after close, None before connecting (PROXY: the advertised one)."""
        if self._proxy is not None:
            return self._proxy.remote[1]
        remote = self._remote
        return remote[1] if remote is not None else None

    @property
    def remoteFamily(self) -> str | None:
        """'IPv4' or 'IPv6'; kept after close, None before connecting (PROXY: advertised)."""
        if self._proxy is not None:
            return self._proxy.remote[2]
        remote = self._remote
        if remote is None:
            return None
        # An IPv6 address (an IPv4-mapped one too, as Node says) has a colon.
        return "IPv6" if ":" in remote[0] else "IPv4"

    # PROXY protocol (a gnet extension): what a server made with the
    # proxyProtocol option read before 'connection'; None otherwise.

    @property
    def proxyPeerAddress(self) -> str | None:
        """The real peer's IP address (the balancer's) behind a PROXY header, or None."""
        return self._proxy.peer[0] if self._proxy is not None else None

    @property
    def proxyPeerPort(self) -> int | None:
        """The real peer's port behind a PROXY header, or None."""
        return self._proxy.peer[1] if self._proxy is not None else None

    @property
    def proxyPeerFamily(self) -> str | None:
        """'IPv4' or 'IPv6' for the real peer behind a PROXY header, or None."""
        return self._proxy.peer[2] if self._proxy is not None else None

    @property
    def proxyHeader(self) -> Any:
        """The PROXY header (a :class:`gnet.proxy_protocol.ProxyHeader`), or None."""
        return self._proxy.header if self._proxy is not None else None

    @property
    def proxyTlvs(self) -> dict[str, Any] | None:
        """The PROXY v2 header's TLVs decoded (see ``gnet.proxy_protocol.decode_tlvs``), or None."""
        return self._proxy.tlvs() if self._proxy is not None else None

    @property
    def localAddress(self) -> str | None:
        """Our IP address on this connection, or None."""
        return self.address().get("address")

    @property
    def localPort(self) -> int | None:
        """Our port on this connection, or None."""
        return self.address().get("port")

    @property
    def localFamily(self) -> str | None:
        """'IPv4' or 'IPv6' for our end, or None."""
        t = self._t
        if t is None or not t.is_tcp:
            return None
        return "IPv6" if t.family == _socket.AF_INET6 else "IPv4"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        remote_address = remoteAddress
        remote_port = remotePort
        remote_family = remoteFamily
        proxy_peer_address = proxyPeerAddress
        proxy_peer_port = proxyPeerPort
        proxy_peer_family = proxyPeerFamily
        proxy_header = proxyHeader
        proxy_tlvs = proxyTlvs
        local_address = localAddress
        local_port = localPort
        local_family = localFamily
    # --- end of PEP 8 twins ---
