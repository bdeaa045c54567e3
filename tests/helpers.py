"""Plumbing shared by the tests that drive real gnet servers and sockets.

One wait that lets the gevent loop run until something happened
(:func:`wait_until`, bounded in seconds), event recorders, small socket
probes, the test PKI (:func:`tls_pki`: trustme certificates made once per
session), and :class:`Harness`, which keeps every server and socket a test
makes so that all of them are closed when it ends. conftest.py hands a
harness out as the ``harness`` fixture; this module holds no fixtures.

Listeners run in gnet's worker greenlets, where an exception is logged and
destroys the socket instead of failing the test, so the recorders here only
record; the test bodies assert on what they recorded.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import shutil
import signal
import socket as stdsocket
import ssl
import tempfile
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.queue
import pytest
import trustme
from gevent.event import AsyncResult, Event

import gnet as net
from gnet.events import once

HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB

# The bound on any one wait, in seconds; loopback answers in far less.
WAIT_S = 5.0
# The same bound in ms, for gnet calls that take ms (events.once(), gnet.run()).
WAIT_MS = int(WAIT_S * 1000)

EVENTS = ("lookup", "connect", "ready", "data", "end", "finish", "drain", "timeout", "error",
          "close")


# --- waits ---------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], timeout_s: float = WAIT_S,
               what: str | None = None, *, interval_s: float = 0.001, fail: bool = True) -> bool:
    """Let the loop run until ``predicate()`` is true; AssertionError after ``timeout_s`` seconds.

    The one polling wait of the tests. ``what`` names the awaited thing in
    the failure (default: the predicate's repr); ``interval_s`` is the pause
    between two looks, in seconds. With ``fail=False`` a timeout is not an
    error: the wait returns False and the caller measures what is left.
    """
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            if not fail:
                return False
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")
        gevent.sleep(interval_s)
    return True


# The name test_chat.py imports (same signature: timeout in seconds, then what).
until = wait_until


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


# --- the test PKI ----------------------------------------------------------------------------


class Certs:
    """The test PKI: a CA, leaves, a chain, a self-signed and an expired leaf."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.leaf = self.ca.issue_cert("localhost", "127.0.0.1", "::1")
        self.rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
        self.rsa_leaf = self.rsa_ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)
        self.example = self.ca.issue_cert("example.com")
        self.expired = self.ca.issue_cert(
            "localhost", not_after=datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc))
        self.stranger = self.other_ca.issue_cert("localhost")
        self.intermediate = self.other_ca.create_child_ca()
        self.chained = self.intermediate.issue_cert("localhost")

    @staticmethod
    def pem(blob: Any) -> str:
        return str(blob.bytes().decode("ascii"))

    @staticmethod
    def der(blob: Any) -> bytes:
        return ssl.PEM_cert_to_DER_cert(blob.bytes().decode("ascii"))


_pki: list[Certs] = []


def tls_pki() -> Certs:
    """The test PKI, made by trustme on first use and kept for the session (no key on disk)."""
    if not _pki:
        _pki.append(Certs())
    return _pki[0]


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

    def wait(self, name: str, timeout_s: float = WAIT_S) -> tuple[Any, ...]:
        """Wait until ``name`` was recorded; return its first arguments."""
        wait_until(lambda: name in self.names, timeout_s, f"{name!r} (saw {self.names})")
        return self.args(name)[0]


# --- the harness -----------------------------------------------------------------------------


class Harness:
    """The servers and sockets one test made, all closed when it ends.

    Servers:

    - ``server(...)`` is ``net.createServer(...)``: a server not yet listening;
    - ``listen(server, *args)`` is ``server.listen(*args)`` plus a bounded wait
      for 'listening' (raising the listen error if that comes instead);
    - ``listening_server(listener, host=..., path=..., **options)`` makes a
      server and waits until it listens on an ephemeral loopback port (or on
      ``path``; ``host=None``: every address, dual-stack);
    - ``server_and_port(listener, host=..., **options)`` is the same on a
      port, returned as ``(server, port)``.

    Every socket a harness server accepts is kept in ``accepted``, in order,
    before the test's own 'connection' listener runs (even if that one
    blocks); ``accepted_socket(i)`` waits for the i-th.

    Clients: ``connect(...)`` is ``net.createConnection(...)``,
    ``client(port, **options)`` connects to ``HOST:port``, ``socket(...)``
    is ``net.Socket(...)``, ``raw_client(port)`` a stdlib socket for a peer
    that must not be gnet. ``add(server)`` and ``track(socket)`` take in what
    a test made some other way. ``path(name)`` is a Unix socket path in a
    short temporary directory, made on first use.

    ``close()`` (the fixture's teardown) destroys every socket, closes every
    server, runs the loop until gnet holds nothing open and removes the
    directory. A test that must also see that gnet logged no error ends with
    ``finish()``.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture | None = None) -> None:
        self.caplog = caplog
        self.directory: str | None = None
        self.servers: list[net.Server] = []
        self.sockets: list[net.Socket] = []
        self.raw: list[stdsocket.socket] = []
        self.accepted: list[net.Socket] = []

    # -- servers

    def add(self, srv: net.Server) -> net.Server:
        """Have a server made some other way closed at teardown too."""
        self.servers.append(srv)
        return srv

    def server(self, *args: Any, **kwargs: Any) -> net.Server:
        """``net.createServer(*args, **kwargs)``, not yet listening."""
        srv = self.add(net.createServer(*args, **kwargs))
        srv.prependListener("connection", self.accepted.append)
        return srv

    def listen(self, srv: net.Server, *args: Any, **kwargs: Any) -> net.Server:
        """``srv.listen(*args, **kwargs)``, then wait for 'listening'."""
        srv.listen(*args, **kwargs)
        once(srv, "listening", timeout=WAIT_MS)
        return srv

    def listening_server(
        self,
        listener: Callable[[net.Socket], Any] | None = None,
        *,
        host: str | None = HOST,
        path: str | None = None,
        **options: Any,
    ) -> net.Server:
        """A server listening on an ephemeral port of ``host`` (or on ``path``)."""
        srv = self.server(options or None, listener)
        if path is not None:
            return self.listen(srv, path)
        if host is None:
            return self.listen(srv, 0)
        return self.listen(srv, 0, host)

    def server_and_port(self, listener: Callable[[net.Socket], Any] | None = None,
                        host: str = HOST, **options: Any) -> tuple[net.Server, int]:
        """A server listening on an ephemeral port of ``host``, and that port."""
        srv = self.listening_server(listener, host=host, **options)
        return srv, port_of(srv)

    def accepted_socket(self, index: int = 0) -> net.Socket:
        """The ``index``-th socket a harness server accepted, once it was."""
        wait_until(lambda: len(self.accepted) > index, what="the server to accept")
        return self.accepted[index]

    # -- clients

    def track(self, sock: net.Socket) -> net.Socket:
        """Have a socket made some other way destroyed at teardown too."""
        self.sockets.append(sock)
        return sock

    def connect(self, *args: Any, **kwargs: Any) -> net.Socket:
        """``net.createConnection(*args, **kwargs)``."""
        return self.track(net.createConnection(*args, **kwargs))

    def client(self, port: int, **options: Any) -> net.Socket:
        """A client connecting to ``HOST:port`` with ``options``."""
        return self.track(net.createConnection({"port": port, "host": HOST, **options}))

    def socket(self, *args: Any, **kwargs: Any) -> net.Socket:
        """``net.Socket(*args, **kwargs)``."""
        return self.track(net.Socket(*args, **kwargs))

    def raw_client(self, port: int) -> stdsocket.socket:
        """A stdlib client socket, for a peer that must not be gnet."""
        raw = stdsocket.create_connection((HOST, port), timeout=2)
        self.raw.append(raw)
        return raw

    def path(self, name: str = "s.sock") -> str:
        """A Unix socket path named ``name`` in this harness's temporary directory.

        The directory is under /tmp: AF_UNIX paths must stay under 108 bytes,
        and pytest's tmp_path can be longer.
        """
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="gnet-", dir="/tmp")
        return os.path.join(self.directory, name)

    # -- teardown

    def close(self) -> bool:
        """Destroy and close everything; False if gnet still holds something open after WAIT_S."""
        for sock in self.sockets:
            sock.destroy()
        for raw in self.raw:
            raw.close()
        for srv in self.servers:
            srv.close()
            srv.closeAllConnections()
        # Let every 'close' run now, so nothing of this test runs in the next.
        drained = net.run(timeout=WAIT_MS)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        return drained

    def finish(self) -> None:
        """End of a test body: tear down, then check that gnet logged no error."""
        assert self.close(), "something still keeps gnet.run() alive after teardown"
        gevent.sleep(0.005)  # let the servers' 'close' events run
        assert self.caplog is not None, "finish() needs a harness made with caplog"
        logged = gnet_errors(self.caplog)
        assert not logged, "gnet logged errors:\n" + "\n".join(
            f"{r.getMessage()}\n{r.exc_text or ''}" for r in logged)


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
        deadline = time.monotonic() + WAIT_S
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
        assert closed.wait(WAIT_S), "the server did not emit 'close'"


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
