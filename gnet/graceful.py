"""Graceful stop on SIGTERM and SIGINT: ``gnet.run(graceful=ms)``.

What systemd, Kubernetes and a process manager expect of a server: on
SIGTERM stop accepting, let the open connections finish, and exit once
they have; if some are still open after a grace period, destroy them and
exit all the same. ``gnet.run(graceful=30000)`` does exactly that for
every server of the process that listens when the signal comes:

1. the first SIGTERM or SIGINT closes every listening server (as
   ``server.close()``: new connections are refused, open ones go on);
2. once every connection of those servers has closed, ``run()`` raises
   ``SystemExit(EXIT_DRAINED)`` (status 0);
3. if some are still open when ``graceful`` milliseconds have passed, or a
   second SIGTERM/SIGINT comes, they are destroyed and ``run()`` raises
   ``SystemExit(EXIT_FORCED)`` (status 3).

In a ``gnet.cluster`` primary, SIGHUP (while ``run(graceful=...)`` waits)
restarts the workers one by one (``cluster.restart()``) and SIGUSR2 starts
a new copy of the program that takes the listening sockets over
(``cluster.upgrade()``, :mod:`gnet.cluster.handover`); elsewhere SIGHUP and SIGUSR2
keep their dispositions.

It is a ``run()`` option rather than a server method because a signal
belongs to the process, not to one server, and because the handlers may be
installed only while ``run()`` waits: that is when the loop runs the Python
code that delivers them (the same reasoning as Ctrl-C in ``gnet.loop``).
Outside ``run()`` SIGTERM and SIGINT keep the dispositions the program gave
them. Node has no such call (a Node program writes
``process.on('SIGTERM', () => server.close())`` itself); the handlers here
never raise into the program, they only schedule the stop in the loop.

A cluster primary's stop also disconnects its workers (``gnet.cluster``
adds itself with :func:`add_stopper`). The servers are found through
:func:`track`, which ``Server`` calls when it starts listening (a weak
set: a server nobody holds is not kept alive).
"""

from __future__ import annotations

import signal
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic
from typing import TYPE_CHECKING, Any

import gevent
from gevent import get_hub
from gevent.event import Event

from gnet.loop import fail_run
from gnet.naming import module_aliases
from gnet.validate import validate_number

if TYPE_CHECKING:
    from gnet.server import Server

_public = ("gracefulStop", "listeningServers")

#: Exit status after a graceful stop in which every connection finished in time.
EXIT_DRAINED = 0
#: Exit status after a graceful stop that had to destroy connections (grace
#: period over, or a second signal). Distinct from 1, an unhandled error.
EXIT_FORCED = 3

# How often the drain looks at the open connections, in seconds.
_POLL_S = 0.02

_servers: weakref.WeakSet[Server] = weakref.WeakSet()


# Other parts of a stop (a cluster primary's workers): fn(grace_ms, hurry) -> forced.
_stoppers: list[Callable[[float, Event | None], bool]] = []


def add_stopper(stopper: Callable[[float, Event | None], bool]) -> None:
    """Make every graceful stop also call ``stopper(grace_ms, hurry)``; it returns "forced"."""
    _stoppers.append(stopper)


# What SIGHUP does while run(graceful=...) waits (a cluster primary: restart its workers).
_reloaders: list[Callable[[], Any]] = []


def add_reloader(reloader: Callable[[], Any]) -> None:
    """Make SIGHUP, while ``run(graceful=...)`` waits, call ``reloader()`` (in a greenlet)."""
    _reloaders.append(reloader)


# What SIGUSR2 does while run(graceful=...) waits (a cluster primary: gnet.cluster.handover).
_upgraders: list[Callable[[], Any]] = []


def add_upgrader(upgrader: Callable[[], Any]) -> None:
    """Make SIGUSR2, while ``run(graceful=...)`` waits, call ``upgrader()`` (in a greenlet)."""
    _upgraders.append(upgrader)


def track(server: Server) -> None:
    """Remember ``server`` as one a graceful stop closes (``Server`` calls it in listen)."""
    _servers.add(server)


def listeningServers() -> list[Server]:
    """Every server of this process that is listening now."""
    return [server for server in list(_servers) if server.listening]


class _Stop:
    """One graceful stop: which servers, how long, and whether it had to force."""

    def __init__(self, grace_ms: float) -> None:
        self.grace_s = grace_ms / 1000.0
        self.started = False
        self.hurry = Event()
        self.code: int | None = None

    def begin(self, _signum: int = signal.SIGTERM) -> None:
        # Runs in the hub (a loop callback): never blocks.
        if self.started:
            self.hurry.set()
            return
        self.started = True
        gevent.spawn(self.drain)

    def drain(self) -> None:
        self.code = gracefulStop(self.grace_s * 1000.0, self.hurry)
        fail_run(SystemExit(self.code))


def gracefulStop(grace_ms: float, hurry: Event | None = None) -> int:
    """Close every listening server, wait up to ``grace_ms`` for its connections, destroy the rest.

    The stop ``run(graceful=...)`` makes on a signal, callable directly (a
    cluster worker's ``disconnect()`` uses it). Blocks the calling greenlet.
    ``hurry``, once set, cuts the wait short. Returns :data:`EXIT_DRAINED`
    or :data:`EXIT_FORCED`.
    """
    servers = listeningServers()
    for server in servers:
        server.close()
    deadline = monotonic() + grace_ms / 1000.0
    forced = False
    for stopper in _stoppers:
        forced = stopper(max(0.0, deadline - monotonic()) * 1000.0, hurry) or forced
    while any(server._connections for server in servers):
        left = deadline - monotonic()
        if left <= 0 or (hurry is not None and hurry.is_set()):
            break
        if hurry is not None:
            hurry.wait(min(left, _POLL_S))
        else:
            gevent.sleep(min(left, _POLL_S))
    forced = any(server._connections for server in servers) or forced
    for server in servers:
        # Destroys what is left, and stops waiting for a listener stuck in a
        # blocking call (Server.stop's own rule).
        server.stop(0)
    return EXIT_FORCED if forced else EXIT_DRAINED


def _reload() -> None:
    for reloader in _reloaders:
        gevent.spawn(reloader)


@contextmanager
def graceful_signals(grace_ms: float) -> Iterator[None]:
    """SIGTERM and SIGINT start a graceful stop while the body (``run()``'s wait) runs.

    After the body, a stop that began raises ``SystemExit`` with its status
    (the body may have ended first: the last connection closed and nothing
    else kept the loop alive).
    """
    grace_ms = validate_number(grace_ms, "graceful", 0)
    if threading.current_thread() is not threading.main_thread():
        # Python delivers signals to the main thread only.
        yield
        return
    stop = _Stop(grace_ms)
    hub = get_hub()

    def on_signal(signum: int, _frame: Any) -> None:
        hub.loop.run_callback(stop.begin, signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    if _reloaders and hasattr(signal, "SIGHUP"):
        def on_hup(_signum: int, _frame: Any) -> None:
            hub.loop.run_callback(_reload)

        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    if _upgraders and hasattr(signal, "SIGUSR2"):
        def on_usr2(_signum: int, _frame: Any) -> None:
            for upgrader in _upgraders:
                hub.loop.run_callback(gevent.spawn, upgrader)

        previous[signal.SIGUSR2] = signal.signal(signal.SIGUSR2, on_usr2)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: not set from Python, nothing to put back
                signal.signal(sig, handler)
    if stop.started:
        if stop.code is None:
            # The loop went idle before the drain greenlet said so: every
            # connection closed, so nothing was forced.
            stop.code = EXIT_DRAINED
        raise SystemExit(stop.code)


__all__ = ("EXIT_DRAINED", "EXIT_FORCED", "add_reloader", "add_stopper", "add_upgrader", "track",
           *_public,
           *module_aliases(globals(), _public))

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    listening_servers = listeningServers
    graceful_stop = gracefulStop
# --- end of PEP 8 twins ---
