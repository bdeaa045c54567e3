"""gnet.cluster's round-robin scheduling (SCHED_RR), with real primaries and workers.

The primary (``PROGRAM``, or ``NODE_PROGRAM`` for Node's cluster) forks
workers, prints every cluster event as one JSON line and takes commands on
stdin. Each worker greets a connection with its pid, then echoes. The
tests connect as clients and compare: the spread over workers, what
happens to connections a worker has been handed but has not taken when it
dies or closes its server, maxConnections, and the event order against
Node's cluster running the same program with NODE_CLUSTER_SCHED_POLICY=rr.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gnet import cluster
from helpers import default_sigint

WAIT_S = 15.0

PROGRAM = r"""
import json, os, sys, time
import gnet as net
from gnet import cluster

def out(*args):
    # One write(2) of a line under PIPE_BUF: the primary and the workers
    # share this pipe, and a print() may split its line.
    os.write(1, (json.dumps(args) + "\n").encode())

if cluster.isPrimary:
    setup = json.loads(os.environ.get("SETUP", "{}"))
    if setup:
        cluster.setupPrimary(setup)
    cluster.on("fork", lambda w: out("fork", w.id))
    cluster.on("online", lambda w: out("online", w.id))
    cluster.on("listening", lambda w, a: out("listening", w.id, a["port"], w.process.pid))
    cluster.on("disconnect", lambda w: out("disconnect", w.id))
    cluster.on("exit", lambda w, c, s: out("exit", w.id, c, s, w.exitedAfterDisconnect))
    cluster.on("message", lambda w, m: out("message", w.id, m))

    def command(line):
        for cmd in line.decode().splitlines():
            word, _, rest = cmd.partition(" ")
            if word == "send":
                wid, _, msg = rest.partition(" ")
                cluster.workers[int(wid)].send(json.loads(msg))
            elif word == "stop":
                cluster.disconnect()

    net.process.stdin.on("data", command)
    for _ in range(int(os.environ.get("WORKERS", "2"))):
        cluster.fork()
    net.run(graceful=5000)
else:
    block = os.environ.get("BLOCK") == str(cluster.worker.id)

    def on_connection(sock):
        sock.write(f"{os.getpid()}\n".encode())
        if block:
            time.sleep(30)  # blocks the whole process: its loop stops
        sock.pipe(sock)

    server = net.createServer(on_connection)
    if os.environ.get("MAXCONN"):
        server.maxConnections = int(os.environ["MAXCONN"])

    def on_message(m):
        if m == "close":
            keep = net.setInterval(lambda: None, 1000)  # the worker stays
            server.close(lambda *_: cluster.worker.send("closed"))

    cluster.worker.on("message", on_message)
    server.listen(int(os.environ.get("PORT", "0")), "127.0.0.1")
    net.run()
"""

# The same program for Node's cluster (the comparison runs without BLOCK/MAXCONN).
NODE_PROGRAM = r"""
const cluster = require('cluster'), net = require('net');
const out = (...a) => console.log(JSON.stringify(a));
if (cluster.isPrimary) {
  cluster.on('fork', (w) => out('fork', w.id));
  cluster.on('online', (w) => out('online', w.id));
  cluster.on('listening', (w, a) => out('listening', w.id, a.port, w.process.pid));
  cluster.on('disconnect', (w) => out('disconnect', w.id));
  cluster.on('exit', (w, c, s) => out('exit', w.id, c, s, w.exitedAfterDisconnect));
  process.stdin.on('data', (d) => { if (String(d).includes('stop')) cluster.disconnect(); });
  for (let i = 0; i < Number(process.env.WORKERS || 2); i++) cluster.fork();
} else {
  net.createServer((s) => { s.write(`${process.pid}\n`); s.pipe(s); })
    .listen(0, '127.0.0.1');
}
"""


class Primary:
    """A primary process: its events (parsed JSON lines), commands, signals."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=default_sigint)
        self.events: list[list[Any]] = []
        self._buf = b""

    def command(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def next_event(self, deadline: float) -> list[Any] | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        event = json.loads(line)
        self.events.append(event)
        return event

    def expect(self, *prefix: Any, timeout: float = WAIT_S) -> list[Any]:
        """The next event starting with ``prefix`` (earlier ones are kept in ``events``)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(deadline)
            if event is None:
                self.fail(f"no {prefix} event")
            if event[:len(prefix)] == list(prefix):
                return event

    def fail(self, what: str) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        err = b""
        if self.proc.stderr is not None:
            fd = self.proc.stderr.fileno()
            while select.select([fd], [], [], 1.0)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                err += chunk
        pytest.fail(f"{what}; events {self.events}; stderr: {err[-3000:].decode()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT_S)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def primary(tmp_path: Path) -> Any:
    made: list[Primary] = []
    script = tmp_path / "primary.py"
    script.write_text(PROGRAM, encoding="utf-8")

    def make(workers: int = 2, **env: Any) -> Primary:
        child_env = dict(os.environ, WORKERS=str(workers), NODE_CLUSTER_SCHED_POLICY="rr",
                         **{k: v if isinstance(v, str) else json.dumps(v)
                            for k, v in env.items()})
        p = Primary([sys.executable, "-u", str(script)], child_env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)


def greeting(conn: socket.socket) -> int:
    """The pid the worker that took ``conn`` greets it with (0: closed without one)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            return 0
        data += chunk
    return int(data)


def serve_sequentially(port: int, count: int) -> list[int]:
    """``count`` clients one after another, each echoed once; the pids that served them."""
    pids = []
    for i in range(count):
        with connect(port) as conn:
            pids.append(greeting(conn))
            payload = f"ping {i}".encode()
            conn.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = conn.recv(64)
                assert chunk, "closed before the echo"
                got += chunk
            assert got == payload
    return pids


def listening_pair(p: Primary) -> tuple[int, dict[int, int]]:
    """Wait for both workers' 'listening': the one port, and worker id -> pid."""
    first, second = p.expect("listening"), p.expect("listening")
    assert first[2] == second[2]  # the primary's socket: one port for all
    return first[2], {first[1]: first[3], second[1]: second[3]}


def per_worker(events: list[list[Any]]) -> dict[int, list[str]]:
    order: dict[int, list[str]] = {}
    for event in events:
        if event[0] in ("fork", "online", "listening", "disconnect", "exit"):
            order.setdefault(event[1], []).append(event[0])
    return order


# --- in-process checks -------------------------------------------------------------


@pytest.mark.once
@pytest.mark.parametrize(("value", "policy"), [("rr", 2), ("none", 1), ("", 1), ("bogus", 1)])
def test_policy_read_from_node_env(value: str, policy: int) -> None:
    # Node reads NODE_CLUSTER_SCHED_POLICY ('rr' or 'none') when cluster
    # loads; anything else is the default, which for gnet is SCHED_NONE.
    env = dict(os.environ, NODE_CLUSTER_SCHED_POLICY=value)
    env.pop("GNET_UNIQUE_ID", None)
    done = subprocess.run([sys.executable, "-c",
                           "from gnet import cluster; print(cluster.schedulingPolicy)"],
                          env=env, capture_output=True, text=True, timeout=WAIT_S, check=True)
    assert int(done.stdout) == policy


def test_setup_primary_takes_round_robin() -> None:
    saved = dict(cluster.settings), cluster.schedulingPolicy
    try:
        cluster.setupPrimary({"schedulingPolicy": cluster.SCHED_RR})
        assert cluster.settings["schedulingPolicy"] == cluster.SCHED_RR == 2
        cluster.setupPrimary(schedulingPolicy="rr")
    finally:
        cluster.settings.clear()
        cluster.settings.update(saved[0])
        cluster.schedulingPolicy = saved[1]


# --- real processes ----------------------------------------------------------------

COUNT = 41


@pytest.mark.once
@pytest.mark.timeout(60)
def test_two_workers_take_turns_and_echo(primary: Any) -> None:
    p = primary(2)
    port, pids = listening_pair(p)
    served = serve_sequentially(port, COUNT)
    counts = sorted(served.count(pid) for pid in pids.values())
    assert counts == [COUNT // 2, COUNT // 2 + 1]
    # One after another, they strictly alternate.
    assert all(a != b for a, b in itertools.pairwise(served))
    p.command("stop")
    p.expect("exit")
    p.expect("exit")
    order = per_worker(p.events)
    assert order == {wid: ["fork", "online", "listening", "disconnect", "exit"]
                     for wid in pids}
    assert [e for e in p.events if e[0] == "exit"] == [
        ["exit", wid, 0, None, True] for wid in [e[1] for e in p.events if e[0] == "exit"]]


@pytest.mark.once
@pytest.mark.node
@pytest.mark.timeout(60)
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_node_cluster_gives_the_same_events_and_spread(tmp_path: Path) -> None:
    script = tmp_path / "primary.js"
    script.write_text(NODE_PROGRAM, encoding="utf-8")
    p = Primary(["node", str(script)], dict(os.environ, NODE_CLUSTER_SCHED_POLICY="rr"))
    try:
        port, pids = listening_pair(p)
        served = serve_sequentially(port, COUNT)
        counts = sorted(served.count(pid) for pid in pids.values())
        p.command("stop")
        p.expect("exit")
        p.expect("exit")
    finally:
        p.close()
    # What the gnet test above asserts of gnet, Node does too.
    assert counts == [COUNT // 2, COUNT // 2 + 1]
    assert per_worker(p.events) == {wid: ["fork", "online", "listening", "disconnect", "exit"]
                                    for wid in pids}
    assert all(e[2:] == [0, None, True] for e in p.events if e[0] == "exit")


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_dying_worker_passes_on_what_it_had_not_taken(primary: Any) -> None:
    # Worker 1 blocks in its first connection's listener, so the next
    # connection it is handed waits, untaken, in its channel. SIGKILL it:
    # the primary still holds that connection and worker 2 serves it.
    p = primary(2, BLOCK="1")
    port, pids = listening_pair(p)
    first = connect(port)
    assert greeting(first) == pids[1]  # worker 1 now blocks
    with connect(port) as second:
        assert greeting(second) == pids[2]
    third = connect(port)  # worker 1's turn: handed to it, never taken
    third.settimeout(0.5)
    with pytest.raises(TimeoutError):
        third.recv(64)
    third.settimeout(WAIT_S)
    os.kill(pids[1], signal.SIGKILL)
    assert p.expect("exit", 1) == ["exit", 1, None, "SIGKILL", False]
    with third:
        assert greeting(third) == pids[2]
        third.sendall(b"still here")
        assert third.recv(64) == b"still here"
    first.close()
    assert serve_sequentially(port, 3) == [pids[2]] * 3


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_worker_that_closes_its_server_gets_no_more(primary: Any) -> None:
    p = primary(2)
    port, pids = listening_pair(p)
    p.command('send 1 "close"')
    assert p.expect("message", 1) == ["message", 1, "closed"]
    assert serve_sequentially(port, 6) == [pids[2]] * 6
    assert not any(e[0] == "exit" for e in p.events)  # worker 1 lives on, serving nothing


@pytest.mark.once
@pytest.mark.timeout(60)
def test_max_connections_passes_on_then_drops(primary: Any) -> None:
    # Node 21+: a worker at maxConnections refuses, another takes it; here a
    # connection every worker refuses is closed, as one full server does.
    p = primary(2, MAXCONN="1")
    port, pids = listening_pair(p)
    held = [connect(port), connect(port)]
    holders = [greeting(c) for c in held]
    assert sorted(holders) == sorted(pids.values())
    with connect(port) as third:
        assert greeting(third) == 0  # closed: both workers are full
    held[0].close()
    deadline = time.monotonic() + WAIT_S
    while True:  # its worker sees held[0] close a moment later
        with connect(port) as again:
            pid = greeting(again)
        if pid:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pid == holders[0]
    held[1].close()


@pytest.mark.once
@pytest.mark.timeout(60)
def test_respawn_gets_what_was_queued_while_no_worker_lived(primary: Any) -> None:
    p = primary(1, SETUP={"respawn": True})
    listening = p.expect("listening", 1)
    port, pid = listening[2], listening[3]
    os.kill(pid, signal.SIGKILL)
    conn = connect(port)  # accepted by the primary, queued for the next worker
    p.expect("exit", 1, None, "SIGKILL", False)
    assert p.expect("listening", 2)[2] == port
    with conn:
        new_pid = greeting(conn)
    assert new_pid not in (0, pid)


@pytest.mark.once
@pytest.mark.timeout(60)
def test_sighup_replaces_the_workers_and_fails_nothing(primary: Any) -> None:
    # The rolling restart: each new worker joins the ring before the old one
    # leaves, and the old one's untaken connections go to the others.
    p = primary(2)
    port, old = listening_pair(p)
    served = serve_sequentially(port, 20)
    p.proc.send_signal(signal.SIGHUP)
    exits: list[list[Any]] = []
    deadline = time.monotonic() + WAIT_S
    while len(exits) < 2:  # clients all through the restart
        assert time.monotonic() < deadline, p.events
        served += serve_sequentially(port, 5)
        while (event := p.next_event(time.monotonic() + 0.005)) is not None:
            if event[0] == "exit":
                exits.append(event)
    assert sorted(e[1] for e in exits) == [1, 2]
    assert all(e[2:] == [0, None, True] for e in exits)
    new = {e[3] for e in p.events if e[0] == "listening"} - set(old.values())
    assert len(new) == 2
    served += serve_sequentially(port, 10)
    assert set(served[-10:]) == new
    assert 0 not in served
    assert len(served) > 60  # 20 before, the rest while workers changed, 10 after
