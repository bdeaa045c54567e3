"""Bounded memory: backpressure holds buffers and RSS flat; pause() stops reading at once.

The bounds, stated once:

- A writer that honours write()'s return value (pipe() does) never holds
  more than ``writableHighWaterMark + one chunk`` in ``writableLength``;
  for pipe() a chunk is one 'data' event, at most 64 KiB (gnet reads 64 KiB
  per recv()).
- A reader holds at most ``readableHighWaterMark + one read`` unconsumed.
- So the process's RSS stays flat while any amount of data goes through;
  what is left is the kernel's socket buffers, bounded by the sysctls
  ``net.ipv4.tcp_rmem`` / ``tcp_wmem`` (their maxima are read from /proc).

RSS is read after glibc's ``malloc_trim(0)`` (``trimmed_rss_bytes`` in the
conftest), so memory the allocator keeps for reuse does not count.
"""

from __future__ import annotations

import fcntl
import random
import struct
import termios
import time
from typing import Any

import gevent
import gevent.socket as gsocket
import pytest

import gnet as net
from helpers import HOST, KIB, MIB, wait_until

from .conftest import (
    READ_CHUNK,
    WAIT_S,
    Bench,
    Figures,
    trimmed_rss_bytes,
)
from .peer_process import Pattern

# What goes through the slow pipe, and how long the consumer rests per chunk.
PIPE_TOTAL = 48 * MIB
CONSUMER_REST_MS = 1
# RSS may move this much while the data goes through (the allocator's
# noise); buffering without backpressure would take tens of MiB here.
RSS_SLACK = 4 * MIB


def kernel_buffer_maxima() -> int:
    """The most the kernel may buffer for one TCP socket: tcp_rmem max + tcp_wmem max."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        with open(f"/proc/sys/net/ipv4/{name}") as f:
            total += int(f.read().split()[2])
    return total


def unsent_bytes(sock: Any) -> int:
    """Bytes in a socket's send queue not yet acknowledged by the peer (TIOCOUTQ)."""
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    value: int = struct.unpack("i", raw)[0]
    return value


class SlowConsumer:
    """A gnet server that verifies what it gets and rests CONSUMER_REST_MS after every chunk."""

    def __init__(self, bench: Bench, pattern: Pattern) -> None:
        self.pattern = pattern
        self.received = 0
        self.intact = True
        self.ended = False
        self.server = bench.make_server(self.on_connection)
        self.port = self.server.address()["port"]

    def on_connection(self, sock: net.Socket) -> None:
        def on_data(chunk: bytes) -> None:
            if self.intact and not self.pattern.matches(chunk, self.received):
                self.intact = False
            self.received += len(chunk)
            sock.pause()
            net.setTimeout(sock.resume, CONSUMER_REST_MS)

        sock.on("data", on_data)
        sock.on("end", lambda: setattr(self, "ended", True))


def test_pipe_into_a_slow_consumer_holds_buffers_and_rss_flat(
        bench: Bench, rng: random.Random, figures: Figures) -> None:
    """A producer as fast as loopback allows, through pipe(), into a consumer that rests.

    producer (gnet client, honours write()) -> proxy (gnet server: accepted
    socket .pipe(a client to the consumer)) -> consumer (verifies the seeded
    stream, rests 1 ms after every chunk). 48 MiB go through.

    Bounds: the pipe's destination never holds more than its high-water
    mark plus one chunk (64 KiB) in writableLength, sampled after every
    write the pipe makes and every millisecond; the producer never more than its high-water mark
    plus its own 64 KiB chunk; the proxy's source never more than its
    readable high-water mark plus one read unconsumed. RSS after the
    transfer within 4 MiB of RSS after the first 8 MiB. Every byte arrives,
    in order.
    """
    pattern = Pattern(rng.randrange(2**32))
    consumer = SlowConsumer(bench, pattern)
    samples = {"dest": 0, "source": 0, "producer": 0}
    links: dict[str, net.Socket] = {}

    def on_proxy_connection(source: net.Socket) -> None:
        dest = net.createConnection(consumer.port, HOST)
        bench.clients.append(dest)
        links["dest"] = dest
        links["source"] = source
        source.pipe(dest)

        def sample(_chunk: bytes) -> None:
            samples["dest"] = max(samples["dest"], dest.writableLength)
            samples["source"] = max(samples["source"], source.readableLength)

        source.on("data", sample)

    proxy = bench.make_server(on_proxy_connection)
    producer = bench.connect(proxy.address()["port"])
    chunk = 64 * KIB
    sent = 0
    rss: dict[str, int] = {}
    started = time.monotonic()

    def produce() -> None:
        nonlocal sent
        while sent < PIPE_TOTAL:
            data = pattern.chunk(sent, chunk)
            sent += len(data)
            ok = producer.write(data)
            samples["producer"] = max(samples["producer"], producer.writableLength)
            if not ok:
                producer.once("drain", produce)
                return
        producer.end()

    def sample_often() -> None:
        # Between events too: what sits in the buffers while nothing happens.
        while not consumer.ended:
            if links:
                samples["dest"] = max(samples["dest"], links["dest"].writableLength)
                samples["source"] = max(samples["source"], links["source"].readableLength)
            samples["producer"] = max(samples["producer"], producer.writableLength)
            gevent.sleep(0.001)

    producer.on("connect", produce)
    sampler = gevent.spawn(sample_often)
    wait_until(lambda: consumer.received >= 8 * MIB, timeout_s=30, what="the first 8 MiB")
    rss["early"] = trimmed_rss_bytes()
    wait_until(lambda: consumer.ended, timeout_s=30, what="the whole transfer")
    elapsed = time.monotonic() - started
    rss["end"] = trimmed_rss_bytes()
    sampler.join(WAIT_S)

    dest, source = links["dest"], links["source"]
    figures["bytes through the pipe"] = PIPE_TOTAL
    figures["seconds"] = elapsed
    figures["MB/s at the consumer"] = round(PIPE_TOTAL / elapsed / 1e6, 1)
    figures["max pipe destination writableLength"] = samples["dest"]
    figures["destination writableHighWaterMark"] = dest.writableHighWaterMark
    figures["max producer writableLength"] = samples["producer"]
    figures["max pipe source readableLength"] = samples["source"]
    figures["RSS MiB after 8 MiB / at the end"] = (
        f"{rss['early'] / MIB:.1f} / {rss['end'] / MIB:.1f}")
    bench.verified += consumer.received

    assert consumer.received == PIPE_TOTAL
    assert consumer.intact
    assert samples["dest"] <= dest.writableHighWaterMark + READ_CHUNK
    assert samples["dest"] > 0  # the consumer was slow enough to push back
    assert samples["producer"] <= producer.writableHighWaterMark + chunk
    assert samples["source"] <= source.readableHighWaterMark + READ_CHUNK
    assert rss["end"] - rss["early"] <= RSS_SLACK


def echo_honouring_write(sock: net.Socket) -> None:
    """Echo that pauses when write() returns False and resumes on 'drain'."""

    def on_data(chunk: bytes) -> None:
        if not sock.write(chunk):
            sock.pause()
            sock.once("drain", sock.resume)

    sock.on("data", on_data)


def echo_ignoring_write(sock: net.Socket) -> None:
    """Echo that ignores write()'s return value: the mistake backpressure guards against."""
    sock.on("data", sock.write)


def send_until_blocked(raw: gsocket.socket, pattern: Pattern, limit: int,
                       blocked_s: float = 0.3) -> int:
    """Send the pattern without reading until sends have failed for ``blocked_s`` (or ``limit``)."""
    raw.setblocking(False)
    sent = 0
    blocked_since = None
    deadline = time.monotonic() + 20
    while sent < limit and time.monotonic() < deadline:
        try:
            sent += raw.send(pattern.chunk(sent, 64 * KIB))
            blocked_since = None
        except BlockingIOError:
            now = time.monotonic()
            blocked_since = blocked_since or now
            if now - blocked_since >= blocked_s:
                break
            gevent.sleep(0.005)
    return sent


@pytest.mark.parametrize("server", ["honours write()", "ignores write() (control)"])
def test_a_client_that_never_reads(bench: Bench, rng: random.Random, figures: Figures,
                                   server: str) -> None:
    """A stdlib client sends an echo server all it can and reads nothing back.

    A server that honours write()'s return value keeps writableLength
    within its high-water mark plus one chunk (64 KiB) and readableLength
    within its readable high-water mark plus one read; the client gets
    stuck after at most what the kernel buffers on both sides (tcp_rmem max
    + tcp_wmem max, twice, read from /proc) plus those two bounds, and the
    server's RSS stays within 4 MiB while it is stuck. Then the client
    reads: every byte comes back, in order.

    The control, a server that ignores write()'s return value, shows the
    rig really pushes: its writableLength grows past 8 high-water marks
    (the client stops at 64 MiB).
    """
    honours = server.startswith("honours")
    pattern = Pattern(rng.randrange(2**32))
    raw, accepted = bench.raw_pair()
    (echo_honouring_write if honours else echo_ignoring_write)(accepted)
    limit = 64 * MIB
    rss_start = trimmed_rss_bytes()
    sent = send_until_blocked(raw, pattern, limit)
    rss_stuck = trimmed_rss_bytes()
    gevent.sleep(0.2)
    rss_later = trimmed_rss_bytes()
    held_out = accepted.writableLength
    held_in = accepted.readableLength
    bound = 2 * kernel_buffer_maxima() + accepted.writableHighWaterMark + \
        accepted.readableHighWaterMark + 2 * READ_CHUNK

    figures["client sent before it got stuck"] = sent
    figures["bound on that (kernel maxima + gnet)"] = bound
    figures["server writableLength while stuck"] = held_out
    figures["server readableLength while stuck"] = held_in
    figures["RSS MiB start / stuck / 200 ms later"] = " / ".join(
        f"{v / MIB:.1f}" for v in (rss_start, rss_stuck, rss_later))

    if not honours:
        assert held_out > 8 * accepted.writableHighWaterMark
        return
    assert sent < limit
    assert sent <= bound
    assert held_out <= accepted.writableHighWaterMark + READ_CHUNK
    assert held_in <= accepted.readableHighWaterMark + READ_CHUNK
    assert rss_later - rss_stuck <= RSS_SLACK

    log = bench.log_of(accepted)
    raw.setblocking(True)
    raw.settimeout(WAIT_S)
    raw.shutdown(gsocket.SHUT_WR)
    got = bytearray()
    while chunk := raw.recv(256 * KIB):
        got += chunk
    assert len(got) == sent
    assert pattern.matches(got)
    log.wait_closed().assert_closed_once(False)
    bench.verified += len(got)


def test_pause_stops_reading_from_the_kernel(
        bench: Bench, rng: random.Random, figures: Figures,
) -> None:
    """pause() inside 'data': reading stops at the high-water mark, the peer's send buffer fills.

    A stdlib client streams the seeded pattern; the server's socket pauses
    after a seeded random amount (100 KiB to 2 MiB). While paused (300 ms
    of the client being unable to send): bytesRead grows by at most
    readableHighWaterMark past the pause (Node reads on into its buffer up
    to that mark) and then does not move by a single byte, no 'data' comes,
    and the client's own send queue holds unsent bytes (TIOCOUTQ > 0), so
    TCP pushes back all the way. After resume() every byte arrives, in order.
    """
    pattern = Pattern(rng.randrange(2**32))
    pause_after = rng.randrange(100 * KIB, 2 * MIB)
    raw, accepted = bench.raw_pair()
    got = bytearray()
    state: dict[str, Any] = {"data while paused": 0}

    def on_data(chunk: bytes) -> None:
        if accepted.isPaused():
            state["data while paused"] += 1
        got.extend(chunk)
        if "paused at" not in state and len(got) >= pause_after:
            accepted.pause()
            state["paused at"] = accepted.bytesRead

    accepted.on("data", on_data)
    sender = gevent.spawn(send_until_blocked, raw, pattern, 256 * MIB)
    sent = sender.get(timeout=30)
    wait_until(lambda: "paused at" in state, what="the pause")
    # Reading goes on into the socket's buffer until it holds the mark
    # (the last recv() may take up to 64 KiB past it): wait until it stops.
    frozen = -1
    for _ in range(100):
        if accepted.bytesRead == frozen:
            break
        frozen = accepted.bytesRead
        gevent.sleep(0.02)
    queued = unsent_bytes(raw)
    gevent.sleep(0.1)
    assert accepted.bytesRead == frozen
    assert 0 <= frozen - state["paused at"] <= accepted.readableHighWaterMark + 64 * KIB
    assert state["data while paused"] == 0
    assert queued > 0
    assert sent < 256 * MIB

    figures["paused after bytes"] = state["paused at"]
    figures["client sent until stuck"] = sent
    figures["client's unsent send queue (TIOCOUTQ)"] = queued

    accepted.resume()
    log = bench.log_of(accepted)
    raw.shutdown(gsocket.SHUT_WR)
    log.wait_closed().assert_closed_once(False)
    assert len(got) == sent
    assert pattern.matches(got)
    bench.verified += len(got)

