"""The life of a stream socket, as data: four tracks and one transition table.

Theory of operation
-------------------
A Node stream socket is four small state machines that move independently:

``phase`` (the connection)::

    NEW --connect--> CONNECTING --open--> OPEN --release--> CLOSED
     '-------------------open-------------^
    (accepted sockets and sockets made from a descriptor open from NEW;
    a socket that never connected stays NEW when it is released)

``read`` (the readable side)::

    READING --eof--> EOF --end--> ENDED
    (eof: the peer's FIN was read; end: 'end' was emitted)

``write`` (the writable side)::

    WRITING --ending--> ENDING --fin--> FIN_SENT --finish--> FINISHED
    (ending: end() was called; fin: everything queued went out and FIN was
    sent; finish: 'finish' was emitted)

``teardown``::

    ALIVE --destroy--> DESTROYED --close--> CLOSE_EMITTED

A position on the four tracks is a :class:`Lifecycle` value, and values
are immutable: an event is a method that returns the next value
(``life = life.fin()``, or ``life.apply('fin')``). An event the current
state does not allow raises :class:`StateError` instead of being silently
skipped, so a socket that emitted 'end' twice, or 'finish' before its FIN,
fails loudly in the tests. What Node shows (``readyState``, ``destroyed``,
``readable``, ``writable``) and when a socket closes itself (autoDestroy:
both sides done) are read off these tracks by the properties below, in one
place.

There are only 144 positions (4 x 3 x 4 x 3), so each exists once, made at
import with its successor for every event: ``Lifecycle()`` is the start,
and a transition is a tuple lookup. A connection holds a reference to a
shared value instead of an object of its own (64 bytes less for each of
thousands of idle connections), and a reconnect (Node lets a destroyed
socket ``connect()`` again) starts from ``Lifecycle()``: nothing is reset by
hand.

The table is the only place the rules are written: the successors are
computed from it, and each event's method is made from it once.

This module knows no socket, no loop and no kernel: tests drive it alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

__all__ = (
    "ALIVE", "CLOSED", "CLOSE_EMITTED", "CONNECTING", "DESTROYED", "ENDED", "ENDING", "EOF",
    "FINISHED", "FIN_SENT", "NEW", "OPEN", "READING", "TRANSITIONS", "WRITING", "Lifecycle",
    "StateError",
)

# phase
NEW, CONNECTING, OPEN, CLOSED = range(4)
# read
READING, EOF, ENDED = range(3)
# write (0 while writes are accepted: ``if life.write`` means "ending or later")
WRITING, ENDING, FIN_SENT, FINISHED = range(4)
# teardown (0 while alive: ``if life.teardown`` means "destroyed")
ALIVE, DESTROYED, CLOSE_EMITTED = range(3)

_NAMES = {
    "phase": ("NEW", "CONNECTING", "OPEN", "CLOSED"),
    "read": ("READING", "EOF", "ENDED"),
    "write": ("WRITING", "ENDING", "FIN_SENT", "FINISHED"),
    "teardown": ("ALIVE", "DESTROYED", "CLOSE_EMITTED"),
}

#: event -> (track, {state before: state after}); anything else is illegal.
TRANSITIONS: dict[str, tuple[str, dict[int, int]]] = {
    "connect": ("phase", {NEW: CONNECTING}),
    "open": ("phase", {NEW: OPEN, CONNECTING: OPEN}),
    "release": ("phase", {NEW: NEW, CONNECTING: CLOSED, OPEN: CLOSED}),
    "eof": ("read", {READING: EOF}),
    "end": ("read", {EOF: ENDED}),
    "ending": ("write", {WRITING: ENDING}),
    "fin": ("write", {ENDING: FIN_SENT}),
    "finish": ("write", {FIN_SENT: FINISHED}),
    "destroy": ("teardown", {ALIVE: DESTROYED}),
    "close": ("teardown", {DESTROYED: CLOSE_EMITTED}),
}


class StateError(RuntimeError):
    """An event the socket's current state does not allow: a bug in gnet, never user input."""

    def __init__(self, event: str, track: str, state: int) -> None:
        super().__init__(f"{event!r} is not allowed while {track} is {_NAMES[track][state]}")
        self.event = event
        self.track = track
        self.state = state


_TRACKS = ("phase", "read", "write", "teardown")


class Lifecycle:
    """One position on the four tracks (see the module docstring): immutable, one of 144."""

    __slots__ = ("phase", "read", "write", "teardown", "_next")

    phase: int
    read: int
    write: int
    teardown: int
    # The position each event leads to, in TRANSITIONS order; None: not allowed.
    _next: tuple[Lifecycle | None, ...]

    def __new__(cls, phase: int = NEW, read: int = READING, write: int = WRITING,
                teardown: int = ALIVE) -> Lifecycle:
        try:
            return _STATES[phase, read, write, teardown]
        except KeyError:
            position = (phase, read, write, teardown)
            raise ValueError(f"no such lifecycle position: {position}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Lifecycle positions are immutable (set {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Lifecycle, (self.phase, self.read, self.write, self.teardown))

    # One method per event of TRANSITIONS, made by _event() below, each
    # returning the next position: connect, open, release, eof, end,
    # ending, fin, finish, destroy, close.
    connect: Callable[[], Lifecycle]
    open: Callable[[], Lifecycle]
    release: Callable[[], Lifecycle]
    eof: Callable[[], Lifecycle]
    end: Callable[[], Lifecycle]
    ending: Callable[[], Lifecycle]
    fin: Callable[[], Lifecycle]
    finish: Callable[[], Lifecycle]
    destroy: Callable[[], Lifecycle]
    close: Callable[[], Lifecycle]

    def apply(self, event: str) -> Lifecycle:
        """The position ``event`` leads to; raise :class:`StateError` if not allowed."""
        if event not in TRANSITIONS:
            raise KeyError(event)
        result: Lifecycle = getattr(self, event)()
        return result

    @property
    def destroyed(self) -> bool:
        """destroy() ran (or an error or a full close did it)."""
        return self.teardown != ALIVE

    @property
    def readable(self) -> bool:
        """'data' and 'end' may still come."""
        return self.teardown == ALIVE and self.read != ENDED

    @property
    def writable(self) -> bool:
        """write() is still accepted."""
        return self.teardown == ALIVE and self.write == WRITING

    @property
    def done(self) -> bool:
        """Both sides are through ('end' and 'finish' emitted): Node's autoDestroy closes now."""
        return self.read == ENDED and self.write == FINISHED

    @property
    def ready_state(self) -> str:
        """Node's ``readyState``: 'opening', 'open', 'readOnly', 'writeOnly' or 'closed'."""
        if self.phase == CONNECTING:
            return "opening"
        readable, writable = self.readable, self.writable
        if readable and writable:
            return "open"
        if readable:
            return "readOnly"
        if writable:
            return "writeOnly"
        return "closed"

    def __repr__(self) -> str:
        parts = (_NAMES[track][getattr(self, track)] for track in _TRACKS)
        return f"<Lifecycle {' '.join(parts)}>"


def _event(index: int, event: str, track: str) -> Callable[[Lifecycle], Lifecycle]:
    """The method that applies ``event``: the successor found at import, or StateError."""
    def method(self: Lifecycle) -> Lifecycle:
        after = self._next[index]
        if after is None:
            raise StateError(event, track, getattr(self, track))
        return after
    method.__name__ = event
    method.__qualname__ = f"Lifecycle.{event}"
    method.__doc__ = f"The position after {event!r} on the {track} track (see TRANSITIONS)."
    return method


def _positions() -> dict[tuple[int, ...], Lifecycle]:
    """Every position once, each with its successor for every event of the table."""
    states: dict[tuple[int, ...], Lifecycle] = {}
    for key in itertools.product(*(range(len(_NAMES[track])) for track in _TRACKS)):
        life = object.__new__(Lifecycle)
        for track, value in zip(_TRACKS, key, strict=True):
            object.__setattr__(life, track, value)
        states[key] = life
    for key, life in states.items():
        successors: list[Lifecycle | None] = []
        for track, table in TRANSITIONS.values():
            i = _TRACKS.index(track)
            after = table.get(key[i])
            if after is None:
                successors.append(None)
            else:
                moved = list(key)
                moved[i] = after
                successors.append(states[tuple(moved)])
        object.__setattr__(life, "_next", tuple(successors))
    return states


_STATES = _positions()
for _index, (_event_name, (_track, _table)) in enumerate(TRANSITIONS.items()):
    setattr(Lifecycle, _event_name, _event(_index, _event_name, _track))
del _index, _event_name, _track, _table
