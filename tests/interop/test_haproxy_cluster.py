"""A real HAProxy in front of a gnet cluster: PROXY v2, health checks, a killed worker, a restart.

The cluster is ``cluster_proxy_echo.py`` (two workers sharing the primary's
listening socket, ``proxyProtocol`` on, each connection answered with the
client's address as the server sees it). HAProxy 2.6 (Debian's package;
``.ci/run`` installs it) runs ``configs/haproxy-cluster.cfg.in``, the
configuration docs/deploying.md shows: ``mode tcp``, ``balance leastconn``,
``send-proxy-v2``, ``check check-send-proxy``, health checks every 100 ms
here. HAProxy cannot bind port 0, so its frontend takes a port found free
just before.

What must hold, with the figures printed (run with ``-s``) and recorded:

* 200 clients through HAProxy each read back their own source address and
  port (the PROXY header named them), and the health checks, which come
  all along, never give an 'error' or 'proxyError' in any worker;
* with both workers stopped (SIGSTOP) a burst of clients queues in the
  shared socket (the kernel's accept queue says how many); one worker is
  then killed with SIGKILL while clients keep connecting: the primary
  reports 'exit' with signal SIGKILL, and every queued connection and every
  later one is served by the surviving worker or its replacement:
  failures = 0;
* SIGHUP to the primary replaces both workers while a steady stream of
  short connections runs through HAProxy: failures = 0;
* SIGUSR2 to the primary (a binary upgrade): a new copy of the program
  takes the listening socket over, its workers listen on the same port, the
  old primary retires with status 0, under the same stream: failures = 0.

Each runs with the cluster's default scheduling (``shared``: the workers
accept on the primary's socket) and with round-robin (``rr``: the primary
accepts and hands connections over, keeping each until a worker takes it;
there the burst waits in the primary, not in the kernel's queue).

Without ``haproxy`` the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket as stdsocket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.pool
import gevent.subprocess
import pytest
from deploy_configs import accept_queue, render, tool
from gevent import socket as gsocket
from gevent.event import Event

from helpers import HOST, closed_port, default_sigint, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]

PROGRAM = Path(__file__).resolve().parent / "cluster_proxy_echo.py"
CHECK_INTERVAL = "100ms"
CLIENTS = 200
# Concurrent clients of the 200, and of the steady stream.
CLIENT_POOL = 50
STREAM_LOOPS = 4
BURST = 40
# The longest a client waits for its answer (the burst waits while workers are stopped).
CLIENT_WAIT_S = 10.0
# Bounds of a steady stream: connections and seconds.
STREAM_MAX = 6000
STREAM_MAX_S = 30.0
# The cluster's scheduling policies: the shared socket (the default) and round-robin.
POLICIES = ("shared", "rr")
# Lines a worker prints that are failures.
PROBLEMS = ("error", "proxyError", "socketError")


@pytest.fixture
def figures(record_property: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Figures worth quoting: printed, and recorded as the test's properties."""
    found: dict[str, Any] = {}
    start = time.perf_counter()
    yield found
    found["wall_s"] = round(time.perf_counter() - start, 3)
    print(f"\n{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in found.items()))
    for key, value in found.items():
        record_property(key, value)


@pytest.fixture
def haproxy_bin() -> str:
    return tool("haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy",
                install="apt-get install haproxy")


# --- the cluster -------------------------------------------------------------------


class Cluster:
    """``cluster_proxy_echo.py`` running: its event lines as they come, its stderr."""

    def __init__(self, workers: int, respawn: bool, policy: str) -> None:
        env = dict(os.environ, PORT="0", WORKERS=str(workers), RESPAWN="1" if respawn else "0",
                   SCHEDULING=policy)
        self.proc = gevent.subprocess.Popen(
            [sys.executable, "-u", str(PROGRAM)], env=env,
            stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE,
            preexec_fn=default_sigint)
        self.events: list[list[Any]] = []
        self.stderr = b""
        self._changed = Event()
        self._readers = [gevent.spawn(self._read_events), gevent.spawn(self._read_stderr)]

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))
            self._changed.set()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read(4096), b""):  # type: ignore[union-attr]
            self.stderr += chunk

    def primaries(self) -> list[int]:
        """The pids of the primaries so far: this one, then each that took over (SIGUSR2)."""
        return [e[1] for e in self.events if e[0] == "primary"]

    def alive(self) -> bool:
        """Whether a primary of this cluster runs (after an upgrade, the new one)."""
        return self.proc.poll() is None or any(
            pid_alive(pid) for pid in self.primaries() if pid != self.proc.pid)

    def wait_for(self, what: str, predicate: Callable[[list[list[Any]]], Any],
                 timeout_s: float = 15.0) -> Any:
        """Wait until ``predicate(events)`` is true; returns its value."""
        deadline = time.monotonic() + timeout_s
        while not (found := predicate(self.events)):
            left = deadline - time.monotonic()
            if left <= 0 or not self.alive():
                raise AssertionError(f"no {what}; events {self.events}; "
                                     f"stderr {self.stderr[-2000:].decode(errors='replace')}")
            self._changed.clear()
            self._changed.wait(min(left, 0.1))
        return found

    def listening(self, worker_ids: set[int]) -> dict[int, tuple[int, int]]:
        """Wait for 'listening' from each of ``worker_ids``: {id: (port, pid)}."""
        def seen(events: list[list[Any]]) -> dict[int, tuple[int, int]] | None:
            got = {e[1]: (e[2], e[3]) for e in events if e[0] == "listening"}
            return got if worker_ids <= set(got) else None
        got = self.wait_for(f"'listening' from workers {sorted(worker_ids)}", seen)
        return {wid: got[wid] for wid in worker_ids}

    def exit_of(self, worker_id: int) -> list[Any]:
        return self.wait_for(f"'exit' of worker {worker_id}", lambda events: next(
            (e for e in events if e[0] == "exit" and e[1] == worker_id), None))

    def problems(self) -> list[list[Any]]:
        return [e for e in self.events if e[0] in PROBLEMS]

    def close(self) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL if it lingers; returns the exit status.

        A primary that took over after an upgrade (not this process's child)
        is stopped the same way.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except gevent.subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.primaries():
            if pid != self.proc.pid and pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                if not wait_until(lambda p=pid: not pid_alive(p), 10, fail=False):
                    os.kill(pid, signal.SIGKILL)
        gevent.joinall(self._readers, timeout=5)
        gevent.killall(self._readers)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, left to a parent that is gone, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


# --- HAProxy -----------------------------------------------------------------------


class HAProxy:
    """HAProxy running ``configs/haproxy-cluster.cfg.in`` in front of ``server_port``."""

    def __init__(self, binary: str, server_port: int) -> None:
        self.directory = tempfile.mkdtemp(prefix="gnet-haproxy-", dir="/tmp")
        self.stats_path = os.path.join(self.directory, "admin.sock")
        self.port = closed_port()
        while self.port == server_port:
            self.port = closed_port()
        config = os.path.join(self.directory, "haproxy.cfg")
        with open(config, "w", encoding="utf-8") as f:
            f.write(render("haproxy-cluster.cfg.in", {
                "STATS_SOCKET": self.stats_path, "LISTEN": f"{HOST}:{self.port}",
                "SERVER": f"{HOST}:{server_port}", "CHECK_INTERVAL": CHECK_INTERVAL}))
        check = gevent.subprocess.run([binary, "-c", "-q", "-f", config],
                                      capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr.decode(errors="replace")
        self.proc = gevent.subprocess.Popen([binary, "-db", "-f", config],
                                            stdout=gevent.subprocess.DEVNULL,
                                            stderr=gevent.subprocess.DEVNULL)

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's ``show stat`` CSV as {proxy/server: row}."""
        with gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) as admin:
            admin.settimeout(5)
            admin.connect(self.stats_path)
            admin.sendall(b"show stat\n")
            out = b""
            while chunk := admin.recv(65536):
                out += chunk
        lines = out.decode().splitlines()
        columns = lines[0].lstrip("# ").split(",")
        rows = {}
        for line in lines[1:]:
            if line:
                row = dict(zip(columns, line.split(","), strict=False))
                rows[f"{row['pxname']}/{row['svname']}"] = row
        return rows

    def server(self) -> dict[str, str]:
        return self.stats()["gnet/gnet1"]

    def wait_up(self) -> None:
        def up() -> bool:
            try:
                row = self.server()
            except OSError:
                return False
            return row.get("status") == "UP" and row.get("check_status") == "L4OK"
        wait_until(lambda: self.proc.poll() is None and up(), 10,
                   "HAProxy's backend UP by its health checks")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except gevent.subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def stack(haproxy_bin: str) -> Iterator[Callable[..., tuple[Cluster, HAProxy, dict[int, Any]]]]:
    """Start a cluster, then HAProxy in front of it; both stopped at teardown.

    Teardown also checks that no worker printed an 'error' or 'proxyError',
    the health checks included, and that the cluster stopped gracefully.
    """
    made: list[tuple[Cluster, HAProxy | None]] = []

    def start(workers: int = 2, respawn: bool = True,
              policy: str = "shared") -> tuple[Cluster, HAProxy, dict[int, Any]]:
        cluster = Cluster(workers, respawn, policy)
        made.append((cluster, None))
        ready = cluster.listening(set(range(1, workers + 1)))
        ports = {port for port, _pid in ready.values()}
        assert len(ports) == 1, f"the workers listen on different ports: {ready}"
        proxy = HAProxy(haproxy_bin, ports.pop())
        made[-1] = (cluster, proxy)
        proxy.wait_up()
        return cluster, proxy, ready

    yield start
    for cluster, proxy in made:
        if proxy is not None:
            proxy.close()
        status = cluster.close()
        assert cluster.problems() == [], f"worker errors: {cluster.problems()}"
        assert b"Traceback" not in cluster.stderr, cluster.stderr.decode(errors="replace")
        assert status == 0, f"the cluster's graceful stop gave status {status}"


# --- clients -----------------------------------------------------------------------


def ask(port: int) -> int:
    """Connect through HAProxy; check the server saw this very client; returns the worker pid."""
    with gsocket.create_connection((HOST, port), timeout=CLIENT_WAIT_S) as client:
        local = client.getsockname()[:2]
        data = b""
        while chunk := client.recv(256):
            data += chunk
    fields = data.decode().split()
    assert len(fields) == 4, f"answer {data!r}"
    address, remote_port, family, pid = fields
    assert (address, int(remote_port), family) == (local[0], local[1], "IPv4"), \
        f"client {local} was seen as {fields[:3]}"
    return int(pid)


class Stream:
    """A steady, bounded stream of short connections: ``STREAM_LOOPS`` clients one after another."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ok = 0
        self.pids: Counter[int] = Counter()
        self.failures: list[str] = []
        self.in_flight = 0
        self._open = Event()
        self._open.set()
        self._stop = False
        self._deadline = time.monotonic() + STREAM_MAX_S
        self._loops = [gevent.spawn(self._loop) for _ in range(STREAM_LOOPS)]

    def _loop(self) -> None:
        while (not self._stop and self.ok + len(self.failures) < STREAM_MAX
               and time.monotonic() < self._deadline):
            self._open.wait()
            if self._stop:
                break
            self.in_flight += 1
            try:
                self.pids[ask(self.port)] += 1
                self.ok += 1
            except (OSError, AssertionError, ValueError) as exc:
                self.failures.append(repr(exc))
            finally:
                self.in_flight -= 1
            gevent.sleep(0.002)

    def pause(self) -> None:
        """Start no new connection, and wait until every one begun has its answer."""
        self._open.clear()
        wait_until(lambda: self.in_flight == 0, CLIENT_WAIT_S, "the stream's clients to finish")

    def resume(self) -> None:
        self._open.set()

    def finish(self) -> None:
        self._stop = True
        self._open.set()
        gevent.joinall(self._loops, timeout=CLIENT_WAIT_S + 5)
        assert all(loop.dead for loop in self._loops), "the stream did not stop"

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)


# --- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_200_clients_through_haproxy_each_see_their_own_address(
        stack: Any, figures: dict[str, Any], policy: str) -> None:
    cluster, proxy, ready = stack(2, policy=policy)
    pool = gevent.pool.Pool(CLIENT_POOL)
    jobs = [pool.spawn(ask, proxy.port) for _ in range(CLIENTS)]
    gevent.joinall(jobs, timeout=40)
    failures = [repr(job.exception) for job in jobs if not job.successful()]
    pids = Counter(job.value for job in jobs if job.successful())
    # Let health checks run a while longer (every 100 ms), then look at them.
    gevent.sleep(0.5)
    row = proxy.server()
    figures.update(connections=CLIENTS, failures=len(failures),
                   per_worker=sorted(pids.values()), checks_failed=row["chkfail"],
                   check_status=row["check_status"])
    assert failures == []
    assert set(pids) <= {pid for _port, pid in ready.values()}
    assert row["status"] == "UP" and row["chkfail"] == "0"
    assert int(row["stot"]) == CLIENTS  # HAProxy relayed each client once, no retry
    assert cluster.problems() == []


@pytest.mark.parametrize("policy", POLICIES)
def test_a_worker_killed_with_connections_queued_loses_none(
        stack: Any, figures: dict[str, Any], policy: str) -> None:
    cluster, proxy, ready = stack(2, respawn=True, policy=policy)
    port, victim = ready[1]
    survivor = ready[2][1]
    stream = Stream(proxy.port)
    burst: list[gevent.Greenlet] = []
    try:
        wait_until(lambda: stream.ok >= 50, 10, "the stream to run")
        # No connection in a worker's hands (a SIGKILL would lose those: they
        # are not queued), then neither worker accepts: what comes queues.
        stream.pause()
        os.kill(victim, signal.SIGSTOP)
        os.kill(survivor, signal.SIGSTOP)
        try:
            burst = [gevent.spawn(ask, proxy.port) for _ in range(BURST)]
            # HAProxy has connected every one of them to the cluster...
            wait_until(lambda: int(proxy.server()["scur"]) >= BURST, 10,
                       f"HAProxy to relay the {BURST} connections")
            if policy == "shared":
                # ... where they wait in the shared socket's accept queue,
                wait_until(lambda: (accept_queue(port) or 0) >= BURST, 10,
                           f"{BURST} connections in the shared socket's accept queue")
            else:
                # ... or in the primary, which accepts them all (each stopped
                # worker holds at most one it has not acknowledged).
                wait_until(lambda: accept_queue(port) == 0, 10,
                           "the primary to accept the burst")
            queued = accept_queue(port)
            os.kill(victim, signal.SIGKILL)
            stream.resume()  # clients keep connecting while the worker dies
            exited = cluster.exit_of(1)
        finally:
            os.kill(survivor, signal.SIGCONT)
        gevent.joinall(burst, timeout=CLIENT_WAIT_S + 5)
        unanswered = sum(1 for g in burst if not g.dead)
        respawned = cluster.listening({3})
        wait_until(lambda: respawned[3][1] in stream.pids, 10,
                   "the replacement worker to serve the stream")
    finally:
        stream.finish()
        gevent.killall([g for g in burst if not g.dead])
    burst_failures = [repr(g.exception) for g in burst if not g.successful()]
    assert unanswered == 0, f"{unanswered} of the burst got no answer"
    figures.update(in_accept_queue_at_kill=queued, burst=BURST, burst_failures=len(burst_failures),
                   stream_connections=stream.total, stream_failures=len(stream.failures),
                   exit=exited[1:])
    assert exited == ["exit", 1, None, "SIGKILL", False]
    assert burst_failures == []
    assert stream.failures == []
    assert {g.value for g in burst} <= {survivor, respawned[3][1]}
    assert victim not in {g.value for g in burst}
    assert proxy.server()["status"] == "UP"


@pytest.mark.parametrize("policy", POLICIES)
def test_a_rolling_restart_under_a_steady_stream_fails_no_connection(
        stack: Any, figures: dict[str, Any], policy: str) -> None:
    cluster, proxy, ready = stack(2, respawn=False, policy=policy)
    old = {pid for _port, pid in ready.values()}
    stream = Stream(proxy.port)
    try:
        wait_until(lambda: stream.ok >= 50, 10, "the stream to run")
        before = stream.total
        started = time.monotonic()
        cluster.proc.send_signal(signal.SIGHUP)
        exits = [cluster.exit_of(1), cluster.exit_of(2)]
        restart_s = time.monotonic() - started
        new = cluster.listening({3, 4})
        new_pids = {pid for _port, pid in new.values()}
        during = stream.total - before
        wait_until(lambda: any(stream.pids[pid] for pid in new_pids), 10,
                   "a new worker to serve the stream")
        gevent.sleep(0.3)
    finally:
        stream.finish()
    figures.update(connections=stream.total, during_restart=during, failures=len(stream.failures),
                   restart_s=round(restart_s, 3), old_workers_served=sum(
                       n for pid, n in stream.pids.items() if pid in old),
                   new_workers_served=sum(n for pid, n in stream.pids.items() if pid in new_pids))
    assert stream.failures == []
    assert all(e[2:] == [0, None, True] for e in exits), exits
    assert not new_pids & old
    assert during > 0
    assert set(stream.pids) <= old | new_pids
    assert proxy.server()["status"] == "UP" and proxy.server()["chkfail"] == "0"


def test_accept_queue_reads_the_listener() -> None:
    # The figure the kill test rests on: a listener's queue as /proc/net/tcp counts it.
    with stdsocket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        assert accept_queue(port) == 0
        clients = [stdsocket.create_connection((HOST, port)) for _ in range(3)]
        try:
            wait_until(lambda: accept_queue(port) == 3, 5, "three queued connections")
        finally:
            for c in clients:
                c.close()


@pytest.mark.parametrize("policy", POLICIES)
def test_a_binary_upgrade_under_a_steady_stream_fails_no_connection(
        stack: Any, figures: dict[str, Any], policy: str) -> None:
    # SIGUSR2: a new copy of the program takes the listening socket over
    # (systemd style), its workers listen, then the old primary retires.
    cluster, proxy, ready = stack(2, respawn=False, policy=policy)
    old_primary = cluster.proc.pid
    old_workers = {pid for _port, pid in ready.values()}
    port = next(iter(ready.values()))[0]
    stream = Stream(proxy.port)
    try:
        wait_until(lambda: stream.ok >= 50, 10, "the stream to run")
        before = stream.total
        started = time.monotonic()
        cluster.proc.send_signal(signal.SIGUSR2)
        new_primary = cluster.wait_for("a new primary", lambda events: next(
            (e[1] for e in events if e[0] == "primary" and e[1] != old_primary), None))

        def new_listening(events: list[list[Any]]) -> dict[int, int] | None:
            got = {e[3]: e[2] for e in events
                   if e[0] == "listening" and e[3] not in old_workers}
            return got if len(got) == 2 else None

        new_workers = cluster.wait_for("the new primary's two workers listening", new_listening)
        status = cluster.proc.wait(timeout=20)
        upgrade_s = time.monotonic() - started
        during = stream.total - before
        wait_until(lambda: not any(pid_alive(pid) for pid in old_workers), 10,
                   "the old workers to exit")
        wait_until(lambda: any(stream.pids[pid] for pid in new_workers), 10,
                   "a new worker to serve the stream")
        gevent.sleep(0.3)
    finally:
        stream.finish()
    figures.update(connections=stream.total, during_upgrade=during, failures=len(stream.failures),
                   upgrade_s=round(upgrade_s, 3), old_primary_status=status,
                   old_workers_served=sum(n for pid, n in stream.pids.items()
                                          if pid in old_workers),
                   new_workers_served=sum(n for pid, n in stream.pids.items()
                                          if pid in new_workers))
    assert stream.failures == []
    assert status == 0  # the old primary retired gracefully
    assert pid_alive(new_primary)
    assert set(new_workers.values()) == {port}  # the same socket, handed over
    assert during > 0
    assert set(stream.pids) <= old_workers | set(new_workers)
    assert proxy.server()["status"] == "UP" and proxy.server()["chkfail"] == "0"
