"""Stream plumbing shared by every gnet stream: pipe(), unpipe(), pipeline().

``pipe`` is Node's ``readable.pipe``: it moves chunks from a readable to a
writable and honours backpressure (pause the source when ``write()``
returns False, resume on the destination's 'drain'), but, as in Node, it
neither forwards errors nor destroys the other side. ``pipeline`` is
Node's ``stream.pipeline``: it pipes a chain and destroys every stream when
one of them fails or closes early, then calls back once.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from gnet.abort import AbortSignal, add_abort_listener, validate_abort_signal
from gnet.dispatch import schedule
from gnet.errors import (
    AbortError,
    InvalidArgTypeError,
    InvalidArgValueError,
    MissingArgsError,
    StreamPrematureCloseError,
)
from gnet.validate import validate_function

__all__ = ("pipe", "pipeline", "unpipe")


class _Pipe:
    """One ``pipe()`` link. It is kept by the source's listeners and nowhere
    else: no registry to go stale, and both go with the source."""

    __slots__ = ("attached", "dest", "end", "source")

    def __init__(self, source: Any, dest: Any, end: bool) -> None:
        self.source = source
        self.dest = dest
        self.end = end
        self.attached = False

    def on_data(self, chunk: Any) -> None:
        if self.dest.write(chunk) is False:
            self.source.pause()

    def on_drain(self) -> None:
        self.source.resume()

    def on_end(self) -> None:
        self.detach()
        if self.end:
            self.dest.end()

    def on_close(self, *_args: Any) -> None:
        self.detach()

    def attach(self) -> None:
        source, dest = self.source, self.dest
        dest.on("drain", self.on_drain)
        dest.on("close", self.on_close)
        source.on("end", self.on_end)
        source.on("close", self.on_close)
        source.on("data", self.on_data)
        self.attached = True
        dest.emit("pipe", source)

    def detach(self) -> None:
        source, dest = self.source, self.dest
        source.removeListener("data", self.on_data)
        source.removeListener("end", self.on_end)
        source.removeListener("close", self.on_close)
        dest.removeListener("drain", self.on_drain)
        dest.removeListener("close", self.on_close)
        if self.attached:
            self.attached = False
            dest.emit("unpipe", source)


def _pipes(source: Any) -> list[_Pipe]:
    """The pipes from ``source``: read from its 'data' listeners, where they live."""
    return [link for listener in source.listeners("data")
            if isinstance(link := getattr(listener, "__self__", None), _Pipe)
            and link.source is source]


def pipe(source: Any, dest: Any, end: bool = True) -> Any:
    """Pipe ``source`` into ``dest`` (Node's ``source.pipe(dest, {end})``); returns dest.

    Raises:
        InvalidArgTypeError: ``dest`` is not a writable stream.
    """
    for method in ("write", "end", "on", "removeListener", "emit"):
        if not callable(getattr(dest, method, None)):
            raise InvalidArgTypeError("destination", "a writable stream", dest)
    _Pipe(source, dest, end).attach()
    if source.readableFlowing is not True:
        source.resume()
    return dest


def unpipe(source: Any, dest: Any = None) -> None:
    """Undo ``pipe()`` from ``source`` to ``dest``, or to every destination."""
    for link in list(_pipes(source)):
        if dest is None or link.dest is dest:
            link.detach()


def pipeline(*streams: Any, signal: AbortSignal | None = None) -> Any:
    """Pipe ``streams`` in a chain, destroying all of them if one fails.

    Node's ``stream.pipeline(source, ...transforms, destination, callback)``:
    the last argument is ``callback(err)``, called once: with None when the
    destination has finished, or with the first error (a stream destroyed
    before its end gives ``StreamPrematureCloseError``). Returns the
    destination.

    ``signal`` is an :class:`~gnet.AbortSignal` (the ``{signal}`` option of
    Node's ``stream/promises`` pipeline; the callback form has none): its
    abort destroys every stream with an ``AbortError`` (``cause`` = the
    reason) and the callback gets that error. An already-aborted signal does
    so on the next turn of the loop.

    Raises:
        MissingArgsError: fewer than two streams.
        InvalidArgTypeError: the callback is not callable, or ``signal`` is
            not an AbortSignal.
    """
    if not streams:
        raise MissingArgsError("streams")
    *chain, callback = streams
    validate_function(callback, "callback")
    if len(chain) < 2:
        raise MissingArgsError("streams")
    for stream in chain:
        if not hasattr(stream, "destroy"):
            raise InvalidArgValueError("streams", stream, "must be gnet streams")
    if signal is not None:
        validate_abort_signal(signal, "options.signal")
    state = {"done": False}
    dispose = None

    def finish(err: BaseException | None) -> None:
        if state["done"]:
            return
        state["done"] = True
        if dispose is not None:
            dispose()
        if err is not None:
            for stream in chain:
                if not stream.destroyed:
                    stream.destroy(err)
        callback(err)

    def watch(stream: Any, last: bool) -> None:
        def on_error(err: BaseException) -> None:
            finish(err)

        def on_close(*_args: Any) -> None:
            done = stream.writableFinished if last else stream.readableEnded
            finish(None if done else StreamPrematureCloseError())

        stream.on("error", on_error)
        stream.on("close", on_close)
        if last:
            stream.once("finish", lambda: finish(None))

    for i, stream in enumerate(chain):
        watch(stream, i == len(chain) - 1)
    for src, dst in pairwise(chain):
        pipe(src, dst)
    if signal is not None:
        aborted = signal

        def abort() -> None:
            finish(AbortError(cause=aborted.reason))

        if signal.aborted:
            schedule(abort)
        else:
            dispose = add_abort_listener(signal, abort)
    return chain[-1]

