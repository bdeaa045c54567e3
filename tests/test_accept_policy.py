"""Tests for Server's accept loop: the accept() error policy and the gevent internals it keeps.

A listening server closes only when its listening socket is broken; an error
that belongs to one incoming connection costs that connection, and running
out of descriptors or memory pauses accepting. The out-of-descriptors case
with an 'error' listener is in tests/test_server_close.py; the flood figures
in tests/reliability/test_floods.py.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
from typing import Any

import gevent
import pytest
from gevent.event import Event
from gevent.server import StreamServer

import gnet as net
from gnet.events import once
from gnet.server import BACK_OFF, CLOSE, RETRY, accept_error_action

HOST = "127.0.0.1"
WAIT_MS = 5000


# --- the policy, as a table -------------------------------------------------------------

PER_CONNECTION = ["ECONNABORTED", "ECONNRESET", "EPROTO", "ETIMEDOUT", "ENOSR", "EPERM",
                  "EINTR", "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN", "ENONET", "EHOSTUNREACH",
                  "EOPNOTSUPP", "ENETUNREACH", "ESOCKTNOSUPPORT", "EPROTONOSUPPORT"]
CAPACITY = ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]
BROKEN_LISTENER = ["EBADF", "EINVAL", "ENOTSOCK"]
# Errnos nobody listed: a pause, never the server.
UNLISTED = ["EIO", "EFAULT", "EAGAIN", "ENOSPC"]

POLICY = ([(name, RETRY) for name in PER_CONNECTION]
          + [(name, BACK_OFF) for name in CAPACITY + UNLISTED]
          + [(name, CLOSE) for name in BROKEN_LISTENER])


@pytest.mark.parametrize(("name", "action"), POLICY, ids=[row[0] for row in POLICY])
def test_accept_error_policy(name: str, action: str) -> None:
    code = getattr(errno, name, None)
    if code is None:
        pytest.skip(f"{name} does not exist here")
    assert accept_error_action(code) == action


def test_only_a_broken_listening_socket_closes_the_server() -> None:
    closing = {code for code in errno.errorcode if accept_error_action(code) == CLOSE}
    assert closing == {errno.EBADF, errno.EINVAL, errno.ENOTSOCK}
    assert accept_error_action(None) == BACK_OFF


# --- the policy, on a real server ---------------------------------------------------------


def _listening(**handlers: Any) -> tuple[net.Server, list[BaseException], list[int]]:
    errors: list[BaseException] = []
    closed: list[int] = []
    server = net.createServer(lambda sock: sock.end(b"ok"))
    server.on("error", errors.append)
    server.on("close", lambda: closed.append(1))
    server.listen(0, HOST)
    once(server, "listening", timeout=WAIT_MS)
    return server, errors, closed


def _served(server: net.Server) -> bytes:
    with socket.create_connection((HOST, server.address()["port"]), timeout=5) as client:
        client.setblocking(False)
        data = b""
        with gevent.Timeout(5):
            while data != b"ok":
                try:
                    chunk = client.recv(16)
                except BlockingIOError:
                    gevent.sleep(0.005)
                    continue
                if not chunk:
                    break
                data += chunk
        return data


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["ECONNABORTED", "ECONNRESET", "EPROTO", "ETIMEDOUT", "EPERM"])
def test_an_error_of_one_connection_neither_closes_nor_pauses(name: str) -> None:
    server, errors, closed = _listening()
    try:
        code = getattr(errno, name)
        assert server._accept_failed(OSError(code, os.strerror(code))) is True
        assert _served(server) == b"ok"
        gevent.sleep(0.02)
        assert server.listening and not errors and not closed
    finally:
        server.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["ENOBUFS", "ENFILE", "EIO"])
def test_a_capacity_or_unlisted_error_pauses_reports_and_resumes(name: str) -> None:
    server, errors, closed = _listening()
    try:
        code = getattr(errno, name)
        assert server._accept_failed(OSError(code, os.strerror(code))) is False
        once(server, "error", timeout=WAIT_MS)
        assert [(e.code, e.syscall) for e in errors] == [(name, "accept")]  # type: ignore[attr-defined]
        # Paused for min_delay, then served as before.
        assert _served(server) == b"ok"
        assert server.listening and not closed
    finally:
        server.close()


@pytest.mark.timeout(30)
def test_backing_off_doubles_up_to_max_delay_and_an_accept_resets_it() -> None:
    server, _errors, _closed = _listening()
    try:
        delays = []
        for _ in range(10):
            server._accept_failed(OSError(errno.EMFILE, "Too many open files"))
            delays.append(server._accept_delay)
        assert delays[0] == 2 * server.min_delay
        assert max(delays) == server.max_delay == delays[-1]
        server.stop_accepting()
        server.start_accepting()
        assert _served(server) == b"ok"
        assert server._accept_delay == server.min_delay
    finally:
        server.close()


@pytest.mark.timeout(30)
def test_a_broken_listening_socket_closes_the_server() -> None:
    server, errors, closed = _listening()
    # Linux: a listening socket shut down for reading wakes its watcher, and
    # accept() on it fails with EINVAL: the listener is gone for good.
    server.socket.shutdown(socket.SHUT_RD)
    with gevent.Timeout(5):
        while not closed:
            gevent.sleep(0.005)
    assert [(e.code, e.syscall) for e in errors] == [("EINVAL", "accept")]  # type: ignore[attr-defined]
    assert not server.listening and server.address() is None


# --- out of descriptors, nobody listening for 'error' ---------------------------------

NO_LISTENER_SERVER = textwrap.dedent(
    """
    import os, resource, sys
    import gnet as net

    served = []

    def on_connection(sock):
        served.append(sock)
        sock.end(b'ok')
        if len(served) == 3:
            print('served 3', flush=True)
            server.close()

    server = net.createServer(on_connection)

    def ready():
        # Room for one accepted connection, no more.
        nfds = len(os.listdir('/proc/self/fd'))
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfds + 1, hard))
        print('port', server.address()['port'], flush=True)

    server.listen(0, '127.0.0.1', ready)
    net.run()
    print('run returned', flush=True)
    """
)


@pytest.mark.once
@pytest.mark.timeout(60)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_NOFILE")
def test_out_of_descriptors_without_an_error_listener_logs_and_keeps_serving() -> None:
    proc = subprocess.Popen([sys.executable, "-c", NO_LISTENER_SERVER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("port "), first + proc.stderr.read()  # type: ignore[union-attr]
        port = int(first.split()[1])
        # Three at once: one fits, the others meet EMFILE and wait in the
        # backlog until a served one closes and frees its descriptor.
        clients = [socket.create_connection((HOST, port), timeout=10) for _ in range(3)]
        for client in clients:
            assert client.recv(16) == b"ok"
            client.close()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert out.split("\n")[:2] == ["served 3", "run returned"], out + err
    assert proc.returncode == 0, err
    assert "cannot accept (accept EMFILE); retrying in 0.01 s" in err, err
    assert "Traceback" not in err, err


# --- the gevent internals Server keeps (see "What Server takes from gevent") --------------


class _Recording(StreamServer):  # type: ignore[misc]
    # Records what gevent's __init__ writes to ``address``.
    written: list[Any]

    @property
    def address(self) -> Any:
        return self.__dict__.get("_address")

    @address.setter
    def address(self, value: Any) -> None:
        self.__dict__.setdefault("written", []).append(value)
        self.__dict__["_address"] = value


def test_gevent_init_sets_loop_and_a_set_stop_event_and_writes_address() -> None:
    server = _Recording(("127.0.0.1", 0), lambda s, a: None, spawn=None)
    assert server.loop is gevent.get_hub().loop
    assert isinstance(server._stop_event, Event)
    assert server._stop_event.is_set()
    assert server.__dict__["written"] == [("127.0.0.1", 0)]


def test_gevent_started_reads_the_stop_event() -> None:
    server = _Recording(("127.0.0.1", 0), lambda s, a: None, spawn=None)
    assert server.started is False
    server._stop_event.clear()
    assert server.started is True
    server._stop_event.set()
    assert server.started is False


def test_gevent_closed_means_no_socket_attribute() -> None:
    server = _Recording(("127.0.0.1", 0), lambda s, a: None, spawn=None)
    assert server.closed is True
    server.socket = object()
    assert server.closed is False
    server.__dict__.pop("socket")
    assert server.closed is True


def test_gevent_class_attributes() -> None:
    assert StreamServer.max_accept >= 1
    assert isinstance(StreamServer.stop_timeout, (int, float))
    assert StreamServer.min_delay > 0 and StreamServer.max_delay >= StreamServer.min_delay
    assert hasattr(socket.socket, "_accept")


@pytest.mark.timeout(30)
def test_gevent_serve_forever_starts_waits_on_the_stop_event_and_stops() -> None:
    calls: list[str] = []

    class Probe(net.Server):
        def start(self) -> None:
            calls.append("start")
            super().start()

        def stop(self, timeout: float | None = None) -> None:
            calls.append("stop")
            super().stop(timeout)

    server = Probe()
    runner = gevent.spawn(server.serve_forever)
    once(server, "listening", timeout=WAIT_MS)
    assert server.started and not server.closed
    assert calls == ["start"]
    # close() sets the stop event: serve_forever() wakes and calls stop().
    server.close()
    runner.join(timeout=5)
    assert runner.dead and runner.successful()
    assert calls == ["start", "stop"]
    assert not server.started and server.closed
