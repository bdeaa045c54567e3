"""Nothing leaks: 10,000 connections opened and closed in every way leave the process as it was.

One gnet server and its clients in this process (plus stdlib sockets for
resets and for a peer that is not gnet), at most 200 connections in flight.
After 5,000 warm-up connections, the process is measured; after the 10,000
connections and a settle period (every connection closed, gnet's dispatcher
quiet, then 50 ms), it is measured again.
"""

from __future__ import annotations

import collections
import gc
import random
import time
import warnings
from collections.abc import Callable

import gevent
import gevent.queue
import gevent.socket as gsocket
import pytest
from gevent.event import Event

import gnet as net
from gnet.dispatch import MAX_IDLE_WORKERS, idle_workers, wait_quiet
from helpers import HOST, wait_until

from .conftest import (
    WAIT_S,
    Figures,
    fd_count,
    greenlet_census,
    linger_zero,
    socket_census,
    trimmed_rss_bytes,
)

TOTAL = 10_000
# Connections in flight at once: a new one starts when one has closed.
WINDOW = 200
# Connections made before the first measurement, so that what is created once
# (dispatcher workers, free lists, the allocator's arenas) exists already.
WARM_UP = 5000
# Greenlets that run the stdlib clients.
RAW_WORKERS = 64
# The server's idle timeout (ms), closing idle peers through the README
# idiom. It must be long compared with one turn of the loop: a burst of 200
# new connections makes one turn take up to ~75 ms here (several hundred ms
# on a machine whose cores are busy with other work), and, as in Node, a
# timer that expires in the same turn as a socket's data runs first, so a
# shorter timeout would fire on busy connections too.
IDLE_MS = 1000
# The idle clients' own timeout (ms): it cannot fire early, nothing happens
# on those connections.
CLIENT_IDLE_MS = 50
# RSS (after malloc_trim, see trimmed_rss_bytes) may grow this much over the
# 10,000 connections: 400 bytes a connection, while a leaked socket with its
# buffers would cost several KiB.
RSS_SLACK = 4 * 1024 * 1024

# How each connection ends, and how often (weights).
KINDS = {
    "clean echo": 25,        # gnet client: write, end(), gets its echo, FIN both ways
    "client reset": 10,      # gnet client resetAndDestroy() after connecting
    "server reset": 10,      # the server resets on a command byte
    "server destroy": 10,    # the server destroy()s on a command byte
    "client destroy": 10,    # gnet client destroy() in 'connect'
    "destroy connecting": 5, # gnet client destroy() before 'connect'
    "idle timeout": 4,       # gnet client stays idle; the server's timeout destroys it
    "client timeout": 6,     # gnet client stays idle; its own timeout destroys it
    "raw reset": 10,         # stdlib client, SO_LINGER 0 close (RST)
    "raw echo": 10,          # stdlib client: send, shutdown, read the echo to EOF
}


class Load:
    """The server and the client side of the 10,000 connections."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kinds = list(KINDS)
        self.weights = list(KINDS.values())
        self.started: collections.Counter[str] = collections.Counter()
        self.client_closes: collections.Counter[str] = collections.Counter()
        self.client_errors: collections.Counter[str] = collections.Counter()
        self.server_closes = 0
        self.server_errors: collections.Counter[str] = collections.Counter()
        self.accepted = 0
        self.verified = 0
        self.bad: list[str] = []
        self.server = net.createServer(self.on_connection)
        self.server.listen(0, HOST)
        self.port = self.server.address()["port"]
        # The stdlib clients run in a fixed set of greenlets, not one each:
        # a greenlet per connection would be 2,000 greenlets that the test
        # harness (tests/conftest.py's greenlet watch) remembers until the
        # test ends, which shows in RSS.
        self.raw_jobs: gevent.queue.Queue[tuple[str, bytes, Callable[[], None]] | None] = (
            gevent.queue.Queue())
        self.raw_workers = [gevent.spawn(self.raw_worker) for _ in range(RAW_WORKERS)]

    # The server: the README's idle idiom, an echo through pipe(), and two
    # command bytes that make it reset or destroy.
    def on_connection(self, sock: net.Socket) -> None:
        self.accepted += 1
        sock.setTimeout(IDLE_MS, sock.destroy)
        sock.on("error", lambda err: self.server_errors.update([getattr(err, "code", "?")]))
        sock.on("close", self.on_server_close)

        def on_data(chunk: bytes) -> None:
            if chunk[:1] == b"R":
                sock.resetAndDestroy()
            elif chunk[:1] == b"D":
                sock.destroy()

        sock.on("data", on_data)
        sock.pipe(sock)

    def on_server_close(self, _had_error: bool) -> None:
        self.server_closes += 1

    def open(self, done: Callable[[], None]) -> None:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        self.started[kind] += 1
        # Every random choice is made here, in the calling greenlet, so the
        # sequence does not depend on how greenlets interleave.
        message = kind.encode() + self.rng.randbytes(self.rng.randrange(1, 2000))
        if kind.startswith("raw"):
            self.raw_jobs.put((kind, message, done))
            return
        if kind == "server reset":
            message = b"R" + message
        elif kind == "server destroy":
            message = b"D" + message
        sock = net.createConnection(self.port, HOST)
        got = bytearray()
        closes: list[bool] = []

        def on_close(had_error: bool) -> None:
            closes.append(had_error)
            if len(closes) > 1:
                self.bad.append(f"{kind}: 'close' twice")
                return
            self.client_closes[kind] += 1
            if kind == "clean echo":
                if bytes(got) != message or had_error:
                    self.bad.append(f"{kind}: echo damaged or error")
                else:
                    self.verified += len(message)
            done()

        sock.on("close", on_close)
        sock.on("error", lambda err: self.client_errors.update([getattr(err, "code", "?")]))
        sock.on("data", got.extend)
        if kind == "destroy connecting":
            sock.destroy()
        elif kind == "client reset":
            sock.on("connect", lambda: (sock.write(message), sock.resetAndDestroy()))
        elif kind == "client destroy":
            sock.on("connect", sock.destroy)
        elif kind == "client timeout":
            sock.setTimeout(CLIENT_IDLE_MS, sock.destroy)
        elif kind != "idle timeout":
            sock.on("connect", lambda: sock.end(message))

    def raw_worker(self) -> None:
        while (job := self.raw_jobs.get()) is not None:
            self.raw_client(*job)

    def raw_client(self, kind: str, message: bytes, done: Callable[[], None]) -> None:
        try:
            raw = gsocket.create_connection((HOST, self.port), timeout=WAIT_S)
            try:
                if kind == "raw reset":
                    raw.sendall(message)
                    linger_zero(raw)
                else:
                    raw.sendall(message)
                    raw.shutdown(gsocket.SHUT_WR)
                    got = bytearray()
                    while chunk := raw.recv(65536):
                        got += chunk
                    if bytes(got) != message:
                        self.bad.append(f"{kind}: echo damaged")
                    else:
                        self.verified += len(message)
            finally:
                raw.close()
        except OSError as exc:
            self.bad.append(f"{kind}: {exc!r}")
        self.client_closes[kind] += 1
        done()

    def run(self, count: int) -> None:
        """Open ``count`` connections, never more than WINDOW in flight; wait for them all."""
        slot = Event()
        in_flight = 0

        def done() -> None:
            nonlocal in_flight
            in_flight -= 1
            slot.set()

        for _ in range(count):
            while in_flight >= WINDOW:
                slot.clear()
                if not slot.wait(WAIT_S):
                    pytest.fail(f"{in_flight} connections made no progress in {WAIT_S} s")
            in_flight += 1
            self.open(done)
        wait_until(lambda: in_flight == 0, WAIT_S, f"the last {in_flight} connections to close")

    def settle(self) -> None:
        # getConnections() stops counting a socket when it is destroyed; its
        # 'close' comes a loop turn later. Only the listening server is left.
        wait_until(lambda: self.server.getConnections() == 0 and net.refCount() == 1, WAIT_S,
              "every server socket closed")
        wait_quiet(WAIT_S)
        gevent.sleep(0.05)
        wait_quiet(WAIT_S)

    def close(self) -> None:
        for _ in self.raw_workers:
            self.raw_jobs.put(None)
        gevent.joinall(self.raw_workers, timeout=WAIT_S)
        self.server.close()
        net.run(timeout=WAIT_S * 1000)


@pytest.mark.slow
@pytest.mark.once
def test_ten_thousand_connections_leak_nothing(figures: Figures) -> None:
    """10,000 connections in every way of ending leave fds, greenlets and sockets as they were.

    Mix (seeded): clean echo with FIN both ways, resets from either side
    (gnet resetAndDestroy and stdlib SO_LINGER 0), destroy() from either
    side and while connecting, and idle clients closed by the server's
    setTimeout idiom (1 s) or by their own (50 ms). At most 200 connections
    are in flight at once; the run takes under ten seconds on a 2-core
    machine.

    Tolerances, after the settle period: open descriptors (/proc/self/fd)
    exactly equal; live greenlets exactly equal, not counting gnet's parked
    dispatcher workers (kept on purpose, at most MAX_IDLE_WORKERS = 4);
    live gnet.Socket objects exactly equal; gnet.refCount() exactly equal;
    no warning at all (ResourceWarning included) while the connections ran
    and were collected; RSS (after glibc's malloc_trim) within 4 MiB.
    """
    load = Load(random.Random("ten thousand connections"))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load.run(WARM_UP)
            load.settle()
            gc.collect()
            before = {
                "fds": fd_count(), "greenlets": greenlet_census(), "sockets": socket_census(),
                "refCount": net.refCount(), "rss": trimmed_rss_bytes(),
            }
            started = time.monotonic()
            cpu_started = time.process_time()
            load.run(TOTAL // 2)
            halfway_rss = trimmed_rss_bytes()
            load.run(TOTAL - TOTAL // 2)
            elapsed = time.monotonic() - started
            cpu = time.process_time() - cpu_started
            load.settle()
            gc.collect()
            after = {
                "fds": fd_count(), "greenlets": greenlet_census(), "sockets": socket_census(),
                "refCount": net.refCount(), "rss": trimmed_rss_bytes(),
            }
            parked = len(idle_workers())
        figures["connections"] = TOTAL
        figures["connections by kind"] = dict(sorted(load.started.items()))
        figures["seconds"] = elapsed
        figures["connections per second (idle ones held 1 s)"] = round(TOTAL / elapsed)
        figures["process CPU seconds"] = cpu
        figures["client error codes"] = dict(sorted(load.client_errors.items()))
        figures["server error codes"] = dict(sorted(load.server_errors.items()))
        figures["bytes verified"] = load.verified
        figures["faults injected"] = TOTAL - load.started["clean echo"] - load.started["raw echo"]
        for name in ("fds", "greenlets", "sockets", "refCount"):
            figures[f"{name} before/after"] = f"{before[name]} / {after[name]}"
        figures["parked dispatcher workers after"] = parked
        figures["RSS MiB before/halfway/after"] = " / ".join(
            f"{value / 2**20:.1f}" for value in (before["rss"], halfway_rss, after["rss"]))

        assert load.bad == []
        assert sum(load.client_closes.values()) == WARM_UP + TOTAL
        assert load.server_closes == load.accepted
        assert load.server.getConnections() == 0
        assert [str(w.message) for w in caught] == []
        assert after["fds"] == before["fds"]
        assert after["greenlets"] == before["greenlets"]
        assert parked <= MAX_IDLE_WORKERS
        assert after["sockets"] == before["sockets"]
        assert after["refCount"] == before["refCount"]
        assert after["rss"] - before["rss"] <= RSS_SLACK
    finally:
        load.close()


def test_refused_and_abandoned_connects_leak_nothing(figures: Figures) -> None:
    """2,000 connects to a port nobody listens on: ECONNREFUSED each, nothing left behind.

    Half are left to fail, half are destroyed before the refusal arrives
    (no 'error' then, as in Node). Tolerances as in the 10,000-connection
    test: descriptors, live greenlets (parked workers aside), gnet.Socket
    objects and refCount exactly as before; no warning.
    """
    probe = gsocket.socket()
    probe.bind((HOST, 0))
    port = probe.getsockname()[1]
    probe.close()  # bound, never listening: the port refuses
    rng = random.Random("refused")
    errors: collections.Counter[str] = collections.Counter()
    closes = 0

    def attempt(done: Callable[[], None]) -> None:
        def on_close(_had_error: bool) -> None:
            nonlocal closes
            closes += 1
            done()

        sock = net.createConnection(port, HOST)
        sock.on("error", lambda err: errors.update([getattr(err, "code", "?")]))
        sock.on("close", on_close)
        if rng.random() < 0.5:
            sock.destroy()

    def batch(count: int) -> None:
        finished = Event()
        left = count

        def done() -> None:
            nonlocal left
            left -= 1
            if not left:
                finished.set()

        for _ in range(count):
            attempt(done)
        assert finished.wait(WAIT_S), f"{left} connects never closed"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch(100)
        wait_quiet(WAIT_S)
        before = (fd_count(), greenlet_census(), socket_census(), net.refCount())
        for _ in range(10):
            batch(200)
        wait_quiet(WAIT_S)
        gevent.sleep(0.05)
        after = (fd_count(), greenlet_census(), socket_census(), net.refCount())
    figures["connects"] = 2000
    figures["error codes"] = dict(errors)
    figures["fds, greenlets, sockets, refCount before"] = str(before)
    figures["fds, greenlets, sockets, refCount after"] = str(after)
    assert closes == 2100
    assert set(errors) == {"ECONNREFUSED"}
    assert [str(w.message) for w in caught] == []
    assert after == before

