"""Unix domain sockets (Node's IPC pipes): what only they have.

The stream behaviour shared with TCP is in test_conformance.py; this module
covers paths: the listen and connect call forms, connect errors, Linux's
abstract namespace, the socket file's life (in use, unlinked on close), and
``resetAndDestroy()`` being refused on a pipe.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
import uuid
from typing import Any

import pytest
from gevent.event import Event
from gevent.queue import Queue

import gnet as net
from gnet.errors import InvalidHandleTypeError
from gnet.events import once

# Every wait is bounded by this (ms): far above what loopback needs.
WAIT_MS = 5000
WAIT_S = WAIT_MS / 1000

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX here")

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the abstract socket namespace is Linux's")


def hello(sock: net.Socket) -> None:
    sock.end("hello")


def read_all(sock: net.Socket) -> tuple[bytes, list[BaseException], list[bool]]:
    """Consume ``sock`` until 'close': (data, errors, close args)."""
    chunks: list[bytes] = []
    errors: list[BaseException] = []
    closes: list[bool] = []
    closed = Event()
    sock.on("data", chunks.append)
    sock.on("error", errors.append)

    def on_close(had_error: bool) -> None:
        closes.append(had_error)
        closed.set()

    sock.on("close", on_close)
    assert closed.wait(WAIT_S), "no 'close'"
    return b"".join(chunks), errors, closes


def connect_error(harness: Any, *args: Any) -> tuple[Any, list[str]]:
    """Connect, expecting one failure: (the error, the socket's event names)."""
    sock = harness.connect(*args)
    events: list[str] = []
    errors: list[BaseException] = []
    closed = Event()

    def on_error(err: BaseException) -> None:
        events.append("error")
        errors.append(err)

    def on_close(had_error: bool) -> None:
        events.append(f"close({had_error})")
        closed.set()

    sock.on("connect", lambda: events.append("connect"))
    sock.on("error", on_error)
    sock.on("close", on_close)
    assert closed.wait(WAIT_S), f"no 'close'; events: {events}"
    assert len(errors) == 1, events
    return errors[0], events


# -- listen ------------------------------------------------------------------


@pytest.mark.parametrize("form", ["path", "options", "path-cb", "options-cb", "keyword"])
def test_listen_forms(harness: Any, form: str) -> None:
    path = harness.path()
    srv = harness.server(hello)
    called: list[bool] = []

    def callback() -> None:
        called.append(True)

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = {}
    if form == "path":
        args = (path,)
    elif form == "options":
        args = ({"path": path},)
    elif form == "path-cb":
        args = (path, callback)
    elif form == "options-cb":
        args = ({"path": path}, callback)
    else:
        args = ()
        kwargs = {"path": path}
    assert srv.listen(*args, **kwargs) is srv
    once(srv, "listening", timeout=WAIT_MS)
    assert called == ([True] if form.endswith("-cb") else [])
    assert srv.listening is True
    # A pipe server's address() is its path.
    assert srv.address() == path
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    data, errors, _ = read_all(harness.connect(path))
    assert (data, errors) == (b"hello", [])


def test_readable_all_writable_all_set_the_mode(harness: Any) -> None:
    path = harness.path()
    harness.listen(harness.server(), {"path": path, "readableAll": True,
                                              "writableAll": True})
    mode = os.stat(path).st_mode
    assert mode & stat.S_IROTH and mode & stat.S_IWOTH
    assert mode & stat.S_IRGRP and mode & stat.S_IWGRP


def test_address_is_the_path_then_none_after_close(harness: Any) -> None:
    path = harness.path()
    srv = harness.server()
    assert srv.address() is None
    harness.listen(srv, path)
    assert srv.address() == path
    srv.close()
    assert srv.address() is None
    once(srv, "close", timeout=WAIT_MS)


# -- the socket file --------------------------------------------------------


def test_close_unlinks_the_socket_file(harness: Any) -> None:
    path = harness.path()
    srv = harness.listen(harness.server(), path)
    assert os.path.exists(path)
    srv.close()
    once(srv, "close", timeout=WAIT_MS)
    assert not os.path.exists(path)


def test_path_in_use_gives_eaddrinuse(harness: Any) -> None:
    path = harness.path()
    harness.listen(harness.server(), path)
    second = harness.server()
    listened: list[bool] = []
    second.listen(path, lambda: listened.append(True))
    (err,) = once(second, "error", timeout=WAIT_MS)
    assert err.code == "EADDRINUSE"
    assert err.syscall == "listen"
    assert err.message.startswith("listen EADDRINUSE: address already in use")
    assert listened == []
    # The failed listen leaves the first server's file alone.
    assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_stale_socket_file_is_not_removed(harness: Any) -> None:
    # What a crashed server leaves: a socket file nobody listens on.
    path = harness.path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    srv = harness.server(hello)
    srv.listen(path)
    (err,) = once(srv, "error", timeout=WAIT_MS)
    assert err.code == "EADDRINUSE"
    assert os.path.exists(path)
    # gnet's removeStale option replaces a file nothing answers on.
    harness.listen(srv, {"path": path, "removeStale": True})
    data, errors, _ = read_all(harness.connect(path))
    assert (data, errors) == (b"hello", [])


@linux_only
def test_abstract_namespace(harness: Any) -> None:
    name = f"\0gnet-test-{uuid.uuid4().hex}"
    srv = harness.listen(harness.server(hello), name)
    assert srv.address() == name
    data, errors, _ = read_all(harness.connect(name))
    assert (data, errors) == (b"hello", [])
    srv.close()
    once(srv, "close", timeout=WAIT_MS)
    err, events = connect_error(harness, name)
    assert err.code == "ECONNREFUSED"
    assert events == ["error", "close(True)"]


# -- connect -----------------------------------------------------------------


def _connect_forms() -> list[Any]:
    forms = []
    for name, make in [
        ("net.connect", lambda *a: net.connect(*a)),
        ("net.createConnection", lambda *a: net.createConnection(*a)),
        ("Socket().connect", lambda *a: net.Socket().connect(*a)),
    ]:
        for shape in ("path", "options"):
            for with_cb in (False, True):
                ident = f"{name}({shape}{', cb' if with_cb else ''})"
                forms.append(pytest.param(make, shape, with_cb, id=ident))
    return forms


@pytest.mark.parametrize(("make", "shape", "with_cb"), _connect_forms())
def test_ipc_connect_forms(harness: Any, make: Any, shape: str, with_cb: bool) -> None:
    path = harness.path()
    harness.listen(harness.server(hello), path)
    called: list[bool] = []
    target: Any = path if shape == "path" else {"path": path}
    args = (target, lambda: called.append(True)) if with_cb else (target,)
    sock = harness.track(make(*args))
    assert isinstance(sock, net.Socket)
    data, errors, closes = read_all(sock)
    assert (data, errors, closes) == (b"hello", [], [False])
    assert called == ([True] if with_cb else [])


def test_connect_to_a_missing_path_gives_enoent(harness: Any) -> None:
    path = harness.path("missing.sock")
    called: list[bool] = []
    err, events = connect_error(harness, path, lambda: called.append(True))
    assert err.code == "ENOENT"
    assert err.errno == errno.ENOENT
    assert err.syscall == "connect"
    assert err.address == path
    assert not hasattr(err, "port") or err.port is None
    assert err.message == err.strerror == f"connect ENOENT {path}"
    assert isinstance(err, FileNotFoundError)
    assert events == ["error", "close(True)"]
    assert called == []


def test_connect_to_a_regular_file(harness: Any) -> None:
    path = harness.path("regular")
    with open(path, "w") as f:
        f.write("not a socket")
    err, events = connect_error(harness, path)
    # Linux says ECONNREFUSED, some systems ENOTSOCK; Node passes either on.
    assert err.code in ("ENOTSOCK", "ECONNREFUSED")
    assert err.syscall == "connect"
    assert err.address == path
    assert events == ["error", "close(True)"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root may connect to a socket file of mode 0")
def test_connect_to_a_mode_0_socket_gives_eacces(harness: Any) -> None:
    path = harness.path()
    harness.listen(harness.server(), path)
    os.chmod(path, 0)
    err, events = connect_error(harness, path)
    assert err.code == "EACCES"
    assert events == ["error", "close(True)"]


# -- resetAndDestroy ---------------------------------------------------------------------


def test_reset_and_destroy_on_a_pipe_raises_invalid_handle_type(harness: Any) -> None:
    path = harness.path()
    accepted: Queue[net.Socket] = Queue()
    harness.listen(harness.server(accepted.put), path)
    client = harness.connect(path)
    once(client, "connect", timeout=WAIT_MS)
    with pytest.raises(InvalidHandleTypeError) as info:
        client.resetAndDestroy()
    assert isinstance(info.value, TypeError)
    assert info.value.code == "ERR_INVALID_HANDLE_TYPE"
    # The refusal leaves the socket as it was: still open and usable.
    assert client.destroyed is False
    assert client.readyState == "open"
    client.end(b"still works")
    server_sock = harness.track(accepted.get(timeout=WAIT_S))
    with pytest.raises(InvalidHandleTypeError):
        server_sock.resetAndDestroy()
    data, errors, closes = read_all(server_sock)
    assert (data, errors, closes) == (b"still works", [], [False])
