"""Descriptors gnet reads and writes without blocking, and without changing what others share.

A pipe, FIFO or terminal descriptor is often shared with other processes
(a shell's terminal is stdin, stdout and stderr of every program it runs);
its blocking mode belongs to the open file *description*, shared by all of
them. :func:`open_nonblocking` therefore opens the same file again through
``/proc/self/fd/N``, which gives gnet a non-blocking description of its own
and leaves the shared one as it was. Where that is impossible (a socket, no
``/proc``), it sets O_NONBLOCK on the shared description and remembers it:
:func:`release` makes it blocking again once no gnet stream uses that file,
and so does interpreter exit (``atexit``; a ``kill -9`` in between is the
one gap).

Used by :mod:`gnet.process` (stdin, stdout, stderr) and by
:class:`gnet.transport.PipeTransport` (``Socket({'fd': n})`` on a pipe).
"""

from __future__ import annotations

import atexit
import os
import stat

__all__ = ("FILE", "NONE", "POLL", "open_nonblocking", "release")

# How a descriptor is reached.
NONE = 0  # closed when Python started: never touched
POLL = 1  # pipe, FIFO, terminal, socket: non-blocking, io watchers
FILE = 2  # regular file or unpollable device: one chunk per loop turn

# Descriptors whose shared description gnet made non-blocking, and the file
# each is (st_dev, st_ino): made blocking again at exit, or sooner when no
# other stream uses that file (stdin and stdout of a terminal are often one
# description: stdin's end must not make stdout's writes blocking).
_made_nonblocking: dict[int, tuple[int, int]] = {}


def _restore_blocking() -> None:
    for fd in list(_made_nonblocking):
        del _made_nonblocking[fd]
        try:
            os.set_blocking(fd, True)
        except OSError:
            pass


atexit.register(_restore_blocking)


def open_nonblocking(fd: int, writing: bool) -> tuple[int, int, bool]:
    """(descriptor to use, kind, whether gnet opened it and must close it)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return fd, NONE, False
    tty = os.isatty(fd)
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or tty):
        return fd, FILE, False
    if not stat.S_ISSOCK(mode):
        # A description of our own (see the theory of operation).
        flags = (os.O_WRONLY if writing else os.O_RDONLY) | os.O_NONBLOCK | os.O_CLOEXEC
        flags |= getattr(os, "O_NOCTTY", 0)
        try:
            return os.open(f"/proc/self/fd/{fd}", flags), POLL, True
        except OSError:
            pass
    try:
        if os.get_blocking(fd):
            os.set_blocking(fd, False)
            info = os.fstat(fd)
            _made_nonblocking[fd] = (info.st_dev, info.st_ino)
    except OSError:
        return fd, FILE, False
    return fd, POLL, False


def release(fd: int, owned: bool) -> None:
    if owned:
        try:
            os.close(fd)
        except OSError:
            pass
    elif fd in _made_nonblocking:
        file = _made_nonblocking.pop(fd)
        if file in _made_nonblocking.values():
            return  # another stream still reads or writes it (atexit restores it)
        try:
            os.set_blocking(fd, True)
        except OSError:
            pass
