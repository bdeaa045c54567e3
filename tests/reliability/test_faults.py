"""Fault injection on loopback: resets, killed peers, half-close races, destroy and late writes.

Every scenario runs on a :class:`Bench` server while four bystander echo
transfers (512 KiB each) are half done; the fault goes in, its socket's
events are checked, then the bystanders finish and must come back byte for
byte, and a fresh connection must still be served. In each case:

- the right error code reaches 'error' (ECONNRESET for a reset, EPIPE for a
  write after the peer's FIN, the given error for ``destroy(err)``), once;
- 'close' comes exactly once, last, with ``hadError`` true exactly when
  'error' came;
- no 'data' after 'close', and whatever data arrived is an exact prefix of
  what was sent;
- gnet logs no error of its own.

Random points (where a transfer is cut, how much a peer reads before it
stalls) come from ``random.Random`` seeded with the test id, so every run
makes the same choices.
"""

from __future__ import annotations

import errno
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.socket as gsocket
import gevent.subprocess
import pytest

import gnet as net
from helpers import HOST, KIB, MIB, wait_until

from .conftest import (
    WAIT_S,
    Bench,
    EventLog,
    linger_zero,
)
from .peer_process import Pattern

# Transfers cut per reset test; each cut is a fresh connection.
ROUNDS = 5
PEER_SCRIPT = str(Path(__file__).with_name("peer_process.py"))
EPIPE_MESSAGE = "This socket has been ended by the other party"


def echo_with_backpressure(sock: net.Socket) -> None:
    """Echo by hand, honouring write()'s return value (what pipe() does)."""

    def on_data(chunk: bytes) -> None:
        if not sock.write(chunk):
            sock.pause()
            sock.once("drain", sock.resume)

    sock.on("data", on_data)


class Pump:
    """Writes a Pattern into a socket as fast as it drains, until stopped or destroyed."""

    def __init__(self, sock: net.Socket, pattern: Pattern, chunk: int = 64 * KIB) -> None:
        self.sock = sock
        self.pattern = pattern
        self.chunk = chunk
        self.written = 0
        self.stopped = False
        self.run()

    def run(self) -> None:
        sock = self.sock
        while not self.stopped and not sock.destroyed:
            data = self.pattern.chunk(self.written, self.chunk)
            self.written += len(data)
            if not sock.write(data):
                sock.once("drain", self.run)
                return

    def blocked_for(self, seconds: float) -> None:
        """Wait until the socket has needed 'drain' for ``seconds`` in a row (buffers full)."""
        deadline = time.monotonic() + WAIT_S
        since = None
        while time.monotonic() < deadline:
            if self.sock.writableNeedDrain:
                since = since or time.monotonic()
                if time.monotonic() - since >= seconds:
                    return
            else:
                since = None
            gevent.sleep(0.005)
        pytest.fail("the writer never stayed blocked: the peer keeps reading")


class Peer:
    """tests/reliability/peer_process.py in a child process, killed at the end."""

    def __init__(self, *args: Any) -> None:
        self.proc = gevent.subprocess.Popen(
            [sys.executable, PEER_SCRIPT, *map(str, args)],
            stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE, text=True,
        )

    def expect(self, word: str) -> str:
        """Read the child's next line, which must start with ``word``; returns the rest."""
        with gevent.Timeout(WAIT_S, AssertionError(f"the peer never said {word!r}")):
            line = self.proc.stdout.readline().strip()
        if not line.startswith(word):
            self.proc.kill()
            pytest.fail(f"peer said {line!r}, expected {word!r}; stderr: {self.proc.stderr.read()}")
        return line[len(word):].strip()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=WAIT_S) == -signal.SIGKILL

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=WAIT_S)


# --- resets at a random point ----------------------------------------------------------


class CutEcho:
    """The server's side of an echo that resets once ``cut`` bytes were echoed."""

    def __init__(self, sock: net.Socket, cut: int) -> None:
        self.sock = sock
        self.cut = cut
        self.echoed = 0
        sock.on("data", self.on_data)

    def on_data(self, chunk: bytes) -> None:
        sock = self.sock
        if self.echoed + len(chunk) >= self.cut:
            sock.write(chunk[:self.cut - self.echoed])
            sock.resetAndDestroy()
            return
        self.echoed += len(chunk)
        if not sock.write(chunk):
            sock.pause()
            sock.once("drain", sock.resume)


class ResetAfter:
    """A client that resets once ``cut`` echoed bytes came back."""

    def __init__(self, sock: net.Socket, cut: int) -> None:
        self.sock = sock
        self.cut = cut
        self.received = 0
        sock.on("data", self.on_data)

    def on_data(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received >= self.cut:
            self.sock.resetAndDestroy()


def test_server_resets_at_a_random_point_of_an_echo(bench: Bench, rng: random.Random) -> None:
    """The server's socket resets (SO_LINGER 0) a 1 MiB echo at a seeded random byte.

    The client gets one 'error' ECONNRESET (syscall read or write, whichever
    met the RST first) and 'close'(True); what it got back is a prefix of
    what it sent, no longer than the cut. The resetting socket emits no
    'error' and 'close'(False), as in Node.
    """
    with bench.bystanders(rng):
        for _ in range(ROUNDS):
            payload = rng.randbytes(MIB)
            cut = rng.randrange(1, len(payload))
            client, accepted = bench.pair()
            client_log = EventLog(client).collect()
            CutEcho(accepted, cut)
            client.write(payload)
            bench.faults += 1
            client_log.wait_closed()
            client_log.assert_error(("ECONNRESET",), ("read", "write"))
            got = bytes(client_log.data)
            assert len(got) <= cut
            assert got == payload[:len(got)]
            bench.verified += len(got)
            bench.log_of(accepted).wait_closed().assert_closed_once(False)
    bench.assert_serving()


def test_client_resets_at_a_random_point_of_an_echo(bench: Bench, rng: random.Random) -> None:
    """The client resets (SO_LINGER 0) once a seeded random number of echoed bytes came back.

    The server's socket, echoing with backpressure, gets one 'error'
    ECONNRESET (read or write) and 'close'(True); what it received is a
    prefix of what was sent, at least what came back. The client emits
    'close'(False) and no 'error'.
    """
    with bench.bystanders(rng):
        for _ in range(ROUNDS):
            payload = rng.randbytes(MIB)
            cut = rng.randrange(1, len(payload))
            client, accepted = bench.pair()
            server_log = bench.log_of(accepted).collect()
            echo_with_backpressure(accepted)
            client_log = EventLog(client)
            resetter = ResetAfter(client, cut)
            client.write(payload)
            bench.faults += 1
            client_log.wait_closed().assert_closed_once(False)
            server_log.wait_closed()
            server_log.assert_error(("ECONNRESET",), ("read", "write"))
            got = bytes(server_log.data)
            assert len(got) >= resetter.received
            assert got == payload[:len(got)]
            bench.verified += len(got)
    bench.assert_serving()


def test_raw_client_with_linger_zero_resets_mid_upload(bench: Bench, rng: random.Random) -> None:
    """A stdlib client sends a seeded random amount, then closes with SO_LINGER 0.

    The gnet server socket gets 'error' ECONNRESET (read or write: it echoes)
    and 'close'(True); what it read is a prefix of what was sent.
    """
    with bench.bystanders(rng):
        for _ in range(ROUNDS):
            payload = rng.randbytes(MIB)
            cut = rng.randrange(1, len(payload))
            raw, accepted = bench.raw_pair()
            server_log = bench.log_of(accepted).collect()
            echo_with_backpressure(accepted)
            # Send in a greenlet: the echo fills our receive buffer, and a
            # cooperative sendall() would wait for it forever otherwise.
            sender = gevent.spawn(raw.sendall, payload[:cut])
            wait_until(lambda cut=cut, server_log=server_log: len(server_log.data) >= cut // 2
                       or server_log.closed, what="half the upload")
            sender.kill()
            linger_zero(raw)
            raw.close()
            bench.faults += 1
            server_log.wait_closed()
            server_log.assert_error(("ECONNRESET",), ("read", "write"))
            got = bytes(server_log.data)
            assert got == payload[:len(got)]
            bench.verified += len(got)
    bench.assert_serving()


def test_raw_server_with_linger_zero_resets_a_gnet_upload(bench: Bench, rng: random.Random) -> None:
    """A stdlib server reads a seeded random amount of a gnet client's upload, then resets.

    The gnet client (writing with backpressure) gets 'error' ECONNRESET
    (read or write) and 'close'(True).
    """
    listener = gsocket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    pattern = Pattern(rng.randrange(2**32))
    try:
        with bench.bystanders(rng):
            for _ in range(ROUNDS):
                cut = rng.randrange(1, 4 * MIB)
                client = bench.connect(listener.getsockname()[1])
                client_log = EventLog(client)
                conn, _ = listener.accept()
                client.on("connect", lambda client=client: Pump(client, pattern))
                got = bytearray()
                while len(got) < cut:
                    got += conn.recv(min(64 * KIB, cut - len(got)))
                assert pattern.matches(got)
                linger_zero(conn)
                conn.close()
                bench.faults += 1
                bench.verified += len(got)
                client_log.wait_closed()
                client_log.assert_error(("ECONNRESET",), ("read", "write"))
    finally:
        listener.close()
    bench.assert_serving()


# --- a peer process killed with SIGKILL ---------------------------------------------------


def test_sigkilled_downloader_gives_the_server_econnreset(bench: Bench, rng: random.Random) -> None:
    """A client process reads a seeded random amount of a download, stalls, and is SIGKILLed.

    Its kernel closes the socket with unread data in it, which sends RST: the
    server's socket (blocked on 'drain') gets 'error' ECONNRESET and
    'close'(True).
    """
    pattern = Pattern(rng.randrange(2**32))
    with bench.bystanders(rng):
        peer = Peer("download", bench.port, rng.randrange(1, 4 * MIB))
        try:
            accepted = bench.accepted_for(int(peer.expect("connected")))
            pump = Pump(accepted, pattern)
            peer.expect("stalled")
            pump.blocked_for(0.1)
            peer.kill()
        finally:
            peer.close()
        bench.faults += 1
        server_log = bench.log_of(accepted).wait_closed()
        server_log.assert_error(("ECONNRESET",), ("read", "write"))
    bench.assert_serving()


def test_sigkilled_uploader_ends_the_stream_cleanly(bench: Bench, rng: random.Random) -> None:
    """A client process uploading without pause is SIGKILLed after a seeded random amount.

    Nothing was sent to it, so its kernel closes with FIN after the bytes it
    already took: the server's socket sees every one of them in order, then
    'end' and 'close'(False), and no 'error'. (A dead peer is not an error
    to TCP unless it had unread data.)
    """
    seed = rng.randrange(2**32)
    progress = rng.randrange(1, 8 * MIB)
    with bench.bystanders(rng):
        peer = Peer("upload", bench.port, seed, progress)
        try:
            accepted = bench.accepted_for(int(peer.expect("connected")))
            server_log = bench.log_of(accepted).collect()
            peer.expect("progress")
            peer.kill()
        finally:
            peer.close()
        bench.faults += 1
        server_log.wait_closed()
        server_log.assert_closed_once(False)
        assert "end" in server_log.events
        assert len(server_log.data) >= progress
        assert Pattern(seed).matches(server_log.data)
        bench.verified += len(server_log.data)
    bench.assert_serving()


def test_sigkilled_server_process_gives_the_client_econnreset(
        bench: Bench, rng: random.Random,
) -> None:
    """A server process reads a seeded random amount of a gnet upload, stalls, and is SIGKILLed.

    Its kernel resets the connection (unread data): the gnet client, blocked
    on 'drain', gets 'error' ECONNRESET and 'close'(True).
    """
    pattern = Pattern(rng.randrange(2**32))
    with bench.bystanders(rng):
        peer = Peer("serve", rng.randrange(1, 4 * MIB))
        try:
            client = bench.connect(int(peer.expect("port")))
            client_log = EventLog(client)
            pumps: list[Pump] = []
            client.on("connect", lambda: pumps.append(Pump(client, pattern)))
            peer.expect("stalled")
            wait_until(lambda: pumps, what="connect")
            pumps[0].blocked_for(0.1)
            peer.kill()
        finally:
            peer.close()
        bench.faults += 1
        client_log.wait_closed()
        client_log.assert_error(("ECONNRESET",), ("read", "write"))
    bench.assert_serving()


# --- half-close races -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_half_open", "client_half_open"),
    [(False, False), (True, True), (True, False)],
    ids=["both-close-on-end", "both-half-open", "server-half-open"],
)
def test_both_sides_end_at_once(bench: Bench, rng: random.Random, server_half_open: bool,
                                client_half_open: bool) -> None:
    """Both sides call end(payload) in the same tick, on 40 connections at once.

    Payload sizes are seeded random picks from 0 B to 2 MiB per direction.
    Each side receives exactly the other's payload, then 'end' once,
    'finish' once, and 'close'(False) once; no 'error'.
    """
    srv = bench.make_server(allowHalfOpen=server_half_open)
    sizes = [0, 1, 1000, 64 * KIB, 300 * KIB, 2 * MIB]
    with bench.bystanders(rng):
        pairs = []
        for _ in range(40):
            client = bench.connect(srv.address()["port"], allowHalfOpen=client_half_open)
            wait_until(lambda client=client: not client.connecting, what="connect")
            assert client.localPort is not None
            accepted = bench.accepted_for(client.localPort)
            pairs.append((EventLog(client).collect(), bench.log_of(accepted).collect(),
                          rng.randbytes(rng.choice(sizes)), rng.randbytes(rng.choice(sizes))))
        for client_log, server_log, to_server, to_client in pairs:
            server_log.sock.end(to_client)
            client_log.sock.end(to_server)
        bench.faults += len(pairs)
        for client_log, server_log, to_server, to_client in pairs:
            for log, expected in ((client_log, to_client), (server_log, to_server)):
                log.wait_closed()
                log.assert_closed_once(False)
                assert sorted(log.events) == ["close", "end", "finish"], log.events
                assert log.data == expected
                bench.verified += len(expected)
    bench.assert_serving()


# --- destroy() from inside a listener ---------------------------------------------------------


class Boom(Exception):
    """The error handed to destroy(err)."""


@pytest.mark.parametrize("how", ["destroy()", "destroy(err)", "resetAndDestroy()"])
@pytest.mark.parametrize("event", ["data", "end", "drain", "timeout"])
def test_destroy_inside_a_listener(
        bench: Bench, rng: random.Random, event: str, how: str,
) -> None:
    """The server's socket calls destroy(), destroy(err) or resetAndDestroy() inside a listener.

    'data': on a seeded random chunk (1st to 4th) of a 1 MiB upload; no
    'data' follows, whatever was read already. 'end': after the client's
    end(data); no 'finish' follows (the automatic end() is skipped). 'drain':
    after write() returned False to a client that reads late; the client
    still gets every byte written (they were all in the kernel), then 'end'.
    'timeout': after setTimeout(50); the client gets 'end'.

    Each time the destroying socket emits 'close' once, with hadError False,
    or with 'error'(the very error object) first and hadError True; the
    client emits 'close' once (after a reset: 'error' ECONNRESET first, or
    nothing if it had nothing left to read or write). The 'drain' and
    'timeout' guarantees for the client hold for a FIN, not for a reset,
    which discards what was still in flight.
    """
    with_error = how == "destroy(err)"
    reset = how == "resetAndDestroy()"
    error = Boom(event) if with_error else None
    client, accepted = bench.pair()
    server_log = bench.log_of(accepted)
    client_log = EventLog(client)
    seen: dict[str, Any] = {"count": 0}

    def destroy(*_args: Any) -> None:
        seen["count"] += 1
        if seen["count"] == seen.get("at", 1):
            if reset:
                accepted.resetAndDestroy()
            else:
                accepted.destroy(error)
            seen["destroyed right away"] = accepted.destroyed

    with bench.bystanders(rng):
        if event == "data":
            seen["at"] = rng.randint(1, 4)
            accepted.on("data", destroy)
            client.write(rng.randbytes(MIB))
        elif event == "end":
            server_log.collect()
            accepted.on("end", destroy)
            client_log.collect()
            payload = rng.randbytes(rng.randrange(1, 300 * KIB))
            client.end(payload)
        elif event == "drain":
            accepted.on("drain", destroy)
            pump = Pump(accepted, Pattern(rng.randrange(2**32)))
            pump.stopped = True  # one burst up to the high-water mark, no more
            wait_until(lambda: accepted.writableNeedDrain, what="write() to return False")
            client_log.collect()
        else:
            client_log.collect()
            accepted.setTimeout(50)
            accepted.on("timeout", destroy)
        bench.faults += 1
        server_log.wait_closed()
        if with_error:
            server_log.assert_closed_once(True)
            assert server_log.errors[0] is error
        else:
            server_log.assert_closed_once(False)
        assert seen["count"] == seen.get("at", 1)
        assert seen["destroyed right away"] is True
        client_log.wait_closed()
        assert len(client_log.closes) == 1
        assert set(client_log.codes) <= {"ECONNRESET"}
        if event == "data":
            assert "end" not in server_log.events
        elif event == "end":
            assert server_log.data == payload
            assert "finish" not in server_log.events
            bench.verified += len(payload)
        if event in ("drain", "timeout") and not reset:
            client_log.assert_closed_once(False)
            assert client_log.events == ["end", "finish", "close"]
        if event == "drain":
            assert pump.pattern.matches(client_log.data)  # a prefix, after a reset too
            assert reset or len(client_log.data) == pump.written
            bench.verified += len(client_log.data)
        if event == "timeout":
            assert server_log.events.count("timeout") == 1
    bench.assert_serving()


# --- write() after the peer's FIN ---------------------------------------------------------------


def test_write_in_the_end_listener_reaches_the_half_closed_peer(
        bench: Bench, rng: random.Random,
) -> None:
    """As in Node: inside 'end' (allowHalfOpen false) a reply still goes out, with no error.

    The client ended first; it still reads, gets the whole reply, then 'end'.
    """
    with bench.bystanders(rng):
        question = rng.randbytes(100 * KIB)
        answer = rng.randbytes(700 * KIB)
        client, accepted = bench.pair()
        server_log = bench.log_of(accepted).collect()
        accepted.on("end", lambda: accepted.write(answer))
        client_log = EventLog(client).collect()
        client.end(question)
        for log in (client_log, server_log):
            log.wait_closed()
            log.assert_closed_once(False)
        assert server_log.data == question
        assert client_log.data == answer
        bench.verified += len(question) + len(answer)
    bench.assert_serving()


def test_end_then_write_after_the_peers_fin_is_epipe(bench: Bench, rng: random.Random) -> None:
    """In 'end': end(), then write(data, cb): EPIPE, on a later tick, as in Node.

    write() returns False and emits nothing itself; then cb(err) and 'error'
    (the same EPIPE, message "This socket has been ended by the other
    party"), then 'close'(True).
    """
    with bench.bystanders(rng):
        client, accepted = bench.pair()
        server_log = bench.log_of(accepted)
        calls: list[Any] = []
        order: list[str] = []

        def callback(err: BaseException | None) -> None:
            order.append("cb")
            calls.append(err)

        def on_end() -> None:
            accepted.end()
            calls.append(accepted.write(b"late", callback))
            calls.append(list(server_log.events))

        accepted.on("end", on_end)
        accepted.on("error", lambda err: order.append("error"))
        accepted.resume()
        client.resume()
        client.end(b"bye")
        bench.faults += 1
        err = server_log.wait_closed().assert_error(("EPIPE",), ("write",))
        assert calls[0] is False
        assert "error" not in calls[1]
        assert calls[2] is err
        assert order == ["cb", "error"]
        assert isinstance(err, BrokenPipeError)
        assert err.errno == errno.EPIPE
        assert err.message == EPIPE_MESSAGE  # type: ignore[attr-defined]
        wait_until(lambda: client.destroyed, what="the client to close")
    bench.assert_serving()


def test_write_in_finish_after_the_peers_fin_is_epipe(bench: Bench, rng: random.Random) -> None:
    """A write in 'finish' of the automatic end() after the peer's FIN: EPIPE, as Node does.

    Node checked: the callback gets EPIPE, 'error' EPIPE, 'close'(True).
    """
    with bench.bystanders(rng):
        client, accepted = bench.pair()
        server_log = bench.log_of(accepted)
        results: list[Any] = []
        accepted.on("finish", lambda: results.append(accepted.write(b"late", results.append)))
        accepted.resume()
        client.resume()
        client.end()
        bench.faults += 1
        err = server_log.wait_closed().assert_error(("EPIPE",), ("write",))
        assert results == [False, err]
        assert err.message == EPIPE_MESSAGE  # type: ignore[attr-defined]
    bench.assert_serving()


def test_write_after_the_close_that_followed_the_peers_fin_calls_back_epipe(
        bench: Bench, rng: random.Random) -> None:
    """After the peer's FIN (allowHalfOpen false) and the close that follows, write(data, cb).

    Node (checked with v20): cb gets EPIPE "This socket has been ended by the
    other party", write() returns False, and no 'error' is emitted (the
    socket is already destroyed). An explicit destroy() without a FIN gives
    ERR_STREAM_DESTROYED instead; that case is not this one.
    """
    with bench.bystanders(rng):
        client, accepted = bench.pair()
        server_log = bench.log_of(accepted)
        accepted.resume()
        client.resume()
        client.end()
        server_log.wait_closed().assert_closed_once(False)
        results: list[Any] = [accepted.write(b"late", lambda err: results.append(err))]
        bench.faults += 1
        wait_until(lambda: len(results) == 2, what="the write callback")
        gevent.sleep(0.01)
        assert results[0] is False
        assert getattr(results[1], "code", None) == "EPIPE", results[1]
        assert results[1].message == EPIPE_MESSAGE
        assert server_log.errors == []
        assert server_log.closes == [False]
    bench.assert_serving()


def test_half_open_writes_to_a_peer_that_has_gone_get_epipe(
        bench: Bench, rng: random.Random,
) -> None:
    """allowHalfOpen server; the stdlib peer sends FIN, then closes for good.

    The server keeps writing after 'end' (every 5 ms, at most 100 times). The
    first write lands in the dead peer's kernel, which answers RST; a later
    write fails: 'error' EPIPE (syscall 'write': Linux reports a reset in
    CLOSE_WAIT as EPIPE, and so does Node) and 'close'(True), once. The
    failing write's callback gets the same error.
    """
    srv = bench.make_server(allowHalfOpen=True)
    with bench.bystanders(rng):
        raw = gsocket.create_connection((HOST, srv.address()["port"]), timeout=WAIT_S)
        bench.raw.append(raw)
        accepted = bench.accepted_for(raw.getsockname()[1])
        server_log = bench.log_of(accepted)
        callbacks: list[Any] = []

        def keep_writing() -> None:
            for _ in range(100):
                if accepted.destroyed:
                    return
                accepted.write(b"are you there?", callbacks.append)
                gevent.sleep(0.005)

        writer: list[gevent.Greenlet] = []
        accepted.on("end", lambda: writer.append(gevent.spawn(keep_writing)))
        accepted.resume()
        raw.shutdown(gsocket.SHUT_WR)
        raw.close()
        bench.faults += 1
        err = server_log.wait_closed().assert_error(("EPIPE",), ("write",))
        assert callbacks[0] is None
        assert err in callbacks
        gevent.joinall(writer, timeout=WAIT_S)
    bench.assert_serving()
