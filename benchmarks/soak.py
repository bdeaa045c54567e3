"""A bounded soak of one gnet server: traffic, faults and bad calls, mixed.

Usage::

    python benchmarks/soak.py               # 2 minutes
    python benchmarks/soak.py --minutes 10
    python benchmarks/soak.py --smoke       # about 10 s (what CI runs)
    python benchmarks/soak.py --smoke --monkey   # the same under patch_all()

One gnet echo server on 127.0.0.1 and, in the same process, worker
greenlets that each pick a scenario again and again until the time is up
(idle connections are opened at a steady rate by a greenlet of their own,
and a drop window opens every few seconds):

========== ================================================================
echo       send 1 B .. 1 MiB in random pieces (honouring write() -> False
           and 'drain'), end(), and check every byte echoed back
text       the same with multi-byte UTF-8 text and setEncoding('utf8')
pause      an echo transfer whose reader pauses and resumes midway
reset      write, then resetAndDestroy() mid-stream (RST to the server)
abort      write, then destroy() mid-stream
idle       connect and go quiet: the server's idle timeout must end it
kill       a separate Python process streams at the server and is SIGKILLed
drop       maxConnections = 0 for a moment: connections in that window are
           refused (the server's 'drop' event), all others unharmed
badcall    wrong arguments and wrong states on the live server and on a live
           connection (which must still echo correctly afterwards)
========== ================================================================

With chat (on by default; off with ``--smoke`` unless ``--chat`` is given),
a gnet.chat room listens beside the echo server, and the workers also pick:

============== ============================================================
chat           two members join; one says 1-20 lines (Unicode, cut into
               random pieces); the other must hear each, in order
chat-inject    ANSI/OSC escapes, '\r', NUL and bidi controls in a line: the
               listener must hear it with every control made harmless
chat-halfclose ``name\nlast line`` then end(): the listener hears the
               unterminated last line, then the leave
chat-nameless  100,000 empty lines and never a name: hung up on after the
               room's tries
chat-longline  ``x`` then 5 KB - 500 KB of '\r' (the old bypass of the line
               limit): a goodbye and a hang-up
chat-staller   a member stops reading while 800 KB is said (in a room of its
               own, 64 KiB backlog): it must be dropped
chat-lurker    connect and never say a word: the name timeout ends it
chat-reset     join, send half a line, resetAndDestroy()
============== ============================================================

Only loopback addresses are used, every loop is bounded by the deadline
and every wait by a timeout. When the time is up the workers finish what
they are doing, every connection is closed, and one line is printed::

    SOAK seconds=120.0 connections=... bytes_verified=... verify_errors=0 lost=0
    unexpected=0 faults=... faults_by_kind=abort:..,badcall:..,... errors_by_code=ECONNRESET:..
    ... max_loop_lag_ms=.. fds_start=.. fds_end=.. rss_start_kb=.. rss_end_kb=.. result=ok

(all on one line; with chat, ``chat_lines_verified=.. chat_attacks=..
chat_attacks_by_kind=..`` come before ``max_loop_lag_ms``). ``verify_errors``
counts echoed bytes that differ,
``lost`` transfers that closed short, ``unexpected`` errors on connections
that no fault touched, scenarios that overran their bound, and errors gnet
logged; ``errors_by_code`` counts every 'error' event by its code.
``max_loop_lag_ms`` is the longest the process stalled (a 20 ms sleep woke
that much late): a stall longer than the server's idle timeout (3 s; 1 s
with ``--smoke``) lets the timeout end busy connections, which shows as
ERR_STREAM_WRITE_AFTER_END on the server and short transfers here. The
descriptors and RSS are read from /proc at the start (after a warm-up of
every scenario) and at the end (every connection closed, the server still
listening). The exit status is 0 when nothing was lost, corrupted or leaked.
"""

from __future__ import annotations

import sys

# patch_all() must come before anything imports socket or threading.
if "--monkey" in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse
import logging
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import gevent.pool
import gevent.subprocess
from gevent.event import Event

import gnet as net
from gnet.chat import MAX_LINE, MAX_NAME_TRIES, ChatRoom, clean_text
from gnet.events import once

HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB

# The peer a "kill" scenario starts: stdlib only, streams until killed.
PEER = r"""
import socket, sys, os
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
block = os.urandom(65536)
while True:
    try:
        s.send(block)
    except BlockingIOError:
        pass
    try:
        s.recv(65536)
    except BlockingIOError:
        pass
"""

# What the worker greenlets pick from. Idle connections are opened by a
# greenlet of their own at a steady rate (Profile.idle_every_s) instead: each
# waits out the server's idle timeout, and would otherwise tie up a worker.
SCENARIO_WEIGHTS = {
    "echo": 30, "text": 8, "pause": 10, "reset": 8, "abort": 8, "kill": 2, "badcall": 6,
}
FAULT_KINDS = ("abort", "badcall", "drop", "kill", "pause", "reset", "timeout")

# The chat scenarios, picked by the workers beside the echo ones.
CHAT_WEIGHTS = {
    "chat": 12, "chat-inject": 3, "chat-halfclose": 3, "chat-nameless": 2, "chat-longline": 2,
    "chat-staller": 2, "chat-lurker": 1, "chat-reset": 2,
}
CHAT_ATTACKS = tuple(name for name in CHAT_WEIGHTS if name != "chat")
WELCOME = "Welcome to the chat! What is your name?"
# What a chat-inject line carries: screen clear, window title, a return to
# column 0 faking another member, NUL, a bidi override, a C1 CSI, DEL.
INJECTION = b"\x1b[2J\x1b]0;pwned\x07\rroot: trust me\x00 \xe2\x80\xaeevil\xc2\x9b1m\x7f"


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // KIB


class Profile:
    """The knobs of one run: the full soak and the smoke run differ only here."""

    def __init__(self, seconds: float, smoke: bool) -> None:
        self.seconds = seconds
        self.workers = 12 if smoke else 32
        self.max_transfer = 256 * KIB if smoke else MIB
        # The server's idle timeout. It must stay well above the longest
        # stall of the whole process (see max_loop_lag_ms): after a stall the
        # timer is checked before the I/O that arrived meanwhile, as in Node,
        # and would end busy connections too.
        self.idle_timeout_ms = 1000 if smoke else 3000
        self.max_pause_ms = 100 if smoke else 250  # well under the idle timeout
        self.drop_every_s = 2.0 if smoke else 6.0
        self.idle_every_s = 0.25 if smoke else 0.5
        self.bound_s = 20.0  # no scenario may take longer: that is a hang
        # The chat room's name timeout: a lurker waits it out, so keep it short.
        self.chat_name_timeout_ms = 1000 if smoke else 3000


class Stats:
    """Everything counted during the run."""

    def __init__(self) -> None:
        self.connections = 0
        self.bytes_verified = 0
        self.transfers = 0
        self.verify_errors = 0
        self.lost = 0
        self.unexpected: Counter[str] = Counter()
        self.faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
        self.errors: Counter[str] = Counter()
        self.badcall_codes: Counter[str] = Counter()
        self.max_lag_ms = 0.0
        self.chat_lines_verified = 0
        self.chat_attacks: Counter[str] = Counter()

    def error(self, err: BaseException) -> None:
        self.errors[str(getattr(err, "code", None) or type(err).__name__)] += 1


class CountingHandler(logging.Handler):
    """Counts what gnet logs at ERROR (a listener that raised, an internal error)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = self.format(record)


class ChatFailure(Exception):
    """A chat scenario found the room not answering as it must."""


class ChatPeer:
    """A chat client that keeps every line it hears, with waits that time out."""

    def __init__(self, soak: Soak, port: int) -> None:
        self.sock = net.createConnection(port, HOST)
        self.buffer = b""
        self.lines: list[str] = []
        self.seen = 0  # lines already looked at by line() / lines_from()
        self.changed = Event()
        self.closed = Event()
        self.sock.on("data", self._on_data)
        self.sock.on("error", soak.stats.error)
        self.sock.on("close", self._on_close)

    def _on_data(self, chunk: bytes) -> None:
        self.buffer += chunk
        if b"\n" in chunk:
            *lines, self.buffer = self.buffer.split(b"\n")
            self.lines.extend(line.decode("utf-8", "replace") for line in lines)
            self.changed.set()

    def _on_close(self, _had_error: bool) -> None:
        self.closed.set()
        self.changed.set()

    def send(self, data: bytes) -> None:
        self.sock.write(data)

    def _wait(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0 or self.closed.is_set():
            return False
        self.changed.clear()
        return bool(self.changed.wait(left))

    def line(self, timeout: float) -> str | None:
        """The next line not looked at yet, or None (closed, or timed out)."""
        deadline = time.monotonic() + timeout
        while self.seen >= len(self.lines):
            if not self._wait(deadline) and self.seen >= len(self.lines):
                return None
        self.seen += 1
        return self.lines[self.seen - 1]

    def lines_from(self, name: str, count: int, timeout: float) -> list[str]:
        """The next ``count`` lines member ``name`` said (fewer if it takes too long)."""
        prefix = f"{name}: "
        got: list[str] = []
        deadline = time.monotonic() + timeout
        finished = False
        while True:
            while self.seen < len(self.lines) and len(got) < count:
                line = self.lines[self.seen]
                self.seen += 1
                if line.startswith(prefix):
                    got.append(line[len(prefix):])
            if len(got) >= count or finished:
                return got
            finished = not self._wait(deadline)

    def count_prefix(self, prefix: str) -> int:
        return sum(line.startswith(prefix) for line in self.lines)

    def leave(self) -> None:
        self.sock.end()
        if not self.closed.wait(5):
            self.sock.destroy()


class Gate:
    """Holds new ordinary connections back while a drop window is open.

    An ordinary client counts as *pending* from ``createConnection()`` until
    the server has surely accepted it (its first echoed byte is back, or it
    closed); a drop window opens only once nothing is pending.
    """

    def __init__(self) -> None:
        self.open = Event()
        self.open.set()
        self.pending = 0

    @contextmanager
    def entering(self) -> Iterator[Callable[[], None]]:
        self.open.wait()
        self.pending += 1
        admitted = [False]

        def admitted_now() -> None:
            if not admitted[0]:
                admitted[0] = True
                self.pending -= 1

        try:
            yield admitted_now
        finally:
            admitted_now()


class Soak:
    def __init__(self, profile: Profile, seed: int, chat: bool = False) -> None:
        self.profile = profile
        self.chat_enabled = chat
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.gate = Gate()
        self.deadline = 0.0
        # Payloads are slices of one random block: verifying a slice is a memcmp.
        self.block = random.Random(seed).randbytes(2 * profile.max_transfer + 1)
        self.text_block = "".join(
            chr(self.rng.choice([0x41 + i % 26, 0xE9, 0x3042, 0x1F600])) for i in range(20_000))
        self.server = net.createServer(self.on_connection)
        self.server.on("drop", self.on_drop)
        self.server.on("error", self.stats.error)
        self.server.listen(0, HOST, 1024)
        once(self.server, "listening", timeout=5000)
        self.port: int = self.server.address()["port"]
        self.drops = 0
        self.chat_serial = 0
        self.chat_dropped: set[str] = set()
        self.chat_rooms: list[ChatRoom] = []
        self.chat_room: ChatRoom | None = None
        self.chat_port = 0
        if chat:
            self.chat_room = self.open_chat_room(name_timeout=profile.chat_name_timeout_ms)
            self.chat_port = self.chat_room.server.address()["port"]

    # --- the server -------------------------------------------------------------------

    def on_connection(self, sock: net.Socket) -> None:
        self.stats.connections += 1
        sock.setTimeout(self.profile.idle_timeout_ms)
        sock.on("timeout", lambda: self.on_timeout(sock))
        sock.on("error", self.stats.error)
        sock.pipe(sock)

    def on_timeout(self, sock: net.Socket) -> None:
        self.stats.faults["timeout"] += 1
        sock.end()

    def on_drop(self, _info: Any) -> None:
        self.drops += 1
        self.stats.faults["drop"] += 1

    # --- helpers ----------------------------------------------------------------------------

    def payload(self, size: int) -> memoryview:
        start = self.rng.randrange(len(self.block) - size)
        return memoryview(self.block)[start:start + size]

    def connect(self) -> net.Socket:
        sock = net.createConnection(self.port, HOST)
        sock.on("error", self.stats.error)
        return sock

    def write_all(self, sock: net.Socket, data: Any) -> None:
        """Write ``data`` in random pieces, waiting for 'drain' whenever write() says so."""
        off = 0
        while off < len(data) and not sock.destroyed:
            n = self.rng.choice([1, 7, 512, 4 * KIB, 16 * KIB, 64 * KIB, 200 * KIB])
            ok = sock.write(data[off:off + n])
            off += n
            if not ok and not sock.destroyed:
                once(sock, "drain", timeout=self.profile.bound_s * 1000)

    # --- scenarios --------------------------------------------------------------------------

    def echo(self, text: bool = False, pause: bool = False) -> None:
        size = self.rng.choice([1, 100, 4 * KIB, 64 * KIB, self.profile.max_transfer])
        size = self.rng.randint(1, size)
        if text:
            start = self.rng.randrange(len(self.text_block) - min(size, 10_000))
            expected_text = self.text_block[start:start + min(size, 10_000)] or "x"
            data: Any = expected_text.encode("utf-8")
        else:
            data = self.payload(size)
        received: list[Any] = []
        state: dict[str, Any] = {"got": 0, "bad": False, "error": None}
        closed = Event()
        with self.gate.entering() as admitted:
            sock = net.createConnection(self.port, HOST)
            if text:
                sock.setEncoding("utf8")

            def on_data(chunk: Any) -> None:
                admitted()
                if text:
                    received.append(chunk)
                    return
                got = state["got"]
                if data[got:got + len(chunk)] != chunk:
                    state["bad"] = True
                state["got"] = got + len(chunk)

            def on_error(err: BaseException) -> None:
                state["error"] = err
                self.stats.error(err)

            sock.on("data", on_data)
            sock.on("error", on_error)
            sock.on("close", lambda _had_error: closed.set())
            if pause:
                gevent.spawn(self.pause_midway, sock)
            try:
                self.write_all(sock, data)
                sock.end()
            except (OSError, TimeoutError):
                pass  # reported through 'error' / the checks below
            if not closed.wait(self.profile.bound_s):
                self.stats.unexpected["echo-hang"] += 1
                sock.destroy()
                return
        self.stats.transfers += 1
        if state["error"] is not None:
            self.stats.unexpected[f"echo-error-{getattr(state['error'], 'code', '?')}"] += 1
            return
        if text:
            got_text = "".join(received)
            if got_text != expected_text[:len(got_text)]:
                self.stats.verify_errors += 1
            elif len(got_text) != len(expected_text):
                self.stats.lost += 1
            else:
                self.stats.bytes_verified += len(data)
            return
        if state["bad"]:
            self.stats.verify_errors += 1
        elif state["got"] != len(data):
            self.stats.lost += 1
        else:
            self.stats.bytes_verified += len(data)

    def pause_midway(self, sock: net.Socket) -> None:
        gevent.sleep(self.rng.uniform(0, 0.02))
        if sock.destroyed:
            return
        sock.pause()
        self.stats.faults["pause"] += 1
        gevent.sleep(self.rng.uniform(0.005, self.profile.max_pause_ms / 1000))
        sock.resume()

    def cut(self, how: str) -> None:
        sock = self.connect()
        sock.resume()  # read the echo, so the server never blocks on us
        closed = Event()
        sock.on("close", lambda _had_error: closed.set())
        once(sock, "connect", timeout=5000)
        sock.write(self.payload(self.rng.randint(1, 256 * KIB)))
        gevent.sleep(self.rng.uniform(0, 0.01))
        if how == "reset":
            sock.resetAndDestroy()
        else:
            sock.destroy()
        self.stats.faults[how] += 1
        if not closed.wait(5):
            self.stats.unexpected[f"{how}-no-close"] += 1

    def idle(self) -> None:
        sock = self.connect()
        sock.resume()
        closed = Event()
        sock.on("close", lambda _had_error: closed.set())
        sock.write(b"hello")
        # The server must end us after its idle timeout; allow it twice over.
        if not closed.wait(2 * self.profile.idle_timeout_ms / 1000 + 1):
            self.stats.unexpected["idle-not-timed-out"] += 1
            sock.destroy()

    def kill(self) -> None:
        proc = gevent.subprocess.Popen(
            [sys.executable, "-c", PEER, str(self.port)],
            stdin=gevent.subprocess.DEVNULL, stdout=gevent.subprocess.DEVNULL,
            stderr=gevent.subprocess.DEVNULL)
        try:
            gevent.sleep(self.rng.uniform(0.05, 0.4))
        finally:
            # The peer may have ended by itself already: refused in a drop
            # window, its connection broke, and it died of the exception.
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)
        if proc.returncode == -signal.SIGKILL:
            self.stats.faults["kill"] += 1

    def badcall(self) -> None:
        # Bad calls on the live server, then on a live connection that must
        # still echo correctly afterwards.
        server_calls: list[tuple[Callable[[], Any], str]] = [
            (lambda: self.server.listen(0, HOST), "ERR_SERVER_ALREADY_LISTEN"),
            (lambda: self.server.getConnections(1), "ERR_INVALID_ARG_TYPE"),
            (lambda: self.server.on("connection", None), "ERR_INVALID_ARG_TYPE"),
            (lambda: net.createConnection(-1, HOST), "ERR_SOCKET_BAD_PORT"),
            (lambda: net.createConnection(True), "ERR_INVALID_ARG_TYPE"),
            (lambda: net.createServer("x"), "ERR_INVALID_ARG_TYPE"),
        ]
        self.expect_raise(*self.rng.choice(server_calls))
        with self.gate.entering() as admitted:
            sock = self.connect()
            received = bytearray()
            closed = Event()
            def on_data(chunk: bytes) -> None:
                admitted()
                received.extend(chunk)

            sock.on("data", on_data)
            sock.on("close", lambda _had_error: closed.set())
            socket_calls: list[tuple[Callable[[], Any], str]] = [
                (lambda: sock.write(None), "ERR_STREAM_NULL_VALUES"),
                (lambda: sock.write(12), "ERR_INVALID_ARG_TYPE"),
                (lambda: sock.write("x", "bogus"), "ERR_UNKNOWN_ENCODING"),
                (lambda: sock.setTimeout(-1), "ERR_OUT_OF_RANGE"),
                (lambda: sock.setTimeout("1"), "ERR_INVALID_ARG_TYPE"),
                (lambda: sock.setEncoding("bogus"), "ERR_UNKNOWN_ENCODING"),
                (lambda: sock.end(1), "ERR_INVALID_ARG_TYPE"),
                (lambda: sock.setMaxListeners(-1), "ERR_OUT_OF_RANGE"),
                (lambda: sock.connect(self.port, HOST), "ERR_INVALID_ARG_VALUE"),
            ]
            for call, code in self.rng.sample(socket_calls, 3):
                self.expect_raise(call, code)
            data = self.payload(self.rng.randint(1, 64 * KIB))
            self.write_all(sock, data)
            sock.end()
            if not closed.wait(self.profile.bound_s):
                self.stats.unexpected["badcall-hang"] += 1
                sock.destroy()
                return
        # A write after the socket was destroyed: Node's callback error, no raise.
        result: list[Any] = []
        self.expect_no_raise(lambda: sock.write(b"late", result.append))
        gevent.sleep(0)
        if bytes(received) != bytes(data):
            self.stats.verify_errors += 1
        else:
            self.stats.bytes_verified += len(data)

    def expect_raise(self, call: Callable[[], Any], code: str) -> None:
        self.stats.faults["badcall"] += 1
        try:
            made = call()
        except Exception as exc:  # any other exception is counted too
            got = getattr(exc, "code", type(exc).__name__)
            self.stats.badcall_codes[str(got)] += 1
            if got != code:
                self.stats.unexpected[f"badcall-{got}-not-{code}"] += 1
            return
        self.stats.unexpected[f"badcall-no-{code}"] += 1
        if isinstance(made, net.Socket):
            made.destroy()

    def expect_no_raise(self, call: Callable[[], Any]) -> None:
        self.stats.faults["badcall"] += 1
        try:
            call()
        except Exception as exc:
            self.stats.unexpected[f"badcall-raised-{type(exc).__name__}"] += 1

    def drop_window(self) -> None:
        """Close the gate, refuse every new connection for a moment, reopen."""
        self.gate.open.clear()
        try:
            deadline = time.monotonic() + 5
            while self.gate.pending and time.monotonic() < deadline:
                gevent.sleep(0.002)
            if self.gate.pending:
                return  # could not get a quiet moment; skip this window
            self.server.maxConnections = 0
            before = self.drops
            doomed = [self.connect() for _ in range(self.rng.randint(1, 4))]
            for sock in doomed:
                sock.resume()
            deadline = time.monotonic() + 5
            while self.drops - before < len(doomed) and time.monotonic() < deadline:
                gevent.sleep(0.002)
            if self.drops - before < len(doomed):
                self.stats.unexpected["drop-missing"] += 1
            for sock in doomed:
                sock.destroy()
        finally:
            self.server.maxConnections = None
            self.gate.open.set()

    # --- chat scenarios ------------------------------------------------------------------------

    def open_chat_room(self, **limits: Any) -> ChatRoom:
        room = ChatRoom(self.on_chat_log, **limits)
        room.server.on("error", self.stats.error)
        room.server.listen(0, HOST, 1024)
        once(room.server, "listening", timeout=5000)
        self.chat_rooms.append(room)
        return room

    def close_chat_room(self, room: ChatRoom) -> None:
        room.server.close()
        room.server.closeAllConnections()
        self.chat_rooms.remove(room)

    def on_chat_log(self, line: str) -> None:
        name, sep, _ = line.partition(" dropped: ")
        if sep:
            self.chat_dropped.add(name)

    def chat_name(self) -> str:
        self.chat_serial += 1
        return f"p{self.chat_serial}x"

    def chat_join(self, name: str, port: int | None = None) -> ChatPeer:
        peer = ChatPeer(self, port or self.chat_port)
        if peer.line(5) != WELCOME:
            raise ChatFailure("no welcome")
        peer.send(name.encode() + b"\n")
        hello = peer.line(5)
        if hello is None or not hello.startswith(f"Hello {name}! Here now: "):
            raise ChatFailure(f"no hello: {hello!r}")
        return peer

    def chat_text(self) -> str:
        size = self.rng.randint(1, 200)
        start = self.rng.randrange(len(self.text_block) - size)
        return self.text_block[start:start + size]

    def chat_send(self, peer: ChatPeer, data: bytes) -> None:
        """Send in random pieces, as a network would cut it."""
        off = 0
        while off < len(data):
            n = self.rng.choice([1, 3, 50, 4096, len(data)])
            peer.send(data[off:off + n])
            off += n

    def chat(self) -> None:
        said, heard = self.chat_name(), self.chat_name()
        listener = self.chat_join(heard)
        speaker = self.chat_join(said)
        try:
            texts = [self.chat_text() for _ in range(self.rng.randint(1, 20))]
            self.chat_send(speaker, b"".join(t.encode() + b"\n" for t in texts))
            got = listener.lines_from(said, len(texts), self.profile.bound_s / 2)
            if got != texts:
                if len(got) < len(texts):
                    self.stats.lost += 1
                else:
                    self.stats.verify_errors += 1
                return
            self.stats.chat_lines_verified += len(texts)
        finally:
            speaker.leave()
            listener.leave()

    def chat_inject(self) -> None:
        said, heard = self.chat_name(), self.chat_name()
        listener = self.chat_join(heard)
        attacker = self.chat_join(said)
        try:
            self.chat_send(attacker, INJECTION + b"\r\n")
            self.stats.chat_attacks["chat-inject"] += 1
            got = listener.lines_from(said, 1, 5)
            want = clean_text(INJECTION)
            if got != [want] or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in want):
                self.stats.unexpected["chat-inject-not-neutralised"] += 1
            else:
                self.stats.chat_lines_verified += 1
        finally:
            attacker.leave()
            listener.leave()

    def chat_halfclose(self) -> None:
        said, heard = self.chat_name(), self.chat_name()
        listener = self.chat_join(heard)
        leaver = ChatPeer(self, self.chat_port)
        text = self.chat_text()
        leaver.send(f"{said}\n{text}".encode())
        leaver.sock.end()
        self.stats.chat_attacks["chat-halfclose"] += 1
        try:
            got = listener.lines_from(said, 1, 5)
            if got != [text]:
                self.stats.lost += 1
            else:
                self.stats.chat_lines_verified += 1
            if not leaver.closed.wait(5):
                self.stats.unexpected["chat-halfclose-not-closed"] += 1
        finally:
            leaver.sock.destroy()
            listener.leave()

    def chat_nameless(self) -> None:
        peer = ChatPeer(self, self.chat_port)
        peer.send(b"\n" * 100_000)
        self.stats.chat_attacks["chat-nameless"] += 1
        if not peer.closed.wait(5):
            self.stats.unexpected["chat-nameless-not-hung-up"] += 1
        elif peer.count_prefix("Please pick another name") != MAX_NAME_TRIES - 1:
            self.stats.unexpected["chat-nameless-replies"] += 1
        peer.sock.destroy()

    def chat_longline(self) -> None:
        peer = self.chat_join(self.chat_name())
        peer.send(b"x" + b"\r" * self.rng.randint(MAX_LINE + 1, 500_000))
        self.stats.chat_attacks["chat-longline"] += 1
        if not peer.closed.wait(5):
            self.stats.unexpected["chat-longline-not-hung-up"] += 1
        elif peer.count_prefix("* line too long") != 1:
            self.stats.unexpected["chat-longline-no-goodbye"] += 1
        peer.sock.destroy()

    def chat_staller(self) -> None:
        # A room of its own: 800 KB said to everyone must not drop bystanders.
        room = self.open_chat_room(max_backlog=64 * KIB)
        port = room.server.address()["port"]
        staller_name = self.chat_name()
        try:
            staller = self.chat_join(staller_name, port)
            staller.sock.pause()
            talker = self.chat_join(self.chat_name(), port)
            self.stats.chat_attacks["chat-staller"] += 1
            line = b"s" * 3999 + b"\n"
            for _ in range(4):
                talker.send(line * 50)  # 200 lines: the rate limit's burst
            deadline = time.monotonic() + 10
            while staller_name not in self.chat_dropped and time.monotonic() < deadline:
                gevent.sleep(0.01)
            if staller_name not in self.chat_dropped:
                self.stats.unexpected["chat-staller-not-dropped"] += 1
            staller.sock.destroy()
            talker.leave()
        finally:
            self.close_chat_room(room)

    def chat_lurker(self) -> None:
        peer = ChatPeer(self, self.chat_port)
        self.stats.chat_attacks["chat-lurker"] += 1
        if not peer.closed.wait(2 * self.profile.chat_name_timeout_ms / 1000 + 1):
            self.stats.unexpected["chat-lurker-not-timed-out"] += 1
        elif peer.count_prefix("* no name given in ") != 1:
            self.stats.unexpected["chat-lurker-no-goodbye"] += 1
        peer.sock.destroy()

    def chat_reset(self) -> None:
        peer = self.chat_join(self.chat_name())
        peer.send(b"half a li")
        gevent.sleep(self.rng.uniform(0, 0.01))
        peer.sock.resetAndDestroy()
        self.stats.chat_attacks["chat-reset"] += 1
        peer.closed.wait(5)

    # --- running -------------------------------------------------------------------------------

    def run_scenario(self, name: str) -> None:
        scenarios: dict[str, Callable[[], None]] = {
            "idle": self.idle,
            "echo": self.echo,
            "text": lambda: self.echo(text=True),
            "pause": lambda: self.echo(pause=True),
            "reset": lambda: self.cut("reset"),
            "abort": lambda: self.cut("abort"),
            "kill": self.kill,
            "badcall": self.badcall,
            "chat": self.chat,
            "chat-inject": self.chat_inject,
            "chat-halfclose": self.chat_halfclose,
            "chat-nameless": self.chat_nameless,
            "chat-longline": self.chat_longline,
            "chat-staller": self.chat_staller,
            "chat-lurker": self.chat_lurker,
            "chat-reset": self.chat_reset,
        }
        try:
            with gevent.Timeout(self.profile.bound_s, TimeoutError(f"{name} overran")):
                scenarios[name]()
        except TimeoutError as exc:
            self.stats.unexpected[str(exc).replace(" ", "-")] += 1
        except ChatFailure as exc:
            self.stats.unexpected[f"{name}-{exc}".replace(" ", "-")[:60]] += 1
        except Exception as exc:  # a scenario must never take the soak down
            self.stats.unexpected[f"{name}-{type(exc).__name__}"] += 1

    def worker(self) -> None:
        table = {**SCENARIO_WEIGHTS, **(CHAT_WEIGHTS if self.chat_enabled else {})}
        names = list(table)
        weights = list(table.values())
        while time.monotonic() < self.deadline:
            self.run_scenario(self.rng.choices(names, weights)[0])

    def idler(self) -> None:
        idle = gevent.pool.Group()
        while time.monotonic() < self.deadline:
            idle.spawn(self.run_scenario, "idle")
            gevent.sleep(self.profile.idle_every_s)
        idle.join()

    def dropper(self) -> None:
        while True:
            left = self.deadline - time.monotonic()
            gevent.sleep(min(self.profile.drop_every_s, max(0.0, left)))
            if time.monotonic() >= self.deadline:
                return
            self.drop_window()

    def lag_watch(self) -> None:
        """Measure how late a 20 ms sleep wakes up: the loop's (and process's) longest stall."""
        while time.monotonic() < self.deadline:
            start = time.monotonic()
            gevent.sleep(0.02)
            lag = (time.monotonic() - start - 0.02) * 1000
            self.stats.max_lag_ms = max(self.stats.max_lag_ms, lag)

    def warm_up(self) -> None:
        """One of each scenario, so the start figures include what they set up once."""
        for name in SCENARIO_WEIGHTS:
            self.run_scenario(name)
        if self.chat_enabled:
            for name in CHAT_WEIGHTS:
                self.run_scenario(name)
        self.drop_window()

    def open_connections(self) -> int:
        chat = sum(len(room.members) for room in self.chat_rooms)
        return int(self.server.getConnections()) + chat

    def wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.open_connections() and time.monotonic() < deadline:
            gevent.sleep(0.01)
        gevent.sleep(0.05)  # the last closes' descriptors
        return not self.open_connections()

    def run(self) -> int:
        log = CountingHandler()
        logging.getLogger("gnet").addHandler(log)
        logging.getLogger("gnet").propagate = False
        self.deadline = time.monotonic() + 3600
        self.warm_up()
        self.wait_idle(5)
        fds_start, rss_start = fd_count(), rss_kb()
        self.stats = Stats()  # the warm-up does not count
        started = time.monotonic()
        self.deadline = started + self.profile.seconds
        greenlets = [gevent.spawn(self.worker) for _ in range(self.profile.workers)]
        greenlets.append(gevent.spawn(self.dropper))
        greenlets.append(gevent.spawn(self.idler))
        greenlets.append(gevent.spawn(self.lag_watch))
        gevent.joinall(greenlets, timeout=self.profile.seconds + 2 * self.profile.bound_s)
        for g in greenlets:
            if not g.dead:
                self.stats.unexpected["worker-hang"] += 1
                g.kill(block=False)
        elapsed = time.monotonic() - started
        if not self.wait_idle(10):
            self.stats.unexpected["connections-left-open"] += self.open_connections()
        fds_end, rss_end = fd_count(), rss_kb()
        self.server.close()
        for room in list(self.chat_rooms):
            self.close_chat_room(room)
        net.run(timeout=5000)
        if log.count:
            self.stats.unexpected["gnet-logged-errors"] += log.count
        print(self.summary(elapsed, fds_start, fds_end, rss_start, rss_end), flush=True)
        if log.first:
            print(f"first error gnet logged: {log.first}", file=sys.stderr)
        s = self.stats
        failed = s.verify_errors or s.lost or s.unexpected or fds_end > fds_start
        return 1 if failed else 0

    def summary(self, elapsed: float, fds_start: int, fds_end: int, rss_start: int,
                rss_end: int) -> str:
        s = self.stats
        failed = s.verify_errors or s.lost or s.unexpected or fds_end > fds_start

        def pairs(counter: Counter[str]) -> str:
            return ",".join(f"{k}:{v}" for k, v in sorted(counter.items())) or "-"

        return " ".join([
            "SOAK",
            f"seconds={elapsed:.1f}",
            f"connections={s.connections}",
            f"transfers={s.transfers}",
            f"bytes_verified={s.bytes_verified}",
            f"verify_errors={s.verify_errors}",
            f"lost={s.lost}",
            f"unexpected={sum(s.unexpected.values())}",
            f"faults={sum(s.faults.values())}",
            f"faults_by_kind={pairs(s.faults)}",
            f"errors_by_code={pairs(s.errors)}",
            f"badcall_codes={pairs(s.badcall_codes)}",
            f"unexpected_by_kind={pairs(s.unexpected)}",
            *([
                f"chat_lines_verified={s.chat_lines_verified}",
                f"chat_attacks={sum(s.chat_attacks.values())}",
                f"chat_attacks_by_kind={pairs(s.chat_attacks)}",
            ] if self.chat_enabled else []),
            f"max_loop_lag_ms={s.max_lag_ms:.0f}",
            f"fds_start={fds_start}",
            f"fds_end={fds_end}",
            f"rss_start_kb={rss_start}",
            f"rss_end_kb={rss_end}",
            f"result={'FAIL' if failed else 'ok'}",
        ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, default=2.0, help="how long to run (default 2)")
    group.add_argument("--smoke", action="store_true", help="a short run (about 10 s)")
    parser.add_argument("--seconds", type=float, help="how long to run, in seconds")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--chat", action=argparse.BooleanOptionalAction, default=None,
                        help="also run the chat scenarios (default: yes, but not with --smoke)")
    parser.add_argument("--monkey", action="store_true",
                        help="run under gevent.monkey.patch_all()")
    args = parser.parse_args(argv)
    if args.seconds is not None:
        seconds = args.seconds
    elif args.smoke:
        seconds = 8.0
    else:
        seconds = args.minutes * 60
    chat = not args.smoke if args.chat is None else args.chat
    return Soak(Profile(seconds, smoke=args.smoke), args.seed, chat=chat).run()


if __name__ == "__main__":
    sys.exit(main())
