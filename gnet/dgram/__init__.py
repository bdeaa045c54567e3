"""gnet.dgram: Node's ``dgram`` module (UDP sockets) on gevent's loop.

``from gnet import dgram`` and use Node's names: ``dgram.createSocket``,
``dgram.Socket``; every camelCase name also answers to its PEP 8 spelling.

Theory of operation
-------------------
This is the UDP sibling of the TCP transport in ``gnet/socket.py``: the same
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

The modules, one concept each: :mod:`~gnet.dgram.socket` (the socket:
construction, bind, lookup, events, address, close) assembled from its
parts (:mod:`~gnet.dgram.parts` declares what they share):
:mod:`~gnet.dgram.receive` (the receive path and the event queue),
:mod:`~gnet.dgram.send` (``send()`` and the send queue),
:mod:`~gnet.dgram.connected` (connected mode), :mod:`~gnet.dgram.multicast`
(groups and source-specific groups) and :mod:`~gnet.dgram.options`
(broadcast, TTL, buffer sizes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gnet.dgram.parts import (
    _MISSING,
    BINDING as BINDING,
    BOUND as BOUND,
    CONNECTED as CONNECTED,
    CONNECTING as CONNECTING,
    DISCONNECTED as DISCONNECTED,
    UNBOUND as UNBOUND,
)
from gnet.dgram.receive import (
    MAX_PENDING as MAX_PENDING,
    MAX_PENDING_BYTES as MAX_PENDING_BYTES,
    READ_BATCH as READ_BATCH,
    READ_BUDGET as READ_BUDGET,
    RECV_SIZE as RECV_SIZE,
)
from gnet.dgram.socket import Socket as Socket
from gnet.naming import fix_module, module_aliases

__all__ = ("Socket", "createSocket")


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
