"""Fixtures and checks shared by every gnet test.

Sections: session set-up (monkey-patch check, Hypothesis profiles, report
header), per-test hygiene (no greenlet outlives its test), and transports
(addresses and paths to listen on). Add new shared fixtures to the section
they belong to; fixtures used by one module stay in that module.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import gevent
import gevent.monkey
import greenlet
import pytest
from gevent.hub import Hub
from hypothesis import settings

import gnet.loop
from gnet.dispatch import idle_workers

# --- session -----------------------------------------------------------------

# Set by tox: "1" in the -monkey envs (tests/monkey_run.py), "0" in the plain ones.
_EXPECT_MONKEY = os.environ.get("GNET_TEST_MONKEY")


def _is_monkey_patched() -> bool:
    return bool(gevent.monkey.is_module_patched("socket"))


# CI must give the same answer on every run: no random examples, no example
# database carried between runs, no deadline that a loaded 2-core box can miss.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    # A tox env that meant to test under patch_all() but did not (or the
    # reverse) would pass while testing the wrong thing: refuse to start.
    if _EXPECT_MONKEY is not None and (_EXPECT_MONKEY == "1") != _is_monkey_patched():
        raise pytest.UsageError(
            f"GNET_TEST_MONKEY={_EXPECT_MONKEY} does not match this process: socket is "
            f"{'' if _is_monkey_patched() else 'not '}monkey-patched "
            "(tests/monkey_run.py patches, plain pytest does not)"
        )


# Set to "skip" by most tox envs: the slow `once` tests run in one env only.
_SKIP_ONCE = os.environ.get("GNET_ONCE") == "skip"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _SKIP_ONCE:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if item.get_closest_marker("once") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"gnet: gevent {version('gevent')}, greenlet {version('greenlet')}, "
        f"zope.interface {version('zope.interface')}, "
        f"monkey-patched: {'yes' if _is_monkey_patched() else 'no'}, "
        f"'once' tests: {'deselected (GNET_ONCE=skip)' if _SKIP_ONCE else 'run'}"
    )


@pytest.fixture(scope="session")
def monkey_patched() -> bool:
    """Whether this test session runs under ``gevent.monkey.patch_all()``."""
    return _is_monkey_patched()


# --- per-test hygiene ----------------------------------------------------------

# How long a test's leftover greenlets get to finish on their own (closing
# handshakes, a server's last 'close') before they count as leaked.
_GREENLET_GRACE_S = 1.0


class _GreenletWatch:
    """Remembers the greenlets first switched into while a test runs.

    Scanning gc.get_objects() around every test would cost ~10 ms a test; a
    greenlet trace function costs nothing for tests that start no greenlet.
    A greenlet counts from its first switch, so one started by a fixture of
    wider scope belongs to that fixture only if it has run before the test
    starts (a gevent.sleep(0) at the end of the fixture's set-up).
    """

    def __init__(self) -> None:
        self.known: weakref.WeakSet[greenlet.greenlet] = weakref.WeakSet()
        self.new: list[greenlet.greenlet] = []
        self.recording = False
        self._previous = greenlet.settrace(self)

    def __call__(self, event: str, args: tuple[greenlet.greenlet, greenlet.greenlet]) -> None:
        if event in ("switch", "throw"):
            target = args[1]
            if target not in self.known:
                self.known.add(target)
                if self.recording:
                    self.new.append(target)
        if self._previous is not None:
            self._previous(event, args)

    def leaked(self) -> list[greenlet.greenlet]:
        # bool(): true while a greenlet is started and not dead (a
        # gevent.Greenlet also while it waits to start).
        # gnet's parked dispatcher workers are kept for the next burst by design.
        parked = {id(g) for g in idle_workers()}
        return [
            g for g in self.new
            if g and g.parent is not None and not isinstance(g, Hub) and id(g) not in parked
        ]


_watch: _GreenletWatch | None = None


def _greenlet_watch() -> _GreenletWatch:
    # Created on first use, in the thread that runs the tests: greenlet's
    # trace function is per thread.
    global _watch
    if _watch is None:
        _watch = _GreenletWatch()
    return _watch


def _kill(leaked: list[greenlet.greenlet]) -> None:
    """Kill leaked gevent greenlets so that they cannot disturb later tests."""
    # Under patch_all() a thread is a greenlet: the GreenletExit that ends it
    # would reach threading.excepthook and be reported against the next test.
    hook = threading.excepthook

    def quiet_hook(args: threading.ExceptHookArgs) -> None:
        if not issubclass(args.exc_type, greenlet.GreenletExit):
            hook(args)

    threading.excepthook = quiet_hook
    try:
        gevent.killall([g for g in leaked if isinstance(g, gevent.Greenlet)], timeout=1)
    finally:
        threading.excepthook = hook


@pytest.fixture(autouse=True)
def _no_leaked_greenlets() -> Iterator[None]:
    """Fail a test that leaves a greenlet running after its fixtures are torn down."""
    watch = _greenlet_watch()
    watch.new.clear()
    watch.recording = True
    leaked: list[greenlet.greenlet] = []
    try:
        yield
        # Let what the test spawned but never yielded to start, so it is seen.
        gevent.sleep(0)
        deadline = time.monotonic() + _GREENLET_GRACE_S
        leaked = watch.leaked()
        while leaked and time.monotonic() < deadline:
            gevent.sleep(0.01)
            leaked = watch.leaked()
    finally:
        watch.recording = False
        watch.new.clear()
    if leaked:
        names = ", ".join(sorted(repr(g) for g in leaked))
        _kill(leaked)
        pytest.fail(f"test left {len(leaked)} greenlet(s) running: {names}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_pending_fatal_error() -> Iterator[None]:
    """Forget a server 'error' nobody handled: it would end the next test's gnet.run().

    In a script such an error ends ``run()`` (Node crashes); tests that
    provoke one on purpose check the log or ``run()`` themselves.
    """
    yield
    gnet.loop._keeper.fatal = None


# --- transports ------------------------------------------------------------------


@pytest.fixture
def tmp_sock_path() -> Iterator[str]:
    """A path for a Unix domain socket, in a fresh directory removed afterwards.

    AF_UNIX paths must stay under 108 bytes; pytest's tmp_path can be longer,
    so this lives directly under /tmp.
    """
    directory = tempfile.mkdtemp(prefix="gnet-", dir="/tmp")
    try:
        yield os.path.join(directory, "s.sock")
    finally:
        shutil.rmtree(directory, ignore_errors=True)



# --- gnet servers and sockets made by a test -----------------------------------------
#
# The harness, waits and recorders live in tests/helpers.py; this fixture
# hands the harness out. Everything made through it is torn down after the
# test, even when the test fails halfway, so no socket or server leaks into
# the next test.

# Imported here rather than at the top, which belongs to the sections above.
from helpers import (  # noqa: E402
    Harness,
    LinePeer,
    has_ipv6_loopback,
)


@pytest.fixture(scope="session")
def ipv6_loopback() -> str:
    """``'::1'``; skips the test when this machine cannot bind a TCP socket there."""
    if not has_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine (cannot bind a TCP socket to ::1)")
    return "::1"


@pytest.fixture
def harness(caplog: pytest.LogCaptureFixture) -> Iterator[Harness]:
    """A :class:`helpers.Harness` whose servers and sockets are closed after the test.

    Its ``finish()`` fails the test if gnet logged an ERROR; ``path()``
    names Unix sockets in a short temporary directory removed afterwards.
    """
    caplog.set_level(logging.WARNING, logger="gnet")
    made = Harness(caplog)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def peers() -> Iterator[Any]:
    """Make :class:`helpers.LinePeer` clients (a port or an address); closed at teardown."""
    made: list[LinePeer] = []

    def connect(address: Any, family: int = socket.AF_INET) -> LinePeer:
        peer = LinePeer(address, family)
        made.append(peer)
        return peer

    yield connect
    for peer in made:
        peer.close()
