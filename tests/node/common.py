"""Node's ``test/common`` for the ported ``net`` tests: call counts and the loop.

A port keeps every ``common.mustCall`` of its source. The wrappers here
record how often they were called; the checks run when the test body
returns (``tests/node/conftest.py`` calls :func:`verify` in the test's call
phase, so a wrong count is a test failure that ``xfail`` can see). Any ERROR
that gnet logs (an assertion failing inside a listener, an unhandled
'error') is a failure too: in Node it would have crashed the process.

    must_call(fn=None, exact=1)     common.mustCall(fn, exact)
    must_call_atleast(fn=None, minimum=1)  common.mustCallAtLeast(fn, minimum)
    must_not_call(msg=None)         common.mustNotCall(msg)
    expects_error(**fields)         common.expectsError({...})
    run(timeout=5000)               the end of a Node script: the loop drains

:func:`run` fails the test when the loop still has ref'd handles after
``timeout`` ms (a Node test that hangs fails on its runner's timeout).
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import gevent

import gnet as net

__all__ = (
    "Checker",
    "expects_error",
    "must_call",
    "must_call_atleast",
    "must_not_call",
    "run",
    "verify",
)


def _where() -> str:
    frame = inspect.stack()[2]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"


class _Counted:
    """How often a wrapped function was called; checked by :meth:`Checker.verify`.

    Like Node's mustCall context, it does not hold the wrapped function: the
    checker keeps this record, and only the wrapper (held by whoever may call
    it) keeps the function alive.
    """

    def __init__(self, low: int, high: int | None, where: str) -> None:
        self.low = low
        self.high = high
        self.where = where
        self.calls = 0

    def wrap(self, fn: Callable[..., Any] | None) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.high is not None and self.calls > self.high:
                # Also raise here, so the failure points at the extra call.
                raise AssertionError(
                    f"function at {self.where} called {self.calls} times, expected "
                    f"{self._expected()}")
            if fn is None:
                return None
            return fn(*args, **kwargs)

        return wrapper

    def _expected(self) -> str:
        if self.high is None:
            return f"at least {self.low}"
        return f"exactly {self.low}"

    def problem(self) -> str | None:
        ok = self.calls >= self.low and (self.high is None or self.calls <= self.high)
        if ok:
            return None
        return f"function at {self.where} called {self.calls} times, expected {self._expected()}"


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Checker:
    """The counted functions and gnet's logged errors of one test."""

    def __init__(self) -> None:
        self.counted: list[_Counted] = []
        self.recorder = _Recorder()
        self.logger = logging.getLogger("gnet")
        self.logger.addHandler(self.recorder)
        self.verified = False
        self.failed = False
        self._tmpdir: str | None = None
        self.sockets: list[net.Socket] = []
        self._track_sockets()

    def _track_sockets(self) -> None:
        # Node's process exit closes every socket a test leaves open (an
        # accepted socket whose data nobody reads, one that was unref'd). The
        # port's counterpart: every gnet Socket made during the test is
        # destroyed at teardown, so none is dropped open (a ResourceWarning
        # in some later test). Hooked where both new and accepted sockets
        # are set up.
        self._original_setup = getattr(net.Socket, "_setup", None)
        if self._original_setup is None:
            return
        original = self._original_setup
        made = self.sockets

        def _setup(sock: net.Socket, *args: Any, **kwargs: Any) -> Any:
            made.append(sock)
            return original(sock, *args, **kwargs)

        net.Socket._setup = _setup  # type: ignore[attr-defined]

    def tmpdir(self) -> str:
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="gnet-node-", dir="/tmp")
        return self._tmpdir

    def add(self, counted: _Counted, fn: Callable[..., Any] | None) -> Callable[..., Any]:
        self.counted.append(counted)
        return counted.wrap(fn)

    def logged(self) -> list[str]:
        out = []
        for r in self.recorder.records:
            text = r.getMessage()
            if r.exc_info and r.exc_info[1] is not None:
                exc = r.exc_info[1]
                text += f": {type(exc).__name__}: {exc}"
            out.append(text)
        return out

    def check_logged(self) -> None:
        logged = self.logged()
        if logged:
            raise AssertionError("gnet logged errors:\n" + "\n".join(logged))

    def verify(self) -> None:
        """Fail when gnet logged an error or a counted function's count is wrong."""
        self.verified = True
        self.check_logged()
        problems = [p for c in self.counted if (p := c.problem()) is not None]
        if problems:
            raise AssertionError("mustCall checks failed:\n" + "\n".join(problems))

    def close(self) -> None:
        self.logger.removeHandler(self.recorder)
        if self._original_setup is not None:
            net.Socket._setup = self._original_setup  # type: ignore[attr-defined]
        destroyed = 0
        for sock in self.sockets:
            if not sock.destroyed:
                sock.destroy()
                destroyed += 1
        self.sockets.clear()
        if destroyed:
            # Let their 'close' events run now, not inside the next test.
            net.run(timeout=1000)
            gevent.sleep(0.01)
        cleanup(everything=self.failed)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


_current: Checker | None = None


def _checker() -> Checker:
    if _current is None:
        raise RuntimeError("tests/node/common.py used outside a test (no checker)")
    return _current


def start() -> Checker:
    global _current
    _current = Checker()
    return _current


def stop() -> None:
    global _current
    if _current is not None:
        _current.close()
    _current = None


def failed() -> None:
    """The test failed: its teardown closes every gnet socket and server left."""
    if _current is not None:
        _current.failed = True


def verify() -> None:
    if _current is not None and not _current.verified:
        _current.verify()


def must_call(fn: Callable[..., Any] | None = None, exact: int = 1) -> Callable[..., Any]:
    """``common.mustCall(fn, exact)``: fn must be called exactly ``exact`` times."""
    if isinstance(fn, int):  # must_call(2)
        fn, exact = None, fn
    return _checker().add(_Counted(exact, exact, _where()), fn)


def must_call_atleast(fn: Callable[..., Any] | None = None,
                      minimum: int = 1) -> Callable[..., Any]:
    """``common.mustCallAtLeast(fn, minimum)``."""
    if isinstance(fn, int):
        fn, minimum = None, fn
    return _checker().add(_Counted(minimum, None, _where()), fn)


def must_not_call(msg: str | None = None) -> Callable[..., Any]:
    """``common.mustNotCall(msg)``: any call fails the test."""
    where = _where()

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"{msg or 'mustNotCall'} at {where} called with {args!r}")

    return _checker().add(_Counted(0, 0, where), never)


def check_error(err: BaseException, **fields: Any) -> None:
    """``assert.throws``-style check of an error's fields (``name`` is its class name)."""
    for key, want in fields.items():
        got = type(err).__name__ if key == "name" else getattr(err, key, "<missing>")
        if key == "message" and got == "<missing>":
            got = str(err)
        if isinstance(want, type):
            assert isinstance(got, want) or isinstance(err, want), (key, got, want)
        else:
            assert got == want, f"{key}: got {got!r}, expected {want!r} ({err!r})"


def expects_error(exact: int = 1, **fields: Any) -> Callable[..., Any]:
    """``common.expectsError({...})``: a callback whose first argument is such an error."""
    where = _where()

    def check(err: BaseException, *_rest: Any) -> None:
        assert isinstance(err, BaseException), f"expected an error, got {err!r}"
        check_error(err, **fields)

    return _checker().add(_Counted(exact, exact, where), check)


class MockedLookupError(Exception):
    """The error of common/dns.js's ``errorLookupMock`` (a plain Error with fields)."""


def error_lookup_mock(code: str = "ENOTFOUND", syscall: str = "getaddrinfo") -> Callable[..., Any]:
    """common/dns.js ``errorLookupMock``: a lookup that fails with ``code``."""

    def lookup_with_error(hostname: str, dnsopts: Any, cb: Callable[..., Any]) -> None:
        err = MockedLookupError(f"{syscall} {code} {hostname}")
        err.code = code  # type: ignore[attr-defined]
        err.errno = code  # type: ignore[attr-defined]
        err.syscall = syscall  # type: ignore[attr-defined]
        err.hostname = hostname  # type: ignore[attr-defined]
        err.message = str(err)  # type: ignore[attr-defined]
        cb(err)

    return lookup_with_error


def create_mocked_lookup(*addresses: str) -> Callable[..., Any]:
    """common/dns.js ``createMockedLookup``: answers these addresses, on the next tick."""
    pairs = [{"address": a, "family": net.isIP(a)} for a in addresses]

    def lookup(hostname: str, options: dict[str, Any], cb: Callable[..., Any]) -> None:
        if options.get("all") is True:
            net.setImmediate(lambda: cb(None, pairs))
            return
        net.setImmediate(lambda: cb(None, pairs[0]["address"], pairs[0]["family"]))

    return lookup


def free_port(host: str = "127.0.0.1") -> int:
    """``common.PORT`` without the fixed number: a port nothing listens on now.

    Bound and released at once, so a connect to it is refused and a listen
    on it succeeds (unless another process takes it in between).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def pipe_path(name: str = "pipe") -> str:
    """``common.PIPE``: a Unix socket path in a fresh directory removed after the test."""
    return os.path.join(_checker().tmpdir(), name)


def run(timeout: float = 5000) -> None:
    """Run gnet's loop until nothing keeps it alive; fail after ``timeout`` ms.

    Fails early, with what was logged, as soon as gnet logs an error: in Node
    that error would have ended the process.
    """
    checker = _current
    deadline = time.monotonic() + timeout / 1000
    while True:
        left = max(0.0, deadline - time.monotonic()) * 1000
        done = net.run(timeout=min(left, 100))
        if checker is not None:
            checker.check_logged()
        if done:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the loop still had {net.refCount()} ref'd handle(s) after {timeout} ms")


def wait(ms: float) -> None:
    """Let the loop run for ``ms`` ms (for ports whose source waits on a timer)."""
    gevent.sleep(ms / 1000)


def cleanup(everything: bool = False) -> None:
    """Close every gnet server and destroy every socket still active after a test.

    Only when something still keeps the loop alive, or ``everything`` (after
    a failure): the scan of every object costs tens of milliseconds.
    """
    if net.refCount() == 0 and not everything:
        return
    for obj in gc.get_objects():
        try:
            if isinstance(obj, net.Socket) and not obj.destroyed:
                obj.destroy()
            elif isinstance(obj, net.Server) and obj.listening:
                obj.close()
        except Exception:
            pass
    net.run(timeout=1000)
    if everything:
        # What the failed test dropped is collected here, so that an unclosed
        # socket's ResourceWarning does not surface in a later test. The test
        # has failed already; its leftovers are not reported twice.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
