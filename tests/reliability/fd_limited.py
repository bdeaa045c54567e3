"""A gnet server or client in a process with few file descriptors left (RLIMIT_NOFILE).

Usage::

    fd_limited.py server ROOM
        an echo server (pipe) on 127.0.0.1:0; once listening, lowers the
        soft RLIMIT_NOFILE to the descriptors open now + ROOM, prints
        "port <port> fds <open descriptors>", then "error <code>" for every
        'error' the server emits, and serves until killed.
    fd_limited.py client PORT ROOM COUNT
        lowers the soft limit the same way, opens COUNT gnet connections to
        127.0.0.1:PORT at once, prints one JSON line with how they went,
        destroys the connected ones, opens ROOM // 2 more, prints a second
        JSON line, and exits.

Every mode exits by itself after LIFETIME_S seconds.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
from typing import Any

import gevent

import gnet as net

LIFETIME_S = 30.0
HOST = "127.0.0.1"


def limit_descriptors(room: int) -> int:
    """Leave ``room`` descriptors free; returns how many are open now."""
    nfds = len(os.listdir("/proc/self/fd"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (nfds + room, hard))
    return nfds


def serve(room: int) -> None:
    server = net.createServer(lambda sock: sock.pipe(sock))
    server.on("error", lambda err: print("error", getattr(err, "code", err), flush=True))

    def ready() -> None:
        nfds = limit_descriptors(room)
        print("port", server.address()["port"], "fds", nfds, flush=True)

    server.listen(0, HOST, ready)
    net.run(timeout=LIFETIME_S * 1000)


def connect_all(port: int, count: int) -> tuple[list[net.Socket], dict[str, Any]]:
    """Open ``count`` connections at once; wait until each connected or failed."""
    outcome: dict[str, Any] = {"connected": 0, "errors": collections.Counter(),
                               "syscalls": collections.Counter(), "closes": 0}
    settled = [0]

    def one() -> net.Socket:
        sock = net.createConnection(port, HOST)

        def on_connect() -> None:
            outcome["connected"] += 1
            settled[0] += 1

        def on_error(err: BaseException) -> None:
            outcome["errors"][getattr(err, "code", repr(err))] += 1
            outcome["syscalls"][getattr(err, "syscall", None)] += 1

        def on_close(had_error: bool) -> None:
            outcome["closes"] += 1
            if had_error:
                settled[0] += 1

        sock.on("connect", on_connect)
        sock.on("error", on_error)
        sock.on("close", on_close)
        return sock

    sockets = [one() for _ in range(count)]
    with gevent.Timeout(10):
        while settled[0] < count:
            gevent.sleep(0.005)
    return sockets, outcome


def client(port: int, room: int, count: int) -> None:
    limit_descriptors(room)
    sockets, first = connect_all(port, count)
    print(json.dumps(first), flush=True)
    for sock in sockets:
        sock.destroy()
    with gevent.Timeout(10):
        while first["closes"] < count:
            gevent.sleep(0.005)
    sockets, second = connect_all(port, room // 2)
    print(json.dumps(second), flush=True)
    for sock in sockets:
        sock.destroy()
    net.run(timeout=5000)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(int(sys.argv[2]))
    elif mode == "client":
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
