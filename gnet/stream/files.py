"""Python binary file objects as ``pipe()`` destinations and ``pipeline()`` ends.

A file is read in chunks of :data:`CHUNK` bytes, one chunk per turn of the
loop, so the loop serves everyone else between two chunks; gnet never
closes a file it did not open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent

from gnet.dispatch import get_loop, schedule
from gnet.errors import InvalidArgTypeError
from gnet.stream.base import _is_emitter
from gnet.stream.readable import Readable
from gnet.stream.writable import Writable

__all__ = ("CHUNK",)

CHUNK = 64 * 1024
"""Bytes read from a Python file object per task."""


class _FileWritable(Writable):
    """A Python binary file as a pipe()/pipeline() destination; never closes it."""

    def __init__(self, file: Any) -> None:
        super().__init__()
        self.file = file

    def _write(self, chunk: Any, encoding: str, callback: Callable[..., Any]) -> None:
        view = memoryview(chunk)
        for i in range(0, len(view), CHUNK):
            self.file.write(view[i:i + CHUNK])
            if i + CHUNK < len(view):
                gevent.sleep(0)
        callback()

    def _final(self, callback: Callable[..., Any]) -> None:
        flush = getattr(self.file, "flush", None)
        if flush is not None:
            flush()
        callback()


class _FileReadable(Readable):
    """A Python binary file as a pipeline() source: one chunk per task; never closes it."""

    def __init__(self, file: Any) -> None:
        super().__init__()
        self.file = file
        self._pulling = False

    def _read(self, size: int) -> None:
        if not self._pulling:
            self._pulling = True
            # One chunk per turn of the loop: every other watcher runs
            # between two reads, so a large file never freezes the loop.
            get_loop().run_callback(schedule, self._pull)

    def _pull(self) -> None:
        self._pulling = False
        if self.destroyed:
            return
        try:
            reader = getattr(self.file, "read1", None) or self.file.read
            data = reader(CHUNK)
        except Exception as exc:
            self.destroy(exc)
            return
        if isinstance(data, str):
            self.destroy(InvalidArgTypeError("file", "a binary file (read() returned str)", data))
        elif not data:
            self.push(None)
        elif self.push(data):
            self._read(0)


def _as_destination(dest: Any) -> Any:
    if not _is_emitter(dest) and callable(getattr(dest, "write", None)):
        return _FileWritable(dest)
    return dest
