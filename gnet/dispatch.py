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

A listener that never returns keeps its worker forever, and "every worker
parked" (what ``gnet.run()`` waits for) would never come. ``Server.stop()``
gives up on such listeners once its timeout has passed: :func:`abandon`
writes off the workers running tasks of the given sockets, so that
:func:`wait_quiet` no longer waits for them. A written-off worker that
returns after all is counted again.

Execution contexts: the one rule every module keeps
---------------------------------------------------
* The **hub** runs watcher and loop callbacks: reading, flushing,
  accepting, connect attempts, timers. They never block and never call
  user code: they change state and queue events.
* **Workers** (this module) run everything the user wrote: listeners,
  callbacks, custom lookup functions, and the gnet calls those make.
* The **caller's greenlet** runs the synchronous part of a gnet call
  (``write()`` may hand bytes to the kernel at once: the system calls are
  non-blocking, so that is safe from any greenlet of the loop's thread).
* A **resolver greenlet** (one per name lookup, :mod:`gnet.connector`) only
  waits for getaddrinfo() or a custom lookup; what it learns goes to the hub
  through ``loop.run_callback``, and the hub starts the connect attempts.
* The loop is reached one way: :func:`get_loop`.

Workers run in the thread of the hub they were started from. gnet's loop
objects are not thread-safe (neither are gevent's), so calls that touch them
check the thread first (:func:`check_thread`), and ``gnet.run()`` refuses
to run inside a worker, where it would wait for itself (:func:`in_worker`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import gevent
from gevent import get_hub
from gevent.event import Event
from gevent.monkey import get_original
from greenlet import getcurrent

from gnet.errors import ForeignThreadError

__all__ = ("abandon", "check_thread", "get_loop", "idle_workers", "in_worker", "recover",
           "schedule", "schedule_last", "wait_quiet")

# The OS thread's id even under monkey.patch_all(), where threading's is a
# greenlet's.
_thread_ident: Callable[[], int] = get_original("_thread", "get_ident")

logger = logging.getLogger("gnet")

# Idle workers kept parked for the next burst; more would only hold stacks.
MAX_IDLE_WORKERS = 4


class _Dispatcher:
    __slots__ = ("_all", "_hub", "_idle", "_loop", "_quiet", "_ready", "_run_callback",
                 "_scheduled", "_workers", "_written_off")

    def __init__(self) -> None:
        hub = get_hub()
        self._hub = hub
        # schedule_last() needs libev's pending count; another loop has none.
        self._loop = hub.loop if hasattr(hub.loop, "pendingcnt") else None
        self._run_callback = hub.loop.run_callback
        self._ready: deque[Callable[[], Any]] = deque()
        self._idle: list[Any] = []
        # Workers woken or spawned that have not started draining yet.
        self._scheduled = 0
        # Workers alive (parked, running, or blocked in a listener).
        self._workers = 0
        # Set when no task is queued and every worker is parked; made on demand.
        self._quiet: Any = None
        # Every worker alive, and those blocked in a task that abandon() gave up on.
        self._all: set[Any] = set()
        self._written_off: set[Any] = set()

    def busy(self) -> bool:
        return bool(self._ready) or len(self._idle) + len(self._written_off) < self._workers

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
            self._all.add(gevent.spawn_raw(self._work))

    def _work(self) -> None:
        me = getcurrent()
        try:
            self._drain(me)
        except BaseException:
            # KeyboardInterrupt or SystemExit raised in a listener: this
            # worker dies with it (the hub hands it to the main greenlet);
            # the queue must not be left without a worker.
            self._workers -= 1
            self._written_off.discard(me)
            if self._ready and not self._scheduled:
                self._wake()
            raise
        finally:
            self._all.discard(me)

    def _drain(self, me: Any) -> None:
        ready = self._ready
        idle = self._idle
        hub = self._hub
        written_off = self._written_off
        while True:
            if self._scheduled > 0:  # recover() may have zeroed it meanwhile
                self._scheduled -= 1
            if me in idle:  # recover() took it back while a wake-up was pending
                idle.remove(me)
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
                # A parked worker must not keep its last socket alive.
                del task
                if written_off:
                    written_off.discard(me)  # it came back after all
            quiet = self._quiet
            if quiet is not None and len(idle) + len(written_off) + 1 >= self._workers:
                quiet.set()
            if len(idle) >= MAX_IDLE_WORKERS:
                self._workers -= 1
                return
            idle.append(me)
            hub.switch()

    def recover(self) -> None:
        # A KeyboardInterrupt raised in the hub can cut a wake-up short (the
        # callback that was to switch into a parked worker): the count says
        # a worker is on its way, none is, and the ready tasks would wait
        # for ever. Start afresh; a worker that was on its way after all
        # finds the queue drained and parks. A worker parked outside the idle
        # list (the one whose wake-up was lost) goes back into it.
        idle = self._idle
        current = getcurrent()
        for worker in list(self._all):
            if worker.dead:
                # Killed before it ever ran (the interrupt hit its start).
                self._all.discard(worker)
                continue
            if worker is current or worker in idle or worker in self._written_off:
                continue
            if _running_task(worker) is None:
                idle.append(worker)  # parked, but its wake-up was lost
        self._workers = len(self._all)
        self._idle[:] = [worker for worker in idle if not worker.dead]
        self._scheduled = 0
        if self._ready:
            self._wake()

    def abandon(self, owners: Iterable[Any]) -> set[Any]:
        # Slow path (Server.stop()): find the workers blocked in a task of
        # one of ``owners`` by looking at the task their _drain() frame runs.
        owners = set(owners)
        found: set[Any] = set()
        current = getcurrent()
        idle = self._idle
        for worker in self._all:
            if worker is current or worker in idle:
                continue
            owner = _owner(_running_task(worker))
            if owner is not None and owner in owners:
                found.add(owner)
                self._written_off.add(worker)
        quiet = self._quiet
        if found and quiet is not None and not self.busy():
            quiet.set()
        return found


def _running_task(worker: Any) -> Any:
    frame = worker.gr_frame
    code = _Dispatcher._drain.__code__
    while frame is not None:
        if frame.f_code is code:
            return frame.f_locals.get("task")
        frame = frame.f_back
    return None


def _owner(task: Any) -> Any:
    # The object a task belongs to: a socket's bound _run, or a
    # partial(server._serve, sock).
    if isinstance(task, partial):
        return task.args[0] if task.args else None
    return getattr(task, "__self__", None)


_dispatcher: _Dispatcher | None = None


def get_loop() -> Any:
    """The gevent loop of the calling thread's hub: the one way gnet reaches its loop."""
    return get_hub().loop


def schedule(task: Callable[[], Any]) -> None:
    """Run ``task()`` soon in a worker greenlet (never in the hub, never now)."""
    global _dispatcher
    d = _dispatcher
    if d is None:
        d = _dispatcher = _Dispatcher()
    # _Dispatcher.schedule inlined: every chunk read and every queued event
    # comes through here, and a Python call is a tenth of its cost.
    d._ready.append(task)
    if not d._scheduled:
        d._wake()


def schedule_last(task: Callable[[], Any]) -> None:
    """:func:`schedule` for a hub callback that does nothing after this call.

    A socket's read callback hands its chunk over this way. When the loop
    has no other watcher left to call in this turn (libev's pending count
    is 0), no task is queued and a worker is parked, nothing could join a
    batch with this task: switching into the worker now (as gevent's own
    waiters are switched into from watcher callbacks) runs it with the same
    greenlets and the same order of this socket's events, and saves the
    loop callback that would otherwise wake the worker. The worker parks
    by switching back to the hub, which returns here. Anything else, and
    any other caller, takes :func:`schedule`.
    """
    d = _dispatcher
    if (d is not None and not d._scheduled and not d._ready and d._idle
            and d._loop is not None and not d._loop.pendingcnt and getcurrent() is d._hub):
        d._ready.append(task)
        d._scheduled += 1
        d._idle.pop().switch()
        return
    schedule(task)


def abandon(owners: Iterable[Any]) -> set[Any]:
    """Stop waiting for listeners of ``owners`` that are running now.

    Used by ``Server.stop()`` once its timeout has passed: a worker running
    a task of one of ``owners`` (a socket's events, its 'connection'
    listeners) no longer keeps :func:`wait_quiet`, hence ``gnet.run()``,
    waiting. The greenlet itself stays where it is (nothing can safely
    interrupt a listener); if it returns, it is counted again.

    Args:
        owners: The objects (sockets) whose running listeners to give up on.

    Returns:
        Those of ``owners`` that had a listener running.
    """
    if _dispatcher is None:
        return set()
    return _dispatcher.abandon(owners)


def in_worker() -> bool:
    """Whether the calling greenlet is one of gnet's workers (runs listeners)."""
    return _dispatcher is not None and getcurrent() in _dispatcher._all


def check_thread(operation: str) -> None:
    """Raise if called from an OS thread other than the one gnet's loop runs in.

    About 0.1 µs; called on the paths that touch the loop (queueing a
    write, end, destroy, connect, listen), not on a write the kernel takes
    whole.

    Args:
        operation: The method called, for the message (``'write'``).

    Raises:
        ForeignThreadError: the calling thread does not run gnet's hub.
    """
    d = _dispatcher
    if d is not None and _thread_ident() != d._hub.thread_ident:
        raise ForeignThreadError(operation)


def recover() -> None:
    """After a KeyboardInterrupt: make sure queued tasks have a worker on the way."""
    if _dispatcher is not None:
        _dispatcher.recover()


def idle_workers() -> list[Any]:
    """The worker greenlets parked for the next burst (kept on purpose, not leaked)."""
    return list(_dispatcher._idle) if _dispatcher is not None else []


def wait_quiet(timeout: float | None = None) -> bool:
    """Block until no task is queued and no listener runs (seconds); False on timeout."""
    if _dispatcher is None:
        return True
    return _dispatcher.wait_quiet(timeout)
