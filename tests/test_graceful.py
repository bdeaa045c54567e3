"""``gnet.run(graceful=ms)``: SIGTERM/SIGINT stop a real server process gracefully.

Each test runs a small server script as a child process (default signal
dispositions), sends it real signals and watches from outside: new
connections are refused at once, open ones keep working until they end or
the grace period runs out, and the exit status says which (0 drained,
3 forced).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gnet.graceful import EXIT_DRAINED, EXIT_FORCED
from helpers import default_sigint

WAIT_S = 10.0

# An echo server that also keeps a ref'd interval timer (so the loop never
# goes idle by itself): the stop must end run() all the same.
SCRIPT = r"""
import sys
import gnet as net

server = net.createServer(lambda sock: sock.pipe(sock))
server.listen(0, "127.0.0.1", lambda: print("port", server.address()["port"], flush=True))
net.setInterval(lambda: None, 1000)
try:
    net.run(graceful=float(sys.argv[1]))
finally:
    print("finally", flush=True)
"""


@contextmanager
def server_process(grace_ms: float) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen([sys.executable, "-u", "-c", SCRIPT, str(grace_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("port "), (line, proc.stderr.read() if proc.stderr else "")
        yield proc, int(line.split()[1])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=WAIT_S)


def echo(conn: socket.socket, data: bytes) -> bytes:
    conn.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = conn.recv(1024)
        if not chunk:
            break
        got += chunk
    return got


def refused(port: int) -> bool:
    # A probe that reached the backlog just as the server closed its
    # listening socket is reset, not refused: the server stopped accepting
    # all the same.
    try:
        socket.create_connection(("127.0.0.1", port), timeout=WAIT_S).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


def wait_refused(port: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while not refused(port):
        assert time.monotonic() < deadline, "the server kept accepting after the signal"
        time.sleep(0.01)


@pytest.mark.once
@pytest.mark.timeout(30)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_open_connection_finishes_then_status_0(sig: int) -> None:
    with server_process(10000) as (proc, port):
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
            assert echo(conn, b"before") == b"before"
            proc.send_signal(sig)
            wait_refused(port)
            # Still served during the grace period.
            assert echo(conn, b"during") == b"during"
            assert proc.poll() is None
            started = time.monotonic()
        assert proc.wait(WAIT_S) == EXIT_DRAINED
        assert time.monotonic() - started < 5
        out, err = proc.communicate(timeout=WAIT_S)
        assert "finally" in out
        assert "Traceback" not in err


@pytest.mark.once
@pytest.mark.timeout(30)
def test_idle_server_stops_at_once_with_status_0() -> None:
    with server_process(10000) as (proc, _port):
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT_S) == EXIT_DRAINED
        assert time.monotonic() - started < 5


@pytest.mark.once
@pytest.mark.timeout(30)
def test_grace_period_over_destroys_and_status_3() -> None:
    with server_process(300) as (proc, port), \
            socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
        assert echo(conn, b"x") == b"x"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT_S) == EXIT_FORCED
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 5, elapsed
        # The connection was destroyed: end of stream (or a reset).
        try:
            assert conn.recv(10) == b""
        except ConnectionResetError:
            pass


@pytest.mark.once
@pytest.mark.timeout(30)
def test_second_signal_forces_at_once() -> None:
    with server_process(60000) as (proc, port), \
            socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
        assert echo(conn, b"x") == b"x"
        proc.send_signal(signal.SIGTERM)
        wait_refused(port)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(WAIT_S) == EXIT_FORCED


@pytest.mark.once
@pytest.mark.timeout(30)
def test_without_graceful_sigterm_kills() -> None:
    code = ("import gnet as net\n"
            "s = net.createServer().listen(0, '127.0.0.1', lambda: print('up', flush=True))\n"
            "net.run()\n")
    with subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE,
                          text=True, preexec_fn=default_sigint) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT_S) == -signal.SIGTERM


def test_graceful_handlers_only_while_run_waits() -> None:
    import gnet as net

    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    assert net.run(10, graceful=1000) is True
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_graceful_must_be_a_number() -> None:
    import gnet as net

    with pytest.raises(TypeError):
        net.run(10, graceful="soon")  # type: ignore[arg-type]
