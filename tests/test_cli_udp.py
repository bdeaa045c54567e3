"""The ``gnet`` command's UDP mode (``--udp``), as real subprocesses against real peers.

``gnet echo --udp``, ``gnet connect --udp HOST PORT`` and ``gnet listen --udp
PORT`` (netcat's ``-u``) are driven with stdlib UDP sockets and with each
other. Checked: the bytes on stdout, the one line on stderr, the exit
status, no traceback. Every wait has a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

GNET = [sys.executable, "-X", "dev", "-m", "gnet"]
WAIT_S = 10.0

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs signals")


def assert_clean(err: str) -> None:
    assert "Traceback" not in err, err
    assert "Warning" not in err, err


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT_S)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def start(procs: list[subprocess.Popen[bytes]], *args: str, stdin: Any = subprocess.DEVNULL
          ) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*GNET, *args], stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    procs.append(proc)
    return proc


def read_line(stream: Any, timeout: float = WAIT_S) -> str:
    """One line from a child's pipe, with a timeout (the pipe is read byte by byte)."""
    import select

    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line within {timeout} s (got {buf!r})")
        byte = os.read(fd, 1)
        if not byte:
            raise AssertionError(f"EOF before a line (got {buf!r})")
        buf += byte
    return buf.decode()


def udp_echo(procs: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], int]:
    server = start(procs, "echo", "--udp", "--port", "0")
    line = read_line(server.stdout)
    match = re.match(r"UDP echo server listening on 127\.0\.0\.1:(\d+) \(Ctrl-C to stop\)", line)
    assert match, line
    return server, int(match.group(1))


def test_echo_udp_answers_and_stops_on_sigint(procs: list[subprocess.Popen[bytes]]) -> None:
    server, port = udp_echo(procs)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(WAIT_S)
        for payload in (b"ping", b"", os.urandom(60000)):
            client.sendto(payload, ("127.0.0.1", port))
            data, addr = client.recvfrom(65536)
            assert data == payload and addr == ("127.0.0.1", port)
    server.send_signal(signal.SIGINT)
    _out, err = server.communicate(timeout=WAIT_S)
    assert server.returncode == 0
    assert_clean(err.decode())


def test_echo_udp_port_in_use(procs: list[subprocess.Popen[bytes]]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        proc = subprocess.run([*GNET, "echo", "--udp", "--port", str(port)],
                              capture_output=True, timeout=WAIT_S, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == f"gnet: bind EADDRINUSE 127.0.0.1:{port}"


def test_connect_udp_through_echo(procs: list[subprocess.Popen[bytes]]) -> None:
    _server, port = udp_echo(procs)
    started = time.monotonic()
    proc = subprocess.run([*GNET, "connect", "--udp", "-v", "127.0.0.1", str(port)],
                          input=b"hello\n", capture_output=True, timeout=WAIT_S)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"hello\n"
    assert proc.stderr.decode() == f"gnet: connected to 127.0.0.1:{port} (udp)\n"
    # It waited a grace second for answers after the end of stdin, not for ever.
    assert time.monotonic() - started < WAIT_S


def test_connect_udp_refused(procs: list[subprocess.Popen[bytes]]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.run([*GNET, "connect", "--udp", "127.0.0.1", str(port)],
                          input=b"anyone?\n", capture_output=True, timeout=WAIT_S)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "gnet: recvmsg ECONNREFUSED\n"


def test_listen_udp_prints_and_answers_first_sender(procs: list[subprocess.Popen[bytes]]) -> None:
    listener = start(procs, "listen", "--udp", "-v", "0", stdin=subprocess.PIPE)
    line = read_line(listener.stderr)
    match = re.match(r"gnet: listening on 127\.0\.0\.1:(\d+) \(udp\)", line)
    assert match, line
    port = int(match.group(1))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        peer.settimeout(WAIT_S)
        peer.sendto(b"first\n", ("127.0.0.1", port))
        assert read_line(listener.stdout) == "first\n"
        assert read_line(listener.stderr).startswith("gnet: datagram from 127.0.0.1:")
        # stdin goes to the first sender; a stranger's datagrams are filtered out.
        assert listener.stdin is not None
        listener.stdin.write(b"reply\n")
        listener.stdin.flush()
        assert peer.recvfrom(100)[0] == b"reply\n"
        stranger.sendto(b"stranger\n", ("127.0.0.1", port))
        peer.sendto(b"second\n", ("127.0.0.1", port))
        assert read_line(listener.stdout) == "second\n"
    listener.send_signal(signal.SIGINT)
    out, err = listener.communicate(timeout=WAIT_S)
    assert listener.returncode == 128 + signal.SIGINT
    assert b"stranger" not in out
    assert_clean(err.decode())


@pytest.mark.once
def test_connect_udp_to_listen_udp(procs: list[subprocess.Popen[bytes]]) -> None:
    listener = start(procs, "listen", "--udp", "-v", "--timeout", "700", "0",
                     stdin=subprocess.PIPE)
    port = int(re.findall(r":(\d+) \(udp\)", read_line(listener.stderr))[0])
    payload = b"".join(b"line %d\n" % i for i in range(20))
    sender = subprocess.run([*GNET, "connect", "--udp", "127.0.0.1", str(port)],
                            input=payload, capture_output=True, timeout=WAIT_S)
    assert sender.returncode == 0, sender.stderr
    out, err = listener.communicate(timeout=WAIT_S)
    # One read of the piped stdin, one datagram; the listener exits after 0.7 s of quiet.
    assert out == payload
    assert listener.returncode == 0, err


def test_udp_usage_errors() -> None:
    for args in (["echo", "--udp", "--unix", "/tmp/x"], ["connect", "--udp", "--check", "h", "1"],
                 ["listen", "--udp", "--unix", "/tmp/x"]):
        proc = subprocess.run([*GNET, *args], capture_output=True, timeout=WAIT_S,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, args
        assert b"--udp" in proc.stderr
