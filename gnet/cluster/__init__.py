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
  free worker in turn over the worker's channel (:mod:`gnet.cluster.rr`);
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
(:func:`upgrade`, :mod:`gnet.cluster.handover`: a zero-downtime upgrade of the
code, the primary included).

In a worker, ``cluster.worker`` is the worker itself: ``worker.send(msg)``
reaches the primary ('message' on the primary's Worker and on the
cluster), and ``worker.on('message', ...)`` receives what the primary
sends. The worker's channel keeps nothing alive: a worker lives as long as
its servers and timers do (Node's worker does the same unless it listens
for ``process`` messages).

The package, one module per part: :mod:`gnet.cluster.primary` (fork, the
Worker objects, supervision, restart and upgrade), :mod:`gnet.cluster.worker_side`
(a worker joining its primary, ``listen()`` through it),
:mod:`gnet.cluster.channel` (the JSON-line and descriptor channel between
them), :mod:`gnet.cluster.rr` (round-robin hand-off) and
:mod:`gnet.cluster.handover` (the sockets a new primary inherits). The
names below are theirs, re-exported; ``cluster.schedulingPolicy`` (which a
program assigns) and ``cluster.worker`` read and write the state of the
module that uses them.
"""


from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from gnet.cluster import primary as _primary, worker_side as _worker_side
from gnet.cluster.primary import (
    SCHED_NONE,
    SCHED_RR,
    Worker,
    addListener,
    disconnect,
    emit,
    fork,
    isMaster,
    isPrimary,
    isWorker,
    listenerCount,
    off,
    on,
    once,
    prependListener,
    removeAllListeners,
    removeListener,
    restart,
    settings,
    setupMaster,
    setupPrimary,
    upgrade,
    workers,
)
from gnet.naming import fix_module, module_aliases

if TYPE_CHECKING:
    #: SCHED_NONE ('shared', the default here), SCHED_RR ('rr') or 'reusePort'.
    #: Read from NODE_CLUSTER_SCHED_POLICY ('rr' or 'none') as Node does; Node's
    #: default is SCHED_RR (see the module docstring for why gnet's is not).
    schedulingPolicy: Any
    #: In a worker: the worker itself. None in the primary.
    worker: Worker | None



class _ClusterModule(types.ModuleType):
    """``gnet.cluster`` itself: two names are the state of the submodule that uses them."""

    @property
    def schedulingPolicy(self) -> Any:
        return _primary.schedulingPolicy

    @schedulingPolicy.setter
    def schedulingPolicy(self, value: Any) -> None:
        _primary.schedulingPolicy = value

    @property
    def worker(self) -> Worker | None:
        return _worker_side.worker


sys.modules[__name__].__class__ = _ClusterModule

if isWorker:
    _worker_side.setup()
else:
    _primary.setup()

fix_module(__name__, globals(), ("Worker", "disconnect", "fork", "restart", "setupPrimary",
                                 "upgrade"))

__all__: tuple[str, ...] = (
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
# schedulingPolicy has no twin: it is a setting the program assigns.
__all__ += module_aliases(globals(), [
    name for name in __all__ if name not in ("schedulingPolicy", "worker")])

# --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
if TYPE_CHECKING:
    add_listener = addListener
    is_master = isMaster
    is_primary = isPrimary
    is_worker = isWorker
    listener_count = listenerCount
    prepend_listener = prependListener
    remove_all_listeners = removeAllListeners
    remove_listener = removeListener
    setup_master = setupMaster
    setup_primary = setupPrimary
# --- end of PEP 8 twins ---
