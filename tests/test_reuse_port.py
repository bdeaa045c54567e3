"""``server.listen({'reusePort': True})`` (Node 22.12): SO_REUSEPORT, port sharing across processes.

Two real processes bind the same loopback port with ``reusePort``; the
kernel spreads new connections over both, so a bounded series of
connections reaches each of them. Without the option on both sides the
second bind fails with EADDRINUSE, as in Node.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from helpers import WAIT_S, Harness

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"),
                                reason="no SO_REUSEPORT on this system")

# A child that listens on argv[1] (with reusePort unless argv[2] == 'plain'),
# prints its port, and answers each connection with its pid.
CHILD = r"""
import os, sys
import gnet as net

def on_connection(sock):
    sock.end(str(os.getpid()).encode())

server = net.createServer(on_connection)
server.on("error", lambda err: (print("error", err.code, flush=True), server.close()))
server.listen({"port": int(sys.argv[1]), "host": "127.0.0.1",
               "reusePort": sys.argv[2] != "plain"},
              lambda: print("port", server.address()["port"], flush=True))
net.run()
"""


@contextmanager
def child(port: int, mode: str = "reuse") -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen([sys.executable, "-u", "-c", CHILD, str(port), mode],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait(WAIT_S)
        if proc.stdout is not None:
            proc.stdout.close()


def ask_pid(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
        data = b""
        while chunk := conn.recv(64):
            data += chunk
    return int(data)


@pytest.mark.once
@pytest.mark.timeout(30)
def test_two_processes_share_a_port_and_both_accept() -> None:
    with child(0) as (first, line):
        assert line.startswith("port "), line
        port = int(line.split()[1])
        with child(port) as (second, line2):
            assert line2 == f"port {port}"
            seen: set[int] = set()
            deadline = time.monotonic() + 10
            for _ in range(400):
                seen.add(ask_pid(port))
                if len(seen) == 2 or time.monotonic() > deadline:
                    break
            assert seen == {first.pid, second.pid}


@pytest.mark.once
@pytest.mark.timeout(30)
def test_without_reuse_port_the_second_bind_fails() -> None:
    with child(0) as (_first, line):
        port = int(line.split()[1])
        with child(port, "plain") as (_second, line2):
            assert line2 == "error EADDRINUSE"


def test_reuse_port_in_one_process(harness: Harness) -> None:
    # Two gnet servers in one process on one port: both listen.
    first = harness.listen(harness.server(), {"port": 0, "host": "127.0.0.1",
                                              "reusePort": True})
    port = first.address()["port"]
    second = harness.listen(harness.server(), {"port": port, "host": "127.0.0.1",
                                               "reusePort": True})
    assert second.address()["port"] == port
    sock = first.socket
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_without_reuse_port_the_option_is_off(harness: Harness) -> None:
    server = harness.listen(harness.server(), {"port": 0, "host": "127.0.0.1"})
    assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
