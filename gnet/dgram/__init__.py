"""gnet.dgram: Node's ``dgram`` module (UDP sockets) on gevent's loop."""

from gnet.dgram.socket import (
    BINDING as BINDING,
    BOUND as BOUND,
    CONNECTED as CONNECTED,
    CONNECTING as CONNECTING,
    DISCONNECTED as DISCONNECTED,
    MAX_PENDING as MAX_PENDING,
    MAX_PENDING_BYTES as MAX_PENDING_BYTES,
    UNBOUND as UNBOUND,
    Socket as Socket,
    createSocket as createSocket,
    create_socket as create_socket,
)

__all__ = ("Socket", "createSocket", "create_socket")
