"""The primary's side of :mod:`gnet.cluster`: fork, Worker objects, supervision, upgrade.

What the package docstring calls the primary: it starts the workers
(:func:`fork`), binds the sockets they share or accepts for them under
round-robin (:mod:`gnet.cluster.rr`), watches them (exit, respawn with
back-off, heartbeats), replaces them (:func:`restart`), stops them
(the graceful stop's stopper) and hands its sockets to a new primary
(:func:`upgrade`, :mod:`gnet.cluster.handover`). The settings and the
state a program sees as ``gnet.cluster.X`` live here.
"""

from __future__ import annotations

import _socket
import atexit
import errno
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
from gevent import socket as gsocket, subprocess as gsubprocess
from gevent.event import Event
from zope.interface import implementer

import gnet.cluster.handover as upgrade_module
import gnet.graceful as graceful
from gnet.cluster.channel import ENV_BEAT, ENV_FD, ENV_ID, ENV_SCHED, ENV_SYSTEMD, _Channel
from gnet.cluster.rr import RoundRobinHandle
from gnet.dispatch import schedule
from gnet.errors import InvalidArgValueError
from gnet.events import EventEmitter
from gnet.interfaces import IWorker
from gnet.loop import Handle, fail_run, setTimeout
from gnet.naming import add_aliases
from gnet.server import tcp_listener
from gnet.systemd import systemdFdNames

logger = logging.getLogger("gnet")

SCHED_NONE = 1
SCHED_RR = 2

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

isWorker = ENV_ID in os.environ
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
            from gnet.cluster.worker_side import _worker_disconnect

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
    child_env.update({ENV_ID: str(_next_id), ENV_FD: str(theirs.fileno()),
                      ENV_SCHED: policy})
    if _systemd_fds:
        # The worker's systemdFds() names these; its listen({fd}) asks here.
        child_env[ENV_SYSTEMD] = json.dumps({str(fd): name for fd, name in _systemd_fds.items()})
    beat = settings.get("heartbeatTimeout")
    if beat:
        # The worker beats four times per timeout.
        child_env[ENV_BEAT] = str(float(beat) / 4.0)
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


def _systemd_socket(fd: int, backlog: int) -> Any:
    # A socket systemd passed to this primary, for a worker's listen({fd}):
    # a duplicate, so that closing it once no worker uses it leaves the
    # descriptor itself (and its queue) to the next worker and to an upgrade.
    if fd not in _systemd_fds:
        raise OSError(errno.EBADF, f"descriptor {fd} is not one systemd passed to the primary")
    sock = _socket.socket(fileno=os.dup(fd))
    try:
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _query_server(w: Worker, obj: dict[str, Any]) -> None:
    if obj.get("fd") is not None:
        _query_fd(w, obj)
        return
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


def _query_fd(w: Worker, obj: dict[str, Any]) -> None:
    # A worker's listen({fd}) on a descriptor systemd passed to this primary:
    # shared with every worker, or accepted here under round-robin (TCP).
    fd = int(obj["fd"])
    backlog = int(obj.get("backlog", 511))
    rr_key = json.dumps(["fd", fd, False, 0])
    if obj.get("rr") and (rr_key in _rr_handles or _systemd_family(fd) != _socket.AF_UNIX):
        entry = _rr_handles.get(rr_key)
        if entry is None:
            try:
                sock = _systemd_socket(fd, backlog)
            except OSError as exc:
                w._channel and w._channel.send({"c": "reply", "seq": obj.get("seq"),
                                                "errno": exc.errno or 0})
                return
            entry = _rr_handles[rr_key] = (RoundRobinHandle(rr_key, sock), set())
        handle, users = entry
        users.add(w.id)
        if w._channel is not None and w._channel.send(
                {"c": "reply", "seq": obj.get("seq"), "rr": rr_key,
                 "family": int(handle.sock.family), "sockname": handle.sockname()}):
            handle.add(w)
        return
    key = ("fd", fd)
    shared = _handles.get(key)
    if shared is None:
        try:
            shared = _handles[key] = (_systemd_socket(fd, backlog), set())
        except OSError as exc:
            w._channel and w._channel.send({"c": "reply", "seq": obj.get("seq"),
                                            "errno": exc.errno or 0})
            return
    shared[1].add(w.id)
    if w._channel is not None:
        w._channel.send({"c": "reply", "seq": obj.get("seq"), "fd": True}, shared[0].fileno())


def _systemd_family(fd: int) -> int:
    try:
        probe = _socket.socket(fileno=fd)
    except OSError:
        return -1
    family = int(probe.family)
    probe.detach()
    return family


# Descriptors systemd passed to this primary ({fd: name}), not the cluster's
# own from an upgrade: its workers' listen({fd}) asks for them.
_systemd_fds: dict[int, str] = {}

# Listening sockets a previous primary handed over (gnet.cluster.handover), by
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
    and not ``execve``: see :mod:`gnet.cluster.handover`.
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
                 for key, (sock, _users) in _handles.items() if key[0] != "fd"]
    # The systemd descriptors go over under their own names (handover's
    # _passed_on), not as copies under the cluster's.
    listeners += [(upgrade_module.fd_name(tuple(json.loads(key))), handle.sock.fileno())
                  for key, (handle, _users) in _rr_handles.items()
                  if json.loads(key)[0] != "fd"]
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
    # and the socket's address, then connections one by one (gnet.cluster.rr).
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
        # Each in its own greenlet: the channel's send blocks while the
        # worker does not read (stopped with SIGSTOP, its buffer full), and
        # that must hold neither the others' disconnect nor its own kill.
        gevent.spawn(w.disconnect)
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


def setup() -> None:
    """In the primary, when :mod:`gnet.cluster` loads: the graceful stop's hooks, handed sockets."""
    global _inherited, _ready_fd, _inherited_any
    graceful.add_stopper(_stop_workers)
    graceful.add_reloader(restart)
    graceful.add_upgrader(upgrade)
    _inherited, _ready_fd = upgrade_module.inherited()
    _inherited_any = bool(_inherited)
    _systemd_fds.update({fd: name for fd, name in systemdFdNames().items()
                         if upgrade_module.parse_fd_name(name) is None})
