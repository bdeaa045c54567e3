"""Fixtures for the ports of Node's ``net`` tests (see common.py).

Every test here gets a fresh :class:`common.Checker`; its call counts and
gnet's logged errors are checked right after the test body returns, in the
call phase, so a wrong count fails the test (and an ``xfail`` sees it).
"""

from __future__ import annotations

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    common.verify()
    return result
