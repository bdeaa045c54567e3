"""Property-based tests of gnet's stream guarantees, over real loopback sockets.

Three properties, each stated for *any* input Hypothesis can find:

* chunking: however a byte stream is cut into ``write()`` calls (and
  whatever buffer type each piece has), the peer receives the same bytes;
* encodings: however the bytes of a text are split into separate reads,
  ``setEncoding(enc)`` delivers the same text, for every encoding gnet
  supports (a multi-byte character split across reads is never broken);
* event order: a state machine drives random sequences of ``write``,
  ``end``, ``pause``, ``resume``, ``destroy`` (plain, with an error, with a
  reset) and ``setTimeout`` on both ends of a connected pair and checks the
  contract's per-socket event-order invariants after every step, and that
  nothing written was lost once both sides had their chance to flush.

Sockets are real, so the example counts are capped (``settings``) to keep
the module well under 30 s. The Hypothesis profile comes from
tests/conftest.py ('ci': derandomized, no database, no deadline, when CI
is set); the settings here only cap the counts and drop the per-example
deadline, which a loaded two-core machine could miss for network I/O.
"""

from __future__ import annotations

import base64
import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import gevent
import gevent.event
import gevent.queue
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import gnet as net
from gnet.encodings import Decoder
from gnet.events import once
from helpers import Acceptor, wait_until

HOST = "127.0.0.1"
# Bound on one wait, in seconds; loopback answers in far less.
WAIT_S = 5.0

# Network examples share one server per module, and the autouse greenlet
# watch of tests/conftest.py is function-scoped: neither depends on the
# example, so Hypothesis need not warn about them.
def net_settings(max_examples: int) -> settings:
    """Settings for examples that use sockets: a capped count, no per-example deadline."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def acceptor() -> Iterator[Acceptor]:
    """One server for the module's chunking and encoding examples."""
    acc = Acceptor()
    try:
        yield acc
    finally:
        acc.close()


# --- chunking --------------------------------------------------------------------

# How one piece is handed to write(): every buffer type write() takes, and str
# (latin1 maps each byte to one character, so any bytes can travel as text).
_AS = {
    "bytes": lambda piece: (bytes(piece),),
    "bytearray": lambda piece: (bytearray(piece),),
    "memoryview": lambda piece: (memoryview(bytes(piece)),),
    "latin1-str": lambda piece: (bytes(piece).decode("latin-1"), "latin1"),
}


@st.composite
def chunked_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, bytes]], bool]:
    """A byte stream, its cuts into (buffer type, piece), and whether end() takes the last."""
    size = draw(st.one_of(st.integers(0, 64), st.integers(0, 4096),
                          st.sampled_from([65535, 65536, 65537, 200_000])))
    seed = draw(st.binary(min_size=1, max_size=64))
    # Long streams are a repeated random seed with a counter mixed in, so
    # that a piece misplaced by one position would not compare equal.
    data = bytes((seed[i % len(seed)] + i // len(seed)) & 0xFF for i in range(size))
    cuts = sorted(draw(st.lists(st.integers(0, size), max_size=12)))
    bounds = [0, *cuts, size]
    pieces = [(draw(st.sampled_from(sorted(_AS))), data[a:b])
              for a, b in itertools.pairwise(bounds)]
    return data, pieces, draw(st.booleans())


@net_settings(60)
@given(stream=chunked_streams())
def test_any_chunking_arrives_as_the_same_bytes(
    acceptor: Acceptor, stream: tuple[bytes, list[tuple[str, bytes]], bool]
) -> None:
    data, pieces, end_with_last = stream
    client, side = acceptor.pair()
    side.pipe(side)  # echo: the stream crosses the connection twice
    received: list[bytes] = []
    client.on("data", received.append)
    *body, last = pieces
    for kind, piece in body:
        client.write(*_AS[kind](piece))
    kind, piece = last
    if end_with_last:
        client.end(*_AS[kind](piece))
    else:
        client.write(*_AS[kind](piece))
        client.end()
    once(client, "close", timeout=WAIT_S * 1000)
    got = b"".join(received)
    assert len(got) == len(data)
    assert got == data
    assert side.bytesRead == len(data) and client.bytesWritten == len(data)
    acceptor.forget()


# --- encodings ---------------------------------------------------------------------

_ALL = st.characters(codec="utf-8")  # every code point but lone surrogates


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# encoding -> (text strategy, text -> its bytes), the bytes made by Python's
# codecs, independently of gnet.encodings.
ENCODINGS: dict[str, tuple[st.SearchStrategy[str], Callable[[str], bytes]]] = {
    "utf8": (st.text(_ALL, max_size=40), lambda t: t.encode("utf-8")),
    "utf16le": (st.text(_ALL, max_size=40), lambda t: t.encode("utf-16-le")),
    "latin1": (st.text(st.characters(max_codepoint=0xFF), max_size=40),
               lambda t: t.encode("latin-1")),
    "ascii": (st.text(st.characters(max_codepoint=0x7F), max_size=40),
              lambda t: t.encode("ascii")),
    "hex": (st.binary(max_size=40).map(bytes.hex), bytes.fromhex),
    "base64": (st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode("ascii")),
               base64.b64decode),
    "base64url": (st.binary(max_size=40).map(_b64url),
                  lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))),
}
# Each name setEncoding() must accept for the canonical one, case-insensitively.
ALIASES = {"utf8": "UTF-8", "utf16le": "ucs2", "latin1": "binary", "ascii": "ASCII",
           "hex": "Hex", "base64": "BASE64", "base64url": "base64url"}


@st.composite
def split_texts(draw: st.DrawFn, encoding: str) -> tuple[str, list[bytes]]:
    """A text valid in ``encoding`` and its bytes cut at arbitrary byte offsets."""
    text_strategy, to_bytes = ENCODINGS[encoding]
    text = draw(text_strategy)
    raw = to_bytes(text)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=8))))
    bounds = [0, *(c for c in cuts if 0 < c < len(raw)), len(raw)]
    return text, [raw[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_decoder_gives_the_same_text_for_any_split(encoding: str, data: st.DataObject) -> None:
    # The in-process half: many examples, no sockets.
    text, pieces = data.draw(split_texts(encoding))
    decoder = Decoder(encoding)
    assert "".join(decoder.write(piece) for piece in pieces) + decoder.end() == text


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@net_settings(25)
@given(data=st.data())
def test_set_encoding_gives_the_same_text_for_any_split(
    acceptor: Acceptor, encoding: str, data: st.DataObject
) -> None:
    text, pieces = data.draw(split_texts(encoding))
    client, side = acceptor.pair()
    assert side.setEncoding(ALIASES[encoding]) is side
    received: list[str] = []
    side.on("data", received.append)
    sent = 0
    for piece in pieces:
        client.write(piece)
        sent += len(piece)
        # Lock-step: the next piece leaves only once this one was read, so
        # the receiver's reads end exactly at the cuts.
        wait_until(lambda n=sent: side.bytesRead >= n, what=f"{sent} bytes to be read")
    client.end()
    once(side, "end", timeout=WAIT_S * 1000)
    assert all(isinstance(chunk, str) for chunk in received)
    assert "".join(received) == text
    acceptor.forget()


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@net_settings(10)
@given(data=st.data())
def test_write_with_an_encoding_sends_the_text_s_bytes(
    acceptor: Acceptor, encoding: str, data: st.DataObject
) -> None:
    text_strategy, to_bytes = ENCODINGS[encoding]
    text = data.draw(text_strategy)
    client, side = acceptor.pair()
    received: list[bytes] = []
    side.on("data", received.append)
    client.end(text, encoding)
    once(side, "end", timeout=WAIT_S * 1000)
    assert b"".join(received) == to_bytes(text)
    assert client.bytesWritten == len(to_bytes(text))
    acceptor.forget()


# --- event order: a state machine on a connected pair --------------------------------

EVENTS = ("connect", "ready", "data", "end", "finish", "drain", "timeout", "error", "close")
# A small high-water mark, so that modest writes return False and 'drain' comes.
HWM = 4096
SIDES = ("client", "server")


class Party:
    """One end of the pair: its socket, and everything it did and saw, in order.

    ``log`` holds the socket's events as ``(name, args)`` and, interleaved in
    the order they happened, the calls the machine made as ``('call:NAME',
    args)``; ``write()`` results are logged as ``('call:write', (ok,))``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.sock: net.Socket | None = None
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.written = bytearray()
        self.received = bytearray()
        self.destroyed_by_call = False
        self.ended_by_call = False

    def attach(self, sock: net.Socket) -> None:
        self.sock = sock
        for name in EVENTS:
            sock.on(name, functools.partial(self._event, name))

    def _event(self, name: str, *args: Any) -> None:
        if name == "data":
            self.received += args[0]
            args = (len(args[0]),)
        self.log.append((name, args))

    def call(self, name: str, *args: Any) -> None:
        self.log.append((f"call:{name}", args))

    def names(self) -> list[str]:
        return [name for name, _args in self.log if not name.startswith("call:")]

    def saw(self, name: str) -> bool:
        return name in self.names()


def check_order(party: Party, peer: Party) -> None:
    """Assert the contract's per-socket event-order invariants on ``party``'s log."""
    who = party.name
    names = party.names()
    events = [(n, a) for n, a in party.log if not n.startswith("call:")]

    # 'connect' before 'ready' before any data; accepted sockets emit neither.
    if who == "client":
        assert names.count("connect") <= 1 and names.count("ready") <= 1, names
        for name in ("data", "end"):
            if name in names:
                assert "ready" in names and names.index("ready") < names.index(name), names
        if "ready" in names:
            assert names.index("connect") == names.index("ready") - 1, names
    else:
        assert "connect" not in names and "ready" not in names, names

    # 'end' at most once, after all data.
    assert names.count("end") <= 1, names
    if "end" in names:
        assert "data" not in names[names.index("end"):], names
    assert names.count("finish") <= 1, names

    # 'close' at most once (exactly once is checked at teardown), and last.
    assert names.count("close") <= 1, names
    if "close" in names:
        assert names[-1] == "close", names

    # 'error' at most once, and right before close(True); close(True) only
    # after an error (gnet's listeners here never raise).
    assert names.count("error") <= 1, names
    for i, (name, args) in enumerate(events):
        if name == "error":
            assert i + 1 < len(events), f"{who}: 'error' without the 'close' after it: {names}"
            assert events[i + 1] == ("close", (True,)), names
        if name == "close":
            assert args == (i > 0 and events[i - 1][0] == "error",), names

    # 'drain' only after a write() that returned False, one per such episode.
    pending_false = False
    for name, args in party.log:
        if name == "call:write" and args == (False,):
            pending_false = True
        elif name == "drain":
            assert pending_false, f"{who}: 'drain' with no write() returning False before it"
            pending_false = False

    # 'timeout' only while armed: after a setTimeout() with a non-zero delay
    # and before any setTimeout(0).
    armed = False
    for name, args in party.log:
        if name == "call:setTimeout":
            armed = args[0] > 0
        elif name == "timeout":
            assert armed, f"{who}: 'timeout' while no idle timeout was set"

    # What the peer received is a prefix of what this side wrote; all of it
    # once this side's FIN went out after a full flush and the peer saw 'end'.
    got = bytes(peer.received)
    assert bytes(party.written[:len(got)]) == got, f"{peer.name} received bytes never written"
    if party.saw("finish") and peer.saw("end"):
        assert len(got) == len(party.written), (
            f"{peer.name} saw 'end' after {len(got)} of {len(party.written)} bytes")


class PairMachine(RuleBasedStateMachine):
    """Random calls on both ends of one TCP connection; invariants after each step."""

    # Set by the test that runs the machine.
    acceptor: ClassVar[Acceptor]
    client_options: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.parties = {side: Party(side) for side in SIDES}

    @initialize()
    def connect(self) -> None:
        client = self.parties["client"]
        _client_sock, server_sock = self.acceptor.pair(
            client.attach, highWaterMark=HWM, **self.client_options)
        self.parties["server"].attach(server_sock)
        # Accepted sockets start reading at once; the 'data' listener makes
        # both sides flowing, as most programs do.
        self.settle()

    def settle(self) -> None:
        # Let the loop move bytes and emit events. The invariants hold at any
        # moment, so this only decides how much happens between steps.
        for _ in range(3):
            gevent.sleep(0)
        gevent.sleep(0.001)

    def sock(self, side: str) -> net.Socket:
        sock = self.parties[side].sock
        assert sock is not None
        return sock

    @rule(side=st.sampled_from(SIDES),
          size=st.sampled_from([1, 100, HWM - 1, HWM, 3 * HWM, 40_000]),
          fill=st.integers(0, 255))
    def write(self, side: str, size: int, fill: int) -> None:
        party = self.parties[side]
        sock = self.sock(side)
        # Distinct content per write, so a reordering could not go unseen.
        chunk = bytes((fill + i) & 0xFF for i in range(size))
        accepted = sock.writable
        ok = sock.write(chunk)
        party.call("write", ok)
        if accepted:
            party.written += chunk
        self.settle()

    @rule(side=st.sampled_from(SIDES), size=st.sampled_from([0, 10, 2 * HWM]))
    def end(self, side: str, size: int) -> None:
        party = self.parties[side]
        sock = self.sock(side)
        chunk = bytes(range(256)) * (size // 256) + bytes(size % 256)
        accepted = sock.writable
        party.call("end", size)
        sock.end(chunk or None)
        party.ended_by_call = True
        if accepted:
            party.written += chunk
        self.settle()

    @rule(side=st.sampled_from(SIDES))
    def pause(self, side: str) -> None:
        self.parties[side].call("pause")
        assert self.sock(side).pause() is self.sock(side)
        self.settle()

    @rule(side=st.sampled_from(SIDES))
    def resume(self, side: str) -> None:
        self.parties[side].call("resume")
        assert self.sock(side).resume() is self.sock(side)
        self.settle()

    @rule(side=st.sampled_from(SIDES), how=st.sampled_from(["plain", "error", "reset"]))
    def destroy(self, side: str, how: str) -> None:
        party = self.parties[side]
        sock = self.sock(side)
        party.call("destroy", how)
        party.destroyed_by_call = True
        if how == "plain":
            sock.destroy()
        elif how == "error":
            sock.destroy(RuntimeError("destroyed by the test"))
        else:
            sock.resetAndDestroy()
        self.settle()

    @rule(side=st.sampled_from(SIDES), ms=st.sampled_from([0, 1, 5, 20]))
    def set_timeout(self, side: str, ms: int) -> None:
        sock = self.sock(side)
        if not sock.destroyed:  # a destroyed socket ignores setTimeout
            self.parties[side].call("setTimeout", ms)
        assert sock.setTimeout(ms) is sock
        self.settle()

    @precondition(lambda self: any(not self.sock(side).destroyed for side in SIDES))
    @rule()
    def idle(self) -> None:
        gevent.sleep(0.01)

    @invariant()
    def event_order(self) -> None:
        if self.parties["server"].sock is None:
            return
        client, server = self.parties["client"], self.parties["server"]
        check_order(client, server)
        check_order(server, client)

    def teardown(self) -> None:
        if self.parties["server"].sock is None:
            return
        client, server = self.parties["client"], self.parties["server"]
        # Give every byte in flight its chance: both sides flow again.
        for side in SIDES:
            self.sock(side).resume()
        for writer, reader in ((client, server), (server, client)):
            # Nothing lost: a side that flushed and sent FIN is read to the
            # end by a peer that was neither destroyed nor failed.
            if writer.saw("finish") and not reader.destroyed_by_call:
                wait_until(lambda r=reader: r.saw("end") or r.saw("error"),
                      what=f"{reader.name} to see 'end' ({reader.names()})")
                if not reader.saw("error"):
                    assert bytes(reader.received) == bytes(writer.written)
        for side in SIDES:
            self.sock(side).destroy()
        wait_until(lambda: client.saw("close") and server.saw("close"), what="both 'close' events")
        gevent.sleep(0.005)  # anything emitted after 'close' would show now
        for party, peer in ((client, server), (server, client)):
            check_order(party, peer)
            assert party.names().count("close") == 1, party.names()
        self.acceptor.forget()


@pytest.mark.parametrize("allow_half_open", [False, True], ids=["default", "allowHalfOpen"])
def test_random_call_sequences_keep_the_event_order(allow_half_open: bool) -> None:
    acc = Acceptor(highWaterMark=HWM, allowHalfOpen=allow_half_open)
    try:
        machine = type("Machine", (PairMachine,), {
            "acceptor": acc, "client_options": {"allowHalfOpen": allow_half_open}})
        run_state_machine_as_test(
            machine,
            settings=settings(max_examples=30, stateful_step_count=25, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )
    finally:
        acc.close()


def test_end_with_data_over_the_mark_emits_no_drain(acceptor: Acceptor) -> None:
    # Found by the state machine above. Node emits 'drain' only after a
    # write() that returned False, and never once the stream is ending.
    client, side = acceptor.pair(highWaterMark=HWM)
    side.resume()
    client.resume()
    seen: list[str] = []
    for name in ("drain", "finish", "close"):
        client.on(name, lambda *_args, name=name: seen.append(name))
    client.end(bytes(3 * HWM))
    once(client, "close", timeout=WAIT_S * 1000)
    acceptor.forget()
    assert seen == ["finish", "close"]


def test_no_timeout_after_set_timeout_0(acceptor: Acceptor) -> None:
    # Found by the state machine above, made deterministic: a 'data'
    # listener works for a while (the idle timer runs out meanwhile), then
    # disables the timeout. In Node the timer cannot fire during the
    # listener, and once setTimeout(0) returns no 'timeout' comes.
    client, side = acceptor.pair()
    seen: list[str] = []

    def on_data(_chunk: bytes) -> None:
        seen.append("data")
        gevent.sleep(0.03)  # slow work, cooperatively
        side.setTimeout(0)
        seen.append("setTimeout(0)")

    side.on("data", on_data)
    side.on("timeout", lambda: seen.append("timeout"))
    side.setTimeout(5)
    client.write(b"x")
    wait_until(lambda: "setTimeout(0)" in seen, what="the listener to finish")
    gevent.sleep(0.03)
    acceptor.forget()
    assert seen == ["data", "setTimeout(0)"]
