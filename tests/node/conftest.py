"""Fixtures for the ports of Node's ``net`` tests (see common.py).

Every test here gets a fresh :class:`common.Checker`; its call counts and
gnet's logged errors are checked right after the test body returns, in the
call phase, so a wrong count fails the test (and an ``xfail`` sees it).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Generator, Iterator

import common
import pytest


@pytest.fixture(autouse=True)
def _node_common() -> Iterator[common.Checker]:
    checker = common.start()
    try:
        yield checker
    finally:
        common.stop()
        if os.environ.get("GNET_NODE_GC"):
            # Debugging aid: collect after every test, so an unclosed socket's
            # ResourceWarning names the test that dropped it.
            gc.collect()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        result = yield
        common.verify()
    except BaseException:
        # A failed test may leave sockets that nothing counts any more:
        # tear everything down at teardown, not only what keeps the loop alive.
        common.failed()
        raise
    return result
