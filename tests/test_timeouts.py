"""Idle timeouts: socket.setTimeout(), the 'timeout' event, socket.timeout.

A 'timeout' is advisory (nothing is closed), comes once per idle period,
is postponed by reads and writes, and never keeps ``gnet.run()`` alive.
Timeouts here are 50-300 ms; assertions are about counts and order, with
generous waits, so that a loaded machine only makes the tests slower.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest

import gnet as net
from gnet.errors import InvalidArgTypeError, OutOfRangeError
from helpers import HOST, Harness, wait_until


def count_timeouts(sock: net.Socket) -> list[float]:
    """Record the time of every 'timeout' of ``sock``."""
    fired: list[float] = []
    sock.on("timeout", lambda: fired.append(time.monotonic()))
    return fired


# -- advisory, once per idle period ------------------------------------------------


def test_timeout_on_an_idle_server_socket_does_not_close_it(harness: Harness) -> None:
    fired: list[float] = []

    def on_connection(sock: net.Socket) -> None:
        assert sock.setTimeout(100) is sock
        sock.on("timeout", lambda: fired.append(time.monotonic()))
        sock.resume()

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    got: list[bytes] = []
    client.on("data", got.append)
    closes: list[bool] = []
    client.on("close", closes.append)
    wait_until(lambda: fired, what="'timeout'")
    sock = harness.accepted_socket()
    assert sock.destroyed is False
    assert sock.readyState == "open"
    assert sock.write(b"still here") is True
    wait_until(lambda: got == [b"still here"], what="a write after the timeout")
    server_closes: list[bool] = []
    sock.on("close", server_closes.append)
    sock.setTimeout(0)
    client.end()
    wait_until(lambda: closes and server_closes, what="both sides to close")
    assert closes == [False]
    assert server_closes == [False]


def test_timeout_fires_once_per_idle_period(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    fired = count_timeouts(client)
    client.setTimeout(100)
    wait_until(lambda: fired, what="the first 'timeout'")
    gevent.sleep(0.45)  # four more periods of silence
    assert len(fired) == 1
    # Activity starts a new idle period, which ends in one more 'timeout'.
    client.write(b"activity")
    wait_until(lambda: len(fired) == 2, what="the second 'timeout'")
    gevent.sleep(0.45)
    assert len(fired) == 2


@pytest.mark.parametrize("activity", ["read", "write"])
def test_activity_postpones_the_timeout(harness: Harness, activity: str) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    client.resume()
    fired = count_timeouts(client)
    peer = harness.accepted_socket()
    client.setTimeout(300)
    # 600 ms of traffic every 50 ms: idle time never gets near 300 ms.
    stop = time.monotonic() + 0.6
    while time.monotonic() < stop:
        if activity == "read":
            peer.write(b"r")
        else:
            client.write(b"w")
        gevent.sleep(0.05)
    assert fired == []
    quiet = time.monotonic()
    wait_until(lambda: fired, what="'timeout' after the traffic stopped")
    assert fired[0] - quiet >= 0.2  # a full period of silence, less timer slack


# -- setTimeout(0), callbacks ---------------------------------------------------------


def test_set_timeout_zero_disables_it(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.end(b"data"))
    client = harness.client(port)
    calls: list[None] = []
    assert client.setTimeout(100, lambda: calls.append(None)) is client
    assert client.setTimeout(0) is client
    got: list[bytes] = []
    client.on("data", got.append)
    wait_until(lambda: got, what="the data")
    gevent.sleep(0.3)
    assert calls == []


def test_set_timeout_zero_with_the_callback_removes_it() -> None:
    sock = net.Socket()
    try:
        def callback() -> None:
            pass

        sock.setTimeout(100, callback)
        assert sock.listeners("timeout") == [callback]
        sock.setTimeout(0, callback)
        assert sock.listeners("timeout") == []
    finally:
        sock.destroy()


def test_callback_form_is_a_one_time_listener(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    calls: list[None] = []
    fired = count_timeouts(client)
    client.setTimeout(50, lambda: calls.append(None))
    assert client.listenerCount("timeout") == 2
    wait_until(lambda: fired, what="the first 'timeout'")
    assert calls == [None]
    assert client.listenerCount("timeout") == 1
    client.write(b"activity")
    count = len(fired)
    wait_until(lambda: len(fired) > count, what="another 'timeout'")
    assert calls == [None]


def test_timeout_validation() -> None:
    sock = net.Socket()
    try:
        with pytest.raises(OutOfRangeError):
            sock.setTimeout(-1)
        with pytest.raises(OutOfRangeError):
            sock.setTimeout(float("nan"))
        with pytest.raises(InvalidArgTypeError):
            sock.setTimeout("100")
        with pytest.raises(InvalidArgTypeError):
            sock.setTimeout(100, "not a function")
        assert sock.timeout is None
    finally:
        sock.destroy()


# -- no connection, destroyed sockets ---------------------------------------------


def test_timeout_on_a_never_connected_socket() -> None:
    sock = net.Socket()
    try:
        events: list[str] = []
        sock.on("connect", lambda: events.append("connect"))
        sock.on("timeout", lambda: events.append("timeout"))
        sock.setTimeout(50)
        wait_until(lambda: events, what="'timeout'")
        assert events[0] == "timeout"
        assert "connect" not in events
    finally:
        sock.destroy()


def test_tiny_timeout_fires_and_none_after_destroy() -> None:
    sock = net.Socket()
    first: list[None] = []
    assert sock.setTimeout(1, lambda: first.append(None)) is sock
    wait_until(lambda: first, what="the 1 ms timeout")
    sock.destroy()
    later: list[None] = []
    assert sock.setTimeout(1, lambda: later.append(None)) is sock
    gevent.sleep(0.1)
    assert later == []


def test_no_timeout_after_destroy(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    fired = count_timeouts(client)
    client.setTimeout(100)
    gevent.sleep(0.02)
    client.destroy()
    gevent.sleep(0.25)
    assert fired == []


# -- the timeout option, the property, the idiom --------------------------------------------


@pytest.mark.parametrize("form", ["options", "kwargs"])
def test_create_connection_timeout_option_arms_before_connecting(harness: Harness,
                                                                 form: str) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    if form == "options":
        client = harness.track(net.createConnection({"port": port, "host": HOST, "timeout": 100}))
    else:
        client = harness.track(net.createConnection(port, HOST, timeout=100))
    assert client.connecting
    assert client.timeout == 100
    events: list[str] = []
    client.on("connect", lambda: events.append("connect"))
    client.on("timeout", lambda: events.append("timeout"))
    wait_until(lambda: "timeout" in events, what="'timeout'")
    assert events[:2] == ["connect", "timeout"]


def test_timeout_property() -> None:
    sock = net.Socket()
    try:
        assert sock.timeout is None
        sock.setTimeout(250)
        assert sock.timeout == 250
        sock.setTimeout(1.5)
        assert sock.timeout == 1.5
    finally:
        sock.destroy()


def test_timeout_property_after_set_timeout_zero() -> None:
    sock = net.Socket()
    try:
        sock.setTimeout(250)
        sock.setTimeout(0)
        assert sock.timeout == 0
    finally:
        sock.destroy()


@pytest.mark.parametrize("action", ["destroy", "end"])
def test_set_timeout_idiom_closes_idle_connections(harness: Harness, action: str) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.resume()
        sock.setTimeout(100, lambda: getattr(sock, action)())

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    events: list[Any] = []
    client.on("end", lambda: events.append("end"))
    client.on("close", lambda had_error: events.append(("close", had_error)))
    client.resume()
    wait_until(lambda: events and events[-1][0] == "close", what="the idle connection to close")
    assert events == ["end", ("close", False)]
    wait_until(lambda: harness.accepted[0].destroyed, what="the server socket to close")


def test_timeout_of_a_socket_does_not_keep_run_alive() -> None:
    sock = net.Socket()
    try:
        before = net.refCount()
        sock.setTimeout(5000)
        assert net.refCount() == before
        start = time.monotonic()
        assert net.run(timeout=3000) is True
        assert time.monotonic() - start < 1.0
    finally:
        sock.destroy()


def test_run_returns_when_sockets_with_pending_timeouts_have_closed(harness: Harness) -> None:
    srv, port = harness.server_and_port(lambda s: (s.setTimeout(10_000), s.resume()))
    client = harness.client(port, timeout=10_000)
    client.resume()
    harness.accepted_socket()
    srv.close()
    client.end()
    start = time.monotonic()
    assert net.run(timeout=3000) is True
    assert time.monotonic() - start < 2.0  # far from the 10 s timeouts


def test_timeout_of_an_unrefd_open_connection_does_not_keep_run_alive(harness: Harness) -> None:
    srv, port = harness.server_and_port(lambda s: (s.setTimeout(5000), s.resume()))
    client = harness.client(port)
    client.setTimeout(5000)
    client.resume()
    peer = harness.accepted_socket()
    wait_until(lambda: not client.connecting, what="the connection")
    for handle in (srv, client, peer):
        handle.unref()
    start = time.monotonic()
    assert net.run(timeout=3000) is True
    assert time.monotonic() - start < 1.0
    assert client.destroyed is False  # still open: only nothing counts any more
