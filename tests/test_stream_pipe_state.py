"""pipe() keeps its links on the source (as its listeners), never in a registry keyed by id().

An id() is an address that a new object may get once the old one is gone:
a registry keyed by it hands the old object's pipes to the new one.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import gnet
from gnet.events import EventEmitter
from gnet.stream import pipe, unpipe


class Source(EventEmitter):
    """The smallest readable pipe() drives: flowing state, pause, resume."""

    def __init__(self) -> None:
        super().__init__()
        self.readableFlowing: bool | None = None

    def pause(self) -> None:
        self.readableFlowing = False

    def resume(self) -> None:
        self.readableFlowing = True


class Sink(EventEmitter):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[Any] = []
        self.unpiped: list[Any] = []
        self.on("unpipe", self.unpiped.append)

    def write(self, chunk: Any) -> bool:
        self.chunks.append(chunk)
        return True

    def end(self) -> None:
        pass


def _module_state() -> int:
    import gnet.stream

    return sum(len(value) for value in vars(gnet.stream).values()
               if isinstance(value, (dict, list, set)) and not isinstance(value, type))


def test_a_source_leaves_no_trace_once_its_pipes_are_gone() -> None:
    before = _module_state()
    refs = []
    for _ in range(100):
        source, sink = Source(), Sink()
        pipe(source, sink)
        source.emit("data", b"x")
        source.emit("end")  # detaches; 'close' never comes
        assert sink.chunks == [b"x"] and sink.unpiped == [source]
        refs.append(weakref.ref(source))
        del source, sink
    gc.collect()
    assert _module_state() == before
    assert [ref for ref in refs if ref() is not None] == []


def test_unpipe_one_destination_leaves_the_other() -> None:
    source, a, b = Source(), Sink(), Sink()
    pipe(source, a)
    pipe(source, b)
    source.emit("data", b"1")
    unpipe(source, a)
    source.emit("data", b"2")
    assert a.chunks == [b"1"] and b.chunks == [b"1", b"2"]
    assert a.unpiped == [source] and b.unpiped == []
    unpipe(source)
    source.emit("data", b"3")
    assert b.chunks == [b"1", b"2"] and b.unpiped == [source]
    assert source.listenerCount("data") == 0


def test_end_detaches_and_ends_the_destination() -> None:
    ended: list[bool] = []
    source, sink = Source(), Sink()
    sink.end = lambda: ended.append(True)  # type: ignore[method-assign]
    pipe(source, sink)
    source.emit("end")
    assert ended == [True] and sink.unpiped == [source]
    assert source.listenerCount("data") == 0 and sink.listenerCount("drain") == 0


def test_socket_pipe_still_goes_through_stream() -> None:
    sock = gnet.Socket()
    try:
        sink = Sink()
        assert sock.pipe(sink) is sink
        sock.unpipe(sink)
        assert sink.unpiped == [sock]
    finally:
        sock.destroy()
