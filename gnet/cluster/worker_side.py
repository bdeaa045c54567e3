"""The worker's side of :mod:`gnet.cluster`: joining the primary, listen() through it.

A worker is a process started by :func:`gnet.cluster.fork` with the
channel's descriptor in its environment. When :mod:`gnet.cluster` is
imported there, :func:`setup` makes ``cluster.worker``, says "online",
starts the heartbeat and installs :func:`shared_listen` as the servers'
listen hook: a TCP ``listen()`` then asks the primary for its socket (the
shared policy), or for a round-robin key (:class:`gnet.cluster.rr.RRListener`).
"""

from __future__ import annotations

import _socket
import json
import os
from typing import TYPE_CHECKING, Any

import gevent
from gevent import get_hub, socket as gsocket
from gevent.event import AsyncResult, Event

import gnet.graceful as graceful
from gnet.cluster.channel import ENV_BEAT, ENV_FD, ENV_ID, ENV_SCHED, ENV_SYSTEMD, _Channel
from gnet.cluster.primary import Worker, isWorker
from gnet.cluster.rr import RRListener
from gnet.dispatch import schedule
from gnet.errors import system_error
from gnet.loop import fail_run, run_waiting
from gnet.server import set_listen_hook
from gnet.systemd import set_primary_fds, systemdFdNames

if TYPE_CHECKING:
    from gnet.server import Server

__all__ = ("setup", "shared_listen")

#: In a worker: the worker itself (``gnet.cluster.worker``). None in the primary.
worker: Worker | None = None

_seq = 0
_replies: dict[int, AsyncResult] = {}
_disconnecting = False
# Round-robin servers of this worker by key (gnet.cluster.rr).
_rr_listeners: dict[str, RRListener] = {}


class _Outbox:
    """Messages to the primary from code that may not block (the hub), sent in order."""

    def __init__(self) -> None:
        self._queue: list[dict[str, Any]] = []
        self._sender: Any = None

    def post(self, obj: dict[str, Any]) -> None:
        self._queue.append(obj)
        if self._sender is None:
            self._sender = gevent.spawn(self._send)

    def _send(self) -> None:
        try:
            while self._queue:
                obj = self._queue.pop(0)
                channel = worker._channel if worker is not None else None
                if channel is not None:
                    channel.send(obj)
        finally:
            self._sender = None

    def flush(self) -> None:
        """Wait until everything posted is sent."""
        sender = self._sender
        if sender is not None:
            sender.join()


_outbox = _Outbox()


def _worker_message(obj: dict[str, Any], fd: int | None) -> None:
    assert worker is not None
    cmd = obj.get("c")
    if cmd is None:
        w = worker
        schedule(lambda: w.emit("message", obj.get("m")))
    elif cmd == "reply":
        result = _replies.pop(obj.get("seq", -1), None)
        if obj.get("rr"):
            # Made here, not by the listen() that asked: the primary's
            # first connections may follow this reply at once.
            key = str(obj["rr"])
            if result is None:  # that listen() was given up (closed meanwhile)
                _outbox.post({"c": "close", "key": key})
                return
            _rr_listeners[key] = RRListener(key, int(obj["family"]), obj["sockname"],
                                            _outbox.post)
        if result is not None:
            result.set((obj, fd))
        elif fd is not None:
            os.close(fd)
    elif cmd == "newconn":
        listener = _rr_listeners.get(str(obj.get("key")))
        if fd is None:
            return
        if listener is None or listener.closed:
            # Its server has closed: the primary gives it to another worker.
            os.close(fd)
            _outbox.post({"c": "ack", "key": obj.get("key"), "seq": obj.get("seq"),
                          "accepted": False})
        else:
            listener.offer(fd, obj.get("peer"), int(obj.get("seq", -1)))
    elif cmd == "disconnect":
        worker.exitedAfterDisconnect = True
        gevent.spawn(_worker_disconnect)


def _worker_disconnect() -> None:
    # Close every server; once all have closed (their connections ended),
    # close the channel. The process then ends when nothing else keeps it.
    global _disconnecting
    if _disconnecting:
        return
    _disconnecting = True
    if worker is not None and worker._channel is not None:
        worker._channel.send({"c": "planned"})
    servers = graceful.listeningServers()
    done = [Event() for _ in servers]
    for server, event in zip(servers, done, strict=True):
        server.close(lambda *_args, e=event: e.set())
    for event in done:
        event.wait()
    _outbox.flush()  # the round-robin answers and 'close's go first
    if worker is not None and worker._channel is not None:
        worker._channel.close()


def _worker_channel_closed() -> None:
    assert worker is not None
    w = worker
    w.state = "disconnected"
    schedule(lambda: w.emit("disconnect"))
    if not w.exitedAfterDisconnect:
        # The primary is gone: a worker does not outlive it.
        if run_waiting():
            graceful.gracefulStop(0)
            fail_run(SystemExit(0))
        else:
            os._exit(0)


def shared_listen(server: Server, host: str | None, port: int, backlog: int,
                  opts: dict[str, Any]) -> bool:
    """In a worker with the shared policy, listen on the primary's socket; False otherwise.

    ``Server.listen`` calls it for TCP before binding anything itself, and
    for ``listen({'fd': n})``: a descriptor systemd passed to the primary
    (what :func:`gnet.systemdFds` answers here) is the primary's to share.
    """
    if not isWorker:
        return False
    if opts.get("fd") is not None:
        if opts["fd"] not in systemdFdNames():
            return False  # a descriptor of this process: the server takes it itself
        server._pending = gevent.spawn(_listen_shared, server, None, 0, backlog, opts)
        return True
    if opts.get("exclusive") or opts.get("reusePort") or _sched == "reusePort":
        if _sched == "reusePort":
            # This call's own options (parse_listen made them): SO_REUSEPORT.
            opts["reusePort"] = True
        server.once("listening", lambda: _tell_listening(server))
        return False
    server._pending = gevent.spawn(_listen_shared, server, host, port, backlog, opts)
    return True


def _rr_index(host: str | None, port: int, ipv6_only: bool) -> int:
    # Node's indexes: the n-th server of this worker on the same address
    # gets the n-th handle (two listen(0) are two ports, in every worker).
    taken = {json.loads(key)[3] for key, listener in _rr_listeners.items()
             if not listener.closed and json.loads(key)[:3] == [host, port, ipv6_only]}
    index = 0
    while index in taken:
        index += 1
    return index


def _listen_shared(server: Server, host: str | None, port: int, backlog: int,
                   opts: dict[str, Any]) -> None:
    global _seq
    assert worker is not None and worker._channel is not None
    _seq += 1
    seq = _seq
    result: AsyncResult = AsyncResult()
    _replies[seq] = result
    query = {"c": "queryServer", "seq": seq, "host": host, "port": port, "backlog": backlog,
             "ipv6Only": bool(opts.get("ipv6Only"))}
    if opts.get("fd") is not None:
        query["fd"] = int(opts["fd"])
    if _sched == "rr":
        query.update(rr=True, index=_rr_index(host, port, bool(opts.get("ipv6Only"))))
    sent = worker._channel.send(query)
    try:
        reply, fd = result.get() if sent else ({"errno": 32}, None)  # EPIPE: no primary
    finally:
        _replies.pop(seq, None)
    server._pending = None
    if reply.get("rr"):
        for old_key in [k for k, other in _rr_listeners.items() if other.closed]:
            del _rr_listeners[old_key]
        listener = _rr_listeners[str(reply["rr"])]
        listener.server = server
        server._started(listener)
        _tell_listening(server)
        return
    if fd is None:
        code = int(reply.get("errno") or 0)
        if opts.get("fd") is not None:
            server._listen_failed(system_error(OSError(code, os.strerror(code)), "listen"))
            return
        server._listen_failed(system_error(OSError(code, os.strerror(code)), "listen",
                                           host or "::", port))
        return
    sock = _socket.socket(fileno=fd)
    # One connection per wake-up: the others' turn comes sooner.
    server.max_accept = 1
    server._started(sock)
    _tell_listening(server)


def _tell_listening(server: Server) -> None:
    # The primary's 'listening' (worker, address), address as in Node.
    info = server.address()
    if isinstance(info, dict) and worker is not None and worker._channel is not None:
        address = {"address": info.get("address"), "port": info.get("port"),
                   "addressType": 6 if info.get("family") == "IPv6" else 4}
        worker._channel.send({"c": "listening", "address": address})


_sched = os.environ.pop(ENV_SCHED, "shared")


def _start_heartbeat(interval_s: float) -> None:
    # A loop timer (not ref'd: it keeps nothing alive). It fires only when
    # the loop runs, which is the point: a blocked worker stops beating.
    timer = get_hub().loop.timer(interval_s, interval_s, ref=False)

    def beat() -> None:
        channel = worker._channel if worker is not None else None
        if channel is None or not channel.connected:
            timer.stop()
            return
        gevent.spawn(channel.send, {"c": "beat"})

    timer.start(beat)


def setup() -> None:
    global worker
    worker_id = int(os.environ.pop(ENV_ID))
    fd = int(os.environ.pop(ENV_FD))
    os.set_inheritable(fd, False)

    class _Self:
        pid = os.getpid()

    worker = Worker(worker_id, _Self())
    worker.state = "online"
    worker._channel = _Channel(gsocket.socket(fileno=fd), _worker_message,
                               _worker_channel_closed)
    worker._channel.send({"c": "online"})
    beat = os.environ.pop(ENV_BEAT, None)
    if beat:
        _start_heartbeat(float(beat) / 1000.0)
    passed = os.environ.pop(ENV_SYSTEMD, None)
    if passed:
        # systemdFds() answers the primary's descriptors; listen({fd}) asks for them.
        set_primary_fds({int(fd): str(name) for fd, name in json.loads(passed).items()})
    # The server's listen path asks here first.
    set_listen_hook(shared_listen)
