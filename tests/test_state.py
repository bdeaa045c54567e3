"""The socket lifecycle (gnet.state) driven alone: no socket, no loop, no kernel."""

from __future__ import annotations

import itertools

import pytest

from gnet.state import (
    ALIVE,
    CLOSE_EMITTED,
    CLOSED,
    CONNECTING,
    DESTROYED,
    ENDED,
    ENDING,
    EOF,
    FIN_SENT,
    FINISHED,
    NEW,
    OPEN,
    READING,
    TRANSITIONS,
    WRITING,
    Lifecycle,
    StateError,
)


def run(*events: str) -> Lifecycle:
    life = Lifecycle()
    for event in events:
        life = life.apply(event)
    return life


def test_a_new_socket_is_open_in_both_directions_but_not_connected() -> None:
    life = Lifecycle()
    assert (life.phase, life.read, life.write, life.teardown) == (NEW, READING, WRITING, ALIVE)
    assert life.readable and life.writable and not life.destroyed and not life.done
    # Node: a new Socket's readyState is 'open' until it connects or ends.
    assert life.ready_state == "open"


def test_a_client_connection_from_connect_to_close() -> None:
    life = run("connect")
    assert life.ready_state == "opening"
    life = life.open()
    assert life.ready_state == "open"
    life = life.eof()
    assert life.ready_state == "open"  # 'end' not emitted yet: still readable
    life = life.end()
    assert life.ready_state == "writeOnly"
    life = life.ending()
    assert life.ready_state == "closed"
    life = life.fin().finish()
    assert life.done
    life = life.destroy().release().close()
    assert (life.phase, life.teardown) == (CLOSED, CLOSE_EMITTED)


def test_ending_first_leaves_the_socket_read_only() -> None:
    life = run("open", "ending")
    assert life.ready_state == "readOnly"
    assert life.readable and not life.writable


def test_auto_destroy_needs_both_directions_done() -> None:
    assert not run("open", "eof", "end").done
    assert not run("open", "ending", "fin", "finish").done
    assert run("open", "ending", "fin", "finish", "eof", "end").done
    assert run("open", "eof", "end", "ending", "fin", "finish").done


def test_destroyed_is_neither_readable_nor_writable() -> None:
    life = run("open", "destroy")
    assert life.destroyed and not life.readable and not life.writable
    assert life.ready_state == "closed"


def test_a_never_connected_socket_stays_new_when_released() -> None:
    life = run("destroy", "release")
    assert life.phase == NEW
    assert run("connect", "destroy", "release").phase == CLOSED
    assert run("open", "release").phase == CLOSED


@pytest.mark.parametrize("events", [
    ("end",),                          # 'end' before the peer's FIN
    ("open", "eof", "eof"),            # two FINs
    ("open", "eof", "end", "end"),     # 'end' twice
    ("fin",),                          # FIN before end()
    ("ending", "finish"),              # 'finish' before FIN
    ("ending", "fin", "finish", "finish"),
    ("ending", "ending"),
    ("destroy", "destroy"),
    ("close",),                        # 'close' without destroy
    ("destroy", "close", "close"),
    ("open", "open"),
    ("open", "connect"),               # connect while open: a new Lifecycle is needed
    ("open", "release", "open"),
])
def test_illegal_transitions_raise(events: tuple[str, ...]) -> None:
    *legal, last = events
    life = run(*legal)
    before = (life.phase, life.read, life.write, life.teardown)
    with pytest.raises(StateError) as info:
        life.apply(last)
    assert info.value.event == last
    assert last in str(info.value)
    # A refused event changes nothing.
    assert (life.phase, life.read, life.write, life.teardown) == before


def test_every_state_and_event_pair_is_either_in_the_table_or_refused() -> None:
    tracks = {"phase": (NEW, CONNECTING, OPEN, CLOSED), "read": (READING, EOF, ENDED),
              "write": (WRITING, ENDING, FIN_SENT, FINISHED),
              "teardown": (ALIVE, DESTROYED, CLOSE_EMITTED)}
    for event, (track, table) in TRANSITIONS.items():
        for state in tracks[track]:
            life = Lifecycle(**{track: state})
            if state in table:
                after = life.apply(event)
                assert getattr(after, track) == table[state]
                # Only that track moves.
                assert all(getattr(after, other) == getattr(life, other)
                           for other in tracks if other != track)
            else:
                with pytest.raises(StateError):
                    life.apply(event)


def test_the_tracks_move_independently() -> None:
    # Any interleaving of a full read side and a full write side ends done.
    reads, writes = ["eof", "end"], ["ending", "fin", "finish"]
    for mask in itertools.product((0, 1), repeat=5):
        if sum(mask) != 2:
            continue
        r, w = iter(reads), iter(writes)
        life = run("open", *(next(r) if bit else next(w) for bit in mask))
        assert life.done, mask


def test_a_reconnect_starts_from_a_fresh_lifecycle() -> None:
    # What gnet.Socket.connect() does on a destroyed socket: it starts from
    # Lifecycle() again, so nothing of the old connection's state can leak
    # into the new one.
    old = run("connect", "open", "eof", "end", "destroy", "release", "close")
    new = Lifecycle().connect()
    assert new is not old
    assert (new.read, new.write, new.teardown) == (READING, WRITING, ALIVE)


def test_positions_are_shared_immutable_values() -> None:
    # One object per position, whatever path led there: a socket holds a
    # reference to a shared value, not a lifecycle object of its own.
    assert Lifecycle() is Lifecycle()
    assert run("open", "eof", "ending") is run("open", "ending", "eof")
    assert Lifecycle(OPEN, EOF, ENDING, ALIVE) is run("open", "eof", "ending")
    life = run("open")
    with pytest.raises(AttributeError):
        life.phase = CLOSED  # type: ignore[misc]
    assert life.phase == OPEN
    # An event returns the next position and leaves the one it came from.
    assert life.eof() is not life and life.read == READING


def test_a_position_off_the_tracks_is_refused() -> None:
    with pytest.raises(ValueError, match="no such lifecycle position"):
        Lifecycle(phase=7)


def test_repr_names_every_track() -> None:
    assert repr(run("open", "ending")) == "<Lifecycle OPEN READING ENDING ALIVE>"
