"""Node's EventEmitter, and the ``events`` module's functions for greenlets.

Beside :class:`EventEmitter`: :func:`once` (block until an event),
:func:`on` (a blocking iterator over an event, Node's async iterator),
:func:`getEventListeners`, :func:`getMaxListeners`, :func:`setMaxListeners`,
:data:`errorMonitor`,
and the module attributes ``defaultMaxListeners`` (assigning it changes
the limit of every emitter without one of its own, existing ones included)
and ``captureRejections`` (False; True is refused: there are no promises).
``EventEmitter.once(emitter, name)`` and ``EventEmitter.on(emitter, name)``
read on the class are Node's static forms of :func:`once` and :func:`on`.

Theory of operation
-------------------
Every 'data' event of every socket goes through :meth:`EventEmitter.emit`,
so the emitter is built around a cheap emit:

* ``_events`` maps an event name to its one listener, or to an immutable
  tuple of two or more (as Node keeps a lone listener without an array: most
  events of most sockets have exactly one, and a 1-tuple per event is memory
  every idle connection would pay for). Adding or removing a listener builds
  a new tuple (copy-on-write), so ``emit`` can iterate the tuple it looked up
  without copying it, and a listener that adds or removes listeners during an
  emit cannot change that emit's dispatch (Node's snapshot rule comes for
  free).
* A name with no listeners has no key at all, so ``eventNames()`` is the
  dict's keys and ``emit`` needs one dict lookup to know there is nothing
  to do.
* ``once`` registrations are stored as :class:`_OnceWrapper` objects (Node's
  ``onceWrapper``): the wrapper removes itself, then calls the listener.
  ``listeners()`` unwraps them, ``rawListeners()`` does not.
* Only the 'error' event needs more than "call each listener": the
  ``errorMonitor`` listeners run first, and with no 'error' listener the
  error is raised. ``emit`` sends that event down a separate path so the
  common case stays a lookup, two tests and a loop.

Listeners are called with the event's arguments only. Node also binds
``this`` to the emitter; in Python a bound method or a closure does that job.
"""

from __future__ import annotations

import inspect
import math
import sys
import types
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from gevent import getcurrent
from gevent.event import Event
from gevent.exceptions import BlockingSwitchOutError
from gevent.hub import get_hub
from zope.interface import implementer

from gnet.errors import AbortError, InvalidArgTypeError, UnhandledErrorError, UnsupportedError
from gnet.interfaces import IEventEmitter
from gnet.naming import add_aliases, module_aliases
from gnet.validate import validate_bool, validate_function, validate_int, validate_number

if TYPE_CHECKING:
    from gnet.abort import AbortSignal

Listener = Callable[..., Any]
_F = TypeVar('_F', bound=Callable[..., Any])
_E = TypeVar('_E', bound='EventEmitter')

# Default for the ``listener`` argument, so that ``on('data')`` (decorator
# form) can be told apart from ``on('data', None)`` (a bad argument).
_MISSING: Any = object()


class _ErrorMonitor:
    """The type of :data:`errorMonitor`, only for a readable repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return 'gnet.events.errorMonitor'


errorMonitor: Final = _ErrorMonitor()
"""Event key whose listeners see every 'error' before the 'error' listeners.

Node's ``events.errorMonitor`` symbol. A listener on it observes errors
without handling them: an 'error' emitted with only ``errorMonitor``
listeners still raises.
"""


class MaxListenersExceededWarning(RuntimeWarning):
    """Warned when one event of one emitter gets more listeners than allowed.

    Node's ``MaxListenersExceededWarning`` process warning, issued through
    :func:`warnings.warn` once per emitter and event name. It signals a likely
    leak (listeners added in a loop and never removed); it never stops the
    listener from being added.

    Attributes:
        emitter: The emitter concerned.
        type: The event name (Node's attribute name).
        count: How many listeners the event had when the warning was issued.
    """

    def __init__(
        self,
        message: str,
        emitter: object = None,
        type: Hashable = None,  # Node's name for the attribute
        count: int = 0,
    ) -> None:
        super().__init__(message)
        self.emitter = emitter
        self.type = type
        self.count = count


class _OnceWrapper:
    """A ``once`` registration: removes itself, then runs the listener once.

    Node's ``onceWrapper``. The ``listener`` attribute is the user's function,
    which is how ``off(name, fn)`` and ``listeners()`` see through it.
    """

    __slots__ = ('emitter', 'fired', 'listener', 'name')

    def __init__(self, emitter: EventEmitter, name: Hashable, listener: Listener) -> None:
        self.emitter = emitter
        self.name = name
        self.listener = listener
        self.fired = False

    def __call__(self, *args: Any) -> Any:
        # Removed before the listener runs, so an emit of the same event from
        # inside the listener does not fire it again; `fired` guards a call
        # through a copy obtained from rawListeners().
        if self.fired:
            return None
        self.fired = True
        self.emitter.removeListener(self.name, self)
        return self.listener(*args)

    def __repr__(self) -> str:
        return f'<once wrapper of {self.listener!r}>'


def _matches(entry: Listener, listener: Listener) -> bool:
    # Node compares with ===. Equality rather than identity lets a bound
    # method registered as `obj.method` be removed with another `obj.method`
    # (a new bound-method object each time that compares equal).
    if entry == listener:
        return True
    return type(entry) is _OnceWrapper and entry.listener == listener


def _unhandled(args: tuple[Any, ...]) -> BaseException:
    # What an unhandled emit('error', *args) raises: the error itself, or
    # ERR_UNHANDLED_ERROR holding a non-exception value (omitted when there
    # was no argument at all, as Node's message then has no context).
    if args and isinstance(args[0], BaseException):
        return args[0]
    return UnhandledErrorError(*args[:1])


def _unwrap(entry: Listener) -> Listener:
    return entry.listener if type(entry) is _OnceWrapper else entry


_CO_COROUTINE: Final = inspect.CO_COROUTINE


def _is_coroutine_function(listener: Callable[..., Any]) -> bool:
    # An async def function, method or partial, or an object whose
    # __call__ is one. Listeners are added on every connection, so the
    # common case (a plain function or bound method that inspect has
    # nothing more to say about) is answered from its code flags and
    # inspect's coroutine mark (Python 3.12's markcoroutinefunction). Not
    # from ``__dict__``: reading it gives every function a dict, 64 bytes
    # for each listener of each connection.
    kind = type(listener)
    if kind is types.MethodType:
        listener = listener.__func__  # type: ignore[attr-defined]
        kind = type(listener)
    if kind is types.FunctionType:
        return bool(listener.__code__.co_flags & _CO_COROUTINE) or \
            getattr(listener, '_is_coroutine_marker', None) is not None
    if kind is types.BuiltinFunctionType:  # also bound C methods: never coroutines
        return False
    if inspect.iscoroutinefunction(listener):
        return True
    return not inspect.isroutine(listener) and inspect.iscoroutinefunction(
        type(listener).__call__)


@implementer(IEventEmitter)
class EventEmitter:
    """Node's ``EventEmitter``: named events with ordered listeners.

    Node's ``events.EventEmitter`` with the same methods and rules: listeners
    run synchronously in registration order; a function registered twice runs
    twice; 'newListener' is emitted before a listener is added and
    'removeListener' after one is removed; an 'error' with no listener
    raises; more than :attr:`defaultMaxListeners` listeners on one event gives
    one :class:`MaxListenersExceededWarning`.

    Differences from Node: listeners get the arguments only (no ``this``);
    listeners are matched for removal with ``==`` (so bound methods work)
    where Node uses ``===``; ``on``, ``addListener``, ``once``,
    ``prependListener`` and ``prependOnceListener`` called without a listener
    return a decorator; there is no ``captureRejections``. Every camelCase
    name also has its snake_case twin (``add_listener``, ``listener_count``),
    in subclasses too.

    ``addListener`` and ``off`` are the very functions ``on`` and
    ``removeListener`` (Node's aliases); a subclass that overrides one of a
    pair should rebind the other too (``off = removeListener``).

    Subclasses must call ``EventEmitter.__init__(self)``. The class uses
    ``__slots__``, so a subclass that declares its own ``__slots__`` keeps
    instances small; a subclass with a ``__dict__`` (for instance together
    with ``gevent.server.StreamServer``) works as well.

    Not thread-safe, like gevent: use an emitter from one OS thread.
    """

    __slots__ = ('_events', '_maxListeners', '_warned')

    _events: dict[Hashable, Listener | tuple[Listener, ...]]
    _maxListeners: float | None
    _warned: set[Hashable] | None

    defaultMaxListeners: float = 10
    """Listeners per event before the leak warning; Node's
    ``EventEmitter.defaultMaxListeners``. Read when a listener is added, so a
    change applies to existing emitters that did not call setMaxListeners."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        """Create an emitter with no listeners (Node's ``new EventEmitter([options])``).

        Args:
            options: Node's options; ``captureRejections`` may only be False
                (there are no promises to capture: listeners are plain
                functions), True raises ``UnsupportedError``.
        """
        if options is not None:
            if not isinstance(options, dict):
                raise InvalidArgTypeError('options', 'dict', options)
            _check_capture_rejections(options.get('captureRejections', False),
                                      'options.captureRejections')
        self._events = {}
        self._maxListeners = None
        self._warned = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        add_aliases(cls)

    # -- adding ------------------------------------------------------------

    def _add_listener(self, name: Hashable, listener: Listener, prepend: bool, once: bool) -> None:
        if not callable(listener):
            raise InvalidArgTypeError('listener', 'function', listener)
        if _is_coroutine_function(listener):
            # emit() would create the coroutine and drop it: the listener
            # would silently never run.
            raise InvalidArgTypeError(
                'listener', 'a plain function (an async def listener would never run; '
                'gnet listeners run in greenlets and may block cooperatively)', listener)
        events = self._events
        # Emitted before adding, so a listener added from inside a
        # 'newListener' listener for the same event ends up first.
        if 'newListener' in events:
            self.emit('newListener', name, listener)
        entry: Listener = _OnceWrapper(self, name, listener) if once else listener
        if name not in events:
            events[name] = entry
            return
        existing = self._entries(name)
        current = (entry, *existing) if prepend else (*existing, entry)
        events[name] = current
        limit = self._maxListeners
        if limit is None:
            limit = self.defaultMaxListeners
        if limit and len(current) > limit:
            self._warn_leak(name, len(current), limit)

    def _warn_leak(self, name: Hashable, count: int, limit: float) -> None:
        warned = self._warned
        if warned is None:
            warned = self._warned = set()
        elif name in warned:
            return
        warned.add(name)
        try:
            target = repr(self)
        except Exception:  # a broken __repr__ must not stop on()
            target = f'<{type(self).__name__}>'
        limit_text = int(limit) if float(limit).is_integer() else limit
        message = (
            f'Possible EventEmitter memory leak detected. {count} {name} listeners '
            f'added to {target}. MaxListeners is {limit_text}. '
            f'Use emitter.setMaxListeners() to increase limit'
        )
        # stacklevel 4: _warn_leak <- _add_listener <- on()/once()/... <- the caller.
        warnings.warn(MaxListenersExceededWarning(message, self, name, count), stacklevel=4)

    @overload
    def on(self: _E, name: Hashable, listener: Listener) -> _E: ...
    @overload
    def on(self, name: Hashable) -> Callable[[_F], _F]: ...

    def on(self, name: Hashable, listener: Any = _MISSING) -> Any:
        """Add ``listener`` at the end of the listeners of ``name``.

        Node's ``emitter.on(eventName, listener)`` / ``addListener``. No check
        is made for a listener already registered: adding it twice makes it
        run twice. Emits 'newListener' first if anyone listens to it.

        Called with the name only, returns a decorator that registers the
        decorated function and returns it unchanged (``@em.on('data')``);
        Node has no such form.

        Args:
            name: The event name, usually a str.
            listener: A callable taking the event's arguments.

        Returns:
            The emitter, for chaining; the decorator when ``listener`` is
            omitted.

        Raises:
            InvalidArgTypeError: ``listener`` is not callable.
        """
        if listener is _MISSING:
            return self._decorator(name, False, False)
        self._add_listener(name, listener, False, False)
        return self

    addListener = on

    @overload
    def once(self: _E, name: Hashable, listener: Listener) -> _E: ...
    @overload
    def once(self, name: Hashable) -> Callable[[_F], _F]: ...

    def once(self, name: Hashable, listener: Any = _MISSING) -> Any:
        """Add a listener that is removed the first time ``name`` fires.

        Node's ``emitter.once(eventName, listener)``. The registration is
        removed before the listener runs, so emitting ``name`` again from
        inside the listener does not run it twice. ``off(name, listener)``
        finds it by the original function. Works as a decorator when
        ``listener`` is omitted, like :meth:`on`.

        For a call that blocks until an event fires, see :func:`once`.

        Args:
            name: The event name.
            listener: A callable taking the event's arguments.

        Returns:
            The emitter; the decorator when ``listener`` is omitted.

        Raises:
            InvalidArgTypeError: ``listener`` is not callable.
        """
        if listener is _MISSING:
            return self._decorator(name, False, True)
        self._add_listener(name, listener, False, True)
        return self

    @overload
    def prependListener(self: _E, name: Hashable, listener: Listener) -> _E: ...
    @overload
    def prependListener(self, name: Hashable) -> Callable[[_F], _F]: ...

    def prependListener(self, name: Hashable, listener: Any = _MISSING) -> Any:
        """Add ``listener`` at the front of the listeners of ``name``.

        Node's ``emitter.prependListener(eventName, listener)``. Works as a
        decorator when ``listener`` is omitted, like :meth:`on`.

        Args:
            name: The event name.
            listener: A callable taking the event's arguments.

        Returns:
            The emitter; the decorator when ``listener`` is omitted.

        Raises:
            InvalidArgTypeError: ``listener`` is not callable.
        """
        if listener is _MISSING:
            return self._decorator(name, True, False)
        self._add_listener(name, listener, True, False)
        return self

    @overload
    def prependOnceListener(self: _E, name: Hashable, listener: Listener) -> _E: ...
    @overload
    def prependOnceListener(self, name: Hashable) -> Callable[[_F], _F]: ...

    def prependOnceListener(self, name: Hashable, listener: Any = _MISSING) -> Any:
        """Add a one-time listener at the front of the listeners of ``name``.

        Node's ``emitter.prependOnceListener(eventName, listener)``: the front
        position of :meth:`prependListener` with the one-shot rule of
        :meth:`once`. Works as a decorator when ``listener`` is omitted.

        Args:
            name: The event name.
            listener: A callable taking the event's arguments.

        Returns:
            The emitter; the decorator when ``listener`` is omitted.

        Raises:
            InvalidArgTypeError: ``listener`` is not callable.
        """
        if listener is _MISSING:
            return self._decorator(name, True, True)
        self._add_listener(name, listener, True, True)
        return self

    def _decorator(self, name: Hashable, prepend: bool, once: bool) -> Callable[[_F], _F]:
        def register(listener: _F) -> _F:
            self._add_listener(name, listener, prepend, once)
            return listener

        return register

    # -- removing ----------------------------------------------------------

    def removeListener(self: _E, name: Hashable, listener: Listener) -> _E:
        """Remove one registration of ``listener`` from ``name``.

        Node's ``emitter.removeListener(eventName, listener)`` / ``off``. At
        most one registration is removed per call: the most recently added
        one that matches. A ``once`` registration matches its original
        function. Emits 'removeListener' with the original function after the
        removal. A listener that is not registered is ignored. Removing during
        an emit does not stop the listener from running in that emit.

        Args:
            name: The event name.
            listener: The function given when the listener was added.

        Returns:
            The emitter, for chaining.

        Raises:
            InvalidArgTypeError: ``listener`` is not callable.
        """
        validate_function(listener, 'listener')
        events = self._events
        current = self._entries(name)
        if not current:
            return self
        for index in range(len(current) - 1, -1, -1):
            entry = current[index]
            if _matches(entry, listener):
                break
        else:
            return self
        if len(current) == 1:
            del events[name]
        elif len(current) == 2:
            events[name] = current[1 - index]
        else:
            events[name] = current[:index] + current[index + 1:]
        if 'removeListener' in events:
            self.emit('removeListener', name, _unwrap(entry))
        return self

    off = removeListener

    def removeAllListeners(self: _E, name: Hashable | None = None) -> _E:
        """Remove every listener of ``name``, or of every event.

        Node's ``emitter.removeAllListeners([eventName])``. When someone
        listens to 'removeListener', it is emitted for each listener removed
        (last added first), and with no ``name`` the 'removeListener'
        listeners themselves go last, as in Node.

        Args:
            name: The event name; ``None`` (the default) means all events.
                Node tells "no argument" from ``undefined``; here ``None``
                cannot be used as an event name for this method.

        Returns:
            The emitter, for chaining.
        """
        events = self._events
        if 'removeListener' not in events:
            if name is None:
                events.clear()
            else:
                events.pop(name, None)
            return self
        if name is None:
            for key in list(events):
                if key != 'removeListener':
                    self.removeAllListeners(key)
            self.removeAllListeners('removeListener')
            events.clear()
            return self
        for entry in reversed(self._entries(name)):
            self.removeListener(name, entry)
        return self

    # -- emitting ----------------------------------------------------------

    def emit(self, name: Hashable, *args: Any) -> bool:
        """Call every listener of ``name``, in order, with ``args``.

        Node's ``emitter.emit(eventName, ...args)``: synchronous, in the
        calling greenlet. The listeners are those registered when the emit
        starts; adding or removing during the emit changes later emits only.
        An exception from a listener propagates unchanged and the remaining
        listeners do not run.

        'error' is special: :data:`errorMonitor` listeners run first, then the
        'error' listeners; with no 'error' listener the error is raised.

        Args:
            name: The event name.
            *args: The arguments passed to each listener.

        Returns:
            True if the event had listeners, False otherwise.

        Raises:
            BaseException: ``args[0]`` of an unhandled 'error' when it is an
                exception instance.
            UnhandledErrorError: an unhandled 'error' whose argument is not an
                exception (Node's ERR_UNHANDLED_ERROR); ``.context`` holds it.
        """
        # The hot path: one lookup, one comparison (strs of different
        # lengths compare in a few ns), one loop over a tuple that
        # copy-on-write keeps stable, so no snapshot copy is needed. Testing
        # for 'error' before testing for "no listeners" keeps the
        # no-listener case (a paused socket's events, 'end' with nobody
        # listening) to two checks as well.
        listeners = self._events.get(name)
        if name == 'error':
            return self._emit_error(args)
        if listeners is None:
            return False
        if listeners.__class__ is tuple:
            for listener in listeners:
                listener(*args)
        else:
            listeners(*args)  # type: ignore[operator]
        return True

    def _emit_error(self, args: tuple[Any, ...]) -> bool:
        for listener in self._entries(errorMonitor):
            listener(*args)
        # Looked up after the monitors ran, as Node does.
        listeners = self._entries('error')
        if not listeners:
            raise _unhandled(args)
        for listener in listeners:
            listener(*args)
        return True

    # -- inspecting --------------------------------------------------------

    def listeners(self, name: Hashable) -> list[Listener]:
        """Return a copy of the listeners of ``name``, ``once`` ones unwrapped.

        Node's ``emitter.listeners(eventName)``.

        Args:
            name: The event name.

        Returns:
            A new list of the registered functions, in call order.
        """
        return [_unwrap(entry) for entry in self._entries(name)]

    def rawListeners(self, name: Hashable) -> list[Listener]:
        """Return a copy of the listeners of ``name`` with ``once`` wrappers.

        Node's ``emitter.rawListeners(eventName)``. Calling a wrapper runs
        its listener once and removes the registration; its ``listener``
        attribute is the original function.

        Args:
            name: The event name.

        Returns:
            A new list of the registered callables, in call order.
        """
        return list(self._entries(name))

    def listenerCount(self, name: Hashable, listener: Listener | None = None) -> int:
        """Return how many listeners ``name`` has.

        Node's ``emitter.listenerCount(eventName[, listener])``.

        Args:
            name: The event name.
            listener: If given, count only registrations of this function
                (``once`` registrations included).

        Returns:
            The number of registrations.
        """
        current = self._entries(name)
        if listener is None:
            return len(current)
        return sum(1 for entry in current if _matches(entry, listener))

    def _entries(self, name: Hashable) -> tuple[Listener, ...]:
        # The registrations of ``name`` as a tuple, whichever way they are kept.
        entries = self._events.get(name)
        if entries is None:
            return ()
        if isinstance(entries, tuple):
            return entries
        return (entries,)

    def eventNames(self) -> list[Hashable]:
        """Return the names of the events that have listeners.

        Node's ``emitter.eventNames()``, in the order the events first got a
        listener (since they last had none).

        Returns:
            A new list of event names.
        """
        return list(self._events)

    def setMaxListeners(self: _E, n: float) -> _E:
        """Set how many listeners one event may have before the leak warning.

        Node's ``emitter.setMaxListeners(n)``. ``0`` or ``math.inf`` means
        no limit. The warning is issued at most once per event name.

        Args:
            n: A non-negative number.

        Returns:
            The emitter, for chaining.

        Raises:
            InvalidArgTypeError: ``n`` is not a number (a bool is not).
            OutOfRangeError: ``n`` is negative or NaN.
        """
        if n != math.inf:
            n = validate_number(n, 'n', minimum=0)
        self._maxListeners = n
        return self

    def getMaxListeners(self) -> float:
        """Return the current listener limit.

        Node's ``emitter.getMaxListeners()``: the value given to
        :meth:`setMaxListeners`, else :attr:`defaultMaxListeners`.

        Returns:
            The limit; ``0`` or ``math.inf`` means none.
        """
        limit = self._maxListeners
        return self.defaultMaxListeners if limit is None else limit

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        default_max_listeners = defaultMaxListeners
        add_listener = addListener
        prepend_listener = prependListener
        prepend_once_listener = prependOnceListener
        remove_listener = removeListener
        remove_all_listeners = removeAllListeners
        raw_listeners = rawListeners
        listener_count = listenerCount
        event_names = eventNames
        set_max_listeners = setMaxListeners
        get_max_listeners = getMaxListeners
    # --- end of PEP 8 twins ---


add_aliases(EventEmitter)


def once(emitter: EventEmitter, name: Hashable, timeout: float | dict[str, Any] | None = None,
         signal: AbortSignal | None = None) -> tuple[Any, ...]:
    """Block the calling greenlet until ``emitter`` emits ``name``.

    The greenlet counterpart of Node's ``await events.once(emitter, name)``:
    instead of a promise of the argument array, the call waits cooperatively
    and returns the event's arguments as a tuple. Other greenlets keep
    running meanwhile. The listeners it adds are removed before it returns
    or raises, whatever the outcome.

    Args:
        emitter: The emitter to watch.
        name: The event to wait for.
        timeout: Milliseconds to wait at most; ``None`` (or ``math.inf``)
            waits for ever. Not in Node, whose ``once()`` takes an
            AbortSignal instead. Node's options dict (``{'signal': s}``) is
            accepted here too.
        signal: An :class:`~gnet.AbortSignal`: its abort ends the wait with
            an ``AbortError`` (``cause`` = the reason), as Node's
            ``{signal}`` option rejects the promise.

    Returns:
        The arguments the event was emitted with, e.g. ``()`` for 'connect'
        and ``(chunk,)`` for 'data'.

    Raises:
        BaseException: the error, when 'error' fires first (unless ``name``
            is 'error' itself).
        UnhandledErrorError: 'error' fired first with a value that is not an
            exception; ``.context`` holds it.
        TimeoutError: ``timeout`` ms passed without the event.
        AbortError: ``signal`` was aborted before the event, or already.
        BlockingSwitchOutError: called from the gevent hub (an event-loop
            callback), where nothing may block.
        InvalidArgTypeError: ``timeout`` is not a number.
        OutOfRangeError: ``timeout`` is negative or NaN.
    """
    if not isinstance(emitter, EventEmitter):
        raise InvalidArgTypeError('emitter', 'EventEmitter', emitter)
    if isinstance(timeout, dict):  # Node's once(emitter, name, {signal})
        if signal is None:
            signal = timeout.get('signal')
        timeout = None
    if signal is not None:
        from gnet.abort import validate_abort_signal  # gnet.abort imports this module

        validate_abort_signal(signal, 'options.signal')
        if signal.aborted:
            raise AbortError(cause=signal.reason)
    if timeout == math.inf:
        timeout = None
    elif timeout is not None:
        timeout = validate_number(timeout, 'timeout', minimum=0)
    if getcurrent() is get_hub():
        raise BlockingSwitchOutError(
            'gnet.events.once() blocks, so it cannot run in the gevent hub '
            '(an event-loop callback); call it from a greenlet'
        )

    done = Event()
    # (True, args) or (False, error): the first of the two events to fire.
    outcome: list[tuple[bool, Any]] = []

    def resolve(*args: Any) -> None:
        if name != 'error':
            emitter.removeListener('error', reject)
        if not outcome:
            outcome.append((True, args))
            done.set()

    def reject(*args: Any) -> None:
        emitter.removeListener(name, resolve)
        if not outcome:
            outcome.append((False, _unhandled(args)))
            done.set()

    def abort() -> None:
        emitter.removeListener(name, resolve)
        if name != 'error':
            emitter.removeListener('error', reject)
        if not outcome:
            assert signal is not None
            outcome.append((False, AbortError(cause=signal.reason)))
            done.set()

    emitter.once(name, resolve)
    if name != 'error':
        emitter.once('error', reject)
    if signal is not None:
        signal.once('abort', abort)
    try:
        done.wait(None if timeout is None else timeout / 1000)
    finally:
        # Also reached on timeout or when the greenlet is killed: never leave
        # a listener behind.
        emitter.removeListener(name, resolve)
        if name != 'error':
            emitter.removeListener('error', reject)
        if signal is not None:
            signal.removeListener('abort', abort)
    if not outcome:
        raise TimeoutError(f'Timed out after {timeout:g} ms waiting for the {name!r} event')
    ok, value = outcome[0]
    if ok:
        return value
    raise value


def _check_capture_rejections(value: object, name: str) -> None:
    validate_bool(value, name)
    if value:
        raise UnsupportedError(
            f'{name} = True',
            'gnet listeners are plain functions that return no promise to capture; '
            'handle errors inside the listener')


def _check_emitter(emitter: object, name: str = 'emitter') -> EventEmitter:
    if not isinstance(emitter, EventEmitter):
        raise InvalidArgTypeError(name, 'an instance of EventEmitter', emitter)
    return emitter


def getEventListeners(emitter: EventEmitter, name: Hashable) -> list[Listener]:
    """Return a copy of the listeners of ``name`` on ``emitter``.

    Node's ``events.getEventListeners(emitterOrTarget, eventName)``; for an
    :class:`EventEmitter` (an :class:`~gnet.AbortSignal` is one) it is
    ``emitter.listeners(name)``: ``once`` registrations unwrapped.

    Raises:
        InvalidArgTypeError: ``emitter`` is not an EventEmitter.
    """
    return _check_emitter(emitter).listeners(name)


def getMaxListeners(emitter: EventEmitter) -> float:
    """Return the leak-warning limit of ``emitter``.

    Node's ``events.getMaxListeners(emitterOrTarget)``:
    ``emitter.getMaxListeners()``, its own limit or the current
    ``defaultMaxListeners``.

    Raises:
        InvalidArgTypeError: ``emitter`` is not an EventEmitter.
    """
    return _check_emitter(emitter).getMaxListeners()


def _check_limit(n: object, name: str) -> float:
    if n == math.inf and not isinstance(n, bool):
        return math.inf
    return validate_number(n, name, minimum=0)


def setMaxListeners(n: float | None = None, *emitters: EventEmitter) -> None:
    """Set the leak-warning limit of ``emitters``, or the default for all.

    Node's ``events.setMaxListeners(n[, ...eventTargets])``: with emitters,
    calls ``setMaxListeners(n)`` on each; with none, sets
    :data:`defaultMaxListeners`, which every emitter without a limit of its
    own reads when a listener is added (existing ones included).

    Args:
        n: A non-negative number (``0`` or ``math.inf``: no limit); omitted,
            the current default.
        *emitters: Emitters to change.

    Raises:
        InvalidArgTypeError: ``n`` is not a number, or an emitter is not an
            EventEmitter.
        OutOfRangeError: ``n`` is negative or NaN.
    """
    limit = EventEmitter.defaultMaxListeners if n is None else _check_limit(n, 'setMaxListeners')
    if not emitters:
        EventEmitter.defaultMaxListeners = limit
        return
    for emitter in emitters:
        _check_emitter(emitter, 'eventTargets')
    for emitter in emitters:
        emitter.setMaxListeners(limit)


class _Iteration:
    """The state of one :func:`on` iteration, reachable from the emitter.

    The emitter's listeners hold this object, never the iterator the user
    holds, so dropping the iterator (a ``break`` out of a ``for``) lets it be
    collected, and its finalizer ends the iteration.
    """

    __slots__ = ('closers', 'done', 'emitter', 'error', 'high', 'low', 'name',
                 'paused', 'queue', 'signal', 'waiter', '__weakref__')

    def __init__(self, emitter: EventEmitter, name: Hashable, closers: tuple[Hashable, ...],
                 signal: Any, high: float, low: float) -> None:
        self.emitter = emitter
        self.name = name
        self.closers = closers
        self.signal = signal
        self.high = high
        self.low = low
        self.paused = False
        self.queue: deque[tuple[Any, ...]] = deque()
        self.error: BaseException | None = None
        self.done = False
        # Set when something happens; one Event serves every greenlet that
        # iterates (each re-checks the queue when woken).
        self.waiter = Event()

    def start(self) -> None:
        emitter = self.emitter
        emitter.on(self.name, self.push)
        if self.name != 'error':
            emitter.on('error', self.fail)
        for closer in self.closers:
            emitter.on(closer, self.finish)
        if self.signal is not None:
            self.signal.once('abort', self.abort)

    def push(self, *args: Any) -> None:
        if self.done:
            return
        self.queue.append(args)
        if len(self.queue) > self.high and not self.paused:
            pause = getattr(self.emitter, 'pause', None)
            if pause is not None:
                self.paused = True
                pause()
        self.wake()

    def fail(self, *args: Any) -> None:
        if not self.done:
            self.error = _unhandled(args)
            self.stop()

    def abort(self) -> None:
        if not self.done:
            self.error = AbortError(cause=self.signal.reason)
            self.queue.clear()  # Node: an abort rejects at once
            self.stop()

    def finish(self, *args: Any) -> None:
        self.stop()

    def wake(self) -> None:
        self.waiter.set()

    def stop(self) -> None:
        # Node's closeHandler: remove every listener; what is queued is still
        # delivered, then the error (if any), then the end.
        if self.done:
            return
        self.done = True
        emitter = self.emitter
        emitter.removeListener(self.name, self.push)
        if self.name != 'error':
            emitter.removeListener('error', self.fail)
        for closer in self.closers:
            emitter.removeListener(closer, self.finish)
        if self.signal is not None:
            self.signal.removeListener('abort', self.abort)
        self.wake()

    def next(self) -> tuple[Any, ...]:
        while True:
            if self.queue:
                args = self.queue.popleft()
                if self.paused and len(self.queue) < self.low:
                    self.paused = False
                    resume = getattr(self.emitter, 'resume', None)
                    if resume is not None:
                        resume()
                return args
            error = self.error
            if error is not None:
                self.error = None
                raise error
            if self.done:
                raise StopIteration
            if getcurrent() is get_hub():
                raise BlockingSwitchOutError(
                    'gnet.events.on() blocks, so it cannot be iterated in the gevent hub '
                    '(an event-loop callback); iterate it in a greenlet')
            waiter = self.waiter
            waiter.clear()
            waiter.wait()


class EventIterator:
    """What :func:`on` returns: an iterator of one event's argument tuples.

    ``next()`` returns the oldest queued event's arguments, blocking the
    calling greenlet cooperatively while none is queued. ``close()`` (also
    reached by ``with``, by ``break`` out of a ``for`` once the iterator is
    no longer referenced, and by garbage collection) removes the listeners;
    what was queued is dropped, as Node's ``return()``.
    """

    __slots__ = ('_state', '_finalizer', '__weakref__')

    def __init__(self, state: _Iteration) -> None:
        self._state = state
        self._finalizer = weakref.finalize(self, state.stop)

    def __iter__(self) -> EventIterator:
        return self

    def __next__(self) -> tuple[Any, ...]:
        return self._state.next()

    def close(self) -> None:
        """End the iteration: remove the listeners, drop what is queued.

        Node's ``iterator.return()``. Later ``next()`` calls raise
        ``StopIteration``.
        """
        state = self._state
        state.stop()
        state.queue.clear()
        state.error = None
        self._finalizer.detach()

    def __enter__(self) -> EventIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self._state
        status = 'closed' if state.done else 'open'
        return (f'<gnet.events.on {state.name!r} of {state.emitter!r}, {status}, '
                f'{len(state.queue)} queued>')


def on(emitter: EventEmitter, name: Hashable, options: dict[str, Any] | None = None,
       **kwargs: Any) -> EventIterator:
    """Iterate over the events ``name`` of ``emitter``, blocking between them.

    The greenlet counterpart of Node's ``for await (const args of
    events.on(emitter, name))``: each item is the tuple of one event's
    arguments. Listening starts at this call, so events emitted before the
    first ``next()`` are queued, not lost. ``next()`` blocks the calling
    greenlet cooperatively until an event comes. An 'error' emitted on the
    emitter ends the iteration: queued events come first, then ``next()``
    raises the error (not when ``name`` is 'error' itself: then errors are
    the items). Leaving the loop (``break``, an exception), ``close()``, or
    ``with events.on(...) as it:`` removes the listeners.

    Args:
        emitter: The emitter to listen on.
        name: The event to iterate.
        options: Node's options (or the same as keyword arguments):
            ``signal`` (an :class:`~gnet.AbortSignal`: its abort makes the
            next ``next()`` raise ``AbortError``), ``close`` (event names
            that end the iteration after what is queued),
            ``highWaterMark`` (``emitter.pause()`` is called, if it has
            one, once more events than this are queued) and
            ``lowWaterMark`` (``emitter.resume()`` follows once fewer are
            queued; 1 by default), as in Node.

    Returns:
        An :class:`EventIterator`.

    Raises:
        InvalidArgTypeError: ``emitter`` is not an EventEmitter, or a bad
            option.
        AbortError: ``signal`` is already aborted.
    """
    _check_emitter(emitter)
    opts = dict(options or {})
    opts.update(kwargs)
    signal = opts.get('signal')
    if signal is not None:
        from gnet.abort import validate_abort_signal  # gnet.abort imports this module

        validate_abort_signal(signal, 'options.signal')
        if signal.aborted:
            raise AbortError(cause=signal.reason)
    closers = opts.get('close') or ()
    if isinstance(closers, (str, bytes)) or not isinstance(closers, (list, tuple)):
        raise InvalidArgTypeError('options.close', 'a list of event names', closers)
    high = opts.get('highWaterMark')
    high = math.inf if high is None else validate_int(high, 'options.highWaterMark', 1)
    low = opts.get('lowWaterMark')
    low = 1 if low is None else validate_int(low, 'options.lowWaterMark', 1)
    state = _Iteration(emitter, name, tuple(closers), signal, high, low)
    state.start()
    return EventIterator(state)


class _StaticOrMethod:
    """A method that is also Node's static function when read on the class.

    ``EventEmitter.once(emitter, name)`` is Node's ``events.once`` (it
    waits); ``emitter.once(name, listener)`` and the decorator form
    ``emitter.once(name)`` stay the method. Read on the class with a
    listener given (``EventEmitter.once(self, name, fn)``, the way a
    subclass calls its base), it is the method too.
    """

    def __init__(self, method: Callable[..., Any], static: Callable[..., Any]) -> None:
        self.method = method
        self.static = static
        self.__doc__ = method.__doc__
        self.__name__ = method.__name__
        self.__qualname__ = method.__qualname__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        self.__qualname__ = f'{owner.__qualname__}.{name}'

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is not None:
            return self.method.__get__(obj, owner)
        method, static = self.method, self.static

        # A plain function, so that zope.interface sees the method's shape.
        def on_class(emitter: Any, name: Hashable, listener: Any = _MISSING,
                     *args: Any, **kwargs: Any) -> Any:
            if listener is _MISSING:
                if 'listener' in kwargs:
                    return method(emitter, name, **kwargs)
                return static(emitter, name, **kwargs)
            if callable(listener):
                return method(emitter, name, listener, *args, **kwargs)
            return static(emitter, name, listener, *args, **kwargs)

        # Documentation tools read the method's text and signature; the
        # static use is described at the end.
        on_class.__doc__ = (f'{method.__doc__}\n'
                            f'        Read on the class, ``EventEmitter.{self.__name__}(emitter, '
                            f'name)`` is Node\'s static form: :func:`{static.__name__}`.\n')
        on_class.__name__ = self.__name__
        on_class.__qualname__ = self.__qualname__
        on_class.__wrapped__ = method  # type: ignore[attr-defined]
        return on_class


if not TYPE_CHECKING:
    EventEmitter.once = _StaticOrMethod(EventEmitter.__dict__['once'], once)
    EventEmitter.on = _StaticOrMethod(EventEmitter.__dict__['on'], on)


class _EventsModule(types.ModuleType):
    """``gnet.events`` itself: module attributes that act when assigned.

    ``gnet.events.defaultMaxListeners = n`` changes the limit every emitter
    without its own reads (Node's ``events.defaultMaxListeners``, which is
    ``EventEmitter.defaultMaxListeners``); ``captureRejections`` may only be
    set to False.
    """

    @property
    def defaultMaxListeners(self) -> float:
        return EventEmitter.defaultMaxListeners

    @defaultMaxListeners.setter
    def defaultMaxListeners(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidArgTypeError('defaultMaxListeners', 'number', value)
        EventEmitter.defaultMaxListeners = _check_limit(value, 'defaultMaxListeners')

    default_max_listeners = defaultMaxListeners

    @property
    def captureRejections(self) -> bool:
        return False

    @captureRejections.setter
    def captureRejections(self, value: bool) -> None:
        _check_capture_rejections(value, 'events.captureRejections')

    capture_rejections = captureRejections


sys.modules[__name__].__class__ = _EventsModule

__all__ = (
    'EventEmitter',
    'EventIterator',
    'MaxListenersExceededWarning',
    'errorMonitor',
    'getEventListeners',
    'getMaxListeners',
    'on',
    'once',
    'setMaxListeners',
    *module_aliases(globals(), ('errorMonitor', 'getEventListeners', 'getMaxListeners',
                                'setMaxListeners')),
)

if TYPE_CHECKING:
    defaultMaxListeners: float
    default_max_listeners: float
    captureRejections: bool
    capture_rejections: bool

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    error_monitor = errorMonitor
    get_event_listeners = getEventListeners
    get_max_listeners = getMaxListeners
    set_max_listeners = setMaxListeners
# --- end of PEP 8 twins ---
