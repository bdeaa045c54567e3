"""Shared pieces of the reliability tests: measuring, event logs, a bench, figures.

Figures: a test hands what it measured (connections served, bytes verified,
faults injected, descriptors and RSS before and after, CPU time) to the
``figures`` fixture. They go to ``record_property`` (so ``--junitxml``
keeps them) and are printed at the end of the run in a section headed
"gnet reliability figures"; set ``GNET_RELIABILITY_FIGURES=path.json`` to
have them written as JSON too.

Bench: one gnet server per test that records every accepted socket's events,
pairs each client with its accepted socket (by port, so concurrency never
mixes them up), runs "bystander" echo transfers across a fault and checks
they come out intact, and checks at the end that the server still serves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import logging
import os
import random
import socket as stdsocket
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import gevent.socket as gsocket
import greenlet
import pytest

import gnet as net
from gnet.dispatch import idle_workers
from helpers import HOST, KIB, wait_until

# The longest any single wait may take, in seconds: far above what loopback needs.
WAIT_S = 5.0
# gnet reads at most this much per recv(), so no 'data' chunk is larger.
READ_CHUNK = 64 * KIB


# --- measuring -------------------------------------------------------------------


def fd_count(pid: int | str = "self") -> int:
    """Open file descriptors of a process (``/proc/<pid>/fd``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, in bytes (``/proc/<pid>/statm``)."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    return trim


_TRIM = _malloc_trim()


def trimmed_rss_bytes() -> int:
    """RSS after handing free heap memory back to the system (glibc's malloc_trim(0)).

    glibc keeps freed memory for reuse, and how much it keeps after many
    connections depends on fragmentation, not on what is still in use:
    without the trim, RSS grows ~12 MiB over the first ~20,000 connections
    and then stays flat, while tracemalloc sees no growth at all.
    """
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
    return rss_bytes()


def greenlet_census() -> int:
    """Live greenlets in this process, not counting gnet's parked dispatcher workers.

    Parked workers are kept on purpose for the next burst (at most
    ``gnet.dispatch.MAX_IDLE_WORKERS``); everything else alive is counted.
    """
    gc.collect()
    parked = {id(g) for g in idle_workers()}
    return sum(
        1 for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet) and not obj.dead and id(obj) not in parked
    )


def socket_census() -> int:
    """gnet.Socket objects still alive in this process (after a collection)."""
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, net.Socket))


def linger_zero(sock: stdsocket.socket) -> None:
    """Make ``close()`` of a stdlib socket send RST (SO_LINGER on, 0 s)."""
    sock.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))


# --- event logs ------------------------------------------------------------------------


class EventLog:
    """Records one socket's events in order: what every fault test checks.

    'data' is only collected when asked (:meth:`collect`), because a 'data'
    listener switches the socket into flowing mode.
    """

    def __init__(self, sock: net.Socket) -> None:
        self.sock = sock
        self.events: list[str] = []
        self.errors: list[BaseException] = []
        self.closes: list[bool] = []
        self.data = bytearray()
        self.data_after_close = 0
        sock.on("end", lambda: self.events.append("end"))
        sock.on("finish", lambda: self.events.append("finish"))
        sock.on("timeout", lambda: self.events.append("timeout"))
        sock.on("error", self._on_error)
        sock.on("close", self._on_close)

    def _on_error(self, err: BaseException) -> None:
        self.events.append("error")
        self.errors.append(err)

    def _on_close(self, had_error: bool) -> None:
        self.events.append("close")
        self.closes.append(had_error)

    def collect(self) -> EventLog:
        """Keep every 'data' chunk in :attr:`data`; returns self."""
        self.sock.on("data", self._on_data)
        return self

    def _on_data(self, chunk: bytes) -> None:
        if self.closes:
            self.data_after_close += 1
        self.data.extend(chunk)

    @property
    def closed(self) -> bool:
        return bool(self.closes)

    @property
    def codes(self) -> list[Any]:
        return [getattr(err, "code", type(err).__name__) for err in self.errors]

    def wait_closed(self, timeout: float = WAIT_S) -> EventLog:
        wait_until(lambda: self.closes, timeout, f"'close' on {self.sock!r}")
        return self

    def assert_closed_once(self, had_error: bool) -> None:
        """'close' came once, last, with ``had_error``; 'error' (if any) right before it."""
        gevent.sleep(0.01)  # a second 'close' would have been queued by now
        assert self.closes == [had_error], self.events
        assert self.events[-1] == "close", self.events
        assert self.data_after_close == 0
        if had_error:
            assert self.events[-2:] == ["error", "close"], self.events
            assert len(self.errors) == 1, self.errors
        else:
            assert self.errors == [], self.errors

    def assert_error(self, codes: tuple[str, ...], syscalls: tuple[str, ...] | None = None,
                     ) -> BaseException:
        """Exactly one 'error', with a code from ``codes``, then 'close'(True) once."""
        self.assert_closed_once(True)
        err = self.errors[0]
        assert getattr(err, "code", None) in codes, (err, self.events)
        if syscalls is not None:
            assert getattr(err, "syscall", None) in syscalls, err
        return err


# --- figures -------------------------------------------------------------------------------

_FIGURES: dict[str, dict[str, Any]] = {}


class Figures:
    """What one test measured; see the module docstring."""

    def __init__(self, nodeid: str, record: Callable[[str, Any], None]) -> None:
        self._mine = _FIGURES.setdefault(nodeid, {})
        self._record = record

    def __setitem__(self, name: str, value: Any) -> None:
        if isinstance(value, float):
            value = round(value, 4)
        self._mine[name] = value
        self._record(name, value)

    def add(self, name: str, amount: int | float) -> None:
        self[name] = self._mine.get(name, 0) + amount


@pytest.fixture
def figures(request: pytest.FixtureRequest, record_property: Any) -> Figures:
    """Collects this test's figures for the end-of-run summary."""
    return Figures(request.node.nodeid, record_property)


def _format(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


# Figures summed over every test in the run's last lines.
TOTALS = ("connections", "bytes verified", "faults injected")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not any(_FIGURES.values()):
        return
    terminalreporter.section("gnet reliability figures")
    totals = dict.fromkeys(TOTALS, 0)
    for nodeid, values in _FIGURES.items():
        if not values:
            continue
        terminalreporter.write_line(nodeid.split("::", 1)[-1])
        for name, value in values.items():
            terminalreporter.write_line(f"    {name}: {_format(value)}")
            if name in totals:
                totals[name] += value
    terminalreporter.write_line("total over these tests")
    for name, value in totals.items():
        terminalreporter.write_line(f"    {name}: {_format(value)}")
    path = os.environ.get("GNET_RELIABILITY_FIGURES")
    if path:
        with open(path, "w") as f:
            json.dump(_FIGURES, f, indent=2, sort_keys=True)
        terminalreporter.write_line(f"(written to {path})")


# --- the bench -------------------------------------------------------------------------------


class _GnetErrors(logging.Handler):
    """Keeps the records gnet logs at ERROR: a listener that failed, an internal error."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Bystander:
    """An echo transfer that runs across a fault and must come out intact.

    The first half of the payload is sent and echoed before the fault, the
    second half (and the FIN) after it.
    """

    def __init__(self, bench: Bench, payload: bytes) -> None:
        self.payload = payload
        self.bench = bench
        self.client, self.accepted = bench.pair()
        self.client_log = EventLog(self.client).collect()
        self.accepted.pipe(self.accepted)
        self.half = len(payload) // 2

    def start(self) -> None:
        self.client.write(self.payload[:self.half])

    def started(self) -> bool:
        return len(self.client_log.data) >= self.half

    def finish(self) -> None:
        self.client.end(self.payload[self.half:])

    def check(self) -> None:
        self.client_log.wait_closed()
        self.client_log.assert_closed_once(False)
        assert self.client_log.data == self.payload, "a bystander's echo was damaged"
        server_log = self.bench.log_of(self.accepted)
        server_log.wait_closed()
        server_log.assert_closed_once(False)


class Bench:
    """A gnet server for one test, its accepted sockets, and the test's clients."""

    def __init__(self, **server_options: Any) -> None:
        self.accepted: list[net.Socket] = []
        # Accepted sockets' logs, by the peer's port and by id() (gnet
        # sockets have __slots__, so the log cannot ride on the socket).
        self.logs: dict[int, EventLog] = {}
        self._log_by_id: dict[int, EventLog] = {}
        self.clients: list[net.Socket] = []
        self.raw: list[stdsocket.socket] = []
        self.servers: list[net.Server] = []
        self.server = self.make_server(**server_options)
        self.port: int = self.server.address()["port"]
        self.gnet_errors = _GnetErrors()
        logging.getLogger("gnet").addHandler(self.gnet_errors)
        #: Payload bytes compared with what was sent (bystanders, prefixes, echoes).
        self.verified = 0
        #: Resets, kills, destroys and late writes a test caused on purpose.
        self.faults = 0

    def make_server(self, listener: Callable[[net.Socket], Any] | None = None,
                    **options: Any) -> net.Server:
        """A listening server whose accepted sockets are logged (extra servers too)."""
        srv = net.createServer(options or None)
        srv.on("connection", self._on_connection)
        if listener is not None:
            srv.on("connection", listener)
        srv.listen(0, HOST)
        self.servers.append(srv)
        return srv

    def _on_connection(self, sock: net.Socket) -> None:
        log = EventLog(sock)
        self._log_by_id[id(sock)] = log
        self.accepted.append(sock)
        port = sock.remotePort
        if port is not None:
            self.logs[port] = log

    def connect(self, port: int | None = None, **options: Any) -> net.Socket:
        sock = net.createConnection({"port": port or self.port, "host": HOST, **options})
        self.clients.append(sock)
        return sock

    def accepted_for(self, local_port: int) -> net.Socket:
        """The accepted socket whose peer is our socket bound to ``local_port``."""
        wait_until(lambda: local_port in self.logs, what=f"the server to accept :{local_port}")
        return self.logs[local_port].sock

    def log_of(self, accepted: net.Socket) -> EventLog:
        return self._log_by_id[id(accepted)]

    def pair(self, **client_options: Any) -> tuple[net.Socket, net.Socket]:
        """A connected gnet client and the server's socket for it."""
        client = self.connect(**client_options)
        wait_until(lambda: not client.connecting, what="connect")
        assert client.localPort is not None, client
        return client, self.accepted_for(client.localPort)

    def raw_pair(self) -> tuple[stdsocket.socket, net.Socket]:
        """A connected stdlib (gevent-cooperative) socket and the server's socket for it."""
        raw = gsocket.create_connection((HOST, self.port), timeout=WAIT_S)
        self.raw.append(raw)
        return raw, self.accepted_for(raw.getsockname()[1])

    @contextmanager
    def bystanders(self, rng: random.Random, count: int = 4,
                   size: int = 512 * KIB) -> Iterator[list[Bystander]]:
        """Echo transfers open across the block; checked intact when it ends."""
        group = [Bystander(self, rng.randbytes(size)) for _ in range(count)]
        for each in group:
            each.start()
        wait_until(lambda: all(b.started() for b in group), what="bystanders' first halves")
        yield group
        for each in group:
            each.finish()
        for each in group:
            each.check()
            self.verified += len(each.payload)

    def assert_serving(self) -> None:
        """The server still accepts and echoes, and gnet logged no error."""
        client, accepted = self.pair()
        accepted.pipe(accepted)
        log = EventLog(client).collect()
        client.end(b"still serving")
        log.wait_closed()
        log.assert_closed_once(False)
        assert log.data == b"still serving"
        assert [r.getMessage() for r in self.gnet_errors.records] == []

    def close(self) -> None:
        logging.getLogger("gnet").removeHandler(self.gnet_errors)
        for sock in self.clients:
            sock.destroy()
        for raw in self.raw:
            raw.close()
        for srv in self.servers:
            srv.closeAllConnections()
            if srv.listening:
                srv.close()
        net.run(timeout=WAIT_S * 1000)


@pytest.fixture
def bench(figures: Figures) -> Iterator[Bench]:
    """A :class:`Bench` torn down after the test; its counts go to the figures."""
    b = Bench()
    try:
        yield b
    finally:
        b.close()
        figures.add("connections", len(b.accepted))
        figures.add("bytes verified", b.verified)
        figures.add("faults injected", b.faults)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator seeded from the test's id: the same choices on every run."""
    return random.Random(request.node.nodeid)
