"""PEM text handed to the standard library's file-only loaders without a file on disk.

``ssl.SSLContext.load_cert_chain``, ``load_dh_params`` and CRL loading
(``load_verify_locations(cafile=...)``) take only paths, while Node takes
keys and certificates as strings. :func:`memory_path` gives such a loader a
path whose content never reaches a file system:

* On Linux, an anonymous memory file (``os.memfd_create``) reached through
  ``/proc/self/fd/N``. OpenSSL opens that path like a file and reads from
  the start; nothing is ever named in a directory, and closing the
  descriptor frees the memory.
* Elsewhere, a file made with ``tempfile.mkstemp`` (mode 0600, in the
  temporary directory), written, handed over, and unlinked before
  :func:`memory_path` returns, even when the loader fails. A private key
  may sit in that file for the duration of the call.

:func:`strategy` says which one this process uses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ('memory_path', 'strategy')

_PROC_FD = '/proc/self/fd'


def strategy() -> str:
    """``'memfd'`` where anonymous memory files can be opened by path, else ``'tempfile'``."""
    if hasattr(os, 'memfd_create') and os.path.isdir(_PROC_FD):
        return 'memfd'
    return 'tempfile'


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextmanager
def memory_path(data: bytes, how: str | None = None) -> Iterator[str]:
    """Yield a path whose content is ``data``, gone when the block ends.

    Args:
        data: The bytes a path-only loader should read.
        how: ``'memfd'`` or ``'tempfile'``; by default :func:`strategy`'s
            answer (the choice is there so both ways can be tested).

    Yields:
        A path to open for reading (once or several times) inside the block.
    """
    if (how or strategy()) == 'memfd':
        fd = os.memfd_create('gnet-tls', os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            yield f'{_PROC_FD}/{fd}'
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix='gnet-tls-')
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        yield path
    finally:
        os.unlink(path)
