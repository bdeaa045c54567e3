"""Bad input, table-driven: every public callable, misused, fails cleanly.

Every public function of ``gnet`` (and ``gnet.events.once``), every public
method of ``Server``, ``Socket``, ``EventEmitter`` and ``Timeout`` is called
with wrong types, out-of-range numbers, ``None``, huge values and in wrong
states (after ``destroy()``, after ``end()``, twice, before ``listen()``).
Each row of ``CASES`` says what Node's contract promises:

* ``Raises(cls, code)``: raised at once, inside the call (``TypeError`` /
  ``ValueError`` subclasses carrying Node's ``code``, or the state error);
* ``CallsBack(code)``: nothing raised; the callback gets the error (and
  ``'error'`` follows only when Node emits it too);
* ``Emits(code)``: nothing raised; ``'error'`` then ``'close'`` follow;
* ``Ok()``: Node accepts the call; so must gnet.

Every call runs under a two-second ``gevent.Timeout`` (a hang fails the row
instead of the run), and after every row the process must hold the same
file descriptors (``/proc/self/fd``) and the same ``gnet.refCount()`` as
before it: a refused call leaves nothing half-open. One more test runs the
whole table in one go and counts descriptors around it.

A row whose behaviour in gnet differs from the contract gets
``xfail="gnet bug: ..."``, which marks it ``xfail(strict=True)`` until gnet
is fixed; none does at present.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gevent
import pytest

import gnet as net
import gnet.stream
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidHandleTypeError,
    MissingArgsError,
    NodeError,
    OutOfRangeError,
    ServerAlreadyListenError,
    SocketBadPortError,
    StreamNullValuesError,
    UnhandledErrorError,
    UnknownEncodingError,
)
from gnet.events import EventEmitter, once
from gnet.loop import Timeout
from gnet.naming import snake_case
from helpers import wait_until

HOST = "127.0.0.1"
WAIT_MS = 5000
# A call that is refused must return (raise) far sooner than this.
AT_ONCE_S = 0.5
# The bound on one call: longer is a hang.
HANG_S = 2.0
HUGE_INT = 10**400  # beyond any float: Node's Infinity, spelt as a Python int


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _noop(*_args: Any) -> None:
    pass


# --- expectations ------------------------------------------------------------------


@dataclass(frozen=True)
class Raises:
    """Raised inside the call: an instance of ``cls`` whose ``code`` is ``code``.

    ``code=None`` checks only the class (Python's own TypeError, where Node's
    error has no code either).
    """

    cls: type[BaseException]
    code: str | None

    def __str__(self) -> str:
        return f"raises {self.cls.__name__}" + (f" {self.code}" if self.code else "")


@dataclass(frozen=True)
class CallsBack:
    """Nothing raised; the callback gets an error with ``code``; 'error' too iff ``event``."""

    code: str | None
    event: bool = False


@dataclass(frozen=True)
class Emits:
    """Nothing raised; 'error' with ``code`` follows, then 'close'(True)."""

    code: str


@dataclass(frozen=True)
class Ok:
    """Nothing raised, nothing emitted on error; ``check(result, ctx)`` holds if given."""

    check: Callable[[Any, Ctx], Any] | None = None


Expect = Raises | CallsBack | Emits | Ok


# --- the world a row runs in ---------------------------------------------------------


class World:
    """Long-lived servers the rows connect to: an echo server over TCP and over Unix."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="gnet-bad-", dir="/tmp")
        self.tcp = net.createServer(lambda s: s.pipe(s))
        self.tcp.listen(0, HOST)
        once(self.tcp, "listening", timeout=WAIT_MS)
        self.unix = net.createServer(lambda s: s.pipe(s))
        self.unix.listen(os.path.join(self.directory, "s.sock"))
        once(self.unix, "listening", timeout=WAIT_MS)
        self.port: int = self.tcp.address()["port"]
        self.path: str = self.unix.address()
        # Warm up what gnet creates once per process (the hub's descriptors,
        # the dispatcher), so that the first row does not count them.
        probe = net.createConnection(self.port, HOST)
        once(probe, "connect", timeout=WAIT_MS)
        probe.destroy()
        wait_until(lambda: self.tcp.getConnections() == 0, what="the warm-up connection to close")

    def idle(self) -> bool:
        return self.tcp.getConnections() == 0 and self.unix.getConnections() == 0

    def close(self) -> None:
        for srv in (self.tcp, self.unix):
            srv.closeAllConnections()
            srv.close()
        net.run(timeout=WAIT_MS)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Ctx:
    """The objects one row works on, and what they reported; ``close()`` frees all."""

    world: World
    sock: Any = None
    server: Any = None
    emitter: Any = None
    timer: Any = None
    fd: int | None = None
    sockets: list[Any] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)
    callbacks: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def cb(self, *args: Any) -> None:
        """A callback to hand to the call under test; records its arguments."""
        self.callbacks.append(args)

    def track(self, obj: Any) -> Any:
        """Watch a socket or server made for (or by) the row; closed at the end."""
        if isinstance(obj, net.Socket) and obj not in self.sockets:
            self.sockets.append(obj)
            obj.on("error", self.errors.append)
            obj.on("close", lambda *a: self.events.append(("close", *a)))
        elif isinstance(obj, net.Server) and obj not in self.servers:
            self.servers.append(obj)
            obj.on("error", self.errors.append)
        return obj

    # States a row can start in.

    def fresh_socket(self) -> None:
        self.sock = self.track(net.Socket())

    def connected(self, unix: bool = False) -> None:
        sock = net.createConnection(self.world.path) if unix else net.createConnection(
            self.world.port, HOST)
        self.sock = self.track(sock)
        once(sock, "connect", timeout=WAIT_MS)

    def ended(self) -> None:
        # end() and the call under test run with no yield between them, so
        # the peer's FIN cannot have arrived: this is "after our end()".
        self.connected()
        self.sock.end()

    def destroyed(self) -> None:
        self.connected()
        self.sock.destroy()
        wait_until(lambda: ("close", False) in self.events, what="'close'")
        self.events.clear()

    def fresh_server(self) -> None:
        self.server = self.track(net.createServer())

    def listening(self) -> None:
        self.fresh_server()
        self.server.listen(0, HOST)
        once(self.server, "listening", timeout=WAIT_MS)

    def closed_server(self) -> None:
        self.listening()
        self.server.close()
        once(self.server, "close", timeout=WAIT_MS)

    def fresh_emitter(self) -> None:
        self.emitter = EventEmitter()

    def cleared_timer(self) -> None:
        self.timer = net.setTimeout(self.cb, 5)
        net.clearTimeout(self.timer)

    def file_fd(self) -> None:
        self.fd = os.open(os.devnull, os.O_RDONLY)

    def close(self) -> None:
        for sock in self.sockets:
            sock.destroy()
        for srv in self.servers:
            srv.closeAllConnections()
            srv.close()
        if self.timer is not None:
            self.timer.close()
        if self.fd is not None:
            os.close(self.fd)
        wait_until(lambda: all(s._life.teardown == 2 or s._life.phase == 0 for s in self.sockets),
              what="the row's sockets to close")
        wait_until(self.world.idle, what="the servers' side of the row's connections to close")


STATES: dict[str, Callable[[Ctx], None]] = {
    "none": lambda ctx: None,
    "new socket": Ctx.fresh_socket,
    "connected": Ctx.connected,
    "connected unix": lambda ctx: ctx.connected(unix=True),
    "after end()": Ctx.ended,
    "after destroy()": Ctx.destroyed,
    "new server": Ctx.fresh_server,
    "listening": Ctx.listening,
    "closed server": Ctx.closed_server,
    "emitter": Ctx.fresh_emitter,
    "cleared timer": Ctx.cleared_timer,
    "file fd": Ctx.file_fd,
}


# --- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    target: str  # the public callable exercised: 'gnet.createServer', 'Socket.write', ...
    state: str  # a key of STATES
    text: str  # the call, as a reader would write it
    call: Callable[[Ctx], Any]
    expect: Expect
    xfail: str | None = None
    # Checked after the row's objects were freed: nothing of the call is left.
    after: Callable[[Ctx], Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.text} [{self.state}]" if self.state != "none" else self.text


def _is(attr: str) -> Callable[[Any, Ctx], bool]:
    """An Ok check: the call returned the ctx's object named ``attr`` (chaining)."""
    return lambda result, ctx: result is getattr(ctx, attr)


RETURNS_SOCK = Ok(_is("sock"))
RETURNS_SERVER = Ok(_is("server"))
RETURNS_EMITTER = Ok(_is("emitter"))

ARG_TYPE = Raises(InvalidArgTypeError, "ERR_INVALID_ARG_TYPE")
ARG_VALUE = Raises(InvalidArgValueError, "ERR_INVALID_ARG_VALUE")
OUT_OF_RANGE = Raises(OutOfRangeError, "ERR_OUT_OF_RANGE")
BAD_PORT = Raises(SocketBadPortError, "ERR_SOCKET_BAD_PORT")
MISSING = Raises(MissingArgsError, "ERR_MISSING_ARGS")
UNKNOWN_ENCODING = Raises(UnknownEncodingError, "ERR_UNKNOWN_ENCODING")


def case(target: str, state: str, text: str, call: Callable[[Ctx], Any], expect: Expect,
         xfail: str | None = None, after: Callable[[Ctx], Any] | None = None) -> Case:
    return Case(target, state, text, call, expect, xfail, after)


CASES: list[Case] = [
    # --- gnet module functions ---------------------------------------------------------
    case("gnet.createServer", "none", "createServer('x')", lambda c: net.createServer("x"),
         ARG_TYPE),
    case("gnet.createServer", "none", "createServer(0)", lambda c: net.createServer(0), ARG_TYPE),
    case("gnet.createServer", "none", "createServer({}, 1)",
         lambda c: net.createServer({}, 1), ARG_TYPE),
    case("gnet.createServer", "none", "createServer(bogus=1)",
         lambda c: net.createServer(bogus=1), ARG_VALUE),
    case("gnet.createServer", "none", "createServer(highWaterMark='x')",
         lambda c: net.createServer(highWaterMark="x"), ARG_TYPE),
    case("gnet.createConnection", "none", "createConnection()",
         lambda c: net.createConnection(), MISSING),
    case("gnet.createConnection", "none", "createConnection({})",
         lambda c: net.createConnection({}), MISSING),
    case("gnet.createConnection", "none", "createConnection(None)",
         lambda c: net.createConnection(None), MISSING),
    case("gnet.createConnection", "none", "createConnection(True)",
         lambda c: net.createConnection(True), ARG_TYPE),
    case("gnet.createConnection", "none", "createConnection(-1, host)",
         lambda c: net.createConnection(-1, HOST), BAD_PORT),
    case("gnet.createConnection", "none", "createConnection(2**64, host)",
         lambda c: net.createConnection(2**64, HOST), BAD_PORT),
    case("gnet.createConnection", "none", "createConnection(math.inf, host)",
         lambda c: net.createConnection(math.inf, HOST), BAD_PORT),
    case("gnet.createConnection", "none", "createConnection(port, 1)",
         lambda c: net.createConnection(c.world.port, 1), ARG_TYPE),
    case("gnet.createConnection", "none", "createConnection({port, family: 5})",
         lambda c: net.createConnection({"port": c.world.port, "family": 5}), ARG_VALUE),
    case("gnet.createConnection", "none", "createConnection({port, lookup: 1})",
         lambda c: net.createConnection({"port": c.world.port, "lookup": 1}), ARG_TYPE),
    case("gnet.createConnection", "none", "createConnection({port, hints: -1})",
         lambda c: net.createConnection({"port": c.world.port, "hints": -1}), ARG_VALUE),
    case("gnet.createConnection", "none", "createConnection({port, timeout: -1})",
         lambda c: net.createConnection({"port": c.world.port, "timeout": -1}), OUT_OF_RANGE),
    case("gnet.createConnection", "none", "createConnection({port, localPort: 70000})",
         lambda c: net.createConnection({"port": c.world.port, "localPort": 70000}), BAD_PORT),
    case("gnet.createConnection", "none", "createConnection({port, objectMode: True})",
         lambda c: net.createConnection({"port": c.world.port, "objectMode": True}), ARG_VALUE),
    case("gnet.createConnection", "none", "createConnection({path: 1})",
         lambda c: net.createConnection({"path": 1}), ARG_TYPE),
    case("gnet.connect", "none", "connect()", lambda c: net.connect(), MISSING),
    case("gnet.connect", "none", "connect({port: True})",
         lambda c: net.connect({"port": True}), ARG_TYPE),
    case("gnet.isIP", "none", "isIP(None)", lambda c: net.isIP(None), Ok(lambda r, c: r == 0)),
    case("gnet.isIP", "none", "isIP('1' * 10**6)", lambda c: net.isIP("1" * 10**6),
         Ok(lambda r, c: r == 0)),
    case("gnet.isIPv4", "none", "isIPv4(0x7F000001)", lambda c: net.isIPv4(0x7F000001),
         Ok(lambda r, c: r is False)),
    case("gnet.isIPv6", "none", "isIPv6(b'::1')", lambda c: net.isIPv6(b"::1"),
         Ok(lambda r, c: r is False)),
    case("gnet.getDefaultAutoSelectFamily", "none", "getDefaultAutoSelectFamily()",
         lambda c: net.getDefaultAutoSelectFamily(), Ok(lambda r, c: r is True)),
    case("gnet.setDefaultAutoSelectFamily", "none", "setDefaultAutoSelectFamily(1)",
         lambda c: net.setDefaultAutoSelectFamily(1), ARG_TYPE),
    case("gnet.setDefaultAutoSelectFamily", "none", "setDefaultAutoSelectFamily(None)",
         lambda c: net.setDefaultAutoSelectFamily(None), ARG_TYPE),
    case("gnet.getDefaultAutoSelectFamilyAttemptTimeout", "none",
         "getDefaultAutoSelectFamilyAttemptTimeout()",
         lambda c: net.getDefaultAutoSelectFamilyAttemptTimeout(), Ok(lambda r, c: r == 250)),
    case("gnet.setDefaultAutoSelectFamilyAttemptTimeout", "none",
         "setDefaultAutoSelectFamilyAttemptTimeout(0)",
         lambda c: net.setDefaultAutoSelectFamilyAttemptTimeout(0), OUT_OF_RANGE),
    case("gnet.setDefaultAutoSelectFamilyAttemptTimeout", "none",
         "setDefaultAutoSelectFamilyAttemptTimeout('x')",
         lambda c: net.setDefaultAutoSelectFamilyAttemptTimeout("x"), ARG_TYPE),
    case("gnet.setDefaultAutoSelectFamilyAttemptTimeout", "none",
         "setDefaultAutoSelectFamilyAttemptTimeout(math.nan)",
         lambda c: net.setDefaultAutoSelectFamilyAttemptTimeout(math.nan), OUT_OF_RANGE),
    case("gnet.setDefaultAutoSelectFamilyAttemptTimeout", "none",
         "setDefaultAutoSelectFamilyAttemptTimeout(10**400)",
         lambda c: net.setDefaultAutoSelectFamilyAttemptTimeout(HUGE_INT), OUT_OF_RANGE),
    case("gnet.getDefaultHighWaterMark", "none", "getDefaultHighWaterMark()",
         lambda c: net.getDefaultHighWaterMark(), Ok(lambda r, c: r == 64 * 1024)),
    case("gnet.setDefaultHighWaterMark", "none", "setDefaultHighWaterMark(-1)",
         lambda c: net.setDefaultHighWaterMark(-1), OUT_OF_RANGE),
    case("gnet.setDefaultHighWaterMark", "none", "setDefaultHighWaterMark('x')",
         lambda c: net.setDefaultHighWaterMark("x"), ARG_TYPE),
    case("gnet.setDefaultHighWaterMark", "none", "setDefaultHighWaterMark(None)",
         lambda c: net.setDefaultHighWaterMark(None), ARG_TYPE),
    case("gnet.setTimeout", "none", "setTimeout(None)", lambda c: net.setTimeout(None),
         ARG_TYPE),
    case("gnet.setTimeout", "none", "setTimeout(f, 'x')",
         lambda c: net.setTimeout(_noop, "x"), ARG_TYPE),
    case("gnet.setTimeout", "none", "setTimeout(f, 10**400)",
         lambda c: net.setTimeout(_noop, HUGE_INT), OUT_OF_RANGE),
    case("gnet.setInterval", "none", "setInterval(1)", lambda c: net.setInterval(1), ARG_TYPE),
    case("gnet.setInterval", "none", "setInterval(f, None)",
         lambda c: net.setInterval(_noop, None), ARG_TYPE),
    case("gnet.setImmediate", "none", "setImmediate('x')", lambda c: net.setImmediate("x"),
         ARG_TYPE),
    case("gnet.clearTimeout", "none", "clearTimeout(None)", lambda c: net.clearTimeout(None),
         Ok()),
    case("gnet.clearTimeout", "none", "clearTimeout(1)", lambda c: net.clearTimeout(1), Ok()),
    case("gnet.clearInterval", "none", "clearInterval('x')", lambda c: net.clearInterval("x"),
         Ok()),
    case("gnet.refCount", "none", "refCount()", lambda c: net.refCount(),
         Ok(lambda r, c: isinstance(r, int) and r >= 0)),
    case("gnet.systemdFds", "none", "systemdFds(3)", lambda c: net.systemdFds(3),  # type: ignore[arg-type]
         ARG_TYPE),
    case("gnet.systemdFdNames", "none", "systemdFdNames(1)",
         lambda c: net.systemdFdNames(1), Raises(TypeError, None)),  # type: ignore[call-arg]
    case("gnet.run", "none", "run(-1)", lambda c: net.run(-1), OUT_OF_RANGE),
    case("gnet.run", "none", "run('x')", lambda c: net.run("x"), ARG_TYPE),
    case("gnet.run", "none", "run(math.nan)", lambda c: net.run(math.nan), OUT_OF_RANGE),
    case("gnet.run", "none", "run(10**400)", lambda c: net.run(HUGE_INT), OUT_OF_RANGE),
    case("gnet.pipeline", "none", "pipeline()", lambda c: net.pipeline(), MISSING),
    case("gnet.pipeline", "new socket", "pipeline(sock, cb)",
         lambda c: net.pipeline(c.sock, c.cb), MISSING),
    case("gnet.pipeline", "new socket", "pipeline(sock, sock, 1)",
         lambda c: net.pipeline(c.sock, c.sock, 1), ARG_TYPE),
    case("gnet.pipeline", "none", "pipeline(1, 2, cb)", lambda c: net.pipeline(1, 2, c.cb),
         ARG_VALUE),
    case("gnet.events.once", "emitter", "once(emitter, 'x', timeout=-1)",
         lambda c: once(c.emitter, "x", timeout=-1), OUT_OF_RANGE),
    case("gnet.events.once", "emitter", "once(emitter, 'x', timeout='x')",
         lambda c: once(c.emitter, "x", timeout="x"), ARG_TYPE),
    case("gnet.events.once", "emitter", "once(emitter, 'x', timeout=10**400)",
         lambda c: once(c.emitter, "x", timeout=HUGE_INT), OUT_OF_RANGE),
    case("gnet.events.once", "none", "once(1, 'x', timeout=10)",
         lambda c: once(1, "x", timeout=10), ARG_TYPE),  # type: ignore[arg-type]
    # --- constructors ------------------------------------------------------------------
    case("gnet.Socket", "none", "Socket('x')", lambda c: net.Socket("x"), ARG_TYPE),
    case("gnet.Socket", "none", "Socket(bogus=1)", lambda c: net.Socket(bogus=1), ARG_VALUE),
    case("gnet.Socket", "none", "Socket(objectMode=True)",
         lambda c: net.Socket(objectMode=True), ARG_VALUE),
    case("gnet.Socket", "none", "Socket(fd=-1)", lambda c: net.Socket(fd=-1), OUT_OF_RANGE),
    case("gnet.Socket", "none", "Socket(fd='x')", lambda c: net.Socket(fd="x"), ARG_TYPE),
    case("gnet.Socket", "none", "Socket(fd=2**70)", lambda c: net.Socket(fd=2**70),
         OUT_OF_RANGE),
    case("gnet.Socket", "file fd", "Socket(fd=<a regular file>)",
         lambda c: net.Socket(fd=c.fd), Raises(TypeError, "ERR_INVALID_FD_TYPE")),
    case("gnet.Socket", "none", "Socket(highWaterMark=-1)",
         lambda c: net.Socket(highWaterMark=-1), Raises(ValueError, "ERR_INVALID_ARG_VALUE")),
    case("gnet.Server", "none", "Server(1)", lambda c: net.Server(1), ARG_TYPE),
    case("gnet.EventEmitter", "none", "EventEmitter(1)", lambda c: EventEmitter(1),  # type: ignore[call-arg]
         Raises(TypeError, None)),
    case("gnet.AbortController", "none", "AbortController(1)",
         lambda c: net.AbortController(1), Raises(TypeError, None)),
    case("gnet.AbortSignal", "none", "AbortSignal()", lambda c: net.AbortSignal(),
         Raises(TypeError, "ERR_ILLEGAL_CONSTRUCTOR")),
    case("gnet.AbortSignal", "none", "AbortSignal.timeout(-1)",
         lambda c: net.AbortSignal.timeout(-1), OUT_OF_RANGE),
    case("gnet.BlockList", "none", "BlockList().addAddress(1)",
         lambda c: net.BlockList().addAddress(1), ARG_TYPE),
    case("gnet.SocketAddress", "none", "SocketAddress({'port': -1})",
         lambda c: net.SocketAddress({"port": -1}), BAD_PORT),
    # --- Socket methods --------------------------------------------------------------------
    case("Socket.connect", "new socket", "sock.connect()", lambda c: c.sock.connect(), MISSING),
    case("Socket.connect", "new socket", "sock.connect({port: []})",
         lambda c: c.sock.connect({"port": []}), ARG_TYPE),
    case("Socket.connect", "new socket", "sock.connect(65536)",
         lambda c: c.sock.connect(65536), BAD_PORT),
    # Node emits EALREADY here; gnet refuses at once, which is the stricter promise.
    case("Socket.connect", "connected", "sock.connect(port, host)",
         lambda c: c.sock.connect(c.world.port, HOST), ARG_VALUE),
    case("Socket.write", "new socket", "sock.write(None)", lambda c: c.sock.write(None),
         Raises(StreamNullValuesError, "ERR_STREAM_NULL_VALUES")),
    case("Socket.write", "connected", "sock.write(1)", lambda c: c.sock.write(1), ARG_TYPE),
    case("Socket.write", "connected", "sock.write(['x'])", lambda c: c.sock.write(["x"]),
         ARG_TYPE),
    case("Socket.write", "connected", "sock.write('x', 'bogus')",
         lambda c: c.sock.write("x", "bogus"), UNKNOWN_ENCODING),
    case("Socket.write", "connected", "sock.write(b'x', 'utf8', 1)",
         lambda c: c.sock.write(b"x", "utf8", 1), ARG_TYPE),
    case("Socket.write", "after destroy()", "sock.write(b'x', cb)",
         lambda c: c.sock.write(b"x", c.cb), CallsBack("ERR_STREAM_DESTROYED")),
    case("Socket.write", "after end()", "sock.write(b'x', cb)",
         lambda c: c.sock.write(b"x", c.cb), CallsBack("ERR_STREAM_WRITE_AFTER_END", event=True)),
    case("Socket.end", "connected", "sock.end(1)", lambda c: c.sock.end(1), ARG_TYPE),
    case("Socket.end", "connected", "sock.end(b'x', 'utf8', 1)",
         lambda c: c.sock.end(b"x", "utf8", 1), ARG_TYPE),
    case("Socket.end", "after destroy()", "sock.end(cb)", lambda c: c.sock.end(c.cb),
         CallsBack("ERR_STREAM_DESTROYED")),
    case("Socket.end", "after end()", "sock.end()", lambda c: c.sock.end(), RETURNS_SOCK),
    case("Socket.destroy", "connected", "sock.destroy('x')", lambda c: c.sock.destroy("x"),
         ARG_TYPE),
    case("Socket.destroy", "after destroy()", "sock.destroy()", lambda c: c.sock.destroy(),
         RETURNS_SOCK),
    case("Socket.destroy", "after destroy()", "sock.destroy(err)",
         lambda c: c.sock.destroy(RuntimeError("late")), RETURNS_SOCK),
    case("Socket.destroySoon", "after destroy()", "sock.destroySoon()",
         lambda c: c.sock.destroySoon(), Ok()),
    case("Socket.resetAndDestroy", "new socket", "sock.resetAndDestroy()",
         lambda c: c.sock.resetAndDestroy(), Emits("ERR_SOCKET_CLOSED")),
    case("Socket.resetAndDestroy", "connected unix", "sock.resetAndDestroy()",
         lambda c: c.sock.resetAndDestroy(),
         Raises(InvalidHandleTypeError, "ERR_INVALID_HANDLE_TYPE")),
    case("Socket.resetAndDestroy", "after destroy()", "sock.resetAndDestroy()",
         lambda c: c.sock.resetAndDestroy(), RETURNS_SOCK),
    case("Socket.pause", "after destroy()", "sock.pause()", lambda c: c.sock.pause(),
         RETURNS_SOCK),
    case("Socket.resume", "after destroy()", "sock.resume()", lambda c: c.sock.resume(),
         RETURNS_SOCK),
    case("Socket.isPaused", "after destroy()", "sock.isPaused()", lambda c: c.sock.isPaused(),
         Ok(lambda r, c: r is False)),
    case("Socket.setEncoding", "connected", "sock.setEncoding('bogus')",
         lambda c: c.sock.setEncoding("bogus"), UNKNOWN_ENCODING),
    case("Socket.setEncoding", "connected", "sock.setEncoding(1)",
         lambda c: c.sock.setEncoding(1), UNKNOWN_ENCODING),
    case("Socket.setEncoding", "after destroy()", "sock.setEncoding('utf8')",
         lambda c: c.sock.setEncoding("utf8"), RETURNS_SOCK),
    case("Socket.setTimeout", "connected", "sock.setTimeout('100')",
         lambda c: c.sock.setTimeout("100"), ARG_TYPE),
    case("Socket.setTimeout", "connected", "sock.setTimeout(None)",
         lambda c: c.sock.setTimeout(None), ARG_TYPE),
    case("Socket.setTimeout", "connected", "sock.setTimeout(-1)",
         lambda c: c.sock.setTimeout(-1), OUT_OF_RANGE),
    case("Socket.setTimeout", "connected", "sock.setTimeout(math.nan)",
         lambda c: c.sock.setTimeout(math.nan), OUT_OF_RANGE),
    case("Socket.setTimeout", "connected", "sock.setTimeout(1, 1)",
         lambda c: c.sock.setTimeout(1, 1), ARG_TYPE),
    case("Socket.setTimeout", "connected", "sock.setTimeout(10**400)",
         lambda c: c.sock.setTimeout(HUGE_INT), OUT_OF_RANGE),
    # Huge but finite: accepted (Node clamps it with a warning); must never fire now.
    case("Socket.setTimeout", "connected", "sock.setTimeout(1e300)",
         lambda c: c.sock.setTimeout(1e300), RETURNS_SOCK),
    case("Socket.setTimeout", "after destroy()", "sock.setTimeout(1, cb)",
         lambda c: c.sock.setTimeout(1, c.cb), RETURNS_SOCK),
    case("Socket.setNoDelay", "connected", "sock.setNoDelay(object())",
         lambda c: c.sock.setNoDelay(object()), RETURNS_SOCK),
    case("Socket.setNoDelay", "after destroy()", "sock.setNoDelay()",
         lambda c: c.sock.setNoDelay(), RETURNS_SOCK),
    case("Socket.setKeepAlive", "connected", "sock.setKeepAlive(True, 'x')",
         lambda c: c.sock.setKeepAlive(True, "x"), RETURNS_SOCK),
    case("Socket.setKeepAlive", "connected", "sock.setKeepAlive(True, 1000, 'x')",
         lambda c: c.sock.setKeepAlive(True, 1000, "x"), ARG_TYPE),
    case("Socket.setKeepAlive", "connected", "sock.setKeepAlive(True, 1000, 1000, 0)",
         lambda c: c.sock.setKeepAlive(True, 1000, 1000, 0), OUT_OF_RANGE),
    case("Socket.setKeepAlive", "connected", "sock.setKeepAlive(True, 2**70)",
         lambda c: c.sock.setKeepAlive(True, 2**70), RETURNS_SOCK),
    case("Socket.setKeepAlive", "after destroy()", "sock.setKeepAlive(True, 1000)",
         lambda c: c.sock.setKeepAlive(True, 1000), RETURNS_SOCK),
    case("Socket.setUserTimeout", "connected", "sock.setUserTimeout(-1)",
         lambda c: c.sock.setUserTimeout(-1), OUT_OF_RANGE),
    case("Socket.setUserTimeout", "connected", "sock.setUserTimeout('x')",
         lambda c: c.sock.setUserTimeout("x"), ARG_TYPE),
    case("Socket.setUserTimeout", "connected", "sock.setUserTimeout(2**40)",
         lambda c: c.sock.setUserTimeout(2**40), OUT_OF_RANGE),
    case("Socket.address", "after destroy()", "sock.address()", lambda c: c.sock.address(),
         Ok(lambda r, c: r == {})),
    case("Socket.cork", "after destroy()", "sock.cork()", lambda c: c.sock.cork(),
         RETURNS_SOCK),
    case("Socket.uncork", "new socket", "sock.uncork() (no cork)", lambda c: c.sock.uncork(),
         RETURNS_SOCK),
    case("Socket.pipe", "new socket", "sock.pipe(1)", lambda c: c.sock.pipe(1),
         Raises(TypeError, None),
         after=lambda c: not c.sock.listeners("data")),  # no pipe link left
    case("Socket.unpipe", "new socket", "sock.unpipe(1)", lambda c: c.sock.unpipe(1),
         RETURNS_SOCK),
    case("Socket.ref", "after destroy()", "sock.ref()", lambda c: c.sock.ref(), RETURNS_SOCK),
    case("Socket.unref", "after destroy()", "sock.unref()", lambda c: c.sock.unref(),
         RETURNS_SOCK),
    case("Socket.hasRef", "after destroy()", "sock.hasRef()", lambda c: c.sock.hasRef(),
         Ok(lambda r, c: r is True)),
    # --- Server methods --------------------------------------------------------------------
    case("Server.listen", "listening", "server.listen(0) twice",
         lambda c: c.server.listen(0, HOST),
         Raises(ServerAlreadyListenError, "ERR_SERVER_ALREADY_LISTEN")),
    case("Server.listen", "new server", "server.listen(-1)", lambda c: c.server.listen(-1),
         BAD_PORT),
    case("Server.listen", "new server", "server.listen(65536, host)",
         lambda c: c.server.listen(65536, HOST), BAD_PORT),
    case("Server.listen", "new server", "server.listen(2**64)",
         lambda c: c.server.listen(2**64), BAD_PORT),
    case("Server.listen", "new server", "server.listen(123.456)",
         lambda c: c.server.listen(123.456), BAD_PORT),
    case("Server.listen", "new server", "server.listen(True)", lambda c: c.server.listen(True),
         ARG_VALUE),
    case("Server.listen", "new server", "server.listen({})", lambda c: c.server.listen({}),
         ARG_VALUE),
    case("Server.listen", "new server", "server.listen({port: False})",
         lambda c: c.server.listen({"port": False}), ARG_VALUE),
    case("Server.listen", "new server", "server.listen({path: -1})",
         lambda c: c.server.listen({"path": -1}), ARG_VALUE),
    case("Server.listen", "new server", "server.listen({port: 0, host: 1})",
         lambda c: c.server.listen({"port": 0, "host": 1}), ARG_VALUE),
    case("Server.listen", "new server", "server.listen(0, host, 'x')",
         lambda c: c.server.listen(0, HOST, "x"), ARG_TYPE),
    case("Server.listen", "new server", "server.listen(0, host, 2**40)",
         lambda c: c.server.listen(0, HOST, 2**40), RETURNS_SERVER),
    case("Server.close", "new server", "server.close(cb)", lambda c: c.server.close(c.cb),
         CallsBack("ERR_SERVER_NOT_RUNNING")),
    case("Server.close", "closed server", "server.close(cb) twice",
         lambda c: c.server.close(c.cb), CallsBack("ERR_SERVER_NOT_RUNNING")),
    case("Server.close", "listening", "server.close(1)", lambda c: c.server.close(1),
         RETURNS_SERVER),
    case("Server.getConnections", "listening", "server.getConnections(1)",
         lambda c: c.server.getConnections(1), ARG_TYPE),
    case("Server.getConnections", "closed server", "server.getConnections(cb)",
         lambda c: c.server.getConnections(c.cb), CallsBack(None)),
    case("Server.closeAllConnections", "new server", "server.closeAllConnections()",
         lambda c: c.server.closeAllConnections(), Ok()),
    case("Server.stop", "new server", "server.stop()", lambda c: c.server.stop(), Ok()),
    case("Server.start", "listening", "server.start() twice", lambda c: c.server.start(), Ok()),
    case("Server.start_accepting", "new server", "server.start_accepting() (not listening)",
         lambda c: c.server.start_accepting(), Ok(lambda r, c: not c.server.listening)),
    case("Server.stop_accepting", "closed server", "server.stop_accepting()",
         lambda c: c.server.stop_accepting(), Ok()),
    case("Server.address", "closed server", "server.address()", lambda c: c.server.address(),
         Ok(lambda r, c: r is None)),
    case("Server.ref", "closed server", "server.ref()", lambda c: c.server.ref(),
         RETURNS_SERVER),
    case("Server.unref", "new server", "server.unref() twice",
         lambda c: c.server.unref().unref(), RETURNS_SERVER),
    case("Server.hasRef", "closed server", "server.hasRef()", lambda c: c.server.hasRef(),
         Ok(lambda r, c: r is True)),
    # --- EventEmitter methods ----------------------------------------------------------------
    case("EventEmitter.on", "emitter", "on('x', 1)", lambda c: c.emitter.on("x", 1), ARG_TYPE),
    case("EventEmitter.on", "emitter", "on('x', None)", lambda c: c.emitter.on("x", None),
         ARG_TYPE),
    # Python cannot key a dict by a list: a plain TypeError, there is no Node code for it.
    case("EventEmitter.on", "emitter", "on([], f)", lambda c: c.emitter.on([], _noop),
         Raises(TypeError, None)),
    case("EventEmitter.addListener", "emitter", "addListener('x', 'f')",
         lambda c: c.emitter.addListener("x", "f"), ARG_TYPE),
    case("EventEmitter.once", "emitter", "once('x', 1)", lambda c: c.emitter.once("x", 1),
         ARG_TYPE),
    case("EventEmitter.prependListener", "emitter", "prependListener('x', 1)",
         lambda c: c.emitter.prependListener("x", 1), ARG_TYPE),
    case("EventEmitter.prependOnceListener", "emitter", "prependOnceListener('x', 1)",
         lambda c: c.emitter.prependOnceListener("x", 1), ARG_TYPE),
    case("EventEmitter.removeListener", "emitter", "removeListener('x', 1)",
         lambda c: c.emitter.removeListener("x", 1), ARG_TYPE),
    case("EventEmitter.off", "emitter", "off('x', None)", lambda c: c.emitter.off("x", None),
         ARG_TYPE),
    case("EventEmitter.removeListener", "emitter", "removeListener('x', f) (not added)",
         lambda c: c.emitter.removeListener("x", _noop), RETURNS_EMITTER),
    case("EventEmitter.removeAllListeners", "emitter", "removeAllListeners('never')",
         lambda c: c.emitter.removeAllListeners("never"), RETURNS_EMITTER),
    case("EventEmitter.emit", "emitter", "emit('error')", lambda c: c.emitter.emit("error"),
         Raises(UnhandledErrorError, "ERR_UNHANDLED_ERROR")),
    case("EventEmitter.emit", "emitter", "emit('error', 1)",
         lambda c: c.emitter.emit("error", 1), Raises(UnhandledErrorError, "ERR_UNHANDLED_ERROR")),
    case("EventEmitter.emit", "emitter", "emit('nothing', *range(1000))",
         lambda c: c.emitter.emit("nothing", *range(1000)), Ok(lambda r, c: r is False)),
    case("EventEmitter.listeners", "emitter", "listeners(None)",
         lambda c: c.emitter.listeners(None), Ok(lambda r, c: r == [])),
    case("EventEmitter.rawListeners", "emitter", "rawListeners(None)",
         lambda c: c.emitter.rawListeners(None), Ok(lambda r, c: r == [])),
    case("EventEmitter.listenerCount", "emitter", "listenerCount('x', 1)",
         lambda c: c.emitter.listenerCount("x", 1), Ok(lambda r, c: r == 0)),
    case("EventEmitter.eventNames", "emitter", "eventNames()",
         lambda c: c.emitter.eventNames(), Ok(lambda r, c: r == [])),
    case("EventEmitter.setMaxListeners", "emitter", "setMaxListeners(-1)",
         lambda c: c.emitter.setMaxListeners(-1), OUT_OF_RANGE),
    case("EventEmitter.setMaxListeners", "emitter", "setMaxListeners(math.nan)",
         lambda c: c.emitter.setMaxListeners(math.nan), OUT_OF_RANGE),
    case("EventEmitter.setMaxListeners", "emitter", "setMaxListeners('x')",
         lambda c: c.emitter.setMaxListeners("x"), ARG_TYPE),
    case("EventEmitter.setMaxListeners", "emitter", "setMaxListeners(None)",
         lambda c: c.emitter.setMaxListeners(None), ARG_TYPE),
    case("EventEmitter.getMaxListeners", "emitter", "getMaxListeners()",
         lambda c: c.emitter.getMaxListeners(), Ok(lambda r, c: r == 10)),
    # --- Timeout methods (what setTimeout/setInterval return) --------------------------------
    case("Timeout.close", "cleared timer", "timer.close() twice", lambda c: c.timer.close(),
         Ok(lambda r, c: r is c.timer)),
    case("Timeout.refresh", "cleared timer", "timer.refresh() after clearTimeout",
         lambda c: c.timer.refresh(), Ok(lambda r, c: r is c.timer and c.callbacks == [])),
    case("Timeout.ref", "cleared timer", "timer.ref()", lambda c: c.timer.ref(),
         Ok(lambda r, c: r is c.timer)),
    case("Timeout.unref", "cleared timer", "timer.unref()", lambda c: c.timer.unref(),
         Ok(lambda r, c: r is c.timer)),
    case("Timeout.hasRef", "cleared timer", "timer.hasRef()", lambda c: c.timer.hasRef(),
         Ok(lambda r, c: r is True)),
]

# Public callables a program does not call itself: gevent's hooks, which
# StreamServer calls (accept, close, handle one connection), and the Timeout
# class, which only setTimeout()/setInterval() construct (as in Node).
NOT_CALLED_BY_PROGRAMS = {"Server.do_read", "Server.do_close", "Server.handle", "gnet.Timeout"}


# --- running a row ---------------------------------------------------------------------


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    leaked_fds: int = 0
    leaked_refs: int = 0
    callbacks: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    ctx: Ctx | None = None


def _contain_leaks() -> None:
    # A socket a buggy row leaked is collected here, quietly, so that its
    # ResourceWarning cannot land in whichever test runs next.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def run_case(row: Case, world: World) -> Outcome:
    """Run one row in a fresh state; free everything; measure what was left behind."""
    auto_select = net.getDefaultAutoSelectFamily()
    attempt_ms = net.getDefaultAutoSelectFamilyAttemptTimeout()
    hwm = net.getDefaultHighWaterMark()
    wait_until(world.idle, what="the servers to be idle before the row")
    fds = fd_count()
    refs = net.refCount()
    ctx = Ctx(world)
    out = Outcome(ctx=ctx)
    try:
        STATES[row.state](ctx)
        start = time.monotonic()
        try:
            with gevent.Timeout(HANG_S, AssertionError(f"{row.text} hung for {HANG_S} s")):
                out.result = row.call(ctx)
        except AssertionError:
            raise
        except BaseException as exc:
            out.error = exc
        out.seconds = time.monotonic() - start
        ctx.track(out.result)
        # Whatever the call set going (callbacks, 'error', 'close') happens
        # now: wait for what the row expects, then a little for anything more.
        if isinstance(row.expect, CallsBack) and out.error is None:
            wait_until(lambda: ctx.callbacks, timeout_s=1.0, what="the callback")
        elif isinstance(row.expect, Emits) and out.error is None:
            wait_until(lambda: ctx.events, timeout_s=1.0, what="'close'")
        gevent.sleep(0.01)
        out.callbacks = list(ctx.callbacks)
        out.errors = list(ctx.errors)
        out.events = list(ctx.events)
    finally:
        try:
            ctx.close()
        finally:
            # The process defaults a row may have changed go back.
            net.setDefaultAutoSelectFamily(auto_select)
            net.setDefaultAutoSelectFamilyAttemptTimeout(attempt_ms)
            net.setDefaultHighWaterMark(hwm)
    # A destroyed socket counts until its 'close', a loop turn later.
    wait_until(lambda: net.refCount() == refs, 1.0, interval_s=0.005, fail=False)
    out.leaked_refs = net.refCount() - refs
    # A closed socket's descriptor is released by the time 'close' is
    # emitted; the servers' side may lag by a loop turn.
    wait_until(lambda: fd_count() <= fds, 1.0, interval_s=0.005, fail=False)
    out.leaked_fds = fd_count() - fds
    _contain_leaks()
    return out


def check_outcome(row: Case, out: Outcome) -> None:
    expect = row.expect
    if isinstance(expect, Raises):
        assert out.error is not None, f"{row.text}: nothing raised (returned {out.result!r})"
        assert isinstance(out.error, expect.cls), (
            f"{row.text}: raised {type(out.error).__name__}: {out.error}; expected {expect}")
        if expect.code is not None:
            assert getattr(out.error, "code", None) == expect.code, (
                f"{row.text}: code {getattr(out.error, 'code', None)!r}, expected {expect.code}")
            # Node's argument and state errors are TypeError/ValueError/plain NodeError.
            assert isinstance(out.error, NodeError)
        assert out.seconds < AT_ONCE_S, f"{row.text}: took {out.seconds:.3f} s to raise"
        assert out.errors == [], f"{row.text}: raised *and* emitted 'error' {out.errors}"
        assert out.callbacks == [], f"{row.text}: raised *and* called back {out.callbacks}"
    else:
        assert out.error is None, (
            f"{row.text}: raised {type(out.error).__name__}: {out.error}; expected {expect}")
        assert out.seconds < AT_ONCE_S, f"{row.text}: took {out.seconds:.3f} s"
    if isinstance(expect, CallsBack):
        assert len(out.callbacks) == 1, f"{row.text}: callback calls {out.callbacks}"
        err = out.callbacks[0][0] if out.callbacks[0] else None
        if expect.code is None:
            assert err is None, f"{row.text}: callback got {err!r}"
        else:
            assert getattr(err, "code", None) == expect.code, f"{row.text}: callback got {err!r}"
        if expect.event:
            assert [getattr(e, "code", None) for e in out.errors] == [expect.code], out.errors
            assert ("close", True) in out.events, out.events
        else:
            assert out.errors == [], f"{row.text}: unexpected 'error' {out.errors}"
    elif isinstance(expect, Emits):
        assert [getattr(e, "code", None) for e in out.errors] == [expect.code], out.errors
        assert out.events == [("close", True)], out.events
    elif isinstance(expect, Ok):
        assert out.errors == [], f"{row.text}: unexpected 'error' {out.errors}"
        if expect.check is not None:
            assert expect.check(out.result, out.ctx), f"{row.text}: returned {out.result!r}"
    if row.after is not None:
        assert row.after(out.ctx), f"{row.text}: left state behind"
    assert out.leaked_fds <= 0, f"{row.text}: left {out.leaked_fds} file descriptor(s) open"
    assert out.leaked_refs == 0, f"{row.text}: changed gnet.refCount() by {out.leaked_refs}"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.close()


def _param(row: Case) -> Any:
    marks = [pytest.mark.xfail(reason=row.xfail, strict=True)] if row.xfail else []
    return pytest.param(row, id=row.id, marks=marks)


@pytest.mark.parametrize("row", [_param(row) for row in CASES])
def test_bad_input(row: Case, world: World) -> None:
    check_outcome(row, run_case(row, world))


@pytest.mark.once  # every row also runs on its own in every env
def test_the_whole_table_leaves_no_descriptor_behind(world: World) -> None:
    # The rows that gnet gets right, back to back, with the descriptors
    # counted around the lot (each row is also checked on its own above).
    wait_until(world.idle, what="the servers to be idle")
    before = fd_count()
    refs = net.refCount()
    for row in CASES:
        if not row.xfail:
            check_outcome(row, run_case(row, world))
    assert net.refCount() == refs
    assert fd_count() <= before


def _public_callables() -> set[str]:
    found: set[str] = set()
    names = {n for n in net.__all__ if callable(getattr(net, n))}
    names -= {snake_case(n) for n in names if snake_case(n) != n}
    found |= {f"gnet.{n}" for n in names}
    found.add("gnet.events.once")
    from gnet.loop import Handle

    # A class may rebind EventEmitter's own functions (Socket's on/once, for
    # speed): those are EventEmitter's rows.
    emitters = {id(getattr(v, "method", v)) for v in vars(EventEmitter).values()}
    for owner, classes in (("Socket", (net.Socket, Handle)), ("Server", (net.Server, Handle)),
                           ("EventEmitter", (EventEmitter,)), ("Timeout", (Timeout, Handle))):
        members = {n for cls in classes for n, v in vars(cls).items()
                   if not n.startswith("_") and callable(v)
                   and (cls is EventEmitter or id(v) not in emitters)}
        members -= {snake_case(n) for n in members if snake_case(n) != n}
        found |= {f"{owner}.{n}" for n in members}
    return found - NOT_CALLED_BY_PROGRAMS


def test_the_table_covers_every_public_callable() -> None:
    covered = {row.target for row in CASES}
    missing = sorted(_public_callables() - covered)
    assert missing == [], f"public callables with no bad-input row: {missing}"
