"""Cancellation as in Node: ``AbortController`` and ``AbortSignal``.

Theory of operation
-------------------
An :class:`AbortController` owns one :class:`AbortSignal` and is the only
way to fire it by hand: ``controller.abort(reason)``. Whoever accepts a
``signal`` (``server.listen``, ``net.connect``/``Socket``,
``gnet.events.once``, ``gnet.pipeline``) watches it and gives up its work
when it fires: the server closes, the socket is destroyed with an
:class:`~gnet.errors.AbortError` whose ``cause`` is the reason, the waiting
greenlet gets that error raised. A signal fires at most once; its
``reason`` never changes afterwards.

A signal is an :class:`~gnet.events.EventEmitter`: 'abort' listeners are
added with ``on('abort', fn)`` (or ``addEventListener('abort', fn)``, the
spelling of Node's EventTarget) and run synchronously inside ``abort()``,
after the ``onabort`` attribute's function if one is set. They get no
argument (Node passes an Event object).

Three signals fire on their own:

* ``AbortSignal.abort(reason)`` is born aborted.
* ``AbortSignal.timeout(ms)`` fires from a gnet timer after ``ms``
  milliseconds, with an :class:`~gnet.errors.AbortTimeoutError`. The timer is
  unref'd, as Node's: a pending timeout signal never keeps ``gnet.run()``
  alive by itself.
* ``AbortSignal.any(signals)`` fires when the first of ``signals`` does,
  with its reason (an ``any()`` of ``any()`` signals listens to their
  sources directly). Its sources hold it in a plain ordered dict (not as 'abort'
  listeners, so no max-listeners warning however many are combined) until
  it fires; then it leaves every source's set.

Consumers use :func:`add_abort_listener`, which returns the function that
removes the listener again, so a server or socket that finishes first does
not stay in a long-lived signal's listener list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gnet.errors import (
    AbortError,
    AbortTimeoutError,
    IllegalConstructorError,
    InvalidArgTypeError,
)
from gnet.events import EventEmitter
from gnet.loop import Timeout, setTimeout
from gnet.naming import add_aliases
from gnet.validate import validate_function, validate_int

__all__ = ("AbortController", "AbortSignal", "add_abort_listener", "validate_abort_signal")

# Node validates the delay as an unsigned 32-bit integer.
_UINT32_MAX = 2**32 - 1


class AbortSignal(EventEmitter):
    """Node's ``AbortSignal``: tells whoever holds it that an operation is cancelled.

    Get one from ``AbortController().signal``, ``AbortSignal.abort()``,
    ``AbortSignal.timeout(ms)`` or ``AbortSignal.any(signals)``; calling
    ``AbortSignal()`` raises ``IllegalConstructorError`` as in Node.

    Differences from Node: it is an EventEmitter rather than an EventTarget;
    'abort' listeners (and ``onabort``) are called with no argument;
    ``onabort`` runs before every 'abort' listener wherever it was set; a
    reason of ``None`` counts as no reason (Python has one ``None`` for
    JavaScript's ``undefined`` and ``null``).
    """

    __slots__ = ("_aborted", "_dependents", "_onabort", "_reason", "_sources", "_timer")

    _aborted: bool
    _reason: Any
    _onabort: Callable[..., Any] | None
    _timer: Timeout | None
    # AbortSignal.any(): the combined signals this one feeds, and the
    # sources a combined signal listens to.
    _dependents: dict[AbortSignal, None] | None  # ordered: listeners run in any() order
    _sources: tuple[AbortSignal, ...]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Refuse, as Node does: signals come from controllers and static methods."""
        raise IllegalConstructorError()

    @classmethod
    def _new(cls) -> AbortSignal:
        self = cls.__new__(cls)
        EventEmitter.__init__(self)
        self._aborted = False
        self._reason = None
        self._onabort = None
        self._timer = None
        self._dependents = None
        self._sources = ()
        return self

    # -- state ---------------------------------------------------------------

    @property
    def aborted(self) -> bool:
        """Whether the signal has fired."""
        return self._aborted

    @property
    def reason(self) -> Any:
        """Why it fired (any value); ``None`` until then."""
        return self._reason

    @property
    def onabort(self) -> Callable[..., Any] | None:
        """Called with no argument when the signal fires, before 'abort' listeners."""
        return self._onabort

    @onabort.setter
    def onabort(self, handler: Callable[..., Any] | None) -> None:
        # Node ignores a non-function assigned to an event handler attribute
        # (it reads back as null).
        self._onabort = handler if callable(handler) else None

    def throwIfAborted(self) -> None:
        """Raise the reason if the signal has fired (Node's ``signal.throwIfAborted()``).

        Raises:
            BaseException: the reason, when it is an exception.
            AbortError: when the reason is not an exception (Python can only
                raise exceptions; Node throws the bare value): the reason is
                its ``cause``.
        """
        if not self._aborted:
            return
        reason = self._reason
        if isinstance(reason, BaseException):
            raise reason
        raise AbortError(cause=reason)

    def addEventListener(self, name: Any, listener: Callable[..., Any],
                         options: Any = None) -> None:
        """EventTarget's spelling of ``on(name, listener)``; ``{'once': True}`` works.

        Unlike EventTarget, adding the same function twice makes it run twice
        (EventEmitter's rule).
        """
        if isinstance(options, dict) and options.get("once"):
            self.once(name, listener)
        else:
            self.on(name, listener)

    def removeEventListener(self, name: Any, listener: Callable[..., Any],
                            options: Any = None) -> None:
        """EventTarget's spelling of ``removeListener(name, listener)``."""
        self.removeListener(name, listener)

    # -- firing --------------------------------------------------------------

    def _abort(self, reason: Any) -> None:
        if self._aborted:
            return
        self._aborted = True
        self._reason = AbortError("This operation was aborted") if reason is None else reason
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.close()
        for source in self._sources:
            if source._dependents is not None:
                source._dependents.pop(self, None)
        self._sources = ()
        # The dependents are marked aborted before any listener runs, as the
        # DOM's "signal abort" does, so a listener sees a consistent state.
        dependents = self._dependents
        self._dependents = None
        if dependents:
            for dependent in dependents:
                dependent._mark(self._reason)
        # A listener that raises must not keep the dependents' listeners
        # from running: the first error comes out once all have run.
        error: BaseException | None = None
        for signal in (self, *(dependents or ())):
            try:
                signal._fire()
            except Exception as exc:
                if error is None:
                    error = exc
        if error is not None:
            raise error

    def _mark(self, reason: Any) -> None:
        # An any() signal whose source fired: aborted now, listeners later.
        self._aborted = True
        self._reason = reason
        for source in self._sources:
            if source._dependents is not None:
                source._dependents.pop(self, None)
        self._sources = ()

    def _fire(self) -> None:
        handler = self._onabort
        if handler is not None:
            handler()
        self.emit("abort")

    # -- static constructors -------------------------------------------------

    @staticmethod
    def abort(reason: Any = None) -> AbortSignal:
        """A signal that has already fired (Node's ``AbortSignal.abort([reason])``).

        Args:
            reason: Its reason; ``None`` gives an ``AbortError`` ('This
                operation was aborted').
        """
        signal = AbortSignal._new()
        signal._aborted = True
        signal._reason = AbortError("This operation was aborted") if reason is None else reason
        return signal

    @staticmethod
    def timeout(ms: float) -> AbortSignal:
        """A signal that fires after ``ms`` milliseconds (Node's ``AbortSignal.timeout``).

        Its reason is an :class:`~gnet.errors.AbortTimeoutError` ('The
        operation was aborted due to timeout'). The timer does not keep
        ``gnet.run()`` alive, as in Node.

        Raises:
            InvalidArgTypeError: ``ms`` is not a number.
            OutOfRangeError: ``ms`` is not an integer from 0 to 2**32-1.
        """
        delay = validate_int(ms, "delay", 0, _UINT32_MAX)
        signal = AbortSignal._new()

        def fire() -> None:
            signal._timer = None
            signal._abort(AbortTimeoutError())

        signal._timer = setTimeout(fire, delay).unref()
        return signal

    @staticmethod
    def any(signals: Any) -> AbortSignal:
        """A signal that fires with the first of ``signals`` (Node's ``AbortSignal.any``).

        Already aborted when one of them is, with the first such one's reason.

        Raises:
            InvalidArgTypeError: ``signals`` is not iterable (a string does
                not count), or holds something that is not an AbortSignal.
        """
        if isinstance(signals, (str, bytes)) or not isinstance(signals, Iterable):
            raise InvalidArgTypeError("signals", "an iterable of AbortSignal", signals)
        signals = list(signals)
        for i, source in enumerate(signals):
            validate_abort_signal(source, f"signals[{i}]")
        combined = AbortSignal._new()
        for source in signals:
            if source._aborted:
                combined._aborted = True
                combined._reason = source._reason
                return combined
        # A combined signal fires only through its own sources, so listening
        # to those instead keeps any() of any() one level deep, as in Node.
        sources = tuple(dict.fromkeys(
            inner for source in signals for inner in (source._sources or (source,))))
        combined._sources = sources
        for source in sources:
            if source._dependents is None:
                source._dependents = {}
            source._dependents[combined] = None
        return combined

    def __repr__(self) -> str:
        return f"<gnet AbortSignal aborted={self._aborted}>"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        throw_if_aborted = throwIfAborted
        add_event_listener = addEventListener
        remove_event_listener = removeEventListener
    # --- end of PEP 8 twins ---


class AbortController:
    """Node's ``AbortController``: owns a signal and fires it with :meth:`abort`."""

    __slots__ = ("_signal",)

    def __init__(self) -> None:
        """Create a controller with a new, unfired signal."""
        self._signal = AbortSignal._new()

    @property
    def signal(self) -> AbortSignal:
        """The controller's :class:`AbortSignal`."""
        return self._signal

    def abort(self, reason: Any = None) -> None:
        """Fire the signal (Node's ``controller.abort([reason])``); later calls do nothing.

        The 'abort' listeners run before this returns, and an exception one
        of them raises comes out of this call.

        Args:
            reason: Why; ``None`` gives an ``AbortError`` ('This operation
                was aborted'), Node's default reason.
        """
        self._signal._abort(reason)

    def __repr__(self) -> str:
        return f"<gnet AbortController aborted={self._signal._aborted}>"


add_aliases(AbortController)


def validate_abort_signal(value: object, name: str) -> AbortSignal:
    """Check that ``value`` is an AbortSignal (Node's ``validateAbortSignal``).

    Raises:
        InvalidArgTypeError: it is not.
    """
    if not isinstance(value, AbortSignal):
        raise InvalidArgTypeError(name, "an instance of AbortSignal", value)
    return value


def add_abort_listener(signal: AbortSignal, listener: Callable[[], Any]) -> Callable[[], None]:
    """Call ``listener()`` once when ``signal`` fires; return what undoes it.

    Node's ``events.addAbortListener``, with a plain function in place of
    the Disposable. A signal that has already fired does not call it: the
    caller checks ``signal.aborted`` first, and acts at once as it sees fit.
    """
    validate_function(listener, "listener")
    signal.once("abort", listener)

    def dispose() -> None:
        signal.removeListener("abort", listener)

    return dispose
