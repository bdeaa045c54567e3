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

Every change is one of the events of :data:`TRANSITIONS`, called as a
method of :class:`Lifecycle` (``life.fin()``) or by name
(``life.apply('fin')``); an event the current state does not allow raises
:class:`StateError` instead of being silently skipped, so a socket that
emitted 'end' twice, or 'finish' before its FIN, fails loudly in the tests.
What Node shows (``readyState``, ``destroyed``, ``readable``, ``writable``)
and when a socket closes itself (autoDestroy: both sides done) are read off
these tracks by the properties below, in one place.

A reconnect (Node lets a destroyed socket ``connect()`` again) starts from a
new :class:`Lifecycle`: nothing is reset by hand.

The table is the only place the rules are written. Each event's method is
compiled from it once, at import (as :func:`collections.namedtuple` compiles
its class): a socket applies nine events in its life, and a method that
compares and sets its own track directly costs a third of a generic
``getattr``/``setattr`` step, on the path every connection takes.

This module knows no socket, no loop and no kernel: tests drive it alone.
"""

from __future__ import annotations

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


class Lifecycle:
    """One connection's position on the four tracks (see the module docstring)."""

    __slots__ = ("phase", "read", "teardown", "write")

    def __init__(self) -> None:
        self.phase = NEW
        self.read = READING
        self.write = WRITING
        self.teardown = ALIVE

    # One method per event of TRANSITIONS, made by _compile() below:
    # connect, open, release, eof, end, ending, fin, finish, destroy, close.
    connect: Callable[[], None]
    open: Callable[[], None]
    release: Callable[[], None]
    eof: Callable[[], None]
    end: Callable[[], None]
    ending: Callable[[], None]
    fin: Callable[[], None]
    finish: Callable[[], None]
    destroy: Callable[[], None]
    close: Callable[[], None]

    def apply(self, event: str) -> None:
        """Move one track by ``event``; raise :class:`StateError` if not allowed."""
        if event not in TRANSITIONS:
            raise KeyError(event)
        getattr(self, event)()

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
        parts = (_NAMES[track][getattr(self, track)] for track in ("phase", "read", "write",
                                                                    "teardown"))
        return f"<Lifecycle {' '.join(parts)}>"


def _compile(event: str, track: str, table: dict[int, int]) -> Callable[[Lifecycle], None]:
    """The method that applies ``event``: ``table``'s cases as comparisons on ``track``."""
    lines = [f"def {event}(self):", f"    before = self.{track}"]
    for i, (before, after) in enumerate(table.items()):
        lines.append(f"    {'if' if i == 0 else 'elif'} before == {before}:")
        if after != before:
            lines.append(f"        self.{track} = {after}")
        else:
            lines.append("        pass")
    lines.append("    else:")
    lines.append(f"        raise StateError({event!r}, {track!r}, before)")
    namespace: dict[str, Any] = {"StateError": StateError}
    exec("\n".join(lines), namespace)  # the source is built from the table, nothing else
    method: Callable[[Lifecycle], None] = namespace[event]
    method.__qualname__ = f"Lifecycle.{event}"
    method.__doc__ = f"Apply {event!r} to the {track} track (see TRANSITIONS)."
    return method


for _event, (_track, _table) in TRANSITIONS.items():
    setattr(Lifecycle, _event, _compile(_event, _track, _table))
del _event, _track, _table
