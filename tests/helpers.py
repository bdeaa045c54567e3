"""Plumbing shared by the tests that drive real gnet servers and sockets.

Waits that let the gevent loop run until something happened, event
recorders, small socket probes, and the harness classes that keep every
server and socket a test makes so that all of them are closed when it ends.
The fixtures that hand the harnesses out are in conftest.py (``env``,
``track``, ``net_harness``); this module holds no fixtures.

Listeners run in gnet's worker greenlets, where an exception is logged and
destroys the socket instead of failing the test, so the recorders here only
record; the test bodies assert on what they recorded.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket as stdsocket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gevent.queue
import pytest
from gevent.event import AsyncResult, Event

import gnet as net
from gnet.events import once

HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB

# The bound on any one wait, in ms; loopback answers in far less.
WAIT_MS = 5000

EVENTS = ("lookup", "connect", "ready", "data", "end", "finish", "drain", "timeout", "error",
          "close")

_H = TypeVar("_H", bound="Harness")


# --- waits ---------------------------------------------------------------------------


def _poll(predicate: Callable[[], Any], seconds: float, interval: float) -> bool:
    """Let the loop run until ``predicate()`` is true; False if ``seconds`` passed first."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(interval)
    return True


def wait_until(predicate: Callable[[], Any], ms: float = WAIT_MS,
               what: str = "a condition") -> None:
    """Let the loop run until ``predicate()`` is true; AssertionError after ``ms`` ms."""
    if not _poll(predicate, ms / 1000, 0.001):
        raise AssertionError(f"timed out after {ms} ms waiting for {what}")


def until(predicate: Callable[[], Any], timeout: float = 3.0, what: str | None = None, *,
          interval: float = 0.005) -> None:
    """Let the loop run until ``predicate()`` is true; fail the test after ``timeout`` seconds.

    ``what`` names the awaited thing in the failure (default: the predicate's
    repr); ``interval`` is the pause between two looks, in seconds.
    """
    if not _poll(predicate, timeout, interval):
        pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")


def settle() -> None:
    """Give queued events a chance to run (used before asserting that one never came)."""
    gevent.sleep(0.05)


def default_sigint() -> None:
    """``preexec_fn`` for a child that must take Ctrl-C the usual way.

    A process started in the background by a non-interactive shell (as a CI
    job may be) inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler; a test that sends SIGINT gives its child the
    default disposition back.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- probes ----------------------------------------------------------------------------


def can_bind(family: int, host: str) -> bool:
    """Whether a TCP socket of ``family`` can bind to ``host`` on this machine."""
    try:
        with stdsocket.socket(family, stdsocket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError:
        return False
    return True


def has_ipv6_loopback() -> bool:
    """Whether this machine can bind a TCP socket to ``::1``."""
    return stdsocket.has_ipv6 and can_bind(stdsocket.AF_INET6, "::1")


def closed_port(host: str = HOST) -> int:
    """A port nothing listens on (bound once, then released)."""
    family = stdsocket.AF_INET6 if ":" in host else stdsocket.AF_INET
    with stdsocket.socket(family, stdsocket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def port_of(srv: net.Server) -> int:
    port: int = srv.address()["port"]
    return port


def accepted(srv: net.Server) -> AsyncResult:
    """An AsyncResult that gets the server's first accepted socket."""
    result: AsyncResult = AsyncResult()
    srv.once("connection", result.set)
    return result


def gnet_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records of ERROR and above that logger ``gnet`` wrote during the test."""
    return [r for r in caplog.records if r.name == "gnet" and r.levelno >= logging.ERROR]


# --- recorders ---------------------------------------------------------------------------


class Recorder:
    """Every event of one socket, in order, as ``(name, args)``."""

    def __init__(self, sock: net.Socket, names: tuple[str, ...] = EVENTS) -> None:
        self.sock = sock
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        for name in names:
            sock.on(name, functools.partial(self._record, name))

    def _record(self, name: str, *args: Any) -> None:
        self.log.append((name, args))

    @property
    def names(self) -> list[str]:
        return [name for name, _args in self.log]

    def squeezed(self) -> list[str]:
        """The event names with runs of 'data' folded into one."""
        out: list[str] = []
        for name in self.names:
            if not (name == "data" and out and out[-1] == "data"):
                out.append(name)
        return out

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [args for event, args in self.log if event == name]

    def data(self) -> bytes:
        return b"".join(args[0] for args in self.args("data"))

    def wait(self, name: str, ms: float = WAIT_MS) -> tuple[Any, ...]:
        """Wait until ``name`` was recorded; return its first arguments."""
        wait_until(lambda: name in self.names, ms, f"{name!r} (saw {self.names})")
        return self.args(name)[0]


# --- harnesses ---------------------------------------------------------------------------


class Harness:
    """The servers and sockets one test made, all closed when it ends.

    ``close()`` destroys every tracked socket (gnet and stdlib), closes every
    server with :meth:`close_server` and returns what :meth:`drain` says. The
    subclasses differ in how they make servers and in those two steps, each
    as the tests written against it expect.
    """

    def __init__(self) -> None:
        self.servers: list[net.Server] = []
        self.sockets: list[net.Socket] = []
        self.raw: list[stdsocket.socket] = []

    @classmethod
    def for_test(cls: type[_H], request: pytest.FixtureRequest) -> _H:
        """The instance conftest's ``env`` fixture hands to a test of ``request``."""
        return cls()

    def add(self, srv: net.Server) -> net.Server:
        """Have a server made some other way closed at teardown too."""
        self.servers.append(srv)
        return srv

    def track(self, sock: net.Socket) -> net.Socket:
        """Have a socket made some other way destroyed at teardown too."""
        self.sockets.append(sock)
        return sock

    def connect(self, *args: Any, **kwargs: Any) -> net.Socket:
        return self.track(net.createConnection(*args, **kwargs))

    def socket(self, *args: Any, **kwargs: Any) -> net.Socket:
        return self.track(net.Socket(*args, **kwargs))

    def close(self) -> bool:
        for sock in self.sockets:
            sock.destroy()
        for raw in self.raw:
            raw.close()
        for srv in self.servers:
            self.close_server(srv)
        return self.drain()

    def close_server(self, srv: net.Server) -> None:
        srv.closeAllConnections()
        if srv.listening:
            srv.close()

    def drain(self) -> bool:
        """Let what closing started run; False if something is known to be left."""
        return True


class Env(Harness):
    """A harness that also fails the test on any ERROR that gnet logged.

    ``server()`` returns a server already listening; each test ends with
    ``finish()``, which tears everything down and fails the test if gnet
    logged an error on the way (a listener that raised, an internal error).
    """

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        super().__init__()
        self.caplog = caplog

    @classmethod
    def for_test(cls, request: pytest.FixtureRequest) -> Env:
        caplog = request.getfixturevalue("caplog")
        caplog.set_level(logging.WARNING, logger="gnet")
        return cls(caplog)

    def server(
        self,
        listener: Callable[[net.Socket], Any] | None = None,
        *,
        host: str | None = HOST,
        path: str | None = None,
        **options: Any,
    ) -> net.Server:
        """A listening server; ``host=None`` listens on every address (dual-stack)."""
        srv = self.add(net.createServer(options or None, listener))
        if path is not None:
            srv.listen(path)
        elif host is None:
            srv.listen(0)
        else:
            srv.listen(0, host)
        once(srv, "listening", timeout=WAIT_MS)
        return srv

    def close_server(self, srv: net.Server) -> None:
        srv.close()
        srv.closeAllConnections()

    def drain(self) -> bool:
        """Run the loop until gnet holds nothing open; False if that took over WAIT_MS."""
        return net.run(timeout=WAIT_MS)

    def finish(self) -> None:
        """End of a test body: tear down, then check that gnet logged no error."""
        assert self.close(), "something still keeps gnet.run() alive after teardown"
        gevent.sleep(0.005)  # let the servers' 'close' events run
        logged = gnet_errors(self.caplog)
        assert not logged, "gnet logged errors:\n" + "\n".join(
            f"{r.getMessage()}\n{r.exc_text or ''}" for r in logged)


class Net(Harness):
    """A harness for loopback pairs: ``server()`` returns ``(server, port)``.

    Every accepted socket is kept in ``accepted``, in order, before the
    test's own 'connection' listener runs (even if that one blocks).
    ``poll`` is the pause of :meth:`accepted_socket`'s wait, in seconds.
    """

    poll = 0.005

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[net.Socket] = []

    def server(self, listener: Callable[[net.Socket], Any] | None = None,
               host: str = HOST, **options: Any) -> tuple[net.Server, int]:
        srv = net.createServer(options or None, listener)
        srv.prependListener("connection", self.accepted.append)
        srv.listen(0, host)
        self.add(srv)
        return srv, port_of(srv)

    def connect(self, port: int, **options: Any) -> net.Socket:  # type: ignore[override]
        return self.track(net.createConnection({"port": port, "host": HOST, **options}))

    def raw_client(self, port: int) -> stdsocket.socket:
        """A stdlib client socket, for a peer that must not be gnet."""
        raw = stdsocket.create_connection((HOST, port), timeout=2)
        self.raw.append(raw)
        return raw

    def accepted_socket(self, index: int = 0) -> net.Socket:
        until(lambda: len(self.accepted) > index, what="the server to accept",
              interval=self.poll)
        return self.accepted[index]

    def close_server(self, srv: net.Server) -> None:
        closed = Event()
        srv.close(lambda *_args, done=closed: done.set())
        srv.closeAllConnections()
        closed.wait(2)


class Tracker(Harness):
    """A harness that makes servers as ``net.createServer`` does and leaves listen() to the test."""

    def server(self, *args: Any, **kwargs: Any) -> net.Server:
        return self.add(net.createServer(*args, **kwargs))

    def drain(self) -> bool:
        settle()
        return True


class NetHarness(Harness):
    """Makes gnet servers and client sockets for one test, and tears them down.

    ``server(listener, **options)`` is ``net.createServer``; ``listen(server,
    *args)`` is ``server.listen(*args)`` plus a bounded wait for 'listening'
    (raising the listen error if that comes instead); ``connect(*args)`` is
    ``net.createConnection``; ``path(name)`` is a Unix socket path in
    ``directory`` (a short temporary one, from the fixture).
    """

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory

    def path(self, name: str = "s.sock") -> str:
        return os.path.join(self.directory, name)

    def server(self, listener: Any = None, **options: Any) -> Any:
        return self.add(net.createServer(options, listener))

    def listen(self, srv: Any, *args: Any, **kwargs: Any) -> Any:
        srv.listen(*args, **kwargs)
        once(srv, "listening", timeout=WAIT_MS)
        return srv

    def drain(self) -> bool:
        # Let every 'close' run now, so nothing of this test runs in the next.
        return net.run(timeout=WAIT_MS)


class Acceptor:
    """A listening gnet server that hands out both ends of connections.

    ``connect()`` starts a client (not yet connected when it returns),
    ``side_of(client)`` waits for its server-side socket, and ``pair()``
    does both. ``forget()`` destroys what was made so far; ``close()`` also
    closes the server and waits for its 'close'.
    """

    def __init__(self, **options: Any) -> None:
        self.accepted: gevent.queue.Queue[net.Socket] = gevent.queue.Queue()
        self.server = net.createServer(options or None, self.accepted.put)
        self.server.listen(0, HOST)
        once(self.server, "listening", timeout=WAIT_MS)
        self.port: int = self.server.address()["port"]
        self.clients: list[net.Socket] = []

    def connect(self, **options: Any) -> net.Socket:
        """A client connecting to the server (not yet connected when returned)."""
        client = net.createConnection({"port": self.port, "host": HOST, **options})
        self.clients.append(client)
        return client

    def side_of(self, client: net.Socket) -> net.Socket:
        """The server-side socket of ``client``, once connected and accepted."""
        wait_until(lambda: client.localPort is not None or client.destroyed,
                   what="the client to connect")
        assert not client.destroyed, "the client failed to connect"
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            side = self.accepted.get(timeout=max(0.0, deadline - time.monotonic()))
            if side.remotePort == client.localPort:
                return side
            side.destroy()  # a stray from an earlier example

    def pair(self, before_connect: Callable[[net.Socket], Any] | None = None,
             **options: Any) -> tuple[net.Socket, net.Socket]:
        """Connect a client; return ``(client, server_side)``.

        ``before_connect(client)`` runs right after ``createConnection()``
        returns, so a listener it adds sees every event of the client.
        """
        client = self.connect(**options)
        if before_connect is not None:
            before_connect(client)
        return client, self.side_of(client)

    def forget(self) -> None:
        """Destroy every client made so far (the server sides follow via the server)."""
        for client in self.clients:
            client.destroy()
        self.clients.clear()
        self.server.closeAllConnections()

    def close(self) -> None:
        """Close the server; return once it emitted 'close' (after its last connection)."""
        self.forget()
        closed = Event()
        self.server.once("close", lambda *_args: closed.set())
        self.server.close()
        assert closed.wait(WAIT_MS / 1000), "the server did not emit 'close'"


class LinePeer:
    """A stdlib TCP client that reads whole lines, with a timeout on every read.

    Used against the example and command-line servers, which run in other
    processes (hence the generous timeout: a fresh interpreter importing
    gevent can take a moment on a busy machine).
    """

    TIMEOUT_S = 10.0

    def __init__(self, address: Any, family: int = stdsocket.AF_INET) -> None:
        if isinstance(address, int):
            address = ("127.0.0.1", address)
        self.sock = stdsocket.socket(family, stdsocket.SOCK_STREAM)
        self.sock.settimeout(self.TIMEOUT_S)
        self.sock.connect(address)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> str:
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                pytest.fail(f"connection closed; unfinished line {self._buffer!r}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def rest(self) -> bytes:
        """Everything until the other side hangs up."""
        data, self._buffer = self._buffer, b""
        while chunk := self.sock.recv(65536):
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()
