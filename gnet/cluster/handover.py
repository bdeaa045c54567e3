"""Zero-downtime upgrade of a :mod:`gnet.cluster` primary: a new copy takes over its sockets.

``cluster.upgrade()``, or SIGUSR2 to a primary waiting in
``gnet.run(graceful=...)``, starts a new copy of the program (the same
interpreter and command line, ``sys.executable`` with ``sys.orig_argv``, in
the same directory: point them through a path you switch, such as a
``current`` symlink, to run new code) and hands it every listening socket
the cluster has, the way systemd hands sockets to a service: descriptors
3, 4, ... and ``LISTEN_FDS``/``LISTEN_FDNAMES``/``LISTEN_PID``
(:mod:`gnet.systemd` reads them). The new primary forks its workers as the
program says; their ``listen()`` gets the inherited socket of the same
address (named ``gnet-cluster/<host>/<port>/<ipv6Only>/<index>``) instead
of binding a new one, so ``listen(0)`` keeps its port. Once a worker
listens on every inherited socket (or every worker it forked listens), the
new primary says "ready" on a pipe, and the old one retires as on SIGTERM:
its workers stop accepting and finish their connections. Descriptors the
old primary itself got from systemd are passed on first, under their own
names, so a socket-activated service stays socket-activated. Under the
``'reusePort'`` policy nothing is handed over: the new workers bind their
own sockets beside the old ones, the new primary is ready once they all
listen, and the old workers' queues are subject to Linux's
queue-loss-on-close (see :mod:`gnet.cluster`).

Why SIGUSR2: it is the signal unicorn, gunicorn and nginx use for
exactly this (start the new binary next to the old one), so operators and
their tooling know it; SIGHUP already means "new workers, same primary"
(:func:`gnet.cluster.restart`).

Why a child process that takes over rather than ``os.execve`` of the
primary in place:

* **It can fail safely.** If the new code does not start (a syntax error,
  a missing module, a worker that dies at once), the new primary exits or
  never says ready; the old primary, which never stopped serving, logs it,
  stops the new one after ``upgradeTimeout`` (30 s) and carries on. After an
  ``execve`` there is no old primary to fall back on: a bad deploy is an
  outage.
* **Nothing is handed across an exec but sockets.** The old primary's
  workers, channels, timers and queued round-robin connections stay with
  the process that knows them, and retire through the same graceful stop
  as SIGTERM. An ``execve`` would have to hand its live workers (their
  channels and pids) to a program that does not know them yet.
* **The sockets never stop accepting**: until the new primary is ready,
  the old one's workers (or, under round-robin, the old primary itself)
  still accept, and from then on both sides accept from the same kernel
  queue until the old side closes.

The cost is that the primary's pid changes, which a supervisor must be
told about: under systemd the new primary sends ``MAINPID=<pid>`` and
``READY=1`` to ``$NOTIFY_SOCKET`` when it is ready (give the unit
``NotifyAccess=all``), as gunicorn and unicorn users do with a PID file;
in a container where the primary is PID 1, prefer SIGHUP (rolling restart
of the workers) or a new container. This is the unicorn/nginx/gunicorn
design; the old and the new primary share stdout and stderr.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket as _stdsocket
import sys
from time import monotonic
from typing import Any

import gevent
from gevent import os as gos, subprocess as gsubprocess

from gnet.systemd import systemdFdNames

logger = logging.getLogger("gnet")

__all__ = ("ENV_READY", "PREFIX", "fd_name", "inherited", "parse_fd_name", "say_ready",
           "start_successor", "wait_ready")

#: The variable naming the descriptor a new primary writes "ready" to.
ENV_READY = "GNET_UPGRADE_FD"
#: What the names of the cluster's descriptors in LISTEN_FDNAMES start with.
PREFIX = "gnet-cluster"

# Runs between fork and the new program: puts the descriptors at 3, 4, ...
# (through high numbers first, so that none overwrites another), sets
# LISTEN_PID to its own pid, which exec keeps, and execs the program.
_SHIM = """\
import fcntl, json, os, sys
spec = json.loads(sys.argv[1])
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 256) for fd in spec["fds"]]
for fd in spec["fds"]:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ[spec["ready"]] = str(3 + len(high) - 1)
os.execv(spec["argv"][0], spec["argv"])
"""


def fd_name(key: tuple[Any, ...]) -> str:
    """The LISTEN_FDNAMES name of the listening socket for ``(host, port, ipv6Only, index)``.

    Names may not hold ':' (the list separator), so an IPv6 host's colons
    are written '-' (no address has one); no host (every address) is '*'.
    """
    host, port, ipv6_only, index = key
    host_part = "*" if host is None else str(host).replace(":", "-")
    return f"{PREFIX}/{host_part}/{int(port)}/{int(bool(ipv6_only))}/{int(index)}"


def parse_fd_name(name: str) -> tuple[Any, ...] | None:
    """The key :func:`fd_name` made ``name`` from; None for a name that is not the cluster's."""
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != PREFIX:
        return None
    try:
        host = None if parts[1] == "*" else parts[1].replace("-", ":")
        return (host, int(parts[2]), parts[3] == "1", int(parts[4]))
    except ValueError:
        return None


def inherited() -> tuple[dict[tuple[Any, ...], int], int | None]:
    """In a primary: the listening sockets a previous primary passed, and its "ready" descriptor.

    Returns ``({key: fd}, ready_fd)``; empty and None when this process
    was not started by :func:`start_successor`. Removes ``GNET_UPGRADE_FD``
    from the environment (workers must not see it); the ``LISTEN_*``
    variables stay for the program's own :func:`gnet.systemdFds`.
    """
    ready_text = os.environ.pop(ENV_READY, None)
    ready = int(ready_text) if ready_text and ready_text.isdigit() else None
    if ready is not None:
        os.set_inheritable(ready, False)
    fds: dict[tuple[Any, ...], int] = {}
    for fd, name in systemdFdNames().items():
        key = parse_fd_name(name)
        if key is not None:
            fds[key] = fd
    return fds, ready


def _passed_on() -> list[tuple[str, int]]:
    # What systemd gave this process (not the cluster's own), still open.
    kept = []
    for fd, name in systemdFdNames().items():
        if parse_fd_name(name) is None:
            try:
                os.fstat(fd)
            except OSError:
                continue
            kept.append((name, fd))
    return kept


def start_successor(listeners: list[tuple[str, int]],
                    argv: list[str] | None = None) -> tuple[Any, int]:
    """Start the new primary with ``listeners`` (name, fd) at 3, 4, ...; returns (Popen, ready_fd).

    ``ready_fd`` is the read end of the pipe the new primary writes
    "ready" to (see :func:`wait_ready`).
    """
    passed = _passed_on() + listeners
    names = [name for name, _fd in passed]
    fds = [fd for _name, fd in passed]
    ready_r, ready_w = os.pipe()
    os.set_inheritable(ready_r, False)
    program = argv or [sys.executable, *getattr(sys, "orig_argv", sys.argv)[1:]]
    env = {k: v for k, v in os.environ.items()
           if k not in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", ENV_READY)}
    env["LISTEN_FDS"] = str(len(passed))
    env["LISTEN_FDNAMES"] = ":".join(names)
    spec = json.dumps({"fds": [*fds, ready_w], "argv": program, "ready": ENV_READY})
    try:
        proc = gsubprocess.Popen([sys.executable, "-I", "-S", "-c", _SHIM, spec], env=env,
                                 pass_fds=[*fds, ready_w])
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
    return proc, ready_r


def wait_ready(proc: Any, ready_fd: int, timeout_s: float) -> bool:
    """Wait (this greenlet) for the new primary's "ready"; False if it exits or is late.

    A late one is sent SIGTERM (its graceful stop takes its workers down).
    """
    gos.make_nonblocking(ready_fd)
    deadline = monotonic() + timeout_s
    data = b""
    try:
        while b"ready" not in data:
            left = deadline - monotonic()
            if left <= 0:
                logger.error("gnet: upgrade: the new primary (pid %d) was not ready in "
                             "%.0f s: stopping it, the old primary goes on", proc.pid, timeout_s)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                return False
            try:
                with gevent.Timeout(left, False):
                    chunk = gos.nb_read(ready_fd, 64)
                    if not chunk:
                        logger.error("gnet: upgrade: the new primary (pid %d) ended before it "
                                     "was ready; the old primary goes on", proc.pid)
                        return False
                    data += chunk
            except OSError:
                return False
    finally:
        os.close(ready_fd)
    return True


def say_ready(ready_fd: int | None) -> None:
    """In the new primary: tell the old one (and systemd) that this one serves now."""
    if ready_fd is not None:
        try:
            os.write(ready_fd, b"ready\n")
        except OSError:
            pass
        os.close(ready_fd)
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        address = "\0" + notify[1:] if notify.startswith("@") else notify
        with _stdsocket.socket(_stdsocket.AF_UNIX, _stdsocket.SOCK_DGRAM) as sock:
            try:
                sock.connect(address)
                sock.sendall(f"MAINPID={os.getpid()}\nREADY=1\n".encode())
            except OSError as exc:
                logger.warning("gnet: upgrade: could not notify systemd (%s)", exc)

