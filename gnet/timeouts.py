"""The idle timeout of a stream socket: Node's ``setTimeout`` and 'timeout'.

Theory of operation
-------------------
The state lives in an :class:`Idle` object made by the first
``setTimeout`` (a socket that never calls it pays one pointer). Activity (a
read, a write, a flush) only stamps a time (``_touch``); one loop timer per
socket checks the stamp when it runs out and re-arms itself for what is
left, so reads and writes rarely touch the timer. After a
'timeout' the timer stays stopped (no wake-ups while the socket stays idle)
until activity starts a new idle period.

:class:`IdleTimeout` is a part of :class:`gnet.Socket`;
:class:`gnet.parts.SocketPart` declares what it needs from the socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gnet.dispatch import get_loop
from gnet.naming import add_aliases
from gnet.parts import SocketPart
from gnet.validate import validate_function, validate_timeout

__all__ = ("Idle", "IdleTimeout")

S = TypeVar("S", bound="IdleTimeout")


class Idle:
    """One socket's idle timeout: made by the first ``setTimeout``, kept until the socket goes.

    A socket that never calls ``setTimeout`` holds None instead, so idle
    connections pay one pointer for the feature.
    """

    __slots__ = ("last_io", "ms", "timed_out_at", "watcher")

    def __init__(self) -> None:
        self.ms: float = 0  # as given (Node shows 1500, not 1500.0); 0: disabled
        self.last_io = 0.0  # loop time of the last read, write or flush
        self.timed_out_at: float | None = None  # last_io when 'timeout' was queued
        self.watcher: Any = None  # the loop timer while a delay runs

    def stop(self) -> None:
        """Stop and release the loop timer, if any."""
        watcher = self.watcher
        if watcher is not None:
            self.watcher = None
            watcher.stop()
            watcher.close()


@add_aliases
class IdleTimeout(SocketPart):
    """Node's ``socket.setTimeout(ms[, callback])``, ``timeout`` and 'timeout'."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    def setTimeout(self: S, timeout: float, callback: Callable[..., Any] | None = None) -> S:
        """Emit 'timeout' after ``timeout`` ms without reads or writes.

        Node's ``socket.setTimeout``: the socket is not closed (call
        ``destroy()`` or ``end()`` in the listener); ``0`` disables it.
        ``callback`` is added as a one-time 'timeout' listener. Returns self.

        Raises:
            InvalidArgTypeError: timeout not a number, or callback not callable.
            OutOfRangeError: negative, NaN or infinite timeout.
        """
        ms = validate_timeout(timeout, "msecs")
        if callback is not None:
            validate_function(callback, "callback")
        if self._life.teardown:
            return self
        idle = self._timer
        if idle is None:
            idle = self._timer = Idle()
        idle.stop()
        if ms == 0:
            idle.ms = 0
            if callback is not None:
                self.removeListener("timeout", callback)
            return self
        # Kept as given: Node shows 1500, not 1500.0.
        idle.ms = timeout if isinstance(timeout, int) else ms
        if callback is not None:
            self.once("timeout", callback)
        idle.last_io = get_loop().now()
        idle.timed_out_at = None
        self._arm(idle, ms)
        return self

    def _arm(self, idle: Idle, ms: float) -> None:
        # Node's timers run at least 1 ms after they are set: a smaller
        # delay (1e-300) would wake the loop at once, over and over.
        watcher = idle.watcher = get_loop().timer(max(ms, 1.0) / 1000.0)
        watcher.start(self._on_timer)

    def _touch(self) -> None:
        # Activity (a read, a write, a flush) once setTimeout was called.
        # Mostly a time stamp that the timer reads when it runs out; after a
        # 'timeout', the timer is stopped, and activity starts a new idle
        # period. Callers check that _timer is set.
        idle: Idle = self._timer  # type: ignore[assignment]
        idle.last_io = get_loop().now()
        if idle.ms and (idle.watcher is None or not idle.watcher.active) \
                and not self._life.teardown:
            idle.stop()
            self._arm(idle, idle.ms)

    def _on_timer(self) -> None:
        # Hub. Activity only stamps last_io; the timer checks it here and
        # re-arms for what is left, so reads and writes rarely touch it.
        idle = self._timer
        if idle is None or not idle.ms or idle.watcher is None:
            return
        loop = get_loop()
        left = max(idle.ms, 1.0) - (loop.now() - idle.last_io) * 1000.0
        idle.watcher.stop()
        if left > 0.5:
            idle.stop()
            watcher = idle.watcher = loop.timer(left / 1000.0)
            watcher.start(self._on_timer)
            return
        # Idle for the whole delay: one 'timeout', as in Node, and the timer
        # stays stopped (no wake-ups while the socket stays idle) until
        # activity re-arms it in _touch().
        idle.timed_out_at = idle.last_io
        self._queue(self._emit_timeout)

    def _emit_timeout(self) -> None:
        # A setTimeout() made after the timer ran out (0, or a new delay,
        # which clears timed_out_at) still wins.
        idle = self._timer
        if not self._life.teardown and idle is not None and idle.ms \
                and idle.timed_out_at is not None:
            self.emit("timeout")

    @property
    def timeout(self) -> float | None:
        """The idle timeout in ms set by ``setTimeout`` (0 once disabled), or None if never set.

        Assigning to it calls ``setTimeout(value)`` (in Node it is a plain
        property that leaves the timer alone).
        """
        idle = self._timer
        return None if idle is None else idle.ms

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.setTimeout(value)

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        set_timeout = setTimeout
    # --- end of PEP 8 twins ---
