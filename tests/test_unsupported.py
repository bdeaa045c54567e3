"""Nothing silently accepted: every name Node documents is implemented or refused.

The tables list what Node 22/24 document for ``net.createServer``,
``server.listen``, ``new net.Socket`` / ``net.connect`` and a socket's
events, with the Node version that added each. Every name is in exactly one
of gnet's two columns: implemented (accepted, and tested elsewhere), or
unsupported (raises ``UnsupportedError``, ``ERR_GNET_UNSUPPORTED``, naming
it). A name in neither fails the test, so a new Node option cannot slip in
unnoticed.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

import gnet as net
from gnet.errors import UnsupportedError
from helpers import HOST, Harness, wait_until

# name -> Node version that documents it (22.x line where it was backported)
CREATE_SERVER = {
    "allowHalfOpen": "v0.5.0", "highWaterMark": "v18.17.0", "keepAlive": "v16.5.0",
    "keepAliveInitialDelay": "v16.5.0", "noDelay": "v16.5.0", "pauseOnConnect": "v0.5.0",
    "blockList": "v22.13.0",
}
LISTEN = {
    "port": "v0.11.14", "host": "v0.11.14", "path": "v0.11.14", "backlog": "v0.11.14",
    "exclusive": "v0.11.14", "readableAll": "v11.4.0", "writableAll": "v11.4.0",
    "ipv6Only": "v11.4.0", "reusePort": "v22.12.0", "signal": "v15.6.0",
    "fd": "v0.11.14", "handle": "v0.11.14",
}
SOCKET = {
    "fd": "v0.1.90", "allowHalfOpen": "v0.1.90", "readable": "v0.1.90", "writable": "v0.1.90",
    "signal": "v15.14.0", "onread": "v12.2.0", "noDelay": "v17.9.0", "keepAlive": "v17.9.0",
    "keepAliveInitialDelay": "v17.9.0", "blockList": "v22.13.0",
}
CONNECT = {
    "port": "v0.1.90", "host": "v0.1.90", "localAddress": "v0.1.90", "localPort": "v0.1.90",
    "family": "v0.1.90", "hints": "v0.1.90", "lookup": "v0.1.90", "noDelay": "v17.9.0",
    "keepAlive": "v17.9.0", "keepAliveInitialDelay": "v17.9.0",
    "autoSelectFamily": "v18.13.0", "autoSelectFamilyAttemptTimeout": "v18.13.0",
    "path": "v0.1.90", "onread": "v12.2.0", "timeout": "v0.1.90", "blockList": "v22.13.0",
}
SOCKET_EVENTS = {
    "close": "v0.1.90", "connect": "v0.1.90", "data": "v0.1.90", "drain": "v0.1.90",
    "end": "v0.1.90", "error": "v0.1.90", "lookup": "v0.11.3", "ready": "v9.11.0",
    "timeout": "v0.1.90", "finish": "stream", "pause": "stream", "resume": "stream",
    "pipe": "stream (on the destination)", "unpipe": "stream (on the destination)",
    "readable": "stream", "connectionAttempt": "v21.6.0",
    "connectionAttemptFailed": "v21.6.0", "connectionAttemptTimeout": "v21.6.0",
}

UNSUPPORTED_SERVER: set[str] = set()
UNSUPPORTED_LISTEN = {"handle"}
UNSUPPORTED_SOCKET = {"onread"}
UNSUPPORTED_EVENTS: set[str] = set()

# A value of the right kind for each option, so that only "unsupported" can fail.
VALUES: dict[str, Any] = {
    "allowHalfOpen": True, "highWaterMark": 1024, "keepAlive": True,
    "keepAliveInitialDelay": 1000, "noDelay": True, "pauseOnConnect": True,
    "blockList": net.BlockList(), "port": 0, "host": HOST, "backlog": 16, "exclusive": False,
    "readableAll": False, "writableAll": False, "ipv6Only": False, "reusePort": False,
    "signal": net.AbortController().signal, "handle": object(), "readable": True, "writable": True,
    "onread": {"buffer": bytearray(16), "callback": lambda n, buf: None},
    "localPort": 0, "family": 4, "hints": 0, "lookup": None, "autoSelectFamily": True,
    "autoSelectFamilyAttemptTimeout": 250, "timeout": 1000,
}


def _unsupported(call: Any) -> bool:
    try:
        call()
    except UnsupportedError as exc:
        assert exc.code == "ERR_GNET_UNSUPPORTED"
        return True
    return False


@pytest.mark.parametrize("name", sorted(CREATE_SERVER))
def test_create_server_options(harness: Harness, name: str) -> None:
    refused = _unsupported(lambda: harness.add(net.createServer({name: VALUES[name]})))
    assert refused == (name in UNSUPPORTED_SERVER)
    harness.finish()


@pytest.mark.parametrize("name", sorted(LISTEN))
def test_listen_options(harness: Harness, name: str, tmp_path: Any) -> None:
    # Implemented ones are exercised by tests/test_listen.py; here only that
    # they are not refused.
    if name == "path":
        options: dict[str, Any] = {"path": str(tmp_path / "s.sock")}
    elif name == "fd":
        # A descriptor of its own: the server owns (and closes) what it listens on.
        bound = socket.socket()
        bound.bind((HOST, 0))
        options = {"fd": bound.detach()}
    else:
        options = {"port": 0, "host": HOST, name: VALUES.get(name, 0)}
    srv = harness.add(net.createServer())
    srv.on("error", lambda err: None)
    refused = _unsupported(lambda: srv.listen(options))
    assert refused == (name in UNSUPPORTED_LISTEN)
    harness.finish()


@pytest.mark.parametrize("name", sorted(SOCKET))
def test_socket_options(harness: Harness, name: str) -> None:
    if name == "fd":
        pytest.skip("Socket({'fd': n}) is exercised by tests/test_lifecycle.py")
    refused = _unsupported(lambda: harness.track(net.Socket({name: VALUES[name]})))
    assert refused == (name in UNSUPPORTED_SOCKET)
    harness.finish()


@pytest.mark.parametrize("name", sorted(CONNECT))
def test_connect_options(harness: Harness, name: str, tmp_path: Any) -> None:
    srv = harness.listening_server()
    options = {"port": srv.address()["port"], "host": HOST}
    if name == "path":
        options = {"path": str(tmp_path / "absent.sock")}
    elif name not in options:
        options[name] = VALUES.get(name, HOST if name == "localAddress" else None)

    def connect() -> None:
        sock = harness.connect(options)
        sock.on("error", lambda err: None)

    refused = _unsupported(connect)
    assert refused == (name in UNSUPPORTED_SOCKET)
    harness.finish()


@pytest.mark.parametrize("name", sorted(SOCKET_EVENTS))
def test_socket_events(harness: Harness, name: str) -> None:
    sock = harness.socket()
    refused = _unsupported(lambda: sock.on(name, lambda *args: None))
    assert refused == (name in UNSUPPORTED_EVENTS)
    harness.finish()


def test_every_unsupported_name_is_documented_by_node() -> None:
    assert CREATE_SERVER.keys() >= UNSUPPORTED_SERVER
    assert LISTEN.keys() >= UNSUPPORTED_LISTEN
    assert (SOCKET.keys() | CONNECT.keys()) >= UNSUPPORTED_SOCKET
    assert SOCKET_EVENTS.keys() >= UNSUPPORTED_EVENTS


def test_the_error_names_the_option_and_what_to_do(harness: Harness) -> None:
    with pytest.raises(NotImplementedError) as info:
        net.connect({"port": 80, "onread": VALUES["onread"]})
    assert str(info.value).startswith('options.onread is not supported by gnet; ')
    with pytest.raises(UnsupportedError) as info2:
        net.createServer().listen({"handle": object()})
    assert str(info2.value).startswith("options.handle is not supported by gnet; ")
    harness.finish()


def test_pause_and_resume_events(harness: Harness) -> None:
    accepted: list[net.Socket] = []
    srv = harness.listening_server(accepted.append)
    harness.connect(srv.address()["port"], HOST)
    wait_until(lambda: accepted, what="the connection")
    sock = harness.track(accepted[0])
    log: list[str] = []
    sock.on("pause", lambda: log.append("pause"))
    sock.on("resume", lambda: log.append("resume"))
    sock.pause()
    assert log == ["pause"]  # synchronous, as in Node
    sock.pause()
    sock.resume()
    sock.resume()
    assert log == ["pause"]  # 'resume' comes soon after, once
    wait_until(lambda: log == ["pause", "resume"], what="'resume'")
    harness.finish()
