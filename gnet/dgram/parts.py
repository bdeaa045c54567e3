"""What the parts of a UDP socket ask of the socket they are part of.

:class:`gnet.dgram.Socket` is assembled from parts, one concept each, as
:class:`gnet.Socket` is: :class:`~gnet.dgram.receive.ReceivePath` (the
event queue and the receive path), :class:`~gnet.dgram.send.SendPath`
(``send()`` and the send queue), :class:`~gnet.dgram.connected.ConnectedMode`
(``connect()``, ``disconnect()``, ``remoteAddress()``),
:class:`~gnet.dgram.multicast.Multicast` (groups, source-specific groups,
multicast hop limit, interface and loopback) and
:class:`~gnet.dgram.options.DatagramOptions` (broadcast, TTL, buffer
sizes). The parts hold no state of their own (the socket's ``__slots__``
hold all of it) and share :class:`DatagramPart` as their base: empty at run
time, and for type checkers the one declaration of the fields and methods
of the socket they use.

The states every part reads, and the argument rules more than one part
applies, live here too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gnet.addresses import validate_port
from gnet.errors import InvalidArgTypeError, SocketBadPortError

if TYPE_CHECKING:
    from gnet.blocklist import BlockList

__all__ = (
    "BINDING", "BOUND", "CONNECTED", "CONNECTING", "DISCONNECTED", "UNBOUND", "DatagramPart",
)

UNBOUND, BINDING, BOUND = range(3)
DISCONNECTED, CONNECTING, CONNECTED = range(3)

_UINT32_MAX = 2**32 - 1
_INT_MAX = 2**31 - 1

_MISSING: Any = object()


def _dgram_port(value: Any) -> int:
    # Node's validatePort(port, 'Port', false): any non-number is a bad port too.
    try:
        return validate_port(value, "Port", allow_zero=False)
    except InvalidArgTypeError:
        raise SocketBadPortError("Port", value, allow_zero=False) from None




class DatagramPart:
    """The base of a UDP socket's parts (see the module docstring)."""

    if not TYPE_CHECKING:
        __slots__ = ()

    if TYPE_CHECKING:
        # The descriptor and its watchers (gnet.dgram.socket.Socket).
        type: str
        _af: int
        _family_name: str
        _kind: int
        _loopback: str
        _sock: Any
        _rw: Any
        _ww: Any
        # Node's state machine and the work waiting for 'listening'.
        _bind_state: int
        _connect_state: int
        _closed: bool
        _pending: list[Callable[[], Any]] | None
        _lookup: Callable[..., Any] | None
        _receive_block_list: BlockList | None
        _send_block_list: BlockList | None
        # The event queue and the receive path.
        _events: dict[Any, Any]
        _eq: deque[tuple[Any, Any]]
        _queued: bool
        _in_flight: int
        _in_flight_bytes: int
        _throttled: bool
        _buf: bytearray | None
        _view: memoryview | None
        # The send queue.
        _sq: deque[list[Any]]
        _sq_bytes: int

        # Socket and EventEmitter methods the parts call.
        def _health_check(self) -> None: ...
        def _need_fd(self, syscall: str) -> Any: ...
        def _open(self) -> Any: ...
        def _setopt(self, syscall: str, level: int, option: int, value: Any) -> None: ...
        def _v6(self) -> bool: ...
        def _emit(self, name: str, *args: Any) -> None: ...
        def _error_event(self, err: BaseException) -> None: ...
        def _enqueue(self, work: Callable[[], Any]) -> None: ...
        def _resolve(self, address: str, callback: Callable[..., Any]) -> None: ...
        def bind(self, *args: Any, **kwargs: Any) -> Any: ...
        def close(self, callback: Callable[..., Any] | None = None) -> Any: ...
        def once(self, name: Any, listener: Any = None) -> Any: ...
        def removeListener(self, name: Any, listener: Any) -> Any: ...
        # Methods of one part another calls.
        def _queue(self, fn: Callable[..., Any], *args: Any) -> None: ...
        def _bind_implicit(self) -> None: ...
