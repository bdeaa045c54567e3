"""systemd socket activation with systemd's own tools: the documented units and their server.

docs/deploying.md shows a ``.socket`` and a ``.service`` unit
(``configs/gnet-app.*.in``) running ``activated_server.py``. Here:

* ``systemd-analyze verify`` reads both units (rendered with this Python
  and this script) and finds nothing to say;
* ``systemd-socket-activate`` (systemd's tool that does what a socket unit
  does: it listens, waits for the first connection, then execs the service
  with the socket as descriptor 3 and ``LISTEN_FDS``, ``LISTEN_PID``,
  ``LISTEN_FDNAMES`` set) starts ``activated_server.py``: the connection
  that triggered the start is served, others too, and SIGTERM stops the
  server gracefully: no new connection, the open one finishes, status 0.

The hand-made equivalent (a launcher that sets ``LISTEN_PID`` after fork,
with TCP and Unix sockets) is tests/test_listen_fd.py. Without systemd's
tools the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent.subprocess
import pytest
from deploy_configs import HERE, accept_queue, render, tool

from helpers import HOST, closed_port, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]

SERVER = HERE / "activated_server.py"


@pytest.fixture
def figures(record_property: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Figures worth quoting: printed, and recorded as the test's properties."""
    found: dict[str, Any] = {}
    start = time.perf_counter()
    yield found
    found["wall_s"] = round(time.perf_counter() - start, 3)
    print(f"\n{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in found.items()))
    for key, value in found.items():
        record_property(key, value)


def test_the_documented_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze", install="apt-get install systemd")
    (tmp_path / "gnet-app.socket").write_text(
        render("gnet-app.socket.in", {"ADDRESS": f"{HOST}:8000"}), encoding="utf-8")
    (tmp_path / "gnet-app.service").write_text(
        render("gnet-app.service.in", {"PYTHON": sys.executable, "SCRIPT": str(SERVER)}),
        encoding="utf-8")
    done = gevent.subprocess.run(
        [analyze, "verify", str(tmp_path / "gnet-app.socket"), str(tmp_path / "gnet-app.service")],
        capture_output=True, timeout=30)
    said = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0 and said == "", said


def _program(pid: int) -> str:
    # What the process runs now: argv[0] (and the script, for Python).
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().decode(errors="replace").split("\0")
    return " ".join(argv[:2]) if argv[0] == sys.executable else argv[0]


def _echo(conn: socket.socket, data: bytes) -> bytes:
    conn.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = conn.recv(len(data) - len(got))
        if not chunk:
            break
        got += chunk
    return got


def test_systemd_socket_activate_starts_the_server_and_sigterm_drains_it(
        figures: dict[str, Any]) -> None:
    activate = tool("systemd-socket-activate", install="apt-get install systemd")
    port = closed_port()
    proc = gevent.subprocess.Popen(
        [activate, "-l", f"{HOST}:{port}", "--fdname=web", sys.executable, str(SERVER)],
        stdout=gevent.subprocess.DEVNULL, stderr=gevent.subprocess.PIPE)
    conns: list[socket.socket] = []
    try:
        wait_until(lambda: accept_queue(port) is not None or proc.poll() is not None, 10,
                   "systemd-socket-activate to listen")
        # Nothing started yet: the service comes with the first connection.
        assert _program(proc.pid) == activate
        started = time.monotonic()
        first = socket.create_connection((HOST, port), timeout=10)
        conns.append(first)
        assert _echo(first, b"the first connection waits for the start") \
            == b"the first connection waits for the start"
        first_reply_s = time.monotonic() - started
        # systemd-socket-activate exec'd the server: same pid, so LISTEN_PID matched.
        assert _program(proc.pid) == f"{sys.executable} {SERVER}"
        for i in range(10):
            with socket.create_connection((HOST, port), timeout=10) as other:
                assert _echo(other, f"client {i}".encode()) == f"client {i}".encode()
        proc.send_signal(signal.SIGTERM)
        # The listening socket closes (no manager keeps a copy here); the open
        # connection goes on.
        wait_until(lambda: accept_queue(port) is None, 10, "the server to stop listening")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=10).close()
        assert _echo(first, b"after SIGTERM") == b"after SIGTERM"
        assert proc.poll() is None
        first.shutdown(socket.SHUT_WR)
        assert first.recv(10) == b""
        status = proc.wait(timeout=10)
    finally:
        for conn in conns:
            conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr is not None else ""
        if proc.stderr is not None:
            proc.stderr.close()
    figures.update(first_reply_s=round(first_reply_s, 3), connections=11, exit_status=status)
    assert status == 0, err
    assert "Traceback" not in err, err
