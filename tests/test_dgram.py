"""gnet.dgram against Node's dgram behaviours.

Each test names the behaviour it covers; the ones not covered here are listed
in docs/differences.md with the reason. Real sockets on loopback, no mocks.
Node's own test files these follow are named in the docstrings.
"""

from __future__ import annotations

import array
import errno
import gc
import logging
import os
import socket as stdsocket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.subprocess
import pytest
from zope.interface.verify import verifyClass, verifyObject

import gnet
from gnet import dgram
from gnet.errors import (
    BufferOutOfBoundsError,
    InvalidArgTypeError,
    MissingArgsError,
    SocketAlreadyBoundError,
    SocketBadBufferSizeError,
    SocketBadPortError,
    SocketBadTypeError,
    SocketBufferSizeError,
    SocketDgramIsConnectedError,
    SocketDgramNotConnectedError,
    SocketDgramNotRunningError,
)
from gnet.events import once
from gnet.interfaces import IDatagramSocket
from helpers import has_ipv6_loopback, settle, wait_until

WAIT_S = 3.0  # the bound on any one wait for an event on loopback, in seconds
W = int(WAIT_S * 1000)  # the same in ms, for events.once()

needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")


@pytest.fixture
def make() -> Iterator[Callable[..., dgram.Socket]]:
    """``make(type_or_options, ...)`` creates a socket that is closed at teardown."""
    made: list[dgram.Socket] = []

    def factory(*args: Any, **kwargs: Any) -> dgram.Socket:
        sock = dgram.createSocket(*args, **kwargs)
        made.append(sock)
        return sock

    yield factory
    for sock in made:
        if not sock._closed:
            sock._pending = None
            sock.close()
    gevent.sleep(0.01)


def bound(make: Callable[..., dgram.Socket], kind: str = "udp4",
          host: str | None = None, **kwargs: Any) -> dgram.Socket:
    sock = make(kind, **kwargs)
    sock.bind(0, host or ("::1" if kind == "udp6" else "127.0.0.1"))
    once(sock, "listening", W)
    return sock


class Inbox:
    """Collects 'message' events of a socket."""

    def __init__(self, sock: dgram.Socket) -> None:
        self.items: list[tuple[bytes, dict[str, Any]]] = []
        sock.on("message", lambda msg, rinfo: self.items.append((msg, rinfo)))

    def wait(self, count: int) -> list[tuple[bytes, dict[str, Any]]]:
        wait_until(lambda: len(self.items) >= count, WAIT_S, f"{count} datagrams")
        return self.items


def port_of(sock: dgram.Socket) -> int:
    return int(sock.address()["port"])


# --- module surface -------------------------------------------------------------------


def test_interface_and_twins(make: Callable[..., dgram.Socket]) -> None:
    assert verifyClass(IDatagramSocket, dgram.Socket)
    sock = make("udp4")
    assert verifyObject(IDatagramSocket, sock)
    # PEP 8 twins come from gnet.naming, for the module and the class.
    assert dgram.create_socket is dgram.createSocket
    for name in ("set_recv_buffer_size", "add_source_specific_membership",
                 "get_send_queue_count", "set_multicast_ttl", "remote_address"):
        assert callable(getattr(sock, name)), name
    import gnet.dgram as again
    assert gnet.dgram is dgram is again
    assert "dgram" in gnet.__all__


def test_keyword_options_and_unsupported_ones() -> None:
    sock = dgram.createSocket(type="udp4", reuse_addr=True)
    assert sock.type == "udp4" and sock._reuse_addr
    with pytest.raises(ValueError, match="not a known option"):
        dgram.createSocket(type="udp4", bogus=1)
    # signal is tested in tests/test_abort.py, the block lists in tests/test_blocklist.py.
    for key in ("receiveBlockList", "sendBlockList"):
        dgram.createSocket({"type": "udp4", key: gnet.BlockList()})
    # Keys Node does not know are ignored, as in Node.
    dgram.createSocket({"type": "udp6", "whatever": 1})


# --- creating and binding -------------------------------------------------------


@pytest.mark.parametrize("bad", ["udp5", "UDP4", None, 4, ["udp4"], {"type": "tcp"}, {}, b"udp4"])
def test_d1_bad_type(bad: Any) -> None:
    """test-dgram-createSocket-type.js: anything but 'udp4'/'udp6' is ERR_SOCKET_BAD_TYPE."""
    with pytest.raises(TypeError) as info:
        dgram.createSocket(bad)
    assert isinstance(info.value, SocketBadTypeError)
    assert info.value.code == "ERR_SOCKET_BAD_TYPE"
    assert str(info.value) == "Bad socket type specified. Valid types are: udp4, udp6"


def test_d1_good_types() -> None:
    for spec in ("udp4", "udp6", {"type": "udp4"}, {"type": "udp6"}):
        sock = dgram.createSocket(spec)
        assert sock.type in ("udp4", "udp6")
    # An unbound socket holds no descriptor and needs no close.
    assert sock._sock is None


def test_d2_buffer_size_options(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-createSocket-type.js: sizes are applied at bind (Linux doubles them)."""
    sock = make({"type": "udp4", "recvBufferSize": 10000, "sendBufferSize": 15000})
    sock.bind(0, "127.0.0.1")
    once(sock, "listening", W)
    assert sock.getRecvBufferSize() == 20000
    assert sock.getSendBufferSize() == 30000
    for key in ("recvBufferSize", "sendBufferSize"):
        with pytest.raises(ValueError) as info:
            dgram.createSocket({"type": "udp4", key: -1})
        assert info.value.code == "ERR_OUT_OF_RANGE"
        assert f"options.{key}" in str(info.value)
        with pytest.raises(TypeError) as tinfo:
            dgram.createSocket({"type": "udp4", key: "big"})
        assert tinfo.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(TypeError) as linfo:
        dgram.createSocket({"type": "udp4", "lookup": 5})
    assert linfo.value.code == "ERR_INVALID_ARG_TYPE"


def test_d3_bind_returns_socket_and_twice_throws(make: Callable[..., dgram.Socket]) -> None:
    sock = make("udp4")
    seen: list[Any] = []

    def on_listening() -> None:
        try:
            sock.bind()
        except SocketAlreadyBoundError as exc:
            seen.append(exc)

    sock.on("listening", on_listening)
    assert sock.bind(0, "127.0.0.1") is sock
    with pytest.raises(SocketAlreadyBoundError):  # binding counts as bound
        sock.bind(0)
    wait_until(lambda: seen, WAIT_S, "'listening'")
    assert seen[0].code == "ERR_SOCKET_ALREADY_BOUND"
    assert str(seen[0]) == "Socket is already bound"


def test_d3_bind_overloads(make: Callable[..., dgram.Socket]) -> None:
    calls: list[str] = []
    a = make("udp4").bind(lambda: calls.append("a"))
    b = make("udp4").bind(0, lambda: calls.append("b"))
    c = make("udp4").bind({"port": 0, "address": "127.0.0.1"}, lambda: calls.append("c"))
    d = make("udp4").bind(port=0, address="127.0.0.1", callback=lambda: calls.append("d"))
    e = make("udp6").bind("0", "::", lambda: calls.append("e"))
    f = make("udp4").bind(0, "localhost", lambda: calls.append("f"))
    wait_until(lambda: len(calls) == 6, WAIT_S, "six bind callbacks")
    assert a.address()["address"] == "0.0.0.0"
    assert b.address()["address"] == "0.0.0.0"
    assert c.address()["address"] == "127.0.0.1"
    assert d.address()["address"] == "127.0.0.1"
    assert e.address()["address"] == "::"
    assert f.address()["address"] == "127.0.0.1"
    with pytest.raises(InvalidArgTypeError) as info:
        make("udp4").bind(0, 5)
    assert '"hostname"' in str(info.value)
    with pytest.raises(SocketBadPortError):
        make("udp4").bind(70000)


def test_d3_bind_fd(make: Callable[..., dgram.Socket]) -> None:
    raw = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    sock = make("udp4")
    sock.bind({"fd": raw.detach()})
    once(sock, "listening", W)
    inbox = Inbox(sock)
    sock.send(b"self", port_of(sock))
    assert inbox.wait(1)[0][0] == b"self"
    tcp = stdsocket.socket()
    unix_a, unix_b = stdsocket.socketpair(stdsocket.AF_UNIX, stdsocket.SOCK_DGRAM)
    try:
        with pytest.raises(TypeError) as info:
            make("udp4").bind({"fd": tcp.fileno()})
        assert info.value.code == "ERR_INVALID_FD_TYPE"
        assert str(info.value) == "Unsupported fd type: TCP"
        with pytest.raises(TypeError) as info:
            make("udp4").bind({"fd": unix_a.fileno()})
        assert str(info.value) == "Unsupported fd type: UNKNOWN"
        # The descriptors are the caller's still.
        unix_a.send(b"still open")
        assert unix_b.recv(16) == b"still open"
    finally:
        tcp.close()
        unix_a.close()
        unix_b.close()


def test_d4_address(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-address.js; before bind: getsockname EBADF."""
    sock = make("udp4")
    with pytest.raises(OSError) as info:
        sock.address()
    assert info.value.code == "EBADF" and info.value.syscall == "getsockname"
    assert str(info.value.strerror) == "getsockname EBADF"
    sock.bind(0, "127.0.0.1")
    with pytest.raises(OSError):  # still binding: no descriptor yet, as in Node
        sock.address()
    once(sock, "listening", W)
    addr = sock.address()
    assert addr["address"] == "127.0.0.1" and addr["family"] == "IPv4" and addr["port"] > 0


@needs_ipv6
def test_d4_address_udp6(make: Callable[..., dgram.Socket]) -> None:
    sock = bound(make, "udp6")
    addr = sock.address()
    assert addr["address"] == "::1" and addr["family"] == "IPv6" and addr["port"] > 0


def test_d5_bind_eaddrnotavail(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-error-message-address.js."""
    sock = make("udp4")
    listening: list[Any] = []
    sock.on("listening", lambda: listening.append(1))
    sock.bind(0, "1.1.1.1")
    (err,) = once(sock, "error", W)
    assert err.code == "EADDRNOTAVAIL" and err.syscall == "bind"
    assert err.message == "bind EADDRNOTAVAIL 1.1.1.1"
    assert err.address == "1.1.1.1"
    assert not hasattr(err, "port")
    settle()
    assert not listening


def test_d6_bind_eaddrinuse_unless_reuse(make: Callable[..., dgram.Socket]) -> None:
    first = bound(make)
    port = port_of(first)
    second = make("udp4")
    second.bind(port, "127.0.0.1")
    (err,) = once(second, "error", W)
    assert isinstance(err, OSError) and err.code == "EADDRINUSE"
    assert err.message == f"bind EADDRINUSE 127.0.0.1:{port}"
    assert err.port == port
    # The failed socket may bind again (Node resets its state to unbound).
    second.bind(0, "127.0.0.1")
    once(second, "listening", W)
    # With reuseAddr on both, two sockets share a port.
    a = make({"type": "udp4", "reuseAddr": True})
    a.bind(0, "127.0.0.1")
    once(a, "listening", W)
    b = make({"type": "udp4", "reuseAddr": True})
    b.bind(port_of(a), "127.0.0.1")
    once(b, "listening", W)
    c = make({"type": "udp4", "reusePort": True})
    c.bind(0, "127.0.0.1")
    once(c, "listening", W)
    d = make({"type": "udp4", "reusePort": True})
    d.bind(port_of(c), "127.0.0.1")
    once(d, "listening", W)


def test_d7_implicit_bind(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-implicit-bind.js: the first send binds to 0.0.0.0:0; both sends arrive."""
    target = bound(make)
    inbox = Inbox(target)
    sender = make("udp4")
    listening: list[Any] = []
    sender.on("listening", lambda: listening.append(sender.address()))
    sender.send(b"one", port_of(target))
    sender.send(b"two", port_of(target))
    got = inbox.wait(2)
    assert [m for m, _ in got] == [b"one", b"two"]
    assert listening and listening[0]["address"] == "0.0.0.0"
    assert got[0][1]["port"] == listening[0]["port"]


def test_d8_listening_is_async(make: Callable[..., dgram.Socket]) -> None:
    sock = make("udp4")
    order: list[str] = []
    sock.bind(0, "127.0.0.1", lambda: order.append("callback"))
    order.append("returned")
    sock.on("listening", lambda: order.append("listening"))
    wait_until(lambda: len(order) == 3, WAIT_S, "'listening'")
    assert order == ["returned", "callback", "listening"]


# --- sending -------------------------------------------------------------------


def _default_host(make: Callable[..., dgram.Socket], kind: str, loopback: str) -> None:
    target = bound(make, kind)
    inbox = Inbox(target)
    port = port_of(target)
    sender = make(kind)
    buf = b"hello"
    payloads: list[Any] = [
        (buf, 0, len(buf), port),
        (buf, port),
        ([buf], port),
        ("hello", port),
        (bytearray(buf), port),
        (memoryview(buf), port),
        (array.array("H", [1, 2, 3]), port),  # a TypedArray: its bytes, not its items
        (memoryview(b"xxhelloxx")[2:7], port),
        (buf, port, None),
        (buf, port, ""),
    ]
    for args in payloads:
        sender.send(*args)
    got = inbox.wait(len(payloads))
    assert all(r["address"] == loopback for _, r in got)
    assert sum(r["size"] for _, r in got) == 5 * (len(payloads) - 1) + 6
    assert got[6][0] == array.array("H", [1, 2, 3]).tobytes()


def test_d9_default_host(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-default-host.js."""
    _default_host(make, "udp4", "127.0.0.1")


@needs_ipv6
def test_d9_default_host_udp6(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-udp6-send-default-host.js."""
    _default_host(make, "udp6", "::1")


def test_d10_empty_datagrams(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-empty-buffer.js, -empty-packet.js, -empty-array.js."""
    target = bound(make)
    inbox = Inbox(target)
    port = port_of(target)
    sender = make("udp4")
    results: list[Any] = []
    sender.send(b"", port, lambda err, n: results.append((err, n)))
    sender.send([], port, lambda err, n: results.append((err, n)))
    sender.send(b"abc", 1, 0, port, "127.0.0.1", lambda err, n: results.append((err, n)))
    got = inbox.wait(3)
    assert [(m, r["size"]) for m, r in got] == [(b"", 0)] * 3
    wait_until(lambda: len(results) == 3, WAIT_S, "callbacks")
    assert results == [(None, 0)] * 3


def test_d11_emsgsize(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-msgsize.js: 256 KiB, and 65,508 bytes over IPv4."""
    sock = bound(make)
    errors: list[Any] = []
    sock.send(b"x" * 256 * 1024, 12345, "127.0.0.1", lambda err, *_: errors.append(err))
    sock.send(b"x" * 65508, 12345, "127.0.0.1", lambda err, *_: errors.append(err))
    wait_until(lambda: len(errors) == 2, WAIT_S, "send callbacks")
    for err in errors:
        assert err.code == "EMSGSIZE" and err.syscall == "send"
        assert err.address == "127.0.0.1" and err.port == 12345
        assert err.message == "send EMSGSIZE 127.0.0.1:12345"


def test_d12_large_datagrams_arrive_whole(make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    inbox = Inbox(target)
    sender = bound(make)
    big = os.urandom(60000)
    biggest = os.urandom(65507)
    sender.send(big, port_of(target), "127.0.0.1")
    sender.send(biggest, port_of(target), "127.0.0.1")
    got = inbox.wait(2)
    assert got[0][0] == big and got[1][0] == biggest
    assert got[0][1] == {"address": "127.0.0.1", "family": "IPv4",
                         "port": port_of(sender), "size": 60000}
    assert got[1][1]["size"] == 65507


def test_d13_bad_send_arguments(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-bad-arguments.js."""
    sock = make("udp4")
    buf = b"abc"
    with pytest.raises(InvalidArgTypeError) as info:
        sock.send()
    assert '"buffer"' in str(info.value)
    for bad in (23, None, {"a": 1}, 1.5, True):
        with pytest.raises(InvalidArgTypeError):
            sock.send(bad, 1234)
    with pytest.raises(InvalidArgTypeError) as info:
        sock.send([buf, 23], 1234)
    assert '"buffer list arguments"' in str(info.value)
    for port in (-1, 0, 65536, 70000, None, "x", True, 1.5):
        with pytest.raises(SocketBadPortError) as pinfo:
            sock.send(buf, port)
        assert pinfo.value.code == "ERR_SOCKET_BAD_PORT"
        assert str(pinfo.value).startswith("Port should be > 0 and < 65536.")
    with pytest.raises(BufferOutOfBoundsError) as binfo:
        sock.send(buf, 4, 1, 1234)
    assert binfo.value.code == "ERR_BUFFER_OUT_OF_BOUNDS"
    assert str(binfo.value) == '"offset" is outside of buffer bounds'
    with pytest.raises(BufferOutOfBoundsError) as binfo:
        sock.send(buf, 0, 4, 1234)
    assert str(binfo.value) == '"length" is outside of buffer bounds'
    with pytest.raises(InvalidArgTypeError) as ainfo:
        sock.send(buf, 1234, 55)
    assert '"address"' in str(ainfo.value)
    # None of these bound the socket.
    assert sock._sock is None and sock._bind_state == dgram.UNBOUND


def test_d13_connected_send_takes_no_destination(make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    sock = make("udp4")
    sock.connect(port_of(target), "127.0.0.1")
    once(sock, "connect", W)
    for args in ((b"abc", 1, 1, -1, "127.0.0.1"), (b"abc", 1, 1, 0, "127.0.0.1"),
                 (b"abc", 1, 1, 1234), (b"abc", 0, 3, None, "127.0.0.1")):
        with pytest.raises(SocketDgramIsConnectedError) as info:
            sock.send(*args)
        assert info.value.code == "ERR_SOCKET_DGRAM_IS_CONNECTED"
    inbox = Inbox(target)
    done: list[Any] = []
    sock.send(b"abc", 1, 1, lambda err, n: done.append(n))
    sock.send(b"whole", lambda err, n: done.append(n))
    sock.send([b"li", "st"])
    assert [m for m, _ in inbox.wait(3)] == [b"b", b"whole", b"list"]
    wait_until(lambda: len(done) == 2, WAIT_S, "callbacks")
    assert done == [1, 5]


def _failing_lookup(calls: list[Any], err: BaseException) -> Callable[..., None]:
    def lookup(host: str, family: int, callback: Callable[..., Any]) -> None:
        calls.append((host, family))
        gnet.setImmediate(callback, err)
    return lookup


def test_d14_lookup_error_to_callback_or_error_event(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-cb-quelches-error.js; and the lookup's error object passes unchanged."""
    calls: list[Any] = []
    failure = OSError(errno.ENOENT, "no such host")
    sock = make({"type": "udp4", "lookup": _failing_lookup(calls, failure)})
    errors: list[Any] = []
    sock.on("error", errors.append)
    got: list[Any] = []
    sock.send(b"x", 1234, "example.invalid", lambda err, *_: got.append(err))
    wait_until(lambda: got or errors, WAIT_S, "the lookup's failure")
    # The implicit bind's lookup of '0.0.0.0' failed first: 'error', and the send was dropped.
    assert errors and errors[0] is failure and not got
    assert calls[0] == ("0.0.0.0", 4)


def test_d14_d15_send_lookup_errors(make: Callable[..., dgram.Socket]) -> None:
    failure = OSError(errno.ENOENT, "no such host")
    calls: list[Any] = []

    def lookup(host: str, family: int, callback: Callable[..., Any]) -> None:
        calls.append(host)
        if host == "bad.example":
            gnet.setImmediate(callback, failure)
        else:
            gnet.setImmediate(callback, None, "127.0.0.1", 4)

    sock = make({"type": "udp4", "lookup": lookup})
    sock.bind(0, "127.0.0.1")
    once(sock, "listening", W)
    errors: list[Any] = []
    sock.on("error", errors.append)
    got: list[Any] = []
    sock.send(b"x", 1234, "bad.example", lambda err, *_: got.append(err))
    wait_until(lambda: got, WAIT_S, "the send callback")
    settle()
    assert got == [failure] and not errors  # a callback quenches 'error'
    sock.send(b"x", 1234, "bad.example")
    wait_until(lambda: errors, WAIT_S, "'error'")
    assert errors == [failure]
    # A name that resolves is sent to; the default host goes through lookup too.
    target = bound(make)
    inbox = Inbox(target)
    sock.send(b"by name", port_of(target), "good.example")
    sock.send(b"default", port_of(target))
    assert sorted(m for m, _ in inbox.wait(2)) == [b"by name", b"default"]
    assert "good.example" in calls and "127.0.0.1" in calls


def test_d14_default_resolver_localhost(make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    inbox = Inbox(target)
    sender = make("udp4")
    done: list[Any] = []
    sender.send(b"named", port_of(target), "localhost", lambda err, n: done.append((err, n)))
    assert inbox.wait(1)[0][0] == b"named"
    wait_until(lambda: done, WAIT_S, "callback")
    assert done == [(None, 5)]


def test_d15_send_syscall_error(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-error.js: a loopback-bound socket cannot reach 1.2.3.4 (EINVAL)."""
    sock = bound(make)
    errors: list[Any] = []
    sock.on("error", errors.append)
    got: list[Any] = []
    sock.send(b"x", 0, 1, 9, "1.2.3.4", lambda err, *rest: got.append((err, rest)))
    wait_until(lambda: got, WAIT_S, "the send callback")
    err, rest = got[0]
    assert err.code == "EINVAL" and err.syscall == "send"
    assert err.address == "1.2.3.4" and err.port == 9
    assert err.message == "send EINVAL 1.2.3.4:9"
    assert rest == (None,)
    # Without a callback Node drops a syscall error (no 'error'): so does gnet.
    sock.send(b"x", 9, "1.2.3.4")
    settle()
    assert not errors
    # An IPv6 destination on a udp4 socket cannot be sent to either.
    sock.send(b"x", 9, "::1", lambda err, *rest: got.append((err, rest)))
    wait_until(lambda: len(got) == 2, WAIT_S, "the send callback")
    assert got[1][0].code == "EINVAL"


# --- connected mode -------------------------------------------------------------


def test_d16_connect(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-connect.js."""
    target = bound(make)
    port = port_of(target)
    sock = make("udp4")
    connected: list[Any] = []
    assert sock.connect(port, lambda: connected.append(1)) is None
    with pytest.raises(SocketDgramIsConnectedError):  # while the first is pending
        sock.connect(port)
    wait_until(lambda: connected, WAIT_S, "the connect callback")
    remote = sock.remoteAddress()
    assert remote == {"address": "127.0.0.1", "family": "IPv4", "port": port}
    with pytest.raises(SocketDgramIsConnectedError) as info:
        sock.connect(port)
    assert str(info.value) == "Already connected"
    sock.disconnect()
    with pytest.raises(SocketDgramNotConnectedError) as ninfo:
        sock.disconnect()
    assert ninfo.value.code == "ERR_SOCKET_DGRAM_NOT_CONNECTED"
    assert str(ninfo.value) == "Not connected"
    with pytest.raises(SocketDgramNotConnectedError):
        sock.remoteAddress()
    # After disconnect, datagrams need a destination again, and any peer gets through.
    with pytest.raises(SocketBadPortError):
        sock.send(b"x")
    sock.connect(port, "127.0.0.1")  # reconnecting works
    once(sock, "connect", W)
    assert sock.remoteAddress()["port"] == port
    for bad in (0, None, 78960, "x", True):
        with pytest.raises(SocketBadPortError):
            make("udp4").connect(bad)
    with pytest.raises(InvalidArgTypeError):
        make("udp4").connect(port, 5)


def test_d16_connected_socket_filters_peers(make: Callable[..., dgram.Socket]) -> None:
    a = bound(make)
    b = bound(make)
    stranger = bound(make)
    a.connect(port_of(b), "127.0.0.1")
    once(a, "connect", W)
    inbox = Inbox(a)
    stranger.send(b"stranger", port_of(a), "127.0.0.1")
    b.send(b"peer", port_of(a), "127.0.0.1")
    got = inbox.wait(1)
    settle()
    assert [m for m, _ in got] == [b"peer"]


def test_d16_connect_failure_goes_to_callback(make: Callable[..., dgram.Socket]) -> None:
    sock = make("udp4")
    got: list[Any] = []
    sock.connect(9, "::1", got.append)  # an IPv6 peer for a udp4 socket
    wait_until(lambda: got, WAIT_S, "the connect callback")
    assert isinstance(got[0], OSError) and got[0].syscall == "connect"
    # The state went back to disconnected: connect may be tried again.
    target = bound(make)
    sock.connect(port_of(target))
    once(sock, "connect", W)


def test_d17_d18_icmp_unreachable_is_econnrefused(make: Callable[..., dgram.Socket]) -> None:
    """A connected socket sending to a closed port: 'error' ECONNREFUSED from recvmsg."""
    probe = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sock = make("udp4")
    messages: list[Any] = []
    sock.on("message", lambda *a: messages.append(a))
    sock.connect(port, "127.0.0.1")
    once(sock, "connect", W)
    sock.send(b"anyone?")
    (err,) = once(sock, "error", W)
    assert isinstance(err, ConnectionRefusedError)
    assert err.code == "ECONNREFUSED" and err.syscall == "recvmsg"
    assert not messages
    # The socket keeps working after the error.
    assert not sock._closed


# --- closing ------------------------------------------------------------------------


def test_d19_close(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-close.js."""
    sock = bound(make)
    closed: list[Any] = []
    assert sock.close(lambda: closed.append("cb")) is sock
    sock.on("close", lambda: closed.append("event"))
    assert not closed  # never inside the call
    wait_until(lambda: len(closed) == 2, WAIT_S, "'close'")
    assert closed == ["cb", "event"]


def test_d19_close_while_lookup_pending(make: Callable[..., dgram.Socket]) -> None:
    answers: list[Callable[..., Any]] = []

    def lookup(host: str, family: int, callback: Callable[..., Any]) -> None:
        answers.append(callback)

    sock = make({"type": "udp4", "lookup": lookup})
    sock.bind(0, "127.0.0.1")
    assert len(answers) == 1
    answers[0](None, "127.0.0.1", 4)
    once(sock, "listening", W)
    sent: list[Any] = []
    sock.send(b"x", 1234, "slow.example", lambda *a: sent.append(a))
    sock.close()
    once(sock, "close", W)
    answers[1](None, "127.0.0.1", 4)  # the answer comes after close: nothing happens
    settle()
    assert not sent


def test_d20_not_running_after_close(make: Callable[..., dgram.Socket]) -> None:
    sock = bound(make)
    sock.close()
    for call in (sock.close, lambda: sock.send(b"x", 1234), sock.address, sock.bind,
                 lambda: sock.connect(1234), lambda: sock.addMembership("224.0.0.1"),
                 sock.getRecvBufferSize, lambda: sock.setTTL(3), sock.remoteAddress,
                 lambda: sock.setBroadcast(True)):
        with pytest.raises(SocketDgramNotRunningError) as info:
            call()
        assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"
        assert str(info.value) == "Not running"
    assert sock.ref() is sock and sock.unref() is sock  # harmless after close
    once(sock, "close", W)


def test_d21_close_during_bind(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-close-during-bind.js: the bind never completes, its callback never runs."""
    sock = make("udp4")
    calls: list[Any] = []
    sock.bind(0, "127.0.0.1", lambda: calls.append("bound"))
    sock.on("listening", lambda: calls.append("listening"))
    sock.close()
    once(sock, "close", W)
    settle()
    assert calls == []
    assert sock._sock is None


def test_d21_close_in_listening_with_queued_sends(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-close-in-listening.js."""
    target = bound(make)
    inbox = Inbox(target)
    sock = make("udp4")
    sock.on("listening", sock.close)
    sock.send(b"q" * 1024, port_of(target), "127.0.0.1")
    once(sock, "close", W)
    inbox.wait(1)  # the queued send went out before the close that came after it


def test_close_during_bind_with_queued_sends_runs_after_them(
        make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    inbox = Inbox(target)
    sock = make("udp4")
    done: list[Any] = []
    sock.send(b"first", port_of(target), lambda err, n: done.append(n))
    assert sock.close() is sock
    once(sock, "close", W)
    assert [m for m, _ in inbox.wait(1)] == [b"first"]
    wait_until(lambda: done, WAIT_S, "the send callback")


# --- options -----------------------------------------------------------------------


def test_d22_membership(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-membership.js."""
    closed = make("udp4")
    closed.close()
    with pytest.raises(SocketDgramNotRunningError):
        closed.addMembership("224.0.0.1")
    with pytest.raises(SocketDgramNotRunningError):
        closed.dropSourceSpecificMembership("10.0.0.1", "232.1.1.1")
    sock = bound(make, host="0.0.0.0")
    for method in (sock.addMembership, sock.dropMembership):
        with pytest.raises(MissingArgsError) as info:
            method()
        assert info.value.code == "ERR_MISSING_ARGS"
        assert '"multicastAddress"' in str(info.value)
    for group in ("256.256.256.256", "127.0.0.1", "not an address"):
        with pytest.raises(OSError) as oinfo:
            sock.addMembership(group)
        assert oinfo.value.code == "EINVAL" and oinfo.value.syscall == "addMembership"
        assert oinfo.value.message == "addMembership EINVAL"
    sock.addMembership("224.0.0.114", "127.0.0.1")
    with pytest.raises(OSError) as oinfo:
        sock.addMembership("224.0.0.114", "127.0.0.1")
    assert oinfo.value.code == "EADDRINUSE"
    sock.dropMembership("224.0.0.114", "127.0.0.1")
    with pytest.raises(OSError) as oinfo:
        sock.dropMembership("224.0.0.114", "127.0.0.1")
    assert oinfo.value.code == "EADDRNOTAVAIL" and oinfo.value.syscall == "dropMembership"
    # Source-specific membership: type checks, then the kernel's answers.
    with pytest.raises(InvalidArgTypeError) as tinfo:
        sock.addSourceSpecificMembership()
    assert '"sourceAddress"' in str(tinfo.value)
    with pytest.raises(InvalidArgTypeError) as tinfo:
        sock.addSourceSpecificMembership("10.0.0.1", 1)
    assert '"groupAddress"' in str(tinfo.value)
    with pytest.raises(OSError) as oinfo:
        sock.addSourceSpecificMembership("10.0.0.1", "256.1.1.1")
    assert oinfo.value.code == "EINVAL"
    assert oinfo.value.syscall == "addSourceSpecificMembership"
    sock.addSourceSpecificMembership("127.0.0.1", "232.1.1.1", "127.0.0.1")
    sock.dropSourceSpecificMembership("127.0.0.1", "232.1.1.1", "127.0.0.1")


def test_d23_ttl(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-setTTL.js."""
    sock = make("udp4")
    with pytest.raises(OSError) as info:
        sock.setTTL(16)
    assert info.value.code == "EBADF" and info.value.message == "setTTL EBADF"
    with pytest.raises(OSError) as info:
        sock.setMulticastTTL(5)
    assert info.value.message == "setMulticastTTL EBADF"
    sock.bind(0, "127.0.0.1")
    once(sock, "listening", W)
    assert sock.setTTL(16) == 16
    assert sock.setMulticastTTL(5) == 5
    assert sock.setMulticastTTL(0) == 0
    with pytest.raises(InvalidArgTypeError) as tinfo:
        sock.setTTL("foo")
    assert '"ttl"' in str(tinfo.value)
    with pytest.raises(InvalidArgTypeError):
        sock.setMulticastTTL("foo")
    for bad in (1000, 0, 256):
        with pytest.raises(OSError) as info:
            sock.setTTL(bad)
        assert info.value.code == "EINVAL" and info.value.message == "setTTL EINVAL"
    with pytest.raises(OSError) as info:
        sock.setMulticastTTL(256)
    assert info.value.message == "setMulticastTTL EINVAL"


def test_d24_broadcast_and_multicast_switches(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-setBroadcast.js, and the other switches' EBADF before bind."""
    sock = make("udp4")
    for name, call in (("setBroadcast", lambda: sock.setBroadcast(True)),
                       ("setMulticastLoopback", lambda: sock.setMulticastLoopback(True)),
                       ("setMulticastInterface", lambda: sock.setMulticastInterface("127.0.0.1"))):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.message == f"{name} EBADF"
    sock.bind(0, "127.0.0.1")
    once(sock, "listening", W)
    assert sock.setBroadcast(True) is None
    sock.setBroadcast(False)
    assert sock._sock.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_BROADCAST) == 0
    sock.setBroadcast("yes")  # any truthy value, as in Node
    assert sock._sock.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_BROADCAST) == 1
    assert sock.setMulticastLoopback(True) is True
    assert sock.setMulticastLoopback(0) == 0
    sock.setMulticastInterface("127.0.0.1")
    with pytest.raises(InvalidArgTypeError) as tinfo:
        sock.setMulticastInterface(5)
    assert '"interfaceAddress"' in str(tinfo.value)
    with pytest.raises(OSError) as info:
        sock.setMulticastInterface("xx")
    assert info.value.message == "setMulticastInterface EINVAL"
    with pytest.raises(OSError) as info:
        sock.setMulticastInterface("::1")
    assert info.value.code == "ENOPROTOOPT"


def test_d25_buffer_sizes(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-socket-buffer-size.js."""
    sock = make("udp4")
    for call in (sock.getRecvBufferSize, sock.getSendBufferSize,
                 lambda: sock.setRecvBufferSize(8192), lambda: sock.setSendBufferSize(8192)):
        with pytest.raises(SocketBufferSizeError) as info:
            call()
        err = info.value
        assert err.code == "ERR_SOCKET_BUFFER_SIZE"
        assert err.info["code"] == "EBADF"
        assert err.info["syscall"] in ("uv_recv_buffer_size", "uv_send_buffer_size")
        assert str(err).startswith("Could not get or set buffer size: uv_")
        assert str(err).endswith("returned EBADF (bad file descriptor)")
    for bad in (-1, float("inf"), "Doh!", 1.5, True, None, 2**32):
        with pytest.raises(SocketBadBufferSizeError) as binfo:
            sock.setRecvBufferSize(bad)
        assert binfo.value.code == "ERR_SOCKET_BAD_BUFFER_SIZE"
        assert str(binfo.value) == "Buffer size must be a positive integer"
    sock.bind(0, "127.0.0.1")
    once(sock, "listening", W)
    with pytest.raises(SocketBufferSizeError) as info:
        sock.setRecvBufferSize(2**31)
    assert info.value.info["code"] == "EINVAL"
    assert str(info.value) == ("Could not get or set buffer size: uv_recv_buffer_size "
                               "returned EINVAL (invalid argument)")
    sock.setRecvBufferSize(10000)
    assert sock.getRecvBufferSize() == 20000
    sock.setSendBufferSize(10000)
    assert sock.getSendBufferSize() == 20000


# --- the loop and the send queue ---------------------------------------------------


def test_d26_ref_and_run(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-ref.js, -unref.js: an unbound socket does not keep run() alive."""
    make("udp4")
    make("udp6")
    assert gnet.run(timeout=1000) is True
    sock = bound(make)
    assert gnet.run(timeout=50) is False  # a bound socket keeps it alive
    assert sock.unref() is sock
    assert gnet.run(timeout=1000) is True
    assert sock.ref() is sock
    assert gnet.run(timeout=50) is False
    sock.close()
    assert gnet.run(timeout=1000) is True
    assert sock.ref() is sock
    assert gnet.run(timeout=1000) is True


def test_d27_send_queue(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-send-queue-info.js: 0 on a fresh socket; queued sends are counted and flushed."""
    fresh = make("udp4")
    assert fresh.getSendQueueSize() == 0 and fresh.getSendQueueCount() == 0
    target = bound(make)
    target.setRecvBufferSize(1 << 20)
    sender = bound(make)
    sender.setSendBufferSize(4096)
    done: list[Any] = []
    payload = b"z" * 60000
    peak = 0
    for i in range(200):
        sender.send(payload, port_of(target), "127.0.0.1", lambda err, n, i=i: done.append(i))
        peak = max(peak, sender.getSendQueueCount())
        if i % 50 == 49:
            assert sender.getSendQueueSize() == 60000 * sender.getSendQueueCount()
    wait_until(lambda: len(done) == 200, WAIT_S, "200 send callbacks")
    assert done == list(range(200))  # queued or not, in order
    assert sender.getSendQueueSize() == 0 and sender.getSendQueueCount() == 0
    # Whether any send had to wait is the kernel's call (loopback rarely says EAGAIN).
    print(f"sends that waited for the kernel, at most at once: {peak}")


def test_d28_bad_port_thrown_synchronously(make: Callable[..., dgram.Socket]) -> None:
    sock = make("udp4")
    with pytest.raises(SocketBadPortError):
        sock.send(b"x", 0, "localhost")
    with pytest.raises(SocketBadPortError):
        sock.send(b"x", 70000)
    with pytest.raises(SocketBadPortError):
        sock.send(b"x", 0, 1, 70000, "127.0.0.1")


# --- events and listeners -------------------------------------------------------------------


def test_messages_arrive_in_order_and_events_never_inside_calls(
        make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    target.setRecvBufferSize(1 << 20)  # 300 small skbs overflow the 208 KiB default
    inbox = Inbox(target)
    sender = bound(make)
    callbacks: list[int] = []
    for i in range(300):
        sender.send(b"%d" % i, port_of(target), "127.0.0.1",
                    lambda err, n, i=i: callbacks.append(i))
    assert callbacks == []  # not inside send()
    got = inbox.wait(300)
    assert [int(m) for m, _ in got] == list(range(300))


def test_a_failing_listener_closes_only_its_socket(
        make: Callable[..., dgram.Socket], caplog: pytest.LogCaptureFixture) -> None:
    bad = bound(make)
    good = bound(make)
    inbox = Inbox(good)

    def boom(*_: Any) -> None:
        raise RuntimeError("listener bug")

    bad.on("message", boom)
    with caplog.at_level(logging.ERROR, logger="gnet"):
        good.send(b"x", port_of(bad), "127.0.0.1")
        once(bad, "close", W)
    assert any("listener" in r.getMessage() for r in caplog.records)
    bad2 = bound(make)
    bad2.send(b"y", port_of(good), "127.0.0.1")
    assert inbox.wait(1)[0][0] == b"y"


def test_listener_may_block_cooperatively(make: Callable[..., dgram.Socket]) -> None:
    slow = bound(make)
    fast = bound(make)
    sender = bound(make)
    slow_got: list[bytes] = []
    fast_got: list[bytes] = []

    def on_slow(msg: bytes, _rinfo: Any) -> None:
        gevent.sleep(0.2)
        slow_got.append(msg)

    slow.on("message", on_slow)
    fast.on("message", lambda msg, _r: fast_got.append(msg))
    sender.send(b"s", port_of(slow), "127.0.0.1")
    gevent.sleep(0.02)
    sender.send(b"f", port_of(fast), "127.0.0.1")
    wait_until(lambda: fast_got, WAIT_S, "the fast socket's message")
    assert not slow_got  # the blocked listener held back only its own socket
    wait_until(lambda: slow_got, WAIT_S, "the slow socket's message")


# --- reliability ------------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_thousand_sockets_no_descriptor_leak() -> None:
    gc.collect()
    before = _open_fds()
    socks = []
    for i in range(1000):
        sock = dgram.createSocket("udp4")
        sock.bind(0, "127.0.0.1")
        socks.append(sock)
        if i % 100 == 99:
            wait_until(lambda: all(s._bind_state == dgram.BOUND for s in socks), WAIT_S, "binds")
            for s in socks:
                s.send(b"x", 9, "127.0.0.1")
                s.close()
            socks.clear()
    wait_until(lambda: gnet.refCount() == 0, WAIT_S, "every socket closed")
    gevent.sleep(0.05)
    gc.collect()
    assert _open_fds() <= before + 2


_FLOODER = """
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload, sent, end = b"f" * 1200, 0, time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(200):
        s.sendto(payload, ("127.0.0.1", port))
        sent += 1
print(sent)
"""


@pytest.mark.timeout(30)
def test_flood_against_slow_listener_keeps_memory_bounded(
        make: Callable[..., dgram.Socket]) -> None:
    """A sender at full speed, a listener that blocks: gnet holds at most MAX_PENDING."""
    target = bound(make)
    target.setRecvBufferSize(256 * 1024)
    seen = [0]
    peak = [0]

    def slow(msg: bytes, _rinfo: Any) -> None:
        seen[0] += 1
        peak[0] = max(peak[0], target._in_flight)
        if seen[0] % 4 == 0:
            gevent.sleep(0.001)  # a listener far slower than the wire

    target.on("message", slow)
    # The sender is another process, so it floods at full speed whatever this one does.
    flooder = gevent.subprocess.Popen(
        [sys.executable, "-c", _FLOODER, str(port_of(target)), "0.5"],
        stdout=gevent.subprocess.PIPE)
    throttled = False
    while flooder.poll() is None:
        throttled = throttled or target._throttled
        assert target._in_flight <= dgram.MAX_PENDING
        assert target._in_flight_bytes <= dgram.MAX_PENDING_BYTES + 65536
        gevent.sleep(0.002)
    out, _ = flooder.communicate()
    sent = int(out)
    assert throttled, "the flood never made gnet stop reading"
    wait_until(lambda: target._in_flight == 0, 10.0, "the listener to catch up")
    assert peak[0] <= dgram.MAX_PENDING
    assert 0 < seen[0] <= sent
    assert not target._throttled
    # Reading resumed after the flood: a late datagram still arrives.
    late: list[bytes] = []
    target.on("message", lambda msg, _r: late.append(msg))
    bound(make).send(b"late", port_of(target), "127.0.0.1")
    wait_until(lambda: b"late" in late, WAIT_S, "a datagram after the flood")


def test_send_keyword_form(make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    inbox = Inbox(target)
    port = port_of(target)
    sender = make("udp4")
    done: list[Any] = []
    sender.send(b"kw1", port=port)
    sender.send(b"kw2", port=port, address="127.0.0.1", callback=lambda e, n: done.append(n))
    sender.send(b"kw3", port, "127.0.0.1", callback=lambda e, n: done.append(n))
    sender.send(b"xxkw4", offset=2, length=3, port=port, address="127.0.0.1")
    sender.send(b"kw5", length=2, port=port)
    assert [m for m, _ in inbox.wait(5)] == [b"kw1", b"kw2", b"kw3", b"kw4", b"kw"]
    wait_until(lambda: len(done) == 2, WAIT_S, "callbacks")
    assert done == [3, 3]
    sender.connect(port)
    once(sender, "connect", W)
    sender.send(b"kw6", callback=lambda e, n: done.append(n))
    assert inbox.wait(6)[5][0] == b"kw6"
    wait_until(lambda: len(done) == 3, WAIT_S, "callback")


@needs_ipv6
def test_ipv6_only(make: Callable[..., dgram.Socket]) -> None:
    """test-dgram-ipv6only.js: with ipv6Only, a udp4 socket may take the same port."""
    six = make({"type": "udp6", "ipv6Only": True})
    six.bind(0, "::")
    once(six, "listening", W)
    four = make("udp4")
    four.bind(port_of(six), "0.0.0.0")
    once(four, "listening", W)
    dual = make("udp6")
    dual.bind(0, "::")
    once(dual, "listening", W)
    clash = make("udp4")
    clash.bind(port_of(dual), "0.0.0.0")
    (err,) = once(clash, "error", W)
    assert err.code == "EADDRINUSE"
    # A dual-stack udp6 socket hears IPv4 senders as v4-mapped addresses.
    inbox = Inbox(dual)
    make("udp4").send(b"v4", port_of(dual), "127.0.0.1")
    msg, rinfo = inbox.wait(1)[0]
    assert msg == b"v4" and rinfo["address"] == "::ffff:127.0.0.1" and rinfo["family"] == "IPv6"


def test_connect_by_name(make: Callable[..., dgram.Socket]) -> None:
    target = bound(make)
    sock = make("udp4")
    sock.connect(port_of(target), "localhost")
    once(sock, "connect", W)
    assert sock.remoteAddress()["address"] == "127.0.0.1"


JUNK: list[Any] = [None, -1, 0, 2**40, 1.5, float("nan"), "x", "", b"", [], {}, object(), True]

# Every public call and its arity: each argument gets each junk value in turn.
CALLS: list[tuple[str, int]] = [
    ("bind", 3), ("send", 6), ("connect", 3), ("setBroadcast", 1), ("setTTL", 1),
    ("setMulticastTTL", 1), ("setMulticastLoopback", 1), ("setMulticastInterface", 1),
    ("addMembership", 2), ("dropMembership", 2), ("addSourceSpecificMembership", 3),
    ("dropSourceSpecificMembership", 3), ("setRecvBufferSize", 1), ("setSendBufferSize", 1),
    ("close", 1),
]


@pytest.mark.parametrize("state", ["fresh", "bound"])
def test_bad_input_everywhere_gives_coded_errors(
        make: Callable[..., dgram.Socket], state: str, caplog: pytest.LogCaptureFixture) -> None:
    """Junk in any argument of any call: a coded error or success, never a stray exception."""
    good = {"bind": [0, "127.0.0.1", None], "send": [b"x", 0, 1, 9, "127.0.0.1", None],
            "connect": [9, "127.0.0.1", None], "addMembership": ["224.0.0.1", None],
            "dropMembership": ["224.0.0.1", None],
            "addSourceSpecificMembership": ["127.0.0.1", "232.1.1.1", None],
            "dropSourceSpecificMembership": ["127.0.0.1", "232.1.1.1", None]}
    for name, arity in CALLS:
        for position in range(arity):
            for junk in JUNK:
                sock = bound(make) if state == "bound" else make("udp4")
                sock.on("error", lambda err: None)
                args = list(good.get(name, [None] * arity))
                args[position] = junk
                while args and args[-1] is None and len(args) > position + 1:
                    args.pop()
                try:
                    getattr(sock, name)(*args)
                except (OSError, gnet.errors.NodeError) as exc:
                    assert getattr(exc, "code", None), (name, args, exc)
                except Exception as exc:  # pragma: no cover - the failure being tested for
                    pytest.fail(f"{name}{tuple(args)!r} raised {exc!r} without a code")
    settle()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR
                and "internal error" in r.getMessage()]
