"""Round-robin hand-off for :mod:`gnet.cluster` (Node's ``SCHED_RR``).

The primary owns the listening socket and accepts; each accepted
descriptor goes to the next free worker over the worker's channel
(SCM_RIGHTS beside a ``newconn`` line), and the worker answers with an
``ack`` saying whether its server took it. A worker is *free* when it has
answered everything it was sent, so a worker never holds more than one
connection it has not taken yet, and one that blocks stops getting more.
A new connection goes to the next free worker in ring order (worker ids,
that is fork order), after the one that had the last. Node's
``RoundRobinHandle`` serves free workers in the order they became free
instead, so which worker gets the next connection depends on when the
last answers came back; with the ring, connections that come one at a
time alternate strictly, and a busy worker is simply skipped.

Until the worker's ``ack`` says "accepted", the primary keeps its own copy
of the descriptor. So a connection is never lost between the two:

* a worker whose server is closing (or closed) answers "not accepted", and
  the primary gives the connection to another worker (as Node does);
* a worker at its server's ``maxConnections`` answers "not accepted" too
  (Node 21+; set ``server.dropMaxConnection = True``, Node 22.12, to have
  the worker take it and drop it with 'drop' instead). A connection every
  current worker has refused is closed, as one full server closes it
  (Node's ``round_robin_handle.js`` offers it again to whichever worker is
  free, for as long as they all stay full). Node 20 refuses only when
  ``maxConnections`` is not 0 (21+: not null), gnet as Node 22;
* a worker that dies (or whose channel closes) before answering: its
  connections go back to the head of the queue, in order, for the others.
  Node 20 keeps such a handle open in the primary and never hands it on
  (``round_robin_handle.js`` forgets the worker, the ``ack`` callback never
  runs): measured with Node 20.20, the client got nothing in the 3 s after
  the worker's SIGKILL, while the other worker was idle.

In the worker, the server listens on a :class:`RRListener`: an object with
the listening socket's face (``fileno()``, ``_accept()``,
``getsockname()``, ``close()``) that a :class:`gnet.Server` can accept from
like any listening socket. Its descriptor is one end of a private socket
pair that is readable while connections wait, so the server's own accept
loop, ``maxConnections``, ``blockList``, the PROXY protocol and TLS all work
unchanged. ``server.address()`` is the primary's socket address, as in Node.
"""

from __future__ import annotations

import _socket
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent import get_hub

from gnet.server import BACK_OFF, CLOSE, RETRY, accept_error_action

logger = logging.getLogger("gnet")

__all__ = ("RRListener", "RoundRobinHandle")

_seq = 0


class _Conn:
    """An accepted connection the primary holds until a worker takes it."""

    __slots__ = ("fd", "peer", "refused")

    def __init__(self, fd: int, peer: Any) -> None:
        self.fd = fd
        self.peer = list(peer) if isinstance(peer, tuple) else peer
        #: Ids of the workers that answered "not accepted".
        self.refused: set[int] = set()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1


class RoundRobinHandle:
    """The primary's side: one listening socket, its queue, its workers.

    ``key`` names it on the channel (the worker sends it back in ``ack``
    and ``close``). Workers are the cluster's ``Worker`` objects; the
    handle uses their ``id`` and ``_channel.send(obj, fd)``.
    """

    def __init__(self, key: str, sock: Any) -> None:
        self.key = key
        self.sock = sock
        sock.setblocking(False)
        #: Workers whose server listens on this handle, by id.
        self.all: dict[int, Any] = {}
        #: Of those, the ids of the ones with nothing unanswered.
        self.free: set[int] = set()
        #: The id of the worker that got the last connection (the ring's position).
        self.last: int | None = None
        self.queue: deque[_Conn] = deque()
        #: seq -> (connection, worker) sent and not answered yet.
        self.inflight: dict[int, tuple[_Conn, Any]] = {}
        self.accepted = 0
        self._acceptor: Any = gevent.spawn(self._accept_loop)

    # --- accepting --------------------------------------------------------

    def _accept_loop(self) -> None:
        sock = self.sock
        io = get_hub().loop.io(sock.fileno(), 1)
        delay = 0.01
        try:
            while True:
                for _ in range(32):  # then let the other greenlets run
                    try:
                        fd, peer = sock._accept()
                    except BlockingIOError:
                        get_hub().wait(io)
                        break
                    except OSError as exc:
                        action = accept_error_action(exc.errno)
                        if action == RETRY:
                            continue
                        if action == CLOSE:
                            logger.error("gnet: cluster primary's listening socket %s failed "
                                         "(%s): no longer accepting", self.key, exc)
                            return
                        assert action == BACK_OFF
                        logger.warning("gnet: cluster primary cannot accept on %s (%s); "
                                       "retrying in %.2f s", self.key, exc, delay)
                        gevent.sleep(delay)
                        delay = min(1.0, delay * 2)
                        break
                    delay = 0.01
                    self.accepted += 1
                    self.queue.append(_Conn(fd, peer))
                    self._dispatch()
                else:
                    gevent.sleep(0)
        finally:
            io.close()

    def stop_accepting(self) -> None:
        """Stop taking connections; the socket stays open (others may accept on it)."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.kill(block=False)

    # --- handing off ------------------------------------------------------

    def sockname(self) -> list[Any]:
        return list(self.sock.getsockname())

    def add(self, worker: Any) -> None:
        """A worker's server listens here: it is free, and gets what waits."""
        self.all[worker.id] = worker
        self.free.add(worker.id)
        self._dispatch()

    def _dispatch(self) -> None:
        # While connections wait and someone is free: the next free worker
        # in ring order after the last one served, with the first waiting
        # connection it has not refused.
        while self.queue and self.free:
            ids = sorted(self.all)
            start = ids.index(self.last) + 1 if self.last in self.all else 0
            for wid in ids[start:] + ids[:start]:
                if wid in self.free:
                    conn = next((c for c in self.queue if wid not in c.refused), None)
                    if conn is not None:
                        break
            else:
                return  # what waits was refused by every free worker
            self.queue.remove(conn)
            self.free.discard(wid)
            self.last = wid
            if not self._send(self.all[wid], conn):
                return

    def _send(self, worker: Any, conn: _Conn) -> bool:
        global _seq
        _seq += 1
        channel = worker._channel
        sent = channel is not None and channel.send(
            {"c": "newconn", "key": self.key, "seq": _seq, "peer": conn.peer, "fd": True},
            conn.fd)
        if sent:
            self.inflight[_seq] = (conn, worker)
            return True
        # The channel is gone: the worker is leaving. Back to the head.
        self.queue.appendleft(conn)
        self.remove(worker)
        return False

    def ack(self, worker: Any, seq: int, accepted: bool) -> None:
        """The worker's answer about connection ``seq``: it is free again."""
        entry = self.inflight.pop(seq, None)
        if entry is not None:
            conn = entry[0]
            if accepted:
                conn.close()  # the worker has its own copy
            else:
                conn.refused.add(worker.id)
                if self.all and set(self.all) <= conn.refused:
                    # Every worker is full (maxConnections): as a single
                    # server at its limit, drop it.
                    conn.close()
                else:
                    self.queue.appendleft(conn)
        if worker.id in self.all and not any(w is worker for _c, w in self.inflight.values()):
            self.free.add(worker.id)
        self._dispatch()

    def remove(self, worker: Any) -> None:
        """``worker`` no longer serves this handle; what it had not taken goes to the others."""
        self.all.pop(worker.id, None)
        self.free.discard(worker.id)
        back = sorted((seq for seq, (_c, w) in self.inflight.items() if w is worker),
                      reverse=True)
        for seq in back:
            self.queue.appendleft(self.inflight.pop(seq)[0])
        if self.all:
            for conn in [c for c in self.queue if set(self.all) <= c.refused]:
                self.queue.remove(conn)
                conn.close()
        self._dispatch()

    def pending(self) -> int:
        """Connections accepted and not yet taken by a worker."""
        return len(self.queue) + len(self.inflight)

    def close(self) -> None:
        """Stop accepting, close the socket and every connection no worker took."""
        self.stop_accepting()
        try:
            self.sock.close()
        except OSError:
            pass
        for conn in self.queue:
            conn.close()
        self.queue.clear()
        for conn, _worker in self.inflight.values():
            conn.close()
        self.inflight.clear()
        self.all.clear()
        self.free.clear()


class RRListener:
    """The worker's side: what its server has for a listening socket.

    ``offer()`` (the channel's reader) queues a connection the primary
    sent; the server's accept loop takes it with ``_accept()``, which
    answers the primary. ``post(obj)`` sends one message to the primary,
    in order.
    """

    def __init__(self, key: str, family: int, sockname: Any,
                 post: Callable[[dict[str, Any]], None]) -> None:
        self.key = key
        self.family = family
        self.type = _socket.SOCK_STREAM
        self._sockname = tuple(sockname) if isinstance(sockname, list) else sockname
        self._post = post
        self._queue: deque[tuple[int, Any, int]] = deque()
        self._r, self._w = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self._r.setblocking(False)
        self._w.setblocking(False)
        #: The server listening here (set by gnet.cluster).
        self.server: Any = None
        self.closed = False

    def fileno(self) -> int:
        return self._r.fileno()

    def setblocking(self, flag: bool) -> None:
        """Always non-blocking: ``_accept()`` raises BlockingIOError when nothing waits."""

    def getsockname(self) -> Any:
        return self._sockname

    def offer(self, fd: int, peer: Any, seq: int) -> None:
        """A connection from the primary (the channel's reader calls it)."""
        if self.closed:
            os.close(fd)
            self._post({"c": "ack", "key": self.key, "seq": seq, "accepted": False})
            return
        self._queue.append((fd, tuple(peer) if isinstance(peer, list) else peer, seq))
        try:
            self._w.send(b"\0")  # readable: the server's accept loop wakes
        except BlockingIOError:
            pass  # already readable

    def _accept(self) -> tuple[int, Any]:
        # Called by Server's accept loop (hub), as socket._accept().
        while self._queue:
            fd, peer, seq = self._queue.popleft()
            server = self.server
            limit = getattr(server, "maxConnections", None)
            if (limit is not None and server._open >= limit
                    and not getattr(server, "dropMaxConnection", False)):
                # Node 21+: let another worker have it.
                os.close(fd)
                self._post({"c": "ack", "key": self.key, "seq": seq, "accepted": False})
                continue
            self._post({"c": "ack", "key": self.key, "seq": seq, "accepted": True})
            return fd, peer
        try:
            while self._r.recv(4096):
                pass
        except BlockingIOError:
            pass
        raise BlockingIOError

    def close(self) -> None:
        """The server closed: give back what it did not take, and tell the primary."""
        if self.closed:
            return
        self.closed = True
        while self._queue:
            fd, _peer, seq = self._queue.popleft()
            os.close(fd)
            self._post({"c": "ack", "key": self.key, "seq": seq, "accepted": False})
        self._post({"c": "close", "key": self.key})
        self._r.close()
        self._w.close()
