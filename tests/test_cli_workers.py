"""``gnet echo --workers N`` and ``gnet chat --workers N``: one port served by N processes.

The commands run as real subprocesses (the helpers of test_cli.py); the
clients are stdlib sockets. Which worker accepts a connection on the shared
socket is the kernel's choice, so the chat tests pin each member to a worker
by stopping the other one (SIGSTOP) while it connects and joins: a stopped
process accepts nothing, and the worker that logs the join is the one that
must have served it. Every stopped worker is continued (and, at the end,
killed if still alive) whatever the test's outcome.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import test_cli
from helpers import LinePeer
from test_cli import WELCOME, Gnet, assert_clean, run_gnet

gnet = test_cli.gnet  # the fixture that starts gnet commands and kills them at teardown

pytestmark = [pytest.mark.once, pytest.mark.timeout(90)]


def worker_pids(server: Gnet, count: int) -> dict[int, int]:
    """Read the line after 'listening': ``N workers: 1 (pid P), 2 (pid Q)``."""
    line = server.line()
    match = re.fullmatch(rf"{count} workers: (.*)", line)
    assert match, line
    pids = {int(wid): int(pid) for wid, pid in re.findall(r"(\d+) \(pid (\d+)\)", match[1])}
    assert len(pids) == count, line
    return pids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.fixture
def stopped() -> Iterator[set[int]]:
    """Pids a test may SIGSTOP: continued at teardown, and killed if still alive."""
    pids: set[int] = set()
    yield pids
    for pid in pids:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def pinned(pids: dict[int, int], wid: int, stopped: set[int]) -> Any:
    """A context in which only worker ``wid`` runs: the others are stopped."""
    class Pin:
        def __enter__(self) -> None:
            for other, pid in pids.items():
                if other != wid:
                    stopped.add(pid)
                    os.kill(pid, signal.SIGSTOP)

        def __exit__(self, *exc: Any) -> None:
            for other, pid in pids.items():
                if other != wid:
                    os.kill(pid, signal.SIGCONT)

    return Pin()


def join_on(server: Gnet, peers: Any, port: int, pids: dict[int, int], wid: int,
            stopped: set[int], name: str) -> tuple[LinePeer, str]:
    """Connect ``name`` while only worker ``wid`` runs; its greeting, checked in the log."""
    with pinned(pids, wid, stopped):
        peer = peers(port)
        assert peer.line() == WELCOME
        peer.send(name.encode() + b"\n")
        hello = peer.line()
        assert server.line() == f"[worker {wid}] {name} joined"
    return peer, hello


def lines(peer: LinePeer, count: int) -> list[str]:
    return sorted(peer.line() for _ in range(count))


def test_chat_members_on_two_workers_hear_each_other(gnet: Any, peers: Any,
                                                     stopped: set[int]) -> None:
    server = gnet("chat", "--workers", "2", "--port", "0")
    port = server.listening_port()
    pids = worker_pids(server, 2)

    names = ["alice", "bob", "carol", "dave"]
    members: dict[str, LinePeer] = {}
    for i, name in enumerate(names):
        # alice and carol on worker 1, bob and dave on worker 2.
        peer, hello = join_on(server, peers, port, pids, 1 + i % 2, stopped, name)
        assert hello == f"Hello {name}! Here now: {', '.join(names[:i]) or 'nobody else'}."
        members[name] = peer

    # A name that looks like one taken on the other worker is refused there.
    with pinned(pids, 2, stopped):
        eve = peers(port)
        assert eve.line() == WELCOME
        eve.send(b"ALICE\n")
        assert eve.line().startswith("Please pick another name")
    eve.close()

    for name, peer in members.items():
        peer.send(f"hello from {name}\n".encode())
    for i, name in enumerate(names):
        expected = [f"* {later} joined" for later in names[i + 1:]]
        expected += [f"{other}: hello from {other}" for other in names if other != name]
        assert lines(members[name], len(expected)) == sorted(expected), name

    # A leave on one worker is announced on both.
    members.pop("dave").close()
    for peer in members.values():
        assert peer.line() == "* dave left"
    assert server.line() == "[worker 2] dave left"

    # Ctrl-C on the primary: every member is told, on both workers.
    code, out, err = server.signal(signal.SIGINT)
    assert_clean(err)
    assert code == 0, err
    for peer in members.values():
        assert peer.rest() == b"* the server is shutting down\n"
    log = out.decode().splitlines()
    assert sorted(line for line in log if "shutting down" in line) == [
        "[worker 1] shutting down", "[worker 2] shutting down"]
    assert not any(alive(pid) for pid in pids.values())


def test_chat_worker_that_dies_is_replaced_and_its_members_leave(
        gnet: Any, peers: Any, stopped: set[int]) -> None:
    server = gnet("chat", "--workers", "2", "--port", "0")
    port = server.listening_port()
    pids = worker_pids(server, 2)
    alice, _ = join_on(server, peers, port, pids, 1, stopped, "alice")
    bob, _ = join_on(server, peers, port, pids, 2, stopped, "bob")
    assert alice.line() == "* bob joined"

    os.kill(pids[2], signal.SIGKILL)
    assert alice.line() == "* bob left"
    assert re.fullmatch(rf"gnet: worker 2 \(pid {pids[2]}\) exited \(SIGKILL\); "
                        r"starting another", server.err_line())
    assert bob.rest() == b""

    # The name is free again, and the replacement serves the same port.
    carol = peers(port)
    assert carol.line() == WELCOME
    carol.send(b"bob\n")
    assert carol.line() == "Hello bob! Here now: alice."
    assert alice.line() == "* bob joined"
    assert re.fullmatch(r"\[worker \d\] bob joined", server.line())

    code, _out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")
    assert alice.rest() == b"* the server is shutting down\n"
    assert carol.rest() == b"* the server is shutting down\n"
    assert not alive(pids[1])


def test_echo_workers_share_one_port_and_stop_on_sigterm(gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--workers", "2", "--port", "0")
    port = server.listening_port()
    pids = worker_pids(server, 2)
    assert all(alive(pid) for pid in pids.values())
    clients = [peers(port) for _ in range(20)]
    for i, client in enumerate(clients):
        client.send(f"ping {i}\n".encode())
    for i, client in enumerate(clients):
        assert client.line() == f"ping {i}"
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")
    for client in clients:
        assert client.rest() == b""
    assert not any(alive(pid) for pid in pids.values())


def test_workers_that_cannot_listen_say_so_once_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_gnet("echo", "--workers", "2", "--port", str(port), timeout=30)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err == f"gnet: listen EADDRINUSE: address already in use 127.0.0.1:{port}\n"
    assert done.stdout == b""


@pytest.mark.parametrize("args", [["echo", "--workers", "2", "--unix", "/tmp/x.sock"],
                                  ["echo", "--workers", "0"],
                                  ["echo", "--udp", "--workers", "2"],
                                  ["chat", "--workers", "two"]])
def test_bad_worker_usage_exits_2(args: list[str]) -> None:
    done = run_gnet(*args)
    assert done.returncode == 2, done
    err = done.stderr.decode()
    assert_clean(err)
    assert err.splitlines()[-1].startswith(f"gnet {args[0]}: error: ")


# The grace period a retired worker keeps serving for, shortened for the test
# (the primary sends it to the worker with 'retire').
SHORT_GRACE = "import gnet.cli.workers as w; w.GRACE_MS = 3000"


def test_chat_sighup_replaces_the_workers_and_old_members_are_served_until_the_grace_ends(
        gnet: Any, peers: Any, stopped: set[int]) -> None:
    server = gnet("chat", "--workers", "2", "--port", "0", prelude=SHORT_GRACE)
    port = server.listening_port()
    pids = worker_pids(server, 2)
    alice, _ = join_on(server, peers, port, pids, 1, stopped, "alice")
    bob, _ = join_on(server, peers, port, pids, 2, stopped, "bob")
    assert alice.line() == "* bob joined"

    server.proc.send_signal(signal.SIGHUP)
    assert server.err_line() == "gnet: SIGHUP: replacing the workers one at a time"
    new_pids = {}
    for old, new in ((1, 3), (2, 4)):
        match = re.fullmatch(rf"gnet: worker {new} \(pid (\d+)\) replaces worker {old} "
                             rf"\(pid {pids[old]}\), which finishes its connections",
                             server.err_line())
        assert match
        new_pids[new] = int(match[1])

    # The old workers stopped accepting but still serve their members.
    alice.send(b"still here\n")
    assert bob.line() == "alice: still here"
    # A newcomer reaches a new worker, and the old members hear it and talk with it.
    carol = peers(port)
    assert carol.line() == WELCOME
    carol.send(b"carol\n")
    assert carol.line() == "Hello carol! Here now: alice, bob."
    assert re.fullmatch(r"\[worker [34]\] carol joined", server.line())
    assert alice.line() == "* carol joined"
    assert bob.line() == "* carol joined"
    carol.send(b"hi\n")
    assert alice.line() == "carol: hi"
    assert bob.line() == "carol: hi"
    bob.send(b"hi carol\n")
    assert carol.line() == "bob: hi carol"
    assert alice.line() == "bob: hi carol"

    # Chat connections do not end by themselves: once the grace period has
    # passed, the old workers hang up on their members as a stop does, and end.
    assert alice.rest() == b"* the server is shutting down\n"
    assert bob.rest() == b"* the server is shutting down\n"
    assert lines(carol, 2) == ["* alice left", "* bob left"]
    retired = sorted(server.err_line() for _ in range(2))
    assert retired == [f"gnet: worker {wid} (pid {pids[wid]}) retired (status 0)"
                       for wid in (1, 2)]
    assert not any(alive(pid) for pid in pids.values())
    assert all(alive(pid) for pid in new_pids.values())

    # Reconnecting reaches a new worker; the names are free again.
    alice = peers(port)
    assert alice.line() == WELCOME
    alice.send(b"alice\n")
    assert alice.line() == "Hello alice! Here now: carol."
    assert carol.line() == "* alice joined"
    code, _out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")
    assert carol.rest() == b"* the server is shutting down\n"
    assert not any(alive(pid) for pid in new_pids.values())


def test_echo_sighup_refuses_nothing_and_an_old_client_that_hangs_up_lets_its_worker_go(
        gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--workers", "2", "--port", "0", prelude=SHORT_GRACE)
    port = server.listening_port()
    pids = worker_pids(server, 2)
    old = [peers(port) for _ in range(4)]
    # Short connections all through the restart: each is served, none refused.
    done = threading.Event()
    served: list[int] = []
    failures: list[BaseException] = []

    def clients() -> None:
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline and len(served) < 5000:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                    conn.sendall(b"during\n")
                    assert conn.recv(64) == b"during\n"
                served.append(1)
            except (OSError, AssertionError) as exc:
                failures.append(exc)

    thread = threading.Thread(target=clients)
    thread.start()
    # An old worker that none of the old clients landed on retires as soon as
    # it is replaced, so its line may come before the next replacement's.
    retired: list[str] = []
    try:
        server.proc.send_signal(signal.SIGHUP)
        assert server.err_line() == "gnet: SIGHUP: replacing the workers one at a time"
        replacements = []
        while len(replacements) < 2:
            line = server.err_line()
            (retired if " retired " in line else replacements).append(line)
        assert re.fullmatch(r"gnet: worker 3 \(pid \d+\) replaces worker 1 .*", replacements[0])
        assert re.fullmatch(r"gnet: worker 4 \(pid \d+\) replaces worker 2 .*", replacements[1])
    finally:
        done.set()
        thread.join(30)
    assert failures == [] and len(served) > 0
    # The connections of the old workers still echo; once they hang up, the
    # old workers end long before the grace period would cut them.
    for i, client in enumerate(old):
        client.send(f"old {i}\n".encode())
        assert client.line() == f"old {i}"
        client.close()
    retired = sorted(retired + [server.err_line() for _ in range(2 - len(retired))])
    assert retired == [f"gnet: worker {wid} (pid {pids[wid]}) retired (status 0)"
                       for wid in (1, 2)]
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")
