"""``gnet echo --workers N`` and ``gnet chat --workers N``: one port, N processes.

Theory of operation
-------------------
The command runs twice over. The process the user started is the
**primary** (:func:`run_primary`): it forks N workers with
:mod:`gnet.cluster`, each the same command line (``python -m gnet ...``)
with the cluster's environment, so :data:`gnet.cluster.isWorker` tells
the worker apart. A worker's ``listen()`` asks the primary, which binds the
address once and passes the listening socket to every worker (the cluster's
shared policy: what is queued survives a worker's death; ``--port 0`` gives
every worker the same port).

- Start: the primary prints the usual ``... listening on HOST:PORT`` line
  once every worker listens, then one line naming each worker's id and pid.
  A worker that cannot listen (EADDRINUSE) sends its one error line to the
  primary instead of printing it (N copies would say the same), and the
  primary prints it once, stops the others and exits 1.
- Running: a worker that dies afterwards is reported on stderr and
  replaced (``respawn``, with the cluster's back-off).
- Chat: each worker's :class:`~gnet.chat.ChatRoom` relays what its members
  do to the primary as cluster messages (``cluster.worker.send``); the
  primary answers or passes each on to every other worker, whose room
  :meth:`~gnet.chat.ChatRoom.hear` s it (``worker.send``). The primary
  keeps the roster (every name, by :func:`~gnet.chat.name_key`, and its
  worker) and is the one judge of names: a worker's ``claim`` is granted
  (``claimed`` with ``ok`` and the names on the other workers, and
  ``join`` to the others) or refused, so two workers never give
  look-alike names, and everything one member sees comes in the order the
  primary saw it. A worker that dies has its members' leaves announced.
  The room's log lines carry ``[worker ID]``.
- Restart: SIGHUP to the primary replaces the workers one at a time, as
  :func:`gnet.cluster.restart` does for programs: a new worker is forked,
  and once it listens the old one is told ``retire``, on which it
  disconnects itself (``cluster.worker.disconnect()``: its channel stays
  open until its connections have ended, where the primary's
  ``worker.disconnect()`` would close it at once). The old worker stops
  accepting at once (the new ones take every new
  connection from the shared socket, so none is refused) and keeps serving
  the connections it has: chat members on it go on talking with everyone,
  on every worker, as before. An echo client that hangs up, or chat members
  who all leave, let it exit by itself. Chat connections are long-lived, so
  draining may never end by itself: :data:`GRACE_MS` after ``retire`` the
  old worker does what a stop does (chat: every member still there is told
  ``* the server is shutting down`` and hung up a second later, their
  leaves announced to the others; echo: its clients are hung up), and a
  client that reconnects reaches a new worker. The primary says on stderr
  which worker replaced which, and ``worker N (pid P) retired`` when an old
  one ends. A SIGHUP during a restart or a stop is ignored (and said so).
- Stop: SIGINT/SIGTERM reach the primary (Ctrl-C at a terminal reaches
  the workers too; they leave it to the primary). The primary sends each
  worker ``stop`` (what the single-process command does on a signal: chat
  says goodbye and hangs up a second later, echo hangs up at once), then
  runs :func:`gnet.graceful.gracefulStop`, which disconnects the workers
  and waits for them. A second signal repeats ``stop`` (chat then hangs up
  at once); a third kills the workers. Status 0 when every worker ended by
  itself, 3 when some had to be killed after :data:`GRACE_MS`.

The messages, JSON objects with a ``t`` (type): worker to primary
``error`` (``text``), ``claim`` (``name``, ``ref``), ``say`` (``name``,
``text``), ``leave`` (``name``); primary to worker ``claimed`` (``ref``,
``ok``, ``names``), ``stop``, ``retire`` (``ms``: the grace period),
``join`` (``name``), the relayed ``say`` and ``leave``, and ``lost``
(``count``: relayed lines dropped for this worker, see below).

A worker that does not read (flooded members, a stopped worker)
----------------------------------------------------------------
Every line a member says costs the primary one channel message per other
worker, and a worker that stops reading its channel (busy, swapped out,
stopped with SIGSTOP) would make the primary hold all of them: the channel's
``send`` blocks once the kernel's socket buffer is full, and each blocked
relay held a greenlet (about 10 KB per line: 5 MB a second for ten members
at the default rate, without end). So the primary sends each worker's
messages from a :class:`RelayQueue`: in order, one greenlet per worker,
never blocking the relay, and holding at most :data:`MAX_RELAY_BACKLOG`
bytes of relayed lines for one worker. Past that, the lines other members
say (and their joins and leaves) are dropped for that worker only, and
counted; once half of its backlog is out, it is told ``lost`` with the
count, and its room tells its members ``* N lines said on other workers
were lost: this server fell behind``. The primary says on stderr when a
worker falls behind and, with the count, when it catches up (or exits).
Answers to a worker's own claims, ``stop`` and ``retire`` are never
dropped (they are few: one per claim the worker itself sent).

Why drop, rather than stop reading the flooders or restart the worker: the
other workers' members must not wait for one stuck process (stopping the
relay for everyone would let one SIGSTOP freeze the whole room), and a
worker stopped for a few seconds should not cost its members their
connections. Its members miss what was said meanwhile, as a member who
stops reading does (see :mod:`gnet.chat`), and are told how much.
"""

from __future__ import annotations

import signal
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event

import gnet as net
from gnet.chat import name_key
from gnet.cli.common import EXIT_ERROR, EXIT_OK, on_signals, say, where
from gnet.loop import clearTimeout, setTimeout

__all__ = ("GRACE_MS", "MAX_RELAY_BACKLOG", "RelayQueue", "WorkerLink", "is_worker",
           "run_primary")

#: How long (ms) the primary waits for its workers to end after a stop
#: signal before killing them (chat's members get a second, then are cut off),
#: and how long a worker retired by SIGHUP keeps serving its connections.
GRACE_MS = 10_000

#: Bytes of relayed chat events (about: their JSON) the primary holds for one
#: worker that does not read its channel, beyond the kernel's socket buffer;
#: past it, relayed lines for that worker are dropped and counted. A member's
#: own unread backlog (gnet.chat.MAX_BACKLOG) is the same size.
MAX_RELAY_BACKLOG = 1024 * 1024


class RelayQueue:
    """The primary's messages to one worker: in order, never blocking, bounded.

    :meth:`send` queues a message and returns at once; one greenlet hands
    the queue to the channel (``worker.send``, which blocks while the
    kernel's buffer is full) and ends when it is empty. Messages sent with
    ``droppable`` (relayed lines, joins, leaves) are dropped and counted in
    :attr:`dropped` while more than ``limit`` bytes wait, and from then on
    until the backlog is down to half the limit: then the worker is told
    ``{'t': 'lost', 'count': N}`` and ``report`` is called with the count.
    ``report`` is also called with 0 when the first line is dropped. Other
    messages are always queued.

    Args:
        worker: The :class:`gnet.cluster.Worker` to send to.
        limit: Bytes of messages held (see :data:`MAX_RELAY_BACKLOG`).
        report: Called with 0 when the worker falls behind, and with the
            count of lines dropped when it has caught up.

    Attributes:
        queued: Bytes waiting (the messages' approximate size).
        dropped: Lines dropped since the worker fell behind (0: it is not).
        total_dropped: Lines dropped for this worker in all.
    """

    def __init__(self, worker: Any, limit: int = MAX_RELAY_BACKLOG,
                 report: Callable[[int], None] | None = None) -> None:
        self.worker = worker
        self.limit = limit
        self.report = report
        self.queued = 0
        self.dropped = 0
        self.total_dropped = 0
        self.behind = False
        self._queue: deque[tuple[dict[str, Any], int]] = deque()
        self._sender: Any = None

    def send(self, message: dict[str, Any], droppable: bool = False, size: int = 0) -> bool:
        """Queue ``message`` (``size``: its bytes, estimated if 0); False if it was dropped."""
        if not size:
            size = _message_size(message)
        if droppable and (self.behind or self.queued + size > self.limit):
            self.dropped += 1
            self.total_dropped += 1
            if not self.behind:
                self.behind = True
                if self.report is not None:
                    self.report(0)
            return False
        self._queue.append((message, size))
        self.queued += size
        if self._sender is None:
            self._sender = gevent.spawn(self._send)
        return True

    def _send(self) -> None:
        queue = self._queue
        try:
            while queue:
                message, size = queue.popleft()
                if not self.worker.send(message):
                    # The channel is closed: nothing more reaches this worker.
                    queue.clear()
                    self.queued = 0
                    return
                self.queued -= size
                if self.behind and self.queued <= self.limit // 2:
                    self._caught_up()
        finally:
            self._sender = None

    def _caught_up(self) -> None:
        count, self.dropped, self.behind = self.dropped, 0, False
        message = {"t": "lost", "count": count}
        size = _message_size(message)
        self._queue.append((message, size))
        self.queued += size
        if self.report is not None:
            self.report(count)


def _message_size(message: dict[str, Any]) -> int:
    """About the bytes of ``message``'s JSON line, without encoding it."""
    size = 16
    for key, value in message.items():
        size += len(key) + 4
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, list):
            size += sum(len(item) + 3 for item in value if isinstance(item, str))
        else:
            size += 8
    return size



def is_worker() -> bool:
    """Whether this process is a worker of ``--workers`` (the cluster's environment says so)."""
    # Imported only for --workers: in a worker the import connects it to its primary.
    import gnet.cluster as cluster

    return bool(cluster.isWorker)


def _worker_argv() -> list[str]:
    # ``python -m gnet``, not sys.argv[0]: the console script's path or
    # gnet/__main__.py run as a file (whose directory would shadow the
    # standard library's socket module with gnet's own).
    flags = ["-X", "dev"] if sys.flags.dev_mode else []
    return [*flags, "-m"]


def run_primary(what: str, argv: list[str], count: int, prog: str = "gnet",
                chat: bool = False) -> int:
    """Fork ``count`` workers running ``gnet <argv>``, supervise them, stop them on a signal.

    Args:
        what: The server's name in the listening line (``echo server``).
        argv: The command line the workers run (``sys.argv[1:]`` of the primary).
        count: Workers to fork.
        prog: Name that prefixes the lines printed on stderr.
        chat: Relay chat events between the workers and keep the roster.

    Returns:
        The exit status: 0 once stopped, 1 if the workers could not listen,
        3 if some worker had to be killed at the end of the grace period.
    """
    import gnet.cluster as cluster
    import gnet.graceful as graceful

    cluster.setupPrimary({"exec": "gnet", "execArgv": _worker_argv(), "args": list(argv)})
    state: dict[str, Any] = {"status": EXIT_OK, "error": None, "announced": False,
                             "stopping": 0, "restarting": False}
    # Workers told to retire (SIGHUP), by id.
    retiring: set[int] = set()
    listening: dict[int, Any] = {}
    # Every chat member's name by name_key, and the id of its worker.
    roster: dict[str, tuple[str, int]] = {}
    # What the primary sends each worker, by id (see RelayQueue).
    queues: dict[int, RelayQueue] = {}
    stopped = Event()

    def queue(worker: Any) -> RelayQueue:
        q = queues.get(worker.id)
        if q is None:
            def report(count: int, w: Any = worker) -> None:
                if count == 0:
                    say(prog, f"worker {w.id} (pid {w.process.pid}) is not reading its channel: "
                              "lines relayed to it are dropped until it catches up")
                else:
                    say(prog, f"worker {w.id} (pid {w.process.pid}) caught up; {count} "
                              "relayed lines were dropped for it")
            q = queues[worker.id] = RelayQueue(worker, MAX_RELAY_BACKLOG, report)
        return q

    def others(sender: Any) -> list[Any]:
        return [w for w in list(cluster.workers.values()) if w is not sender]

    def fail(text: str) -> None:
        if state["error"] is None:
            state["error"] = text
            state["status"] = EXIT_ERROR
        for w in list(cluster.workers.values()):
            w.kill()

    def on_listening(worker: Any, address: Any) -> None:
        listening[worker.id] = address
        if state["announced"] or len(listening) < count or state["error"]:
            return
        state["announced"] = True
        print(f"{what} listening on {where(address)} (Ctrl-C to stop)", flush=True)
        pids = ", ".join(f"{w.id} (pid {w.process.pid})" for w in cluster.workers.values())
        print(f"{count} workers: {pids}", flush=True)
        # From now on a worker that dies is replaced.
        cluster.setupPrimary({"respawn": True})

    def on_message(worker: Any, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        kind = msg.get("t")
        if kind == "error":
            fail(str(msg.get("text")))
        elif chat and kind in ("claim", "say", "leave") and isinstance(msg.get("name"), str):
            relay(worker, kind, msg)

    def relay(worker: Any, kind: str, msg: dict[str, Any]) -> None:
        name: str = msg["name"]
        key = name_key(name)
        if kind == "claim":
            ok = key not in roster
            if ok:
                roster[key] = (name, worker.id)
            names = [n for n, wid in roster.values() if wid != worker.id]
            queue(worker).send({"t": "claimed", "ref": msg.get("ref"), "ok": ok,
                                "names": names})
            if not ok:
                return
            msg = {"t": "join", "name": name}
        elif kind == "leave":
            if roster.get(key, (None, None))[1] != worker.id:
                return  # not its member's name
            del roster[key]
        # One size for every worker: the same dict goes into each queue.
        size = _message_size(msg)
        for other in others(worker):
            queue(other).send(msg, droppable=True, size=size)

    def on_exit(worker: Any, code: int | None, sig: str | None) -> None:
        q = queues.pop(worker.id, None)
        if q is not None and q.dropped:
            say(prog, f"worker {worker.id} (pid {worker.process.pid}) exited before it caught "
                      f"up; {q.dropped} relayed lines were dropped for it")
        for key, (name, wid) in list(roster.items()):
            if wid == worker.id:
                del roster[key]
                for other in others(worker):
                    queue(other).send({"t": "leave", "name": name}, droppable=True)
        if state["stopping"] or state["error"]:
            return
        how = f"status {code}" if sig is None else sig
        if worker.id in retiring:
            retiring.discard(worker.id)
            say(prog, f"worker {worker.id} (pid {worker.process.pid}) retired ({how})")
        elif not state["announced"]:
            fail(f"worker {worker.id} (pid {worker.process.pid}) exited ({how}) before "
                 "listening")
        else:
            say(prog, f"worker {worker.id} (pid {worker.process.pid}) exited ({how}); "
                      "starting another")

    def rolling_restart() -> None:
        # gnet.cluster.restart's order, with 'retire' told first: each old
        # worker goes once its replacement listens.
        state["restarting"] = True
        try:
            olds = [w for w in list(cluster.workers.values())
                    if w.id not in retiring and w.process.poll() is None]
            for old in olds:
                if state["stopping"] or state["error"]:
                    return
                new = cluster.fork()
                ready = Event()
                new.once("listening", lambda *_args, r=ready: r.set())
                new.once("exit", lambda *_args, r=ready: r.set())
                ready.wait(30.0)
                if new.state != "listening":
                    say(prog, f"worker {new.id} (pid {new.process.pid}) did not listen; "
                              f"worker {old.id} goes on serving")
                    if new.process.poll() is None:
                        new.kill()
                    return
                retiring.add(old.id)
                # Not old.disconnect(): that closes the channel at once, and
                # the old worker's chat members would no longer hear the
                # others. The worker disconnects itself: it stops accepting,
                # and its channel closes once its connections have ended.
                queue(old).send({"t": "retire", "ms": GRACE_MS})
                say(prog, f"worker {new.id} (pid {new.process.pid}) replaces worker {old.id} "
                          f"(pid {old.process.pid}), which finishes its connections")
                # The old worker ends its connections after GRACE_MS itself;
                # one that does not is killed a little later.
                gevent.spawn_later(GRACE_MS / 1000.0 + 5.0, lambda w=old: (
                    w.process.poll() is None and w.process.kill()))
        finally:
            state["restarting"] = False

    def on_hangup() -> None:
        if state["stopping"] or state["error"] or not state["announced"] or \
                state["restarting"]:
            say(prog, "SIGHUP ignored: the workers are starting, restarting or stopping")
            return
        say(prog, "SIGHUP: replacing the workers one at a time")
        gevent.spawn(rolling_restart)

    def stop_all() -> None:
        state["status"] = graceful.gracefulStop(GRACE_MS, hurry)
        stopped.set()

    hurry = Event()

    def on_signal(_signum: int) -> None:
        state["stopping"] += 1
        if state["stopping"] > 2:
            hurry.set()
            return
        for w in list(cluster.workers.values()):
            queue(w).send({"t": "stop"})
        if state["stopping"] == 1:
            gevent.spawn(stop_all)

    cluster.on("listening", on_listening)
    cluster.on("message", on_message)
    cluster.on("exit", on_exit)
    handlers = [*on_signals(on_signal), gevent.signal_handler(signal.SIGHUP, on_hangup)]
    try:
        for _ in range(count):
            cluster.fork()
        # Each live worker keeps run() waiting; so does a respawn's timer.
        net.run()
        if state["stopping"]:
            stopped.wait()
    finally:
        for handler in handlers:
            handler.cancel()
        for name, listener in (("listening", on_listening), ("message", on_message),
                               ("exit", on_exit)):
            cluster.removeListener(name, listener)
    if state["error"] is not None:
        say(prog, state["error"])
        return EXIT_ERROR
    status: int = state["status"]
    return status


class WorkerLink:
    """A worker's side: its id for log lines, messages to and from the primary, signals.

    ``on_stop`` runs when the primary says ``stop`` or on SIGTERM sent to the
    worker itself; SIGINT is left to the primary (Ctrl-C at a terminal
    reaches every process of the group, and the primary tells the workers).
    ``retire`` (a SIGHUP restart) disconnects the worker (its server stops
    accepting; it ends once its connections have) and runs ``on_stop`` once
    the grace period has passed, unless the worker has ended by then.
    """

    def __init__(self, on_stop: Callable[[], None]) -> None:
        import gnet.cluster as cluster

        worker = cluster.worker
        assert worker is not None
        self.worker = worker
        self.id: int = worker.id
        self.on_stop = on_stop
        self.on_event: Callable[[Any], None] | None = None
        worker.on("message", self._on_message)
        self._handlers = [gevent.signal_handler(signal.SIGINT, lambda: None),
                          gevent.signal_handler(signal.SIGTERM, on_stop)]
        self._retire_timer: Any = None

    def send(self, message: dict[str, Any]) -> None:
        """To the primary (lost if it is gone: the worker is stopping then)."""
        self.worker.send(message)

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and msg.get("t") == "stop":
            self.on_stop()
        elif isinstance(msg, dict) and msg.get("t") == "retire":
            if self._retire_timer is None:
                # Unref'd: a worker whose connections all end exits sooner.
                self._retire_timer = setTimeout(self.on_stop, float(msg.get("ms") or 0))
                self._retire_timer.unref()
                self.worker.disconnect()
        elif self.on_event is not None:
            self.on_event(msg)

    def close(self) -> None:
        if self._retire_timer is not None:
            clearTimeout(self._retire_timer)
        for handler in self._handlers:
            handler.cancel()
        self.worker.removeListener("message", self._on_message)
