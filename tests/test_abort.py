"""gnet.AbortController / AbortSignal, and the ``signal`` option of listen,
connect/Socket, events.once, pipeline and dgram.createSocket.

The API tests port Node's test-abortcontroller.js and test-abortsignal-any.mjs
where they apply to Python. The event orders of the socket tests are what
small Node 20 scripts printed for the same steps (the expected lists below
say where gnet differs on purpose).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest

import gnet as net
from gnet import AbortController, AbortSignal, dgram
from gnet.errors import (
    AbortError,
    AbortTimeoutError,
    IllegalConstructorError,
    InvalidArgTypeError,
    OutOfRangeError,
    SocketDgramNotRunningError,
)
from gnet.events import EventEmitter, once
from helpers import HOST, WAIT_MS, Harness, wait_until

# --- the API ----------------------------------------------------------------------


def test_abort_fires_onabort_then_listeners_once() -> None:
    ac = AbortController()
    log: list[Any] = []
    ac.signal.onabort = lambda: log.append(("onabort", ac.signal.aborted))
    ac.signal.addEventListener("abort", lambda: log.append("once"), {"once": True})
    ac.signal.on("abort", lambda: log.append("on"))
    assert not ac.signal.aborted and ac.signal.reason is None
    ac.abort()
    ac.abort()
    assert log == [("onabort", True), "once", "on"]
    assert ac.signal.aborted


def test_default_reason_is_an_abort_error() -> None:
    for signal in (AbortSignal.abort(), _aborted_controller().signal):
        reason = signal.reason
        assert isinstance(reason, AbortError)
        assert reason.code == "ABORT_ERR" and reason.name == "AbortError"
        assert str(reason) == "This operation was aborted"


def _aborted_controller() -> AbortController:
    ac = AbortController()
    ac.abort()
    return ac


def test_reason_is_kept_and_never_replaced() -> None:
    ac = AbortController()
    ac.abort("reason")
    assert ac.signal.reason == "reason"
    ac.abort("other")
    assert ac.signal.reason == "reason"
    assert AbortSignal.abort("reason").reason == "reason"
    assert ac.signal is ac.signal


def test_signal_cannot_be_constructed() -> None:
    with pytest.raises(IllegalConstructorError) as info:
        AbortSignal()
    assert info.value.code == "ERR_ILLEGAL_CONSTRUCTOR"
    assert isinstance(info.value, TypeError)


def test_throw_if_aborted() -> None:
    AbortController().signal.throwIfAborted()  # not aborted: nothing
    with pytest.raises(AbortError) as info:
        AbortSignal.abort().throwIfAborted()
    assert str(info.value) == "This operation was aborted"
    reason = ValueError("mine")
    with pytest.raises(ValueError) as info2:
        AbortSignal.abort(reason).throw_if_aborted()
    assert info2.value is reason
    # Python raises exceptions only: a bare reason travels as the cause.
    with pytest.raises(AbortError) as info3:
        AbortSignal.abort("why").throwIfAborted()
    assert info3.value.cause == "why"


def test_onabort_holds_a_function_or_none() -> None:
    signal = AbortController().signal
    assert signal.onabort is None
    signal.onabort = 5  # type: ignore[assignment]
    assert signal.onabort is None
    handler = lambda: None  # noqa: E731
    signal.onabort = handler
    assert signal.onabort is handler


def test_remove_event_listener() -> None:
    ac = AbortController()
    log: list[str] = []

    def listener() -> None:
        log.append("called")

    ac.signal.addEventListener("abort", listener)
    ac.signal.removeEventListener("abort", listener)
    ac.abort()
    assert log == []


def test_abort_error_takes_node_options() -> None:
    err = AbortError(None, {"cause": "x"})
    assert err.cause == "x" and str(err) == "The operation was aborted"
    inner = OSError("inner")
    err2 = AbortError("custom", cause=inner)
    assert str(err2) == "custom" and err2.cause is inner and err2.__cause__ is inner


@pytest.mark.timeout(10)
def test_timeout_fires_with_a_timeout_error() -> None:
    signal = AbortSignal.timeout(10)
    assert not signal.aborted
    wait_until(lambda: signal.aborted, what="the timeout")
    reason = signal.reason
    assert isinstance(reason, AbortTimeoutError) and isinstance(reason, TimeoutError)
    assert reason.name == "TimeoutError" and reason.code == "TIMEOUT_ERR"
    assert str(reason) == "The operation was aborted due to timeout"


@pytest.mark.timeout(10)
def test_timeout_does_not_keep_run_alive() -> None:
    before = net.refCount()
    signal = AbortSignal.timeout(1_200_000)
    assert net.refCount() == before
    started = time.monotonic()
    assert net.run(timeout=WAIT_MS)
    assert time.monotonic() - started < 1
    assert not signal.aborted


@pytest.mark.parametrize(("value", "error"), [
    (-1, OutOfRangeError), (2**32, OutOfRangeError), (1.5, OutOfRangeError),
    ("10", InvalidArgTypeError), (None, InvalidArgTypeError),
])
def test_timeout_validates_the_delay(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        AbortSignal.timeout(value)
    assert '"delay"' in str(info.value)


def test_timeout_message_as_node() -> None:
    with pytest.raises(OutOfRangeError) as info:
        AbortSignal.timeout(-1)
    assert str(info.value) == ('The value of "delay" is out of range. '
                               'It must be >= 0 && <= 4294967295. Received -1')


# AbortSignal.any(), after Node's test-abortsignal-any.mjs.

def test_any_rejects_what_is_not_a_list_of_signals() -> None:
    for bad in (None, 1, "signals"):
        with pytest.raises(InvalidArgTypeError):
            AbortSignal.any(bad)
    with pytest.raises(InvalidArgTypeError) as info:
        AbortSignal.any([AbortSignal.abort(), None])
    assert '"signals[1]"' in str(info.value)
    for bad_item in (None, "123", 123, {}, AbortController()):
        with pytest.raises(InvalidArgTypeError):
            AbortSignal.any([bad_item])


def test_any_of_nothing_never_aborts() -> None:
    signal = AbortSignal.any([])
    assert not signal.aborted


def test_any_returns_a_new_signal() -> None:
    original = AbortController().signal
    assert AbortSignal.any([original]) is not original


def test_any_of_an_aborted_signal_is_aborted_with_the_first_reason() -> None:
    log: list[str] = []
    signal = AbortSignal.any([AbortSignal.abort("some reason"), AbortSignal.abort("another")])
    signal.on("abort", lambda: log.append("abort"))
    assert signal.aborted and signal.reason == "some reason"
    assert log == []


def test_any_aborts_with_the_reason_of_the_first_to_abort() -> None:
    controllers = [AbortController() for _ in range(3)]
    combined = AbortSignal.any([c.signal for c in controllers])
    controllers[1].abort(1)
    controllers[2].abort(2)
    assert combined.aborted and combined.reason == 1


def test_any_accepts_the_same_signal_twice_and_any_iterable() -> None:
    ac = AbortController()
    log: list[str] = []
    signal = AbortSignal.any(iter([ac.signal, ac.signal, AbortController().signal]))
    signal.on("abort", lambda: log.append("abort"))
    assert not signal.aborted
    ac.abort("reason")
    assert signal.aborted and signal.reason == "reason" and log == ["abort"]


def test_any_of_any_aborts_through_the_deep_source() -> None:
    controllers = [AbortController(), AbortController()]
    composed1 = AbortSignal.any([controllers[0].signal])
    composed2 = AbortSignal.any([composed1, controllers[1].signal])
    log: list[str] = []
    composed2.onabort = lambda: log.append("onabort")
    controllers[0].abort()
    assert composed2.aborted and isinstance(composed2.reason, AbortError)
    assert log == ["onabort"]
    controllers[1].abort()
    assert log == ["onabort"]


def test_any_runs_abort_handlers_in_order() -> None:
    ac = AbortController()
    signals = [ac.signal]
    signals.append(AbortSignal.any([ac.signal]))
    signals.append(AbortSignal.any([ac.signal]))
    signals.append(AbortSignal.any([signals[0]]))
    signals.append(AbortSignal.any([signals[1]]))
    result: list[int] = []
    for i, signal in enumerate(signals):
        signal.on("abort", lambda i=i: result.append(i))
    ac.abort()
    assert result == [0, 1, 2, 3, 4]


def test_any_sees_every_source_aborted_state_before_listeners_run() -> None:
    ac = AbortController()
    combined = AbortSignal.any([ac.signal])
    seen: list[bool] = []
    ac.signal.on("abort", lambda: seen.append(combined.aborted))
    ac.abort()
    assert seen == [True]


def test_any_leaves_its_sources_once_aborted() -> None:
    long_lived = AbortController().signal
    for _ in range(50):  # no max-listeners warning (filterwarnings = error)
        ac = AbortController()
        AbortSignal.any([long_lived, ac.signal])
        ac.abort()
    assert not long_lived._dependents
    assert long_lived.listenerCount("abort") == 0


@pytest.mark.timeout(10)
def test_any_with_a_timeout() -> None:
    signal = AbortSignal.any([AbortController().signal, AbortSignal.timeout(5)])
    wait_until(lambda: signal.aborted, what="the timeout")
    assert isinstance(signal.reason, AbortTimeoutError)


def test_exported_from_the_package() -> None:
    assert "AbortController" in net.__all__ and "AbortSignal" in net.__all__
    assert AbortController.__module__ == "gnet" and AbortSignal.__module__ == "gnet"
    assert isinstance(AbortController().signal, EventEmitter)


# --- events.once ------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_once_aborted_while_waiting() -> None:
    emitter = EventEmitter()
    ac = AbortController()
    gevent.spawn_later(0.005, ac.abort)
    with pytest.raises(AbortError) as info:
        once(emitter, "foo", signal=ac.signal)
    assert info.value.code == "ABORT_ERR" and info.value.cause is ac.signal.reason
    assert emitter.listenerCount("foo") == 0 and emitter.listenerCount("error") == 0
    assert ac.signal.listenerCount("abort") == 0


def test_once_with_an_aborted_signal_raises_at_once() -> None:
    emitter = EventEmitter()
    with pytest.raises(AbortError) as info:
        once(emitter, "foo", {"signal": AbortSignal.abort("r")})  # Node's options form
    assert info.value.cause == "r"
    assert emitter.listenerCount("foo") == 0


@pytest.mark.timeout(10)
def test_once_event_before_abort_removes_the_abort_listener() -> None:
    emitter = EventEmitter()
    ac = AbortController()
    gevent.spawn_later(0.005, emitter.emit, "foo", 1)
    assert once(emitter, "foo", signal=ac.signal) == (1,)
    assert ac.signal.listenerCount("abort") == 0
    ac.abort()


def test_once_validates_the_signal() -> None:
    with pytest.raises(InvalidArgTypeError) as info:
        once(EventEmitter(), "foo", signal=1)  # type: ignore[arg-type]
    assert str(info.value) == ('The "options.signal" property must be an instance of '
                               'AbortSignal. Received type int (1)')


# --- server.listen ----------------------------------------------------------------


@pytest.mark.timeout(15)
def test_listen_abort_closes_the_server(harness: Harness) -> None:
    # node: 5 listening / 5 after abort listening false / 5 close
    ac = AbortController()
    srv = harness.add(net.createServer())
    log: list[Any] = []

    def on_listening() -> None:
        log.append("listening")
        ac.abort()
        log.append(("after abort", srv.listening))

    srv.on("listening", on_listening)
    srv.on("close", lambda: log.append("close"))
    srv.listen({"port": 0, "host": HOST, "signal": ac.signal})
    wait_until(lambda: "close" in log, what="'close'")
    assert log == ["listening", ("after abort", False), "close"]
    assert ac.signal.listenerCount("abort") == 0
    harness.finish()


@pytest.mark.timeout(15)
def test_listen_with_an_aborted_signal_never_emits_listening(harness: Harness) -> None:
    # node: 6 sync listening true / 6 close (no 'listening')
    srv = harness.add(net.createServer())
    log: list[Any] = []
    srv.on("listening", lambda: log.append("listening"))
    srv.on("close", lambda: log.append("close"))
    srv.listen(port=0, host=HOST, signal=AbortSignal.abort())
    log.append(("sync", srv.listening))
    wait_until(lambda: "close" in log, what="'close'")
    gevent.sleep(0.01)
    assert log == [("sync", True), "close"]
    harness.finish()


@pytest.mark.timeout(15)
def test_closing_first_leaves_no_listener_on_the_signal(harness: Harness) -> None:
    ac = AbortController()
    srv = harness.add(net.createServer()).listen({"port": 0, "host": HOST, "signal": ac.signal})
    assert ac.signal.listenerCount("abort") == 1
    srv.close()
    assert net.run(timeout=WAIT_MS)
    assert ac.signal.listenerCount("abort") == 0
    ac.abort()
    harness.finish()


def test_listen_validates_the_signal(harness: Harness) -> None:
    srv = harness.add(net.createServer())
    with pytest.raises(InvalidArgTypeError) as info:
        srv.listen({"port": 0, "signal": {}})
    assert str(info.value) == ('The "options.signal" property must be an instance of '
                               'AbortSignal. Received an instance of dict')
    harness.finish()


# --- connect / Socket -------------------------------------------------------------


def _record(sock: net.Socket, log: list[Any], prefix: str = "") -> None:
    sock.on("connect", lambda: log.append(prefix + "connect"))
    sock.on("error", lambda err: log.append(
        (prefix + "error", type(err).__name__, err.code, str(err), err.cause)))
    sock.on("close", lambda had_error: log.append((prefix + "close", had_error)))


@pytest.mark.timeout(15)
def test_abort_after_connect_destroys_the_socket(harness: Harness) -> None:
    # node: connect / after abort true / error AbortError ABORT_ERR
    #       'The operation was aborted' (cause: the reason) / close true
    srv = harness.listening_server(lambda s: s.on("error", lambda err: None))
    ac = AbortController()
    log: list[Any] = []
    sock = harness.connect({"port": srv.address()["port"], "host": HOST, "signal": ac.signal})
    _record(sock, log)

    def on_connect() -> None:
        ac.abort()
        log.append(("after abort", sock.destroyed))

    sock.on("connect", on_connect)
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    reason = ac.signal.reason
    assert log == ["connect", ("after abort", True),
                   ("error", "AbortError", "ABORT_ERR", "The operation was aborted", reason),
                   ("close", True)]
    assert ac.signal.listenerCount("abort") == 0
    harness.finish()


@pytest.mark.timeout(15)
def test_abort_right_after_connect_call(harness: Harness) -> None:
    # node: 3 destroyed sync true / 3 error AbortError (cause 'x') / 3 close true
    srv = harness.listening_server(lambda s: s.on("error", lambda err: None))
    ac = AbortController()
    log: list[Any] = []
    sock = harness.connect({"port": srv.address()["port"], "host": HOST, "signal": ac.signal})
    ac.abort("x")
    log.append(("destroyed sync", sock.destroyed))
    _record(sock, log)
    wait_until(lambda: log[-1][0] == "close", what="'close'")
    assert log == [("destroyed sync", True),
                   ("error", "AbortError", "ABORT_ERR", "The operation was aborted", "x"),
                   ("close", True)]
    harness.finish()


@pytest.mark.timeout(15)
def test_connect_with_an_aborted_signal_never_connects(harness: Harness) -> None:
    # node 20: error AbortError (cause 'pre') / close / ... and then it connects
    # all the same ('connect' after 'close'). gnet stays destroyed.
    connections: list[net.Socket] = []
    srv = harness.listening_server(connections.append)
    log: list[Any] = []
    sock = harness.connect({"port": srv.address()["port"], "host": HOST,
                        "signal": AbortSignal.abort("pre")})
    assert sock.destroyed
    _record(sock, log)
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    gevent.sleep(0.05)
    assert log == [("error", "AbortError", "ABORT_ERR", "The operation was aborted", "pre"),
                   ("close", True)]
    assert connections == []
    harness.finish()


@pytest.mark.timeout(15)
def test_new_socket_takes_the_signal(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.on("error", lambda err: None))
    ac = AbortController()
    log: list[Any] = []
    sock = harness.socket({"signal": ac.signal})
    _record(sock, log)
    sock.connect(srv.address()["port"], HOST)
    wait_until(lambda: "connect" in log, what="'connect'")
    ac.abort()
    wait_until(lambda: log[-1][0] == "close", what="'close'")
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == [
        "connect", "error", "close"]
    harness.finish()


@pytest.mark.timeout(15)
def test_timeout_signal_on_a_connect_that_never_answers(harness: Harness) -> None:
    # A lookup that never calls back: the connect waits until the signal fires.
    log: list[Any] = []
    started = time.monotonic()
    sock = harness.connect({"host": "never.answers.invalid", "port": 9,
                        "lookup": lambda *args: None, "signal": AbortSignal.timeout(50)})
    _record(sock, log)
    wait_until(lambda: log and log[-1][0] == "close", what="'close'")
    elapsed = time.monotonic() - started
    assert len(log) == 2
    name, kind, code, message, cause = log[0]
    assert (name, kind, code, message) == ("error", "AbortError", "ABORT_ERR",
                                           "The operation was aborted")
    assert isinstance(cause, AbortTimeoutError)
    assert log[1] == ("close", True)
    assert 0.045 <= elapsed < 3
    harness.finish()


def test_connect_validates_the_signal() -> None:
    # Node 20 names it "signal" here (stream's check comes first).
    for call in (lambda: net.connect({"port": 1, "signal": 5}),
                 lambda: net.Socket({"signal": 5})):
        with pytest.raises(InvalidArgTypeError) as info:
            call()
        assert str(info.value) == ('The "signal" argument must be an instance of '
                                   'AbortSignal. Received type int (5)')


# --- pipeline ---------------------------------------------------------------------


@pytest.mark.timeout(15)
def test_pipeline_abort_destroys_every_stream(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.on("error", lambda err: None))
    port = srv.address()["port"]
    src = harness.connect(port, HOST)
    dst = harness.connect(port, HOST)
    for sock in (src, dst):
        sock.on("error", lambda err: None)
    results: list[Any] = []
    ac = AbortController()
    net.pipeline(src, dst, results.append, signal=ac.signal)
    ac.abort("stop")
    assert len(results) == 1
    err = results[0]
    assert isinstance(err, AbortError) and err.cause == "stop"
    assert src.destroyed and dst.destroyed
    assert ac.signal.listenerCount("abort") == 0
    harness.finish()


@pytest.mark.timeout(15)
def test_pipeline_with_an_aborted_signal_calls_back_later(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.on("error", lambda err: None))
    port = srv.address()["port"]
    src = harness.connect(port, HOST)
    dst = harness.connect(port, HOST)
    for sock in (src, dst):
        sock.on("error", lambda err: None)
    results: list[Any] = []
    net.pipeline(src, dst, results.append, signal=AbortSignal.abort())
    assert results == []
    wait_until(lambda: results, what="the callback")
    assert isinstance(results[0], AbortError)
    assert src.destroyed and dst.destroyed
    harness.finish()


def test_pipeline_validates_the_signal(harness: Harness) -> None:
    srv = harness.listening_server()
    port = srv.address()["port"]
    src = harness.connect(port, HOST)
    dst = harness.connect(port, HOST)
    with pytest.raises(InvalidArgTypeError):
        net.pipeline(src, dst, lambda err: None, signal="no")  # type: ignore[arg-type]
    harness.finish()


# --- dgram ------------------------------------------------------------------------


@pytest.mark.timeout(15)
def test_dgram_signal_closes_the_socket() -> None:
    # node: bind ERR_SOCKET_DGRAM_NOT_RUNNING / close / 2 listening / after abort / 2 close
    log: list[Any] = []
    first = dgram.createSocket({"type": "udp4", "signal": AbortSignal.abort()})
    first.on("close", lambda: log.append("close"))
    with pytest.raises(SocketDgramNotRunningError):
        first.bind(0)
    ac = AbortController()
    second = dgram.createSocket({"type": "udp4", "signal": ac.signal})
    second.on("close", lambda: log.append("2 close"))

    def on_listening() -> None:
        log.append("2 listening")
        ac.abort()
        log.append("after abort")

    second.bind(0, HOST, on_listening)
    assert net.run(timeout=WAIT_MS)
    assert log == ["close", "2 listening", "after abort", "2 close"]
    assert ac.signal.listenerCount("abort") == 0
    with pytest.raises(InvalidArgTypeError) as info:
        dgram.createSocket({"type": "udp4", "signal": 1})
    assert str(info.value) == ('The "options.signal" property must be an instance of '
                               'AbortSignal. Received type int (1)')


def test_a_raising_listener_still_lets_dependents_abort() -> None:
    ac = AbortController()
    combined = AbortSignal.any([ac.signal])
    log: list[str] = []

    def boom() -> None:
        raise RuntimeError("listener failed")

    ac.signal.on("abort", boom)
    combined.on("abort", lambda: log.append("combined"))
    with pytest.raises(RuntimeError, match="listener failed"):
        ac.abort()
    assert log == ["combined"] and combined.aborted
