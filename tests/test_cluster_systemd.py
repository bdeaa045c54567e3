"""A gnet.cluster served from sockets systemd passed (LISTEN_FDS), as a socket unit does.

The primary is started the way systemd starts a socket-activated service: a
launcher puts an already listening socket at descriptor 3, sets
``LISTEN_FDS``/``LISTEN_FDNAMES`` and, after fork, ``LISTEN_PID`` to its own
pid, then execs the program. The program forks two workers; each calls
``gnet.systemdFds()`` (the primary's descriptors) and
``server.listen({'fd': fd})``. The primary owns the socket: it shares it
with the workers (the default policy) or accepts on it and hands the
connections over (round-robin). Connections are served by both workers.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

PROGRAM = textwrap.dedent("""
    import json, os, sys
    import gnet as net
    from gnet import cluster

    def out(*fields):
        # One write(2) of a line under PIPE_BUF: the primary and both
        # workers share this pipe, and a print() may split its line.
        os.write(1, (json.dumps(list(fields)) + "\\n").encode())

    if cluster.isPrimary:
        cluster.setupPrimary({"schedulingPolicy": os.environ["POLICY"]})
        cluster.on("listening", lambda w, address: out("listening", w.id, address["port"]))
        cluster.on("exit", lambda w, code, sig: out("exit", w.id, code, sig))
        cluster.fork()
        cluster.fork()
        sys.exit(net.run(graceful=5000))
    else:
        fds = net.systemdFds()
        names = net.systemdFdNames()
        out("fds", cluster.worker.id, fds, {str(k): v for k, v in names.items()},
            net.systemdFds("web"))

        def on_connection(sock):
            sock.end(f"{cluster.worker.id} {os.getpid()}\\n")

        net.createServer(on_connection).listen({"fd": fds[0]})
        net.run()
""")

# What systemd does between fork and exec (exec keeps the pid).
LAUNCHER = textwrap.dedent("""
    import os, sys
    os.dup2(int(sys.argv[2]), 3)
    os.close(int(sys.argv[2]))
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(sys.executable, [sys.executable, sys.argv[1]])
""")

WAIT_S = 20.0


class Activated:
    """The socket-activated primary and the JSON lines it prints."""

    def __init__(self, policy: str, script: Path) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        # A free number above 3, so the launcher's dup2 to 3 overwrites nothing of its own.
        high = fcntl.fcntl(self.listener.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="web", POLICY=policy)
        env.pop("LISTEN_PID", None)
        env.pop("GNET_UNIQUE_ID", None)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, str(script), str(high)], pass_fds=[high],
                env=env, stdout=subprocess.PIPE)
        finally:
            os.close(high)
        # Only the activated service has the socket now, as under systemd.
        self.listener.close()
        self.buf = b""
        self.events: list[list[Any]] = []

    def expect(self, kind: str, count: int = 1) -> list[list[Any]]:
        deadline = time.monotonic() + WAIT_S
        while len([e for e in self.events if e[0] == kind]) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind!r} in {WAIT_S} s; got {self.events}"
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, f"the primary ended: {self.events}"
            self.buf += chunk
            while b"\n" in self.buf:
                line, _, self.buf = self.buf.partition(b"\n")
                self.events.append(json.loads(line))
        return [e for e in self.events if e[0] == kind]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            assert self.proc.stdout is not None
            rest = self.proc.communicate(timeout=WAIT_S)[0]
            self.events += [json.loads(line) for line in (self.buf + rest).splitlines()
                            if line.startswith(b"[")]
            self.buf = b""
            return self.proc.returncode
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def served_by(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(64)
            assert chunk, f"closed after {data!r}"
            data += chunk
    return int(data.split()[0])


@pytest.mark.once
@pytest.mark.timeout(60)
@pytest.mark.parametrize("policy", ["shared", "rr"])
def test_a_cluster_serves_the_socket_systemd_passed_from_both_workers(
        policy: str, tmp_path: Path) -> None:
    # A file, not -c: the workers run the primary's script.
    script = tmp_path / "activated.py"
    script.write_text(PROGRAM)
    act = Activated(policy, script)
    try:
        listening = act.expect("listening", 2)
        # Both workers listen on the socket systemd made: its port.
        assert sorted(e[1] for e in listening) == [1, 2]
        assert {e[2] for e in listening} == {act.port}
        fds = act.expect("fds", 2)
        # In a worker, systemdFds() names the primary's descriptors.
        assert all(e[2] == [3] and e[3] == {"3": "web"} and e[4] == [3] for e in fds)
        seen: list[int] = []
        deadline = time.monotonic() + WAIT_S
        while set(seen) != {1, 2} and len(seen) < 200 and time.monotonic() < deadline:
            seen.append(served_by(act.port))
        assert set(seen) == {1, 2}, f"served by {seen}"
        if policy == "rr":
            # The primary accepts and alternates strictly, one at a time.
            assert len(seen) == 2
    finally:
        code = act.stop()
    assert code == 0
    # Both workers were disconnected and ended by themselves (status 0).
    assert sorted(e[1:] for e in act.events if e[0] == "exit") == [[1, 0, None], [2, 0, None]]
