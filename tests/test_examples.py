"""The programs in examples/ run, serve real clients, and stop cleanly on Ctrl-C.

Each example runs as a real subprocess (``sys.executable examples/NAME.py``)
on a free loopback port; the clients are plain stdlib sockets (and, for the
chat, examples/chat_client.py itself, driven through its stdin). Every read
and every wait for a process has a timeout.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import LinePeer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WAIT_S = 10.0  # a fresh interpreter importing gevent can take a moment on a busy box

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ is not here")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Example:
    """One example program running in a subprocess, read line by line."""

    def __init__(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        # -X dev shows what would otherwise pass silently (ResourceWarning...).
        self.proc = subprocess.Popen(
            [sys.executable, "-X", "dev", str(EXAMPLES / name), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self._buffer = b""

    def read_line(self, timeout: float = WAIT_S) -> str:
        """The next line of stdout, without its newline; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                pytest.fail(f"{self.name}: no line on stdout within {timeout} s "
                            f"(so far: {self._buffer!r})")
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                pytest.fail(f"{self.name} closed stdout; stderr:\n{err}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def listening_port(self) -> int:
        """Read the start line ('... listening on HOST:PORT ...') and return the port."""
        line = self.read_line()
        match = re.search(r"listening on (\S+):(\d+)", line)
        assert match, f"{self.name}: unexpected first line {line!r}"
        return int(match.group(2))

    def write(self, data: bytes) -> None:
        self.proc.stdin.write(data)  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def close_stdin(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        # communicate() would flush it, closed or not.
        self.proc.stdin = None

    def wait(self, timeout: float = WAIT_S) -> tuple[int, str, str]:
        """Wait for the exit: (returncode, rest of stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"{self.name} did not exit within {timeout} s; stderr:\n"
                        f"{err.decode(errors='replace')}")
        rest = (self._buffer + out).decode(errors="replace")
        self._buffer = b""
        return self.proc.returncode, rest, err.decode(errors="replace")

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl-C (SIGINT), then wait for the exit."""
        self.proc.send_signal(signal.SIGINT)
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def run_example() -> Iterator[Any]:
    """Start examples; any still running at teardown is killed."""
    started: list[Example] = []

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> Example:
        example = Example(name, *args, env=env)
        started.append(example)
        return example

    yield start
    for example in started:
        example.kill()


def assert_clean_exit(result: tuple[int, str, str]) -> None:
    code, _, err = result
    assert "Traceback" not in err, err
    assert "Warning" not in err, err
    assert code == 0, err


# -- hello_server.py ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["argv", "env"])
def test_hello_server(run_example: Any, peers: Any, how: str) -> None:
    port = free_port()
    if how == "argv":
        server = run_example("hello_server.py", str(port))
    else:
        server = run_example("hello_server.py", env={"PORT": str(port)})
    assert server.listening_port() == port
    for _ in range(3):
        assert peers(port).rest() == b"Hello World\n"
    assert_clean_exit(server.interrupt())


def test_hello_server_port_in_use(run_example: Any) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, out, err = run_example("hello_server.py", str(port)).wait()
    assert code != 0
    assert out == ""
    assert err.strip() == f"hello_server: listen EADDRINUSE: address already in use " \
                          f"127.0.0.1:{port}"


# -- echo_server.py ---------------------------------------------------------------------


def test_echo_server_echoes_1mib(run_example: Any, peers: Any) -> None:
    port = free_port()
    server = run_example("echo_server.py", str(port))
    assert server.listening_port() == port
    payload = random.Random(7).randbytes(1024 * 1024)
    peer = peers(port)

    # Send from a thread while this one reads: the echo pushes back, so a
    # client that only sent would wait for ever once the buffers are full.
    def send_all() -> None:
        peer.sock.sendall(payload)
        peer.sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send_all)
    sender.start()
    echoed = peer.rest()
    sender.join(WAIT_S)
    assert not sender.is_alive()
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    assert_clean_exit(server.interrupt())


def test_echo_server_ctrl_c_with_a_client_still_connected(run_example: Any, peers: Any) -> None:
    port = free_port()
    server = run_example("echo_server.py", str(port))
    server.listening_port()
    peer = peers(port)
    peer.send(b"ping\n")
    assert peer.line() == "ping"
    assert_clean_exit(server.interrupt())
    assert peer.rest() == b""


# -- chat_server.py ---------------------------------------------------------------------


WELCOME = "Welcome to the chat! What is your name?"


def join(peers: Any, port: int, name: str, here: str) -> LinePeer:
    peer = peers(port)
    assert peer.line() == WELCOME
    peer.send(name.encode() + b"\n")
    assert peer.line() == f"Hello {name}! Here now: {here}."
    return peer


@pytest.fixture
def chat(run_example: Any) -> Iterator[tuple[Example, int]]:
    port = free_port()
    server = run_example("chat_server.py", "--port", str(port))
    assert server.read_line() == f"chat server listening on 127.0.0.1:{port} (Ctrl-C to stop)"
    yield server, port


def test_chat_three_members_see_each_others_lines_in_order(
    chat: tuple[Example, int], peers: Any
) -> None:
    server, port = chat
    alice = join(peers, port, "alice", "nobody else")
    bob = join(peers, port, "bob", "alice")
    assert alice.line() == "* bob joined"
    carol = join(peers, port, "carol", "alice, bob")
    assert alice.line() == "* carol joined"
    assert bob.line() == "* carol joined"

    alice.send(b"one\ntwo\r\nthr")  # a CRLF line, and a line in two pieces
    alice.send(b"ee\n")
    for other in (bob, carol):
        assert [other.line() for _ in range(3)] == ["alice: one", "alice: two", "alice: three"]
    bob.send("caf\u00e9 \u2615\n".encode())
    for other in (alice, carol):
        assert other.line() == "bob: caf\u00e9 \u2615"
    carol.close()
    for other in (alice, bob):
        assert other.line() == "* carol left"

    server.proc.send_signal(signal.SIGINT)
    # Everyone still here is told, then the server hangs up.
    for other in (alice, bob):
        assert other.rest() == b"* the server is shutting down\n"
        other.close()
    code, out, err = server.wait()
    assert_clean_exit((code, out, err))
    lines = out.splitlines()
    assert lines[:5] == ["alice joined", "bob joined", "carol joined", "carol left",
                         "shutting down"]
    # alice and bob hang up at about the same time, in either order.
    assert sorted(lines[5:]) == ["alice left", "bob left"]


def test_chat_name_must_be_free(chat: tuple[Example, int], peers: Any) -> None:
    _, port = chat
    join(peers, port, "alice", "nobody else")
    other = peers(port)
    assert other.line() == WELCOME
    other.send(b"alice\n")
    assert other.line().startswith("Please pick another name")
    other.send(b"alice2\n")
    assert other.line() == "Hello alice2! Here now: alice."


@pytest.mark.parametrize("newline", [b"", b"\n"], ids=["no-newline", "whole-line"])
def test_chat_line_limit_disconnects_with_a_message(
    chat: tuple[Example, int], peers: Any, newline: bytes
) -> None:
    _, port = chat
    alice = join(peers, port, "alice", "nobody else")
    mallory = join(peers, port, "mallory", "alice")
    assert alice.line() == "* mallory joined"
    # 4096 bytes is the limit: allowed.
    mallory.send(b"m" * 4096 + b"\n")
    assert alice.line() == "mallory: " + "m" * 4096
    mallory.send(b"x" * 5000 + newline)
    assert mallory.rest() == b"* line too long (the limit is 4096 bytes); goodbye\n"
    mallory.close()
    assert alice.line() == "* mallory left"


def test_chat_port_in_use_prints_one_line(run_example: Any) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, out, err = run_example("chat_server.py", "--port", str(port)).wait()
    assert code != 0
    assert out == ""
    assert err.splitlines() == [
        f"chat_server: listen EADDRINUSE: address already in use 127.0.0.1:{port}"]


def test_chat_sigint_with_no_members(chat: tuple[Example, int]) -> None:
    server, _ = chat
    code, out, err = server.interrupt()
    assert_clean_exit((code, out, err))
    assert out == "shutting down\n"


def test_chat_server_on_ipv6(run_example: Any, ipv6_loopback: str) -> None:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind((ipv6_loopback, 0))
        port = probe.getsockname()[1]
    server = run_example("chat_server.py", "--host", ipv6_loopback, "--port", str(port))
    assert server.read_line() == f"chat server listening on [::1]:{port} (Ctrl-C to stop)"
    with socket.create_connection((ipv6_loopback, port), timeout=WAIT_S) as sock:
        assert sock.recv(100) == (WELCOME + "\n").encode()
    assert_clean_exit(server.interrupt())


# -- chat_client.py -----------------------------------------------------------------------


def test_chat_client_through_a_pipe(chat: tuple[Example, int], peers: Any,
                                    run_example: Any) -> None:
    _, port = chat
    alice = join(peers, port, "alice", "nobody else")
    client = run_example("chat_client.py", "--port", str(port))
    assert client.read_line() == WELCOME
    client.write(b"bob\n")
    assert client.read_line() == "Hello bob! Here now: alice."
    assert alice.line() == "* bob joined"

    alice.send(b"hi bob\n")
    assert client.read_line() == "alice: hi bob"
    client.write(b"hello alice\n")
    assert alice.line() == "bob: hello alice"

    # End of input: the client half-closes, the server hangs up, the client exits.
    client.close_stdin()
    code, out, err = client.wait()
    assert_clean_exit((code, out, err))
    assert out == ""
    assert alice.line() == "* bob left"


def test_chat_client_exits_when_the_server_goes_away(chat: tuple[Example, int],
                                                     run_example: Any) -> None:
    server, port = chat
    client = run_example("chat_client.py", "--port", str(port))
    assert client.read_line() == WELCOME
    client.write(b"bob\n")
    assert client.read_line() == "Hello bob! Here now: nobody else."
    # stdin stays open: the client still leaves once the server hangs up.
    assert_clean_exit(server.interrupt())
    code, out, err = client.wait()
    assert_clean_exit((code, out, err))
    assert out == "* the server is shutting down\n"


def test_chat_client_sigint_leaves_politely(chat: tuple[Example, int], peers: Any,
                                            run_example: Any) -> None:
    _, port = chat
    alice = join(peers, port, "alice", "nobody else")
    client = run_example("chat_client.py", "--port", str(port))
    assert client.read_line() == WELCOME
    client.write(b"bob\n")
    assert client.read_line() == "Hello bob! Here now: alice."
    assert alice.line() == "* bob joined"
    assert_clean_exit(client.interrupt())
    assert alice.line() == "* bob left"


def test_chat_client_cannot_connect(run_example: Any) -> None:
    port = free_port()
    code, out, err = run_example("chat_client.py", "--port", str(port)).wait()
    assert code != 0
    assert out == ""
    assert err.splitlines() == [f"chat_client: connect ECONNREFUSED 127.0.0.1:{port}"]


NODE_CHAT_CLIENT = """
const net = require('net');
const socket = net.connect(Number(process.argv[1]), '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
"""


@pytest.mark.node
@pytest.mark.once
def test_chat_client_prints_what_nodes_three_line_client_prints(
        chat: tuple[Example, int]) -> None:
    # examples/chat_client.py is the port of Node's client; the same input
    # through a pipe gives the same output, byte for byte, and status 0.
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("`node` is not on PATH, and CI needs it", pytrace=False)
        pytest.skip("`node` is not on PATH")
    _, port = chat
    said = b"bob\nhi nobody\n"
    outputs = []
    for argv in ([node, "-e", NODE_CHAT_CLIENT, str(port)],
                 [sys.executable, "-X", "dev", str(EXAMPLES / "chat_client.py"),
                  "--port", str(port)]):
        proc = subprocess.run(argv, input=said, capture_output=True, timeout=15)
        assert (proc.returncode, proc.stderr) == (0, b""), proc.stderr
        outputs.append(proc.stdout)
    node_out, gnet_out = outputs
    assert node_out.startswith(f"{WELCOME}\nHello bob!".encode()), node_out
    assert gnet_out == node_out
