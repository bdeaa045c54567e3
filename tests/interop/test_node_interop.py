"""gnet against real Node.js sockets, both ways, over loopback TCP and Unix sockets.

Each test runs a small script from ``node/`` (see its header for its argv)
as the peer of a gnet server or client running in this process. What both
sides send is a deterministic stream: chunk k of stream ``seed`` is
SHAKE-256(``"<seed>:<k>"``), 1 MiB long, built the same way by
``node/lib.js`` and by :func:`chunk` here, so each side checks the other's
bytes by SHA-256 without shipping them around.

The half-close tests run the same scenario on both sides: :class:`Side` is
the gnet twin of ``node/half_close.js``, reporting the same fields, so one
set of expectations holds Node and gnet to the same behaviour.
"""

from __future__ import annotations

import hashlib
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.subprocess
import pytest
from gevent.event import AsyncResult

import gnet as net

pytestmark = [pytest.mark.node, pytest.mark.once]

HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB
CHUNK = MIB
WAIT_MS = 30_000  # bound on a gnet-side wait; far above what loopback needs
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# --- the test stream -----------------------------------------------------------------


def chunk(seed: str, k: int, size: int = CHUNK) -> bytes:
    """Chunk ``k`` of stream ``seed`` (node/lib.js ``chunk``)."""
    return hashlib.shake_256(f"{seed}:{k}".encode()).digest(size)


def stream(seed: str, total: int) -> Iterator[bytes]:
    """The first ``total`` bytes of stream ``seed``, in chunks of at most 1 MiB."""
    k = 0
    while total > 0:
        size = min(CHUNK, total)
        yield chunk(seed, k, size)
        total -= size
        k += 1


def stream_sha256(seed: str, total: int) -> str:
    digest = hashlib.sha256()
    for piece in stream(seed, total):
        digest.update(piece)
    return digest.hexdigest()


class Tally:
    """Counts and hashes the bytes a gnet socket receives."""

    def __init__(self) -> None:
        self.bytes = 0
        self._hash = hashlib.sha256()

    def add(self, data: bytes) -> None:
        self.bytes += len(data)
        self._hash.update(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def send_stream(sock: net.Socket, seed: str, total: int, then: Callable[[], Any]) -> None:
    """Write stream ``seed`` honouring backpressure, then call ``then()`` (lib.js sendStream)."""
    pieces = stream(seed, total)

    def more() -> None:
        for piece in pieces:
            if not sock.write(piece):
                sock.once("drain", more)
                return
        then()

    more()


def error_info(err: BaseException) -> dict[str, Any]:
    return {"code": getattr(err, "code", None), "syscall": getattr(err, "syscall", None),
            "message": getattr(err, "message", str(err))}


def short(sha: str) -> str:
    return sha[:16]


# --- gnet peers ------------------------------------------------------------------------


class EchoServer:
    """A gnet echo server (``sock.pipe(sock)``) that accounts for every connection."""

    def __init__(self, harness: Any, *listen_args: Any, expect: int = 1) -> None:
        self.expect = expect
        self.connections: list[dict[str, Any]] = []
        self.open = 0
        self.peak = 0
        self.all_closed = AsyncResult()
        self.server = harness.server(self.on_connection)
        harness.listen(self.server, *listen_args)

    @property
    def target(self) -> Any:
        """The port or Unix path to give a Node script."""
        address = self.server.address()
        return address if isinstance(address, str) else address["port"]

    def on_connection(self, sock: net.Socket) -> None:
        self.open += 1
        self.peak = max(self.peak, self.open)
        tally = Tally()
        record: dict[str, Any] = {"errors": []}
        self.connections.append(record)

        def on_close(had_error: bool) -> None:
            self.open -= 1
            record.update(read=sock.bytesRead, written=sock.bytesWritten, received=tally.bytes,
                          sha256=tally.sha256, had_error=had_error)
            if len(self.connections) == self.expect and self.open == 0:
                self.all_closed.set(True)

        sock.on("data", tally.add)
        sock.on("error", lambda err: record["errors"].append(error_info(err)))
        sock.on("close", on_close)
        sock.pipe(sock)

    def wait(self, timeout_ms: float = WAIT_MS) -> list[dict[str, Any]]:
        self.all_closed.get(timeout=timeout_ms / 1000)
        return self.connections


class Side:
    """gnet's twin of node/half_close.js: the same scenario and the same report.

    ``first``: send ``nbytes`` of stream ``seed`` at once, then end; otherwise
    wait for the peer's 'end', then send and end. ``end_mode`` 'end-data' sends
    the payload with a single ``end(payload)``.
    """

    def __init__(self, first: bool, seed: str, nbytes: int, half_open: bool,
                 end_mode: str = "write-end") -> None:
        self.first = first
        self.seed = seed
        self.nbytes = nbytes
        self.half_open = half_open
        self.end_mode = end_mode
        self.events: list[str] = []
        self.tally = Tally()
        self.finished = False
        self.after_finish = 0
        self.at_end: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.done: AsyncResult = AsyncResult()

    def send(self, sock: net.Socket) -> None:
        if self.end_mode == "end-data":
            sock.end(b"".join(stream(self.seed, self.nbytes)))
        else:
            send_stream(sock, self.seed, self.nbytes, sock.end)

    def serve(self, sock: net.Socket) -> None:
        def on_data(data: bytes) -> None:
            if self.events[-1:] != ["data"]:
                self.events.append("data")
            self.tally.add(data)
            if self.finished:
                self.after_finish += len(data)

        def on_end() -> None:
            self.events.append("end")
            self.at_end = {"writable": sock.writable, "readable": sock.readable,
                           "readyState": sock.readyState, "received": self.tally.bytes}
            if not self.first:
                if self.nbytes:
                    self.send(sock)
                elif self.half_open:
                    sock.end()

        def on_finish() -> None:
            self.events.append("finish")
            self.finished = True

        def on_error(err: BaseException) -> None:
            self.events.append("error")
            self.error = error_info(err)

        def on_close(had_error: bool) -> None:
            self.events.append("close")
            self.done.set({
                "events": self.events, "received": self.tally.bytes,
                "received_sha256": self.tally.sha256, "received_after_finish": self.after_finish,
                "at_end": self.at_end, "had_error": had_error,
                "bytes_written": sock.bytesWritten, "error": self.error,
            })

        sock.on("data", on_data)
        sock.on("end", on_end)
        sock.on("finish", on_finish)
        sock.on("error", on_error)
        sock.on("close", on_close)
        if self.first:
            self.send(sock)

    def result(self, timeout_ms: float = WAIT_MS) -> dict[str, Any]:
        result: dict[str, Any] = self.done.get(timeout=timeout_ms / 1000)
        return result


def gnet_client(harness: Any, target: Any, **options: Any) -> net.Socket:
    """A gnet client for a Node script's port or Unix path."""
    if isinstance(target, str):
        return harness.connect({"path": target, **options})
    return harness.connect({"port": target, "host": HOST, **options})


def listen_args(transport: str, harness: Any) -> tuple[Any, ...]:
    return (harness.path(),) if transport == "unix" else (0, HOST)


def node_target(transport: str, harness: Any) -> str:
    """What a Node server script is told to listen on."""
    return harness.path("node.sock") if transport == "unix" else "0"


# --- 64 MiB through an echo, both ways ---------------------------------------------------

BIG = 64 * MIB


@pytest.mark.slow
def test_node_client_streams_64mib_through_gnet_echo_server(
        harness: Any, node_script: Any, figures: dict[str, Any]) -> None:
    """A Node client sends 64 MiB through a gnet echo server; both ends check the SHA-256."""
    seed = "node-to-gnet"
    expected = stream_sha256(seed, BIG)
    echo = EchoServer(harness, 0, HOST)
    client = node_script("stream_client.js", echo.target, BIG, seed)
    got = client.result()
    [conn] = echo.wait()

    figures.update(bytes_each_way=BIG, sha256=short(expected))
    assert got["sent"] == got["received"] == BIG
    assert got["sent_sha256"] == got["received_sha256"] == expected
    assert got["events"][0] == "connect" and got["events"][-2:] == ["end", "close"]
    assert "finish" in got["events"]
    assert conn["errors"] == []
    assert conn["had_error"] is False
    assert conn["read"] == conn["written"] == conn["received"] == BIG
    assert conn["sha256"] == expected
    figures.update(hashes_matched=3)


@pytest.mark.slow
def test_gnet_client_streams_64mib_through_node_echo_server(
        harness: Any, node_script: Any, figures: dict[str, Any]) -> None:
    """A gnet client sends 64 MiB through a Node echo server; both ends check the SHA-256."""
    seed = "gnet-to-node"
    expected = stream_sha256(seed, BIG)
    server = node_script("echo_server.js", "0")
    side = Side(first=True, seed=seed, nbytes=BIG, half_open=False)
    sock = gnet_client(harness, server.ready())
    side.serve(sock)
    [seen] = server.result()["connections"]
    mine = side.result()

    figures.update(bytes_each_way=BIG, sha256=short(expected))
    assert seen["received"] == seen["written"] == BIG
    assert seen["sha256"] == expected
    assert seen["had_error"] is False
    assert mine["error"] is None
    assert mine["received"] == BIG
    assert mine["received_sha256"] == expected
    assert sock.bytesRead == sock.bytesWritten == BIG
    assert mine["events"][-2:] == ["end", "close"]
    assert mine["had_error"] is False
    figures.update(hashes_matched=2)


# --- half-close ---------------------------------------------------------------------------

FIRST_BYTES = 3 * MIB + 123
SECOND_BYTES = 2 * MIB + 45


def run_scenario(harness: Any, node_script: Any, *, gnet_role: str, gnet_first: bool,
                 transport: str, first_bytes: int, second_bytes: int, half_open: bool,
                 end_mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One connection between gnet and node/half_close.js; returns (gnet's, Node's) report."""
    gnet_bytes, node_bytes = (first_bytes, second_bytes) if gnet_first else \
        (second_bytes, first_bytes)
    side = Side(first=gnet_first, seed="gnet-side", nbytes=gnet_bytes, half_open=half_open,
                end_mode=end_mode if gnet_first else "write-end")
    node_args = ("self" if not gnet_first else "peer", "node-side", node_bytes,
                 f"half_open={int(half_open)}",
                 f"end_mode={end_mode if not gnet_first else 'write-end'}")
    if gnet_role == "server":
        srv = harness.server(side.serve, allowHalfOpen=half_open)
        harness.listen(srv, *listen_args(transport, harness))
        address = srv.address()
        target = address if isinstance(address, str) else address["port"]
        peer = node_script("half_close.js", "client", target, *node_args)
    else:
        peer = node_script("half_close.js", "server", node_target(transport, harness),
                           *node_args)
        sock = gnet_client(harness, peer.ready(), allowHalfOpen=half_open)
        sock.on("connect", lambda: side.events.append("connect"))
        side.serve(sock)
    theirs = peer.result()
    mine = side.result()
    return mine, theirs


@pytest.mark.parametrize("transport", ["tcp", "unix"])
@pytest.mark.parametrize("first", ["gnet", "node"])
@pytest.mark.parametrize("gnet_role", ["server", "client"])
def test_half_close_with_allow_half_open(
        harness: Any, node_script: Any, figures: dict[str, Any],
        gnet_role: str, first: str, transport: str) -> None:
    """The first side writes and ends; the other, still writable, answers and ends."""
    mine, theirs = run_scenario(harness, node_script, gnet_role=gnet_role,
                                gnet_first=first == "gnet", transport=transport,
                                first_bytes=FIRST_BYTES, second_bytes=SECOND_BYTES,
                                half_open=True, end_mode="write-end")
    first_report, second_report = (mine, theirs) if first == "gnet" else (theirs, mine)
    first_is_client = (first == "gnet") == (gnet_role == "client")
    first_seed, second_seed = ("gnet-side", "node-side") if first == "gnet" else \
        ("node-side", "gnet-side")
    connect_first = ["connect"] if first_is_client else []
    connect_second = [] if first_is_client else ["connect"]

    figures.update(bytes=FIRST_BYTES + SECOND_BYTES, first=first)
    assert first_report.get("error") is None and second_report.get("error") is None
    # The first side: its FIN went out, then the answer came, then the peer's FIN.
    assert first_report["events"] == [*connect_first, "finish", "data", "end", "close"]
    assert first_report["bytes_written"] == FIRST_BYTES
    assert first_report["received"] == first_report["received_after_finish"] == SECOND_BYTES
    assert first_report["received_sha256"] == stream_sha256(second_seed, SECOND_BYTES)
    assert first_report["at_end"] == {"writable": False, "readable": False,
                                      "readyState": "closed", "received": SECOND_BYTES}
    # The second side: every byte before 'end', still writable in 'end'.
    assert second_report["events"] == [*connect_second, "data", "end", "finish", "close"]
    assert second_report["at_end"] == {"writable": True, "readable": False,
                                       "readyState": "writeOnly", "received": FIRST_BYTES}
    assert second_report["received_sha256"] == stream_sha256(first_seed, FIRST_BYTES)
    assert second_report["bytes_written"] == SECOND_BYTES
    assert first_report["had_error"] is second_report["had_error"] is False
    figures.update(hashes_matched=2)


END_BYTES = 8 * MIB + 7


@pytest.mark.parametrize("sender", ["gnet", "node"])
@pytest.mark.parametrize("gnet_role", ["server", "client"])
def test_end_data_arrives_whole_before_fin(
        harness: Any, node_script: Any, figures: dict[str, Any],
        gnet_role: str, sender: str) -> None:
    """``end(8 MiB)`` in one call: the receiver has every byte when 'end' comes.

    allowHalfOpen is off on both sides here: the receiver ends by itself
    after its 'end' listener ran, and is still writable inside it.
    """
    mine, theirs = run_scenario(harness, node_script, gnet_role=gnet_role,
                                gnet_first=sender == "gnet", transport="tcp",
                                first_bytes=END_BYTES, second_bytes=0, half_open=False,
                                end_mode="end-data")
    sent, got = (mine, theirs) if sender == "gnet" else (theirs, mine)
    sender_is_client = (sender == "gnet") == (gnet_role == "client")
    seed = "gnet-side" if sender == "gnet" else "node-side"

    figures.update(bytes=END_BYTES, sender=sender)
    assert sent.get("error") is None and got.get("error") is None
    assert sent["bytes_written"] == END_BYTES
    assert sent["events"] == [*(["connect"] if sender_is_client else []),
                              "finish", "end", "close"]
    assert got["events"] == [*([] if sender_is_client else ["connect"]),
                             "data", "end", "finish", "close"]
    assert got["at_end"] == {"writable": True, "readable": False,
                             "readyState": "writeOnly", "received": END_BYTES}
    assert got["received_sha256"] == stream_sha256(seed, END_BYTES)
    assert got["bytes_written"] == 0
    assert sent["had_error"] is got["had_error"] is False
    figures.update(hashes_matched=1)


# --- resets ---------------------------------------------------------------------------------


def reset_peer(harness: Any, node_script: Any, gnet_role: str, action: str,
               on_data: Callable[[net.Socket], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run node/reset.js against a gnet socket whose 'data' calls ``on_data(sock)``."""
    events: list[str] = []
    done: AsyncResult = AsyncResult()
    found: dict[str, Any] = {"error": None}

    def serve(sock: net.Socket) -> None:
        found["sock"] = sock

        def data(_chunk: bytes) -> None:
            events.append("data")
            on_data(sock)

        def error(err: BaseException) -> None:
            events.append("error")
            found["error"] = error_info(err)
            found["exception"] = err

        def close(had_error: bool) -> None:
            events.append("close")
            done.set(had_error)

        sock.on("data", data)
        sock.on("end", lambda: events.append("end"))
        sock.on("error", error)
        sock.on("close", close)

    if gnet_role == "server":
        srv = harness.server(serve)
        harness.listen(srv, 0, HOST)
        peer = node_script("reset.js", "client", srv.address()["port"], action)
    else:
        peer = node_script("reset.js", "server", "0", action)
        sock = gnet_client(harness, peer.ready())
        sock.on("connect", lambda: events.append("connect"))
        serve(sock)
    theirs = peer.result()
    had_error = done.get(timeout=WAIT_MS / 1000)
    return {"events": events, "had_error": had_error, **found}, theirs


@pytest.mark.parametrize("gnet_role", ["server", "client"])
def test_node_reset_and_destroy_is_econnreset_in_gnet(
        harness: Any, node_script: Any, figures: dict[str, Any], gnet_role: str) -> None:
    """Node's ``resetAndDestroy()``: gnet gets 'error' ECONNRESET ('read'), then 'close'(True)."""
    mine, theirs = reset_peer(harness, node_script, gnet_role, "reset",
                              lambda sock: sock.write(b"pong"))
    assert theirs["error"] is None and theirs["had_error"] is False
    assert theirs["events"][-2:] == ["data", "close"]
    connect = ["connect"] if gnet_role == "client" else []
    assert mine["events"] == [*connect, "data", "error", "close"]
    assert mine["error"] == {"code": "ECONNRESET", "syscall": "read",
                             "message": "read ECONNRESET"}
    assert isinstance(mine["exception"], ConnectionResetError)
    assert mine["had_error"] is True
    figures.update(gnet_saw=mine["error"]["code"])


@pytest.mark.parametrize("gnet_role", ["server", "client"])
def test_gnet_reset_and_destroy_is_econnreset_in_node(
        harness: Any, node_script: Any, figures: dict[str, Any], gnet_role: str) -> None:
    """gnet's ``resetAndDestroy()``: Node gets 'error' ECONNRESET; gnet gets no 'error'."""
    returned: list[Any] = []
    mine, theirs = reset_peer(harness, node_script, gnet_role, "expect-reset",
                              lambda sock: returned.append(sock.resetAndDestroy()))
    assert theirs["error"] == {"code": "ECONNRESET", "syscall": "read",
                               "message": "read ECONNRESET"}
    assert theirs["events"][-2:] == ["error", "close"]
    assert theirs["had_error"] is True
    assert returned == [mine["sock"]]
    connect = ["connect"] if gnet_role == "client" else []
    assert mine["events"] == [*connect, "data", "close"]
    assert mine["error"] is None
    assert mine["had_error"] is False
    figures.update(node_saw=theirs["error"]["code"])


# --- many clients ---------------------------------------------------------------------------

CLIENTS = 200
PER_CLIENT = 64 * KIB + 17


def test_200_concurrent_node_clients(
        harness: Any, node_script: Any, figures: dict[str, Any]) -> None:
    """200 Node clients, all connected at once, each echoed exactly its own bytes."""
    seed = "many"
    echo = EchoServer(harness, 0, HOST, expect=CLIENTS)
    got = node_script("many_clients.js", echo.target, CLIENTS, PER_CLIENT, seed).result()
    conns = echo.wait()
    total = CLIENTS * PER_CLIENT

    figures.update(clients_served=got["ok"], peak_open=echo.peak, bytes_each_way=total)
    assert got["clients"] == got["ok"] == CLIENTS
    assert got["sent"] == got["received"] == total
    assert len(conns) == CLIENTS
    assert echo.peak == CLIENTS  # every client was connected at the same moment
    assert [c["errors"] for c in conns] == [[]] * CLIENTS
    assert not any(c["had_error"] for c in conns)
    assert sum(c["read"] for c in conns) == sum(c["written"] for c in conns) == total
    # Each connection carried one client's stream, whole: no bytes crossed over.
    expected = sorted(hashlib.sha256(chunk(f"{seed}-{i}", 0, PER_CLIENT)).hexdigest()
                      for i in range(CLIENTS))
    assert sorted(c["sha256"] for c in conns) == expected
    figures.update(hashes_matched=CLIENTS)


# --- the chat example ------------------------------------------------------------------------

CHAT_MEMBERS = 5
CHAT_LINES = 200


def test_chat_example_with_node_clients(node_script: Any, figures: dict[str, Any]) -> None:
    """examples/chat_server.py relays each Node member's lines to all others, in order."""
    if not (EXAMPLES / "chat_server.py").is_file():
        pytest.skip("examples/chat_server.py is not here")
    server = gevent.subprocess.Popen(
        [sys.executable, str(EXAMPLES / "chat_server.py"), "--host", HOST, "--port", "0"],
        stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        with gevent.Timeout(15):
            first = server.stdout.readline().decode()
        match = re.search(r"listening on \S+:(\d+)", first)
        assert match, f"chat_server.py said {first!r}"
        got = node_script("chat_clients.js", match.group(1), CHAT_MEMBERS, CHAT_LINES).result()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=15)

    delivered = CHAT_MEMBERS * (CHAT_MEMBERS - 1) * CHAT_LINES
    figures.update(members=CHAT_MEMBERS, lines_delivered=got["lines_delivered"])
    assert got["lines_delivered"] == delivered
    for member in got["members"]:
        assert member["said"] == CHAT_LINES
        assert member["heard"] == (CHAT_MEMBERS - 1) * CHAT_LINES
        assert member["in_order"] and member["joins_ok"] and not member["own_echoed"], member
    log = out.decode().splitlines()
    for i in range(CHAT_MEMBERS):
        assert f"m{i} joined" in log and f"m{i} left" in log, log
    assert server.returncode == 0, err.decode(errors="replace")


# --- Unix domain sockets --------------------------------------------------------------------

UNIX_BYTES = 16 * MIB + 5


def test_unix_node_client_gnet_echo_server(
        harness: Any, node_script: Any, figures: dict[str, Any]) -> None:
    """16 MiB from a Node client through a gnet echo server on a Unix socket."""
    seed = "unix-node-to-gnet"
    expected = stream_sha256(seed, UNIX_BYTES)
    echo = EchoServer(harness, harness.path())
    assert isinstance(echo.target, str)
    got = node_script("stream_client.js", echo.target, UNIX_BYTES, seed).result()
    [conn] = echo.wait()

    figures.update(bytes_each_way=UNIX_BYTES, sha256=short(expected))
    assert got["sent"] == got["received"] == UNIX_BYTES
    assert got["sent_sha256"] == got["received_sha256"] == expected
    assert conn["errors"] == [] and conn["had_error"] is False
    assert conn["read"] == conn["written"] == UNIX_BYTES
    assert conn["sha256"] == expected
    figures.update(hashes_matched=3)


def test_unix_gnet_client_node_echo_server(
        harness: Any, node_script: Any, figures: dict[str, Any]) -> None:
    """16 MiB from a gnet client through a Node echo server on a Unix socket."""
    seed = "unix-gnet-to-node"
    expected = stream_sha256(seed, UNIX_BYTES)
    server = node_script("echo_server.js", harness.path("node.sock"))
    target = server.ready()
    assert target == harness.path("node.sock")
    side = Side(first=True, seed=seed, nbytes=UNIX_BYTES, half_open=False)
    sock = gnet_client(harness, target)
    side.serve(sock)
    [seen] = server.result()["connections"]
    mine = side.result()

    figures.update(bytes_each_way=UNIX_BYTES, sha256=short(expected))
    assert seen["received"] == seen["written"] == UNIX_BYTES
    assert seen["sha256"] == expected and seen["had_error"] is False
    assert mine["error"] is None and mine["had_error"] is False
    assert mine["received"] == UNIX_BYTES
    assert mine["received_sha256"] == expected
    assert mine["events"][-2:] == ["end", "close"]
    figures.update(hashes_matched=2)


def test_stream_helpers_match_node(node: str, figures: dict[str, Any]) -> None:
    """node/lib.js and this module build the same test stream (the premise of every hash)."""
    script = ("const lib = require('./lib');"
              "process.stdout.write(lib.streamSha256('probe', 3 * 1048576 + 11));")
    out = gevent.subprocess.run([node, "-e", script], cwd=Path(__file__).parent / "node",
                         capture_output=True, text=True, timeout=20, check=True).stdout
    assert out == stream_sha256("probe", 3 * MIB + 11)
