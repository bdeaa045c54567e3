"""A gnet cluster behind a PROXY-protocol balancer: each client is told its own address.

    PORT=8000 WORKERS=2 python cluster_proxy_echo.py

The program the HAProxy cluster test runs (tests/interop/test_haproxy_cluster.py),
and docs/deploying.md shows, written the way a deployment would write it,
configured by its environment: ``PORT`` (8000; 0 for any free port, the
same in every worker), ``WORKERS`` (one per core), ``RESPAWN`` (1: replace
a worker that dies unplanned; 0: do not), ``SCHEDULING`` (``shared``, the
default, or ``rr``). The primary forks the workers and serves until
SIGTERM/SIGINT (a graceful stop, 5 s); it restarts its workers one by one
on SIGHUP, and hands its sockets over to a new copy of itself on SIGUSR2
(``gnet.run(graceful=...)`` does all three).

Each worker listens on 127.0.0.1 (the primary's one socket) with
``proxyProtocol`` on: every connection must start with a PROXY header from
a loopback peer. It answers each connection with one line, ``<address>
<port> <family> <pid>``: the client's address as the server sees it (the
one the header named), then ends it.

Every line on stdout is a JSON array: ``primary`` with its pid when a
primary starts, the primary's cluster events (``fork``, ``online``,
``listening`` with port and pid, ``disconnect``, ``exit`` with code, signal
and exitedAfterDisconnect) and, from the workers, any server ``error`` or
``proxyError``, which a test counts as a failure.
"""

import json
import os
import sys

import gnet as net
from gnet import cluster

PORT = int(os.environ.get("PORT", "8000"))
WORKERS = int(os.environ.get("WORKERS", os.cpu_count() or 1))
RESPAWN = os.environ.get("RESPAWN", "1") == "1"
SCHEDULING = os.environ.get("SCHEDULING", "shared")


def out(*fields: object) -> None:
    # One write per line: the workers share this stdout with the primary.
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


if cluster.isPrimary:
    out("primary", os.getpid())
    cluster.setupPrimary({"respawn": RESPAWN, "schedulingPolicy": SCHEDULING})
    cluster.on("fork", lambda w: out("fork", w.id))
    cluster.on("online", lambda w: out("online", w.id))
    cluster.on("listening", lambda w, a: out("listening", w.id, a["port"], w.process.pid))
    cluster.on("disconnect", lambda w: out("disconnect", w.id))
    cluster.on("exit", lambda w, code, sig: out("exit", w.id, code, sig,
                                                 w.exitedAfterDisconnect))
    for _ in range(WORKERS):
        cluster.fork()
else:
    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: out("socketError", os.getpid(), repr(err)))
        sock.end(f"{sock.remoteAddress} {sock.remotePort} {sock.remoteFamily} "
                 f"{os.getpid()}\n".encode())

    server = net.createServer({"proxyProtocol": True}, on_connection)
    server.on("error", lambda err: out("error", os.getpid(), repr(err)))
    server.on("proxyError", lambda err, info: out("proxyError", os.getpid(), repr(err), info))
    server.listen(PORT, "127.0.0.1")

net.run(graceful=5000)
