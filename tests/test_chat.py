"""gnet.chat in process: names, text, limits and timeouts of the chat room.

A :class:`ChatRoom` listens on loopback in the test's own process and gnet
clients talk to it, so each test takes milliseconds instead of a
subprocess's start-up. What a hostile client can make the server spend in
memory and CPU is measured from the outside, on a real ``gnet chat``
process, in tests/test_chat_attacks.py.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import gnet as net
from gnet.chat import MAX_LINE, MAX_NAME_TRIES, ChatRoom, LineHandler, clean_text, name_key
from helpers import until

HOST = "127.0.0.1"
WELCOME = "Welcome to the chat! What is your name?"
HINT = "Please pick another name"


class Client:
    """A gnet client of the room that collects whole lines."""

    def __init__(self, port: int) -> None:
        self.sock = net.createConnection(port, HOST)
        self.buffer = b""
        self.lines: list[str] = []
        self.closed = False
        self.sock.on("data", self._on_data)
        self.sock.on("error", lambda _err: None)
        self.sock.on("close", self._on_close)

    def _on_data(self, chunk: bytes) -> None:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        self.lines.extend(line.decode() for line in lines)

    def _on_close(self, _had_error: bool) -> None:
        self.closed = True

    def line(self, timeout: float = 5.0) -> str:
        until(lambda: self.lines or self.closed, timeout, "a line")
        assert self.lines, f"closed without a line (unfinished: {self.buffer!r})"
        return self.lines.pop(0)

    def send(self, data: bytes) -> None:
        self.sock.write(data)

    def wait_closed(self, timeout: float = 5.0) -> None:
        until(lambda: self.closed, timeout, "the server to hang up")


@pytest.fixture
def chat() -> Iterator[Callable[..., tuple[ChatRoom, Callable[[], Client], list[str]]]]:
    """Start a room with the given limits: (room, a client maker, the room's log)."""
    rooms: list[ChatRoom] = []
    clients: list[Client] = []

    def start(**limits: Any) -> tuple[ChatRoom, Callable[[], Client], list[str]]:
        log: list[str] = []
        room = ChatRoom(log.append, **limits)
        room.server.listen(0, HOST)
        until(lambda: room.server.listening, what="listening")
        rooms.append(room)
        port = room.server.address()["port"]

        def client() -> Client:
            made = Client(port)
            clients.append(made)
            return made

        return room, client, log

    yield start
    for made in clients:
        made.sock.destroy()
    for room in rooms:
        room.server.close()
        room.server.closeAllConnections()
    assert net.run(timeout=5000)


def net_wait(seconds: float) -> None:
    """Let the loop run for ``seconds``."""
    deadline = time.monotonic() + seconds
    until(lambda: time.monotonic() >= deadline, seconds + 5)


def join(client: Callable[[], Client], name: str) -> Client:
    member = client()
    assert member.line() == WELCOME
    member.send(name.encode() + b"\n")
    assert member.line().startswith(f"Hello {name}! Here now: ")
    return member


# -- item 5: what members send reaches others as text, never as terminal commands ---------


def test_control_characters_in_messages_are_neutralised(chat: Any) -> None:
    _, client, log = chat()
    alice = join(client, "alice")
    mallory = join(client, "mallory")
    assert alice.line() == "* mallory joined"
    # Clear the screen, set the window title, return to column 0 and fake a
    # line from someone else, a NUL, a bidi override, a C1 CSI, DEL, a tab.
    mallory.send(b"\x1b[2J\x1b]0;pwned\x07\rbob: hi\x00 \xe2\x80\xaeevil\xc2\x9b1m\x7f\tend\r\n")
    got = alice.line()
    assert got == ("mallory: \ufffd[2J\ufffd]0;pwned\ufffd\ufffdbob: hi\ufffd \ufffdevil"
                   "\ufffd1m\ufffd end")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in got)
    # Printable Unicode is kept as it was typed.
    text = "caf\u00e9 \u2615 \u6771\u4eac \U0001F468\u200d\U0001F469 e\u0301"
    mallory.send(text.encode() + b"\n")
    assert alice.line() == "mallory: " + text
    assert log == ["alice joined", "mallory joined"]


@pytest.mark.parametrize("name", [
    "ev\x1bil", "bell\x07", "nul\x00x", "csi\x9bx", "rtl\u202eevil", "zw\u200bsp",
    "bob: hi", "* bob joined", "x" * 33, "   ", "bad\udcff",
], ids=["esc", "bel", "nul", "c1", "bidi", "zwsp", "colon", "star", "too-long", "blank",
        "bad-utf8"])
def test_names_with_control_or_forging_characters_are_refused(chat: Any, name: str) -> None:
    _, client, log = chat()
    member = client()
    assert member.line() == WELCOME
    member.send(name.encode("utf-8", "surrogateescape") + b"\n")
    assert member.line().startswith(HINT)
    member.send(b"fine\n")
    assert member.line() == "Hello fine! Here now: nobody else."
    assert log == ["fine joined"]


@pytest.mark.parametrize("lookalike", [
    "Alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth
    "\u0430\u04cf\u0456\u0441\u0435",  # all Cyrillic
    "\u0430lice",  # one Cyrillic letter among Latin ones
    "aIice", "a1ice", "al ice",
], ids=["capital", "upper", "fullwidth", "cyrillic", "mixed-script", "capital-i", "digit-one",
        "space"])
def test_names_are_unique_up_to_lookalikes(chat: Any, lookalike: str) -> None:
    _, client, _ = chat()
    join(client, "alice")
    other = client()
    assert other.line() == WELCOME
    other.send(lookalike.encode() + b"\n")
    assert other.line().startswith(HINT)
    other.send(b"alice2\n")
    assert other.line() == "Hello alice2! Here now: alice."


def test_name_key_and_clean_text() -> None:
    assert name_key("Alice") == name_key("\uff21lice") == name_key("\u0430lice") == "allce"
    assert name_key("ALICE") == name_key("aIice") == name_key("a1ice") == "allce"
    assert name_key("m0") != name_key("m1") != name_key("m2")
    assert name_key("rnary") == name_key("mary")
    assert clean_text(b"a\rb\x1bc\x00d\te\xff") == "a\ufffdb\ufffdc\ufffdd e\ufffd"


def test_a_nameless_client_gets_a_bounded_number_of_tries(chat: Any) -> None:
    room, client, _ = chat()
    join(client, "alice")
    lurker = client()
    assert lurker.line() == WELCOME
    lurker.send(b"\n" * 10_000 + b"alice\n" * 10_000)
    for _ in range(MAX_NAME_TRIES - 1):
        assert lurker.line().startswith(HINT)
    assert lurker.line() == f"* no valid name in {MAX_NAME_TRIES} tries; goodbye"
    lurker.wait_closed()
    assert lurker.lines == []
    until(lambda: len(room.members) == 1, what="the lurker to be gone")


# -- item 2 and 7: lines, their limit, and the last one ------------------------------------


@pytest.mark.parametrize(("line", "allowed"), [
    (b"m" * MAX_LINE + b"\n", True),
    (b"m" * MAX_LINE + b"\r\n", True),  # the CRLF's '\r' is not counted
    (b"m" * (MAX_LINE + 1) + b"\n", False),
    (b"x" + b"\r" * (MAX_LINE - 1) + b"\r\n", True),
    (b"x" + b"\r" * (MAX_LINE + 1) + b"\n", False),  # '\r's count: the old bypass
    (b"x" + b"\r" * 200_000, False),  # never ended, and too long before it ends
], ids=["limit", "limit-crlf", "limit+1", "cr-limit", "cr-bypass", "cr-unended"])
def test_the_line_limit_counts_every_byte(chat: Any, line: bytes, allowed: bool) -> None:
    _, client, _ = chat()
    alice = join(client, "alice")
    mallory = join(client, "mallory")
    assert alice.line() == "* mallory joined"
    mallory.send(line)
    if allowed:
        got = alice.line()
        assert got.startswith("mallory: ") and len(got.encode()) <= len("mallory: ") + 3 * MAX_LINE
        return
    assert mallory.line() == f"* line too long (the limit is {MAX_LINE} bytes); goodbye"
    mallory.wait_closed()
    assert alice.line() == "* mallory left"


def test_a_line_in_many_pieces(chat: Any) -> None:
    _, client, _ = chat()
    alice = join(client, "alice")
    bob = join(client, "bob")
    assert alice.line() == "* bob joined"
    text = b"abcdefghij" * 400
    for i in range(0, len(text), 7):
        bob.send(text[i:i + 7])
    bob.send(b"\r\nnext\n")
    assert alice.line() == "bob: " + text.decode()
    assert alice.line() == "bob: next"


def test_a_line_cut_off_by_the_end_of_input_is_delivered(chat: Any) -> None:
    # printf 'bob\nmsg' | gnet connect ...: the last line has no newline.
    _, client, log = chat()
    alice = join(client, "alice")
    bob = client()
    bob.send(b"bob\nlast words")
    bob.sock.end()
    assert bob.line() == WELCOME
    assert bob.line() == "Hello bob! Here now: alice."
    bob.wait_closed()
    assert [alice.line() for _ in range(3)] == ["* bob joined", "bob: last words", "* bob left"]
    assert log == ["alice joined", "bob joined", "bob left"]


def test_a_name_cut_off_by_the_end_of_input_joins_and_leaves(chat: Any) -> None:
    _, client, _ = chat()
    alice = join(client, "alice")
    bob = client()
    bob.send(b"bob")
    bob.sock.end()
    bob.wait_closed()
    assert [alice.line(), alice.line()] == ["* bob joined", "* bob left"]


# -- item 6: slowloris -------------------------------------------------------------------


def test_a_client_that_gives_no_name_is_hung_up_on(chat: Any) -> None:
    room, client, _ = chat(name_timeout=200)
    start = time.monotonic()
    lurker = client()
    assert lurker.line() == WELCOME
    assert lurker.line() == "* no name given in 0.2 s; goodbye"
    lurker.wait_closed()
    assert 0.15 < time.monotonic() - start < 3
    # A member who named itself in time stays.
    alice = join(client, "alice")
    net_wait(0.4)
    assert not alice.closed
    assert [m.name for m in room.names.values()] == ["alice"]


def test_the_name_timeout_holds_while_the_rate_limit_holds_a_client_back(chat: Any) -> None:
    # rate 1: a burst of 4 lines, then one a second; the name timeout is shorter.
    _, client, _ = chat(name_timeout=300, rate_limit=1)
    lurker = client()
    assert lurker.line() == WELCOME
    lurker.send(b"\n" * 6)
    for _ in range(4):
        assert lurker.line().startswith(HINT)
    assert lurker.line() == "* no name given in 0.3 s; goodbye"
    lurker.wait_closed()


def test_an_idle_connection_is_said_goodbye(chat: Any) -> None:
    _, client, _ = chat(idle_timeout=500)
    alice = join(client, "alice")
    bob = join(client, "bob")
    assert alice.line() == "* bob joined"
    # Traffic keeps bob in; silence does not.
    for _ in range(6):
        net_wait(0.1)
        bob.send(b"still here\n")
        assert alice.line() == "bob: still here"
    assert bob.line() == "* idle for 0.5 s; goodbye"
    bob.wait_closed()
    assert not bob.lines


def test_max_connections_turns_the_next_client_away_with_a_message(chat: Any) -> None:
    room, client, _ = chat(max_connections=2)
    alice = join(client, "alice")
    lurker = client()
    assert lurker.line() == WELCOME
    for _ in range(3):
        late = client()
        assert late.line() == "* the room is full (2 connections); try again later"
        late.wait_closed()
    assert len(room.members) == 2
    lurker.sock.destroy()
    until(lambda: len(room.members) == 1, what="the lurker's close")
    bob = join(client, "bob")
    bob.send(b"hi\n")
    assert alice.line() == "* bob joined"
    assert alice.line() == "bob: hi"


def test_rate_limit_slows_a_flooder_and_no_one_else(chat: Any) -> None:
    # 100 lines a second, a burst of 400: 500 lines take about a second to say.
    _, client, _ = chat(rate_limit=100)
    alice = join(client, "alice")
    flooder = join(client, "flooder")
    carol = join(client, "carol")
    until(lambda: len(alice.lines) == 2)
    alice.lines.clear()
    start = time.monotonic()
    flooder.send(b"".join(b"%d\n" % i for i in range(500)))

    def heard() -> int:
        return sum(line.startswith("flooder: ") for line in alice.lines)

    until(lambda: heard() >= 400, 5, "the burst")
    net_wait(0.2)
    count, elapsed = heard(), time.monotonic() - start
    # The burst, plus what the rate allows in the time passed, and no more.
    assert count <= 400 + 100 * elapsed + 5, (count, elapsed)
    # carol is not held back by the flooder's queue.
    sent = time.monotonic()
    carol.send(b"me too\n")
    until(lambda: "carol: me too" in alice.lines, 1.0, "carol's line")
    assert time.monotonic() - sent < 0.5
    # Nothing the flooder said is lost, and its lines stay in order.
    until(lambda: heard() == 500, 10, "all the flooder's lines")
    assert [line for line in alice.lines if line.startswith("flooder: ")] == [
        f"flooder: {i}" for i in range(500)]
    assert time.monotonic() - start > 0.8  # 100 lines beyond the burst at 100 a second


def test_a_member_that_ends_while_held_back_loses_no_line(chat: Any) -> None:
    # 10 lines a second, a burst of 40: 100 lines, then the end of input at
    # once. The end comes while the rate limit still holds lines back; they
    # were accepted, so they are said, in order, before the member leaves.
    _, client, _ = chat(rate_limit=10)
    alice = join(client, "alice")
    bob = join(client, "bob")
    until(lambda: alice.lines == ["* bob joined"])
    alice.lines.clear()
    bob.send(b"".join(b"%d\n" % i for i in range(100)))
    bob.sock.end()
    bob.wait_closed()
    until(lambda: "* bob left" in alice.lines, 5, "bob's leave")
    said = [line for line in alice.lines if line.startswith("bob: ")]
    assert said == [f"bob: {i}" for i in range(100)]
    assert alice.lines[-1] == "* bob left"


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        ChatRoom(rate_limit=-1)
    with pytest.raises(TypeError, match="name_timeout"):
        ChatRoom(name_timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_connections"):
        ChatRoom(max_connections=0)


# -- item 3: what one member may cost ---------------------------------------------------------


def test_a_member_that_does_not_read_is_dropped_at_the_backlog_limit(chat: Any) -> None:
    room, client, log = chat(rate_limit=0, max_backlog=64 * 1024)
    staller = join(client, "staller")
    staller.sock.pause()
    talker = join(client, "talker")
    line = b"y" * 1000 + b"\n"

    def dropped() -> bool:
        return any(entry.startswith("staller dropped: ") for entry in log)

    for _ in range(400):  # 20 MB at most; the kernel's buffers take a few MB first
        talker.send(line * 50)
        net_wait(0.002)
        if dropped():
            break
    assert dropped(), log
    # (The paused staller sees the hang-up only if it reads.)
    until(lambda: [m.name for m in room.names.values()] == ["talker"], what="the staller to go")
    # Its outbox and chunk were the most it ever held.
    for member in room.members.values():
        assert len(member.outbox) <= 64 * 1024


# -- item 4: a log that never blocks --------------------------------------------------------


def _record(text: str) -> logging.LogRecord:
    return logging.LogRecord("gnet.chat", logging.INFO, __file__, 0, text, None, None)


def test_line_handler_never_blocks_on_a_full_pipe_and_counts_what_it_drops() -> None:
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
        handler = LineHandler(write_end, max_pending=1024)
        start = time.monotonic()
        for i in range(2000):
            handler.emit(_record(f"line {i} \x1b[2J"))
        assert time.monotonic() - start < 1.0
        assert handler.dropped > 1500
        # The reader catches up: what was held goes out, then a note of the loss.
        data = b""
        deadline = time.monotonic() + 5
        while b"log lines dropped" not in data and time.monotonic() < deadline:
            os.set_blocking(read_end, False)
            try:
                data += os.read(read_end, 65536)
            except BlockingIOError:
                net_wait(0.05)
        lines = data.decode().splitlines()
        assert lines[0] == "line 0 \ufffd[2J"
        assert lines[-1] == f"({handler.dropped} log lines dropped: the output was full)"
        handler.close()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_line_handler_gives_up_on_a_pipe_nobody_reads_any_more() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        handler = LineHandler(write_end)
        handler.emit(_record("nobody hears this"))  # EPIPE: never raised
        handler.emit(_record("nor this"))
        assert handler.broken
        assert handler.dropped == 2
        handler.close()
    finally:
        os.close(write_end)


def test_line_handler_keeps_a_tracebacks_lines() -> None:
    read_end, write_end = os.pipe()
    try:
        handler = LineHandler(write_end)
        try:
            raise ValueError("bad\x1b[2J")
        except ValueError:
            record = logging.LogRecord("gnet", logging.ERROR, __file__, 0, "listener failed",
                                       None, sys.exc_info())
        handler.emit(record)
        handler.close()
        lines = os.read(read_end, 65536).decode().splitlines()
        assert lines[0] == "listener failed"
        assert lines[1] == "Traceback (most recent call last):"
        assert lines[-1] == "ValueError: bad\ufffd[2J"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_line_handler_without_a_descriptor_drops_everything() -> None:
    handler = LineHandler(None)
    handler.emit(_record("x"))
    assert (handler.broken, handler.dropped) == (True, 1)


def test_a_log_that_raises_does_not_hurt_members(chat: Any) -> None:
    def broken_log(_line: str) -> None:
        raise OSError(errno.EPIPE, "Broken pipe")

    room = ChatRoom(broken_log)
    room.server.listen(0, HOST)
    until(lambda: room.server.listening, what="listening")
    port = room.server.address()["port"]
    try:
        alice, bob = Client(port), Client(port)
        assert alice.line() == WELCOME and bob.line() == WELCOME
        alice.send(b"alice\n")
        assert alice.line() == "Hello alice! Here now: nobody else."
        bob.send(b"bob\nhello\n")
        assert bob.line() == "Hello bob! Here now: alice."
        assert [alice.line(), alice.line()] == ["* bob joined", "bob: hello"]
        assert not alice.closed and not bob.closed
    finally:
        room.server.close()
        room.server.closeAllConnections()
        assert net.run(timeout=5000)


# -- the command line's limits --------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--rate-limit", "-1"], ["--rate-limit", "x"], ["--max-connections", "0"],
    ["--max-connections", "1.5"], ["--name-timeout", "-5"], ["--idle-timeout", "soon"],
])
def test_gnet_chat_refuses_bad_limits(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from gnet.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["chat", *args])
    assert exit_info.value.code == 2
    assert f"argument {args[0]}: invalid" in capsys.readouterr().err


def test_gnet_chat_limit_flags() -> None:
    from gnet.cli import build_parser

    args = build_parser().parse_args(["chat", "--name-timeout", "500", "--idle-timeout", "0",
                                      "--max-connections", "7", "--rate-limit", "2.5"])
    assert (args.name_timeout, args.idle_timeout, args.max_connections, args.rate_limit) == (
        500, 0, 7, 2.5)
    defaults = build_parser().parse_args(["chat"])
    assert (defaults.name_timeout, defaults.idle_timeout, defaults.rate_limit) == (
        30_000, 3_600_000, 50)
    assert defaults.max_connections is None  # gnet.chat.default_max_connections()
