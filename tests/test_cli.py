"""The ``gnet`` command: every subcommand as a real subprocess against real peers.

Each test runs ``python -m gnet ...`` (and once the ``gnet`` console script)
and talks to it with stdlib sockets, with a stdlib server in a thread, with
another gnet command, or with the Node scripts of tests/interop/node. What
is checked is what a script would rely on: the bytes on stdout, the one
line on stderr, the exit status, and no traceback. Every read, accept and
wait for a process has a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import LinePeer

GNET = [sys.executable, "-X", "dev", "-m", "gnet"]
NODE_DIR = Path(__file__).resolve().parent / "interop" / "node"
WAIT_S = 10.0  # a fresh interpreter importing gevent can take a moment on a busy box
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_clean(err: str) -> None:
    assert "Traceback" not in err, err
    assert "Warning" not in err, err


def run_gnet(*args: str, stdin: Any = None, input: bytes | None = None,
             timeout: float = WAIT_S) -> subprocess.CompletedProcess[bytes]:
    """Run a gnet command to its end; stdin is /dev/null unless given."""
    # gevent's run() (under monkey patching) refuses stdin=None next to input.
    feed: dict[str, Any] = {"input": input} if input is not None else {
        "stdin": subprocess.DEVNULL if stdin is None else stdin}
    try:
        return subprocess.run([*GNET, *args], capture_output=True, timeout=timeout, **feed)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"gnet {' '.join(args)} did not exit within {timeout} s; "
                    f"stderr: {exc.stderr!r}")


class Gnet:
    """One gnet command running in a subprocess, its stdout and stderr read line by line.

    ``prelude`` is Python run in the subprocess before the command, to
    stretch one of its module constants (a grace period) for a test.
    """

    def __init__(self, *args: str, stdin: Any = subprocess.PIPE, prelude: str = "") -> None:
        self.args = args
        argv = [*GNET, *args]
        if prelude:
            argv = [*GNET[:-2], "-c", f"import sys; import gnet.cli; {prelude}; "
                    "sys.exit(gnet.cli.main(sys.argv[1:]))", *args]
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._buffers = {"stdout": b"", "stderr": b""}

    def _line(self, name: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        stream = getattr(self.proc, name)
        while b"\n" not in self._buffers[name]:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([stream.fileno()], [], [], max(left, 0))
            if not ready:
                pytest.fail(f"gnet {' '.join(self.args)}: no line on {name} within "
                            f"{timeout} s (so far: {self._buffers[name]!r})")
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                code, out, err = self.wait()
                pytest.fail(f"gnet {' '.join(self.args)} closed {name} (exit {code}); "
                            f"stdout: {out!r}; stderr:\n{err}")
            self._buffers[name] += chunk
        line, self._buffers[name] = self._buffers[name].split(b"\n", 1)
        return line.decode()

    def line(self, timeout: float = WAIT_S) -> str:
        """The next line of stdout, without its newline."""
        return self._line("stdout", timeout)

    def err_line(self, timeout: float = WAIT_S) -> str:
        """The next line of stderr, without its newline."""
        return self._line("stderr", timeout)

    def listening_port(self, host: str = "127.0.0.1") -> int:
        """Read the server's first line ('<what> listening on HOST:PORT ...'); its port."""
        line = self.line()
        match = re.fullmatch(r"\w+ server listening on (\S+):(\d+) \(Ctrl-C to stop\)", line)
        assert match, f"unexpected first line {line!r}"
        assert match.group(1) == host, line
        return int(match.group(2))

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.stdin = None  # communicate() would flush it, closed or not

    def wait(self, timeout: float = WAIT_S) -> tuple[int, bytes, str]:
        """Wait for the exit: (status, rest of stdout, rest of stderr).

        stdin is left as it is (communicate() would close it, and an end of
        input is something these tests send on purpose, or not at all).
        """
        deadline = time.monotonic() + timeout
        names = {stream.fileno(): name for name, stream in
                 (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)) if stream}
        while names:
            ready, _, _ = select.select(list(names), [], [],
                                        max(deadline - time.monotonic(), 0))
            if not ready:
                self._timed_out(timeout)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    self._buffers[names[fd]] += chunk
                else:
                    del names[fd]
        try:
            self.proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self._timed_out(timeout)
        out, err = self._buffers["stdout"], self._buffers["stderr"]
        self._buffers = {"stdout": b"", "stderr": b""}
        return self.proc.returncode, out, err.decode(errors="replace")

    def _timed_out(self, timeout: float) -> None:
        err = self._buffers["stderr"].decode(errors="replace")
        self.kill()
        pytest.fail(f"gnet {' '.join(self.args)} did not exit within {timeout} s; "
                    f"stderr:\n{err}")

    def signal(self, signum: int = signal.SIGINT) -> tuple[int, bytes, str]:
        """Send ``signum`` (Ctrl-C by default), then wait for the exit."""
        self.proc.send_signal(signum)
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.proc.wait(WAIT_S)


@pytest.fixture
def gnet() -> Iterator[Callable[..., Gnet]]:
    """Start gnet commands; any still running at teardown is killed."""
    started: list[Gnet] = []

    def start(*args: str, stdin: Any = subprocess.PIPE, prelude: str = "") -> Gnet:
        proc = Gnet(*args, stdin=stdin, prelude=prelude)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


class StdlibServer:
    """A stdlib server in a thread that hands one accepted connection to ``handler``.

    ``handler(conn)`` runs in the thread; what it returns is ``result``,
    what it raises is raised again by :meth:`join`.
    """

    def __init__(self, handler: Callable[[socket.socket], Any], path: str | None = None) -> None:
        if path is None:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.port: int = self.sock.getsockname()[1]
        else:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
        self.sock.listen()
        self.sock.settimeout(WAIT_S)
        self.handler = handler
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(WAIT_S)
                self.result = self.handler(conn)
        except BaseException as exc:
            self.error = exc

    def join(self) -> Any:
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "the stdlib server's handler did not finish"
        if self.error is not None:
            raise self.error
        return self.result

    def close(self) -> None:
        self.sock.close()
        self.thread.join(WAIT_S)


@pytest.fixture
def stdlib_server() -> Iterator[Callable[..., StdlibServer]]:
    """Start :class:`StdlibServer` threads; all are closed at teardown."""
    made: list[StdlibServer] = []

    def start(handler: Callable[[socket.socket], Any], path: str | None = None) -> StdlibServer:
        server = StdlibServer(handler, path)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()


def recv_all(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


TRAILER = b"said after your end of input\n"


def echo_then_trailer(conn: socket.socket) -> int:
    """Echo until the client's FIN, then send TRAILER (the client is half-closed) and close."""
    received = 0
    while chunk := conn.recv(65536):
        received += len(chunk)
        conn.sendall(chunk)
    conn.sendall(TRAILER)
    return received


# -- --help and usage errors -------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["chat"], ["echo"], ["connect"], ["listen"]],
                         ids=["gnet", "chat", "echo", "connect", "listen"])
def test_help_exits_0_and_documents_exit_status(command: list[str]) -> None:
    result = run_gnet(*command, "--help")
    assert result.returncode == 0
    assert result.stderr == b""
    text = result.stdout.decode()
    assert text.startswith(f"usage: {' '.join(['gnet', *command])} ")
    assert "exit status:" in text
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n  {code}" in text


def test_top_level_help_lists_every_command() -> None:
    text = run_gnet("--help").stdout.decode()
    for name in ("chat", "echo", "connect", "listen"):
        assert re.search(rf"^    {name}\s", text, re.M), name


def test_version() -> None:
    result = run_gnet("--version")
    assert result.returncode == 0
    assert re.fullmatch(rb"gnet \d+\.\d+\.\d+\S*\n", result.stdout)


def test_console_script() -> None:
    script = Path(sys.executable).with_name("gnet")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable} (gnet not installed there)")
    result = subprocess.run([str(script), "connect", "--help"], capture_output=True,
                            timeout=WAIT_S)
    assert result.returncode == 0
    assert result.stdout.startswith(b"usage: gnet connect ")


@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["--bogus"],
    ["connect"],
    ["connect", "127.0.0.1"],
    ["connect", "127.0.0.1", "http"],
    ["connect", "127.0.0.1", "70000"],
    ["connect", "127.0.0.1", "0"],
    ["connect", "127.0.0.1", "80", "extra"],
    ["connect", "--unix", "/tmp/gnet-nowhere.sock", "127.0.0.1", "80"],
    ["connect", "--timeout", "-5", "127.0.0.1", "80"],
    ["connect", "--timeout", "soon", "127.0.0.1", "80"],
    ["listen"],
    ["listen", "--unix", "/tmp/gnet-nowhere.sock", "9000"],
    ["listen", "-1"],
    ["chat", "--port", "x"],
    ["chat", "8124"],
    ["echo", "--nope"],
], ids=lambda args: " ".join(args) or "no-command")
def test_bad_usage_exits_2(args: list[str]) -> None:
    result = run_gnet(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert_clean(err)
    lines = err.splitlines()
    assert lines[0].startswith("usage: gnet")
    assert re.match(r"gnet( \w+)?: error: ", lines[-1]), err


# -- connect ----------------------------------------------------------------------------


def test_connect_pipes_stdin_and_half_closes(stdlib_server: Any) -> None:
    server = stdlib_server(echo_then_trailer)
    data = b"line one\r\nline two\n\x00\x04\xff binary too"
    result = run_gnet("connect", "127.0.0.1", str(server.port), input=data)
    # TRAILER went out after the server saw our FIN: we half-closed at the end
    # of stdin, kept reading, and exited only once the server had hung up.
    assert result.stdout == data + TRAILER
    assert result.stderr == b""
    assert result.returncode == 0
    assert server.join() == len(data)


@pytest.mark.parametrize("how", ["pipe", "file"])
def test_connect_1mib_random_bytes_in_equal_bytes_out(stdlib_server: Any, how: str) -> None:
    payload = random.Random(1).randbytes(MIB)
    server = stdlib_server(echo_then_trailer)
    if how == "pipe":
        result = run_gnet("connect", "127.0.0.1", str(server.port), input=payload)
    else:
        # A regular file as stdin: readable at once, never "would block".
        with tempfile.TemporaryFile() as file:
            file.write(payload)
            file.seek(0)
            result = run_gnet("connect", "127.0.0.1", str(server.port), stdin=file)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert len(result.stdout) == MIB + len(TRAILER)
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(payload + TRAILER).digest()
    assert server.join() == MIB


def test_connect_unix(stdlib_server: Any, tmp_sock_path: str) -> None:
    server = stdlib_server(echo_then_trailer, path=tmp_sock_path)
    data = bytes(range(256)) * 64
    result = run_gnet("connect", "--unix", tmp_sock_path, input=data)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == data + TRAILER
    assert server.join() == len(data)


def test_connect_empty_stdin_half_closes_at_once(stdlib_server: Any) -> None:
    def greet_after_eof(conn: socket.socket) -> bytes:
        got = recv_all(conn)
        conn.sendall(b"nothing from you, then\n")
        return got

    server = stdlib_server(greet_after_eof)
    result = run_gnet("connect", "127.0.0.1", str(server.port))  # stdin is /dev/null
    assert (result.returncode, result.stdout, result.stderr) == (
        0, b"nothing from you, then\n", b"")
    assert server.join() == b""


def speak_and_end(conn: socket.socket) -> bytes:
    """Say hello, end our side at once, and read the client to its end."""
    conn.sendall(b"hello, and goodbye\n")
    conn.shutdown(socket.SHUT_WR)
    return recv_all(conn)


def test_connect_peer_that_ends_first_still_gets_the_rest_of_stdin(
        stdlib_server: Any, gnet: Any) -> None:
    server = stdlib_server(speak_and_end)
    client = gnet("connect", "127.0.0.1", str(server.port))
    assert client.line() == "hello, and goodbye"
    # The peer has ended; a pipe's data is still delivered, to stdin's end.
    client.write(b"written after the peer's end\n")
    time.sleep(0.2)
    client.write(b"and more")
    client.close_stdin()
    code, out, err = client.wait()
    assert (code, out, err) == (0, b"", "")
    assert server.join() == b"written after the peer's end\nand more"


def test_connect_terminal_stdin_ends_when_the_peer_does(stdlib_server: Any, gnet: Any) -> None:
    server = stdlib_server(speak_and_end)
    controller, terminal = os.openpty()
    try:
        # A person typing has nothing pending: the peer's end alone ends the session.
        client = gnet("connect", "127.0.0.1", str(server.port), stdin=terminal)
        code, out, err = client.wait()
    finally:
        os.close(terminal)
        os.close(controller)
    assert (code, out, err) == (0, b"hello, and goodbye\n", "")
    assert server.join() == b""


def test_connect_refused_is_one_line_exit_1() -> None:
    port = free_port()
    result = run_gnet("connect", "127.0.0.1", str(port))
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"gnet: connect ECONNREFUSED 127.0.0.1:{port}"]


def test_connect_unix_missing_path(tmp_sock_path: str) -> None:
    result = run_gnet("connect", "--unix", tmp_sock_path)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [f"gnet: connect ENOENT {tmp_sock_path}"]


def test_connect_reset_by_peer_is_one_line_exit_1(stdlib_server: Any, gnet: Any) -> None:
    ready = threading.Event()

    def reset(conn: socket.socket) -> None:
        conn.sendall(b"hi\n")
        ready.wait(WAIT_S)
        # SO_LINGER 0: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = stdlib_server(reset)
    client = gnet("connect", "127.0.0.1", str(server.port))
    assert client.line() == "hi"  # connected and reading before the reset
    ready.set()
    server.join()
    code, out, err = client.wait()
    assert code == 1
    assert out == b""
    assert err.splitlines() == ["gnet: read ECONNRESET"]


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: a new connection's SYN goes unanswered.

    A listening socket with backlog 0 that never accepts holds one
    connection (Linux lets backlog + 1 wait); the kernel drops SYNs beyond it.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("relies on Linux dropping SYNs to a full accept queue")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(2):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.1)
            yield port
        finally:
            for filler in fillers:
                filler.close()


def test_connect_timeout_while_connecting(unanswered_port: int) -> None:
    result = run_gnet("connect", "--timeout", "300", "127.0.0.1", str(unanswered_port))
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"gnet: connect ETIMEDOUT 127.0.0.1:{unanswered_port}"]


def test_connect_idle_timeout_hangs_up_quietly(stdlib_server: Any, gnet: Any) -> None:
    server = stdlib_server(recv_all)  # silent; returns once we hang up
    client = gnet("connect", "--timeout", "300", "127.0.0.1", str(server.port))
    client.write(b"anyone there?\n")  # stdin stays open: only the timeout ends it
    code, out, err = client.wait()
    assert (code, out, err) == (0, b"", "")
    assert server.join() == b"anyone there?\n"


def test_connect_check(stdlib_server: Any, gnet: Any) -> None:
    server = stdlib_server(recv_all)
    # stdin is an open pipe: --check does not read it.
    client = gnet("connect", "--check", "-v", "127.0.0.1", str(server.port))
    code, out, err = client.wait()
    assert (code, out) == (0, b"")
    assert err.splitlines() == [f"gnet: connected to 127.0.0.1:{server.port}"]
    assert server.join() == b""


def test_connect_check_closed_port() -> None:
    port = free_port()
    result = run_gnet("connect", "-z", "127.0.0.1", str(port))
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"gnet: connect ECONNREFUSED 127.0.0.1:{port}"]


def test_connect_stdout_closed_by_its_reader(stdlib_server: Any, gnet: Any) -> None:
    def flood(conn: socket.socket) -> None:
        try:
            while True:
                conn.sendall(b"y" * 65536)
        except OSError:
            pass  # the client hung up: done

    server = stdlib_server(flood)
    client = gnet("connect", "127.0.0.1", str(server.port))
    assert client.proc.stdout is not None
    assert select.select([client.proc.stdout], [], [], WAIT_S)[0]
    assert os.read(client.proc.stdout.fileno(), 10).startswith(b"y")
    client.proc.stdout.close()  # `gnet connect ... | head -c 10`
    client.proc.stdout = None
    code, _, err = client.wait()
    assert (code, err) == (0, "")
    server.join()


def test_connect_sigint_ends_our_side_and_exits_130(stdlib_server: Any, gnet: Any) -> None:
    def hear_eof(conn: socket.socket) -> bytes:
        conn.sendall(b"ready\n")
        return recv_all(conn)

    server = stdlib_server(hear_eof)
    client = gnet("connect", "127.0.0.1", str(server.port))
    client.write(b"partial input")
    assert client.line() == "ready"
    code, out, err = client.signal(signal.SIGINT)
    assert_clean(err)
    assert (code, out, err) == (130, b"", "")
    # Ctrl-C ended our side politely: the peer got what we had sent, then EOF.
    assert server.join() == b"partial input"


class PeerThatStays:
    """A stdlib server handler that reads to our FIN, then does not hang up until released."""

    def __init__(self) -> None:
        self.fin = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn: socket.socket) -> bytes:
        conn.sendall(b"ready\n")
        got = recv_all(conn)
        self.fin.set()
        self.release.wait(WAIT_S)
        return got


def test_connect_sigterm_hangs_up_after_the_grace_period(stdlib_server: Any,
                                                         gnet: Any) -> None:
    peer = PeerThatStays()
    server = stdlib_server(peer)
    client = gnet("connect", "127.0.0.1", str(server.port))
    assert client.line() == "ready"
    code, out, err = client.signal(signal.SIGTERM)  # 1 s after our FIN, not never
    peer.release.set()
    assert (code, out, err) == (143, b"", "")
    assert peer.fin.is_set()
    assert server.join() == b""


def test_connect_second_ctrl_c_hangs_up_at_once(stdlib_server: Any, gnet: Any) -> None:
    peer = PeerThatStays()
    server = stdlib_server(peer)
    # A grace period far beyond this test's waits: only the second Ctrl-C can end it.
    client = gnet("connect", "127.0.0.1", str(server.port),
                  prelude="import gnet.cli.common; gnet.cli.common.GRACE_MS = 600_000")
    assert client.line() == "ready"
    client.proc.send_signal(signal.SIGINT)
    assert peer.fin.wait(WAIT_S)  # the first one ended our side
    code, out, err = client.signal(signal.SIGINT)
    peer.release.set()
    assert (code, out, err) == (130, b"", "")
    assert server.join() == b""


# -- listen -----------------------------------------------------------------------------


def test_listen_one_connection_both_ways(gnet: Any, peers: Any) -> None:
    server = gnet("listen", "-v", "0")
    match = re.fullmatch(r"gnet: listening on 127\.0\.0\.1:(\d+)", server.err_line())
    assert match
    port = int(match.group(1))
    peer = peers(port)
    assert server.err_line() == f"gnet: connection from 127.0.0.1:{peer.sock.getsockname()[1]}"
    # One client only: the server stopped listening when this one came in.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT_S).close()

    upload = random.Random(2).randbytes(300_000)
    reply = b"thanks\n" * 1000
    peer.send(upload)
    peer.sock.shutdown(socket.SHUT_WR)
    server.write(reply)
    server.close_stdin()
    assert peer.rest() == reply
    code, out, err = server.wait()
    assert (code, err) == (0, "")
    assert out == upload


def test_listen_unix_receives_a_file(gnet: Any, peers: Any, tmp_sock_path: str) -> None:
    # An empty stdin, as a receiver's should be: it sends nothing, the file comes whole.
    server = gnet("listen", "-v", "--unix", tmp_sock_path, stdin=subprocess.DEVNULL)
    assert server.err_line() == f"gnet: listening on {tmp_sock_path}"
    payload = random.Random(3).randbytes(MIB)
    with tempfile.TemporaryFile() as file:
        file.write(payload)
        file.seek(0)
        sender = gnet("connect", "--unix", tmp_sock_path, stdin=file)
    # Read the receiver's stdout while the sender sends: it pushes back.
    code, received, err_text = server.wait()
    assert sender.wait() == (0, b"", "")
    assert code == 0
    assert err_text == "gnet: connection from a local client\n"
    assert len(received) == len(payload), (len(received), received[:100], payload[:100])
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert not os.path.exists(tmp_sock_path)  # the socket file goes with the server


def test_listen_idle_timeout(gnet: Any, peers: Any) -> None:
    server = gnet("listen", "-v", "--timeout", "300", "0")
    port = int(server.err_line().rsplit(":", 1)[1])
    peer = peers(port)
    assert peer.rest() == b""  # hung up on us after 300 ms of silence
    code, out, err = server.wait()
    assert (code, out) == (0, b"")
    assert_clean(err)


def test_listen_sigint_while_waiting_exits_130(gnet: Any) -> None:
    server = gnet("listen", "-v", "0")
    assert server.err_line().startswith("gnet: listening on 127.0.0.1:")
    code, out, err = server.signal(signal.SIGINT)
    assert (code, out, err) == (130, b"", "")


# -- echo -------------------------------------------------------------------------------


def test_echo_serves_stdlib_clients(gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--port", "0")
    port = server.listening_port()
    first, second = peers(port), peers(port)
    second.send(b"two\n")
    first.send(b"one\n")
    assert (first.line(), second.line()) == ("one", "two")

    payload = random.Random(4).randbytes(MIB)

    # Send from a thread while this one reads: the echo pushes back, so a
    # client that only sent would wait for ever once the buffers are full.
    def send_all() -> None:
        first.sock.sendall(payload)
        first.sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send_all)
    sender.start()
    echoed = first.rest()
    sender.join(WAIT_S)
    assert not sender.is_alive()
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()

    code, out, err = server.signal(signal.SIGINT)
    assert (code, out, err) == (0, b"", "")
    assert second.rest() == b""  # Ctrl-C hung up on the client still connected


def reset(peer: LinePeer) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()


def test_echo_client_reset_is_one_line_and_the_server_goes_on(gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--port", "0")
    port = server.listening_port()
    reading = peers(port)
    reading.send(b"one\n")
    assert reading.line() == "one"
    where = f"gnet: 127.0.0.1:{reading.sock.getsockname()[1]}: read ECONNRESET"
    reset(reading)  # the server is waiting to read
    assert server.err_line() == where

    flooding = peers(port)
    flooding.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    flooding.send(b"x" * (2 * MIB))  # never read: the echo's writes back are stuck
    where = f"gnet: 127.0.0.1:{flooding.sock.getsockname()[1]}: "
    reset(flooding)
    line = server.err_line()
    assert line.startswith(where), line
    assert line[len(where):] in ("read ECONNRESET", "write ECONNRESET", "write EPIPE"), line

    later = peers(port)
    later.send(b"still here\n")
    assert later.line() == "still here"
    code, out, err = server.signal(signal.SIGINT)
    assert (code, out, err) == (0, b"", "")  # no traceback, no other line


@pytest.mark.parametrize("command", [["chat"], ["echo"], ["listen", "9000"]],
                         ids=["chat", "echo", "listen"])
def test_servers_bind_loopback_by_default(command: list[str]) -> None:
    # Parsed only: port 8124 may be taken on this machine. The servers
    # started by the other tests (--port 0) show 127.0.0.1 in their first line.
    from gnet.cli import build_parser

    args = build_parser().parse_args(command)
    assert args.host == "127.0.0.1"
    if command[0] != "listen":
        assert args.port == 8124


def test_echo_on_ipv6(gnet: Any, peers: Any, ipv6_loopback: str) -> None:
    server = gnet("echo", "--host", ipv6_loopback, "--port", "0")
    line = server.line()
    match = re.fullmatch(r"echo server listening on \[::1\]:(\d+) \(Ctrl-C to stop\)", line)
    assert match, line
    peer = peers((ipv6_loopback, int(match.group(1))), socket.AF_INET6)
    peer.send(b"six\n")
    assert peer.line() == "six"
    code, _, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")


def test_echo_unix_replaces_a_stale_socket_file(gnet: Any, peers: Any,
                                                tmp_sock_path: str) -> None:
    with socket.socket(socket.AF_UNIX) as crashed:
        crashed.bind(tmp_sock_path)  # left behind, as by a server that died
    server = gnet("echo", "--unix", tmp_sock_path)
    assert server.line() == f"echo server listening on {tmp_sock_path} (Ctrl-C to stop)"
    peer = peers(tmp_sock_path, socket.AF_UNIX)
    peer.send(b"local\n")
    assert peer.line() == "local"
    code, _, err = server.signal(signal.SIGINT)
    assert (code, err) == (0, "")
    assert not os.path.exists(tmp_sock_path)


def test_echo_unix_path_in_use(gnet: Any, tmp_sock_path: str) -> None:
    first = gnet("echo", "--unix", tmp_sock_path)
    first.line()
    result = run_gnet("echo", "--unix", tmp_sock_path)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"gnet: listen EADDRINUSE: address already in use {tmp_sock_path} "
        "(a server answers on it)"]


@pytest.mark.parametrize("command", [
    ["chat", "--port"], ["echo", "--port"], ["listen"],
], ids=["chat", "echo", "listen"])
def test_port_in_use_is_one_line_exit_1(command: list[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_gnet(*command, str(port))
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"gnet: listen EADDRINUSE: address already in use 127.0.0.1:{port}"]


# -- chat -------------------------------------------------------------------------------

WELCOME = "Welcome to the chat! What is your name?"


def join(peers: Any, port: int, name: str, here: str) -> LinePeer:
    peer = peers(port)
    assert peer.line() == WELCOME
    peer.send(name.encode() + b"\n")
    assert peer.line() == f"Hello {name}! Here now: {here}."
    return peer


def test_chat_with_stdlib_clients_and_gnet_connect_typed_through_a_pipe(
        gnet: Any, peers: Any) -> None:
    server = gnet("chat", "--port", "0")
    port = server.listening_port()
    alice = join(peers, port, "alice", "nobody else")

    bob = gnet("connect", "127.0.0.1", str(port))
    assert bob.line() == WELCOME
    bob.write(b"bob\n")
    assert bob.line() == "Hello bob! Here now: alice."
    assert alice.line() == "* bob joined"
    alice.send("caf\u00e9 \u2615\r\n".encode())
    assert bob.line() == "alice: caf\u00e9 \u2615"
    bob.write(b"hello al")
    bob.write(b"ice\n")
    assert alice.line() == "bob: hello alice"

    # End of input: bob half-closes, the server hangs up, bob exits.
    bob.close_stdin()
    assert bob.wait() == (0, b"", "")
    assert alice.line() == "* bob left"

    code, out, err = server.signal(signal.SIGINT)
    assert (code, err) == (0, "")
    assert alice.rest() == b"* the server is shutting down\n"
    assert out.decode().splitlines() == [
        "alice joined", "bob joined", "bob left", "shutting down", "alice left"]


def test_chat_second_ctrl_c_cuts_off_members_at_once(gnet: Any, peers: Any) -> None:
    # A grace period far beyond this test's waits: only the second Ctrl-C can end it.
    server = gnet("chat", "--port", "0", prelude="import gnet.chat; gnet.chat.GRACE_MS = 600_000")
    port = server.listening_port()
    alice = join(peers, port, "alice", "nobody else")
    server.proc.send_signal(signal.SIGINT)
    assert alice.line() == "* the server is shutting down"
    assert [server.line(), server.line()] == ["alice joined", "shutting down"]
    # alice does not hang up; the server waits for her...
    code, out, err = server.signal(signal.SIGINT)
    # ...until the second Ctrl-C.
    assert (code, out, err) == (0, b"alice left\n", "")
    assert alice.rest() == b""


def test_chat_sigterm_with_no_members(gnet: Any) -> None:
    server = gnet("chat", "--port", "0")
    server.listening_port()
    assert server.signal(signal.SIGTERM) == (0, b"shutting down\n", "")


# -- Node peers -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary; skips without one (fails under CI, as the interop suite does)."""
    path = shutil.which("node")
    if path is None or not (NODE_DIR / "lib.js").exists():
        reason = "`node` is not on PATH" if path is None else f"no Node scripts in {NODE_DIR}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; node is required in CI", pytrace=False)
        pytest.skip(reason)
    return path


class NodeScript:
    """A script of tests/interop/node: an optional ``{"ready": ...}`` line, then one result."""

    def __init__(self, node: str, script: str, *args: str) -> None:
        self.name = script
        self.proc = subprocess.Popen([node, str(NODE_DIR / script), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ready(self) -> Any:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], WAIT_S)
        assert ready, f"{self.name}: no ready line within {WAIT_S} s"
        return json.loads(self.proc.stdout.readline())["ready"]

    def result(self) -> dict[str, Any]:
        try:
            out, err = self.proc.communicate(timeout=WAIT_S * 2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"{self.name} still running after {WAIT_S * 2} s: {out!r} {err!r}")
        lines = out.decode().splitlines()
        assert self.proc.returncode == 0 and lines, f"{self.name}: {out!r} {err!r}"
        result: dict[str, Any] = json.loads(lines[-1])
        assert "failed" not in result, result
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def node_script(node: str) -> Iterator[Callable[..., NodeScript]]:
    started: list[NodeScript] = []

    def start(script: str, *args: str) -> NodeScript:
        proc = NodeScript(node, script, *args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def shake_stream(seed: str, total: int) -> bytes:
    """The test stream of tests/interop/node/lib.js: 1 MiB chunks of SHAKE-256("seed:k")."""
    parts, k = [], 0
    while total > 0:
        size = min(MIB, total)
        parts.append(hashlib.shake_256(f"{seed}:{k}".encode()).digest(size))
        total -= size
        k += 1
    return b"".join(parts)


@pytest.mark.node
def test_node_client_against_gnet_echo(gnet: Any, node_script: Any) -> None:
    server = gnet("echo", "--port", "0")
    port = server.listening_port()
    total = MIB + 12345
    result = node_script("stream_client.js", str(port), str(total), "cli-echo").result()
    expected = hashlib.sha256(shake_stream("cli-echo", total)).hexdigest()
    assert (result["sent"], result["received"]) == (total, total)
    assert result["received_sha256"] == expected
    assert server.signal(signal.SIGINT) == (0, b"", "")


@pytest.mark.node
def test_gnet_connect_against_node_echo(node_script: Any) -> None:
    node = node_script("echo_server.js", "0")
    port = node.ready()
    payload = random.Random(5).randbytes(MIB)
    result = run_gnet("connect", "127.0.0.1", str(port), input=payload)
    assert (result.returncode, result.stderr) == (0, b"")
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(payload).digest()
    (connection,) = node.result()["connections"]
    assert connection["received"] == MIB
    assert connection["sha256"] == hashlib.sha256(payload).hexdigest()
    assert connection["events"] == ["data", "end", "finish", "close"]
    assert connection["had_error"] is False


@pytest.mark.node
def test_gnet_connect_half_close_with_node(node_script: Any) -> None:
    # Node waits for our 'end' (stdin's EOF), then answers with 300 KB and ends.
    node = node_script("half_close.js", "server", "0", "peer", "cli-half", "300000")
    port = node.ready()
    result = run_gnet("connect", "127.0.0.1", str(port), input=b"question")
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == shake_stream("cli-half", 300000)
    report = node.result()
    assert report["received"] == len(b"question")
    assert report["events"] == ["data", "end", "finish", "close"]


@pytest.mark.node
def test_node_chat_clients_against_gnet_chat(gnet: Any, node_script: Any) -> None:
    server = gnet("chat", "--port", "0")
    port = server.listening_port()
    result = node_script("chat_clients.js", str(port), "4", "50").result()
    assert result["lines_delivered"] == 4 * 3 * 50
    code, _, err = server.signal(signal.SIGINT)
    assert (code, err) == (0, "")
