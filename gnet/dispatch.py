"""Where listeners run: a few worker greenlets that take ready tasks in turn.

Theory of operation
-------------------
gnet's I/O happens in gevent's hub, in io and timer watcher callbacks that
never block: they read, write and queue events. Listeners, though, must run
in a greenlet, never in the hub, because a listener may block cooperatively
(``gevent.sleep``, a monkey-patched ``requests.get``...).

Spawning a greenlet per event (or per socket per burst) costs a greenlet
creation and two switches each time, and a greenlet per connection that
sleeps in ``recv`` costs a stack per idle connection. Instead, a hub callback
appends a *task* (any callable: a socket's "run my queued events" method) to
one ready queue, and a small set of worker greenlets drain that queue. A busy
server with many ready sockets pays one switch into a worker for the whole
batch, not one per socket.

The one rule that makes this safe: whenever the ready queue is not empty,
some worker is running or is scheduled to run. A worker about to run a task
while more tasks wait makes sure another worker is scheduled first; so if the
task's listener blocks, the next worker takes the rest of the queue and other
connections never wait for a blocked listener. Workers beyond a few idle ones
exit, so a burst of blocking listeners does not leave greenlets behind.

Per-socket ordering is the socket's business: a socket puts itself in the
queue at most once and runs its events one after another (see socket.py).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent import get_hub
from gevent.event import Event
from greenlet import getcurrent

__all__ = ("idle_workers", "schedule", "wait_quiet")

logger = logging.getLogger("gnet")

# Idle workers kept parked for the next burst; more would only hold stacks.
MAX_IDLE_WORKERS = 4


class _Dispatcher:
    __slots__ = ("_hub", "_idle", "_quiet", "_ready", "_run_callback", "_scheduled", "_workers")

    def __init__(self) -> None:
        hub = get_hub()
        self._hub = hub
        self._run_callback = hub.loop.run_callback
        self._ready: deque[Callable[[], Any]] = deque()
        self._idle: list[Any] = []
        # Workers woken or spawned that have not started draining yet.
        self._scheduled = 0
        # Workers alive (parked, running, or blocked in a listener).
        self._workers = 0
        # Set when no task is queued and every worker is parked; made on demand.
        self._quiet: Any = None

    def busy(self) -> bool:
        return bool(self._ready) or len(self._idle) < self._workers

    def wait_quiet(self, timeout: float | None) -> bool:
        if not self.busy():
            return True
        if self._quiet is None:
            self._quiet = Event()
        self._quiet.clear()
        return bool(self._quiet.wait(timeout)) and not self.busy()

    def schedule(self, task: Callable[[], Any]) -> None:
        self._ready.append(task)
        if not self._scheduled:
            self._wake()

    def _wake(self) -> None:
        self._scheduled += 1
        if self._idle:
            self._run_callback(self._idle.pop().switch)
        else:
            self._workers += 1
            gevent.spawn_raw(self._work)

    def _work(self) -> None:
        try:
            self._drain()
        except BaseException:
            # KeyboardInterrupt or SystemExit raised in a listener: this
            # worker dies with it (the hub hands it to the main greenlet);
            # the queue must not be left without a worker.
            self._workers -= 1
            if self._ready and not self._scheduled:
                self._wake()
            raise

    def _drain(self) -> None:
        ready = self._ready
        idle = self._idle
        hub = self._hub
        while True:
            self._scheduled -= 1
            while ready:
                task = ready.popleft()
                if ready and not self._scheduled:
                    # This task's listeners may block: someone else must be
                    # on the way for the tasks behind it.
                    self._wake()
                try:
                    task()
                except Exception:  # a task handles its own listeners' errors
                    logger.exception("gnet: internal error in %r", task)
            quiet = self._quiet
            if quiet is not None and len(idle) + 1 == self._workers:
                quiet.set()
            if len(idle) >= MAX_IDLE_WORKERS:
                self._workers -= 1
                return
            idle.append(getcurrent())
            hub.switch()


_dispatcher: _Dispatcher | None = None


def schedule(task: Callable[[], Any]) -> None:
    """Run ``task()`` soon in a worker greenlet (never in the hub, never now)."""
    global _dispatcher
    d = _dispatcher
    if d is None:
        d = _dispatcher = _Dispatcher()
    d.schedule(task)


def idle_workers() -> list[Any]:
    """The worker greenlets parked for the next burst (kept on purpose, not leaked)."""
    return list(_dispatcher._idle) if _dispatcher is not None else []


def wait_quiet(timeout: float | None = None) -> bool:
    """Block until no task is queued and no listener runs (seconds); False on timeout."""
    if _dispatcher is None:
        return True
    return _dispatcher.wait_quiet(timeout)
