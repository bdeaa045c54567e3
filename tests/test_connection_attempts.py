"""'connectionAttempt', 'connectionAttemptFailed', 'connectionAttemptTimeout'.

Node 20.12+ and 22 report each happy-eyeballs attempt on the socket. The
expected sequences are what Node 20.20 printed for the same connects (a
custom ``lookup`` answering on the next turn, so every listener is in place;
its script is in the comments), with the port and error codes in place of
Node's values:

    lookup(h, o, cb) => setImmediate(() => cb(null, [{address: '::1', family: 6},
                                                    {address: '127.0.0.1', family: 4}]))
    v6 first, only 127.0.0.1 listening:
      lookup ::1 6, lookup 127.0.0.1 4, connectionAttempt ::1 P 6,
      connectionAttemptFailed ::1 P 6 ECONNREFUSED, connectionAttempt 127.0.0.1 P 4,
      connect, ready, close false
    v4 first: lookup x2, connectionAttempt 127.0.0.1 P 4, connect, ready
    both refused: ... connectionAttemptFailed for each, error, close true
    an IP literal (no lookup): connectionAttempt ::1 P 6, connectionAttemptFailed,
      error ECONNREFUSED, close true
    a Unix path that does not exist: connectionAttemptFailed path undefined
      undefined ENOENT, error, close true (Node emits its 'connectionAttempt'
      inside connect(), before a listener can be added; gnet queues it, so
      it is seen: see docs/differences.md)
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

import gnet as net
from gnet.loop import setImmediate
from helpers import HOST, Harness, closed_port, has_ipv6_loopback, wait_until

NAMES = ("lookup", "connectionAttempt", "connectionAttemptFailed", "connectionAttemptTimeout",
         "connect", "ready", "error", "close")

needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")


def _lookup(*addresses: tuple[str, int]) -> Callable[..., None]:
    def lookup(host: str, options: dict[str, Any], callback: Callable[..., Any]) -> None:
        answer = [{"address": ip, "family": family} for ip, family in addresses]
        setImmediate(callback, None, answer)
    return lookup


def _record(sock: net.Socket) -> list[tuple[Any, ...]]:
    log: list[tuple[Any, ...]] = []
    for name in NAMES:
        def listener(*args: Any, name: str = name) -> None:
            log.append((name, *(getattr(a, "code", a) if isinstance(a, BaseException) else a
                                for a in args)))
        sock.on(name, listener)
    return log


def _closed(log: list[tuple[Any, ...]]) -> None:
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")


@needs_ipv6
def test_v6_refused_then_v4(harness: Harness) -> None:
    _, port = harness.server_and_port(lambda s: s.end())
    sock = harness.connect({"host": "example.test", "port": port,
                            "lookup": _lookup(("::1", 6), (HOST, 4))})
    log = _record(sock)
    _closed(log)
    assert log == [
        ("lookup", None, "::1", 6, "example.test"),
        ("lookup", None, HOST, 4, "example.test"),
        ("connectionAttempt", "::1", port, 6),
        ("connectionAttemptFailed", "::1", port, 6, "ECONNREFUSED"),
        ("connectionAttempt", HOST, port, 4),
        ("connect",), ("ready",), ("close", False),
    ]
    assert sock.autoSelectFamilyAttemptedAddresses == [f"::1:{port}", f"{HOST}:{port}"]
    harness.finish()


@needs_ipv6
def test_v4_first_connects_at_once(harness: Harness) -> None:
    _, port = harness.server_and_port(lambda s: s.end())
    sock = harness.connect({"host": "example.test", "port": port,
                            "lookup": _lookup((HOST, 4), ("::1", 6))})
    log = _record(sock)
    _closed(log)
    assert log == [
        ("lookup", None, HOST, 4, "example.test"),
        ("lookup", None, "::1", 6, "example.test"),
        ("connectionAttempt", HOST, port, 4),
        ("connect",), ("ready",), ("close", False),
    ]
    harness.finish()


@needs_ipv6
def test_every_attempt_refused(harness: Harness) -> None:
    port = closed_port()
    sock = harness.connect({"host": "example.test", "port": port,
                            "lookup": _lookup(("::1", 6), ("127.0.0.2", 4))})
    log = _record(sock)
    _closed(log)
    assert log == [
        ("lookup", None, "::1", 6, "example.test"),
        ("lookup", None, "127.0.0.2", 4, "example.test"),
        ("connectionAttempt", "::1", port, 6),
        ("connectionAttemptFailed", "::1", port, 6, "ECONNREFUSED"),
        ("connectionAttempt", "127.0.0.2", port, 4),
        ("connectionAttemptFailed", "127.0.0.2", port, 4, "ECONNREFUSED"),
        ("error", "ECONNREFUSED"), ("close", True),
    ]
    harness.finish()


def test_ip_literal_single_attempt(harness: Harness) -> None:
    port = closed_port()
    sock = harness.connect(port, HOST)
    log = _record(sock)
    _closed(log)
    assert log == [
        ("connectionAttempt", HOST, port, 4),
        ("connectionAttemptFailed", HOST, port, 4, "ECONNREFUSED"),
        ("error", "ECONNREFUSED"), ("close", True),
    ]
    harness.finish()


def test_unix_path_attempt(harness: Harness) -> None:
    path = harness.path("absent.sock")
    sock = harness.connect(path)
    log = _record(sock)
    _closed(log)
    assert log == [
        ("connectionAttempt", path, None, None),
        ("connectionAttemptFailed", path, None, None, "ENOENT"),
        ("error", "ENOENT"), ("close", True),
    ]
    harness.finish()


def test_blocked_address_is_not_attempted(harness: Harness) -> None:
    _, port = harness.server_and_port(lambda s: s.end())
    block_list = net.BlockList()
    block_list.addAddress("127.0.0.2")
    sock = harness.connect({"host": "example.test", "port": port, "blockList": block_list,
                            "lookup": _lookup(("127.0.0.2", 4), (HOST, 4))})
    log = _record(sock)
    _closed(log)
    attempts = [entry for entry in log if entry[0].startswith("connectionAttempt")]
    assert attempts == [("connectionAttempt", HOST, port, 4)]
    harness.finish()


@pytest.mark.timeout(30)
def test_attempt_timeout_then_next_address(harness: Harness) -> None:
    # An attempt that hangs on loopback: a listener whose accept queue is
    # full drops new SYNs, so connect() waits. 127.0.0.2 answers on the same
    # port; the 50 ms attempt timeout moves on to it.
    full = socket.socket()
    full.bind((HOST, 0))
    port = full.getsockname()[1]
    full.listen(0)
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((HOST, port))
            fillers.append(filler)
        srv = harness.server(lambda s: s.end(b"second"))
        harness.listen(srv, port, "127.0.0.2")
        sock = harness.connect({"host": "example.test", "port": port,
                                "autoSelectFamilyAttemptTimeout": 50,
                                "lookup": _lookup((HOST, 4), ("127.0.0.2", 4))})
        log = _record(sock)
        sock.resume()
        _closed(log)
    finally:
        for filler in fillers:
            filler.close()
        full.close()
    attempts = [entry for entry in log if entry[0] != "lookup"]
    assert attempts == [
        ("connectionAttempt", HOST, port, 4),
        ("connectionAttemptTimeout", HOST, port, 4),
        ("connectionAttempt", "127.0.0.2", port, 4),
        ("connect",), ("ready",), ("close", False),
    ]
    harness.finish()


def test_pep8_listener_names_are_free(harness: Harness) -> None:
    # The events are listened for by Node's names; no error any more.
    sock = harness.socket()
    for name in ("connectionAttempt", "connectionAttemptFailed", "connectionAttemptTimeout"):
        sock.on(name, lambda *args: None)
    harness.finish()
