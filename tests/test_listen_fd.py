"""server.listen({'fd': n}) and systemd socket activation (gnet.systemdFds).

What Node 20 did for the same descriptors (a Python parent made each socket
and ran ``node`` with it inherited; the script is in the comments below):

* a listening TCP socket, a bound-only one and an unbound one: 'listening',
  ``address()`` the socket's (the unbound one on an ephemeral port of
  0.0.0.0), connections served, and ``close()`` closes the descriptor
  (fstat then says EBADF); a port given beside ``fd`` is not looked at;
* a listening Unix socket: served (Node 20's ``address()`` is then null;
  gnet gives the path, see docs/differences.md);
* a UDP socket or a connected TCP socket: 'error' EINVAL, syscall 'listen';
  a pipe: 'error' ENOTSOCK; a regular file or a closed descriptor: EINVAL.

The systemd tests run a child process the way systemd starts a socket-
activated service: the listening socket as descriptor 3, ``LISTEN_FDS``,
``LISTEN_PID`` = the child's own pid (set by ``exec`` in a shell, so the pid
is the one the variable names) and ``LISTEN_FDNAMES``.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from gevent import socket as gsocket

import gnet as net
from gnet.errors import InvalidArgValueError
from gnet.events import once
from helpers import HOST, WAIT_MS, Harness

# Node 20, for reference (node fd.js <fd>, the descriptor inherited):
#   const b = net.createServer(s => s.end('hi'));
#   b.on('error', e => console.log('error', e.code, e.syscall));
#   b.listen({fd, port: 1234, backlog: 3}, () => console.log(b.address()));


def _listen_error(harness: Harness, fd: int) -> OSError:
    srv = harness.server()
    errors: list[OSError] = []
    srv.on("error", errors.append)
    srv.listen({"fd": fd})
    if not errors:
        once(srv, "error", timeout=WAIT_MS)
    return errors[0]


def _fetch(address: Any, family: int) -> bytes:
    # A cooperative stdlib-style client: the server runs in this process.
    client = gsocket.socket(family, socket.SOCK_STREAM)
    client.settimeout(5)
    try:
        client.connect(address)
        data = b""
        while chunk := client.recv(100):
            data += chunk
        return data
    finally:
        client.close()


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen()
    yield sock
    sock.close()


def test_listen_on_a_listening_tcp_descriptor(harness: Harness,
                                              tcp_listener: socket.socket) -> None:
    fd = tcp_listener.detach()
    port = socket.socket(fileno=os.dup(fd))
    expected_port = port.getsockname()[1]
    port.close()
    srv = harness.server(lambda s: s.end(b"hi"))
    # Node: the port beside fd is not looked at.
    harness.listen(srv, {"fd": fd, "port": 1234, "backlog": 3})
    assert srv.address() == {"address": HOST, "family": "IPv4", "port": expected_port}
    assert srv.listening
    assert _fetch((HOST, expected_port), socket.AF_INET) == b"hi"
    srv.close()
    once(srv, "close", timeout=WAIT_MS)
    with pytest.raises(OSError) as info:
        os.fstat(fd)  # Node: close() closes the descriptor
    assert info.value.errno == errno.EBADF
    harness.finish()


def test_listen_on_a_bound_descriptor(harness: Harness) -> None:
    # A socket only bound starts listening. (One never bound gets an
    # ephemeral port on 0.0.0.0, as in Node; not run here: tests stay on
    # loopback.)
    bound = socket.socket()
    bound.bind((HOST, 0))
    port = bound.getsockname()[1]
    srv = harness.server(lambda s: s.end(b"bound"))
    harness.listen(srv, fd=bound.detach())  # keyword options work too
    assert srv.address()["port"] == port
    assert _fetch((HOST, port), socket.AF_INET) == b"bound"
    harness.finish()


def test_listen_on_a_unix_descriptor(harness: Harness) -> None:
    path = harness.path()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.listen()
    srv = harness.server(lambda s: s.end(b"unix"))
    harness.listen(srv, {"fd": sock.detach()})
    assert srv.address() == path
    assert _fetch(path, socket.AF_UNIX) == b"unix"
    srv.close()
    once(srv, "close", timeout=WAIT_MS)
    assert os.path.exists(path)  # gnet did not make the file, so it leaves it
    harness.finish()


def test_listen_on_descriptors_that_cannot_listen(harness: Harness, tmp_path: Any) -> None:
    udp = socket.socket(type=socket.SOCK_DGRAM)
    peer = socket.socket()
    peer.bind((HOST, 0))
    peer.listen()
    connected = socket.create_connection(peer.getsockname())
    read_end, write_end = os.pipe()
    file_path = tmp_path / "f"
    file_path.write_bytes(b"")
    file_fd = os.open(file_path, os.O_RDONLY)
    closed_fd = os.dup(file_fd)
    os.close(closed_fd)
    try:
        cases = [(udp.fileno(), "EINVAL"), (connected.fileno(), "EINVAL"),
                 (read_end, "ENOTSOCK"), (file_fd, "EINVAL"), (closed_fd, "EINVAL")]
        for fd, code in cases:
            err = _listen_error(harness, fd)
            assert (err.code, err.syscall) == (code, "listen"), (fd, code)  # type: ignore[attr-defined]
        # The caller's descriptors are left open.
        for fd in (udp.fileno(), connected.fileno(), read_end, file_fd):
            os.fstat(fd)
    finally:
        for s in (udp, peer, connected):
            s.close()
        for fd in (read_end, write_end, file_fd):
            os.close(fd)
    harness.finish()


def test_negative_fd_is_no_descriptor(harness: Harness) -> None:
    # Node: a negative fd falls through to "must have the property port or path".
    srv = harness.server()
    with pytest.raises(InvalidArgValueError):
        srv.listen({"fd": -1})
    harness.finish()


# --- systemd socket activation ---------------------------------------------

CHILD = textwrap.dedent("""
    import json, os, sys
    import gnet as net

    fds = net.systemdFds()
    names = net.systemd_fd_names()
    web = net.systemdFds("web")
    inheritable = [os.get_inheritable(fd) for fd in fds]
    served = []

    def on_connection(sock):
        sock.end(json.dumps({"pid": os.getpid(), "fds": fds, "web": web,
                             "names": {str(k): v for k, v in names.items()},
                             "inheritable": inheritable}).encode())
        served.append(sock)
        if len(served) == len(fds):
            for srv in servers:
                srv.close()

    servers = [net.createServer(on_connection).listen({"fd": fd}) for fd in fds]
    print("ready", flush=True)
    net.run()
""")


# What systemd does between fork and exec, in a process that then execs the
# service (exec keeps the pid, so LISTEN_PID names the service itself).
LAUNCHER = textwrap.dedent("""
    import os, sys
    fds = [int(fd) for fd in sys.argv[2:]]
    for i, fd in enumerate(fds):
        os.dup2(fd, 3 + i)
    for fd in fds:
        if fd >= 3 + len(fds):
            os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
""")


def _activate(fds: list[int], names: str | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LISTEN_FDS=str(len(fds)))
    env.pop("LISTEN_FDNAMES", None)
    if names is not None:
        env["LISTEN_FDNAMES"] = names
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, CHILD, *map(str, fds)],
                            pass_fds=fds, env=env, stdout=subprocess.PIPE)


@pytest.mark.once
@pytest.mark.timeout(60)
def test_systemd_socket_activation_tcp_and_unix(harness: Harness) -> None:
    import json

    tcp = socket.socket()
    tcp.bind((HOST, 0))
    tcp.listen()
    path = harness.path()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(path)
    unix.listen()
    # Inherited descriptors may sit anywhere: move them high, as a manager would.
    high = [os.dup2(tcp.fileno(), 40), os.dup2(unix.fileno(), 41)]
    try:
        child = _activate(high, "web:admin")
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        replies = [_fetch(tcp.getsockname(), socket.AF_INET),
                   _fetch(path, socket.AF_UNIX)]
        assert child.wait(30) == 0
        child.stdout.close()
    finally:
        for fd in high:
            os.close(fd)
        tcp.close()
        unix.close()
    info = json.loads(replies[0])
    assert info == json.loads(replies[1])
    assert info["pid"] == child.pid
    assert info["fds"] == [3, 4]
    assert info["web"] == [3]
    assert info["names"] == {"3": "web", "4": "admin"}
    assert info["inheritable"] == [False, False]  # close-on-exec, as sd_listen_fds
    harness.finish()


def _fd_names(env: dict[str, str]) -> Any:
    code = "import gnet, json; print(json.dumps(gnet.systemdFdNames()))"
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                          capture_output=True, timeout=30)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.once
@pytest.mark.timeout(60)
def test_systemd_fds_not_for_this_process() -> None:
    # LISTEN_PID naming another process (a parent's variables inherited):
    # no descriptors, as sd_listen_fds; and without the variables, none.
    assert net.systemdFds() == [] or "LISTEN_PID" in os.environ
    code, out, _ = _fd_names({"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    assert (code, out) == (0, b"{}\n")
    code, _, err = _fd_names({"LISTEN_PID": "x", "LISTEN_FDS": "1"})
    assert code == 1 and b"LISTEN_PID" in err


def test_systemd_fds_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process: LISTEN_PID = our pid; descriptor 3 may be anything
    # here, so only the checks that fail before touching it are run.
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "two")
    with pytest.raises(InvalidArgValueError, match="LISTEN_FDS"):
        net.systemdFds()
    monkeypatch.setenv("LISTEN_FDS", "0")
    assert net.systemdFds() == []
    monkeypatch.setenv("LISTEN_FDS", "2")
    monkeypatch.setenv("LISTEN_FDNAMES", "only-one")
    with pytest.raises(InvalidArgValueError, match="LISTEN_FDNAMES"):
        net.systemd_fds()


def test_socket_on_a_connected_descriptor(harness: Harness) -> None:
    # new Socket({fd}) over a connected descriptor someone else made (here
    # one end of a socketpair): reads and writes as any socket.
    mine, theirs = socket.socketpair()
    peer = gsocket.socket(fileno=theirs.detach())
    peer.settimeout(5)
    sock = harness.socket({"fd": mine.detach()})
    got: list[bytes] = []
    sock.on("data", got.append)
    sock.write(b"ping")
    assert peer.recv(10) == b"ping"
    peer.sendall(b"pong")
    peer.close()
    once(sock, "close", timeout=WAIT_MS)
    assert b"".join(got) == b"pong"
    harness.finish()
