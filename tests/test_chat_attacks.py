"""``gnet chat`` under attack: a real server process, hostile clients, /proc figures.

Each test starts ``python -m gnet chat --port 0`` (without ``-X dev``, whose
debug allocator would inflate the figures), attacks it over loopback with
stdlib sockets as a hostile user would, and reads what the attack cost the
server from /proc/<pid>/status (VmRSS, VmHWM: the peak) and /proc/<pid>/stat
(user + system CPU). The bounds are the ones the room promises:

- a nameless client, or one that sends an over-long line, costs the server
  less than 8 MiB and little CPU, and an over-long line is not read on;
- K members that stop reading cost less than K x 1.5 MiB + 8 MiB;
- a stdout nobody reads, or one whose reader is gone (stderr too), neither
  freezes the room nor cuts anyone off, and SIGTERM / SIGINT still stop it
  within the grace period;
- under a descriptor limit of 128, idle connections neither starve the
  room nor keep legitimate clients waiting in silence.

Every send and read has a timeout and every attack a deadline, so the
tests end (failing) against a server that does not defend itself. The
figures are printed (``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import fcntl
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import LinePeer

pytestmark = [pytest.mark.once, pytest.mark.timeout(120)]

MIB = 1024 * 1024
HOST = "127.0.0.1"
CHAT = [sys.executable, "-m", "gnet", "chat", "--port", "0"]
WELCOME = "Welcome to the chat! What is your name?"
START_S = 15.0  # a fresh interpreter importing gevent on a busy 2-core box
GRACE_S = 1.0  # gnet.chat.GRACE_MS
TICK = os.sysconf("SC_CLK_TCK")


class Peer(LinePeer):
    """A LinePeer that gives up sooner: a frozen server fails the test quickly."""

    TIMEOUT_S = 4.0


def figures(pid: int) -> dict[str, float]:
    """The server's RSS and peak RSS (MiB) and CPU time (s), from /proc."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    out["cpu"] = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return out


class Server:
    """One ``gnet chat`` process; its first stdout line gives the port."""

    def __init__(self, *flags: str, stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE,
                 preexec_fn: Any = None) -> None:
        self.proc = subprocess.Popen([*CHAT, *flags], stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=stderr, preexec_fn=preexec_fn)
        self.out_fd = self.proc.stdout.fileno() if self.proc.stdout else None
        self.buffer = b""

    def first_line(self, fd: int | None = None) -> int:
        """Read the 'listening' line from ``fd`` (stdout by default); the port."""
        fd = self.out_fd if fd is None else fd
        assert fd is not None
        data = b""
        deadline = time.monotonic() + START_S
        while b"\n" not in data:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"no listening line within {START_S} s: {data!r}"
            chunk = os.read(fd, 4096)
            assert chunk, f"stdout closed: {data!r}"
            data += chunk
        line, self.buffer = data.split(b"\n", 1)
        match = re.fullmatch(rb"chat server listening on 127\.0\.0\.1:(\d+) \(Ctrl-C to stop\)",
                             line)
        assert match, line
        return int(match.group(1))

    def log(self) -> list[str]:
        """The log lines written so far (stdout read without waiting)."""
        fd = self.out_fd
        assert fd is not None
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer.decode(errors="replace").splitlines()

    @property
    def figures(self) -> dict[str, float]:
        return figures(self.proc.pid)

    def baseline(self) -> dict[str, float]:
        """Figures before an attack, with the peak reset to now (so VmHWM is the attack's)."""
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as refs:
                refs.write("5")  # Linux: reset VmHWM to the current RSS
        except OSError:
            pass  # then VmHWM - VmRSS before only overstates the growth
        return self.figures

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send ``signum``; (exit status, seconds until the process was gone)."""
        start = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gnet chat still running {timeout} s after signal {signum}")
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def servers() -> Iterator[Any]:
    started: list[Server] = []
    peers: list[Any] = []

    def start(*flags: str, **kwargs: Any) -> Server:
        server = Server(*flags, **kwargs)
        started.append(server)
        return server

    start.peers = peers  # type: ignore[attr-defined]
    yield start
    for peer in peers:
        peer.close()
    for server in started:
        server.kill()


def join(servers: Any, port: int, name: str, rcvbuf: int | None = None) -> Peer:
    peer = Peer(port) if rcvbuf is None else _small_peer(port, rcvbuf)
    servers.peers.append(peer)
    assert peer.line() == WELCOME
    peer.send(name.encode() + b"\n")
    assert peer.line().startswith(f"Hello {name}! Here now: ")
    return peer


def _small_peer(port: int, rcvbuf: int) -> Peer:
    # A receive buffer set before connecting keeps the window small, so the
    # kernel holds little of what the server sends and its backlog fills.
    peer = Peer.__new__(Peer)
    peer.sock = socket.socket()
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    peer.sock.settimeout(Peer.TIMEOUT_S)
    peer.sock.connect((HOST, port))
    peer._buffer = b""
    return peer


def flood(sock: socket.socket, chunk: bytes, total: int, seconds: float) -> int:
    """Send ``chunk`` until ``total`` bytes, an error, or ``seconds``; bytes sent."""
    sock.settimeout(1.0)
    sent = 0
    deadline = time.monotonic() + seconds
    while sent < total and time.monotonic() < deadline:
        try:
            sent += sock.send(chunk)
        except TimeoutError:
            continue  # the server is not reading (yet); the deadline decides
        except OSError:
            break  # the server hung up
    return sent


def report(what: str, **values: Any) -> None:
    print(f"\n[chat attack] {what}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def read_until(peer: Peer, wanted: str, limit: int = 10_000) -> list[str]:
    """Lines read up to and including ``wanted``."""
    seen = []
    for _ in range(limit):
        line = peer.line()
        seen.append(line)
        if line == wanted:
            return seen
    pytest.fail(f"{wanted!r} not among {limit} lines")


# -- 1: a nameless client that never reads ---------------------------------------------


def test_nameless_flood_costs_little_memory_and_cpu(servers: Any) -> None:
    server = servers()
    port = server.first_line()
    members = [join(servers, port, f"m{i}") for i in range(200)]
    time.sleep(0.3)
    before = server.baseline()
    attacker = socket.create_connection((HOST, port), timeout=2)
    servers.peers.append(attacker)
    # 4 MiB of empty lines: each one a name refused, and (on the old server)
    # a 58-byte reply that is never read plus a scan of every member's name.
    sent = flood(attacker, b"\n" * 65536, 4 * MIB, seconds=8)
    time.sleep(1.0)  # what was taken in must be worked through too
    after = server.figures
    grown = after["VmHWM"] - before["VmRSS"]
    cpu = after["cpu"] - before["cpu"]
    report("nameless flood, 200 members", sent=sent, rss_before_mib=round(before["VmRSS"], 1),
           peak_growth_mib=round(grown, 2), cpu_s=round(cpu, 2))
    assert grown < 8, f"the server grew by {grown:.1f} MiB"
    assert cpu < 1.0, f"the server spent {cpu:.2f} s of CPU"
    # The room still works.
    members[0].send(b"still here\n")
    assert read_until(members[1], "m0: still here")[-1] == "m0: still here"


# -- 2 and 7: over-long lines -----------------------------------------------------------


@pytest.mark.parametrize(("chunk", "total"), [
    (b"\r" * 65536, 20 * MIB),  # b"x" + 20 MiB of '\r': the old bypass of the limit
    (b"y" * 65536, 100 * 1000 * 1000),  # 100 MB without a newline
], ids=["cr-bypass", "100MB-no-newline"])
def test_an_over_long_line_is_cut_off_cheaply(servers: Any, chunk: bytes, total: int) -> None:
    server = servers()
    port = server.first_line()
    alice = join(servers, port, "alice")
    mallory = join(servers, port, "mallory")
    assert alice.line() == "* mallory joined"
    time.sleep(0.2)
    before = server.baseline()
    mallory.send(b"x")
    start = time.monotonic()
    sent = flood(mallory.sock, chunk, total, seconds=10)
    elapsed = time.monotonic() - start
    time.sleep(0.3)
    after = server.figures
    grown = after["VmHWM"] - before["VmRSS"]
    cpu = after["cpu"] - before["cpu"]
    report(f"over-long line ({'cr' if chunk[0] == 13 else 'no newline'})", sent=sent,
           until_cut_s=round(elapsed, 2), peak_growth_mib=round(grown, 2), cpu_s=round(cpu, 2))
    # The kernel's buffers take some MB before the server hangs up; the
    # server itself stops reading at the limit.
    assert sent < 16 * MIB, f"the server kept reading: {sent} bytes taken"
    assert grown < 8, f"the server grew by {grown:.1f} MiB"
    assert cpu < 1.0, f"the server spent {cpu:.2f} s of CPU"
    # Nothing of the line reached anyone.
    assert alice.line() == "* mallory left"


# -- 3: members that stop reading ------------------------------------------------------------


def test_stalled_members_cost_bounded_memory(servers: Any) -> None:
    stalled = 10
    server = servers("--rate-limit", "0")
    port = server.first_line()
    sleepers = [join(servers, port, f"s{i}", rcvbuf=4096) for i in range(stalled)]
    sender = join(servers, port, "t")
    time.sleep(0.3)
    server.log()
    before = server.baseline()
    # One-byte lines: the old server queued one object per message per
    # member, 20 times the payload.
    deadline = time.monotonic() + 40
    sent = 0
    while time.monotonic() < deadline:
        sent += flood(sender.sock, b"x\n" * 32768, 4 * MIB, seconds=2)
        if sum(" dropped: " in line for line in server.log()) >= stalled:
            break
    after = server.figures
    dropped = sum(" dropped: " in line for line in server.log())
    grown = after["VmHWM"] - before["VmRSS"]
    bound = stalled * 1.5 + 8
    cpu = after["cpu"] - before["cpu"]
    report(f"{stalled} stalled members", sent=sent, dropped=dropped,
           peak_growth_mib=round(grown, 2), bound_mib=bound, cpu_s=round(cpu, 2))
    assert dropped == stalled, server.log()[-5:]
    assert grown < bound, f"the server grew by {grown:.1f} MiB for {stalled} stalled members"
    # Those still reading are served.
    carol = join(servers, port, "carol")
    carol.send(b"hello\n")
    assert read_until(sender, "carol: hello")[-1] == "carol: hello"
    del sleepers


# -- 4: stdout and stderr that nobody reads, or that are gone ----------------------------------


def _pipe(size: int | None = None) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    if size is not None:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, size)
    return read_end, write_end


def _chat_through(servers: Any, port: int, rounds: int) -> tuple[Peer, Peer]:
    """alice stays; ``rounds`` visitors join, say hello and leave; then bob talks to alice."""
    alice = join(servers, port, "alice")
    for i in range(rounds):
        visitor = join(servers, port, f"v{i}")
        visitor.send(b"hello\n")
        assert alice.line() == f"* v{i} joined"
        assert alice.line() == f"v{i}: hello"
        visitor.close()
        assert alice.line() == f"* v{i} left"
    bob = join(servers, port, "bob")
    assert alice.line() == "* bob joined"
    bob.send(b"hi alice\n")
    assert alice.line() == "bob: hi alice"
    alice.send(b"hi bob\n")
    assert bob.line() == "alice: hi bob"
    return alice, bob


def test_a_stdout_nobody_reads_neither_freezes_the_room_nor_stops_sigterm(servers: Any) -> None:
    read_end, write_end = _pipe(4096)
    try:
        server = servers(stdout=write_end)
        os.close(write_end)
        port = server.first_line(read_end)
        # 300 visitors: 900 log lines, far more than the 4 KiB pipe holds.
        alice, _ = _chat_through(servers, port, 300)
        code, seconds = server.stop(signal.SIGTERM)
        report("stdout unread", exit=code, stop_s=round(seconds, 2))
        assert code == 0
        # alice and bob never hang up: the grace period ends it.
        assert seconds < GRACE_S + 2.0
        assert alice.rest() == b"* the server is shutting down\n"
    finally:
        os.close(read_end)


@pytest.mark.parametrize("stderr_too", [False, True], ids=["stdout", "stdout-and-stderr"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_closed_stdout_cuts_no_one_off_and_a_signal_still_stops(
        servers: Any, stderr_too: bool, signum: int) -> None:
    # `gnet chat | head -1`: the reader takes the first line and goes away.
    read_end, write_end = _pipe()
    err_read, err_write = _pipe()
    server = servers(stdout=write_end, stderr=err_write)
    os.close(write_end)
    os.close(err_write)
    port = server.first_line(read_end)
    os.close(read_end)
    if stderr_too:
        os.close(err_read)
    try:
        _chat_through(servers, port, 5)
        code, seconds = server.stop(signum)
        report(f"stdout closed{' and stderr' if stderr_too else ''}", signal=signum, exit=code,
               stop_s=round(seconds, 2))
        assert code == 0
        assert seconds < GRACE_S + 2.0
    finally:
        if not stderr_too:
            os.close(err_read)


# -- 6: slowloris under a low descriptor limit -----------------------------------------------


def _nofile_128() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def test_idle_connections_under_a_descriptor_limit_do_not_starve_the_room(servers: Any) -> None:
    server = servers("--name-timeout", "1000", preexec_fn=_nofile_128)
    port = server.first_line()
    alice = join(servers, port, "alice")
    # 150 connections that never say a word.
    lurkers = []
    for _ in range(150):
        lurker = socket.create_connection((HOST, port), timeout=2)
        servers.peers.append(lurker)
        lurkers.append(lurker)
    fds = len(os.listdir(f"/proc/{server.proc.pid}/fd"))
    # A newcomer is answered at once: the room is full (not silence).
    newcomer = Peer(port)
    servers.peers.append(newcomer)
    first = newcomer.line()
    assert first.startswith("* the room is full"), first
    # alice is still served meanwhile.
    alice.send(b"anyone?\n")
    # The lurkers are hung up on after the name timeout; then there is room.
    time.sleep(1.5)
    late = join(servers, port, "late")
    late.send(b"made it\n")
    assert read_until(alice, "late: made it")[-1] == "late: made it"
    report("150 idle connections, RLIMIT_NOFILE 128", server_fds=fds)


# -- 7: half-close through gnet connect --------------------------------------------------------


def test_printf_name_and_message_through_gnet_connect(servers: Any) -> None:
    server = servers()
    port = server.first_line()
    alice = join(servers, port, "alice")
    result = subprocess.run([sys.executable, "-m", "gnet", "connect", HOST, str(port)],
                            input=b"bob\nlast words", capture_output=True, timeout=START_S)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{WELCOME}\nHello bob! Here now: alice.\n".encode()
    assert [alice.line() for _ in range(3)] == ["* bob joined", "bob: last words", "* bob left"]
