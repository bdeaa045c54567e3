"""A gnet cluster behind a PROXY-protocol balancer: each client is told its own address.

    python cluster_proxy_echo.py [workers] [respawn] [policy]

The program the HAProxy cluster test runs (tests/interop/test_haproxy_cluster.py),
written the way a deployment would write it. The primary forks ``workers``
workers (2 by default) and, with ``respawn`` = 1, replaces one that dies
unplanned; ``policy`` is the scheduling policy (``shared``, the default,
or ``rr``); it serves until SIGTERM/SIGINT (graceful stop, 5 s) and restarts
its workers one by one on SIGHUP (``gnet.run(graceful=...)``).

Each worker listens on 127.0.0.1, port 0 (the primary's one shared socket,
so every worker has the same port), with ``proxyProtocol`` on: every
connection must start with a PROXY header from a loopback peer. It answers
each connection with one line, ``<address> <port> <family> <pid>``: the
client's address as the server sees it (the one the header named), then
ends it.

Every line on stdout is a JSON array: the primary's cluster events
(``fork``, ``online``, ``listening`` with port and pid, ``disconnect``,
``exit`` with code, signal and exitedAfterDisconnect) and, from the
workers, any server ``error`` or ``proxyError``, which a test counts as a
failure.
"""

import json
import os
import sys

import gnet as net
from gnet import cluster

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
RESPAWN = len(sys.argv) > 2 and sys.argv[2] == "1"
POLICY = sys.argv[3] if len(sys.argv) > 3 else "shared"


def out(*fields: object) -> None:
    # One write per line: the workers share this stdout with the primary.
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


if cluster.isPrimary:
    cluster.setupPrimary({"respawn": RESPAWN, "schedulingPolicy": POLICY})
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
    server.listen(0, "127.0.0.1")

net.run(graceful=5000)
