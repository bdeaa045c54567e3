"""Pull mode on sockets: 'readable', read([n]), unshift(), readableFlowing, as Node 20.

Each scenario was run under Node 20 first (the script is quoted in the
test's docstring, shortened); the expected logs are what Node printed. The
peer is a gnet server socket the test drives step by step, so what arrives
together and what arrives apart is fixed, not left to timing.
"""

from __future__ import annotations

from typing import Any

import pytest

import gnet as net
from gnet.errors import StreamUnshiftAfterEndEventError
from helpers import HOST, KIB, Harness, wait_until


def _pair(harness: Harness, setup: Any = None, **options: Any) -> tuple[net.Socket, net.Socket]:
    # A client (given its listeners by setup() before it connects) and the
    # server's side of the connection.
    _srv, port = harness.server_and_port()
    client = harness.socket(options or None)
    if setup is not None:
        setup(client)
    client.connect(port, HOST)
    peer = harness.accepted_socket()
    wait_until(lambda: not client.connecting, what="the connection")
    return client, peer


def _logged(log: list[Any], entry: Any) -> None:
    wait_until(lambda: entry in log, what=repr(entry))


def test_read_n_in_a_readable_listener(harness: Harness) -> None:
    """Node: on('readable', () => { while ((c = s.read(3)) !== null) ... }), then 'data' too.

    read(3) returns None while fewer than 3 bytes are buffered, the rest
    once the peer ended; each chunk read is also emitted as 'data'.
    """
    log: list[Any] = []

    def setup(s: net.Socket) -> None:
        log.append(("before", s.readableFlowing, s.isPaused()))

        def on_readable() -> None:
            log.append(("readable", s.readableLength))
            while (chunk := s.read(3)) is not None:
                log.append(("read3", chunk))
            log.append(("after loop", s.readableLength, s.readableEnded))

        s.on("readable", on_readable)
        log.append(("after on readable", s.readableFlowing, s.isPaused()))
        s.on("data", lambda d: log.append(("data", d)))
        log.append(("after on data", s.readableFlowing, s.isPaused()))
        s.on("end", lambda: log.append(("end", s.readableLength)))
        s.on("close", lambda _e: log.append(("close", s.readableFlowing)))

    _client, peer = _pair(harness, setup)
    peer.write(b"hello world")
    _logged(log, ("after loop", 2, False))
    peer.end(b"!!")
    _logged(log, ("close", False))
    assert log == [
        ("before", None, False),
        ("after on readable", False, True),
        ("after on data", False, True),
        ("readable", 11),
        ("data", b"hel"), ("read3", b"hel"),
        ("data", b"lo "), ("read3", b"lo "),
        ("data", b"wor"), ("read3", b"wor"),
        ("after loop", 2, False),
        ("readable", 4),
        ("data", b"ld!"), ("read3", b"ld!"),
        ("after loop", 1, False),
        ("readable", 1),
        ("data", b"!"), ("read3", b"!"),
        ("after loop", 0, False),
        ("end", 0),
        ("close", False),
    ]


def test_readable_at_eof_then_read_returns_none_then_end(harness: Harness) -> None:
    """Node: resume() with a 'readable' listener stays paused but emits 'resume';
    at EOF 'readable' comes with nothing buffered, read() gives null, then 'end'."""
    log: list[Any] = []
    flags: list[Any] = []

    def setup(s: net.Socket) -> None:
        s.on("pause", lambda: log.append("pause"))
        s.on("resume", lambda: log.append("resume"))

        def on_readable() -> None:
            log.append(("readable", s.readableLength, s.readableEnded))
            log.append(("read()", s.read()))
            log.append(("read() again", s.read()))

        s.on("readable", on_readable)
        s.on("end", lambda: log.append("end"))
        s.on("close", lambda _e: log.append(("close", s.read(), s.readableFlowing,
                                              s.isPaused())))
        assert s.resume() is s
        flags.append((s.readableFlowing, s.isPaused()))

    _client, peer = _pair(harness, setup)
    peer.write(b"abc")
    _logged(log, ("read() again", None))
    peer.end()
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert flags == [(False, True)]
    assert log == [
        "resume",
        ("readable", 3, False), ("read()", b"abc"), ("read() again", None),
        ("readable", 0, False), ("read()", None), ("read() again", None),
        "end",
        ("close", None, False, True),
    ]


def test_removing_readable_lets_data_flow(harness: Harness) -> None:
    """Node: removeListener('readable') with a 'data' listener resumes on the next
    turn ('resume', then the rest as 'data'); readableFlowing is then True."""
    log: list[Any] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)

        def on_readable() -> None:
            log.append(("readable", s.readableLength, s.readableFlowing))
            log.append(("read", s.read(1)))
            s.removeListener("readable", on_readable)
            log.append(("removed", s.readableFlowing, s.isPaused()))

        s.on("readable", on_readable)
        s.on("data", lambda d: log.append(("data", d)))
        s.on("resume", lambda: log.append("resume"))
        s.on("end", lambda: log.append("end"))

    _c, peer = _pair(harness, setup)
    peer.write(b"abc")
    _logged(log, ("data", b"bc"))
    assert (client[0].readableFlowing, client[0].isPaused()) == (True, False)
    peer.write(b"def")
    _logged(log, ("data", b"def"))
    peer.end(b"ghi")
    _logged(log, "end")
    assert log == [
        ("readable", 3, False), ("data", b"a"), ("read", b"a"),
        ("removed", False, True), "resume", ("data", b"bc"),
        ("data", b"def"), ("data", b"ghi"), "end",
    ]


def test_read_n_counts_characters_after_set_encoding(harness: Harness) -> None:
    """Node: setEncoding('utf8'); read(4) counts characters; unshift('XY') is read
    back first and a 'readable' listener hears of it again."""
    log: list[Any] = []
    unshifted: list[bool] = []

    def setup(s: net.Socket) -> None:
        s.setEncoding("utf8")

        def on_readable() -> None:
            log.append(("readable", s.readableLength, s.readableEncoding))
            while (chunk := s.read(4)) is not None:
                log.append(("r4", chunk, s.readableLength))
            if not unshifted:
                unshifted.append(s.unshift("XY"))
                log.append(("unshifted", s.readableLength))
                log.append(("r1", s.read(1)))

        s.on("readable", on_readable)
        s.on("end", lambda: log.append("end"))

    _c, peer = _pair(harness, setup)
    # A multi-byte character split between two writes arrives whole.
    data = "héllo wörld€".encode()
    peer.write(data[:2])
    wait_until(lambda: log, what="'readable'")
    peer.end(data[2:])
    _logged(log, "end")
    assert unshifted == [True]
    # 'h' and half of 'é' came first: one character; 'XY' went in front of it.
    assert log[:3] == [("readable", 1, "utf8"), ("unshifted", 3), ("r1", "X")]
    reads = [entry[1] for entry in log if entry[0] in ("r4", "r1")]
    assert "".join(reads) == "XYhéllo wörld€"
    assert all(len(chunk) == 4 for chunk in reads[1:-1])


def test_set_encoding_read_n_at_once(harness: Harness) -> None:
    """Node printed: readable 12 utf8 / r4 "héll" 8 / r4 "o wö" 4 / r4 "rld€" 0 /
    unshift ret true 2 / r1 X, then 'readable' 1 for the 'Y' left."""
    log: list[Any] = []

    def setup(s: net.Socket) -> None:
        s.setEncoding("utf8")

        def on_readable() -> None:
            log.append(("readable", s.readableLength, s.readableEncoding))
            while (chunk := s.read(4)) is not None:
                log.append(("r4", chunk, s.readableLength))
            if len(log) < 6:
                log.append(("unshift", s.unshift("XY"), s.readableLength))
                log.append(("r1", s.read(1)))

        s.on("readable", on_readable)
        s.on("end", lambda: log.append("end"))

    _c, peer = _pair(harness, setup)
    peer.end("héllo wörld€".encode())
    _logged(log, "end")
    assert log[:7] == [
        ("readable", 12, "utf8"),
        ("r4", "héll", 8), ("r4", "o wö", 4), ("r4", "rld€", 0),
        ("unshift", True, 2), ("r1", "X"),
        ("readable", 1, "utf8"),
    ]
    assert log[-2:] == [("r4", "Y", 0), "end"]


def test_read_zero_too_much_and_readable_removed_without_data_listener(
        harness: Harness) -> None:
    """Node: read(0) and read(10) with 6 buffered give null; removing the only
    'readable' listener makes readableFlowing null again; pause() then a new
    'readable' listener reads the rest."""
    log: list[Any] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)

        def on_readable() -> None:
            log.append(("readable", s.readableLength))
            log.append(("r0", s.read(0), s.readableLength))
            log.append(("r10", s.read(10), s.readableLength))
            s.removeListener("readable", on_readable)

        s.on("readable", on_readable)
        s.on("pause", lambda: log.append("pause"))
        s.on("resume", lambda: log.append("resume"))
        s.on("end", lambda: log.append("end"))

    _c, peer = _pair(harness, setup)
    s = client[0]
    peer.write(b"abcdef")
    _logged(log, ("r10", None, 6))
    wait_until(lambda: s.readableFlowing is None, what="readableFlowing None")
    assert (s.isPaused(), s.readableLength) == (False, 6)
    s.pause()
    assert s.readableFlowing is False
    s.on("readable", lambda: log.append(("readable2", s.readableLength, s.read())))
    _logged(log, ("readable2", 6, b"abcdef"))
    peer.end(b"gh")
    _logged(log, "end")
    assert log == [
        ("readable", 6), ("r0", None, 6), ("r10", None, 6), "pause",
        ("readable2", 6, b"abcdef"), ("readable2", 2, b"gh"), ("readable2", 0, None), "end",
    ]


def test_readable_on_a_paused_socket_with_data_listener(harness: Harness) -> None:
    """Node: pause(); on('data'); later on('readable') with read(4): 'data' comes
    for each chunk read, and the rest (fewer than 4) once the peer ended."""
    log: list[Any] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.pause()
        s.on("data", lambda d: log.append(("data", d)))
        s.on("end", lambda: log.append("end"))

    _c, peer = _pair(harness, setup)
    s = client[0]
    assert s.readableFlowing is False
    peer.end(b"abcdef")

    def on_readable() -> None:
        log.append(("readable", s.readableLength))
        while (chunk := s.read(4)) is not None:
            log.append(("r4", chunk))

    s.on("readable", on_readable)
    _logged(log, "end")
    assert [e for e in log if e[0] != "readable"] == [
        ("data", b"abcd"), ("r4", b"abcd"), ("data", b"ef"), ("r4", b"ef"), "end"]


def test_unshift_after_end_destroys_with_node_error(harness: Harness) -> None:
    """Node: unshift('z') in 'end' returns false and the socket is destroyed with
    ERR_STREAM_UNSHIFT_AFTER_END_EVENT ('stream.unshift() after end event')."""
    log: list[Any] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.on("data", lambda d: log.append(("data", d)))
        s.on("end", lambda: log.append(("unshift", s.unshift("z"))))
        s.on("error", lambda e: log.append(("error", e.code, str(e))))
        s.on("close", lambda _e: log.append(("close", s.errored is not None,
                                              s.readableAborted, s.destroyed)))

    _c, peer = _pair(harness, setup)
    peer.end(b"abc")
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    assert log == [
        ("data", b"abc"), ("unshift", False),
        ("error", "ERR_STREAM_UNSHIFT_AFTER_END_EVENT", "stream.unshift() after end event"),
        ("close", True, False, True),
    ]
    assert isinstance(client[0].errored, StreamUnshiftAfterEndEventError)


@pytest.mark.timeout(30)
def test_readable_without_reading_stops_at_the_high_water_mark(harness: Harness) -> None:
    """Backpressure is unchanged in pull mode: a 'readable' listener that does not
    read lets at most readableHighWaterMark (plus one read) in; read() lets the rest in."""
    hwm = 16 * KIB
    total = 4 * 1024 * KIB
    readables: list[int] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.on("readable", lambda: readables.append(s.readableLength))

    _c, peer = _pair(harness, setup, readableHighWaterMark=hwm)
    s = client[0]
    peer.write(b"x" * total)
    wait_until(lambda: readables, what="'readable'")
    wait_until(lambda: peer.writableLength < total, what="the kernel to take some")
    before = s.bytesRead
    wait_until(lambda: False, 0.2, fail=False)
    assert s.bytesRead == before  # reading stopped
    assert hwm <= s.readableLength < hwm + 64 * KIB
    assert peer.writableLength > 0  # and the peer is held back
    got = 0

    def drain() -> None:
        nonlocal got
        while (chunk := s.read()) is not None:
            got += len(chunk)

    s.removeAllListeners("readable")
    s.on("readable", drain)
    drain()
    wait_until(lambda: got == total, 20, what="every byte")
    assert s.readableHighWaterMark == hwm


def test_read_beyond_the_high_water_mark_raises_it_as_node(harness: Harness) -> None:
    """Node: read(100000) with highWaterMark 16384 makes it 131072 (the next power of
    two); above 1 GiB ERR_OUT_OF_RANGE; read() on a new socket is None and leaves
    readableFlowing None."""
    s = harness.socket({"highWaterMark": 16384})
    assert (s.read(), s.read(0), s.readableFlowing) == (None, None, None)
    assert s.read(100000) is None
    assert s.readableHighWaterMark == 131072
    with pytest.raises(net.errors.OutOfRangeError) as info:
        s.read(2**31)
    assert info.value.code == "ERR_OUT_OF_RANGE"
    assert str(info.value).startswith('The value of "size" is out of range. '
                                      'It must be <= 1GiB.')
    with pytest.raises(TypeError):
        s.unshift(5)


def test_unshift_then_data_listener_gets_it_first(harness: Harness) -> None:
    """ws's pattern: unshift(head) before any listener, then on('data'): the
    unshifted bytes come first, then what the peer sends."""
    log: list[Any] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        assert s.unshift(b"head:") is True

    _c, peer = _pair(harness, setup)
    s = client[0]
    s.on("data", lambda d: log.append(d))
    s.on("end", lambda: log.append("end"))
    peer.end(b"body")
    _logged(log, "end")
    assert b"".join(x for x in log if isinstance(x, bytes)) == b"head:body"
    assert log[0] == b"head:"
    assert s.readableDidRead is True


def test_iterating_a_socket_in_pull_mode(harness: Harness) -> None:
    """After read()/unshift(), iterating still yields everything until 'end'."""
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.unshift(b"0")

    _c, peer = _pair(harness, setup)
    peer.write(b"12")
    peer.end(b"34")
    chunks = list(client[0])
    assert b"".join(chunks) == b"01234"


def test_a_data_only_socket_never_enters_pull_mode(harness: Harness) -> None:
    """The flowing path stays as it was for sockets that never use pull mode."""
    got: list[bytes] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.on("data", got.append)

    _c, peer = _pair(harness, setup)
    peer.end(b"x" * 100_000)
    wait_until(lambda: sum(map(len, got)) == 100_000, what="the data")
    assert client[0]._pull is False


def test_a_socket_reconnected_in_pull_mode_reads_again(harness: Harness) -> None:
    """Node 20 leaves such a socket without reading (its 'readable' listener waits
    forever); gnet starts reading on the new connection (docs/differences.md)."""
    count = [0]

    def serve(c: net.Socket) -> None:
        count[0] += 1
        c.end(f"conn{count[0]}")

    _srv, port = harness.server_and_port(serve)
    s = harness.socket()
    log: list[Any] = []
    s.on("readable", lambda: log.append(("readable", s.read())))
    s.on("end", lambda: log.append("end"))

    def on_close(_e: bool) -> None:
        log.append("close")
        if count[0] == 1:
            s.connect(port, HOST)

    s.on("close", on_close)
    s.connect(port, HOST)
    wait_until(lambda: log.count("close") == 2, what="two connections")
    assert log == [("readable", b"conn1"), ("readable", None), "end", "close",
                   ("readable", b"conn2"), ("readable", None), "end", "close"]


def test_readable_added_in_the_connection_listener_of_a_paused_server(
        harness: Harness) -> None:
    """pauseOnConnect: the 'readable' listener starts reading, as Node's read(0) does."""
    got: list[Any] = []

    def serve(c: net.Socket) -> None:
        assert c.readableFlowing is False

        def on_readable() -> None:
            while (chunk := c.read()) is not None:
                got.append(chunk)

        c.on("readable", on_readable)
        c.on("end", lambda: got.append("end"))

    _srv, port = harness.server_and_port(serve, pauseOnConnect=True)
    client = harness.client(port)
    client.end(b"ping")
    wait_until(lambda: got and got[-1] == "end", what="'end'")
    assert b"".join(x for x in got if isinstance(x, bytes)) == b"ping"


def test_set_encoding_after_bytes_were_buffered_in_pull_mode(harness: Harness) -> None:
    """Node's setEncoding() decodes what is buffered: readableLength turns into characters."""
    client: list[net.Socket] = []
    seen: list[Any] = []

    def setup(s: net.Socket) -> None:
        client.append(s)
        s.on("readable", lambda: seen.append(s.readableLength))

    _c, peer = _pair(harness, setup)
    s = client[0]
    peer.write("€€".encode())
    wait_until(lambda: s.readableLength == 6, what="6 bytes")
    s.setEncoding("utf8")
    assert s.readableLength == 2
    assert s.read(1) == "€"
    assert s.read() == "€"
    assert s.read() is None


def test_set_encoding_inside_a_data_listener_decodes_what_is_queued(
        harness: Harness) -> None:
    """Node 20 printed [ <Buffer 61>, 'bc' ]: the chunks still buffered when a 'data'
    listener calls setEncoding() come as one string, and nothing stalls."""
    client: list[net.Socket] = []

    _c, peer = _pair(harness, client.append)
    s = client[0]
    s.resume()  # reading starts (a socket paused before it connects does not read)
    s.pause()
    for piece in (b"a", b"b"):
        expected = s.bytesRead + 1
        peer.write(piece)
        wait_until(lambda expected=expected: s.bytesRead == expected, what="the piece")
    peer.end(b"c")
    wait_until(lambda: s.bytesRead == 3, what="the last piece")
    got: list[Any] = []

    def on_data(d: Any) -> None:
        got.append(d)
        if len(got) == 1:
            s.setEncoding("utf8")

    s.on("data", on_data)
    s.on("end", lambda: got.append("end"))
    s.resume()
    wait_until(lambda: got and got[-1] == "end", what="'end'")
    assert got == [b"a", "bc", "end"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_read_sizes_return_the_stream_in_order(harness: Harness, seed: int) -> None:
    """read(n) with sizes from 1 to beyond the highWaterMark, against writes of random
    sizes: every chunk but the last has the size asked, and together they are the
    stream; the last read() at EOF gives None and 'end' follows."""
    import random

    rng = random.Random(seed)
    data = rng.randbytes(300 * KIB)
    got: list[bytes] = []
    sizes: list[int] = []
    ended: list[bool] = []
    client: list[net.Socket] = []

    def setup(s: net.Socket) -> None:
        client.append(s)

        def on_readable() -> None:
            while True:
                n = sizes[-1] if sizes and len(got) < len(sizes) else rng.choice(
                    (1, 3, 4, 100, 1000, rng.randint(1, 200 * KIB)))
                if len(got) == len(sizes):
                    sizes.append(n)
                chunk = s.read(n)
                if chunk is None:
                    return
                got.append(chunk)

        s.on("readable", on_readable)
        s.on("end", lambda: ended.append(True))

    _c, peer = _pair(harness, setup, readableHighWaterMark=16 * KIB)
    at = 0
    while at < len(data):
        size = rng.randint(1, 40 * KIB)
        peer.write(data[at:at + size])
        at += size
    peer.end()
    wait_until(lambda: ended, 20, what="'end'")
    assert b"".join(got) == data
    assert all(len(chunk) == size for chunk, size in zip(got[:-1], sizes, strict=False))
    assert len(got[-1]) <= sizes[len(got) - 1]


@pytest.mark.timeout(30)
def test_pipe_after_unshift_sends_the_unshifted_bytes_first(harness: Harness) -> None:
    """ws's pattern continued: unshift(head), then pipe() to another socket, with
    that socket's backpressure (pause()/resume() in pull mode)."""
    received: list[bytes] = []
    done: list[bool] = []

    def sink(c: net.Socket) -> None:
        c.on("data", received.append)
        c.on("end", lambda: done.append(True))

    _sink_srv, sink_port = harness.server_and_port(sink)
    client: list[net.Socket] = []
    _c, peer = _pair(harness, client.append)
    s = client[0]
    s.unshift(b"head:")
    dest = harness.client(sink_port, writableHighWaterMark=1024)
    s.pipe(dest)
    body = bytes(range(256)) * 4096  # 1 MiB
    peer.end(body)
    wait_until(lambda: done, 20, what="the sink's 'end'")
    assert b"".join(received) == b"head:" + body
