"""gnet.cluster: a real primary with real worker processes, driven from outside.

The primary script (``PROGRAM``) forks workers, prints every cluster event
as one JSON line, and takes commands on stdin (send, disconnect, kill,
fork). Workers serve TCP on loopback: each connection gets the worker's pid
and is then echoed. The tests read the events, connect as clients and send
real signals. Node's cluster is the reference for the event order
(test-cluster-worker-events.js, test-cluster-disconnect.js,
test-cluster-worker-kill.js, test-cluster-message.js,
test-cluster-worker-exit.js, test-cluster-eaddrinuse.js ideas).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gnet import cluster
from gnet.errors import InvalidArgValueError
from helpers import default_sigint

WAIT_S = 15.0

PROGRAM = r"""
import json, os, sys
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
            if word == "fork":
                cluster.fork()
            elif word == "send":
                wid, _, msg = rest.partition(" ")
                cluster.workers[int(wid)].send(json.loads(msg))
            elif word == "disconnect":
                cluster.workers[int(rest)].disconnect()
            elif word == "kill":
                wid, _, sig = rest.partition(" ")
                cluster.workers[int(wid)].kill(sig or "SIGTERM")
            elif word == "workers":
                out("workers", sorted(cluster.workers))

    net.process.stdin.on("data", command)
    for _ in range(int(os.environ.get("WORKERS", "1"))):
        cluster.fork()
    net.run(graceful=float(os.environ.get("GRACE", "5000")))
else:
    def on_connection(sock):
        sock.write(f"{os.getpid()}\n".encode())
        if os.environ.get("BLOCK"):
            import time
            time.sleep(30)  # blocks the whole process: its loop stops
        sock.pipe(sock)

    def on_message(m):
        if m == "disconnect yourself":
            cluster.worker.disconnect()
        else:
            cluster.worker.send({"echo": m})

    cluster.worker.on("message", on_message)
    net.createServer(on_connection).listen(int(os.environ.get("PORT", "0")), "127.0.0.1")
    net.run()
"""


class Primary:
    """The primary process: its events (parsed JSON lines), commands, signals."""

    def __init__(self, tmp_path: Path, workers: int = 1, **env: Any) -> None:
        script = tmp_path / "primary.py"
        script.write_text(PROGRAM, encoding="utf-8")
        child_env = dict(os.environ, WORKERS=str(workers),
                         **{k: v if isinstance(v, str) else json.dumps(v)
                            for k, v in env.items()})
        self.proc = subprocess.Popen([sys.executable, "-u", str(script)], env=child_env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=default_sigint)
        self.events: list[list[Any]] = []
        self._buf = b""

    def command(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def _next_line(self, deadline: float) -> list[Any] | None:
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
            event = self._next_line(deadline)
            if event is None:
                self.fail(f"no {prefix} event")
            if event[:len(prefix)] == list(prefix):
                return event

    def fail(self, what: str) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        # Workers may still hold stderr open: read what is there, no more.
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

    def make(workers: int = 1, **env: Any) -> Primary:
        p = Primary(tmp_path, workers, **env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def greet(port: int) -> tuple[socket.socket, int]:
    """Connect; returns the socket and the pid of the worker that accepted it."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        assert chunk, "closed before the greeting"
        data += chunk
    return conn, int(data)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while pid_alive(pid):
        # A zombie (its parent gone) is reaped by init; /proc says so.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return
        except (OSError, IndexError):
            return
        assert time.monotonic() < deadline, f"process {pid} still alive"
        time.sleep(0.02)


# --- in-process checks -------------------------------------------------------------


def test_this_process_is_the_primary() -> None:
    assert cluster.isPrimary is True and cluster.isWorker is False
    assert cluster.is_primary is True and cluster.isMaster is True
    assert cluster.worker is None
    assert cluster.SCHED_NONE == 1 and cluster.SCHED_RR == 2


def test_worker_implements_iworker() -> None:
    from zope.interface.verify import verifyClass

    from gnet.interfaces import IWorker

    assert verifyClass(IWorker, cluster.Worker)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidArgValueError, match="schedulingPolicy"):
        cluster.setupPrimary({"schedulingPolicy": "fast"})
    with pytest.raises(InvalidArgValueError, match=r"options\.bogus"):
        cluster.setupPrimary({"bogus": 1})


# --- real processes ----------------------------------------------------------------

# The event order Node 20's cluster gives for: fork one worker, it listens,
# the primary disconnects it (recorded with NODE_PROGRAM below).
DISCONNECT_ORDER = [["fork", 1], ["online", 1], ["listening", 1], ["disconnect", 1],
                    ["exit", 1, 0, None, True]]

NODE_PROGRAM = r"""
const cluster = require('cluster'), net = require('net');
const out = (...a) => console.log(JSON.stringify(a));
if (cluster.isPrimary) {
  cluster.on('fork', (w) => out('fork', w.id));
  cluster.on('online', (w) => out('online', w.id));
  cluster.on('listening', (w) => { out('listening', w.id); w.disconnect(); });
  cluster.on('disconnect', (w) => out('disconnect', w.id));
  cluster.on('exit', (w, c, s) => out('exit', w.id, c, s, w.exitedAfterDisconnect));
  cluster.fork();
} else {
  net.createServer((s) => s.end()).listen(0, '127.0.0.1');
}
"""


@pytest.mark.once
@pytest.mark.timeout(60)
def test_events_in_node_order_through_disconnect(primary: Any) -> None:
    p = primary(1)
    p.expect("listening", 1)
    p.command("disconnect 1")
    p.expect("exit", 1)
    got = [e[:2] if e[0] != "exit" else e for e in p.events]
    assert got == DISCONNECT_ORDER
    # Nothing left to run (its stdin ended too): the primary's run() returns.
    assert p.proc.stdin is not None
    p.proc.stdin.close()
    assert p.proc.wait(WAIT_S) == 0


@pytest.mark.once
@pytest.mark.node
@pytest.mark.timeout(60)
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_node_gives_the_same_order(tmp_path: Path) -> None:
    script = tmp_path / "primary.js"
    script.write_text(NODE_PROGRAM, encoding="utf-8")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True,
                          timeout=WAIT_S, check=True)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events == DISCONNECT_ORDER


@pytest.mark.once
@pytest.mark.timeout(60)
def test_messages_both_ways(primary: Any) -> None:
    p = primary(1)
    p.expect("online", 1)
    p.command('send 1 {"hello": [1, "two", null]}')
    assert p.expect("message", 1) == ["message", 1, {"echo": {"hello": [1, "two", None]}}]


@pytest.mark.once
@pytest.mark.timeout(60)
def test_workers_share_one_port_and_a_killed_worker_is_reported(primary: Any) -> None:
    p = primary(2)
    first = p.expect("listening")
    second = p.expect("listening")
    port = first[2]
    assert second[2] == port  # listen(0): the same port in every worker, as in Node
    pids = {first[3], second[3]}
    seen: set[int] = set()
    for _ in range(200):
        conn, pid = greet(port)
        conn.close()
        seen.add(pid)
        if seen == pids:
            break
    assert seen == pids
    # SIGKILL one: 'exit' with no code and the signal, not planned.
    os.kill(first[3], signal.SIGKILL)
    assert p.expect("exit", first[1]) == ["exit", first[1], None, "SIGKILL", False]
    # The other one still serves the port.
    for _ in range(5):
        conn, pid = greet(port)
        conn.close()
        assert pid == second[3]


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_worker_that_disconnects_itself_finishes_its_connections(primary: Any) -> None:
    p = primary(1)
    port = p.expect("listening", 1)[2]
    conn, _pid = greet(port)
    with conn:
        p.command('send 1 "disconnect yourself"')
        # Its server closes; the open connection is still served, and the
        # channel stays until it ends (Node: the servers' 'close' first).
        assert p._next_line(time.monotonic() + 0.3) is None  # no 'disconnect' yet
        conn.sendall(b"last words")
        assert conn.recv(64) == b"last words"
    p.expect("disconnect", 1)
    assert p.expect("exit", 1) == ["exit", 1, 0, None, True]


@pytest.mark.once
@pytest.mark.timeout(60)
def test_kill_is_a_planned_exit_by_signal(primary: Any) -> None:
    p = primary(1)
    p.expect("listening", 1)
    p.command("kill 1")
    assert p.expect("exit", 1) == ["exit", 1, None, "SIGTERM", True]
    assert ["disconnect", 1] in p.events


@pytest.mark.once
@pytest.mark.timeout(60)
def test_respawn_keeps_the_port_served_and_loses_nothing_queued(primary: Any) -> None:
    p = primary(1, SETUP={"respawn": True})
    listening = p.expect("listening", 1)
    port, pid = listening[2], listening[3]
    os.kill(pid, signal.SIGKILL)
    # Connect at once, before any replacement runs: the connection waits in
    # the primary's socket, and the next worker accepts it.
    conn = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    p.expect("exit", 1, None, "SIGKILL", False)
    p.expect("fork", 2)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        assert chunk, "the queued connection was lost"
        data += chunk
    conn.close()
    assert int(data) != pid
    assert p.expect("listening", 2)[2] == port


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_blocked_worker_misses_its_heartbeat_and_is_replaced(primary: Any) -> None:
    p = primary(1, BLOCK="1", SETUP={"heartbeatTimeout": 600, "respawn": True})
    port = p.expect("listening", 1)[2]
    # Idle but healthy: it beats, nothing happens for well over the timeout.
    assert p._next_line(time.monotonic() + 1.5) is None
    conn, pid = greet(port)
    started = time.monotonic()
    assert p.expect("exit", 1) == ["exit", 1, None, "SIGKILL", False]
    assert time.monotonic() - started < 5
    conn.close()
    wait_gone(pid)
    p.expect("listening", 2)


@pytest.mark.once
@pytest.mark.timeout(60)
def test_sighup_replaces_every_worker_and_refuses_nothing(primary: Any) -> None:
    p = primary(2)
    first = p.expect("listening")
    second = p.expect("listening")
    port, old_pids = first[2], {first[3], second[3]}
    served: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def clients() -> None:
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, pid = greet(port)
                conn.close()
                served.append(pid)
            except (OSError, AssertionError, ValueError) as exc:
                failures.append(exc)

    thread = threading.Thread(target=clients)
    thread.start()
    try:
        time.sleep(0.2)
        p.proc.send_signal(signal.SIGHUP)
        exits = [p.expect("exit"), p.expect("exit")]
        news = [e for e in p.events if e[0] == "listening"][2:]
        assert len(news) == 2
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert failures == []
    assert sorted(e[1] for e in exits) == [1, 2]
    assert all(e[2:] == [0, None, True] for e in exits)
    new_pids = {e[3] for e in news}
    assert len(new_pids) == 2 and not new_pids & old_pids
    assert served[-1] in new_pids
    assert len(served) > 10
    assert p.proc.poll() is None


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_worker_exits_when_its_primary_dies(primary: Any) -> None:
    p = primary(1)
    pid = p.expect("listening", 1)[3]
    p.proc.kill()
    p.proc.wait(WAIT_S)
    wait_gone(pid)


@pytest.mark.once
@pytest.mark.timeout(60)
def test_sigterm_stops_the_cluster_gracefully(primary: Any) -> None:
    p = primary(2)
    port = p.expect("listening")[2]
    p.expect("listening")
    conn, _pid = greet(port)
    p.proc.send_signal(signal.SIGTERM)
    # The open connection is still served while the workers drain.
    time.sleep(0.3)
    conn.sendall(b"still here")
    assert conn.recv(64) == b"still here"
    assert p.proc.poll() is None
    conn.close()
    assert p.proc.wait(WAIT_S) == 0
    exits = [e for e in p.events if e[0] == "exit"]
    assert exits == [] or all(e[2] == 0 and e[4] is True for e in exits)


@pytest.mark.once
@pytest.mark.timeout(60)
def test_sigterm_grace_over_kills_workers_and_status_3(primary: Any) -> None:
    p = primary(1, GRACE="300")
    port = p.expect("listening", 1)[2]
    conn, pid = greet(port)
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(WAIT_S) == 3
    wait_gone(pid)
    conn.close()


@pytest.mark.once
@pytest.mark.timeout(60)
def test_reuse_port_policy_each_worker_binds(primary: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    p = primary(2, PORT=str(free), SETUP={"schedulingPolicy": "reusePort"})
    first = p.expect("listening")
    second = p.expect("listening")
    assert first[2] == second[2] == free
    seen: set[int] = set()
    for _ in range(300):
        conn, pid = greet(free)
        conn.close()
        seen.add(pid)
        if len(seen) == 2:
            break
    assert seen == {first[3], second[3]}


@pytest.mark.once
@pytest.mark.timeout(60)
def test_listen_error_reaches_the_worker(primary: Any) -> None:
    # The port is taken by someone else: the worker's server gets EADDRINUSE
    # ('error' with no listener ends the worker's run() with status 1).
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        p = primary(1, PORT=str(taken.getsockname()[1]))
        assert p.expect("exit", 1)[2] == 1
    assert not any(e[0] == "listening" for e in p.events)


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cluster_echo.py"


@pytest.mark.once
@pytest.mark.timeout(60)
@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/ is not here")
def test_the_example_serves_and_stops_on_sigterm() -> None:
    with subprocess.Popen([sys.executable, "-X", "dev", "-u", str(EXAMPLE), "0", "2"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=default_sigint) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("primary ")
            ports = {int(proc.stdout.readline().split()[-1]) for _ in range(2)}
            assert len(ports) == 1
            port = ports.pop()
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
                assert conn.makefile("rb").readline().endswith(b" echoes\n")
                conn.sendall(b"ping")
                assert conn.recv(16) == b"ping"
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert out.count("exited (code 0, signal None)") == 2, out
        assert "Warning" not in err and "Traceback" not in err, err


# Node's test-cluster-worker-exit.js: a worker that exits with a code by
# itself; the primary gets each event once, the right code and no signal,
# the state 'disconnected' at 'disconnect', exitedAfterDisconnect false, and
# the process is really gone.
WORKER_EXIT = r"""
import json, os, sys
import gnet as net
from gnet import cluster

if cluster.isWorker:
    server = net.createServer()
    server.once("listening", lambda: os._exit(42))
    server.listen(0, "127.0.0.1")
    net.run()
else:
    results = {"cluster_disconnect": 0, "cluster_exit": 0, "worker_disconnect": 0,
               "worker_exit": 0}
    worker = cluster.fork()

    def cluster_disconnect(w):
        results["cluster_disconnect"] += 1

    def cluster_exit(w, code, signal):
        results["cluster_exit"] += 1
        results["cluster_code"] = code
        results["cluster_signal"] = signal

    def worker_disconnect():
        results["worker_disconnect"] += 1
        results["state"] = worker.state
        results["exitedAfterDisconnect"] = worker.exitedAfterDisconnect

    def worker_exit(code, signal):
        results["worker_exit"] += 1
        results["worker_code"] = code
        results["worker_signal"] = signal
        try:
            os.kill(worker.process.pid, 0)
            results["died"] = False
        except ProcessLookupError:
            results["died"] = True

    cluster.on("disconnect", cluster_disconnect)
    cluster.on("exit", cluster_exit)
    worker.on("disconnect", worker_disconnect)
    worker.once("exit", worker_exit)
    net.run()
    print(json.dumps(results), flush=True)
"""


@pytest.mark.once
@pytest.mark.timeout(60)
def test_node_worker_exit(tmp_path: Path) -> None:
    script = tmp_path / "worker_exit.py"
    script.write_text(WORKER_EXIT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "cluster_disconnect": 1, "cluster_exit": 1, "worker_disconnect": 1, "worker_exit": 1,
        "cluster_code": 42, "cluster_signal": None, "worker_code": 42, "worker_signal": None,
        "state": "disconnected", "exitedAfterDisconnect": False, "died": True,
    }


# setupPrimary's exec/args/silent and the 'setup' event, fork(env), worker
# output read from worker.process.stdout, cluster.disconnect(callback).
SETUP_PRIMARY = r"""
import json, sys
import gnet as net
from gnet import cluster

results = {}
cluster.on("setup", lambda settings: results.update(setup=sorted(settings)))
cluster.setupPrimary({"exec": sys.argv[1], "args": ["one", "two"], "silent": True})
worker = cluster.fork({"COLOUR": "blue"})

def read_output():
    results["output"] = json.loads(worker.process.stdout.readline())
    cluster.disconnect(lambda: results.update(disconnected=sorted(cluster.workers)))

worker.on("listening", lambda address: net.setImmediate(read_output))
worker.on("exit", lambda code, signal: results.update(exit=[code, signal]))
net.run()
print(json.dumps(results), flush=True)
"""

SETUP_WORKER = r"""
import json, os, sys
import gnet as net
from gnet import cluster

print(json.dumps([sys.argv[1:], os.environ.get("COLOUR"), cluster.isWorker,
                  cluster.worker.id, "GNET_UNIQUE_ID" in os.environ]), flush=True)
net.createServer().listen(0, "127.0.0.1")
net.run()
"""


@pytest.mark.once
@pytest.mark.timeout(60)
def test_setup_primary_exec_args_silent_and_fork_env(tmp_path: Path) -> None:
    primary_script = tmp_path / "primary.py"
    primary_script.write_text(SETUP_PRIMARY, encoding="utf-8")
    worker_script = tmp_path / "worker.py"
    worker_script.write_text(SETUP_WORKER, encoding="utf-8")
    done = subprocess.run([sys.executable, str(primary_script), str(worker_script)],
                          capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "setup": ["args", "exec", "schedulingPolicy", "silent"],
        "output": [["one", "two"], "blue", True, 1, False],
        "disconnected": [1],
        "exit": [0, None],
    }
