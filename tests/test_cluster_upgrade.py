"""Zero-downtime upgrade of a gnet.cluster primary (SIGUSR2, gnet.cluster.handover).

A real primary with two workers serves a steady, bounded stream of short
connections (``CLIENTS`` over about 3 s, each greeted with the worker's
pid and echoed once) while it gets SIGUSR2: a new copy of the program
takes the listening socket over and the old one retires. No connection
may fail, the new primary has another pid, the old one exits 0 and
systemd hears the new main pid. A new primary that cannot start is
stopped and the old one serves on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gnet.cluster.handover import fd_name, parse_fd_name
from helpers import default_sigint

WAIT_S = 15.0
CLIENTS = 300

PROGRAM = r"""
import json, os, sys
import gnet as net
from gnet import cluster

def out(*args):
    # One write(2) of a line under PIPE_BUF: the primary and the workers
    # share this pipe, and a print() may split its line.
    os.write(1, (json.dumps(args) + "\n").encode())

if cluster.isPrimary:
    if os.environ.get("FAIL_UPGRADE") and os.environ.get("LISTEN_FDS"):
        sys.exit(7)  # the "new code" is broken
    out("primary", os.getpid(), os.environ.get("LISTEN_FDNAMES"))
    cluster.on("listening",
               lambda w, a: out("listening", os.getpid(), w.id, a["port"], w.process.pid))
    cluster.on("exit", lambda w, c, s: out("exit", os.getpid(), w.id, c, s))
    for _ in range(2):
        cluster.fork()
    net.run(graceful=5000)
else:
    def on_connection(sock):
        sock.write(f"{os.getpid()}\n".encode())
        sock.pipe(sock)

    net.createServer(on_connection).listen(0, "127.0.0.1")
    net.run()
"""


class Cluster:
    """The primary (and, after an upgrade, its successor): events read in a thread."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        script = tmp_path / "primary.py"
        script.write_text(PROGRAM, encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-u", str(script)],
                                     env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=default_sigint)
        self.events: list[list[Any]] = []
        self.stderr = b""
        self._lock = threading.Condition()
        self._threads = [threading.Thread(target=self._read_events, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.events.append(json.loads(line))
                self._lock.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
            with self._lock:
                self.stderr += chunk
                self._lock.notify_all()

    def wait_for(self, what: str, test: Any) -> Any:
        deadline = time.monotonic() + WAIT_S
        with self._lock:
            while True:
                found = test()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {what}; events {self.events}; "
                                f"stderr {self.stderr[-3000:].decode()}")
                self._lock.wait(left)

    def of(self, kind: str) -> list[list[Any]]:
        return [e for e in self.events if e[0] == kind]

    def primaries(self) -> list[int]:
        return [e[1] for e in self.of("primary")]

    def close(self) -> None:
        # The successor is no child of ours: stop it by its pid.
        for pid in self.primaries()[1:]:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT_S)
        for pid in self.primaries()[1:]:
            wait_gone(pid)
        for thread in self._threads:
            thread.join(WAIT_S)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1]
        except (OSError, IndexError):
            return
        if state.startswith("Z"):
            return
        assert time.monotonic() < deadline, f"process {pid} still alive"
        time.sleep(0.02)


@pytest.fixture
def start(tmp_path: Path) -> Any:
    made: list[Cluster] = []

    def make(**env: str) -> Cluster:
        c = Cluster(tmp_path, **env)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def client(port: int) -> int:
    """One short connection: the greeting pid, one echo, close."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(64)
            if not chunk:
                raise ConnectionError("closed before the greeting")
            data += chunk
        conn.sendall(b"ping")
        if conn.recv(64) != b"ping":
            raise ConnectionError("no echo")
        return int(data)


def steady_stream(port: int, count: int, seconds: float, at: int, action: Any) -> tuple[
        list[int], list[BaseException]]:
    """``count`` connections one by one over ``seconds``; ``action()`` before number ``at``."""
    served: list[int] = []
    failures: list[BaseException] = []
    started = time.monotonic()
    for i in range(count):
        if i == at:
            action()
        try:
            served.append(client(port))
        except (OSError, ValueError) as exc:
            failures.append(exc)
        pause = started + seconds * (i + 1) / count - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return served, failures


# --- in-process checks -------------------------------------------------------------


@pytest.mark.parametrize("key", [("127.0.0.1", 8000, False, 0), (None, 0, False, 1),
                                 ("::1", 443, True, 0), ("fe80::1%eth0", 0, False, 2)])
def test_fd_names_carry_the_address(key: tuple[Any, ...]) -> None:
    name = fd_name(key)
    assert ":" not in name  # LISTEN_FDNAMES separates names with ':'
    assert parse_fd_name(name) == key


def test_other_names_are_not_the_clusters() -> None:
    for name in ("http", "gnet-cluster", "gnet-cluster/x/y/0/0", "other/1/2/0/0", "unknown"):
        assert parse_fd_name(name) is None


# --- real processes ----------------------------------------------------------------


@pytest.mark.once
@pytest.mark.timeout(90)
@pytest.mark.parametrize("policy", ["none", "rr"])
def test_sigusr2_upgrade_under_load_fails_no_connection(start: Any, tmp_path: Path,
                                                        policy: str) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = str(tmp_path / "notify")
    notify.bind(notify_path)
    with notify:
        c = start(NODE_CLUSTER_SCHED_POLICY=policy, NOTIFY_SOCKET=notify_path)
        c.wait_for("two workers listening", lambda: len(c.of("listening")) >= 2)
        old_pid = c.proc.pid
        port = c.of("listening")[0][3]

        served, failures = steady_stream(port, CLIENTS, 3.0, CLIENTS // 5,
                                         lambda: c.proc.send_signal(signal.SIGUSR2))
        assert c.proc.wait(WAIT_S) == 0  # the old primary retired gracefully
        primaries = c.primaries()
        assert len(primaries) == 2
        new_pid = primaries[1]
        assert new_pid != old_pid
        # systemd (NotifyAccess=all) is told the new main pid.
        notify.settimeout(WAIT_S)
        assert notify.recv(256).decode() == f"MAINPID={new_pid}\nREADY=1\n"
    assert failures == []
    assert len(served) == CLIENTS
    news = [e for e in c.of("listening") if e[1] == new_pid]
    assert len(news) == 2 and all(e[3] == port for e in news)  # the same socket, same port
    # The old workers retired after the new primary's workers listened.
    olds = [e for e in c.of("exit") if e[1] == old_pid]
    assert sorted(e[2] for e in olds) == [1, 2] and all(e[3:] == [0, None] for e in olds)
    # The new primary got the socket by its name, and its workers serve
    # the last clients; the old ones served the first.
    assert c.of("primary")[1][2] == "gnet-cluster/127.0.0.1/0/0/0"
    old_workers = {e[4] for e in c.of("listening") if e[1] == old_pid}
    new_workers = {e[4] for e in news}
    assert set(served[:CLIENTS // 5]) <= old_workers
    assert set(served[-10:]) <= new_workers


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_new_primary_that_fails_leaves_the_old_one_serving(start: Any) -> None:
    c = start(FAIL_UPGRADE="1")
    c.wait_for("two workers listening", lambda: len(c.of("listening")) >= 2)
    port = c.of("listening")[0][3]
    workers = {e[4] for e in c.of("listening")}
    assert {client(port) for _ in range(4)} <= workers
    c.proc.send_signal(signal.SIGUSR2)
    c.wait_for("the failure logged", lambda: b"ended before it was ready" in c.stderr)
    assert c.proc.poll() is None
    assert {client(port) for _ in range(4)} <= workers  # the same workers serve on
    assert c.primaries() == [c.proc.pid]
    c.proc.send_signal(signal.SIGTERM)
    assert c.proc.wait(WAIT_S) == 0
