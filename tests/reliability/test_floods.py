"""Floods: out of descriptors, maxConnections, and idle peers.

Descriptor exhaustion runs the server in a child process
(tests/reliability/fd_limited.py) whose RLIMIT_NOFILE leaves it room for a
few connections only. tests/test_server_close.py already checks, with 12
clients and room for 3, that the server reports EMFILE, does not spin, and
serves the backlog afterwards; here the flood is 300 clients, each verified
byte for byte, with the child's CPU time and descriptors measured through
the flood and a recovery round after it, plus the same shortage on the
client side. ``_cpu_seconds`` is that test's helper, reused.

maxConnections and idle peers run in this process, with gnet clients and
stdlib sockets on loopback.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.socket as gsocket
import gevent.subprocess
import pytest

import gnet as net
from helpers import HOST, KIB, wait_until
from test_server_close import _cpu_seconds

from .conftest import (
    WAIT_S,
    Bench,
    EventLog,
    Figures,
    fd_count,
)

SCRIPT = str(Path(__file__).with_name("fd_limited.py"))
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="needs /proc and RLIMIT_NOFILE")

# Descriptor exhaustion: clients in the flood, and descriptors the server has
# left for connections.
FLOOD = 300
ROOM = 16
# While the flood waits and no descriptor frees up, the server may use this
# much CPU per second of wall time; a server retrying accept() in a loop
# would use a whole core (1.0).
HOLD_CPU_SHARE = 0.1


class Child:
    """fd_limited.py in a child process; its stdout lines are collected as they come."""

    def __init__(self, *args: Any) -> None:
        self.proc = gevent.subprocess.Popen(
            [sys.executable, SCRIPT, *map(str, args)],
            stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE, text=True,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def line(self, prefix: str, start: int = 0, timeout: float = WAIT_S) -> str:
        """The first line from index ``start`` on that starts with ``prefix`` (waits for it)."""
        def found() -> str | None:
            return next((x for x in self.lines[start:] if x.startswith(prefix)), None)

        wait_until(lambda: found() is not None or self.proc.poll() is not None, timeout,
                   f"the child to print {prefix!r}")
        line = found()
        assert line is not None, f"the child exited; it printed {self.lines}"
        return line

    def errors(self) -> list[str]:
        return [x for x in self.lines if x.startswith("error ")]

    def close(self) -> str:
        """Kill the child if it still runs; returns what it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT_S)
        self.reader.join(WAIT_S)
        err = str(self.proc.stderr.read())
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err


@linux_only
def test_descriptor_exhaustion_flood_then_recovery(figures: Figures) -> None:
    """300 clients flood a server that has room for 16 connections; then it serves normally.

    Each client sends a seeded message (1 B to 4 KiB) and, later, reads the
    echo. First nobody reads, so no descriptor frees up: the server reports
    EMFILE through 'error' and, for one second, uses under 10% of a core
    (HOLD_CPU_SHARE; retrying accept() in a loop would take 100%). It never
    holds more descriptors than its limit. Then the clients read and hang up as their
    echoes come: every one of the 300 is served, byte for byte, while the
    server's CPU time is measured. Once the flood is over the server's
    descriptors are back to their count before the flood (exactly), and a
    fresh round of 12 concurrent clients is served within a second with no
    new 'error'. The process never dies and prints no traceback.
    """
    rng = random.Random("descriptor flood")
    messages = [b"%d:" % i + rng.randbytes(rng.randrange(1, 4 * KIB)) for i in range(FLOOD)]
    child = Child("server", ROOM)
    clients: list[gsocket.socket] = []
    try:
        first = child.line("port ").split()
        port = int(first[1])
        # The child counted its descriptors (and the one listing them) and
        # set its soft limit to that count plus ROOM.
        limit = int(first[3]) + ROOM
        base_fds = fd_count(child.pid)
        flood_started = time.monotonic()
        cpu_started = _cpu_seconds(child.pid)
        for message in messages:
            client = gsocket.create_connection((HOST, port), timeout=WAIT_S)
            client.sendall(message)
            clients.append(client)
        child.line("error EMFILE")

        # Nobody reads, so no descriptor frees up: the server must wait, not spin.
        hold_started = _cpu_seconds(child.pid)
        hold_wall = time.monotonic()
        peak_fds = fd_count(child.pid)
        gevent.sleep(1.0)
        peak_fds = max(peak_fds, fd_count(child.pid))
        hold_cpu = (_cpu_seconds(child.pid) - hold_started) / (time.monotonic() - hold_wall)
        assert child.proc.poll() is None

        # The clients read their echoes and hang up; the backlog gets served in turn.
        pending = dict(enumerate(clients))
        got = {i: bytearray() for i in pending}
        for client in clients:
            client.setblocking(False)
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            for i, client in list(pending.items()):
                try:
                    chunk = client.recv(64 * KIB)
                except BlockingIOError:
                    continue
                got[i] += chunk
                assert chunk, f"client {i} was closed before its echo"
                if len(got[i]) >= len(messages[i]):
                    client.close()
                    del pending[i]
            peak_fds = max(peak_fds, fd_count(child.pid))
            gevent.sleep(0.005)
        flood_wall = time.monotonic() - flood_started
        flood_cpu = _cpu_seconds(child.pid) - cpu_started
        assert not pending, f"{len(pending)} of {FLOOD} clients never served"
        assert all(got[i] == messages[i] for i in got), "an echo was damaged"
        emfile_reports = len(child.errors())

        # Recovery: descriptors back where they were, and normal service.
        wait_until(lambda: fd_count(child.pid) == base_fds, what="the server's descriptors")
        errors_before = len(child.errors())
        started = time.monotonic()
        fresh = [gsocket.create_connection((HOST, port), timeout=WAIT_S)
                 for _ in range(ROOM - 4)]
        clients.extend(fresh)
        for i, client in enumerate(fresh):
            client.sendall(b"fresh %d" % i)
        for i, client in enumerate(fresh):
            client.settimeout(WAIT_S)
            assert client.recv(100) == b"fresh %d" % i
        recovery = time.monotonic() - started
        gevent.sleep(0.05)
        assert len(child.errors()) == errors_before
        assert child.proc.poll() is None
    finally:
        for client in clients:
            client.close()
        stderr = child.close()

    figures["connections"] = FLOOD + ROOM - 4
    figures["bytes verified"] = sum(len(m) for m in messages)
    figures["descriptor room for connections"] = ROOM
    figures["server fds before / peak / RLIMIT_NOFILE"] = f"{base_fds} / {peak_fds} / {limit}"
    figures["EMFILE reported ('error' events)"] = emfile_reports
    figures["server CPU share while stuck (1 s)"] = hold_cpu
    figures["flood: wall seconds"] = flood_wall
    figures["flood: server CPU seconds"] = flood_cpu
    figures["recovery round (12 clients) seconds"] = recovery

    assert hold_cpu < HOLD_CPU_SHARE, f"the server burnt {hold_cpu:.0%} of a core while stuck"
    assert peak_fds <= limit
    assert recovery < 1.0
    assert set(child.errors()) == {"error EMFILE"}
    assert "Traceback" not in stderr, stderr


@linux_only
def test_client_out_of_descriptors_gets_emfile_then_recovers(bench: Bench,
                                                             figures: Figures) -> None:
    """A gnet client process with room for 16 descriptors opens 40 connections at once.

    The ones that get a descriptor connect; every other one emits 'error'
    with code EMFILE (syscall 'connect', as Node reports it) and 'close'.
    None of them crashes the process; once the connected ones are destroyed,
    8 new connections all connect.
    """
    bench.server.on("connection", lambda sock: sock.resume())
    child = Child("client", bench.port, ROOM, 40)
    try:
        first = json.loads(child.line("{"))
        second = json.loads(child.line("{", start=1))
        assert child.proc.wait(timeout=WAIT_S) == 0
    finally:
        stderr = child.close()
    figures["connected / refused EMFILE (40 at once, room 16)"] = (
        f"{first['connected']} / {first['errors'].get('EMFILE', 0)}")
    figures["second round connected (of 8)"] = second["connected"]
    assert 0 < first["connected"] <= ROOM
    assert first["errors"] == {"EMFILE": 40 - first["connected"]}
    assert first["syscalls"] == {"connect": 40 - first["connected"]}
    assert first["closes"] == 40 - first["connected"]
    assert second["connected"] == ROOM // 2
    assert second["errors"] == {}
    assert "Traceback" not in stderr, stderr


# --- maxConnections ---------------------------------------------------------------


def test_max_connections_flood_drops_the_excess_and_keeps_the_rest(
        bench: Bench, figures: Figures) -> None:
    """maxConnections = 10 and 200 gnet clients at once, none of them hanging up.

    Exactly 10 'connection' events and 190 'drop' events, each drop with
    Node's truthy fields (localAddress, localPort, remoteAddress,
    remotePort, remoteFamily 'IPv4'). The 10 served clients got the
    greeting and stay open; the 190 dropped ones close once, with no data
    (a plain FIN, or ECONNRESET if anything was in flight). Once the served
    ones are ended, a second wave of 10 is served in full.
    """
    limit, flood = 10, 200
    served: list[net.Socket] = []
    drops: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        served.append(sock)
        sock.write(b"welcome\n")
        sock.resume()

    srv = bench.make_server(on_connection)
    srv.maxConnections = limit
    srv.on("drop", drops.append)
    port = srv.address()["port"]
    logs = [EventLog(bench.connect(port)).collect() for _ in range(flood)]
    wait_until(lambda: len(served) + len(drops) == flood, what="every connection handled")
    wait_until(lambda: sum(log.closed for log in logs) == flood - limit, what="the drops to close")
    gevent.sleep(0.05)
    assert len(served) == limit
    assert len(drops) == flood - limit
    for info in drops:
        assert all(info[key] for key in ("localAddress", "localPort", "remoteAddress",
                                         "remotePort", "remoteFamily")), info
        assert info["remoteFamily"] == "IPv4"
        assert info["localPort"] == port
    open_logs = [log for log in logs if not log.closed]
    dropped = [log for log in logs if log.closed]
    assert len(open_logs) == limit
    assert all(log.data == b"welcome\n" for log in open_logs)
    for log in dropped:
        assert log.data == b""
        assert len(log.closes) == 1
        assert set(log.codes) <= {"ECONNRESET"}
    assert srv.getConnections() == limit

    for sock in served:
        sock.end()
    for log in open_logs:
        log.wait_closed().assert_closed_once(False)
    wait_until(lambda: srv.getConnections() == 0, what="the served connections to close")
    second = [EventLog(bench.connect(port)).collect() for _ in range(limit)]
    wait_until(lambda: len(served) == 2 * limit, what="the second wave")
    wait_until(lambda: all(log.data == b"welcome\n" for log in second), what="greetings")
    assert len(drops) == flood - limit
    figures["flood / maxConnections"] = f"{flood} / {limit}"
    figures["served / dropped"] = f"{limit} / {len(drops)}"
    figures["second wave served"] = limit


def test_max_connections_under_churn_serves_whoever_fits(bench: Bench, figures: Figures) -> None:
    """maxConnections = 10; 600 clients, 60 in flight at once, each doing one echo and hanging up.

    Each client is either served (its seeded message comes back intact,
    then 'close'(False)) or dropped (no data, one 'close'); nothing else.
    'connection' events equal the served clients and 'drop' events the
    dropped ones; the server never holds more than 10 connections; at least
    10 were served.
    """
    limit, total, window = 10, 600, 60
    rng = random.Random("churn")
    state = {"connections": 0, "most at once": 0, "drops": 0, "in flight": 0}

    def on_connection(sock: net.Socket) -> None:
        state["connections"] += 1
        state["most at once"] = max(state["most at once"], srv.getConnections())
        sock.pipe(sock)

    srv = bench.make_server(on_connection)
    srv.maxConnections = limit
    srv.on("drop", lambda info: state.__setitem__("drops", state["drops"] + 1))
    port = srv.address()["port"]
    served = dropped = 0
    other: list[tuple[int, list[str]]] = []

    def start() -> None:
        message = rng.randbytes(rng.randrange(1, 2 * KIB))
        log = EventLog(bench.connect(port)).collect()
        log.sock.end(message)

        def on_close(_had_error: bool) -> None:
            nonlocal served, dropped
            state["in flight"] -= 1
            if log.data == message and log.closes == [False]:
                served += 1
                bench.verified += len(message)
            elif not log.data and set(log.codes) <= {"ECONNRESET"}:
                dropped += 1
            else:
                other.append((len(log.data), log.events))

        log.sock.on("close", on_close)
        state["in flight"] += 1

    for _ in range(total):
        wait_until(lambda: state["in flight"] < window, what="a free slot")
        start()
    wait_until(lambda: state["in flight"] == 0, what="every client to finish")
    gevent.sleep(0.05)
    figures["clients / maxConnections / in flight"] = f"{total} / {limit} / {window}"
    figures["served / dropped"] = f"{served} / {dropped}"
    figures["most connections at once"] = state["most at once"]
    assert other == []
    assert served + dropped == total
    assert state["connections"] == served
    assert state["drops"] == dropped
    assert state["most at once"] <= limit
    assert served >= limit


# --- idle peers ---------------------------------------------------------------------------

IDLE_MS = 150
BYE = b"idle for 150 ms, bye\n"
# A reaped connection closes no sooner than IDLE_MS after its last activity
# (less 5 ms for timer rounding) and no later than this much after it.
LATE_MS = 1000


def test_idle_peers_are_closed_by_the_readme_idiom(bench: Bench, figures: Figures) -> None:
    """The README's idiom, setTimeout(ms, lambda: sock.end(msg)), closes idle peers, not busy ones.

    60 idle gnet clients and 5 that send a message every 30 ms for 300 ms
    (twice the 150 ms timeout). Each idle client gets the goodbye, 'end',
    and 'close'(False) between 150 ms and 150 + 1000 ms after connecting.
    The busy ones are not touched while busy (every echo intact, no
    goodbye before their last message), and are reaped the same way once
    they fall silent. Then the server holds no connection.
    """
    def on_connection(sock: net.Socket) -> None:
        sock.setTimeout(IDLE_MS, lambda: sock.end(BYE))
        sock.pipe(sock)

    srv = bench.make_server(on_connection)
    port = srv.address()["port"]
    started = time.monotonic()
    idle = [EventLog(bench.connect(port)).collect() for _ in range(60)]
    busy = [EventLog(bench.connect(port)).collect() for _ in range(5)]
    closed_at: dict[int, float] = {}
    for log in idle + busy:
        log.sock.on("close", lambda _h, log=log: closed_at.setdefault(id(log), time.monotonic()))
    sent: dict[int, bytes] = {id(log): b"" for log in busy}
    last_write: dict[int, float] = {}
    for round_ in range(10):
        for i, log in enumerate(busy):
            message = b"busy %d round %d\n" % (i, round_)
            assert not log.closed, "a busy client was closed"
            log.sock.write(message)
            sent[id(log)] += message
            last_write[id(log)] = time.monotonic()
        gevent.sleep(0.03)
    for log in idle + busy:
        log.wait_closed(timeout=(IDLE_MS + LATE_MS) / 1000 + 1)
    for log in idle:
        log.assert_closed_once(False)
        assert log.data == BYE
        waited = (closed_at[id(log)] - started) * 1000
        assert IDLE_MS - 5 <= waited <= IDLE_MS + LATE_MS, waited
    for log in busy:
        log.assert_closed_once(False)
        assert log.data == sent[id(log)] + BYE
        waited = (closed_at[id(log)] - last_write[id(log)]) * 1000
        assert IDLE_MS - 5 <= waited <= IDLE_MS + LATE_MS, waited
    wait_until(lambda: srv.getConnections() == 0, what="the server to hold nothing")
    delays = sorted((closed_at[id(log)] - started) * 1000 for log in idle)
    figures["idle / busy clients"] = "60 / 5"
    figures["idle timeout ms"] = IDLE_MS
    figures["idle clients closed after ms (min / max)"] = f"{delays[0]:.0f} / {delays[-1]:.0f}"
    bench.verified += sum(len(v) for v in sent.values())


def test_timeout_alone_closes_nothing(bench: Bench, figures: Figures) -> None:
    """Node's rule: 'timeout' is advice. With a listener that does not close, nothing closes.

    30 idle clients, setTimeout(150) with a counting listener: after 600 ms
    every connection is still open on both sides, and each socket emitted
    'timeout' exactly once (one per idle period, and nothing happened since).
    """
    counts: list[int] = []

    def on_connection(sock: net.Socket) -> None:
        index = len(counts)
        counts.append(0)
        sock.setTimeout(IDLE_MS)
        sock.on("timeout", lambda: counts.__setitem__(index, counts[index] + 1))
        sock.resume()

    srv = bench.make_server(on_connection)
    port = srv.address()["port"]
    logs = [EventLog(bench.connect(port)).collect() for _ in range(30)]
    wait_until(lambda: len(counts) == 30, what="the connections")
    gevent.sleep(4 * IDLE_MS / 1000)
    assert counts == [1] * 30
    assert srv.getConnections() == 30
    assert not any(log.closed for log in logs)
    assert all(sock.readyState == "open" for sock in bench.accepted[-30:])
    figures["connections still open after 4 idle periods"] = srv.getConnections()


def test_a_peer_that_ignores_our_fin_needs_destroy(bench: Bench, figures: Figures) -> None:
    """Stdlib peers that never read and never close: end() is not enough, destroy() is.

    With the README idiom (end on 'timeout') the server's sockets are left
    half-closed ('readOnly', as in Node: they wait for the peer's FIN) after
    four idle periods. The graceful-then-forceful idiom, end() on the first
    'timeout' and destroy() on the next (one 'timeout' per idle period),
    closes them, between two idle periods and two plus 1000 ms after the
    peer fell silent.
    """
    def polite(sock: net.Socket) -> None:
        sock.setTimeout(IDLE_MS, lambda: sock.end(BYE))
        sock.resume()

    def firm(sock: net.Socket) -> None:
        def on_timeout() -> None:
            if sock.writableEnded:
                sock.destroy()  # the peer ignored our goodbye
            else:
                sock.end(BYE)

        sock.setTimeout(IDLE_MS)
        sock.on("timeout", on_timeout)
        sock.resume()

    results = {}
    for name, listener in (("polite", polite), ("firm", firm)):
        srv = bench.make_server(listener)
        port = srv.address()["port"]
        started = time.monotonic()
        peers = [gsocket.create_connection((HOST, port), timeout=WAIT_S) for _ in range(20)]
        bench.raw.extend(peers)
        wait_until(lambda srv=srv: srv.getConnections() == 20, what="the connections")
        accepted = bench.accepted[-20:]
        if name == "polite":
            gevent.sleep(4 * IDLE_MS / 1000)
            assert srv.getConnections() == 20
            assert all(sock.readyState == "readOnly" for sock in accepted)
        else:
            wait_until(lambda srv=srv: srv.getConnections() == 0,
                       timeout_s=(2 * IDLE_MS + LATE_MS) / 1000 + 1, what="the firm idiom")
            waited = (time.monotonic() - started) * 1000
            assert 2 * IDLE_MS - 5 <= waited <= 2 * IDLE_MS + LATE_MS, waited
            for sock in accepted:
                bench.log_of(sock).assert_closed_once(False)
            results["firm idiom closed all 20 after ms"] = round(waited)
        for peer in peers:
            peer.settimeout(WAIT_S)
            assert peer.recv(100) == BYE
    results["polite idiom: still open after 4 idle periods"] = 20
    for key, value in results.items():
        figures[key] = value
