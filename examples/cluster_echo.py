"""An echo server on every core with gnet.cluster (Node's cluster, port for port).

    python examples/cluster_echo.py [port] [workers]

The primary forks the workers and replaces any that dies; each worker
serves the same port (the primary's listening socket, shared). SIGTERM or
Ctrl-C stops the whole cluster gracefully: open connections get 5 s.
"""

import os
import sys

import gnet as net
from gnet import cluster

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7000
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else (os.cpu_count() or 1)

if cluster.isPrimary:
    print(f"primary {os.getpid()} starting {WORKERS} workers", flush=True)
    cluster.on("listening", lambda worker, address: print(
        f"worker {worker.id} (pid {worker.process.pid}) listening on {address['port']}",
        flush=True))
    cluster.on("exit", lambda worker, code, signal: print(
        f"worker {worker.id} exited (code {code}, signal {signal})", flush=True))
    cluster.setupPrimary({"respawn": True})
    for _ in range(WORKERS):
        cluster.fork()
else:
    def on_connection(sock: net.Socket) -> None:
        sock.write(f"worker {cluster.worker.id} echoes\n".encode())  # type: ignore[union-attr]
        sock.pipe(sock)

    net.createServer(on_connection).listen(PORT)

net.run(graceful=5000)
