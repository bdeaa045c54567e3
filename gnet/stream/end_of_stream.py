"""``finished``: Node's ``stream.finished`` (end-of-stream), for any stream-like emitter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gnet.abort import add_abort_listener, validate_abort_signal
from gnet.dispatch import schedule
from gnet.errors import (
    AbortError,
    InvalidArgTypeError,
    StreamPrematureCloseError,
)
from gnet.stream.base import _is_emitter, _is_own, _ReadableState, _WritableState
from gnet.validate import validate_function

__all__ = ("finished",)


def _is_readable_stream(stream: Any) -> bool:
    return callable(getattr(stream, "read", None)) or callable(getattr(stream, "pause", None))


def _is_writable_stream(stream: Any) -> bool:
    return callable(getattr(stream, "write", None)) and callable(getattr(stream, "end", None))


def finished(stream: Any, options: Any = None, callback: Any = None) -> Callable[[], None]:
    """Call ``callback(err)`` once ``stream`` is done (Node's ``stream.finished``).

    Done means: 'end' (readable) and 'finish' (writable) as the stream has
    them, or an error, or 'close' before those
    (``ERR_STREAM_PREMATURE_CLOSE``). Options: ``readable``, ``writable``
    (False: do not wait for that side), ``error`` (False: an 'error' does not
    count), ``signal``. The callback runs in a worker, once. Returns a
    function that removes the listeners finished() added.
    """
    if callable(options) and callback is None:
        callback, options = options, None
    validate_function(callback, "callback")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise InvalidArgTypeError("options", "of type dict", options)
    if not _is_emitter(stream):
        raise InvalidArgTypeError("stream", "a stream", stream)
    readable = options.get("readable", _is_readable_stream(stream)) is not False \
        and _is_readable_stream(stream)
    writable = options.get("writable", _is_writable_stream(stream)) is not False \
        and _is_writable_stream(stream)
    state = {"done": False, "rdone": False, "wdone": False}
    listeners: list[tuple[str, Callable[..., Any]]] = []
    dispose_signal: Callable[[], None] | None = None

    def call(err: BaseException | None) -> None:
        # Once, as Node's eos; its listeners stay until the caller's
        # cleanup, so an 'error' emitted later is still handled.
        if state["done"]:
            return
        state["done"] = True
        if dispose_signal is not None:
            dispose_signal()
        schedule(lambda: callback(err))

    own = _is_own(stream)
    r: _ReadableState | None = stream._r if own else None
    w: _WritableState | None = stream._w if own else None

    def readable_done(strict: bool = True) -> bool:
        # Node's isReadableFinished: 'end', or (not strict) ended with
        # nothing left to read.
        if state["rdone"] or getattr(stream, "readableEnded", False):
            return True
        return not strict and r is not None and r.ended and r.length == 0

    def writable_done(strict: bool = True) -> bool:
        if state["wdone"] or getattr(stream, "writableFinished", False):
            return True
        return not strict and w is not None and w.ended and w.length == 0

    def on_end() -> None:
        state["rdone"] = True
        if not writable or writable_done():
            call(None)

    def on_finish() -> None:
        state["wdone"] = True
        if not readable or readable_done():
            call(None)

    def on_error(err: BaseException) -> None:
        call(err)

    def on_close(*_args: Any) -> None:
        err = getattr(stream, "errored", None)
        if isinstance(err, BaseException):
            call(err)
        elif (readable and not readable_done(False)) or (writable and not writable_done(False)):
            call(StreamPrematureCloseError())
        else:
            call(None)

    def cleanup() -> None:
        state["done"] = True
        for name, fn in listeners:
            stream.removeListener(name, fn)
        listeners.clear()
        if dispose_signal is not None:
            dispose_signal()

    def listen(name: str, fn: Callable[..., Any]) -> None:
        stream.on(name, fn)
        listeners.append((name, fn))

    if readable:
        listen("end", on_end)
    if writable:
        listen("finish", on_finish)
    if options.get("error", True) is not False:
        listen("error", on_error)
    listen("close", on_close)

    # What has happened already (Node's eos): a stream that closed, or
    # that will emit no 'close' for the side that is done, is settled now.
    if own:
        closed = (r is not None and r.closed) or (w is not None and w.closed)
        will_close = not closed and all(st.autoDestroy and st.emitClose
                                        for st in (r, w) if st is not None)
        errored = (r is not None and r.errorEmitted) or (w is not None and w.errorEmitted)
        if closed or (errored and not will_close) or (
                not will_close and (not readable or readable_done())
                and (not writable or writable_done())):
            schedule(on_close)
    elif getattr(stream, "closed", False) is True or getattr(stream, "destroyed", False) is True:
        schedule(on_close)

    signal = options.get("signal")
    if signal is not None:
        validate_abort_signal(signal, "options.signal")
        aborted = signal

        def abort() -> None:
            call(AbortError(cause=aborted.reason))

        if signal.aborted:
            schedule(abort)
        else:
            dispose_signal = add_abort_listener(signal, abort)
    return cleanup
