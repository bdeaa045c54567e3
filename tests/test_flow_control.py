"""Flow control over real sockets: pause/resume, backpressure, pipe, iteration.

Pause, resume and pauseOnConnect; backpressure, 'drain' and buffer
accounting; plus pipe(), pipeline(), ``for chunk in sock``
and what a blocking listener may hold up. Every test runs on loopback TCP
with real gnet servers and clients (and a raw stdlib socket where the peer
must not be gnet).
"""

from __future__ import annotations

import math
import socket as stdsocket
import time
from typing import Any

import gevent
import pytest
from gevent.event import AsyncResult

import gnet as net
from gnet.errors import StreamPrematureCloseError
from gnet.events import once
from helpers import HOST, KIB, MIB, Harness, wait_until

# gnet reads at most this much per recv(), so one 'data' chunk is never larger.
READ_CHUNK = 64 * KIB


def collect(sock: net.Socket) -> list[Any]:
    """Attach a 'data' listener that keeps every chunk; returns the list."""
    chunks: list[Any] = []
    sock.on("data", chunks.append)
    return chunks


def total(chunks: list[bytes]) -> int:
    return sum(len(c) for c in chunks)


def pattern(size: int) -> bytes:
    """Bytes that show reordering or loss, unlike a run of one byte value."""
    block = bytes(range(251))  # a prime length, so no chunk size aligns with it
    return (block * (size // len(block) + 1))[:size]


# -- E: pause / resume / pauseOnConnect ----------------------------------------------


def test_pause_on_connect_holds_data_until_resume(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append), pauseOnConnect=True)
    client = harness.client(port)
    client.write(b"the queued message")
    sock = harness.accepted_socket()
    gevent.sleep(0.1)
    # The 'data' listener does not resume a socket that starts paused.
    assert got == []
    assert sock.bytesRead == 0
    assert sock.readableFlowing is False
    assert sock.isPaused()
    assert sock.resume() is sock
    wait_until(lambda: b"".join(got) == b"the queued message", what="the data after resume()")
    assert sock.bytesRead == len(b"the queued message")


def test_without_pause_on_connect_data_arrives_at_once(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append), pauseOnConnect=False)
    client = harness.client(port)
    client.write(b"straight through")
    wait_until(lambda: b"".join(got) == b"straight through", what="data without resume()")
    assert harness.accepted[0].isPaused() is False


def test_pause_and_resume_before_connect(harness: Harness) -> None:
    message = b"This was the year he fell to pieces."
    sequences = [
        (("resume",), True),
        (("pause", "resume"), True),
        (("pause",), False),
        (("resume", "pause", "resume"), True),
        (("resume", "resume", "pause"), False),
    ]
    _srv, port = harness.server_and_port(lambda s: s.end(message))
    received = []
    for calls, _flows in sequences:
        client = harness.client(port)
        assert client.connecting
        for name in calls:
            assert getattr(client, name)() is client
        received.append(collect(client))
    flowing = [chunks for chunks, (_calls, flows) in zip(received, sequences, strict=True)
               if flows]
    wait_until(lambda: all(b"".join(c) == message for c in flowing), what="the flowing clients")
    # The paused ones had the same time and more: nothing may have come.
    gevent.sleep(0.1)
    seen = [bool(chunks) for chunks in received]
    assert seen == [flows for _calls, flows in sequences]
    assert sum(seen) == 3
    # Nothing was lost on the paused ones: it waits for resume().
    for client in harness.sockets:
        client.resume()
    wait_until(lambda: all(b"".join(c) == message for c in received), what="the late data")


def test_no_data_while_paused_and_every_byte_after_resume(harness: Harness) -> None:
    size = 1 * MIB
    payload = pattern(size)
    _srv, port = harness.server_and_port(lambda s: s.end(payload))
    client = harness.client(port)
    received: list[bytes] = []
    pauses: list[tuple[int, int]] = []  # (data events at pause, data events at resume)

    def on_data(chunk: bytes) -> None:
        received.append(chunk)
        if len(pauses) < 3:
            assert client.pause() is client
            at_pause = len(received)

            def resume() -> None:
                pauses.append((at_pause, len(received)))
                client.resume()

            net.setTimeout(resume, 100)

    client.on("data", on_data)
    once(client, "end", timeout=5000)
    assert b"".join(received) == payload
    assert len(pauses) == 3
    for at_pause, at_resume in pauses:
        assert at_pause == at_resume


def test_pause_stops_reading_so_a_raw_peer_gets_eagain(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append))
    raw = harness.raw_client(port)
    raw.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_SNDBUF, 64 * KIB)
    raw.setblocking(False)
    sock = harness.accepted_socket()
    raw.send(b"a" * 100)
    wait_until(lambda: total(got) == 100, what="the first bytes")

    sock.pause()
    read_at_pause = sock.bytesRead
    sent = 100
    block = b"b" * (64 * KIB)

    def fill() -> None:
        nonlocal sent
        # Bounded: a socket that kept reading would take 64 MiB before this fails.
        for _ in range(1000):
            try:
                sent += raw.send(block)
            except BlockingIOError:
                return
            gevent.sleep(0)  # give gnet every chance to (wrongly) read
        pytest.fail("the peer could keep sending into a paused socket")

    fill()
    gevent.sleep(0.05)
    fill()  # still full: nobody drained the kernel buffer meanwhile
    # As Node: reading went on into the socket's buffer up to the
    # high-water mark, then stopped.
    stopped_at = sock.bytesRead
    # (the last recv() may take up to 64 KiB past the mark)
    assert stopped_at - read_at_pause <= sock.readableHighWaterMark + 64 * KIB
    gevent.sleep(0.05)
    assert sock.bytesRead == stopped_at
    assert total(got) == 100

    sock.resume()
    wait_until(lambda: total(got) == sent, what="every byte after resume()")
    assert b"".join(got) == b"a" * 100 + b"b" * (sent - 100)


def test_paused_reader_makes_a_gnet_writer_buffer(harness: Harness) -> None:
    got: list[bytes] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("data", got.append)
        sock.pause()

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    sock = harness.accepted_socket()
    written = 0
    chunk = b"w" * (16 * KIB)
    for _ in range(10_000):
        written += len(chunk)
        if not client.write(chunk):
            break
    gevent.sleep(0.05)
    before = client.writableLength
    assert before >= client.writableHighWaterMark - len(chunk)
    for _ in range(64):  # 1 MiB more, none of which the kernel can take now
        client.write(chunk)
        written += len(chunk)
    gevent.sleep(0.05)
    assert client.writableLength == before + MIB
    assert got == []
    # Read into the paused socket's buffer up to its high-water mark only.
    assert sock.bytesRead <= sock.readableHighWaterMark + 64 * KIB

    drained = AsyncResult()
    client.once("drain", lambda: drained.set(client.writableLength))
    sock.resume()
    wait_until(lambda: total(got) == written, what="every byte after resume()")
    assert drained.get(timeout=2) == 0


def test_data_listener_added_late_loses_nothing(harness: Harness) -> None:
    payload = pattern(300 * KIB)  # more than a highWaterMark, so the kernel holds some
    _srv, port = harness.server_and_port()
    client = harness.client(port)
    client.end(payload)
    sock = harness.accepted_socket()
    gevent.sleep(0.2)
    got = collect(sock)
    once(sock, "end", timeout=3000)
    assert b"".join(got) == payload
    assert sock.bytesRead == len(payload)


# -- F: backpressure, 'drain', accounting ----------------------------------------------


def test_buffer_size_counts_writes_made_while_connecting(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    assert client.connecting
    for i in range(1, 6):
        assert client.write("a") is True
        assert client.bufferSize == i
        assert client.writableLength == i
    at_finish: list[tuple[int, int]] = []
    client.on("finish", lambda: at_finish.append((client.bufferSize, client.writableLength)))
    client.end()
    once(client, "close", timeout=2000)
    assert at_finish == [(0, 0)]


def test_write_false_at_default_high_water_mark(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port)
    assert client.connecting  # so every byte below stays queued in gnet
    assert client.writableHighWaterMark == 64 * KIB == net.getDefaultHighWaterMark()
    results = [client.write(b"x" * KIB) for _ in range(64)]
    assert results == [True] * 63 + [False]
    assert client.writableNeedDrain
    assert client.writableLength == 64 * KIB


def test_write_false_at_custom_high_water_mark(harness: Harness) -> None:
    _srv, port = harness.server_and_port(lambda s: s.resume())
    client = harness.client(port, highWaterMark=1000)
    drains: list[int] = []
    client.on("drain", lambda: drains.append(client.writableLength))
    assert client.writableHighWaterMark == 1000
    assert client.write(b"y" * 999) is True
    assert client.writableNeedDrain is False
    assert client.write(b"y") is False
    assert client.writableNeedDrain is True
    wait_until(lambda: drains, what="'drain'")
    gevent.sleep(0.05)
    assert drains == [0]
    assert client.writableNeedDrain is False


def test_high_water_mark_zero_write_while_connecting(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append))
    client = harness.client(port, highWaterMark=0)
    drains: list[None] = []
    client.on("drain", lambda: drains.append(None))
    assert client.connecting
    assert client.write("a") is False
    assert client.writableLength == 1
    wait_until(lambda: got == [b"a"], what="the byte")
    wait_until(lambda: drains, what="'drain'")
    gevent.sleep(0.05)
    assert len(drains) == 1


def test_two_more_writes_after_false_are_accepted_and_none_lost(harness: Harness) -> None:
    received: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", received.append),
                                         pauseOnConnect=True)
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    drains: list[int] = []
    client.on("drain", lambda: drains.append(client.writableLength))
    chunk = b"z" * KIB
    n = 0
    for _ in range(100_000):
        n += 1
        if not client.write(chunk):
            break
    assert client.writableLength >= client.writableHighWaterMark
    assert client.writableNeedDrain
    assert client.write(chunk) is False
    assert client.write(chunk) is False
    expected = (n + 2) * KIB
    assert 0 <= client.bufferSize <= client.writableLength <= expected
    harness.accepted_socket().resume()
    wait_until(lambda: total(received) == expected, what=f"{expected} bytes")
    wait_until(lambda: drains, what="'drain'")
    gevent.sleep(0.05)
    # Three writes returned False before the buffer emptied: one 'drain' for all.
    assert drains == [0]
    assert client.writableNeedDrain is False
    assert client.writableLength == 0


def test_every_false_is_followed_by_one_drain(harness: Harness) -> None:
    received: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", received.append))
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    drains: list[None] = []
    client.on("drain", lambda: drains.append(None))
    chunk = b"d" * (8 * KIB)
    written = 0
    for cycle in range(1, 4):
        # The loop never yields, so the reader cannot catch up: the write
        # returning False comes once the kernel and gnet's buffer are full.
        for _ in range(100_000):
            written += len(chunk)
            if not client.write(chunk):
                break
        once(client, "drain", timeout=3000)
        assert len(drains) == cycle
        assert client.writableLength == 0
    wait_until(lambda: total(received) == written, what="every byte")
    gevent.sleep(0.05)
    assert len(drains) == 3


def test_write_callbacks_run_in_order_once_in_the_kernel(harness: Harness) -> None:
    received: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", received.append),
                                         pauseOnConnect=True)
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    calls: list[tuple[int, Any]] = []
    size = 16 * KIB
    n = 0
    for _ in range(10_000):
        ok = client.write(bytes([n % 256]) * size, lambda err, i=n: calls.append((i, err)))
        n += 1
        if not ok:
            break
    for _ in range(4):  # a few more, all of them queued in gnet
        client.write(bytes([n % 256]) * size, lambda err, i=n: calls.append((i, err)))
        n += 1
    assert calls == []  # never inside write()
    gevent.sleep(0.05)
    # Callbacks ran exactly for the chunks the kernel took whole.
    still_queued = math.ceil(client.writableLength / size)
    assert still_queued >= 4
    assert calls == [(i, None) for i in range(n - still_queued)]
    harness.accepted_socket().resume()
    wait_until(lambda: len(calls) == n, what="every write callback")
    assert calls == [(i, None) for i in range(n)]
    wait_until(lambda: total(received) == n * size, what="every byte")
    assert b"".join(received) == b"".join(bytes([i % 256]) * size for i in range(n))


def test_slow_reader_gets_everything_and_every_callback_runs(harness: Harness) -> None:
    done: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        for _ in range(10):
            sock.write(b"s" * 200_000, done.append)
        sock.end()

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    count = [0]

    def on_data(chunk: bytes) -> None:
        count[0] += len(chunk)
        client.pause()
        net.setTimeout(client.resume, 20)

    client.on("data", on_data)
    once(client, "end", timeout=20_000)
    assert count[0] == 2_000_000
    wait_until(lambda: len(done) == 10, what="the write callbacks")
    assert done == [None] * 10


def test_cork_uncork_small_writes(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append))
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    errors: list[BaseException] = []
    client.on("error", errors.append)
    results = []
    for _ in range(100):
        assert client.cork() is client
        results.append(client.write(b"ab"))
        results.append(client.write(b"cd"))
        assert client.uncork() is client
    assert all(results)
    wait_until(lambda: total(got) == 400, what="400 bytes")
    assert b"".join(got) == b"abcd" * 100
    assert errors == []


def test_cork_holds_writes_until_the_last_uncork(harness: Harness) -> None:
    got: list[bytes] = []
    _srv, port = harness.server_and_port(lambda s: s.on("data", got.append))
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    calls: list[Any] = []
    client.cork()
    client.write(b"held", calls.append)
    client.cork()
    client.write(b"!", calls.append)
    assert client.writableLength == 5
    gevent.sleep(0.05)
    assert got == []
    assert calls == []
    client.uncork()
    gevent.sleep(0.05)
    assert got == []
    assert client.writableLength == 5
    client.uncork()
    wait_until(lambda: b"".join(got) == b"held!", what="the corked bytes")
    wait_until(lambda: len(calls) == 2, what="the write callbacks")
    assert calls == [None, None]
    assert client.writableLength == 0


def test_end_while_corked_sends_what_was_held(harness: Harness) -> None:
    got: list[bytes] = []
    ended: list[bool] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("data", got.append)
        sock.on("end", lambda: ended.append(True))

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    once(client, "connect", timeout=2000)
    client.resume()
    calls: list[Any] = []
    client.cork()
    client.cork()
    client.write(b"x", calls.append)
    client.end(b"y", calls.append)
    # Node's end() uncorks completely, then finishes.
    wait_until(lambda: ended, timeout_s=1.0, what="the server's 'end'")
    assert b"".join(got) == b"xy"
    wait_until(lambda: len(calls) == 2, what="the callbacks")
    assert calls == [None, None]


def test_peer_destroyed_during_a_big_write_gives_one_error(harness: Harness) -> None:
    errors: list[BaseException] = []
    closes: list[bool] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("error", errors.append)
        sock.on("close", closes.append)
        sock.write(b"e" * (10 * MIB))

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.once("data", lambda _chunk: client.destroy())
    wait_until(lambda: closes, what="the server socket's 'close'")
    gevent.sleep(0.05)
    assert len(errors) == 1
    assert isinstance(errors[0], OSError)
    assert errors[0].code in ("ECONNRESET", "EPIPE")  # type: ignore[attr-defined]
    assert closes == [True]


def test_reader_destroys_while_writer_ends(harness: Harness) -> None:
    events: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        def on_error(err: BaseException) -> None:
            events.append("error")
            sock.destroy()

        sock.on("error", on_error)
        sock.on("close", lambda had_error: events.append(("close", had_error)))
        for _ in range(10):
            sock.write(b"f" * 2_000_000)
        sock.end()

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)

    def on_first(_chunk: bytes) -> None:
        client.pause()
        net.setTimeout(client.destroy, 20)

    client.once("data", on_first)
    wait_until(lambda: events and events[-1][0] == "close", what="the server socket's 'close'")
    assert events == ["error", ("close", True)]


# -- pipe ----------------------------------------------------------------------------------


class WriteSpy(net.Socket):
    """A Socket that remembers how much it ever held and how often write() said no."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_length = 0
        self.false_writes = 0

    def write(self, data: Any, encoding: Any = None, callback: Any = None) -> bool:
        ok = super().write(data, encoding, callback)
        self.max_length = max(self.max_length, self.writableLength)
        if not ok:
            self.false_writes += 1
        return ok


def test_pipe_honours_backpressure(harness: Harness) -> None:
    size = 8 * MIB
    payload = pattern(size)
    sunk: list[bytes] = []
    sink_ended: list[bool] = []

    def on_sink(sock: net.Socket) -> None:
        # A consumer that reads nothing for a while, then everything.
        sock.pause()
        sock.on("data", sunk.append)
        sock.on("end", lambda: sink_ended.append(True))
        net.setTimeout(sock.resume, 300)

    _sink, sink_port = harness.server_and_port(on_sink)
    dests: list[WriteSpy] = []

    def on_source(sock: net.Socket) -> None:
        dest = harness.track(WriteSpy())
        dest.connect(sink_port, HOST)
        dests.append(dest)
        assert sock.pipe(dest) is dest

    _srv, port = harness.server_and_port(on_source)
    producer = harness.client(port)
    producer.end(payload)
    wait_until(lambda: sink_ended, timeout_s=10, what="the sink's 'end'")
    assert b"".join(sunk) == payload
    dest = dests[0]
    assert dest.false_writes > 0  # the pipe did meet backpressure
    assert dest.max_length <= dest.writableHighWaterMark + READ_CHUNK


def test_pipe_to_itself_echoes(harness: Harness) -> None:
    payload = pattern(1 * MIB)
    _srv, port = harness.server_and_port(lambda s: s.pipe(s))
    client = harness.client(port)
    got = collect(client)
    events: list[Any] = []
    client.on("end", lambda: events.append("end"))
    client.on("close", lambda had_error: events.append(("close", had_error)))
    client.end(payload)
    wait_until(lambda: len(events) == 2, timeout_s=5, what="'end' and 'close'")
    assert b"".join(got) == payload
    assert events == ["end", ("close", False)]


def test_pipeline_calls_back_none_on_success(harness: Harness) -> None:
    payload = pattern(200 * KIB)
    sunk: list[bytes] = []
    _sink, sink_port = harness.server_and_port(lambda s: s.on("data", sunk.append))
    results: list[Any] = []

    def on_source(sock: net.Socket) -> None:
        dest = harness.client(sink_port)
        assert net.pipeline(sock, dest, results.append) is dest

    _srv, port = harness.server_and_port(on_source)
    producer = harness.client(port)
    producer.end(payload)
    wait_until(lambda: results, what="the pipeline callback")
    wait_until(lambda: total(sunk) == len(payload), what="the sink's data")
    gevent.sleep(0.05)
    assert results == [None]
    assert b"".join(sunk) == payload


def _failing_pipeline(harness: Harness) -> tuple[net.Socket, net.Socket, list[Any], list[Any]]:
    """A producer piped through a server socket into a client: (source, dest, calls, events)."""
    sunk: list[bytes] = []
    _sink, sink_port = harness.server_and_port(lambda s: s.on("data", sunk.append))
    calls: list[Any] = []
    events: list[Any] = []
    pair: list[net.Socket] = []

    def on_source(sock: net.Socket) -> None:
        dest = harness.client(sink_port)
        dest.on("error", lambda err: events.append(("dest error", err)))
        dest.on("close", lambda had_error: events.append(("dest close", had_error)))
        pair[:] = [sock, dest]
        net.pipeline(sock, dest, calls.append)

    _srv, port = harness.server_and_port(on_source)
    producer = harness.client(port)
    producer.on("error", lambda _err: None)
    producer.write(b"partial")
    wait_until(lambda: b"".join(sunk) == b"partial", what="data through the pipeline")
    return pair[0], pair[1], calls, events


def test_pipeline_failure_destroys_the_others_and_calls_back_with_the_error(
        harness: Harness) -> None:
    source, dest, calls, _events = _failing_pipeline(harness)
    boom = RuntimeError("boom")
    source.destroy(boom)
    wait_until(lambda: calls, what="the pipeline callback")
    wait_until(lambda: dest.destroyed, what="the destination's destroy")
    gevent.sleep(0.05)
    assert calls == [boom]


def test_pipeline_failure_destroys_the_others_with_the_error(harness: Harness) -> None:
    source, _dest, calls, events = _failing_pipeline(harness)
    boom = RuntimeError("boom")
    source.destroy(boom)
    wait_until(lambda: any(e[0] == "dest close" for e in events), what="the destination's 'close'")
    assert calls == [boom]
    # Node: the other streams are destroyed with the error itself.
    assert events == [("dest error", boom), ("dest close", True)]


def test_pipeline_middle_stream_destroyed_gives_premature_close(harness: Harness) -> None:
    _echo, echo_port = harness.server_and_port(lambda s: s.pipe(s))
    sunk: list[bytes] = []
    _sink, sink_port = harness.server_and_port(lambda s: s.on("data", sunk.append))
    calls: list[Any] = []
    chain: list[net.Socket] = []

    def on_source(sock: net.Socket) -> None:
        middle = harness.client(echo_port)
        dest = harness.client(sink_port)
        for stream in (sock, dest):
            stream.on("error", lambda _err: None)
        chain[:] = [sock, middle, dest]
        net.pipeline(sock, middle, dest, calls.append)

    _srv, port = harness.server_and_port(on_source)
    producer = harness.client(port)
    producer.on("error", lambda _err: None)
    producer.write(b"through the middle")
    wait_until(lambda: b"".join(sunk) == b"through the middle", what="data through three streams")
    source, middle, dest = chain
    middle.destroy()
    wait_until(lambda: calls, what="the pipeline callback")
    wait_until(lambda: source.destroyed and dest.destroyed, what="the others destroyed")
    gevent.sleep(0.05)
    assert len(calls) == 1
    assert isinstance(calls[0], StreamPrematureCloseError)
    assert calls[0].code == "ERR_STREAM_PREMATURE_CLOSE"


# -- iteration and blocking listeners -------------------------------------------------------


def test_iteration_inside_connection_listener_echoes(harness: Harness) -> None:
    finished: list[str] = []

    def on_connection(sock: net.Socket) -> None:
        for chunk in sock:
            sock.write(chunk)
        finished.append("loop ended")

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    got = collect(client)
    for word in (b"one", b"two", b"three"):
        client.write(word)
        expected = len(word) + total(got)
        wait_until(lambda expected=expected: total(got) == expected, what=f"the echo of {word!r}")
    client.end()
    once(client, "close", timeout=2000)
    assert b"".join(got) == b"onetwothree"
    assert finished == ["loop ended"]


def test_events_once_data_inside_connection_listener(harness: Harness) -> None:
    def on_connection(sock: net.Socket) -> None:
        (chunk,) = once(sock, "data", timeout=2000)
        sock.end(chunk.upper())

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    got = collect(client)
    client.write(b"hello")
    once(client, "end", timeout=2000)
    assert b"".join(got) == b"HELLO"


def test_leaving_the_iteration_early_destroys_the_socket(harness: Harness) -> None:
    seen: list[Any] = []
    closes: list[str] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("close", lambda _had_error: closes.append("server socket"))
        for chunk in sock:
            seen.append(chunk)
            break
        seen.append(sock.destroyed)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.on("error", lambda _err: None)
    client.on("close", lambda _had_error: closes.append("client"))
    client.resume()
    client.write(b"just one")
    wait_until(lambda: len(closes) == 2, what="both sides to close")
    assert seen == [b"just one", True]
    assert sorted(closes) == ["client", "server socket"]


def test_iteration_raises_the_sockets_error(harness: Harness) -> None:
    caught: AsyncResult = AsyncResult()
    got: list[bytes] = []

    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda _err: None)
        try:
            for chunk in sock:
                got.append(chunk)
        except Exception as exc:
            caught.set(exc)
        else:
            caught.set(None)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.write(b"before the reset")
    wait_until(lambda: got, what="the first chunk")
    client.resetAndDestroy()
    exc = caught.get(timeout=3)
    assert isinstance(exc, ConnectionResetError)
    assert exc.code == "ECONNRESET"  # type: ignore[attr-defined]
    assert exc.syscall == "read"  # type: ignore[attr-defined]


def test_iteration_raises_the_error_given_to_destroy(harness: Harness) -> None:
    caught: AsyncResult = AsyncResult()
    boom = ValueError("stop reading")

    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda _err: None)
        net.setTimeout(sock.destroy, 50, boom)
        try:
            for _chunk in sock:
                pass
        except Exception as exc:
            caught.set(exc)
        else:
            caught.set(None)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.on("error", lambda _err: None)
    assert caught.get(timeout=3) is boom


def test_blocking_connection_listener_does_not_stall_other_connections(harness: Harness) -> None:
    log: list[str] = []

    def on_connection(sock: net.Socket) -> None:
        if not log:
            log.append("first blocks")
            gevent.sleep(0.5)
            log.append("first returns")
        else:
            sock.pipe(sock)

    _srv, port = harness.server_and_port(on_connection)
    harness.client(port)
    wait_until(lambda: log, what="the first listener")
    start = time.monotonic()
    second = harness.client(port)
    second.write(b"ping")
    (echo,) = once(second, "data", timeout=2000)
    elapsed = time.monotonic() - start
    log.append("second served")
    assert echo == b"ping"
    assert log == ["first blocks", "second served"]
    # Typically a millisecond or two; the bound only allows for a loaded machine.
    assert elapsed < 0.4
    wait_until(lambda: "first returns" in log, what="the first listener to return")


def test_blocking_data_listener_stalls_only_its_own_socket(harness: Harness) -> None:
    log: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        def on_data(chunk: bytes) -> None:
            log.append(chunk)
            if chunk == b"slow-1":
                gevent.sleep(0.4)
                log.append("slow listener returns")
            sock.write(chunk)

        sock.on("data", on_data)

    _srv, port = harness.server_and_port(on_connection)
    slow = harness.client(port)
    slow_got = collect(slow)
    slow.write(b"slow-1")
    wait_until(lambda: b"slow-1" in log, what="the slow listener to start")
    slow.write(b"slow-2")
    fast = harness.client(port)
    fast.write(b"fast")
    (echo,) = once(fast, "data", timeout=2000)
    assert echo == b"fast"
    assert "slow listener returns" not in log
    wait_until(lambda: b"".join(slow_got) == b"slow-1slow-2", what="the slow socket's echoes")
    # The slow socket's second chunk waited for its own listener to return.
    assert log == [b"slow-1", b"fast", "slow listener returns", b"slow-2"]
