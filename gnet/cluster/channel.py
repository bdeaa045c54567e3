"""The channel between a :mod:`gnet.cluster` primary and one worker.

A Unix socket pair made by :func:`gnet.cluster.fork`: the primary keeps one
end, the worker inherits the other (its number in ``GNET_CLUSTER_FD``).
A message is one JSON line; a descriptor (a listening socket, a connection
handed over under round-robin) travels beside its line with SCM_RIGHTS, and
the line says ``"fd": true`` so the reader pairs them in order.
"""

from __future__ import annotations

import json
import os
import socket as _stdsocket
from collections.abc import Callable
from typing import Any

import gevent
from gevent.lock import Semaphore

__all__ = ("ENV_BEAT", "ENV_FD", "ENV_ID", "ENV_SCHED", "ENV_SYSTEMD")

# The environment a worker is started with: its id (Node's NODE_UNIQUE_ID),
# its end of the channel, the scheduling policy, the heartbeat interval and
# the descriptors systemd passed to the primary (JSON {fd: name}).
ENV_ID = "GNET_UNIQUE_ID"
ENV_FD = "GNET_CLUSTER_FD"
ENV_SCHED = "GNET_CLUSTER_SCHED"
ENV_BEAT = "GNET_CLUSTER_HEARTBEAT"
ENV_SYSTEMD = "GNET_CLUSTER_LISTEN_FDS"


class _Channel:
    """One end of the primary-worker socket pair: JSON lines, descriptors beside them."""

    def __init__(self, sock: Any, on_message: Callable[[dict[str, Any], int | None], None],
                 on_close: Callable[[], None]) -> None:
        self.sock = sock
        self.on_message = on_message
        self.on_close = on_close
        self.connected = True
        self._lock = Semaphore()
        self._fds: list[int] = []
        self._reader = gevent.spawn(self._read)

    def send(self, obj: dict[str, Any], fd: int | None = None) -> bool:
        if not self.connected:
            return False
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        try:
            with self._lock:
                if fd is None:
                    self.sock.sendall(data)
                else:
                    sent = _stdsocket.send_fds(self.sock, [data], [fd])
                    if sent < len(data):
                        self.sock.sendall(data[sent:])
        except OSError:
            return False
        return True

    def _read(self) -> None:
        buf = b""
        try:
            while True:
                data, fds, _flags, _addr = _stdsocket.recv_fds(self.sock, 65536, 16)
                self._fds.extend(fds)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, _, buf = buf.partition(b"\n")
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        continue  # not gnet's: both ends always send objects
                    fd = self._fds.pop(0) if obj.get("fd") and self._fds else None
                    self.on_message(obj, fd)
        except (OSError, ValueError):
            pass
        self._closed()

    def _closed(self) -> None:
        if self.connected:
            self.connected = False
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
            try:
                self.sock.close()
            except OSError:
                pass
            self.on_close()

    def close(self) -> None:
        """Close this end (the peer reads end of file)."""
        if self.connected:
            try:
                self.sock.shutdown(_stdsocket.SHUT_RDWR)
            except OSError:
                pass
            # The reader sees the end and reports it.
