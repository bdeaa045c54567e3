"""Empty writes in every state: each completes with its callback and nothing spins.

A zero-length chunk (``''``, ``b''``, ``bytearray()``, ``memoryview(b'')``,
``''`` with an encoding) is a legal ``write()`` and ``end()`` argument in
Node: its callback runs once everything written before it is out, and it
sends nothing. It must do the same in gnet in every state a socket can be in
when it arrives:

* open: nothing queued, the fast path;
* connecting: queued until the connection is up;
* corked: held with other chunks until ``uncork()`` (or ``end()``);
* queued: behind megabytes the kernel has not taken yet;
* ending: as ``end('')``, alone or behind queued data;
* after the peer's FIN, on a socket with ``allowHalfOpen``.

Each example checks that every callback ran exactly once, with None, in
write order; that the peer got exactly the non-empty bytes and both sides
closed; and that the process uses almost no CPU while a socket with nothing
left to send sits idle (a queue stuck on an empty chunk that the write
watcher retries for ever would burn a core). A chunk stuck in a loop inside
the hub never lets the test run again, and a signal only raises in the hub,
which carries on: so the timeouts here use pytest-timeout's thread method,
which ends the whole run with every stack printed (unpatched runs; under
patch_all() that thread is a greenlet too, and the CI job's own time limit
is the bound).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import gevent.queue
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import gnet as net
from gnet.events import once
from helpers import Acceptor, wait_until

HOST = "127.0.0.1"
# Bound on one wait, in seconds; loopback answers in far less.
WAIT_S = 10.0
# More than a loopback connection's kernel buffers hold, so a write of it stays
# queued in gnet until the peer has read most of it.
BIG = 8 * 1024 * 1024
# The idle window in which CPU use is measured, and what it may cost: an idle
# gevent loop uses next to nothing, a spinning one its whole share of a core
# (on a loaded 2-core machine still well above the bound).
IDLE_S = 0.1
IDLE_CPU_S = 0.02

STATES = ("open", "connecting", "corked", "queued", "ending", "after_fin")

# Every zero-length argument write() and end() take, as (data, encoding).
EMPTIES: dict[str, tuple[Any, str | None]] = {
    "str": ("", None),
    "str-latin1": ("", "latin1"),
    "str-hex": ("", "hex"),
    "bytes": (b"", None),
    "bytearray": (bytearray(), None),
    "memoryview": (memoryview(b""), None),
}


@pytest.fixture(scope="module")
def pairs() -> Iterator[Acceptor]:
    made = Acceptor(allowHalfOpen=True)
    try:
        yield made
    finally:
        made.close()


def _idle_cpu() -> float:
    """CPU seconds this process used over IDLE_S of letting the loop run."""
    start = time.process_time()
    gevent.sleep(IDLE_S)
    return time.process_time() - start


class Writes:
    """The writes of one example, and the callbacks they got, in call order."""

    def __init__(self, sock: net.Socket) -> None:
        self.sock = sock
        self.expected: list[int] = []
        self.called: list[tuple[int, Any]] = []
        self.sent = bytearray()

    def _callback(self) -> Callable[[Any], None]:
        index = len(self.expected)
        self.expected.append(index)
        return lambda err: self.called.append((index, err))

    def write(self, data: Any, encoding: str | None = None, with_cb: bool = True) -> None:
        args: list[Any] = [data]
        if encoding is not None:
            args.append(encoding)
        if with_cb:
            args.append(self._callback())
        self.sock.write(*args)
        if isinstance(data, str):
            self.sent += bytes.fromhex(data) if encoding == "hex" else data.encode("latin-1")
        else:
            self.sent += data

    def end(self, data: Any = None, encoding: str | None = None, with_cb: bool = True) -> None:
        args: list[Any] = [] if data is None else [data]
        if data is not None and encoding is not None:
            args.append(encoding)
        if with_cb:
            args.append(self._callback())
        self.sock.end(*args)
        if data is not None:
            self.sent += data.encode() if isinstance(data, str) else data

    def all_called(self) -> bool:
        return len(self.called) >= len(self.expected)

    def check(self) -> None:
        assert [index for index, _err in self.called] == self.expected, (
            f"callbacks ran as {self.called}, expected each of {self.expected} once, in order"
        )
        errors = [(index, err) for index, err in self.called if err is not None]
        assert not errors, f"callbacks got errors: {errors}"


@st.composite
def examples(draw: st.DrawFn) -> dict[str, Any]:
    """What varies within one state: the empty chunks, what precedes them, the writer."""
    return {
        "kinds": draw(st.lists(st.sampled_from(sorted(EMPTIES)), min_size=1, max_size=3)),
        "with_cb": draw(st.lists(st.booleans(), min_size=3, max_size=3)),
        "prefix": draw(st.sampled_from([b"", b"a", b"hello", bytes(range(256)) * 70])),
        "suffix": draw(st.sampled_from([b"", b"z"])),
        "writer": draw(st.sampled_from(["client", "server"])),
        "end_empty": draw(st.sampled_from([None, *sorted(EMPTIES)])),
        "uncork_by_end": draw(st.booleans()),
    }


def _scenario(pairs: Acceptor, state: str, ex: dict[str, Any]) -> None:
    half_open = state == "after_fin"
    client = pairs.connect(allowHalfOpen=half_open)
    writer_is_client = ex["writer"] == "client" or state == "connecting"
    client_writes = Writes(client)
    if state == "connecting":
        assert client.connecting
        _empties(client_writes, ex, prefix=ex["prefix"])
    side = pairs.side_of(client)
    if client.connecting:
        once(client, "connect", timeout=WAIT_S * 1000)
    writer, peer = (client, side) if writer_is_client else (side, client)
    writes = client_writes if writer_is_client else Writes(side)

    received = bytearray()
    peer.on("data", received.extend)
    peer.on("end", lambda: peer.end())
    writer.resume()  # so that the writer sees the peer's FIN ('after_fin')
    ended = gevent.event.Event()
    writer.on("end", lambda: ended.set())
    closed = [gevent.event.Event(), gevent.event.Event()]
    writer.on("close", lambda _had_error: closed[0].set())
    peer.on("close", lambda _had_error: closed[1].set())
    finished = gevent.event.Event()
    writer.on("finish", lambda: finished.set())

    if state == "open":
        _empties(writes, ex, prefix=ex["prefix"])
    elif state == "corked":
        writer.cork()
        _empties(writes, ex, prefix=ex["prefix"])
        if not ex["uncork_by_end"]:
            writer.uncork()
    elif state == "queued":
        writes.write(bytes(BIG), with_cb=ex["with_cb"][0])
        assert writer.writableLength > 0, "the big write was not queued"
        _empties(writes, ex, prefix=ex["prefix"])
    elif state == "ending" and ex["prefix"]:
        # end('') behind a queue of megabytes ('open' covers end('') on an idle socket).
        writes.write(ex["prefix"] * (BIG // len(ex["prefix"])), with_cb=ex["with_cb"][2])
    elif state == "after_fin":
        peer.end()
        assert ended.wait(WAIT_S), "the writer never saw the peer's FIN"
        _empties(writes, ex, prefix=ex["prefix"])

    corked_till_end = state == "corked" and ex["uncork_by_end"]
    if state != "ending" and not corked_till_end:
        # Everything written has gone out, the socket is still open and idle.
        wait_until(writes.all_called, WAIT_S, f"the write callbacks (got {writes.called})")
        wait_until(lambda: len(received) >= len(writes.sent), WAIT_S,
                   "the peer to receive every byte")
        assert writer.writableLength == 0
        cpu = _idle_cpu()
        assert cpu < IDLE_CPU_S, f"an idle socket used {cpu:.3f} s of CPU in {IDLE_S} s"
    # Ending: end() with an empty chunk, or with none.
    if state == "ending" or ex["end_empty"] is not None:
        kind = ex["end_empty"] or ex["kinds"][0]
        data, encoding = EMPTIES[kind]
        writes.end(data, encoding, with_cb=ex["with_cb"][1])
    else:
        writes.end(with_cb=ex["with_cb"][1])
    assert finished.wait(WAIT_S), f"no 'finish' (callbacks so far: {writes.called})"
    assert closed[0].wait(WAIT_S) and closed[1].wait(WAIT_S), "the pair did not close"
    writes.check()
    assert bytes(received) == bytes(writes.sent)
    assert writer.bytesWritten == len(writes.sent)
    cpu = _idle_cpu()
    assert cpu < IDLE_CPU_S, f"the process used {cpu:.3f} s of CPU in {IDLE_S} s idle"
    pairs.forget()


def _empties(writes: Writes, ex: dict[str, Any], prefix: bytes) -> None:
    """The prefix (if any), then each empty chunk, then the suffix (if any)."""
    if prefix:
        writes.write(prefix, with_cb=ex["with_cb"][2])
    for i, kind in enumerate(ex["kinds"]):
        data, encoding = EMPTIES[kind]
        writes.write(data, encoding, with_cb=ex["with_cb"][i % 3])
    if ex["suffix"]:
        writes.write(ex["suffix"], with_cb=ex["with_cb"][0])


@pytest.mark.once
@pytest.mark.timeout(60, method="thread")
@pytest.mark.parametrize("state", STATES)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ex=examples())
def test_empty_write_completes(pairs: Acceptor, state: str, ex: dict[str, Any]) -> None:
    _scenario(pairs, state, ex)


@pytest.mark.timeout(30, method="thread")
@pytest.mark.parametrize("suffix", [b"", b"z"], ids=["empty-last", "data-last"])
@pytest.mark.parametrize("state", STATES)
def test_empty_write_each_kind(pairs: Acceptor, state: str, suffix: bytes) -> None:
    """Every empty kind, one after the other, with a callback each (fast, every tox env)."""
    ex = {
        "kinds": sorted(EMPTIES), "with_cb": [True, True, True], "prefix": b"ab",
        "suffix": suffix, "writer": "client", "end_empty": "memoryview", "uncork_by_end": False,
    }
    _scenario(pairs, state, ex)
