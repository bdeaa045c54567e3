"""Fixtures and checks shared by every gnet test.

Sections: session set-up (monkey-patch check, Hypothesis profiles, report
header), per-test hygiene (no greenlet outlives its test), and transports
(addresses and paths to listen on). Add new shared fixtures to the section
they belong to; fixtures used by one module stay in that module.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version

import gevent
import gevent.monkey
import greenlet
import pytest
from gevent.hub import Hub
from hypothesis import settings

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


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"gnet: gevent {version('gevent')}, greenlet {version('greenlet')}, "
        f"zope.interface {version('zope.interface')}, "
        f"monkey-patched: {'yes' if _is_monkey_patched() else 'no'}"
    )


@pytest.fixture(scope="session")
def monkey_patched() -> bool:
    """Whether this test session runs under ``gevent.monkey.patch_all()``."""
    return _is_monkey_patched()


# --- per-test hygiene ----------------------------------------------------------

# How long a test's leftover greenlets get to finish on their own (closing
# handshakes, a server's last 'close') before they count as leaked.
_GREENLET_GRACE_S = 1.0


def _live_greenlets() -> set[greenlet.greenlet]:
    """Greenlets of this OS thread that are running or scheduled, hubs excluded."""
    main = greenlet.getcurrent()
    while main.parent is not None:
        main = main.parent
    live = set()
    for obj in gc.get_objects():
        # bool(): a raw greenlet is true while started and not dead; a
        # gevent.Greenlet also while it is scheduled to start.
        if not isinstance(obj, greenlet.greenlet) or not obj or obj is main:
            continue
        if isinstance(obj, Hub):
            continue
        root = obj
        while root.parent is not None:
            root = root.parent
        if root is main:  # greenlets of threadpool workers belong to other threads
            live.add(obj)
    return live


@pytest.fixture(autouse=True)
def _no_leaked_greenlets() -> Iterator[None]:
    """Fail a test that leaves a greenlet running after its fixtures are torn down."""
    before = _live_greenlets()
    yield
    deadline = time.monotonic() + _GREENLET_GRACE_S
    leaked = _live_greenlets() - before
    while leaked and time.monotonic() < deadline:
        gevent.sleep(0.01)
        leaked = _live_greenlets() - before
    if leaked:
        names = ", ".join(sorted(repr(g) for g in leaked))
        # Kill them so that one leak does not fail the tests after it too.
        gevent.killall([g for g in leaked if isinstance(g, gevent.Greenlet)], timeout=1)
        pytest.fail(f"test left {len(leaked)} greenlet(s) running: {names}", pytrace=False)


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
