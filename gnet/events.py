"""Node's EventEmitter, and ``once()`` for greenlets.

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
import warnings
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from gevent import getcurrent
from gevent.event import Event
from gevent.exceptions import BlockingSwitchOutError
from gevent.hub import get_hub
from zope.interface import implementer

from gnet.errors import AbortError, InvalidArgTypeError, UnhandledErrorError
from gnet.interfaces import IEventEmitter
from gnet.naming import add_aliases, module_aliases
from gnet.validate import validate_function, validate_number

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


def _is_coroutine_function(listener: Callable[..., Any]) -> bool:
    # An async def function, method or partial, or an object whose
    # __call__ is one.
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

    def __init__(self) -> None:
        """Create an emitter with no listeners (Node's ``new EventEmitter()``)."""
        self._events = {}
        self._maxListeners = None
        self._warned = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        add_aliases(cls)

    # -- adding ------------------------------------------------------------

    def _add_listener(self, name: Hashable, listener: Listener, prepend: bool, once: bool) -> None:
        validate_function(listener, 'listener')
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


__all__ = (
    'EventEmitter',
    'MaxListenersExceededWarning',
    'errorMonitor',
    'once',
    *module_aliases(globals(), ('errorMonitor',)),
)

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    error_monitor = errorMonitor
# --- end of PEP 8 twins ---
