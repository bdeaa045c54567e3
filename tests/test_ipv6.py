"""IPv6: listening on ``::1`` and ``::`` (dual-stack), ``ipv6Only``, IPv6 peers.

The stream behaviour shared with IPv4 and Unix sockets is in
test_conformance.py. Every test here is skipped, with the reason, on a
machine without an IPv6 loopback.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from gevent.event import Event
from gevent.queue import Queue

import gnet as net
from gnet.events import once

# Every wait is bounded by this (ms): far above what loopback needs.
WAIT_MS = 5000
WAIT_S = WAIT_MS / 1000

pytestmark = pytest.mark.usefixtures("ipv6_loopback")


def serve(harness: Any, *listen_args: Any) -> tuple[net.Server, Queue[net.Socket]]:
    """A listening server that says hello; accepted sockets go to the queue."""
    accepted: Queue[net.Socket] = Queue()

    def on_connection(sock: net.Socket) -> None:
        accepted.put(sock)
        sock.end("hello")

    srv = harness.listen(harness.server(on_connection), *listen_args)
    return srv, accepted


def remote(sock: net.Socket) -> tuple[Any, Any, Any]:
    return sock.remoteAddress, sock.remoteFamily, sock.remotePort


def hello_from(harness: Any, port: int, host: str) -> tuple[net.Socket, tuple[Any, ...]]:
    """Connect to ``host``:``port`` and read to the end.

    Returns the socket and, as seen in 'connect', its remote address, family,
    port, then its local family and port.
    """
    sock = harness.connect(port, host)
    once(sock, "connect", timeout=WAIT_MS)
    seen = (*remote(sock), sock.localFamily, sock.localPort)
    chunks: list[bytes] = []
    sock.on("data", chunks.append)
    once(sock, "close", timeout=WAIT_MS)
    assert b"".join(chunks) == b"hello"
    return sock, seen


def free_port(host: str, family: socket.AddressFamily) -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def test_listen_on_ipv6_loopback(harness: Any) -> None:
    srv, accepted = serve(harness, 0, "::1")
    port = srv.address()["port"]
    assert srv.address() == {"address": "::1", "family": "IPv6", "port": port}
    _, seen = hello_from(harness, port, "::1")
    assert seen[:4] == ("::1", "IPv6", port, "IPv6")
    server_sock = accepted.get(timeout=WAIT_S)
    assert remote(server_sock) == ("::1", "IPv6", seen[4])
    assert server_sock.remotePort != port


def test_listen_options_form_on_ipv6(harness: Any) -> None:
    srv, _ = serve(harness, {"port": 0, "host": "::1"})
    assert srv.address()["family"] == "IPv6"
    assert srv.address()["address"] == "::1"


@pytest.mark.parametrize("listen_args", [(0, "::"), (0,)], ids=["host-::", "no-host"])
def test_dual_stack_any_address_takes_ipv4_and_ipv6_clients(
    harness: Any, listen_args: tuple[Any, ...]
) -> None:
    # No host means '::' where IPv6 exists, dual-stack as in Node.
    srv, accepted = serve(harness, *listen_args)
    port = srv.address()["port"]
    assert srv.address() == {"address": "::", "family": "IPv6", "port": port}

    _, seen4 = hello_from(harness, port, "127.0.0.1")
    assert seen4[:4] == ("127.0.0.1", "IPv4", port, "IPv4")
    server4 = accepted.get(timeout=WAIT_S)
    # Node (asked): the IPv6 socket sees the IPv4 client as a mapped address.
    assert remote(server4) == ("::ffff:127.0.0.1", "IPv6", seen4[4])
    assert server4.localAddress == "::ffff:127.0.0.1"

    _, seen6 = hello_from(harness, port, "::1")
    assert seen6[:4] == ("::1", "IPv6", port, "IPv6")
    server6 = accepted.get(timeout=WAIT_S)
    assert remote(server6) == ("::1", "IPv6", seen6[4])


def test_ipv6_only_refuses_ipv4(harness: Any) -> None:
    srv, _ = serve(harness, {"host": "::", "port": 0, "ipv6Only": True})
    port = srv.address()["port"]
    client = harness.connect(port, "0.0.0.0")
    events: list[Any] = []
    closed = Event()

    def on_close(had_error: bool) -> None:
        events.append(("close", had_error))
        closed.set()

    client.on("connect", lambda: events.append("connect"))
    client.on("error", events.append)
    client.on("close", on_close)
    assert closed.wait(WAIT_S)
    assert len(events) == 2, events
    err: Any = events[0]
    assert err.code == "ECONNREFUSED"
    assert isinstance(err, ConnectionRefusedError)
    assert events[1] == ("close", True)
    # IPv6 clients still get in.
    _, seen = hello_from(harness, port, "::1")
    assert seen[1] == "IPv6"


def test_refused_ipv6_connect_names_the_address(harness: Any) -> None:
    port = free_port("::1", socket.AF_INET6)
    client = harness.connect(port, "::1")
    with pytest.raises(ConnectionRefusedError) as info:
        once(client, "connect", timeout=WAIT_MS)
    err: Any = info.value
    assert (err.code, err.syscall, err.address, err.port) == ("ECONNREFUSED", "connect",
                                                             "::1", port)
    assert err.message == f"connect ECONNREFUSED ::1:{port}"
