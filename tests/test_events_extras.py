"""gnet.events' module functions beside EventEmitter, checked against Node 20.

``events.on`` (Node's async iterator as a blocking iterator),
``getEventListeners``, ``setMaxListeners(n, *emitters)``,
``defaultMaxListeners`` (module attribute, read at check time),
the static ``EventEmitter.once(emitter, name)`` that waits,
``errorMonitor`` and ``captureRejections``. Expected values are what a Node
20 script printed for the same steps.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Iterator
from typing import Any

import gevent
import pytest

import gnet
import gnet.events as events
from gnet.errors import AbortError, InvalidArgTypeError, OutOfRangeError, UnsupportedError
from gnet.events import EventEmitter, MaxListenersExceededWarning


@pytest.fixture(autouse=True)
def _restore_default() -> Iterator[None]:
    yield
    EventEmitter.defaultMaxListeners = 10


# --- events.on -------------------------------------------------------------


def test_on_queues_from_the_call_then_raises_the_error() -> None:
    # Node: got [1,2], got [3], threw boom; 'foo' after the error is not
    # queued; both listeners gone as soon as the error came.
    em = EventEmitter()
    it = events.on(em, "foo")
    em.emit("foo", 1, 2)
    em.emit("foo", 3)
    em.emit("error", ValueError("boom"))
    em.emit("foo", 4)
    assert em.listenerCount("foo") == 0 and em.listenerCount("error") == 0
    got = []
    with pytest.raises(ValueError, match="boom"):
        for args in it:
            got.append(args)
    assert got == [(1, 2), (3,)]
    assert list(it) == []


def test_on_blocks_cooperatively_until_an_event() -> None:
    em = EventEmitter()
    got: list[tuple[Any, ...]] = []
    ticks: list[int] = []

    def reader() -> None:
        for args in events.on(em, "foo"):
            got.append(args)
            if len(got) == 2:
                break

    def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            gevent.sleep(0.001)
        em.emit("foo", "a")
        em.emit("foo", "b")

    g = gevent.spawn(reader)
    gevent.spawn(ticker).join(5)
    g.join(5)
    assert got == [("a",), ("b",)]
    assert ticks == [0, 1, 2]  # the reader's wait let the ticker run
    assert em.eventNames() == []  # break removed the listeners


def test_two_greenlets_share_one_iterator() -> None:
    em = EventEmitter()
    it = events.on(em, "foo")
    got: list[tuple[str, Any]] = []

    def reader(who: str) -> None:
        for (value,) in it:
            got.append((who, value))

    readers = [gevent.spawn(reader, "a"), gevent.spawn(reader, "b")]
    gevent.sleep(0.001)
    for i in range(4):
        em.emit("foo", i)
        gevent.sleep(0.001)
    it.close()
    em.emit("foo", 99)  # not seen: closed
    gevent.joinall(readers, timeout=5)
    assert sorted(value for _, value in got) == [0, 1, 2, 3]
    assert all(r.dead for r in readers)


def test_break_removes_the_listeners() -> None:
    em = EventEmitter()
    gevent.spawn_later(0.01, em.emit, "foo", 1)
    for args in events.on(em, "foo"):
        assert args == (1,)
        break
    gc.collect()  # CPython frees it at once; other interpreters may need this
    assert em.listenerCount("foo") == 0 and em.listenerCount("error") == 0


def test_close_and_with() -> None:
    em = EventEmitter()
    it = events.on(em, "foo")
    em.emit("foo", 1)
    it.close()
    assert em.eventNames() == []
    with pytest.raises(StopIteration):
        next(it)
    with events.on(em, "bar") as it2:
        em.emit("bar", 2)
        assert next(it2) == (2,)
    assert em.eventNames() == []


def test_close_option_ends_after_what_is_queued() -> None:
    # Node: d got ['a'], done, no listener left.
    em = EventEmitter()
    it = events.on(em, "foo", {"close": ["end"]})
    em.emit("foo", "a")
    em.emit("end")
    em.emit("foo", "b")
    assert list(it) == [("a",)]
    assert em.eventNames() == []


def test_error_as_the_iterated_event() -> None:
    em = EventEmitter()
    it = events.on(em, "error")
    err = ValueError("e1")
    em.emit("error", err)
    assert next(it) == (err,)
    it.close()


def test_signal_aborts_the_iteration() -> None:
    # Node: h [1], then AbortError ABORT_ERR, no listener left.
    em = EventEmitter()
    ac = gnet.AbortController()
    got = []

    def later() -> None:
        em.emit("foo", 1)
        gevent.sleep(0.005)
        ac.abort()

    gevent.spawn_later(0.005, later)
    with pytest.raises(AbortError) as info:
        for args in events.on(em, "foo", signal=ac.signal):
            got.append(args)
    assert got == [(1,)]
    assert info.value.code == "ABORT_ERR"
    assert em.listenerCount("foo") == 0
    with pytest.raises(AbortError):
        events.on(em, "foo", {"signal": ac.signal})


def test_high_water_mark_pauses_the_emitter() -> None:
    class Pausable(EventEmitter):
        def __init__(self) -> None:
            super().__init__()
            self.log: list[str] = []

        def pause(self) -> None:
            self.log.append("pause")

        def resume(self) -> None:
            self.log.append("resume")

    # Node: pause once more than highWaterMark are queued, resume once
    # fewer than lowWaterMark are.
    em = Pausable()
    it = events.on(em, "foo", highWaterMark=2, lowWaterMark=2)
    em.emit("foo", 1)
    em.emit("foo", 2)
    assert em.log == []
    em.emit("foo", 3)
    assert em.log == ["pause"]
    assert next(it) == (1,)
    assert em.log == ["pause"]
    assert next(it) == (2,)
    assert em.log == ["pause", "resume"]
    it.close()


def test_on_bad_arguments() -> None:
    # Node: "The "emitter" argument must be an instance of EventEmitter".
    with pytest.raises(InvalidArgTypeError) as info:
        events.on(object(), "foo")  # type: ignore[arg-type]
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(InvalidArgTypeError):
        events.on(EventEmitter(), "foo", {"signal": 1})
    with pytest.raises(InvalidArgTypeError):
        events.on(EventEmitter(), "foo", {"close": "end"})


def test_on_in_the_hub_raises() -> None:
    em = EventEmitter()
    it = events.on(em, "foo")
    caught: list[BaseException] = []

    def in_hub() -> None:
        try:
            next(it)
        except BaseException as exc:
            caught.append(exc)

    gevent.get_hub().loop.run_callback(in_hub)
    gevent.sleep(0.01)
    assert caught and type(caught[0]).__name__ == "BlockingSwitchOutError"
    it.close()


def test_on_a_socket_reads_chunks() -> None:
    # The Node pattern `for await (const [chunk] of on(sock, 'data'))`, closed by 'end'.
    srv = gnet.createServer(lambda s: s.end(b"hello"))
    srv.listen(0, "127.0.0.1")
    events.once(srv, "listening", timeout=5000)
    sock = gnet.connect(srv.address()["port"], "127.0.0.1")
    try:
        data = b"".join(chunk for (chunk,) in events.on(sock, "data", close=["end"]))
        assert data == b"hello"
    finally:
        sock.destroy()
        srv.close()
    events.once(srv, "close", timeout=5000)


# --- static once -------------------------------------------------------------


def test_static_once_waits() -> None:
    em = EventEmitter()
    gevent.spawn_later(0.005, em.emit, "z", 7)
    assert EventEmitter.once(em, "z") == (7,)
    gevent.spawn_later(0.005, em.emit, "z", 8)
    assert gnet.Socket.once(em, "z", {}) == (8,)
    with pytest.raises(TimeoutError):
        EventEmitter.once(em, "z", 10)
    assert em.eventNames() == []


def test_once_method_and_decorator_unchanged() -> None:
    em = EventEmitter()
    seen = []

    @em.once("q")
    def on_q(*args: Any) -> None:
        seen.append(args)

    em.emit("q", 1)
    em.emit("q", 2)
    EventEmitter.once(em, "q", on_q)  # a subclass's call to its base
    em.emit("q", 3)
    em.emit("q", 4)
    assert seen == [(1,), (3,)]
    it = EventEmitter.on(em, "r")  # Node's static EventEmitter.on
    em.emit("r", 5)
    assert next(it) == (5,)
    it.close()
    EventEmitter.on(em, "r", on_q)
    em.emit("r", 6)
    assert seen[-1] == (6,)


# --- max listeners ---------------------------------------------------------


def test_default_max_listeners_applies_to_existing_emitters() -> None:
    # Node: a max 2 2, then a warning on the third 'x' listener.
    a = EventEmitter()
    events.defaultMaxListeners = 2
    assert a.getMaxListeners() == 2 and EventEmitter.defaultMaxListeners == 2
    assert events.default_max_listeners == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            a.on("x", lambda: None)
    assert [w.category for w in caught] == [MaxListenersExceededWarning]
    assert "MaxListeners is 2" in str(caught[0].message)
    b = EventEmitter()
    assert b.getMaxListeners() == 2
    a.setMaxListeners(7)
    events.defaultMaxListeners = 3
    assert (a.getMaxListeners(), b.getMaxListeners()) == (7, 3)
    events.defaultMaxListeners = math.inf
    assert b.getMaxListeners() == math.inf


def test_default_max_listeners_is_checked() -> None:
    with pytest.raises(OutOfRangeError) as info:
        events.defaultMaxListeners = -1
    assert 'The value of "defaultMaxListeners" is out of range' in str(info.value)
    with pytest.raises(InvalidArgTypeError):
        events.defaultMaxListeners = "x"  # type: ignore[assignment]
    assert events.defaultMaxListeners == 10


def test_set_max_listeners() -> None:
    # Node: setMaxListeners(5) sets the default; (1, a, b) sets both.
    a, b = EventEmitter(), EventEmitter()
    events.setMaxListeners(5)
    assert (EventEmitter.defaultMaxListeners, a.getMaxListeners()) == (5, 5)
    events.set_max_listeners(1, a, b)
    assert (a.getMaxListeners(), b.getMaxListeners()) == (1, 1)
    assert events.getMaxListeners(a) == events.get_max_listeners(b) == 1
    assert events.getMaxListeners(EventEmitter()) == 5
    with pytest.raises(InvalidArgTypeError):
        events.getMaxListeners(object())  # type: ignore[arg-type]
    assert EventEmitter.defaultMaxListeners == 5
    with pytest.raises(OutOfRangeError) as info:
        events.setMaxListeners(-1)
    assert 'The value of "setMaxListeners" is out of range' in str(info.value)
    with pytest.raises(InvalidArgTypeError) as info2:
        events.setMaxListeners(1, object())  # type: ignore[arg-type]
    assert '"eventTargets"' in str(info2.value)


# --- getEventListeners, errorMonitor, captureRejections -------------------


def test_get_event_listeners() -> None:
    # Node: a once listener comes back unwrapped; an unknown name gives [].
    em = EventEmitter()

    def f() -> None:
        pass

    em.once("y", f)
    assert events.getEventListeners(em, "y") == [f]
    assert events.get_event_listeners(em, "nope") == []
    signal = gnet.AbortController().signal
    signal.on("abort", f)
    assert events.getEventListeners(signal, "abort") == [f]
    with pytest.raises(InvalidArgTypeError) as info:
        events.getEventListeners(object(), "y")  # type: ignore[arg-type]
    assert '"emitter"' in str(info.value)


def test_error_monitor_sees_errors_first_and_does_not_handle_them() -> None:
    em = EventEmitter()
    log = []
    em.on(events.errorMonitor, lambda err: log.append(("monitor", str(err))))
    with pytest.raises(ValueError):
        em.emit("error", ValueError("a"))
    em.on("error", lambda err: log.append(("error", str(err))))
    em.emit("error", ValueError("b"))
    assert log == [("monitor", "a"), ("monitor", "b"), ("error", "b")]
    assert events.error_monitor is events.errorMonitor


def test_capture_rejections_is_refused_when_true() -> None:
    assert events.captureRejections is False
    events.captureRejections = False
    with pytest.raises(UnsupportedError) as info:
        events.captureRejections = True
    assert info.value.code == "ERR_GNET_UNSUPPORTED"
    with pytest.raises(UnsupportedError):
        EventEmitter({"captureRejections": True})
    EventEmitter({"captureRejections": False})
    with pytest.raises(InvalidArgTypeError):
        EventEmitter({"captureRejections": 1})
