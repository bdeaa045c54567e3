"""Half-open connections and ending: allowHalfOpen, end(), 'end'/'finish'/'close'.

Also end() while connecting and on a never-connected socket, and the
readable/writable/readyState of a socket in each phase of its shutdown.
Real loopback sockets throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest
from gevent.event import Event

import gnet as net
from gnet.events import once
from helpers import HOST, KIB, Harness, has_ipv6_loopback, wait_until


def record(sock: net.Socket, log: list[Any], tag: str = "") -> list[bytes]:
    """Log 'data', 'end', 'finish', 'error', 'close' of ``sock``; return its chunks."""
    chunks: list[bytes] = []

    def on_data(chunk: bytes) -> None:
        chunks.append(chunk)
        if not log or log[-1] != f"{tag}data":
            log.append(f"{tag}data")

    sock.on("data", on_data)
    sock.on("end", lambda: log.append(f"{tag}end"))
    sock.on("finish", lambda: log.append(f"{tag}finish"))
    sock.on("error", lambda err: log.append((f"{tag}error", err)))
    sock.on("close", lambda had_error: log.append((f"{tag}close", had_error)))
    return chunks


def state(sock: net.Socket) -> tuple[bool, bool, str]:
    return sock.readable, sock.writable, sock.readyState


# -- allowHalfOpen False (the default) ----------------------------------------------------


def test_default_client_ends_after_the_servers_fin(harness: Harness) -> None:
    payload = b"x" * 1024
    _srv, port = harness.server_and_port(lambda s: s.end(payload))
    client = harness.client(port)
    assert client.allowHalfOpen is False
    log: list[Any] = []
    got = record(client, log)
    seen: list[tuple[str, bool]] = []
    client.on("end", lambda: seen.append(("end", client.destroyed)))
    client.on("finish", lambda: seen.append(("finish", client.destroyed)))
    wait_until(lambda: log and log[-1] == ("close", False), what="'close'")
    assert b"".join(got) == payload
    assert log == ["data", "end", "finish", ("close", False)]
    # A proper shutdown (FIN) first: not destroyed in either event.
    assert seen == [("end", False), ("finish", False)]


def test_server_socket_ends_after_flushing_what_it_wrote(harness: Harness) -> None:
    block = bytes(range(256)) * 64  # 16 KiB, below the highWaterMark
    sent: list[bytes] = []
    server_log: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        record(sock, server_log)
        # Fill the kernel's buffers and then gnet's, so that data still waits
        # in gnet when our FIN arrives.
        for _ in range(10_000):
            sent.append(block)
            if not sock.write(block):
                break

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    log: list[Any] = []
    got = record(client, log)
    client.pause()
    client.end()  # our FIN reaches the server while its data waits for us
    sock = harness.accepted_socket()
    wait_until(lambda: "end" in server_log, what="the server socket's 'end'")
    assert sock.writableLength > 0
    client.resume()
    wait_until(lambda: log and log[-1][0] == "close", what="the client's 'close'")
    assert b"".join(got) == b"".join(sent)
    assert log == ["data", "finish", "end", ("close", False)] or log == [
        "finish", "data", "end", ("close", False)]
    wait_until(lambda: server_log and server_log[-1][0] == "close", what="the server's 'close'")
    assert server_log == ["end", "finish", ("close", False)]


def test_a_write_inside_end_listener_still_goes_out(harness: Harness) -> None:
    got: list[bytes] = []
    server_end = Event()

    def on_connection(sock: net.Socket) -> None:
        sock.on("data", got.append)
        sock.on("end", server_end.set)
        sock.end()

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    inside: list[Any] = []
    errors: list[BaseException] = []
    client.on("error", errors.append)

    def on_end() -> None:
        inside.append(client.writable)
        inside.append(client.write("hello world"))

    client.on("end", on_end)
    client.resume()
    assert server_end.wait(3)
    assert b"".join(got) == b"hello world"
    assert inside == [True, True]
    assert errors == []


def test_write_after_both_sides_ended_is_epipe_on_a_later_tick(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.end())
    client = harness.client(port)
    client.on("connect", lambda: client.end())
    client.resume()
    during_write = [False]
    errors: list[tuple[BaseException, bool]] = []
    callbacks: list[Any] = []
    returned: list[bool] = []
    client.on("error", lambda err: errors.append((err, during_write[0])))

    def on_end() -> None:
        during_write[0] = True
        try:
            returned.append(client.write("hello", callbacks.append))
        finally:
            during_write[0] = False

    client.on("end", on_end)
    wait_until(lambda: errors and callbacks, what="the write's error")
    assert returned == [False]
    (err,) = callbacks
    assert isinstance(err, BrokenPipeError)
    assert err.code == "EPIPE"  # type: ignore[attr-defined]
    assert err.message == "This socket has been ended by the other party"  # type: ignore[attr-defined]
    assert errors == [(err, False)]


def test_write_to_a_socket_the_peer_closed_fails_through_the_callback(harness: Harness) -> None:
    server_errors: list[BaseException] = []
    holder: list[net.Socket] = []

    def on_connection(sock: net.Socket) -> None:
        holder.append(sock)
        sock.resume()
        sock.on("error", server_errors.append)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    results: list[Any] = []

    def on_end() -> None:
        holder[0].write("test", results.append)

    client.on("end", on_end)
    client.on("connect", lambda: client.end())
    wait_until(lambda: results, what="the write callback")
    gevent.sleep(0.05)
    assert len(results) == 1
    assert isinstance(results[0], BaseException)
    assert server_errors == []


def test_only_one_automatic_end(harness: Harness) -> None:
    fresh = net.Socket(allowHalfOpen=False)
    # Node installs exactly one 'end' listener of its own; gnet's is internal,
    # so none shows, and certainly not two.
    assert fresh.listenerCount("end") <= 1
    fresh.destroy()
    _srv, port = harness.server_and_port(lambda s: s.end(b"bye"))
    client = harness.client(port, allowHalfOpen=False)
    log: list[Any] = []
    record(client, log)
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert log.count("finish") == 1
    assert log.count("end") == 1


# -- allowHalfOpen True ----------------------------------------------------------------------


def _connect_half_open(form: str, port: int) -> net.Socket:
    if form == "createConnection(options)":
        return net.createConnection({"port": port, "host": HOST, "allowHalfOpen": True})
    if form == "connect(port, host, kwargs)":
        return net.connect(port, HOST, allowHalfOpen=True)
    if form == "Socket(kwargs).connect(port, host)":
        return net.Socket(allowHalfOpen=True).connect(port, HOST)
    if form == "Socket(options).connect(options)":
        return net.Socket({"allowHalfOpen": True}).connect({"port": port, "host": HOST})
    if form == "create_connection(snake kwargs)":
        return net.create_connection(port=port, host=HOST, allow_half_open=True)
    raise AssertionError(form)


@pytest.mark.parametrize("form", [
    "createConnection(options)",
    "connect(port, host, kwargs)",
    "Socket(kwargs).connect(port, host)",
    "Socket(options).connect(options)",
    "create_connection(snake kwargs)",
])
def test_half_open_client_stays_writable_after_end(harness: Harness, form: str) -> None:
    server_got: list[bytes] = []
    server_ends: list[None] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("data", server_got.append)
        sock.on("end", lambda: server_ends.append(None))
        sock.end()

    _srv, port = harness.server_and_port(on_connection, allowHalfOpen=True)
    client = harness.track(_connect_half_open(form, port))
    assert client.allowHalfOpen is True
    log: list[Any] = []
    record(client, log)
    client.resume()
    wait_until(lambda: "end" in log, what="the client's 'end'")
    gevent.sleep(0.05)
    assert (client.readable, client.writable) == (False, True)
    assert client.destroyed is False
    assert [client.write(str(i)) for i in range(3)] == [True, True, True]
    client.end()
    wait_until(lambda: log[-1][0] == "close", what="the client's 'close'")
    assert log == ["end", "finish", ("close", False)]
    wait_until(lambda: server_ends, what="the server socket's 'end'")
    assert b"".join(server_got) == b"012"
    gevent.sleep(0.05)
    assert len(server_ends) == 1


def test_half_open_server_socket_answers_after_end(harness: Harness) -> None:
    inside: list[Any] = []
    after: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        request: list[bytes] = []
        sock.on("data", request.append)

        def on_end() -> None:
            inside.append((sock.allowHalfOpen, sock.writable, sock.readable))
            sock.end(b"reply to " + b"".join(request))

        sock.on("end", on_end)
        sock.on("close", lambda _h: after.append((sock.writable, sock.readable)))

    _srv, port = harness.server_and_port(on_connection, allowHalfOpen=True)
    client = harness.client(port)
    log: list[Any] = []
    got = record(client, log)
    client.end(b"request")
    wait_until(lambda: log and log[-1][0] == "close", what="the client's 'close'")
    assert b"".join(got) == b"reply to request"
    assert log == ["finish", "data", "end", ("close", False)]
    wait_until(lambda: after, what="the server socket's 'close'")
    assert inside == [(True, True, False)]
    assert after == [(False, False)]


def test_half_open_client_with_default_server(harness: Harness) -> None:
    server_got: list[bytes] = []
    server_log: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        record(sock, server_log)
        sock.on("data", server_got.append)
        sock.end(b"hi")

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port, allowHalfOpen=True)
    log: list[Any] = []
    got = record(client, log)
    wait_until(lambda: "end" in log, what="the client's 'end'")
    gevent.sleep(0.05)
    assert client.writable is True
    assert client.write(b"late") is True
    gevent.sleep(0.05)
    assert b"".join(server_got) == b"late"
    assert "end" not in server_log  # we have not ended yet
    client.end(b"!")
    wait_until(lambda: log[-1][0] == "close", what="the client's 'close'")
    wait_until(lambda: server_log and server_log[-1][0] == "close", what="the server's 'close'")
    assert b"".join(got) == b"hi"
    assert b"".join(server_got) == b"late!"
    assert server_log[-2:] == ["end", ("close", False)]


# -- end(data), both ends, event order ------------------------------------------------------


def test_end_data_arrives_whole_before_fin(harness: Harness) -> None:
    got: list[bytes] = []
    ended = Event()

    def on_connection(sock: net.Socket) -> None:
        sock.on("data", got.append)
        sock.on("end", ended.set)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.write(b"first ")
    client.write(b"second ")
    tail = bytes(range(256)) * (4 * KIB)  # 1 MiB
    assert client.end(tail) is client
    assert ended.wait(5)
    assert b"".join(got) == b"first second " + tail


def test_both_sides_end_at_once(harness: Harness) -> None:
    server_log: list[Any] = []
    server_got: list[list[bytes]] = []

    def on_connection(sock: net.Socket) -> None:
        server_got.append(record(sock, server_log))
        sock.end(b"server bye")

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    log: list[Any] = []
    got = record(client, log)
    client.on("connect", lambda: client.end(b"client bye"))
    wait_until(lambda: log and log[-1][0] == "close", what="the client's 'close'")
    wait_until(lambda: server_log and server_log[-1][0] == "close", what="the server's 'close'")
    assert b"".join(got) == b"server bye"
    assert b"".join(server_got[0]) == b"client bye"
    for events in (log, server_log):
        assert sorted(e for e in events if isinstance(e, str)) == ["data", "end", "finish"]
        assert events[-1] == ("close", False)
        assert not any(isinstance(e, tuple) and e[0] == "error" for e in events)


@pytest.mark.parametrize("half_open", [False, True])
def test_finish_and_end_come_before_close(harness: Harness, half_open: bool) -> None:
    server_log: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        record(sock, server_log)
        sock.resume()

    _srv, port = harness.server_and_port(on_connection, allowHalfOpen=half_open)
    client = harness.client(port, allowHalfOpen=half_open)
    log: list[Any] = []
    record(client, log)
    client.write(b"ping")
    if half_open:
        harness.accepted_socket().end(b"pong")
        wait_until(lambda: "end" in log, what="the client's 'end'")
        client.end()
    else:
        client.end()
    wait_until(lambda: log and log[-1][0] == "close", what="the client's 'close'")
    wait_until(lambda: server_log and server_log[-1][0] == "close", what="the server's 'close'")
    for events in (log, server_log):
        assert events.count("end") == 1
        assert events.count("finish") == 1
        assert events[-1] == ("close", False)
        assert len([e for e in events if isinstance(e, tuple)]) == 1


# -- readable / writable / readyState ---------------------------------------------------------


def test_states_when_we_end_first(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume(), allowHalfOpen=True)
    fresh = harness.track(net.Socket(allowHalfOpen=True))
    assert state(fresh) == (True, True, "open")
    phases: dict[str, tuple[bool, bool, str]] = {}
    client = fresh.connect(port, HOST)
    phases["connecting"] = state(client)
    assert client.connecting
    client.on("close", lambda _h: phases.setdefault("close", state(client)))
    client.resume()
    once(client, "connect", timeout=2000)
    phases["connected"] = state(client)
    client.end()
    phases["after end()"] = state(client)
    server_sock = harness.accepted_socket()
    wait_until(lambda: server_sock.readableEnded, what="the server socket's 'end'")
    client.on("end", lambda: phases.setdefault("end", state(client)))
    server_sock.end()
    wait_until(lambda: "close" in phases, what="the client's 'close'")
    assert phases == {
        "connecting": (True, True, "opening"),
        "connected": (True, True, "open"),
        "after end()": (True, False, "readOnly"),
        "end": (False, False, "closed"),
        "close": (False, False, "closed"),
    }


def test_states_when_the_peer_ends_first(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: (s.resume(), s.end()))
    client = harness.client(port, allowHalfOpen=True)
    phases: dict[str, tuple[bool, bool, str]] = {}
    client.on("end", lambda: phases.setdefault("end", state(client)))
    client.on("close", lambda _h: phases.setdefault("close", state(client)))
    client.resume()
    wait_until(lambda: "end" in phases, what="the client's 'end'")
    gevent.sleep(0.02)
    phases["after end"] = state(client)
    client.end()
    wait_until(lambda: "close" in phases, what="the client's 'close'")
    assert phases == {
        "end": (False, True, "writeOnly"),
        "after end": (False, True, "writeOnly"),
        "close": (False, False, "closed"),
    }


# -- end() callbacks and end() before connecting ----------------------------------------------


@pytest.mark.parametrize("args", [(), (b"foo",), ("foo", "utf8")], ids=["cb", "data-cb",
                                                                        "data-enc-cb"])
def test_end_callback_called_exactly_once(harness: Harness, args: tuple[Any, ...]) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append))
    client = harness.client(port)
    calls: list[Any] = []
    closes: list[bool] = []
    client.on("close", closes.append)
    client.resume()
    client.on("connect", lambda: client.end(*args, calls.append))
    wait_until(lambda: closes, what="'close'")
    gevent.sleep(0.05)
    assert calls == [None]
    expected = b"foo" if args else b""
    wait_until(lambda: b"".join(got) == expected, what="the end() data")


def test_end_while_connecting_still_closes(harness: Harness) -> None:
    server_log: list[Any] = []
    server_got: list[list[bytes]] = []
    _srv, port = harness.server_and_port(lambda s: server_got.append(record(s, server_log)))
    client = harness.client(port)
    assert client.connecting
    log: list[Any] = []
    record(client, log)
    client.resume()
    client.end(b"sent while connecting")
    wait_until(lambda: log and log[-1][0] == "close", what="the client's 'close'")
    assert log[-1] == ("close", False)
    wait_until(lambda: server_log and server_log[-1][0] == "close", what="the server's 'close'")
    assert b"".join(server_got[0]) == b"sent while connecting"
    assert "end" in server_log


def test_bare_end_while_connecting_still_closes(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    assert client.connecting
    closes: list[bool] = []
    client.on("close", closes.append)
    client.resume()
    assert client.end() is client
    wait_until(lambda: closes, what="'close'")
    assert closes == [False]


def test_end_callback_on_a_never_connected_socket() -> None:
    sock = net.Socket()
    inside: list[Any] = []
    closes: list[bool] = []
    sock.on("close", closes.append)
    assert sock.end(lambda *args: inside.append((args, sock.writable))) is sock
    assert sock.writable is False
    wait_until(lambda: inside and closes, what="the end() callback and 'close'")
    gevent.sleep(0.02)
    assert inside == [((None,), False)]
    assert closes == [False]


# -- family 6 with a custom lookup ------------------------------------------------------


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_family_6_with_custom_lookup_and_half_open(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.end(b"v6"), host="::1")
    lookups: list[Any] = []

    def lookup(host: str, options: dict[str, Any], callback: Callable[..., Any]) -> None:
        lookups.append((host, options["family"]))
        callback(None, "::1", 6)

    client = harness.track(net.createConnection({
        "port": port, "host": "localhost", "family": 6, "lookup": lookup,
        "allowHalfOpen": True,
    }))
    log: list[Any] = []
    got = record(client, log)
    wait_until(lambda: "end" in log, what="the client's 'end'")
    gevent.sleep(0.01)
    assert client.writable is True
    assert lookups == [("localhost", 6)]
    assert b"".join(got) == b"v6"
    assert client.remoteFamily == "IPv6"
    client.end()
    wait_until(lambda: log[-1][0] == "close", what="the client's 'close'")
