"""gnet.loop: the loop keeper, run(), and Node's timers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import gevent
import pytest

import gnet
from gnet.errors import InvalidArgTypeError
from helpers import default_sigint


def test_run_returns_at_once_when_nothing_is_alive() -> None:
    assert gnet.refCount() == 0
    start = time.monotonic()
    assert gnet.run(timeout=1000) is True
    assert time.monotonic() - start < 0.5


def test_set_timeout_keeps_run_alive_until_it_fires() -> None:
    fired: list[float] = []
    start = time.monotonic()
    gnet.setTimeout(lambda: fired.append(time.monotonic() - start), 100)
    assert gnet.refCount() == 1
    assert gnet.run(timeout=2000) is True
    assert len(fired) == 1 and fired[0] >= 0.09
    assert gnet.refCount() == 0


def test_set_timeout_passes_arguments_and_runs_in_a_greenlet() -> None:
    got: list[object] = []

    def callback(a: int, b: str) -> None:
        gevent.sleep(0.01)  # may block: it runs in a worker greenlet, not the hub
        got.append((a, b))

    gnet.setTimeout(callback, 1, 7, "x")
    gnet.run(timeout=2000)
    assert got == [(7, "x")]


def test_clear_timeout_cancels_and_releases_the_loop() -> None:
    fired: list[int] = []
    timer = gnet.setTimeout(lambda: fired.append(1), 50)
    gnet.clearTimeout(timer)
    gnet.clearTimeout(None)  # ignored, as in Node
    assert gnet.refCount() == 0
    gevent.sleep(0.1)
    assert fired == []


def test_set_interval_repeats_until_cleared() -> None:
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            gnet.clearInterval(interval)

    interval = gnet.setInterval(tick, 10)
    assert gnet.run(timeout=2000) is True
    assert len(ticks) == 3


def test_unref_timer_does_not_keep_run_alive_and_ref_restores_it() -> None:
    timer = gnet.setTimeout(lambda: None, 5000).unref()
    try:
        assert not timer.hasRef() and not timer.has_ref()
        assert gnet.refCount() == 0
        assert gnet.run(timeout=1000) is True
        timer.ref()
        assert gnet.refCount() == 1
        assert gnet.run(timeout=50) is False  # still alive: the timeout ran out
    finally:
        timer.close()
    assert gnet.refCount() == 0


def test_refresh_restarts_the_countdown() -> None:
    fired: list[float] = []
    start = time.monotonic()
    timer = gnet.setTimeout(lambda: fired.append(time.monotonic() - start), 100)
    gevent.sleep(0.06)
    timer.refresh()
    gnet.run(timeout=2000)
    assert fired and fired[0] >= 0.15


def test_set_immediate_runs_soon_in_order() -> None:
    order: list[int] = []
    gnet.setImmediate(order.append, 1)
    gnet.setImmediate(order.append, 2)
    gevent.sleep(0.01)
    assert order == [1, 2]


@pytest.mark.parametrize("bad", [None, 1, "x"])
def test_timers_reject_a_non_callable(bad: object) -> None:
    with pytest.raises(InvalidArgTypeError):
        gnet.setTimeout(bad, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgTypeError):
        gnet.setInterval(bad, 1)  # type: ignore[arg-type]


def test_run_waits_for_a_blocked_listener_to_finish() -> None:
    done: list[int] = []

    def slow() -> None:
        gevent.sleep(0.1)
        done.append(1)

    gnet.setTimeout(slow, 1)
    assert gnet.run(timeout=2000) is True
    assert done == [1]


def _script(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        capture_output=True, text=True, timeout=30, preexec_fn=default_sigint,
    )


def test_a_script_that_only_calls_run_exits_when_its_server_closes() -> None:
    result = _script("""
        import gnet as net
        srv = net.createServer(lambda s: s.end('bye'))
        srv.listen(0, '127.0.0.1', lambda: net.setTimeout(srv.close, 50))
        srv.on('close', lambda: print('closed', flush=True))
        net.run()
        print('done')
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["closed", "done"]
    assert result.stderr == ""


def test_ctrl_c_interrupts_run_in_its_caller_without_a_hub_traceback() -> None:
    result = _script("""
        import os, signal
        import gnet as net
        srv = net.createServer().listen(0, '127.0.0.1')
        net.setTimeout(os.kill, 100, os.getpid(), signal.SIGINT)
        try:
            net.run()
        except KeyboardInterrupt:
            print('interrupted')
        srv.close()
        net.run(timeout=2000)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted"
    assert "Traceback" not in result.stderr
