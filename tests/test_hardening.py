"""Hardening of the library against hostile or careless input (issue 16, items 8-16).

Each test here failed before its fix:

* 8: the stale-socket probe of ``listen({'removeStale': True})`` took a live
  Unix server whose accept queue is full (EAGAIN) for a dead one and
  replaced its socket file.
* 9: a host name the IDNA codec refuses gave neither 'listening' nor
  'error', and kept ``run()`` waiting forever.
* 10: numeric strings ('1e3', '0b101', '') became Unix socket files; the
  rule "a string is a port when ``Number(s) >= 0``" is now one function,
  held here to a table of what Node 20 does.
* 11: a NUL byte in a Unix socket path bound the path cut short and broke
  ``close()``.
* 12: ``setTimeout(1e-300)`` spun the loop; a 1 ms timeout re-armed every
  millisecond while idle.
* 13: the unsent rest of a ``bytearray`` write aliased the caller's buffer.
* 14: a listener that blocks forever kept the server's 'close' and
  ``run()`` waiting even after ``stop(timeout)``.
* 15: calls from a foreign OS thread went unnoticed.
* 16: ``gnet.run()`` inside a listener waited for itself.
"""

from __future__ import annotations

import _socket
import errno
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import Any

import gevent
import pytest
from gevent.event import Event
from gevent.monkey import get_original

import gnet as net
from gnet.addresses import is_port_string, js_number, validate_port
from gnet.errors import (
    ForeignThreadError,
    InvalidArgValueError,
    NestedRunError,
    SocketBadPortError,
)
from helpers import HOST, MIB, Harness, wait_until

unix_only = pytest.mark.skipif(not hasattr(_socket, "AF_UNIX"), reason="no AF_UNIX here")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the abstract socket namespace is Linux's")

WAIT_S = 5.0


def outcome(srv: net.Server) -> tuple[str, Any]:
    """Wait for a server's 'listening' or 'error': ('listening', None) or ('error', err)."""
    result: list[tuple[str, Any]] = []
    srv.once("listening", lambda: result.append(("listening", None)))
    srv.once("error", lambda err: result.append(("error", err)))
    wait_until(lambda: result, WAIT_S, "'listening' or 'error'")
    return result[0]


def connected_pair(harness: Harness, **server_options: Any) -> tuple[net.Socket, net.Socket]:
    """A client and its accepted socket on loopback."""
    accepted: list[net.Socket] = []
    srv = harness.server(server_options, accepted.append)
    srv.listen(0, HOST)
    assert outcome(srv)[0] == "listening"
    client = harness.connect(srv.address()["port"], HOST)
    wait_until(lambda: accepted and not client.connecting, WAIT_S, "the connection")
    harness.track(accepted[0])
    return client, accepted[0]


# --- 8: the stale-socket probe ---------------------------------------------------------


@unix_only
def test_remove_stale_leaves_a_live_server_with_a_full_backlog(harness: Harness,
                                                               tmp_sock_path: str) -> None:
    live = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    clients: list[Any] = []
    try:
        live.bind(tmp_sock_path)
        live.listen(0)
        inode = os.stat(tmp_sock_path).st_ino
        # Fill its accept queue: the next connect() says EAGAIN.
        for _ in range(64):
            client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            client.setblocking(False)
            clients.append(client)
            if client.connect_ex(tmp_sock_path) == errno.EAGAIN:
                break
        else:
            pytest.skip("the accept queue never filled")
        srv = harness.server()
        srv.listen({"path": tmp_sock_path, "removeStale": True})
        kind, err = outcome(srv)
        assert kind == "error"
        assert err.code == "EADDRINUSE"
        assert "accept queue is full" in str(err)
        assert not srv.listening
        # The live server keeps its file, and its queued clients.
        assert os.stat(tmp_sock_path).st_ino == inode
        fd, _ = live._accept()
        os.close(fd)
    finally:
        for client in clients:
            client.close()
        live.close()


@unix_only
def test_remove_stale_still_replaces_a_dead_socket_file(harness: Harness,
                                                       tmp_sock_path: str) -> None:
    dead = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    dead.bind(tmp_sock_path)
    dead.close()  # the file stays, nothing listens: ECONNREFUSED
    srv = harness.server()
    srv.listen({"path": tmp_sock_path, "removeStale": True})
    assert outcome(srv)[0] == "listening"


# --- 9: host names the resolver cannot take --------------------------------------------


@pytest.mark.parametrize(("host", "code"), [
    ("example..com", "ENOTFOUND"),
    ("a" * 64 + ".example", "ENOTFOUND"),
    ("x\ud800y", "EINVAL"),  # Node: 'getaddrinfo EINVAL x\ufffdy'
], ids=["empty-label", "64-char-label", "lone-surrogate"])
def test_listen_on_a_host_idna_refuses_gives_error(harness: Harness, host: str, code: str,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    before = net.refCount()
    srv = harness.server()
    srv.listen(0, host)
    kind, err = outcome(srv)
    assert kind == "error"
    assert err.code == code
    assert err.syscall == "getaddrinfo"
    assert err.message.startswith(f"getaddrinfo {code} ")
    assert not srv.listening
    assert net.refCount() == before
    assert net.run(timeout=2000)
    # No traceback from gevent's resolver thread.
    assert "Traceback" not in capfd.readouterr().err


# --- 10: is this string a port? -----------------------------------------------------------

# What Node 20 does with each string given as the first argument of
# server.listen() / net.connect(): 'path' (a Unix socket), or 'port' with the
# port number or the error it throws. Generated once with node from
# net._normalizeArgs and server.listen(); kept here as data.
NODE_PORT_TABLE: list[tuple[str, str, Any]] = [
    ('0', 'port', 0),
    ('80', 'port', 80),
    (' 80 ', 'port', 80),
    ('\t80\n', 'port', 80),
    ('80.0', 'port', 80),
    ('80.5', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('8e1', 'port', 80),
    ('1e3', 'port', 1000),
    ('1E3', 'port', 1000),
    ('1e6', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('0x10', 'port', 16),
    ('0X10', 'port', 16),
    ('0b101', 'port', 5),
    ('0B101', 'port', 5),
    ('0o17', 'port', 15),
    ('0O17', 'port', 15),
    ('0x', 'path', None),
    ('0b', 'path', None),
    ('0o', 'path', None),
    ('-0', 'port', 0),
    ('+80', 'port', 80),
    ('-1', 'path', None),
    ('-0x1', 'path', None),
    ('+0x10', 'path', None),
    ('', 'port', 'ERR_SOCKET_BAD_PORT'),
    (' ', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('.5e1', 'port', 5),
    ('5.', 'port', 5),
    ('.', 'path', None),
    ('e1', 'path', None),
    ('1e', 'path', None),
    ('1_000', 'path', None),
    ('Infinity', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('+Infinity', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('-Infinity', 'path', None),
    ('inf', 'path', None),
    ('NaN', 'path', None),
    ('65535', 'port', 65535),
    ('65536', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('0x10000', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('0xffff', 'port', 65535),
    ('00080', 'port', 80),
    ('0080.0', 'port', 80),
    ('1e-3', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('\xa080', 'port', 80),
    ('\ufeff80', 'port', 80),
    ('\u200b80', 'path', None),
    ('\u0663', 'path', None),  # an Arabic-Indic digit
    ('\uff18\uff10', 'path', None),  # fullwidth digits
    ('abc', 'path', None),
    ('./sock', 'path', None),
    ('sub/x', 'path', None),
    ('80abc', 'path', None),
    ('0.0e0', 'port', 0),
    ('1e+2', 'port', 100),
    ('1e-0', 'port', 1),
    ('0x1.8', 'path', None),
    ('08', 'port', 8),
    ('0e5', 'port', 0),
    ('+', 'path', None),
    ('-', 'path', None),
    ('1n', 'path', None),
    ('0x0', 'port', 0),
    ('-0.0', 'port', 0),
    ('1\u2028', 'port', 1),
    ('\u3000443', 'port', 443),
    ('0b2', 'path', None),
    ('0o8', 'path', None),
    ('0xg', 'path', None),
    ('4.4e1', 'port', 44),
    ('+.5', 'port', 'ERR_SOCKET_BAD_PORT'),
    ('-.0', 'port', 0),
]


@pytest.mark.parametrize(("text", "kind", "port"), NODE_PORT_TABLE,
                         ids=[repr(row[0]) for row in NODE_PORT_TABLE])
def test_port_strings_as_node_reads_them(text: str, kind: str, port: Any) -> None:
    assert is_port_string(text) is (kind == "port")
    if kind == "port" and isinstance(port, int):
        assert validate_port(text) == port
        assert js_number(text) == port
    elif kind == "port":
        with pytest.raises(SocketBadPortError):
            validate_port(text)


# Reads each string as server.listen(s) does: ['path'] or ['port', +s or the error code].
_NODE_TABLE_SCRIPT = r"""
const net = require('net');
const rows = [];
for (const s of JSON.parse(process.argv[1])) {
  if (net._normalizeArgs([s])[0].path !== undefined) { rows.push([s, 'path', null]); continue; }
  const srv = net.createServer();
  srv.on('error', () => {});
  try { srv.listen(s, '127.0.0.1'); rows.push([s, 'port', +s]); }
  catch (e) { rows.push([s, 'port', e.code]); }
  srv.close();
}
console.log(JSON.stringify(rows));
"""


@pytest.mark.node
@pytest.mark.once
@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_port_table_is_what_node_does(tmp_path: Any) -> None:
    texts = [row[0] for row in NODE_PORT_TABLE]
    done = subprocess.run(["node", "-e", _NODE_TABLE_SCRIPT, json.dumps(texts)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30, check=True)
    assert [tuple(row) for row in json.loads(done.stdout)] == NODE_PORT_TABLE


@unix_only
@pytest.mark.timeout(120)
def test_listen_and_connect_read_port_strings_as_node(harness: Harness, tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths are relative: they land in tmp_path, never next to the tests.
    monkeypatch.chdir(tmp_path)
    for text, kind, port in NODE_PORT_TABLE:
        srv = harness.server()
        if kind == "port" and not isinstance(port, int):
            with pytest.raises(SocketBadPortError):
                srv.listen(text)
            with pytest.raises(SocketBadPortError):
                net.createConnection(text)
            continue
        srv.listen(text, HOST) if kind == "port" else srv.listen(text)
        state, err = outcome(srv)
        if kind == "path":
            assert (srv.address() if state == "listening" else err.address) == text, text
        elif state == "listening":
            assert srv.address()["port"] == (port or srv.address()["port"]), text
        else:  # the port is taken, or privileged: still the right one
            assert err.port == port, text
        srv.close()
        errors: list[BaseException] = []
        client = harness.connect(text, HOST) if kind == "port" else harness.connect(text)
        client.on("error", errors.append)
        client.on("close", lambda had_error, e=errors: e.append(None) if not e else None)
        wait_until(lambda c=client, e=errors: e or c.remotePort, WAIT_S, text)
        if kind == "path":
            assert errors and getattr(errors[0], "address", None) == text, text
        elif errors:
            assert getattr(errors[0], "port", None) == port, text
        else:
            assert client.remotePort == port, text
        client.destroy()
    # No string that Node reads as a port made a file.
    assert not [name for name in os.listdir(tmp_path)
                if is_port_string(name)], os.listdir(tmp_path)


def test_listen_and_connect_agree_on_an_exponent_port(harness: Harness) -> None:
    srv = harness.server()
    srv.listen(0, HOST)
    assert outcome(srv)[0] == "listening"
    port = srv.address()["port"]
    # The same port, spelt as Node's Number() reads it.
    for text in (f"{port}.0", f" {port} ", f"{port * 10}e-1", hex(port), oct(port), bin(port)):
        client = harness.connect(text, HOST)
        wait_until(lambda c=client: c.remotePort or c.destroyed, WAIT_S, text)
        assert client.remotePort == port, text
        client.destroy()
    srv.close()
    other = harness.server()
    other.listen(f"{port}.0", HOST)
    assert outcome(other)[0] == "listening"
    assert other.address()["port"] == port


def test_blank_port_string_is_a_bad_port() -> None:
    # Node: Number('') is 0, so a port, which validatePort refuses.
    with pytest.raises(SocketBadPortError):
        net.createServer().listen("")
    with pytest.raises(SocketBadPortError):
        net.createServer().listen("  ")


# --- 11: NUL bytes in Unix socket paths -----------------------------------------------------


@unix_only
@pytest.mark.parametrize("form", ["positional", "options", "removeStale"])
def test_nul_in_a_unix_path_is_refused(harness: Harness, tmp_sock_path: str, form: str) -> None:
    path = tmp_sock_path + "\0tail"
    before = net.refCount()
    srv = harness.server()
    args: Any = {
        "positional": path,
        "options": {"path": path},
        "removeStale": {"path": path, "removeStale": True},
    }[form]
    with pytest.raises(InvalidArgValueError) as info:
        srv.listen(args)
    assert info.value.code == "ERR_INVALID_ARG_VALUE"
    assert "must be a string without null bytes" in str(info.value)
    assert not os.path.exists(tmp_sock_path)
    assert net.refCount() == before
    connect_args: Any = path if form == "positional" else {"path": path}
    with pytest.raises(InvalidArgValueError, match="without null bytes"):
        net.createConnection(connect_args)
    assert net.refCount() == before


@linux_only
def test_abstract_names_may_hold_nul(harness: Harness) -> None:
    name = f"\0gnet-{uuid.uuid4().hex}\0x"
    srv = harness.server(lambda sock: sock.end("hi"))
    srv.listen(name)
    assert outcome(srv)[0] == "listening"
    assert srv.address() == name
    data: list[bytes] = []
    client = harness.connect(name)
    client.on("data", data.append)
    wait_until(lambda: client.destroyed, WAIT_S, "the client's close")
    assert b"".join(data) == b"hi"


# --- 12: tiny and 1 ms idle timeouts ---------------------------------------------------------


def _loop_iterations() -> int:
    count = getattr(gevent.get_hub().loop, "iteration", None)
    if count is None:
        pytest.skip("this gevent loop does not count its iterations")
    return int(count)


@pytest.mark.parametrize("ms", [1e-300, 1])
def test_idle_timeout_fires_once_and_does_not_spin(harness: Harness, ms: float) -> None:
    client, peer = connected_pair(harness)
    peer.on("data", lambda chunk: None)
    timeouts: list[float] = []
    client.on("timeout", lambda: timeouts.append(time.monotonic()))
    client.setTimeout(ms)
    assert client.timeout == ms  # Node keeps the value given; the timer clamps it
    wait_until(lambda: timeouts, WAIT_S, "'timeout'")
    iterations = _loop_iterations()
    cpu = time.process_time()
    gevent.sleep(0.3)
    cpu = time.process_time() - cpu
    iterations = _loop_iterations() - iterations
    # One 'timeout' per idle period, and an idle loop while it lasts (a
    # re-armed 1 ms timer wakes it ~300 times; a 0 ms one spins).
    assert len(timeouts) == 1
    assert iterations < 60, iterations
    assert cpu < 0.15, cpu
    # Activity starts a new idle period: one more 'timeout'.
    client.write(b"x")
    wait_until(lambda: len(timeouts) == 2, WAIT_S, "the second 'timeout'")
    gevent.sleep(0.05)
    assert len(timeouts) == 2


# --- 13: a queued bytearray is a copy -------------------------------------------------------


def test_bytearray_rest_does_not_alias_the_callers_buffer(harness: Harness) -> None:
    client, peer = connected_pair(harness, pauseOnConnect=True)
    size = 32 * MIB
    pattern = bytes(range(256)) * (size // 256)
    buf = bytearray(pattern)
    client.write(buf)
    assert client.writableLength > 0, "the kernel took everything: nothing was queued"
    # The caller reuses its buffer at once; gnet must have kept its own copy.
    buf[:] = b"\xff" * len(buf)
    buf.clear()
    view = memoryview(bytearray(b"abc"))
    client.write(b"")
    client.write(view)  # queued behind the rest: a copy too
    view[:] = b"xyz"
    received: list[bytes] = []
    total = [0]

    def on_data(chunk: bytes) -> None:
        received.append(chunk)
        total[0] += len(chunk)

    peer.on("data", on_data)
    peer.resume()
    wait_until(lambda: total[0] >= size + 3, 30, "all the bytes")
    assert b"".join(received) == pattern + b"abc"


# --- 14: stop() and a listener that never returns --------------------------------------------


@pytest.mark.parametrize("where", ["connection", "data"])
def test_stop_ends_with_close_despite_a_blocked_listener(harness: Harness, where: str) -> None:
    forever = Event()

    def on_connection(sock: net.Socket) -> None:
        if where == "connection":
            forever.wait()
        else:
            sock.on("data", lambda chunk: forever.wait())

    srv = harness.server(on_connection)
    closes: list[float] = []
    srv.on("close", lambda: closes.append(time.monotonic()))
    srv.listen(0, HOST)
    assert outcome(srv)[0] == "listening"
    client = harness.connect(srv.address()["port"], HOST)
    client.on("error", lambda err: None)
    client.write(b"x")
    wait_until(lambda: srv.getConnections() == 1 and not client.connecting, WAIT_S,
               "the connection")
    gevent.sleep(0.05)  # the listener is blocked now
    try:
        srv.stop(0.1)
        client.destroy()
        wait_until(lambda: closes, WAIT_S, "the server's 'close'")
        assert net.run(timeout=3000), "run() waited for the blocked listener"
    finally:
        forever.set()  # let the listener go, so that no greenlet outlives the test
    gevent.sleep(0.05)
    assert len(closes) == 1


# --- 15: calls from a foreign OS thread ------------------------------------------------------


def _in_os_thread(fn: Any) -> BaseException | None:
    """Run ``fn()`` in a real OS thread (even under patch_all()); what it raised."""
    start = get_original("_thread", "start_new_thread")
    result: list[BaseException | None] = []

    def body() -> None:
        try:
            fn()
        except BaseException as exc:
            result.append(exc)
        else:
            result.append(None)

    start(body, ())
    wait_until(lambda: result, WAIT_S, "the thread")
    return result[0]


def test_calls_from_a_foreign_thread_raise(harness: Harness) -> None:
    client, peer = connected_pair(harness)
    calls = {
        "write": lambda: client.write(b"x", lambda err: None),
        "write-queued": lambda: (client.cork(), client.write(b"x")),
        "end": lambda: client.end(),
        "destroy": lambda: client.destroy(),
        "connect": lambda: net.Socket().connect(9, HOST),
        "listen": lambda: net.createServer().listen(0, HOST),
    }
    for name, call in calls.items():
        err = _in_os_thread(call)
        assert isinstance(err, ForeignThreadError), (name, err)
        assert isinstance(err, RuntimeError)
        assert err.code == "ERR_GNET_FOREIGN_THREAD"
        assert "thread" in str(err)
    client.uncork()
    # Nothing was broken: the socket still works from its own thread.
    data: list[bytes] = []
    peer.on("data", data.append)
    client.write(b"ok")
    wait_until(lambda: b"".join(data).endswith(b"ok"), WAIT_S, "the data")


# --- 16: gnet.run() inside a listener --------------------------------------------------------


def test_run_inside_a_listener_raises(harness: Harness) -> None:
    raised: list[BaseException] = []

    def on_connection(sock: net.Socket) -> None:
        try:
            net.run(timeout=500)
        except BaseException as exc:
            raised.append(exc)
        sock.destroy()

    srv = harness.server(on_connection)
    srv.listen(0, HOST)
    assert outcome(srv)[0] == "listening"
    client = harness.connect(srv.address()["port"], HOST)
    client.on("error", lambda err: None)
    wait_until(lambda: raised, WAIT_S, "the listener")
    assert isinstance(raised[0], NestedRunError), raised
    assert raised[0].code == "ERR_GNET_NESTED_RUN"
    assert isinstance(raised[0], RuntimeError)


def test_run_inside_a_timer_callback_raises() -> None:
    raised: list[BaseException] = []

    def tick() -> None:
        try:
            net.run(timeout=500)
        except BaseException as exc:
            raised.append(exc)

    net.setTimeout(tick, 1)
    wait_until(lambda: raised, WAIT_S, "the timer")
    assert isinstance(raised[0], NestedRunError)
    assert net.run(timeout=1000)


def test_run_from_a_greenlet_of_ones_own_still_works() -> None:
    timer = net.setTimeout(lambda: None, 20)
    result = gevent.spawn(net.run, 2000).get(timeout=WAIT_S)
    assert result is True
    assert not timer._active
