"""The loop keeper: which handles keep ``gnet.run()`` blocking, and timers.

Node's process stays alive while a ref'd handle is active: a listening
server, a socket that is connecting, reading or writing, a pending timer.
gevent has no such notion for application objects, so gnet keeps one count:
the number of handles that are both *active* and *ref'd*. ``run()`` blocks
the calling greenlet until that count is zero. ``ref()``, ``unref()`` and an
activity change are each one comparison and one addition.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic
from types import TracebackType
from typing import Any, TypeVar

from gevent import get_hub
from gevent.event import Event
from gevent.monkey import get_original
from greenlet import getcurrent

from gnet.dispatch import in_worker, recover, schedule, wait_quiet
from gnet.errors import NestedRunError
from gnet.naming import add_aliases
from gnet.validate import validate_function, validate_number

__all__ = (
    "Handle",
    "Timeout",
    "clearInterval",
    "clearTimeout",
    "refCount",
    "run",
    "setImmediate",
    "setInterval",
    "setTimeout",
)

H = TypeVar("H", bound="Handle")

logger = logging.getLogger("gnet")


class _Keeper:
    __slots__ = ("count", "fatal", "idle", "running")

    def __init__(self) -> None:
        self.count = 0
        # Set while nothing keeps the loop alive; created by the first run().
        self.idle: Event | None = None
        # An error nobody handled that ends run() (Node: an uncaught exception).
        self.fatal: BaseException | None = None
        # How many run() calls are waiting.
        self.running = 0

    def add(self, delta: int) -> None:
        self.count += delta
        idle = self.idle
        if idle is not None:
            if self.count == 0:
                idle.set()
            elif delta > 0 and self.count == delta:
                idle.clear()


_keeper = _Keeper()


class Handle:
    """Something that can keep ``gnet.run()`` alive: a server, a socket, a timer.

    It counts while it is active (listening, connecting, reading, writing,
    pending) and ref'd (the default), as libuv handles do in Node.
    """

    # Subclasses declare the slots ``_active`` and ``_refed`` themselves, so
    # that Handle can sit beside EventEmitter (which has slots too).
    __slots__: tuple[str, ...] = ()
    _active: bool
    _refed: bool

    # mypy cannot see the subclasses' slots from here, hence the ignores.
    def _init_handle(self) -> None:
        self._active = False  # type: ignore[misc]
        self._refed = True  # type: ignore[misc]

    def _set_active(self, active: bool) -> None:
        if active is not self._active:
            self._active = active  # type: ignore[misc]
            if self._refed:
                _keeper.add(1 if active else -1)

    def ref(self: H) -> H:
        """Let this handle keep ``gnet.run()`` alive (the default). Returns self."""
        if not self._refed:
            self._refed = True
            if self._active:
                _keeper.add(1)
        return self

    def unref(self: H) -> H:
        """Stop this handle from keeping ``gnet.run()`` alive. Returns self."""
        if self._refed:
            self._refed = False
            if self._active:
                _keeper.add(-1)
        return self

    def hasRef(self) -> bool:
        """Whether this handle keeps ``gnet.run()`` alive when active."""
        return self._refed


add_aliases(Handle)


def fail_run(error: BaseException) -> None:
    """Make ``run()`` raise ``error``: an 'error' that Node would let crash the process.

    Raised by the ``run()`` waiting now, or by the next one; logged too when
    no ``run()`` is waiting (a ``serve_forever()`` program).
    """
    if not _keeper.running:
        logger.error("gnet: unhandled 'error': %s", error)
    _keeper.fatal = error
    if _keeper.idle is not None:
        _keeper.idle.set()


def _raise_fatal() -> None:
    error = _keeper.fatal
    if error is not None:
        _keeper.fatal = None
        if _keeper.idle is not None and _keeper.count:
            _keeper.idle.clear()
        # The OS-level cause adds nothing to Node's message: one clear error.
        raise error from None


def refCount() -> int:
    """How many active, ref'd handles keep ``gnet.run()`` blocking now."""
    return _keeper.count


def run(timeout: float | None = None) -> bool:
    """Block the calling greenlet until no ref'd handle is left.

    The counterpart of Node's implicit event loop: a script that creates a
    server and calls ``run()`` returns once the server has closed and its
    last connection is gone.

    Args:
        timeout: give up after this many milliseconds (``None``: no limit).

    Ctrl-C raises KeyboardInterrupt here, in the caller, rather than in
    gevent's hub (which would print a traceback first), so
    ``try: gnet.run() except KeyboardInterrupt: ...`` stops cleanly, and a
    script that does not catch it ends as any Python script does on Ctrl-C:
    a short traceback from its own ``run()`` line, then the exit status of
    SIGINT. (Node prints nothing; see docs/differences.md.)

    Returns:
        True when nothing keeps the loop alive, False if the timeout ran out.

    Raises:
        NestedRunError: called inside a listener or a timer callback (a gnet
            worker greenlet), where it would wait for itself forever.
    """
    if in_worker():
        raise NestedRunError()
    try:
        with _interrupt_here():
            return _run(timeout)
    except KeyboardInterrupt as exc:
        interrupted = exc
    # The interrupt may have cut the dispatcher's hand-off short: a script
    # that catches it and goes on (closes, then runs again) needs workers.
    recover()
    # Raised afresh, outside the handler, with only the user's frames: the
    # traceback it came with runs through gevent's hub switch and gnet's
    # dispatch (a dozen frames nobody can act on). A listener it cut short
    # keeps its lines: they say where the program was stuck.
    interrupted.__traceback__ = _user_frames(interrupted.__traceback__)
    raise interrupted from None


_INTERNAL = frozenset({"gnet", "gevent", "greenlet"})


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without the frames of gnet, gevent and greenlet (by module name)."""
    kept = []
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__") or ""
        if module.partition(".")[0] not in _INTERNAL:
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for entry in reversed(kept):
        chain = TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain


@contextmanager
def _interrupt_here() -> Iterator[None]:
    # Ctrl-C usually lands in the hub (it is the one running while we
    # wait), which prints the KeyboardInterrupt before passing it on to the
    # main greenlet. While run() waits, the hub treats it as "not an error"
    # (no printing); it still ends up raised here, in the caller.
    #
    # Python runs its SIGINT handler only when Python code next runs. A
    # signal that arrives just as the hub goes back into epoll_wait (after
    # the loop's last look for signals) would wait for the next event, and
    # a quiet server has none: the Ctrl-C is lost. A timer that runs
    # Python code while run() waits bounds that delay (gevent does the same
    # on Windows only); it is not ref'd, so it keeps nothing alive.
    #
    # Python raises KeyboardInterrupt wherever the main thread happens to be.
    # Inside the hub or gnet's and gevent's own code (between two callbacks,
    # handing a task to a worker) that would leave the loop's bookkeeping
    # half done. So while run() waits, such a Ctrl-C is delivered at the
    # next safe point instead: thrown into run()'s caller from a loop
    # callback, or, if user code runs first and blocks (a listener stuck in
    # a blocking call, so the loop never gets there), raised in that code by
    # the same signal sent again a moment later. One that lands in user code
    # is raised right there, as Python does, so it shows where it was stuck.
    hub = get_hub()
    had_own = "NOT_ERROR" in vars(hub)
    previous = hub.NOT_ERROR
    if not issubclass(KeyboardInterrupt, previous):
        hub.NOT_ERROR = (*previous, KeyboardInterrupt)
    checker = hub.loop.timer(SIGNAL_CHECK_S, SIGNAL_CHECK_S, ref=False)
    checker.start(_let_signals_in)
    waiter = getcurrent()
    old_handler: Any = None
    if threading.current_thread() is threading.main_thread() and _python_owns_sigint():
        old_handler = signal.getsignal(signal.SIGINT)
        if old_handler is signal.default_int_handler:
            pending: list[bool] = []

            def deliver() -> None:
                if pending:
                    pending.clear()
                    waiter.throw(KeyboardInterrupt)

            def on_sigint(signum: int, frame: Any) -> None:
                if getcurrent() is hub or _in_internals(frame):
                    if not pending:
                        pending.append(True)
                        hub.loop.run_callback(deliver)
                        _resend_later(pending)
                    return
                pending.clear()
                raise KeyboardInterrupt

            signal.signal(signal.SIGINT, on_sigint)
        else:
            old_handler = None  # the program's own handler stays
    try:
        yield
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        checker.stop()
        checker.close()
        if had_own:
            hub.NOT_ERROR = previous
        else:
            vars(hub).pop("NOT_ERROR", None)


# Where gnet calls user code: an interrupt whose nearest gnet frame is one of
# these landed in a listener or callback (user code, or a library it called).
_CALLS_USER_CODE = frozenset({"emit", "_run", "_emit_safely", "_fire", "_drain",
                              "_run_gevent_handler"})


def _in_internals(frame: Any) -> bool:
    """Whether an interrupt at ``frame`` would cut gnet's or gevent's own work short."""
    first = True
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.partition(".")[0] in _INTERNAL:
            return first or frame.f_code.co_name not in _CALLS_USER_CODE
        first = False
        frame = frame.f_back
    return False


def _resend_later(pending: list[bool]) -> None:
    # An OS thread (not a greenlet, even under monkey-patching), since the
    # loop may be stuck in a listener's blocking call.
    def resend() -> None:
        _real_sleep(SIGNAL_CHECK_S * 2)
        if pending:
            os.kill(os.getpid(), signal.SIGINT)

    _start_thread(resend, ())


_start_thread: Any = get_original("_thread", "start_new_thread")
_real_sleep: Any = get_original("time", "sleep")


def _sigint_action() -> int | None:
    # The address of the OS-level SIGINT handler (Linux: struct sigaction
    # starts with it), or None where it cannot be read.
    if _libc is None:
        return None
    buf = ctypes.create_string_buffer(512)
    if _libc.sigaction(signal.SIGINT, None, buf) != 0:
        return None
    return int.from_bytes(buf.raw[: ctypes.sizeof(ctypes.c_void_p)], sys.byteorder)


def _python_owns_sigint() -> bool:
    # Whether SIGINT still goes to Python's own handler, so replacing it for
    # a while and putting it back loses nothing. gevent.signal_handler(SIGINT)
    # (libev's watcher) installs its handler underneath Python's signal
    # module, which does not know; that one must be left alone.
    current = _sigint_action()
    return current is not None and current == _PYTHON_SIGINT


try:
    _libc: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover - no C library to ask
    _libc = None
# What Python installed at start-up (read before any gevent watcher exists).
_PYTHON_SIGINT = _sigint_action()

# How late a Ctrl-C may be noticed at worst, in seconds (see _interrupt_here).
SIGNAL_CHECK_S = 0.1


def _let_signals_in() -> None:
    """Nothing: running any Python code in the hub runs pending signal handlers."""


def _run(timeout: float | None) -> bool:
    _keeper.running += 1
    try:
        return _wait(timeout)
    finally:
        _keeper.running -= 1


def _wait(timeout: float | None) -> bool:
    if _keeper.idle is None:
        _keeper.idle = Event()
        if _keeper.count == 0:
            _keeper.idle.set()
    deadline = None
    if timeout is not None:
        deadline = monotonic() + validate_number(timeout, "timeout", 0) / 1000.0
    # Nothing is left when no handle counts *and* every queued event (a last
    # 'close') has been emitted: listeners may start new handles.
    # A listener that runs while we wait may start a handle or schedule more
    # events (wait_quiet() then says False early): look again until the
    # deadline.
    while True:
        _raise_fatal()
        left = None if deadline is None else max(0.0, deadline - monotonic())
        if not _keeper.idle.wait(left):
            return False
        _raise_fatal()
        left = None if deadline is None else max(0.0, deadline - monotonic())
        if wait_quiet(left) and _keeper.count == 0:
            _raise_fatal()
            return True
        if deadline is not None and monotonic() >= deadline:
            return False


class Timeout(Handle):
    """A timer made by :func:`setTimeout` / :func:`setInterval` (Node's Timeout).

    The callback runs in a gnet worker greenlet, so it may block cooperatively.
    """

    __slots__ = ("_active", "_args", "_callback", "_cleared", "_ms", "_refed", "_repeat",
                 "_watcher")

    def __init__(
        self, callback: Callable[..., Any], ms: float, args: tuple[Any, ...], repeat: bool
    ) -> None:
        self._init_handle()
        self._callback = callback
        self._args = args
        self._ms = ms
        self._repeat = repeat
        self._cleared = False
        self._watcher = self._new_watcher()
        self._set_active(True)

    def _new_watcher(self) -> Any:
        # Node clamps delays below 1 ms to 1 ms.
        seconds = max(self._ms, 1.0) / 1000.0
        watcher = get_hub().loop.timer(seconds, seconds if self._repeat else 0.0)
        watcher.start(schedule, self._fire)
        return watcher

    def _fire(self) -> None:
        if not self._active:
            return
        if not self._repeat:
            self._set_active(False)
        self._callback(*self._args)

    def close(self) -> Timeout:
        """Cancel the timer (Node's ``clearTimeout(t)``). Returns self."""
        self._cleared = True
        self._watcher.stop()
        self._set_active(False)
        return self

    def refresh(self) -> Timeout:
        """Restart the timer's countdown from now, keeping its callback.

        As in Node, a timer that already fired runs again; a cleared one stays
        cleared.
        """
        if self._cleared:
            return self
        # A stopped libev timer keeps what was left of its delay, so a
        # restart needs a new watcher.
        self._watcher.stop()
        self._watcher.close()
        self._watcher = self._new_watcher()
        self._set_active(True)
        return self

    def __repr__(self) -> str:
        kind = "Interval" if self._repeat else "Timeout"
        return f"<gnet {kind} {self._ms} ms active={self._active}>"


def setTimeout(callback: Callable[..., Any], ms: float = 1, *args: Any) -> Timeout:
    """Call ``callback(*args)`` once after ``ms`` milliseconds (Node's setTimeout)."""
    validate_function(callback, "callback")
    return Timeout(callback, float(validate_number(ms, "delay")), args, repeat=False)


def setInterval(callback: Callable[..., Any], ms: float = 1, *args: Any) -> Timeout:
    """Call ``callback(*args)`` every ``ms`` milliseconds (Node's setInterval)."""
    validate_function(callback, "callback")
    return Timeout(callback, float(validate_number(ms, "delay")), args, repeat=True)


def setImmediate(callback: Callable[..., Any], *args: Any) -> None:
    """Call ``callback(*args)`` soon, in a gnet worker greenlet (Node's setImmediate)."""
    validate_function(callback, "callback")
    schedule(lambda: callback(*args))


def clearTimeout(timer: Timeout | None) -> None:
    """Cancel a timer made by :func:`setTimeout`; anything else is ignored, as in Node."""
    if isinstance(timer, Timeout):
        timer.close()


clearInterval = clearTimeout
