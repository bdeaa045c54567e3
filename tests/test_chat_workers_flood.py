"""``gnet chat --workers``: a flood, and a worker that does not read its channel.

Every line a member says goes through the primary to every other worker
(:mod:`gnet.cli.workers`). A worker stopped with SIGSTOP reads nothing; the
primary holds at most :data:`gnet.cli.workers.MAX_RELAY_BACKLOG` bytes of
relayed lines for it, drops the rest for that worker alone and counts them,
and the worker's members are told how many once it has caught up. The
process tests run the real command with three workers and stdlib clients,
each member pinned to its worker as in tests/test_cli_workers.py (the other
workers are stopped while it connects); the primary's memory is read from
/proc. The room's side of ``lost`` is checked in process.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

import test_chat
import test_cli
import test_cli_workers
from gnet.chat import ChatRoom
from gnet.cli.workers import MAX_RELAY_BACKLOG
from helpers import LinePeer, until
from test_cli_workers import alive, join_on, worker_pids

gnet = test_cli.gnet  # the fixtures: gnet commands, stopped pids, an in-process room
stopped = test_cli_workers.stopped
chat = test_chat.chat

# Lines the flooder says while worker 2 is stopped: about 2 MB of channel
# messages, twice what the primary may hold for one worker.
FLOOD = 20_000
# What the primary may grow by while it holds a stopped worker's backlog:
# the backlog (1 MiB of JSON, a few MB as Python objects) and room to spare.
# Unbounded, the same flood held one blocked greenlet per line (~10 KB each:
# about 200 MB).
MAX_GROWTH_KB = 40 * 1024

LOST = re.compile(r"\* (\d+) lines said on other workers were lost: this server fell behind")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def flood_line(i: int) -> str:
    return f"line {i} " + "x" * 60


def three_members(server: Any, peers: Any, pids: dict[int, int],
                  stopped: set[int], port: int) -> tuple[LinePeer, LinePeer, LinePeer]:
    """flooder on worker 1, listener on worker 2, witness on worker 3; greetings read."""
    flooder, _ = join_on(server, peers, port, pids, 1, stopped, "flooder")
    listener, _ = join_on(server, peers, port, pids, 2, stopped, "listener")
    assert flooder.line() == "* listener joined"
    witness, _ = join_on(server, peers, port, pids, 3, stopped, "witness")
    assert flooder.line() == "* witness joined"
    assert listener.line() == "* witness joined"
    return flooder, listener, witness


def flood(flooder: LinePeer, witness: LinePeer, batch: int = 500) -> None:
    """The flooder says FLOOD lines; the witness (on a running worker) hears every one.

    In batches the witness hears before the next is said: the running
    worker's backlog stays far below the bound however busy the machine is
    (on a saturated one a running worker may fall behind too, and then its
    lines are dropped by design), while the stopped worker's grows past it.
    """
    for start in range(0, FLOOD, batch):
        lines = range(start, min(start + batch, FLOOD))
        flooder.send("".join(flood_line(i) + "\n" for i in lines).encode())
        for i in lines:
            assert witness.line() == f"flooder: {flood_line(i)}"


@pytest.mark.once
@pytest.mark.timeout(90)
def test_a_stopped_worker_costs_the_primary_a_bounded_backlog_and_its_members_learn_the_loss(
        gnet: Any, peers: Any, stopped: set[int]) -> None:
    server = gnet("chat", "--workers", "3", "--port", "0", "--rate-limit", "0")
    port = server.listening_port()
    pids = worker_pids(server, 3)
    flooder, listener, witness = three_members(server, peers, pids, stopped, port)
    before = rss_kb(server.proc.pid)

    stopped.add(pids[2])
    os.kill(pids[2], signal.SIGSTOP)
    flood(flooder, witness)
    # The primary says once that worker 2 fell behind; the others are served
    # as before, both ways.
    assert server.err_line() == (
        f"gnet: worker 2 (pid {pids[2]}) is not reading its channel: lines relayed to it "
        "are dropped until it catches up")
    witness.send(b"still here\n")
    assert flooder.line() == "witness: still here"
    grown = rss_kb(server.proc.pid) - before
    assert grown < MAX_GROWTH_KB, f"the primary grew by {grown} KB"

    # Worker 2 goes on: its member hears the lines the primary kept, in
    # order, then how many it lost; the count is the primary's, and nothing
    # is missing without being counted.
    os.kill(pids[2], signal.SIGCONT)
    heard = 0
    while (line := listener.line()) == f"flooder: {flood_line(heard)}":
        heard += 1
    lost = LOST.fullmatch(line)
    assert lost, line
    count = int(lost[1])
    assert heard + count == FLOOD + 1  # the witness's line was dropped too
    # At least what the kernel's buffer and the bound hold got through.
    assert heard * len(flood_line(FLOOD)) > MAX_RELAY_BACKLOG // 4
    assert server.err_line() == (f"gnet: worker 2 (pid {pids[2]}) caught up; {count} relayed "
                                 "lines were dropped for it")
    assert server.line() == f"[worker 2] {count} lines said on other workers were lost: " \
                            "this server fell behind"
    # Caught up: what is said now reaches it again.
    witness.send(b"after\n")
    assert listener.line() == "witness: after"
    assert flooder.line() == "witness: after"

    code, _out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")
    assert not any(alive(pid) for pid in pids.values())


@pytest.mark.once
@pytest.mark.timeout(90)
def test_a_stop_reaches_the_running_workers_while_one_is_stopped_and_behind(
        gnet: Any, peers: Any, stopped: set[int]) -> None:
    server = gnet("chat", "--workers", "3", "--port", "0", "--rate-limit", "0")
    port = server.listening_port()
    pids = worker_pids(server, 3)
    flooder, listener, witness = three_members(server, peers, pids, stopped, port)
    stopped.add(pids[2])
    os.kill(pids[2], signal.SIGSTOP)
    flood(flooder, witness)
    assert "is not reading its channel" in server.err_line()

    # SIGTERM: worker 3 (after the stopped one in the primary's list) is told
    # at once, not once worker 2 has read its backlog.
    server.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert witness.rest() == b"* the server is shutting down\n"
    assert flooder.rest() == b"* the server is shutting down\n"
    assert time.monotonic() - started < 5.0
    assert alive(pids[2])
    # Worker 2 goes on, reads what was kept for it, then its stop.
    os.kill(pids[2], signal.SIGCONT)
    rest = listener.rest().decode().splitlines()
    assert rest[-1] == "* the server is shutting down"
    assert rest[:-1] == [f"flooder: {flood_line(i)}" for i in range(len(rest) - 1)]
    code, _out, err = server.wait(15.0)
    assert code == 0, err
    assert f"worker 2 (pid {pids[2]}) caught up; " in err or \
        f"worker 2 (pid {pids[2]}) exited before it caught up; " in err, err


def test_the_room_tells_its_members_how_many_relayed_lines_it_lost(
        chat: Callable[..., tuple[ChatRoom, Callable[[], Any], list[str]]]) -> None:
    room, client, log = chat(relay=lambda _event: None)
    alice = client()
    assert alice.line() == test_chat.WELCOME
    alice.send(b"alice\n")
    # With a relay, a name is claimed first; this relay answers nothing, so
    # the test answers as the primary would.
    until(lambda: room._claims, what="the claim")
    (ref,) = room._claims
    room.hear({"t": "claimed", "ref": ref, "ok": True, "names": []})
    assert alice.line() == "Hello alice! Here now: nobody else."

    # What is not a positive count is not a loss.
    for junk in (0, -3, "5", True, None, 2.5):
        room.hear({"t": "lost", "count": junk})
    room.hear({"t": "lost", "count": 7})
    assert alice.line() == "* 7 lines said on other workers were lost: this server fell behind"
    assert log[-1] == "7 lines said on other workers were lost: this server fell behind"
    assert sum("lost" in line for line in log) == 1


@pytest.mark.once
@pytest.mark.timeout(60)
def test_a_worker_stopped_for_good_is_killed_at_the_end_of_the_grace_period(
        gnet: Any, peers: Any, stopped: set[int]) -> None:
    # Its channel is full, so even the primary's disconnect cannot reach it:
    # that must hold neither the others' stop nor its own kill.
    server = gnet("chat", "--workers", "3", "--port", "0", "--rate-limit", "0",
                  prelude="import gnet.cli.workers as w; w.GRACE_MS = 2000")
    port = server.listening_port()
    pids = worker_pids(server, 3)
    flooder, _listener, witness = three_members(server, peers, pids, stopped, port)
    stopped.add(pids[2])
    os.kill(pids[2], signal.SIGSTOP)
    flood(flooder, witness)
    assert "is not reading its channel" in server.err_line()

    started = time.monotonic()
    code, _out, err = server.signal(signal.SIGTERM)
    assert code == 3, err  # some worker had to be killed
    assert time.monotonic() - started < 10.0
    assert witness.rest() == b"* the server is shutting down\n"
    assert flooder.rest() == b"* the server is shutting down\n"
    assert re.search(rf"worker 2 \(pid {pids[2]}\) exited before it caught up; \d+ relayed "
                     "lines were dropped for it", err), err
    assert not any(alive(pid) for pid in pids.values())
