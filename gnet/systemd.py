"""systemd socket activation: the listening sockets systemd passes to a service.

A gnet extension (Node has no built-in for this). With a ``.socket`` unit,
systemd creates the listening sockets itself, then starts the service with
them as descriptors 3, 4, ... and three environment variables
(``sd_listen_fds(3)``):

* ``LISTEN_PID``: the pid they are meant for, so a child process that
  inherits the environment does not take them for its own;
* ``LISTEN_FDS``: how many descriptors, starting at 3;
* ``LISTEN_FDNAMES``: optional, their names (``FileDescriptorName=``),
  colon-separated.

The Node way to serve on such a socket is ``server.listen({fd: 3})``;
gnet keeps that shape and adds one function to find the descriptors::

    import gnet as net

    server = net.createServer(on_connection)
    server.listen({'fd': net.systemdFds()[0]})

:func:`systemdFds` checks ``LISTEN_PID`` against this process, as
``sd_listen_fds`` does, and marks the descriptors close-on-exec so that
programs this one starts do not inherit them. It leaves the environment as
it is (a forked worker sees a different pid and so gets no descriptors), and
it can be called any number of times.

In a :mod:`gnet.cluster` worker, :func:`systemdFds` gives the descriptors
systemd passed to the *primary* (the same numbers and names): the primary
owns them, and the worker's ``server.listen({'fd': fd})`` asks the primary
for that socket as a TCP ``listen()`` asks for an address (shared with
every worker, or accepted by the primary under round-robin). The worker
never holds those numbers itself; the cluster tells this module about them
through :func:`set_primary_fds`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gnet.errors import InvalidArgTypeError, InvalidArgValueError
from gnet.naming import module_aliases

#: The first descriptor systemd passes (``SD_LISTEN_FDS_START``).
SD_LISTEN_FDS_START = 3

# In a gnet.cluster worker: the primary's systemd descriptors, {fd: name}.
_primary_fds: dict[int, str] | None = None


def set_primary_fds(fds: dict[int, str] | None) -> None:
    """In a cluster worker: what :func:`systemdFdNames` answers (the primary's descriptors).

    The declared way in for :mod:`gnet.cluster`, which sets it when a worker
    starts; None (the default) reads this process's ``LISTEN_*`` variables.
    """
    global _primary_fds
    _primary_fds = None if fds is None else dict(fds)


def systemdFdNames() -> dict[int, str]:
    """The descriptors systemd passed to this process, with their names.

    The names come from ``LISTEN_FDNAMES`` (a socket unit's
    ``FileDescriptorName=``, by default the unit's name); without that
    variable each is ``'unknown'``, as ``sd_listen_fds_with_names(3)`` says.

    Returns:
        ``{fd: name}`` in descriptor order; empty when the process was not
        socket-activated (no ``LISTEN_PID``, or one naming another process).
        In a :mod:`gnet.cluster` worker, the primary's (see above).

    Raises:
        InvalidArgValueError: ``LISTEN_PID`` or ``LISTEN_FDS`` is not a
            number, or ``LISTEN_FDNAMES`` names a different count of
            descriptors.
    """
    if _primary_fds is not None:
        return dict(_primary_fds)
    env = os.environ
    pid = env.get("LISTEN_PID")
    if pid is None:
        return {}
    if not pid.strip().isdigit():
        raise InvalidArgValueError("LISTEN_PID", pid, "must be a process id")
    if int(pid) != os.getpid():
        return {}
    count_text = env.get("LISTEN_FDS", "0")
    if not count_text.strip().isdigit():
        raise InvalidArgValueError("LISTEN_FDS", count_text, "must be a number of descriptors")
    count = int(count_text)
    fds = range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count)
    names_text = env.get("LISTEN_FDNAMES")
    if names_text is None:
        names = ["unknown"] * count
    else:
        names = names_text.split(":") if count else []
        if len(names) != count:
            raise InvalidArgValueError(
                "LISTEN_FDNAMES", names_text, f"must name {count} descriptors (LISTEN_FDS)")
    for fd in fds:
        try:
            os.set_inheritable(fd, False)
        except OSError as exc:  # LISTEN_FDS promised a descriptor that is not open
            raise InvalidArgValueError(
                "LISTEN_FDS", count_text, f"names descriptor {fd}, which is not open "
                f"({exc.strerror})") from None
    return dict(zip(fds, names, strict=True))


def systemdFds(name: str | None = None) -> list[int]:
    """The listening descriptors systemd passed to this process.

    Give one to ``server.listen({'fd': fd})``. Descriptors passed by
    systemd start at 3; ``LISTEN_PID`` must be this process.

    Args:
        name: Only the descriptors of this name (``FileDescriptorName=`` in
            the socket unit, read from ``LISTEN_FDNAMES``).

    Returns:
        The descriptors, in order; an empty list when the process was not
        socket-activated.

    Raises:
        InvalidArgTypeError: ``name`` is not a str.
        InvalidArgValueError: malformed ``LISTEN_*`` variables (see
            :func:`systemdFdNames`).
    """
    if name is not None and not isinstance(name, str):
        raise InvalidArgTypeError("name", "str", name)
    fds = systemdFdNames()
    return [fd for fd, fd_name in fds.items() if name is None or fd_name == name]


__all__ = (
    "SD_LISTEN_FDS_START",
    "systemdFdNames",
    "systemdFds",
    *module_aliases(globals(), ("systemdFdNames", "systemdFds")),
)

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    systemd_fd_names = systemdFdNames
    systemd_fds = systemdFds
# --- end of PEP 8 twins ---
