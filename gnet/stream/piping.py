"""``pipe``/``unpipe`` (Node's ``readable.pipe``) and ``pipeline`` (Node's ``stream.pipeline``).

A ``pipe()`` link lives in the source's listeners and nowhere else, so no
module-level registry can go stale. ``pipeline`` watches every stage with
:func:`~gnet.stream.finished` and destroys them all on the first error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
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
from gnet.stream.base import _is_emitter
from gnet.stream.end_of_stream import _is_writable_stream, finished
from gnet.stream.files import _as_destination, _FileReadable, _FileWritable
from gnet.stream.readable import Readable, _FromIterable
from gnet.validate import validate_function

__all__ = ("pipe", "pipeline", "unpipe")


class _Pipe:
    """One ``pipe()`` link. It is kept by the source's listeners and nowhere
    else: no registry to go stale, and both go with the source."""

    __slots__ = ("attached", "dest", "end", "source", "target")

    def __init__(self, source: Any, dest: Any, end: bool, target: Any = None) -> None:
        self.source = source
        self.dest = dest
        self.target = dest if target is None else target
        self.end = end
        self.attached = False

    def on_data(self, chunk: Any) -> None:
        if self.target.write(chunk) is False:
            self.source.pause()

    def on_drain(self) -> None:
        self.source.resume()

    def on_end(self) -> None:
        self.detach()
        if self.end:
            self.target.end()

    def on_close(self, *_args: Any) -> None:
        self.detach()

    def attach(self) -> None:
        source, target = self.source, self.target
        target.on("drain", self.on_drain)
        target.on("close", self.on_close)
        source.on("end", self.on_end)
        source.on("close", self.on_close)
        source.on("data", self.on_data)
        self.attached = True
        target.emit("pipe", source)

    def detach(self) -> None:
        source, target = self.source, self.target
        source.removeListener("data", self.on_data)
        source.removeListener("end", self.on_end)
        source.removeListener("close", self.on_close)
        target.removeListener("drain", self.on_drain)
        target.removeListener("close", self.on_close)
        if self.attached:
            self.attached = False
            target.emit("unpipe", source)


def _pipes(source: Any) -> list[_Pipe]:
    """The pipes from ``source``: read from its 'data' listeners, where they live."""
    return [link for listener in source.listeners("data")
            if isinstance(link := getattr(listener, "__self__", None), _Pipe)
            and link.source is source]


def pipe(source: Any, dest: Any, end: bool = True) -> Any:
    """Pipe ``source`` into ``dest`` (Node's ``source.pipe(dest, {end})``); returns dest.

    ``dest`` is a writable stream or a Python binary file object (an object
    with ``write()`` and no ``on()``; written in the source's worker, never
    closed: ``end`` flushes it).

    Raises:
        InvalidArgTypeError: ``dest`` is not a writable stream or file.
    """
    target = _as_destination(dest)
    for method in ("write", "end", "on", "removeListener", "emit"):
        if not callable(getattr(target, method, None)):
            raise InvalidArgTypeError("destination", "a writable stream", dest)
    _Pipe(source, dest, end, target).attach()
    if source.readableFlowing is not True:
        source.resume()
    return dest


def unpipe(source: Any, dest: Any = None) -> None:
    """Undo ``pipe()`` from ``source`` to ``dest``, or to every destination."""
    for link in list(_pipes(source)):
        if dest is None or link.dest is dest:
            link.detach()


class _Iterate:
    """A stream read as a blocking iterable (a generator stage's source)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[Any]:
        # A gnet stream (a Socket too) iterates in the calling greenlet.
        return iter(self.stream)


def pipeline(*streams: Any, signal: AbortSignal | None = None) -> Any:
    """Pipe ``streams`` in a chain, destroying all of them if one fails.

    Node's ``stream.pipeline(source, ...transforms, destination, callback)``:
    the last argument is ``callback(err[, value])``, called once: with None
    when the destination has finished, or with the first error (a stream
    destroyed before its end gives ``StreamPrematureCloseError``). Returns
    the destination (a stream).

    The stages may be, as in Node:

    * streams (gnet sockets, ``gnet.stream`` classes, ``gnet.process`` streams);
    * as the source, an iterable (a list, a generator; ``Readable.from_``
      makes the stream) or a function returning one, or a Python binary file
      object (read in 64 KiB chunks, one per turn of the loop: meant for
      regular files and in-memory files, whose ``read()`` returns at once;
      for a pipe or a terminal use ``gnet.process.stdin``, which polls);
    * as a transform, a generator function taking the previous stage as an
      iterable (Node's ``async function*(source)``), iterated in a worker;
    * as the destination, a Python binary file object, or a plain function
      taking the previous stage as an iterable (Node's async function): it
      runs in a worker and its return value is the callback's second
      argument. A generator function there is a last transform: the
      pipeline returns its Readable, for the caller to consume.

    ``signal`` is an :class:`~gnet.AbortSignal` (the ``{signal}`` option of
    Node's ``stream/promises`` pipeline): its abort destroys every stream with
    an ``AbortError`` (``cause`` = the reason) and the callback gets that
    error. An already-aborted signal does so on the next turn of the loop.

    Raises:
        MissingArgsError: fewer than two stages.
        InvalidArgTypeError: the callback is not callable, or ``signal`` is
            not an AbortSignal.
        InvalidArgValueError: a stage that is none of the above.
    """
    if len(streams) == 2 and isinstance(streams[0], (list, tuple)):
        streams = (*streams[0], streams[1])  # Node's pipeline([a, b, c], callback)
    if not streams:
        raise MissingArgsError("streams")
    *stages, callback = streams
    validate_function(callback, "callback")
    if len(stages) < 2:
        raise MissingArgsError("streams")
    if signal is not None:
        validate_abort_signal(signal, "options.signal")
    chain: list[Any] = []
    sink: Callable[..., Any] | None = None
    for i, stage in enumerate(stages):
        first, last = i == 0, i == len(stages) - 1
        if _is_emitter(stage) and hasattr(stage, "destroy"):
            chain.append(stage)
        elif first and callable(getattr(stage, "read", None)):
            chain.append(_FileReadable(stage))
        elif first and callable(stage) and not hasattr(stage, "__iter__"):
            chain.append(Readable.from_(stage()))
        elif first and (hasattr(stage, "__iter__")):
            chain.append(Readable.from_(stage))
        elif last and callable(getattr(stage, "write", None)):
            chain.append(_FileWritable(stage))
        elif last and callable(stage) and not inspect.isgeneratorfunction(stage):
            sink = stage
        elif callable(stage):
            chain.append(Readable.from_(_lazy(stage, chain[-1])))
        else:
            raise InvalidArgValueError("streams", stage,
                                       "must be streams, iterables or generator functions")
    # Node's pipeline: every stage is watched with finished(); the first
    # error destroys every stream; the callback runs once all stages have
    # settled, with the first error, a real one winning over a premature
    # close (a consumer that failed closes its source early).
    state: dict[str, Any] = {"done": False, "error": None, "pending": 0, "value": ()}
    dispose_abort: Callable[[], None] | None = None

    def fail(err: BaseException) -> None:
        error = state["error"]
        if error is None or (isinstance(error, StreamPrematureCloseError)
                             and not isinstance(err, StreamPrematureCloseError)):
            state["error"] = err
        if error is None:
            for stream in chain:
                if not stream.destroyed:
                    stream.destroy(err)

    def settle(err: BaseException | None, *value: Any) -> None:
        if err is not None:
            fail(err)
        elif value:
            state["value"] = value
        state["pending"] -= 1
        if state["pending"] == 0 and not state["done"]:
            state["done"] = True
            if dispose_abort is not None:
                dispose_abort()
            error = state["error"]
            if error is not None:
                callback(error)
            else:
                callback(None, *state["value"])

    last_index = len(chain) - 1
    for i, stream in enumerate(chain):
        last = sink is None and i == last_index
        writable = i > 0 and _is_writable_stream(stream)
        opts = {"readable": not last or not writable, "writable": writable}
        state["pending"] += 1
        finished(stream, opts, settle)
    for src, dst in pairwise(chain):
        if not (isinstance(dst, _FromIterable) and isinstance(dst._it, _LazyGen)):
            pipe(src, dst)
    if sink is not None:
        source = chain[-1]
        fn = sink
        state["pending"] += 1

        def run_sink() -> None:
            try:
                value = fn(_Iterate(source))
            except Exception as exc:
                settle(exc)
                return
            settle(None, value)

        schedule(run_sink)
    if signal is not None:
        aborted = signal

        def abort() -> None:
            # The callback comes at once here, not when every stream has
            # closed: the abort is the outcome whatever the streams report.
            if not state["done"]:
                state["error"] = None
                fail(AbortError(cause=aborted.reason))
                state["pending"] = 1
                settle(None)

        if signal.aborted:
            schedule(abort)
        else:
            dispose_abort = add_abort_listener(signal, abort)
    return chain[-1]


class _LazyGen:
    """A generator function applied to the previous stage on the first pull."""

    def __init__(self, fn: Callable[[Iterable[Any]], Iterable[Any]], source: Any) -> None:
        self.fn = fn
        self.source = source
        self.it: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.it is None:
            result = self.fn(_Iterate(self.source))
            if not hasattr(result, "__iter__"):
                raise InvalidArgValueError("transform", result, "must return an iterable")
            self.it = iter(result)
        return next(self.it)

    def close(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            close()


def _lazy(fn: Callable[..., Any], source: Any) -> _LazyGen:
    return _LazyGen(fn, source)
