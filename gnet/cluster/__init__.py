"""Node's ``cluster`` module: one server on every core, in worker processes.

``from gnet import cluster`` and write Node's cluster code::

    if cluster.isPrimary:
        for _ in range(os.cpu_count()):
            cluster.fork()
        cluster.on("exit", lambda worker, code, signal: cluster.fork())
    else:
        net.createServer(handler).listen(8000)
    net.run()

Workers are new Python processes running the same script
(``sys.executable`` with ``sys.argv``, or ``setupPrimary({'exec': ...})``),
told apart by the environment variable ``GNET_UNIQUE_ID`` (Node's
``NODE_UNIQUE_ID``). They are never ``os.fork()`` copies of a running
primary: a fork of a process whose gevent hub runs copies the hub, its
watchers and greenlets half way through whatever they were doing.

The channel between the primary and a worker is a Unix socket pair; a
message is one JSON line (Node serialises cluster messages as JSON too, so
what ``JSON.stringify`` cannot carry cannot be sent here either). Internal
messages (online, listening, queryServer, disconnect) never reach
'message' listeners.

Scheduling (``cluster.schedulingPolicy``, ``setupPrimary({'schedulingPolicy':
...})``, or the environment variable ``NODE_CLUSTER_SCHED_POLICY`` set to
``'rr'`` or ``'none'``, read when the module loads, as Node reads it):

* ``'shared'`` / ``SCHED_NONE`` (**the default here**): a worker's
  ``listen()`` on TCP asks the primary, which binds the socket once and
  passes the listening descriptor to every worker that asks for the same
  address (SCM_RIGHTS); each worker accepts on it, one connection per
  wake-up. The accept queue belongs to the one socket, so a worker that
  dies or blocks loses nothing that is queued: the others take it.
  ``listen(0)`` gives every worker the same port, as in Node.
* ``'rr'`` / ``SCHED_RR`` (Node's default on every platform but Windows):
  the primary listens and accepts, and hands each connection to the next
  free worker in turn over the worker's channel (:mod:`gnet.cluster_rr`);
  the worker's server emits 'connection' for it as for one it accepted, and
  its ``address()`` is the primary's socket's. Connections spread evenly
  (one at a time, they alternate strictly), which suits long-lived
  connections. The primary keeps each connection until the worker says it
  took it, so one handed to a worker that dies, closes its server or is at
  ``maxConnections`` goes to another worker (Node 20 leaves a dead
  worker's untaken connection hanging). TCP only; a Unix path is bound by
  each worker, as under the shared policy.
* ``'reusePort'``: each worker binds its own socket with SO_REUSEPORT and
  the kernel spreads connections over them. Linux drops the connections
  queued on a socket that closes (unless ``net.ipv4.tcp_migrate_req=1``),
  and the spread ignores load.

Why gnet's default is not Node's: under round-robin every connection
passes through the primary, one process on one core, which then bounds
the whole cluster's connection rate, and costs a message round trip before
its worker sees it (measured with two workers, 16 concurrent loopback
clients on the same busy two-core machine: 1 400 to 1 900 connections a
second under round-robin, about 4 000 with the shared socket). And
gnet's contract lets a 'connection' listener block: under round-robin a
blocked worker holds the one connection it was handed until it unblocks
or dies (``heartbeatTimeout``), while with the shared socket it simply
stops accepting and the others take everything. Node chose round-robin
because the shared socket spreads unevenly on some systems (its docs
report over 70 % of connections on 2 of 8 processes); for long-lived
connections where the spread matters, choose ``SCHED_RR``.

A worker's ``listen({'exclusive': True})`` or ``listen({'reusePort':
True})`` binds its own socket, as in Node; Unix socket paths are never
shared (each worker binds the path itself).

Supervision: the primary reports a dead worker with 'exit' (worker, code,
signal), ``code`` None when a signal killed it. ``setupPrimary({'respawn':
True})`` (gnet) forks a replacement for every worker that exits without
``disconnect()``/``kill()``, with back-off when workers die young;
``setupPrimary({'heartbeatTimeout': ms})`` (gnet) kills a worker whose
loop has not run for that long (a listener stuck in a blocking call). A
worker whose primary dies (its channel closes without a disconnect)
exits with status 0, as Node's do.

Stopping: ``gnet.run(graceful=ms)`` in the primary, on SIGTERM/SIGINT,
disconnects every worker (each closes its servers and exits once its
connections have ended) and kills those still alive when the grace period
ends (then the status is 3, see :mod:`gnet.graceful`); on SIGHUP it
replaces the workers one by one (:func:`restart`); on SIGUSR2 it starts a
new copy of the program, hands it the listening sockets (systemd
``LISTEN_FDS`` style) and retires once the new primary's workers listen
(:func:`upgrade`, :mod:`gnet.upgrade`: a zero-downtime upgrade of the
code, the primary included).

In a worker, ``cluster.worker`` is the worker itself: ``worker.send(msg)``
reaches the primary ('message' on the primary's Worker and on the
cluster), and ``worker.on('message', ...)`` receives what the primary
sends. The worker's channel keeps nothing alive: a worker lives as long as
its servers and timers do (Node's worker does the same unless it listens
for ``process`` messages).
"""

from __future__ import annotations

import _socket
import atexit
import json
import logging
import os
import signal as _signal
import socket as _stdsocket
import sys
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

import gevent
from gevent import get_hub, socket as gsocket, subprocess as gsubprocess
from gevent.event import AsyncResult, Event
from gevent.lock import Semaphore
from zope.interface import implementer

import gnet.graceful as graceful
import gnet.upgrade as upgrade_module
from gnet.cluster_rr import RoundRobinHandle, RRListener
from gnet.dispatch import schedule
from gnet.errors import InvalidArgValueError, system_error
from gnet.events import EventEmitter
from gnet.interfaces import IWorker
from gnet.loop import Handle, fail_run, run_waiting, setTimeout
from gnet.naming import add_aliases, module_aliases
from gnet.server import set_listen_hook, tcp_listener

if TYPE_CHECKING:
    from gnet.server import Server

logger = logging.getLogger("gnet")

_public = (
    "SCHED_NONE",
    "SCHED_RR",
    "Worker",
    "disconnect",
    "fork",
    "isMaster",
    "isPrimary",
    "isWorker",
    "restart",
    "schedulingPolicy",
    "settings",
    "setupMaster",
    "setupPrimary",
    "upgrade",
    "worker",
    "workers",
    "on",
    "once",
    "off",
    "addListener",
    "removeListener",
    "removeAllListeners",
    "prependListener",
    "listenerCount",
    "emit",
)

SCHED_NONE = 1
SCHED_RR = 2

_ENV_ID = "GNET_UNIQUE_ID"
_ENV_FD = "GNET_CLUSTER_FD"
_ENV_SCHED = "GNET_CLUSTER_SCHED"
_ENV_BEAT = "GNET_CLUSTER_HEARTBEAT"

# The one emitter behind cluster.on/once/emit...
_emitter = EventEmitter()
on = _emitter.on
once = _emitter.once
off = _emitter.off
addListener = _emitter.addListener
removeListener = _emitter.removeListener
removeAllListeners = _emitter.removeAllListeners
prependListener = _emitter.prependListener
listenerCount = _emitter.listenerCount
emit = _emitter.emit

isWorker = _ENV_ID in os.environ
isPrimary = not isWorker
isMaster = isPrimary

#: SCHED_NONE ('shared', the default here), SCHED_RR ('rr') or 'reusePort'.
#: Read from NODE_CLUSTER_SCHED_POLICY ('rr' or 'none') as Node does; Node's
#: default is SCHED_RR (see the module docstring for why gnet's is not).
schedulingPolicy: Any = {"rr": SCHED_RR, "none": SCHED_NONE}.get(
    os.environ.get("NODE_CLUSTER_SCHED_POLICY", ""), SCHED_NONE)
#: What setupPrimary() set (exec, args, execArgv, silent, cwd, respawn, ...).
settings: dict[str, Any] = {}
#: The live workers by id (primary); empty in a worker.
workers: dict[int, Worker] = {}
#: In a worker: the worker itself. None in the primary.
worker: Worker | None = None

_SETTINGS = ("exec", "args", "execArgv", "silent", "cwd", "env", "respawn", "heartbeatTimeout",
             "schedulingPolicy", "stdio", "upgradeTimeout")


def _policy_name(policy: Any) -> str:
    if policy in (SCHED_NONE, "shared", "none"):
        return "shared"
    if policy in (SCHED_RR, "rr"):
        return "rr"
    if policy in ("reusePort", "reuseport"):
        return "reusePort"
    raise InvalidArgValueError("cluster.schedulingPolicy", policy,
                               "must be SCHED_NONE ('shared'), SCHED_RR ('rr') or 'reusePort'")


# --- the channel -------------------------------------------------------------------


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


# --- Worker ------------------------------------------------------------------------


@implementer(IWorker)
class Worker(EventEmitter, Handle):
    """Node's ``cluster.Worker``: one worker process, seen from the primary or from itself.

    Events: 'online', 'listening' (address), 'message' (message),
    'disconnect', 'exit' (code, signal), 'error'.
    """

    def __init__(self, worker_id: int, process: Any, env: dict[str, str] | None = None) -> None:
        EventEmitter.__init__(self)
        self._init_handle()
        #: The worker's id: 1, 2, ... in fork order (``cluster.workers`` key).
        self.id = worker_id
        #: The worker's process (the primary's ``Popen``; in a worker, an object with ``pid``).
        self.process = process
        #: True when the worker ended after ``disconnect()`` or ``kill()``.
        self.exitedAfterDisconnect: bool | None = None
        self.state = "none"
        self._env = env
        self._channel: _Channel | None = None
        self._born = monotonic()
        self._channel_gone = Event()
        self._last_beat = monotonic()

    def send(self, message: Any, sendHandle: Any = None, options: Any = None,
             callback: Callable[..., Any] | None = None) -> bool:
        """Send ``message`` (anything JSON can carry) to the other side; its 'message' gets it.

        Returns False (and ``callback`` gets an error) when the channel is closed.
        """
        if callable(sendHandle) and callback is None:
            sendHandle, callback = None, sendHandle
        if callable(options) and callback is None:
            options, callback = None, options
        if sendHandle is not None:
            raise InvalidArgValueError("sendHandle", sendHandle,
                                       "is not supported by gnet.cluster")
        ok = self._channel is not None and self._channel.send({"m": message})
        if callback is not None:
            err = None if ok else OSError("channel closed")
            schedule(lambda: callback(err))
        return bool(ok)

    def isConnected(self) -> bool:
        """Whether the channel to the other side is open."""
        return self._channel is not None and self._channel.connected

    def isDead(self) -> bool:
        """Whether the worker process has exited."""
        if isWorker:
            return False
        return self.process.poll() is not None

    def disconnect(self) -> Worker:
        """Let the worker finish: it closes its servers, its connections end, then it exits.

        In the primary: marks the exit as planned (``exitedAfterDisconnect``),
        tells the worker, closes the channel. In a worker: closes its
        servers, then the channel.
        """
        self.exitedAfterDisconnect = True
        if isWorker:
            _worker_disconnect()
            return self
        if self._channel is not None and self._channel.connected:
            self._channel.send({"c": "disconnect"})
            self._channel.close()
        return self

    def kill(self, signal: str | int = "SIGTERM") -> None:
        """Close the channel and send ``signal`` to the worker (Node's ``worker.kill``)."""
        self.exitedAfterDisconnect = True
        if isWorker:
            os.kill(os.getpid(), _signum(signal))
            return
        if self._channel is not None:
            self._channel.close()
        if self.process.poll() is None:
            try:
                self.process.send_signal(_signum(signal))
            except OSError:
                pass

    destroy = kill

    def _emit(self, *args: Any) -> None:
        # Events on the worker, then on the cluster, in a gnet worker greenlet.
        def fire() -> None:
            self.emit(*args)
            _emitter.emit(args[0], self, *args[1:])
        schedule(fire)

    def __repr__(self) -> str:
        return f"<gnet.cluster.Worker id={self.id} pid={self.process.pid} {self.state}>"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        is_connected = isConnected
        is_dead = isDead
    # --- end of PEP 8 twins ---


add_aliases(Worker)


def _signum(sig: str | int) -> int:
    if isinstance(sig, int):
        return sig
    try:
        return int(_signal.Signals[sig])
    except KeyError:
        raise InvalidArgValueError("signal", sig, "is not a signal name") from None


# --- primary -----------------------------------------------------------------------

_next_id = 0
# Listening sockets the primary made for shared listen(): key -> (socket, worker ids).
_handles: dict[tuple[Any, ...], tuple[Any, set[int]]] = {}
# Round-robin handles (the primary accepts): key -> (handle, worker ids).
_rr_handles: dict[str, tuple[RoundRobinHandle, set[int]]] = {}
# Back-off for respawns of workers that die young, in seconds.
_respawn_delay = 0.0


def setupPrimary(options: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Set how workers start (Node's ``cluster.setupPrimary``); emits 'setup'.

    ``exec`` (script, default ``sys.argv[0]``), ``args`` (default
    ``sys.argv[1:]``), ``execArgv`` (interpreter options, default none),
    ``silent`` (worker stdout/stderr piped to ``worker.process``), ``cwd``,
    ``env`` (added to every worker's environment), ``schedulingPolicy``, and
    gnet's ``respawn`` (replace workers that exit unplanned) and
    ``heartbeatTimeout`` (ms: kill a worker whose loop has not run for that
    long, a listener stuck in a blocking call; off by default).
    """
    global schedulingPolicy
    opts = dict(options or {}, **kwargs)
    for key in opts:
        if key not in _SETTINGS:
            raise InvalidArgValueError(f"options.{key}", opts[key], "is not a cluster setting")
    if "schedulingPolicy" in opts:
        _policy_name(opts["schedulingPolicy"])
        schedulingPolicy = opts["schedulingPolicy"]
    settings.update(opts)
    settings["schedulingPolicy"] = schedulingPolicy
    _emitter.emit("setup", dict(settings))


setupMaster = setupPrimary


def fork(env: dict[str, str] | None = None) -> Worker:
    """Start a worker process running this script; returns its :class:`Worker`.

    ``env`` is added to the worker's environment. Events follow on the
    cluster and the worker: 'fork' now, 'online' once it runs, 'listening'
    per server, 'disconnect' and 'exit' at the end.
    """
    global _next_id
    if isWorker:
        raise RuntimeError("cluster.fork() is for the primary")
    policy = _policy_name(settings.get("schedulingPolicy", schedulingPolicy))
    _next_id += 1
    ours, theirs = _stdsocket.socketpair(_stdsocket.AF_UNIX, _stdsocket.SOCK_STREAM)
    child_env = dict(os.environ)
    child_env.update(settings.get("env") or {})
    child_env.update(env or {})
    child_env.update({_ENV_ID: str(_next_id), _ENV_FD: str(theirs.fileno()),
                      _ENV_SCHED: policy})
    beat = settings.get("heartbeatTimeout")
    if beat:
        # The worker beats four times per timeout.
        child_env[_ENV_BEAT] = str(float(beat) / 4.0)
    script = settings.get("exec", sys.argv[0])
    args = list(settings.get("args", sys.argv[1:]))
    argv = [sys.executable, *settings.get("execArgv", []), script, *args]
    silent = settings.get("silent", False)
    out = gsubprocess.PIPE if silent else None
    try:
        proc = gsubprocess.Popen(argv, env=child_env, pass_fds=[theirs.fileno()],
                                 cwd=settings.get("cwd"), stdout=out, stderr=out)
    finally:
        theirs.close()
    w = Worker(_next_id, proc, env)
    w._set_active(True)
    w.state = "forked"
    sock = gsocket.socket(fileno=ours.detach())
    w._channel = _Channel(sock, lambda obj, fd: _from_worker(w, obj, fd),
                          lambda: _channel_closed(w))
    workers[w.id] = w
    gevent.spawn(_watch, w)
    schedule(lambda: _emitter.emit("fork", w))
    return w


def disconnect(callback: Callable[[], Any] | None = None) -> None:
    """``worker.disconnect()`` for every worker; ``callback`` once all channels are closed."""
    live = list(workers.values())
    for w in live:
        w.disconnect()
    if callback is not None:
        def wait() -> None:
            for w in live:
                w._channel_gone.wait()
            schedule(callback)
        gevent.spawn(wait)


def restart(callback: Callable[[], Any] | None = None) -> None:
    """Replace every worker, one at a time, without refusing a connection (gnet).

    For each worker alive now: fork a replacement (same ``env``), wait
    until it listens (or is online, for a worker that never listened; 30 s
    at most), then ``disconnect()`` the old one, which finishes its
    connections. With the shared socket nothing is refused meanwhile.
    SIGHUP to a primary in ``run(graceful=...)`` does this. ``callback``
    runs when every old worker has been told to go.
    """
    if isWorker:
        raise RuntimeError("cluster.restart() is for the primary")
    gevent.spawn(_rolling_restart, callback)


def _rolling_restart(callback: Callable[[], Any] | None) -> None:
    for old in list(workers.values()):
        if old.exitedAfterDisconnect or old.process.poll() is not None:
            continue
        new = fork(old._env)
        ready = Event()
        new.once("listening" if old.state == "listening" else "online",
                 lambda *_args, r=ready: r.set())
        new.once("exit", lambda *_args, r=ready: r.set())
        ready.wait(30.0)
        old.disconnect()
    if callback is not None:
        schedule(callback)


def _from_worker(w: Worker, obj: dict[str, Any], fd: int | None) -> None:
    cmd = obj.get("c")
    if cmd is None:
        w._emit("message", obj.get("m"))
    elif cmd == "online":
        w.state = "online"
        w._last_beat = monotonic()
        if settings.get("heartbeatTimeout"):
            gevent.spawn(_watch_heartbeat, w, float(settings["heartbeatTimeout"]) / 1000.0)
        w._emit("online")
        _check_ready("online")
    elif cmd == "beat":
        w._last_beat = monotonic()
    elif cmd == "listening":
        w.state = "listening"
        w._emit("listening", obj.get("address"))
        _check_ready("listening")
    elif cmd == "queryServer":
        _query_server(w, obj)
    elif cmd == "ack":
        entry = _rr_handles.get(str(obj.get("key")))
        if entry is not None:
            entry[0].ack(w, int(obj.get("seq", -1)), bool(obj.get("accepted")))
    elif cmd == "close":
        _rr_closed(w, str(obj.get("key")))
    elif cmd == "planned":
        # The worker called disconnect() itself: its end is planned.
        w.exitedAfterDisconnect = True
    if fd is not None:
        os.close(fd)


def _watch_heartbeat(w: Worker, timeout_s: float) -> None:
    # gunicorn's rule: a worker whose loop has not run for the timeout (a
    # listener stuck in a blocking call) is killed; 'exit' reports SIGKILL.
    while w.process.poll() is None:
        late = monotonic() - w._last_beat
        if late > timeout_s:
            logger.warning("gnet: cluster worker %d (pid %d) sent no heartbeat for %.1f s: "
                           "killed", w.id, w.process.pid, late)
            w.process.kill()
            return
        gevent.sleep(min(timeout_s / 4.0, max(0.01, timeout_s - late)))


def _query_server(w: Worker, obj: dict[str, Any]) -> None:
    if obj.get("rr"):
        _query_rr(w, obj)
        return
    host, port = obj.get("host"), int(obj.get("port", 0))
    key = (host, port, bool(obj.get("ipv6Only")))
    entry = _handles.get(key)
    if entry is None:
        try:
            sock = _take_inherited(key) or tcp_listener(host, port, int(obj.get("backlog", 511)),
                                                        bool(obj.get("ipv6Only")))
        except OSError as exc:
            w._channel and w._channel.send({"c": "reply", "seq": obj.get("seq"),
                                            "errno": exc.errno or 0})
            return
        entry = _handles[key] = (sock, set())
    entry[1].add(w.id)
    if w._channel is not None:
        w._channel.send({"c": "reply", "seq": obj.get("seq"), "fd": True}, entry[0].fileno())


# Listening sockets a previous primary handed over (gnet.upgrade), by
# (host, port, ipv6Only, index), and the descriptor to say "ready" on.
_inherited: dict[tuple[Any, ...], int] = {}
_ready_fd: int | None = None
_inherited_any = False


def _take_inherited(key: tuple[Any, ...]) -> Any:
    # The socket a previous primary listened on for this address, if any.
    fd = _inherited.pop(key if len(key) == 4 else (*key, 0), None)
    if fd is None:
        return None
    return _socket.socket(fileno=fd)


def _check_ready(event: str) -> None:
    # A new primary is ready once a worker listens on every socket it was
    # handed (or every worker listens: the new code may no longer use one).
    global _ready_fd
    if _ready_fd is None:
        return
    all_listening = all(w.state == "listening" for w in workers.values())
    # Under reusePort nothing was handed over: each worker binds its own socket.
    own_sockets = _policy_name(settings.get("schedulingPolicy", schedulingPolicy)) == "reusePort"
    if (_inherited_any or own_sockets) and (
            event != "listening" or (not all_listening and (_inherited or own_sockets))):
        return
    for fd in _inherited.values():  # addresses the new code does not listen on
        os.close(fd)
    _inherited.clear()
    fd, _ready_fd = _ready_fd, None
    upgrade_module.say_ready(fd)


_upgrading = False


def upgrade(callback: Callable[..., Any] | None = None) -> None:
    """Hand the listening sockets to a new copy of the program, then retire (gnet).

    SIGUSR2 to a primary waiting in ``run(graceful=...)`` does this. The
    new primary (same interpreter and command line) gets every listening
    socket of the cluster, systemd style; once its workers listen, this
    primary stops as on SIGTERM (its workers finish their connections).
    If the new one exits first or is not ready within
    ``setupPrimary({'upgradeTimeout': ms})`` (30 s), it is stopped and this
    one goes on. ``callback(err, pid)`` gets None or an Error, and the new
    primary's pid. Outside ``run(graceful=...)`` this primary still stops
    gracefully (``upgradeTimeout`` is then its grace period). Why a child
    and not ``execve``: see :mod:`gnet.upgrade`.
    """
    if isWorker:
        raise RuntimeError("cluster.upgrade() is for the primary")
    gevent.spawn(_upgrade, callback)


def _upgrade(callback: Callable[..., Any] | None) -> None:
    global _upgrading
    if _upgrading or _stopping:
        logger.warning("gnet: upgrade: already upgrading or stopping; SIGUSR2 ignored")
        return
    _upgrading = True
    listeners = [(upgrade_module.fd_name((*key, 0)), sock.fileno())
                 for key, (sock, _users) in _handles.items()]
    listeners += [(upgrade_module.fd_name(tuple(json.loads(key))), handle.sock.fileno())
                  for key, (handle, _users) in _rr_handles.items()]
    err: BaseException | None = None
    pid = None
    try:
        proc, ready = upgrade_module.start_successor(listeners)
        pid = proc.pid
        logger.info("gnet: upgrade: new primary pid %d started", pid)
        timeout_s = float(settings.get("upgradeTimeout", 30000)) / 1000.0
        if not upgrade_module.wait_ready(proc, ready, timeout_s):
            err = RuntimeError(f"the new primary (pid {pid}) did not take over")
    except Exception as exc:  # reported, and this primary goes on
        err = exc
        logger.error("gnet: upgrade: could not start a new primary: %s", exc)
    if err is not None:
        _upgrading = False
    if callback is not None:
        schedule(lambda: callback(err, pid))
    if err is None:
        _retire()


def _retire() -> None:
    # The new primary serves: stop accepting here, let the old workers take
    # what this primary had accepted, then stop as on SIGTERM.
    handles = [handle for handle, _users in _rr_handles.values()]
    for handle in handles:
        handle.stop_accepting()
    deadline = monotonic() + 5.0
    while any(handle.pending() for handle in handles) and monotonic() < deadline:
        gevent.sleep(0.01)
    if _signal.getsignal(_signal.SIGTERM) in (_signal.SIG_DFL, None):
        # Not in run(graceful=...): a SIGTERM would end this primary at
        # once and its workers with it; stop gracefully all the same.
        code = graceful.gracefulStop(float(settings.get("upgradeTimeout", 30000)))
        fail_run(SystemExit(code))
        return
    os.kill(os.getpid(), _signal.SIGTERM)


def _query_rr(w: Worker, obj: dict[str, Any]) -> None:
    # Round-robin: the primary listens and accepts; the worker gets a key
    # and the socket's address, then connections one by one (gnet.cluster_rr).
    host, port = obj.get("host"), int(obj.get("port", 0))
    ipv6_only = bool(obj.get("ipv6Only"))
    key = json.dumps([host, port, ipv6_only, int(obj.get("index", 0))])
    entry = _rr_handles.get(key)
    if entry is None:
        try:
            sock = _take_inherited((host, port, ipv6_only)) or tcp_listener(
                host, port, int(obj.get("backlog", 511)), ipv6_only)
        except OSError as exc:
            w._channel and w._channel.send({"c": "reply", "seq": obj.get("seq"),
                                            "errno": exc.errno or 0})
            return
        entry = _rr_handles[key] = (RoundRobinHandle(key, sock), set())
    handle, users = entry
    users.add(w.id)
    if w._channel is not None and w._channel.send(
            {"c": "reply", "seq": obj.get("seq"), "rr": key, "family": int(handle.sock.family),
             "sockname": handle.sockname()}):
        handle.add(w)


def _rr_closed(w: Worker, key: str) -> None:
    # The worker's server on a round-robin handle closed (Node's act 'close').
    entry = _rr_handles.get(key)
    if entry is None:
        return
    handle, users = entry
    handle.remove(w)
    users.discard(w.id)
    if not users:
        del _rr_handles[key]
        handle.close()


@atexit.register
def _close_handles() -> None:
    # The primary's shared listening sockets, kept for a respawn that will not come.
    for sock, _users in _handles.values():
        sock.close()
    _handles.clear()
    for handle, _users in _rr_handles.values():
        handle.close()
    _rr_handles.clear()


def _release_handles(w: Worker) -> None:
    # A shared socket nobody uses any more is closed, unless a replacement
    # is coming (respawn): what is queued waits for it.
    for handle, _users in _rr_handles.values():
        handle.remove(w)
    if settings.get("respawn") and not w.exitedAfterDisconnect and not _stopping:
        return
    for key, (sock, users) in list(_handles.items()):
        users.discard(w.id)
        if not users:
            del _handles[key]
            sock.close()
    for rr_key, (handle, users) in list(_rr_handles.items()):
        users.discard(w.id)
        if not users:
            del _rr_handles[rr_key]
            handle.close()


def _channel_closed(w: Worker) -> None:
    w._channel_gone.set()
    # Nothing more reaches it: what it had not taken goes to the others.
    for handle, _users in list(_rr_handles.values()):
        handle.remove(w)
    w.exitedAfterDisconnect = bool(w.exitedAfterDisconnect)
    if w.state != "dead":
        w.state = "disconnected"
    w._emit("disconnect")


def _watch(w: Worker) -> None:
    code = w.process.wait()
    # The channel ends with the process; 'disconnect' comes before 'exit'.
    w._channel_gone.wait(1.0)
    if w._channel is not None and w._channel.connected:
        w._channel.close()
        w._channel_gone.wait(1.0)
    w.state = "dead"
    sig = None
    if code < 0:
        sig = _signal.Signals(-code).name
        code = None
    w.exitedAfterDisconnect = bool(w.exitedAfterDisconnect)
    workers.pop(w.id, None)
    _release_handles(w)
    w._emit("exit", code, sig)
    if settings.get("respawn") and not w.exitedAfterDisconnect and not _stopping:
        _respawn(w)
    w._set_active(False)


def _respawn(w: Worker) -> None:
    global _respawn_delay
    young = monotonic() - w._born < 1.0
    _respawn_delay = min(max(_respawn_delay * 2, 0.1), 10.0) if young else 0.0
    # A gnet timer: it keeps run() waiting for the replacement.
    setTimeout(lambda: None if _stopping else fork(w._env), _respawn_delay * 1000.0)


_stopping = False


def _stop_workers(grace_ms: float, hurry: Event | None) -> bool:
    """The primary's part of a graceful stop: disconnect every worker, kill late ones."""
    global _stopping
    if not workers:
        return False
    _stopping = True
    for handle, _users in _rr_handles.values():
        handle.stop_accepting()  # what comes now waits in the kernel's queue
    live = list(workers.values())
    for w in live:
        w.disconnect()
    deadline = monotonic() + grace_ms / 1000.0
    while any(w.process.poll() is None for w in live):
        left = deadline - monotonic()
        if left <= 0 or (hurry is not None and hurry.is_set()):
            break
        gevent.sleep(min(left, 0.02))
    forced = False
    for w in live:
        if w.process.poll() is None:
            forced = True
            w.process.kill()
    for w in live:
        w.process.wait()
    return forced


# --- worker ------------------------------------------------------------------------

_seq = 0
_replies: dict[int, AsyncResult] = {}
_disconnecting = False
# Round-robin servers of this worker by key (gnet.cluster_rr).
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

    ``Server.listen`` calls it for TCP before binding anything itself.
    """
    if not isWorker:
        return False
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


_sched = os.environ.pop(_ENV_SCHED, "shared")


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


def _setup_worker() -> None:
    global worker
    worker_id = int(os.environ.pop(_ENV_ID))
    fd = int(os.environ.pop(_ENV_FD))
    os.set_inheritable(fd, False)

    class _Self:
        pid = os.getpid()

    worker = Worker(worker_id, _Self())
    worker.state = "online"
    worker._channel = _Channel(gsocket.socket(fileno=fd), _worker_message,
                               _worker_channel_closed)
    worker._channel.send({"c": "online"})
    beat = os.environ.pop(_ENV_BEAT, None)
    if beat:
        _start_heartbeat(float(beat) / 1000.0)
    # The server's listen path asks here first.
    set_listen_hook(shared_listen)


if isWorker:
    _setup_worker()
else:
    graceful.add_stopper(_stop_workers)
    graceful.add_reloader(restart)
    graceful.add_upgrader(upgrade)
    _inherited, _ready_fd = upgrade_module.inherited()
    _inherited_any = bool(_inherited)

# schedulingPolicy has no twin: it is a setting the program assigns.
__all__ = (*_public, *module_aliases(globals(), [
    name for name in _public if name not in ("schedulingPolicy",)]))

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    add_listener = addListener
    remove_listener = removeListener
    remove_all_listeners = removeAllListeners
    prepend_listener = prependListener
    listener_count = listenerCount
    is_worker = isWorker
    is_primary = isPrimary
    is_master = isMaster
    setup_primary = setupPrimary
    setup_master = setupMaster
# --- end of PEP 8 twins ---
