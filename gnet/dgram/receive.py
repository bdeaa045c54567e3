"""The receive path of a UDP socket, and the event queue it feeds.

Every event ('listening', 'message', 'connect', 'error', 'close') and every
send callback reaches listeners through one queue per socket, drained by a
gnet worker greenlet in order. Datagrams travel the same queue, so the
drain (``_run``) lives here beside the read watcher's callback that fills
it: together they are the receive hot path, and both are written for it
(locals bound once per batch, ``emit('message')`` inlined).

Receive path (hub -> worker)::

    read watcher fires -> recvfrom_into() a 64 KiB buffer until EAGAIN
      (at most READ_BATCH datagrams per loop turn, so a flood cannot starve
      other sockets) -> each datagram copied out as bytes, queued with its
      rinfo -> the socket schedules itself once -> a worker emits 'message'
      in arrival order

When listeners fall behind, at most MAX_PENDING datagrams (or
MAX_PENDING_BYTES) wait in gnet; then the read watcher stops until the
worker catches up, and further datagrams wait in (or are dropped by) the
kernel's receive buffer.

:class:`ReceivePath` is a part of :class:`gnet.dgram.Socket`;
:class:`gnet.dgram.parts.DatagramPart` declares what it needs from the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gnet.dgram.parts import DatagramPart
from gnet.dispatch import schedule
from gnet.errors import system_error

__all__ = (
    "MAX_PENDING", "MAX_PENDING_BYTES", "READ_BATCH", "READ_BUDGET", "RECV_SIZE", "ReceivePath",
)

logger = logging.getLogger("gnet")

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


class ReceivePath(DatagramPart):
    """The event queue (``_queue``, ``_run``) and the read watcher's callback."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.dgram.parts)
        __slots__ = ()

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
