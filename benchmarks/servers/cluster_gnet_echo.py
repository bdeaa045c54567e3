"""gnet.cluster echo server: gnet_echo.py in N worker processes.

The primary forks the workers and prints ``PORT n`` once every one of them
listens; each worker runs gnet_echo.py's connection handler. The
scheduling policy is gnet.cluster's: ``shared`` (one listening socket
passed to every worker), ``reusePort`` (a socket per worker, the kernel
spreads connections) or ``rr`` (the primary accepts and hands connections
round-robin, Node's default), where this gnet has it.

Usage: python cluster_gnet_echo.py PORT WORKERS [shared|reusePort|rr]
(PORT must be a real port: every worker listens on it)
"""

from __future__ import annotations

import sys

import gnet as net
from gnet import cluster


def on_connection(sock: net.Socket) -> None:
    def on_data(chunk: bytes) -> None:
        if not sock.write(chunk):
            sock.pause()

    sock.on('data', on_data)
    sock.on('drain', sock.resume)
    sock.on('error', lambda err: None)


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    policy = sys.argv[3] if len(sys.argv) > 3 else 'shared'
    if cluster.isPrimary:
        cluster.setupPrimary({'schedulingPolicy': policy})
        ready: list[int] = []

        def on_listening(worker: object, address: object) -> None:
            ready.append(1)
            if len(ready) == workers:
                print(f'PORT {port}', flush=True)

        cluster.on('listening', on_listening)
        for _ in range(workers):
            cluster.fork()
    else:
        server = net.createServer({'noDelay': True}, on_connection)
        server.listen(port, '127.0.0.1', 1024)
    net.run()


if __name__ == '__main__':
    main()
