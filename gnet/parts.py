"""What the parts of a Socket ask of the socket they are part of.

:class:`gnet.Socket` is assembled from parts, one concept each:
:class:`~gnet.write_side.WriteSide`, :class:`~gnet.read_side.ReadSide`,
:class:`~gnet.pull.PullMode`, :class:`~gnet.connecting.Connecting`,
:class:`~gnet.timeouts.IdleTimeout`, :class:`~gnet.sockopts.SocketOptions` and
:class:`~gnet.endpoints.Endpoints`. The parts hold no state of their own (the
socket's ``__slots__`` and class-level defaults hold all of it) and share
:class:`SocketPart` as their base: empty at run time, and for type checkers
the one declaration of the fields and methods of the socket they use.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gevent.hub import Waiter

    from gnet.blocklist import BlockList
    from gnet.connector import Connector
    from gnet.encodings import Decoder
    from gnet.pull import _Pull
    from gnet.state import Lifecycle
    from gnet.timeouts import Idle
    from gnet.transport import StreamTransport

__all__ = ("END", "SocketPart")

END = None  # marks EOF in the read queue (chunks are never None)

S = TypeVar("S", bound="SocketPart")


class SocketPart:
    """The base of a Socket's parts (see the module docstring)."""

    if not TYPE_CHECKING:
        __slots__ = ()

    if TYPE_CHECKING:
        # The lifecycle, the transport and the queues (gnet.socket.Socket).
        _life: Lifecycle
        _generation: int
        _t: StreamTransport | None
        _timer: Idle | None
        _active: bool
        _queued: bool
        _error: BaseException | None
        allowHalfOpen: bool
        # Read side.
        _rq: list[Any] | None
        _rlen: int
        _rhwm: int
        _flowing: bool | None
        _pull: bool | _Pull
        _waiter: Waiter | None
        _decoder: Decoder | None
        bytesRead: int
        # TCP options.
        _no_delay: bool | None
        _keep_alive: tuple[bool, float, float | None, int | None] | None
        # Write side.
        _wq: deque[list[Any]] | None
        _wlen: int
        _whwm: int
        _corked: int
        _need_drain: bool
        _onfinished: list[Callable[..., Any]] | None
        _bytes_written: int
        # Connecting (class-level defaults on the socket, but _remote).
        _attempt: Connector | None
        _reset_on_connect: bool
        _signal_aborted: bool
        _block_list: BlockList | None
        autoSelectFamilyAttemptedAddresses: list[str] | None
        # Endpoints: the peer's sockaddr, and a PROXY header's ProxyPeer.
        _remote: tuple[Any, ...] | None
        _proxy: Any

        # Socket and EventEmitter methods the parts call.
        def _queue(self, fn: Callable[..., Any], *args: Any) -> None: ...
        def _schedule(self) -> None: ...
        def _run(self) -> None: ...
        def _begin(self) -> None: ...
        def _destroy(self, error: BaseException | None, had_error: bool) -> None: ...
        def _auto_destroy(self) -> None: ...
        def _sync_active(self) -> None: ...
        def _touch(self) -> None: ...
        def emit(self, name: Any, *args: Any) -> bool: ...
        def once(self, name: Any, listener: Any = None) -> Any: ...
        def removeListener(self: S, name: Any, listener: Any) -> S: ...
        def listenerCount(self, name: Any, listener: Any = None) -> int: ...
        def destroy(self: S, error: BaseException | None = None) -> S: ...
        def end(self, data: Any = None, encoding: Any = None, callback: Any = None) -> Any: ...
        def resetAndDestroy(self: S) -> S: ...
        # WriteSide methods Connecting calls.
        def _flush(self) -> None: ...
        def _shutdown(self) -> None: ...
        # ReadSide methods PullMode calls.
        def _start_reading(self) -> None: ...
        def _stop_reading(self) -> None: ...
        def _consumed(self, n: int) -> None: ...
        def _has_room(self) -> bool: ...
        def _wake(self) -> None: ...
        def _emit_end(self) -> None: ...
        def resume(self: S) -> S: ...
