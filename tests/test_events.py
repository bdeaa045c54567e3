"""Tests for gnet.events: Node's EventEmitter rules and the greenlet once()."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gevent
import gevent.server
import pytest
from gevent.exceptions import BlockingSwitchOutError
from zope.interface.verify import verifyClass, verifyObject

from gnet import events
from gnet.errors import InvalidArgTypeError, OutOfRangeError, UnhandledErrorError
from gnet.events import EventEmitter, MaxListenersExceededWarning, errorMonitor, once
from gnet.interfaces import IEventEmitter
from gnet.naming import snake_case


class Recorder:
    """Listeners that note their calls in one shared list."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def make(self, tag: str) -> Any:
        def listener(*args: Any) -> None:
            self.calls.append((tag, *args))

        listener.__name__ = f'listener_{tag}'
        return listener


@pytest.fixture
def em() -> EventEmitter:
    return EventEmitter()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


# -- adding and emitting -------------------------------------------------------


def test_on_appends_in_order_and_passes_args(em: EventEmitter, rec: Recorder) -> None:
    em.on('data', rec.make('a'))
    em.on('data', rec.make('b'))
    em.emit('data', 1, 2)
    assert rec.calls == [('a', 1, 2), ('b', 1, 2)]


def test_add_methods_chain(em: EventEmitter) -> None:
    def fn() -> None:
        pass

    assert em.on('x', fn) is em
    assert em.addListener('x', fn) is em
    assert em.once('x', fn) is em
    assert em.prependListener('x', fn) is em
    assert em.prependOnceListener('x', fn) is em
    assert em.off('x', fn) is em
    assert em.removeListener('x', fn) is em
    assert em.removeAllListeners('x') is em
    assert em.removeAllListeners() is em
    assert em.setMaxListeners(3) is em


def test_add_listener_is_on(em: EventEmitter, rec: Recorder) -> None:
    em.addListener('x', rec.make('a'))
    assert em.emit('x') is True
    assert rec.calls == [('a',)]


def test_emit_returns_whether_a_listener_ran(em: EventEmitter) -> None:
    assert em.emit('data', b'x') is False
    em.on('data', lambda chunk: None)
    assert em.emit('data', b'x') is True
    assert em.emit('other') is False


def test_same_function_twice_fires_twice(em: EventEmitter, rec: Recorder) -> None:
    fn = rec.make('a')
    em.on('x', fn).on('x', fn)
    em.emit('x')
    assert rec.calls == [('a',), ('a',)]
    assert em.listenerCount('x') == 2


def test_listener_exception_propagates_and_stops_dispatch(em: EventEmitter, rec: Recorder) -> None:
    boom = KeyError('boom')

    def bad() -> None:
        raise boom

    em.on('x', bad).on('x', rec.make('after'))
    with pytest.raises(KeyError) as info:
        em.emit('x')
    assert info.value is boom
    assert rec.calls == []


def test_non_callable_listener_rejected(em: EventEmitter) -> None:
    methods: tuple[Any, ...] = (
        em.on, em.addListener, em.once, em.prependListener, em.prependOnceListener, em.off,
    )
    for method in methods:
        with pytest.raises(InvalidArgTypeError) as info:
            method('x', None)
        assert info.value.code == 'ERR_INVALID_ARG_TYPE'
        assert isinstance(info.value, TypeError)
        assert '"listener"' in str(info.value)
    with pytest.raises(InvalidArgTypeError):
        em.on('x', 42)  # type: ignore[call-overload]
    assert em.eventNames() == []


def test_non_str_event_names(em: EventEmitter, rec: Recorder) -> None:
    key = object()
    em.on(key, rec.make('obj')).on(7, rec.make('int'))
    assert em.emit(key, 'a') and em.emit(7)
    assert rec.calls == [('obj', 'a'), ('int',)]
    assert em.eventNames() == [key, 7]


# -- prepend -------------------------------------------------------------------


def test_prepend_listener_goes_first(em: EventEmitter, rec: Recorder) -> None:
    em.on('x', rec.make('a'))
    em.prependListener('x', rec.make('b'))
    em.prependListener('x', rec.make('c'))
    em.emit('x')
    assert rec.calls == [('c',), ('b',), ('a',)]


def test_prepend_once_listener_goes_first_and_fires_once(em: EventEmitter, rec: Recorder) -> None:
    em.on('x', rec.make('a'))
    em.prependOnceListener('x', rec.make('b'))
    em.emit('x')
    em.emit('x')
    assert rec.calls == [('b',), ('a',), ('a',)]


# -- once ----------------------------------------------------------------------


def test_once_fires_once(em: EventEmitter, rec: Recorder) -> None:
    em.once('x', rec.make('a'))
    assert em.emit('x', 1) is True
    assert em.emit('x', 2) is False
    assert rec.calls == [('a', 1)]
    assert em.eventNames() == []


def test_once_wrapper_removed_before_listener_runs(em: EventEmitter) -> None:
    seen: list[int] = []

    def listener() -> None:
        seen.append(em.listenerCount('x'))
        em.emit('x')  # must not re-enter this listener

    em.once('x', listener)
    em.emit('x')
    assert seen == [0]


def test_once_wrapper_called_directly_runs_once(em: EventEmitter, rec: Recorder) -> None:
    em.once('x', rec.make('a'))
    (wrapper,) = em.rawListeners('x')
    wrapper('direct')
    wrapper('again')
    assert rec.calls == [('a', 'direct')]
    assert em.listenerCount('x') == 0


# -- removal -------------------------------------------------------------------


def test_off_removes_the_most_recent_registration(em: EventEmitter, rec: Recorder) -> None:
    f, g = rec.make('f'), rec.make('g')
    em.on('x', f).on('x', g).on('x', f)
    em.off('x', f)
    assert em.listeners('x') == [f, g]


def test_off_removes_only_one_registration(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.on('x', f).on('x', f).on('x', f)
    em.off('x', f)
    assert em.listenerCount('x') == 2


def test_off_prefers_latest_over_once_wrapper(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.once('x', f).on('x', f)
    em.off('x', f)
    (raw,) = em.rawListeners('x')
    assert raw is not f
    assert raw.listener is f  # type: ignore[attr-defined]


def test_off_finds_once_wrapper_by_original(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.once('x', f)
    em.off('x', f)
    assert em.emit('x') is False
    assert rec.calls == []


def test_off_unknown_listener_is_ignored(em: EventEmitter, rec: Recorder) -> None:
    f, g = rec.make('f'), rec.make('g')
    em.on('x', f)
    assert em.off('x', g) is em
    assert em.off('nothing', g) is em
    assert em.listeners('x') == [f]


def test_off_matches_equal_bound_methods(em: EventEmitter) -> None:
    class Handler:
        def on_data(self, chunk: bytes) -> None:
            pass

    handler = Handler()
    em.on('data', handler.on_data)
    em.off('data', handler.on_data)  # a new, equal bound-method object
    assert em.listenerCount('data') == 0


def test_last_removal_drops_the_event_name(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.on('a', f).on('b', f)
    em.off('a', f)
    assert em.eventNames() == ['b']


def test_removal_during_emit_keeps_that_dispatch(em: EventEmitter, rec: Recorder) -> None:
    b = rec.make('b')

    def a() -> None:
        rec.calls.append(('a',))
        em.off('x', b)

    em.on('x', a).on('x', b)
    em.emit('x')
    assert rec.calls == [('a',), ('b',)]
    rec.calls.clear()
    em.emit('x')
    assert rec.calls == [('a',)]


def test_addition_during_emit_waits_for_next_emit(em: EventEmitter, rec: Recorder) -> None:
    c = rec.make('c')

    def a() -> None:
        rec.calls.append(('a',))
        if em.listenerCount('x', c) == 0:
            em.on('x', c)

    em.on('x', a)
    em.emit('x')
    assert rec.calls == [('a',)]
    em.emit('x')
    assert rec.calls == [('a',), ('a',), ('c',)]


def test_remove_all_listeners_of_one_event(em: EventEmitter, rec: Recorder) -> None:
    em.on('a', rec.make('a')).once('a', rec.make('a2')).on('b', rec.make('b'))
    em.removeAllListeners('a')
    assert em.eventNames() == ['b']
    assert em.emit('a') is False


def test_remove_all_listeners_of_every_event(em: EventEmitter, rec: Recorder) -> None:
    em.on('a', rec.make('a')).on('b', rec.make('b'))
    em.removeAllListeners()
    assert em.eventNames() == []


def test_remove_all_listeners_emits_remove_listener_lifo(em: EventEmitter, rec: Recorder) -> None:
    f, g, h = rec.make('f'), rec.make('g'), rec.make('h')
    removed: list[tuple[Any, Any]] = []

    def on_remove(name: Any, listener: Any) -> None:
        removed.append((name, listener))

    em.on('x', f).once('x', g).on('y', h)
    em.on('removeListener', on_remove)
    em.removeAllListeners('x')
    assert removed == [('x', g), ('x', f)]
    removed.clear()
    em.removeAllListeners()
    # Every other event first, the 'removeListener' listeners themselves last
    # (the last one is gone before it could hear of its own removal).
    assert removed == [('y', h)]
    assert em.eventNames() == []


# -- newListener / removeListener ----------------------------------------------


def test_new_listener_emitted_before_adding(em: EventEmitter) -> None:
    seen: list[tuple[Any, Any, int]] = []

    def fn() -> None:
        pass

    def on_new(name: Any, listener: Any) -> None:
        seen.append((name, listener, em.listenerCount(name)))

    em.on('newListener', on_new)
    em.on('x', fn)
    em.once('x', fn)  # reported with the original function, not the wrapper
    assert seen == [('x', fn, 0), ('x', fn, 1)]


def test_listener_added_in_new_listener_runs_first(em: EventEmitter, rec: Recorder) -> None:
    first = rec.make('first')

    def on_new(name: Any, listener: Any) -> None:
        if name == 'x' and listener is not first:
            em.on('x', first)

    em.on('newListener', on_new)
    em.on('x', rec.make('second'))
    em.emit('x')
    assert rec.calls == [('first',), ('second',)]


def test_remove_listener_emitted_after_removal(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    seen: list[tuple[Any, Any, int]] = []
    def on_remove(name: Any, listener: Any) -> None:
        seen.append((name, listener, em.listenerCount(name)))

    em.on('removeListener', on_remove)
    em.on('x', f).once('x', f)
    em.off('x', f)  # the once wrapper, reported as f
    em.off('x', f)
    assert seen == [('x', f, 1), ('x', f, 0)]


def test_once_firing_emits_remove_listener_with_original(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    seen: list[Any] = []
    em.on('removeListener', lambda name, listener: seen.append((name, listener)))
    em.once('x', f)
    em.emit('x')
    assert seen == [('x', f)]


# -- inspection ----------------------------------------------------------------


def test_listeners_returns_unwrapped_copy(em: EventEmitter, rec: Recorder) -> None:
    f, g = rec.make('f'), rec.make('g')
    em.on('x', f).once('x', g)
    got = em.listeners('x')
    assert got == [f, g]
    got.clear()
    assert em.listeners('x') == [f, g]
    assert em.listeners('none') == []


def test_raw_listeners_returns_once_wrappers(em: EventEmitter, rec: Recorder) -> None:
    f, g = rec.make('f'), rec.make('g')
    em.on('x', f).once('x', g)
    raw = em.rawListeners('x')
    assert raw[0] is f
    assert raw[1] is not g and raw[1].listener is g  # type: ignore[attr-defined]
    raw.clear()
    assert len(em.rawListeners('x')) == 2


def test_listener_count_with_filter(em: EventEmitter, rec: Recorder) -> None:
    f, g = rec.make('f'), rec.make('g')
    em.on('x', f).on('x', g).once('x', f)
    assert em.listenerCount('x') == 3
    assert em.listenerCount('x', f) == 2
    assert em.listenerCount('x', g) == 1
    assert em.listenerCount('x', rec.make('h')) == 0
    assert em.listenerCount('none') == 0


def test_event_names_in_registration_order(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.on('b', f).on('a', f).on('b', f)
    assert em.eventNames() == ['b', 'a']


# -- max listeners -------------------------------------------------------------


def test_max_listeners_default_and_set(em: EventEmitter) -> None:
    assert EventEmitter.defaultMaxListeners == 10
    assert em.getMaxListeners() == 10
    em.setMaxListeners(3)
    assert em.getMaxListeners() == 3
    em.setMaxListeners(math.inf)
    assert em.getMaxListeners() == math.inf


def test_max_listeners_follows_class_default(
    em: EventEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EventEmitter, 'defaultMaxListeners', 2)
    assert em.getMaxListeners() == 2
    em.on('x', print).on('x', print)
    with pytest.warns(MaxListenersExceededWarning):
        em.on('x', print)


def test_set_max_listeners_validates(em: EventEmitter) -> None:
    with pytest.raises(OutOfRangeError):
        em.setMaxListeners(-1)
    with pytest.raises(OutOfRangeError):
        em.setMaxListeners(math.nan)
    with pytest.raises(InvalidArgTypeError):
        em.setMaxListeners('5')  # type: ignore[arg-type]
    with pytest.raises(InvalidArgTypeError):
        em.setMaxListeners(True)
    assert em.getMaxListeners() == 10


def _add(em: EventEmitter, name: str, count: int) -> None:
    for _ in range(count):
        em.on(name, lambda *args: None)


def test_leak_warning_once_per_event() -> None:
    em = EventEmitter()
    _add(em, 'data', 10)  # the limit itself is fine (filterwarnings=error)
    with pytest.warns(MaxListenersExceededWarning) as record:
        _add(em, 'data', 1)
    assert len(record) == 1
    warning = record[0].message
    assert isinstance(warning, MaxListenersExceededWarning)
    assert isinstance(warning, RuntimeWarning)
    assert str(warning) == (
        f'Possible EventEmitter memory leak detected. 11 data listeners added to {em!r}. '
        'MaxListeners is 10. Use emitter.setMaxListeners() to increase limit'
    )
    assert (warning.emitter, warning.type, warning.count) == (em, 'data', 11)
    assert record[0].filename == __file__  # points at the code that added the listener
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        _add(em, 'data', 5)  # already warned for 'data'
    with pytest.warns(MaxListenersExceededWarning, match='11 end listeners'):
        _add(em, 'end', 11)
    with pytest.warns(MaxListenersExceededWarning, match='11 data listeners'):
        _add(EventEmitter(), 'data', 11)  # another emitter warns on its own


def test_leak_warning_for_once_and_prepend() -> None:
    em = EventEmitter().setMaxListeners(1)
    em.once('a', print)
    with pytest.warns(MaxListenersExceededWarning, match='MaxListeners is 1'):
        em.prependOnceListener('a', print)


@pytest.mark.parametrize('limit', [0, math.inf])
def test_zero_or_infinite_max_listeners_is_unlimited(limit: float) -> None:
    em = EventEmitter().setMaxListeners(limit)
    _add(em, 'data', 50)  # a warning would fail the test (filterwarnings=error)
    assert em.listenerCount('data') == 50


# -- error ---------------------------------------------------------------------


def test_error_without_listener_raises_the_error(em: EventEmitter) -> None:
    err = ConnectionResetError(104, 'read ECONNRESET')
    with pytest.raises(ConnectionResetError) as info:
        em.emit('error', err)
    assert info.value is err


def test_error_non_exception_is_wrapped(em: EventEmitter) -> None:
    with pytest.raises(UnhandledErrorError) as info:
        em.emit('error', 'bad thing')
    assert info.value.code == 'ERR_UNHANDLED_ERROR'
    assert info.value.context == 'bad thing'
    assert "'bad thing'" in str(info.value)
    with pytest.raises(UnhandledErrorError) as info:
        em.emit('error')
    assert info.value.context is None
    with pytest.raises(UnhandledErrorError) as info:
        em.emit('error', ValueError)  # a class is not an error instance
    assert info.value.context is ValueError


def test_error_with_listener_is_handled(em: EventEmitter) -> None:
    got: list[BaseException] = []
    err = OSError('x')
    em.on('error', got.append)
    assert em.emit('error', err) is True
    assert got == [err]


def test_error_monitor_runs_first_and_does_not_handle(em: EventEmitter) -> None:
    order: list[str] = []
    err = ValueError('v')
    em.on(errorMonitor, lambda e: order.append('monitor'))
    with pytest.raises(ValueError):
        em.emit('error', err)
    assert order == ['monitor']
    em.on('error', lambda e: order.append('error'))
    em.prependListener(errorMonitor, lambda e: order.append('monitor0'))
    assert em.emit('error', err) is True
    assert order == ['monitor', 'monitor0', 'monitor', 'error']


def test_error_monitor_on_other_events_is_plain(em: EventEmitter, rec: Recorder) -> None:
    em.on(errorMonitor, rec.make('m'))
    assert em.emit('data', 1) is False
    assert rec.calls == []
    assert events.error_monitor is errorMonitor  # type: ignore[attr-defined]


# -- decorators ----------------------------------------------------------------


def test_on_as_decorator(em: EventEmitter, rec: Recorder) -> None:
    @em.on('data')
    def handler(chunk: bytes) -> None:
        rec.calls.append(('h', chunk))

    assert callable(handler) and handler.__name__ == 'handler'
    assert em.listeners('data') == [handler]
    em.emit('data', b'1')
    em.emit('data', b'2')
    assert rec.calls == [('h', b'1'), ('h', b'2')]


def test_once_and_prepend_as_decorators(em: EventEmitter, rec: Recorder) -> None:
    em.on('x', rec.make('plain'))

    @em.once('x')
    def one(*args: Any) -> None:
        rec.calls.append(('once',))

    @em.prependListener('x')
    def front(*args: Any) -> None:
        rec.calls.append(('front',))

    @em.prependOnceListener('x')
    def front_once(*args: Any) -> None:
        rec.calls.append(('front_once',))

    @em.addListener('x')
    def last(*args: Any) -> None:
        rec.calls.append(('last',))

    assert em.listeners('x')[0] is front_once and one.__name__ == 'one'
    em.emit('x')
    em.emit('x')
    assert rec.calls == [
        ('front_once',), ('front',), ('plain',), ('once',), ('last',),
        ('front',), ('plain',), ('last',),
    ]


def test_decorator_validates(em: EventEmitter) -> None:
    with pytest.raises(InvalidArgTypeError):
        em.on('x')(None)  # type: ignore[type-var]


# -- PEP 8 twins, subclasses, interface ----------------------------------------


def test_every_camel_case_name_has_its_snake_twin() -> None:
    camel = [name for name in vars(EventEmitter) if name[:1].islower() and not name.islower()]
    assert {snake_case(name) for name in camel} >= {
        'add_listener', 'remove_listener', 'remove_all_listeners', 'listener_count',
        'prepend_listener', 'prepend_once_listener', 'set_max_listeners',
        'get_max_listeners', 'raw_listeners', 'event_names', 'default_max_listeners',
    }
    for name in camel:
        twin = snake_case(name)
        assert twin in vars(EventEmitter), twin
        assert getattr(EventEmitter, twin) == getattr(EventEmitter, name), twin


def test_snake_twins_work(em: EventEmitter, rec: Recorder) -> None:
    f = rec.make('f')
    em.add_listener('x', f).prepend_once_listener('x', f)  # type: ignore[attr-defined]
    assert em.listener_count('x', f) == 2  # type: ignore[attr-defined]
    assert em.event_names() == ['x']  # type: ignore[attr-defined]
    em.remove_all_listeners('x')  # type: ignore[attr-defined]
    assert em.set_max_listeners(4).get_max_listeners() == 4  # type: ignore[attr-defined]
    assert em.default_max_listeners == 10  # type: ignore[attr-defined]


def test_subclass_gets_twins_and_keeps_slots(rec: Recorder) -> None:
    class Sub(EventEmitter):
        __slots__ = ('extra',)

        def __init__(self) -> None:
            EventEmitter.__init__(self)
            self.extra = 1

        def setThing(self, value: int) -> Sub:
            self.extra = value
            return self

    sub = Sub()
    assert not hasattr(sub, '__dict__')
    assert sub.set_thing(5).extra == 5  # type: ignore[attr-defined]
    sub.on('x', rec.make('a'))
    sub.once('x', rec.make('b'))
    assert sub.emit('x') is True
    assert rec.calls == [('a',), ('b',)]
    verifyObject(IEventEmitter, sub)


def _no_handler(sock: Any, address: Any) -> None:
    pass


def test_stream_server_mixin_works(rec: Recorder) -> None:
    class S(gevent.server.StreamServer, EventEmitter):
        def __init__(self) -> None:
            gevent.server.StreamServer.__init__(self, ('127.0.0.1', 0), handle=_no_handler)
            EventEmitter.__init__(self)

        def getThing(self) -> int:
            return 1

    server = S()
    assert hasattr(server, '__dict__')
    server.custom = 'ok'
    server.on('connection', rec.make('c'))
    assert server.emit('connection', 'sock') is True
    assert rec.calls == [('c', 'sock')]
    assert server.get_thing() == 1
    assert server.listener_count('connection') == 1
    verifyObject(IEventEmitter, server)


def test_emitter_provides_its_interface(em: EventEmitter) -> None:
    assert verifyClass(IEventEmitter, EventEmitter)
    assert verifyObject(IEventEmitter, em)


# -- once() --------------------------------------------------------------------


def test_once_function_returns_args(em: EventEmitter) -> None:
    gevent.spawn(em.emit, 'data', b'chunk', 2)
    assert once(em, 'data') == (b'chunk', 2)
    gevent.spawn(em.emit, 'connect')
    assert once(em, 'connect') == ()
    assert em.eventNames() == []


def test_once_function_from_hub_callback_emit(em: EventEmitter) -> None:
    gevent.get_hub().loop.run_callback(em.emit, 'ready', 1)
    assert once(em, 'ready', timeout=5000) == (1,)
    assert em.eventNames() == []


def test_once_function_error_first_raises(em: EventEmitter) -> None:
    err = ConnectionRefusedError(111, 'connect ECONNREFUSED')

    def fail() -> None:
        em.emit('error', err)
        em.emit('connect')

    gevent.spawn(fail)
    with pytest.raises(ConnectionRefusedError) as info:
        once(em, 'connect')
    assert info.value is err
    assert em.eventNames() == []


def test_once_function_error_non_exception(em: EventEmitter) -> None:
    gevent.spawn(em.emit, 'error', 42)
    with pytest.raises(UnhandledErrorError) as info:
        once(em, 'connect')
    assert info.value.context == 42


def test_once_function_event_first_ignores_later_error(em: EventEmitter) -> None:
    got: list[Any] = []
    em.on('error', got.append)  # so the later emit is handled

    def both() -> None:
        em.emit('connect', 'ok')
        em.emit('error', OSError('late'))

    gevent.spawn(both)
    assert once(em, 'connect') == ('ok',)
    assert len(got) == 1
    assert em.listenerCount('error') == 1
    assert em.listenerCount('connect') == 0


def test_once_function_for_error_itself(em: EventEmitter) -> None:
    err = OSError('e')
    gevent.spawn(em.emit, 'error', err)
    assert once(em, 'error') == (err,)
    assert em.eventNames() == []


def test_once_function_timeout(em: EventEmitter) -> None:
    with pytest.raises(TimeoutError) as info:
        once(em, 'connect', timeout=20)
    assert "'connect'" in str(info.value) and '20 ms' in str(info.value)
    assert em.eventNames() == []


def test_once_function_timeout_validated(em: EventEmitter) -> None:
    with pytest.raises(OutOfRangeError):
        once(em, 'x', timeout=-1)
    with pytest.raises(InvalidArgTypeError):
        once(em, 'x', timeout='1')  # type: ignore[arg-type]
    assert em.eventNames() == []


def test_once_function_cleans_up_when_killed(em: EventEmitter) -> None:
    waiter = gevent.spawn(once, em, 'never')
    gevent.sleep(0)
    assert em.listenerCount('never') == 1 and em.listenerCount('error') == 1
    waiter.kill()
    assert em.eventNames() == []


def test_once_function_refuses_the_hub(em: EventEmitter) -> None:
    caught: list[BaseException] = []

    def in_hub() -> None:
        try:
            once(em, 'x')
        except BlockingSwitchOutError as exc:
            caught.append(exc)

    gevent.get_hub().loop.run_callback(in_hub)
    gevent.sleep(0.01)
    assert len(caught) == 1 and 'greenlet' in str(caught[0])
    assert em.eventNames() == []
