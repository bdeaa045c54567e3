"""Whole transfers between ``gnet listen`` and ``gnet connect``, and transfers cut short.

30 MB go from one command to the other while the receiver's stdin is empty
(/dev/null, which ends the receiver's side at once, or a terminal nobody
types in), in both directions, and both ways at once: what arrives has the
SHA-256 of what was sent, and both commands exit 0. A transfer cut short
(the receiver killed with SIGKILL, the sender resetting the connection)
exits 1 with one line on stderr. Every command is a real subprocess; every
wait has a deadline.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

GNET = [sys.executable, "-X", "dev", "-m", "gnet"]
SIZE = 30_000_000
WAIT_S = 60.0  # 30 MB through two interpreters on a loaded 2-core machine
LINE_S = 10.0  # a fresh interpreter importing gevent can take a moment


class Command:
    """One gnet command; stdout goes to ``out`` (a file) or a pipe, stderr to a pipe."""

    def __init__(self, *args: str, stdin: Any, out: IO[bytes] | int) -> None:
        self.args = args
        self.proc = subprocess.Popen([*GNET, *args], stdin=stdin, stdout=out,
                                     stderr=subprocess.PIPE)
        self._err = b""

    def err_line(self) -> str:
        """The next line of stderr."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + LINE_S
        while b"\n" not in self._err:
            ready, _, _ = select.select([self.proc.stderr], [], [],
                                        max(deadline - time.monotonic(), 0))
            chunk = os.read(self.proc.stderr.fileno(), 4096) if ready else b""
            if not chunk:
                pytest.fail(f"gnet {' '.join(self.args)}: no line on stderr "
                            f"(so far {self._err!r})")
            self._err += chunk
        line, self._err = self._err.split(b"\n", 1)
        return line.decode()

    def wait(self, timeout: float = WAIT_S) -> tuple[int, str]:
        """The exit status and the rest of stderr."""
        assert self.proc.stderr is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"gnet {' '.join(self.args)} did not exit within {timeout} s")
        rest = self._err + self.proc.stderr.read()
        self._err = b""
        return self.proc.returncode, rest.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(LINE_S)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start() -> Iterator[Any]:
    """Start gnet commands; any still running at teardown is killed."""
    started: list[Command] = []

    def run(*args: str, stdin: Any = subprocess.DEVNULL,
            out: IO[bytes] | int = subprocess.DEVNULL) -> Command:
        command = Command(*args, stdin=stdin, out=out)
        started.append(command)
        return command

    yield run
    for command in started:
        command.kill()


def listening_port(listener: Command) -> int:
    match = re.fullmatch(r"gnet: listening on 127\.0\.0\.1:(\d+)", listener.err_line())
    assert match
    return int(match.group(1))


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, bytes]]:
    """Two 30 MB files of random bytes, with their SHA-256."""
    made = []
    for seed in (10, 11):
        path = tmp_path_factory.mktemp("payload") / f"{seed}.bin"
        data = random.Random(seed).randbytes(SIZE)
        path.write_bytes(data)
        made.append((path, hashlib.sha256(data).digest()))
    return made


def sha256_of(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


@pytest.fixture
def terminal() -> Iterator[int]:
    """The far end of a pseudo-terminal nobody types in: a stdin that is a terminal."""
    controller, far_end = os.openpty()
    yield far_end
    os.close(far_end)
    os.close(controller)


@pytest.mark.once
@pytest.mark.timeout(150)
@pytest.mark.parametrize("receiver_stdin", ["devnull", "terminal"])
@pytest.mark.parametrize("sender", ["listen", "connect"])
def test_30mb_arrive_whole_with_the_receivers_stdin_empty(
        start: Any, payloads: list[tuple[Path, bytes]], tmp_path: Path, terminal: int,
        sender: str, receiver_stdin: str) -> None:
    (source, digest), _ = payloads
    received = tmp_path / "received"
    # /dev/null ends the receiver's side at once: the sender sees the end of
    # a peer that still reads. A terminal keeps it open until the sender ends.
    empty: Any = subprocess.DEVNULL if receiver_stdin == "devnull" else terminal
    with source.open("rb") as data, received.open("wb") as out:
        if sender == "listen":
            tx = start("listen", "-v", "0", stdin=data)
            port = listening_port(tx)
            rx = start("connect", "127.0.0.1", str(port), stdin=empty, out=out)
        else:
            rx = start("listen", "-v", "0", stdin=empty, out=out)
            port = listening_port(rx)
            tx = start("connect", "127.0.0.1", str(port), stdin=data)
        tx_code, tx_err = tx.wait()
        code, err = rx.wait()
    assert (tx_code, error_lines(tx_err)) == (0, []), tx_err
    assert (code, error_lines(err)) == (0, []), err
    assert received.stat().st_size == SIZE
    assert sha256_of(received) == digest


@pytest.mark.once
@pytest.mark.timeout(150)
def test_30mb_each_way_at_once(start: Any, payloads: list[tuple[Path, bytes]],
                               tmp_path: Path) -> None:
    (first, first_digest), (second, second_digest) = payloads
    at_listener, at_connector = tmp_path / "at_listener", tmp_path / "at_connector"
    with first.open("rb") as listen_in, second.open("rb") as connect_in, \
            at_listener.open("wb") as listen_out, at_connector.open("wb") as connect_out:
        listener = start("listen", "-v", "0", stdin=listen_in, out=listen_out)
        port = listening_port(listener)
        connector = start("connect", "127.0.0.1", str(port), stdin=connect_in, out=connect_out)
        assert connector.wait() == (0, "")
        code, err = listener.wait()
    assert (code, error_lines(err)) == (0, []), err
    assert sha256_of(at_connector) == first_digest
    assert sha256_of(at_listener) == second_digest


def error_lines(err: str) -> list[str]:
    """stderr without the -v lines of ``gnet listen``."""
    return [line for line in err.splitlines()
            if not line.startswith(("gnet: listening on ", "gnet: connection from "))]


@pytest.mark.once
@pytest.mark.timeout(150)
@pytest.mark.parametrize("sender", ["listen", "connect"])
def test_receiver_killed_mid_transfer_fails_the_sender(
        start: Any, payloads: list[tuple[Path, bytes]], sender: str) -> None:
    (source, _), _ = payloads
    with source.open("rb") as data:
        if sender == "listen":
            tx = start("listen", "-v", "0", stdin=data)
            port = listening_port(tx)
            rx = start("connect", "127.0.0.1", str(port), out=subprocess.PIPE)
        else:
            rx = start("listen", "-v", "0", out=subprocess.PIPE)
            port = listening_port(rx)
            tx = start("connect", "127.0.0.1", str(port), stdin=data)
        # Read a little of what arrives, then kill the receiver: the kernel
        # resets the connection, its receive queue being full of unread data.
        assert rx.proc.stdout is not None
        got, deadline = 0, time.monotonic() + LINE_S
        while got < 1_000_000 and time.monotonic() < deadline:
            if select.select([rx.proc.stdout], [], [], 1)[0]:
                got += len(os.read(rx.proc.stdout.fileno(), 65536))
        assert got >= 1_000_000
        rx.proc.send_signal(signal.SIGKILL)
        code, err = tx.wait()
    assert "Traceback" not in err, err
    assert code == 1, err
    (line,) = error_lines(err)
    assert re.fullmatch(r"gnet: (write|read) (EPIPE|ECONNRESET)", line), line


@pytest.mark.parametrize("receiver", ["listen", "connect"])
def test_sender_reset_mid_transfer_fails_the_receiver(start: Any, receiver: str) -> None:
    def send_then_reset(sock: socket.socket) -> None:
        with sock:
            sock.sendall(b"x" * 200_000)
            time.sleep(0.2)
            # SO_LINGER 0: close() resets the connection instead of ending it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    if receiver == "listen":
        rx = start("listen", "-v", "0", out=subprocess.PIPE)
        send_then_reset(socket.create_connection(("127.0.0.1", listening_port(rx)), LINE_S))
    else:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            server.settimeout(LINE_S)
            rx = start("connect", "127.0.0.1", str(server.getsockname()[1]),
                       out=subprocess.PIPE)
            send_then_reset(server.accept()[0])
    assert rx.proc.stdout is not None
    rx.proc.stdout.read()  # whatever came before the reset
    code, err = rx.wait(LINE_S)
    assert "Traceback" not in err, err
    assert code == 1, err
    assert error_lines(err) == ["gnet: read ECONNRESET"]
