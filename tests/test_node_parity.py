"""Behaviours where gnet once differed from Node, each observed in Node 20/22 first.

Every test here failed before its fix. The Node side of each was checked
with a few lines of JavaScript on a loopback pair; the expected orders and
codes below are what Node printed.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest

import gnet as net
from helpers import HOST, Harness, Recorder, settle, wait_until


def pair(harness: Harness, **server_options: Any) -> tuple[net.Socket, net.Socket]:
    """A connected loopback pair: (client, accepted server socket)."""
    accepted: list[net.Socket] = []
    srv = harness.listening_server(accepted.append, **server_options)
    client = harness.connect(srv.address()["port"], HOST)
    wait_until(lambda: accepted and client.remotePort, what="the connection")
    harness.track(accepted[0])
    return client, accepted[0]


def log_events(sock: net.Socket, log: list[Any], *names: str) -> None:
    for name in names:
        sock.on(name, lambda *args, _n=name: log.append((_n, *[getattr(a, "code", a)
                                                               for a in args])))


# --- empty writes ------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("empty", [b"", "", bytearray(), memoryview(b"")])
def test_an_empty_write_queued_while_corked_completes(harness: Harness, empty: Any) -> None:
    client, server = pair(harness)
    got = bytearray()
    client.on("data", got.extend)
    done: list[Any] = []
    server.cork()
    server.write(b"a")
    server.write(empty, lambda err: done.append(err))
    server.uncork()
    server.end()
    wait_until(lambda: done and client.readableEnded, what="the empty write's callback")
    assert done == [None]
    assert bytes(got) == b"a"
    harness.finish()


@pytest.mark.timeout(20)
def test_an_empty_write_while_connecting_completes(harness: Harness) -> None:
    srv = harness.listening_server(lambda sock: sock.resume())
    client = harness.connect(srv.address()["port"], HOST)
    done: list[Any] = []
    client.write("", lambda err: done.append(err))
    client.end()
    wait_until(lambda: done, what="the empty write's callback")
    assert done == [None]
    harness.finish()


@pytest.mark.timeout(30)
def test_end_with_an_empty_string_behind_a_large_write(harness: Harness) -> None:
    client, server = pair(harness)
    got = bytearray()
    client.on("data", got.extend)
    cpu = time.process_time()
    server.write(bytes(10_000_000))
    server.end("")
    wait_until(lambda: client.readableEnded, timeout_s=20.0, what="all the data")
    assert len(got) == 10_000_000
    assert time.process_time() - cpu < 10  # no spinning while the kernel drains
    harness.finish()


# --- write() and 'drain' -----------------------------------------------------------


def test_a_chunk_over_the_high_water_mark_taken_whole_returns_true(harness: Harness) -> None:
    # Node 20/22: write(Buffer.alloc(70000)) on an idle socket returns true
    # and no 'drain' follows (what is left buffered decides).
    client, server = pair(harness)
    server.resume()
    drains: list[Any] = []
    client.on("drain", lambda: drains.append(1))
    assert client.write(bytes(70_000)) is True
    settle()
    assert drains == []
    assert client.writableNeedDrain is False
    harness.finish()


def test_drain_comes_before_the_callbacks_of_the_writes_that_emptied_the_buffer(
        harness: Harness) -> None:
    client, server = pair(harness)
    log: list[str] = []
    client.on("drain", lambda: log.append("drain"))
    server.pause()
    chunks = 0
    while client.write(bytes(65536), lambda err: log.append("cb")):
        chunks += 1
        assert chunks < 10_000
    server.resume()
    wait_until(lambda: "drain" in log, what="'drain'")
    settle()
    assert log[-1] == "cb"
    # the last write's callback came after 'drain'
    assert "drain" in log[: len(log) - 1]
    assert log.index("drain") < len(log) - 1
    harness.finish()


def test_high_water_mark_zero_still_reads_everything(harness: Harness) -> None:
    client, server = pair(harness, highWaterMark=0)
    got = bytearray()
    server.on("data", got.extend)
    client.end(bytes(100_000))
    wait_until(lambda: server.readableEnded, what="all 100,000 bytes")
    assert len(got) == 100_000
    harness.finish()


# --- end() -------------------------------------------------------------------------


def test_end_callback_runs_before_earlier_finish_listeners(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    client.on("finish", lambda: log.append("finish listener"))
    client.end(lambda err: log.append(("end cb", err)))
    wait_until(lambda: len(log) == 2, what="finish")
    assert log == [("end cb", None), "finish listener"]
    harness.finish()


def test_end_callback_while_ending_waits_for_finish(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    client.end()
    client.end(lambda err: log.append(err))
    wait_until(lambda: client.destroyed or log, what="the callback")
    wait_until(lambda: log, what="the callback")
    assert log == [None]
    harness.finish()


def test_end_callback_after_finish_gets_already_finished(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    client.end()
    client.on("finish", lambda: net.setImmediate(
        lambda: client.end(lambda err: log.append(getattr(err, "code", err)))))
    wait_until(lambda: log, what="the callback")
    assert log == ["ERR_STREAM_ALREADY_FINISHED"]
    harness.finish()


def test_end_callback_after_destroy_with_error(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "error", "close")
    boom = OSError("boom")
    boom.code = "EX"  # type: ignore[attr-defined]
    client.destroy(boom)
    client.end(lambda err: log.append(("cb", getattr(err, "code", err))))
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    # Node: error EX, then the callback with ERR_STREAM_DESTROYED, then close.
    assert log == [("error", "EX"), ("cb", "ERR_STREAM_DESTROYED"), ("close", True)]
    harness.caplog.clear()
    harness.finish()


def test_end_then_write_in_one_tick_is_write_after_end_without_finish(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "error", "finish", "close")
    client.end()
    client.write("x", lambda err: log.append(("write cb", getattr(err, "code", err))))
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert log == [("write cb", "ERR_STREAM_WRITE_AFTER_END"),
                   ("error", "ERR_STREAM_WRITE_AFTER_END"), ("close", True)]
    harness.finish()


def test_end_then_destroy_in_one_tick_emits_no_finish(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "finish", "close")
    client.end()
    client.destroy()
    wait_until(lambda: log, what="'close'")
    settle()
    assert log == [("close", False)]
    harness.finish()


def test_write_after_destroy_soon_is_write_after_end(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "error", "finish", "close")
    client.destroySoon()
    client.write("x", lambda err: log.append(("write cb", getattr(err, "code", err))))
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert log == [("write cb", "ERR_STREAM_WRITE_AFTER_END"),
                   ("error", "ERR_STREAM_WRITE_AFTER_END"), ("close", True)]
    harness.finish()


def test_write_after_end_with_allow_half_open_is_write_after_end_not_epipe(
        harness: Harness) -> None:
    client, server = pair(harness, allowHalfOpen=True)
    log: list[Any] = []
    server.on("end", lambda: None)
    log_events(server, log, "error", "close")
    client.end()
    wait_until(lambda: server.readableEnded, what="the client's FIN")
    server.end()
    server.write("late", lambda err: log.append(("cb", getattr(err, "code", err))))
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert log[:2] == [("cb", "ERR_STREAM_WRITE_AFTER_END"),
                       ("error", "ERR_STREAM_WRITE_AFTER_END")]
    harness.finish()


def test_a_write_refused_right_after_destroy_reports_before_close(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "close")
    client.destroy()
    client.write("x", lambda err: log.append(("cb", getattr(err, "code", err))))
    wait_until(lambda: ("close", False) in log, what="'close'")
    assert log == [("cb", "ERR_STREAM_DESTROYED"), ("close", False)]
    harness.finish()


# --- the server's count ------------------------------------------------------------


def test_get_connections_in_a_close_listener_no_longer_counts_that_socket(harness: Harness) -> None:
    counts: list[int] = []
    srv = harness.listening_server(lambda sock: (sock.resume(), sock.on(
        "close", lambda _h: counts.append(srv.getConnections()))))
    clients = [harness.connect(srv.address()["port"], HOST) for _ in range(2)]
    wait_until(lambda: srv.getConnections() == 2, what="two connections")
    clients[0].end()
    wait_until(lambda: counts, what="the first 'close'")
    clients[1].end()
    wait_until(lambda: len(counts) == 2, what="the second 'close'")
    assert counts == [1, 0]
    harness.finish()


def test_get_connections_in_the_same_tick_as_destroy(harness: Harness) -> None:
    accepted: list[net.Socket] = []
    srv = harness.listening_server(accepted.append)
    harness.connect(srv.address()["port"], HOST)
    wait_until(lambda: accepted, what="the connection")
    accepted[0].destroy()
    assert srv.getConnections() == 0
    harness.finish()


def test_close_the_server_when_the_last_client_leaves(harness: Harness) -> None:
    # The common Node idiom: it never ran when the count still held the
    # closing socket.
    closed: list[bool] = []

    def on_connection(sock: net.Socket) -> None:
        sock.resume()

        def on_close(_had_error: bool) -> None:
            if srv.getConnections() == 0:
                srv.close(lambda *_: closed.append(True))

        sock.on("close", on_close)

    srv = harness.listening_server(on_connection)
    harness.connect(srv.address()["port"], HOST).end()
    wait_until(lambda: closed, what="the server's close")
    harness.finish()


# --- the loop ----------------------------------------------------------------------


def test_run_returns_while_a_custom_lookup_never_answers(harness: Harness) -> None:
    sock = harness.connect({"host": "localhost", "port": 80, "lookup": lambda h, o, cb: None})
    started = time.monotonic()
    assert net.run(timeout=3000) is True
    assert time.monotonic() - started < 2
    assert sock.connecting
    harness.finish()


def test_a_custom_lookup_answering_a_list_of_strings(harness: Harness) -> None:
    def lookup(host: str, options: Any, cb: Any) -> None:
        cb(None, ["127.0.0.1"])

    sock = harness.connect({"host": "localhost", "port": 80, "lookup": lookup})
    rec = Recorder(sock)
    err = rec.wait("error")[0]
    assert err.code == "ERR_INVALID_IP_ADDRESS"
    harness.finish()


# --- attributes ---------------------------------------------------------------------


def test_user_attributes_on_a_socket(harness: Harness) -> None:
    client, server = pair(harness)
    server.name = "alice"
    client.nickname = "bob"
    assert (server.name, client.nickname) == ("alice", "bob")
    harness.finish()


def test_run_waits_for_a_close_deferred_to_the_next_loop_turn(harness: Harness) -> None:
    client, server = pair(harness)
    log: list[str] = []
    server.on("close", lambda _h: log.append("closed"))
    server.destroy()
    assert net.run(timeout=300) is False  # the client keeps it alive
    assert log == ["closed"]
    client.destroy()
    gevent.sleep(0)
    harness.finish()


# --- connect options, checked as Node checks them -----------------------------------


@pytest.mark.parametrize(("options", "code", "message"), [
    ({"autoSelectFamily": "INVALID"}, "ERR_INVALID_ARG_TYPE",
     'The "options.autoSelectFamily" property must be of type bool'),
    ({"autoSelectFamilyAttemptTimeout": 0}, "ERR_OUT_OF_RANGE",
     'The value of "options.autoSelectFamilyAttemptTimeout" is out of range. '
     "It must be >= 1 && <= 2147483647. Received 0"),
    ({"autoSelectFamilyAttemptTimeout": -10}, "ERR_OUT_OF_RANGE", "Received -10"),
    ({"localAddress": "foobar"}, "ERR_INVALID_IP_ADDRESS", "Invalid IP address: foobar"),
    ({"localPort": "80"}, "ERR_INVALID_ARG_TYPE",
     'The "options.localPort" property must be of type number'),
    ({"hints": 12345}, "ERR_INVALID_ARG_VALUE", "The argument 'hints' is invalid. Received 12345"),
    ({"hints": "x"}, "ERR_INVALID_ARG_TYPE", 'The "options.hints" property must be of type number'),
])
def test_connect_option_checks(harness: Harness, options: dict[str, Any], code: str,
                               message: str) -> None:
    with pytest.raises(Exception) as info:
        harness.connect({"port": 80, **options})
    assert info.value.code == code  # type: ignore[attr-defined]
    assert message in str(info.value)
    harness.finish()


@pytest.mark.parametrize("args", [(), ({},)])
def test_connect_without_port_or_path(harness: Harness, args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError) as info:
        net.connect(*args)
    assert str(info.value) == 'The "options" or "port" or "path" argument must be specified'
    harness.finish()


def test_connect_error_names_the_local_address_and_port(harness: Harness) -> None:
    srv = harness.listening_server()
    port = srv.address()["port"]
    srv.close()
    net.run(timeout=1000)
    local_port = closed_local_port()
    sock = harness.connect({"port": port, "host": HOST, "localAddress": HOST,
                        "localPort": local_port})
    err = Recorder(sock).wait("error")[0]
    assert err.code == "ECONNREFUSED"
    assert err.message == f"connect ECONNREFUSED {HOST}:{port} - Local ({HOST}:{local_port})"
    assert (err.localAddress, err.localPort) == (HOST, local_port)
    # Only localAddress: no suffix, no fields, as Node.
    sock = harness.connect({"port": port, "host": HOST, "localAddress": HOST})
    err = Recorder(sock).wait("error")[0]
    assert err.message == f"connect ECONNREFUSED {HOST}:{port}"
    assert not hasattr(err, "localPort")
    harness.finish()


def closed_local_port() -> int:
    import socket

    probe = socket.socket()
    probe.bind((HOST, 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.parametrize("side", ["listen", "connect"])
def test_an_over_long_unix_path_is_einval(harness: Harness, tmp_path: Any, side: str) -> None:
    path = str(tmp_path / ("x" * 10_000))
    if side == "listen":
        srv = harness.add(net.createServer())
        errors: list[Any] = []
        srv.on("error", errors.append)
        srv.listen(path)
        wait_until(lambda: errors, what="'error'")
        err = errors[0]
    else:
        err = Recorder(harness.connect(path)).wait("error")[0]
    assert err.code == "EINVAL"
    assert err.syscall == side
    harness.finish()


# --- streams and options --------------------------------------------------------------


def test_pipe_with_end_false_leaves_the_destination_open(harness: Harness) -> None:
    client, server = pair(harness)
    sink_client, sink = pair(harness)
    got = bytearray()
    sink.on("data", got.extend)
    assert server.pipe(sink_client, {"end": False}) is sink_client
    client.end(b"hello")
    wait_until(lambda: server.readableEnded and got == b"hello", what="the piped data")
    settle()
    assert sink_client.writable
    assert not sink.readableEnded
    harness.finish()


def test_set_keep_alive_refuses_an_options_dict(harness: Harness) -> None:
    sock = harness.socket()
    with pytest.raises(TypeError) as info:
        sock.setKeepAlive({"enable": False})
    assert info.value.code == "ERR_INVALID_ARG_TYPE"  # type: ignore[attr-defined]
    harness.finish()


def test_timeout_property_reads_as_set_and_is_writable(harness: Harness) -> None:
    client, _server = pair(harness)
    client.setTimeout(1500)
    assert client.timeout == 1500
    assert isinstance(client.timeout, int)
    client.timeout = 0
    assert client.timeout == 0
    client.timeout = 40
    Recorder(client).wait("timeout")
    harness.finish()


# --- a server error nobody handles ------------------------------------------------------


def test_an_unhandled_server_error_ends_run_with_it(harness: Harness) -> None:
    first = harness.listening_server()
    second = harness.add(net.createServer())
    second.listen(first.address()["port"], HOST)
    with pytest.raises(OSError) as info:
        net.run(timeout=3000)
    assert info.value.code == "EADDRINUSE"  # type: ignore[attr-defined]
    harness.finish()


def test_a_script_whose_listen_fails_exits_non_zero(tmp_path: Any) -> None:
    import subprocess
    import sys

    script = tmp_path / "clash.py"
    script.write_text(
        "import gnet as net\n"
        "a = net.createServer().listen(0, '127.0.0.1')\n"
        "net.run(timeout=100)\n"
        "net.createServer().listen(a.address()['port'], '127.0.0.1')\n"
        "net.run()\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "OSError: [Errno 98] listen EADDRINUSE: address already in use 127.0.0.1:")


# --- a gevent StreamServer handler keeps working --------------------------------------


def test_a_gevent_style_handler_is_served_gevents_way(harness: Harness) -> None:
    from gevent import socket

    seen: list[Any] = []

    def handle(sock: Any, address: Any) -> None:
        seen.append(address[0])
        data = sock.recv(100)
        sock.sendall(data.upper())
        # returning closes the connection, as in gevent

    srv = harness.add(net.Server((HOST, 0), handle))
    srv.start()
    port = srv.address()["port"]

    def client() -> bytes:
        with socket.create_connection((HOST, port), timeout=5) as conn:
            conn.sendall(b"hello")
            chunks = []
            while chunk := conn.recv(100):
                chunks.append(chunk)
            return b"".join(chunks)

    jobs = [gevent.spawn(client) for _ in range(5)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    assert [job.value for job in jobs] == [b"HELLO"] * 5
    assert seen == [HOST] * 5
    wait_until(lambda: srv.getConnections() == 0, what="the handlers to return")
    closed: list[bool] = []
    srv.close(lambda *_: closed.append(True))
    wait_until(lambda: closed, what="the server's close")
    harness.finish()


def test_an_async_def_listener_is_refused_at_registration(harness: Harness) -> None:
    import functools

    async def listener(*_args: Any) -> None:
        pass

    class AsyncCallable:
        async def __call__(self, *_args: Any) -> None:
            pass

    sock = harness.socket()
    for candidate in (listener, functools.partial(listener), AsyncCallable()):
        with pytest.raises(TypeError) as info:
            sock.on("data", candidate)
        assert info.value.code == "ERR_INVALID_ARG_TYPE"  # type: ignore[attr-defined]
        assert "async def" in str(info.value)
    assert sock.listenerCount("data") == 0
    harness.finish()


# --- a paused socket still sees the peer's FIN and RST, as in Node -----------------------


def test_a_paused_socket_sees_the_peers_reset(harness: Harness) -> None:
    client, server = pair(harness)
    log: list[Any] = []
    log_events(server, log, "error", "close")
    server.on("data", lambda chunk: None)
    server.pause()
    client.resetAndDestroy()
    wait_until(lambda: ("close", True) in log, what="'close' on the paused socket")
    assert log == [("error", "ECONNRESET"), ("close", True)]
    harness.finish()


def test_a_paused_socket_reads_the_peers_fin_and_ends_on_resume(harness: Harness) -> None:
    client, server = pair(harness)
    got = bytearray()
    log: list[Any] = []
    server.on("data", got.extend)
    log_events(server, log, "end", "close")
    server.pause()
    client.end(b"bye")
    wait_until(lambda: server.bytesRead == 3, what="the bytes read while paused")
    settle()
    assert (bytes(got), log) == (b"", [])
    server.resume()
    wait_until(lambda: ("close", False) in log, what="'close'")
    assert bytes(got) == b"bye"
    assert log == [("end",), ("close", False)]
    harness.finish()


def test_a_paused_socket_with_nothing_buffered_ends_at_the_peers_fin(harness: Harness) -> None:
    # Node: pause(); the peer's end() -> 'end', 'finish', 'close' all the same.
    client, server = pair(harness)
    log: list[Any] = []
    server.on("data", lambda chunk: None)
    log_events(server, log, "end", "finish", "close")
    server.pause()
    client.end()
    wait_until(lambda: ("close", False) in log, what="'close' on the paused socket")
    assert log == [("end",), ("finish",), ("close", False)]
    harness.finish()


def test_run_waits_for_the_close_of_a_never_connected_socket(harness: Harness) -> None:
    sock = harness.socket()
    closed: list[Any] = []
    sock.on("close", closed.append)
    sock.destroy()
    assert net.run(timeout=2000) is True
    assert closed == [False]
    harness.finish()


def test_destroy_soon_twice_still_finishes(harness: Harness) -> None:
    client, _server = pair(harness)
    log: list[Any] = []
    log_events(client, log, "finish", "close")
    client.destroySoon()
    client.destroySoon()
    wait_until(lambda: ("close", False) in log, what="'close'")
    assert log == [("finish",), ("close", False)]
    assert client.writableFinished
    harness.finish()


def test_bytes_written_drops_what_destroy_dropped(harness: Harness) -> None:
    client, _server = pair(harness)
    client.cork()
    client.write(b"x")
    assert client.bytesWritten == 1
    client.destroy()
    assert client.bytesWritten == 0
    harness.finish()
