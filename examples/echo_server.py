"""Echo server: every byte a client sends comes straight back.

The whole server is ``socket.pipe(socket)``, Node's echo idiom: ``pipe``
honours backpressure, so a client that sends faster than it reads is slowed
down instead of filling the server's memory, and the echo ends when the
client ends.

Try it::

    python examples/echo_server.py                 # listens on 127.0.0.1:8124
    python examples/echo_server.py 9000            # or: PORT=9000 python examples/echo_server.py
    nc 127.0.0.1 8124                              # type lines; they come back

Stop it with Ctrl-C.
"""

import os
import signal
import sys

import gevent

import gnet as net
from gnet.events import once

HOST = "127.0.0.1"


def stop(server: net.Server) -> None:
    server.close()
    server.closeAllConnections()


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", 8124))
    server = net.createServer(lambda socket: socket.pipe(socket))
    server.listen(port, HOST)
    try:
        once(server, "listening")  # raises the listen error instead, e.g. EADDRINUSE
    except OSError as err:
        sys.exit(f"echo_server: {err.strerror}")
    # Node's process.on('SIGINT', ...): stop accepting, hang up on everyone,
    # and net.run() returns once the last socket has closed.
    gevent.signal_handler(signal.SIGINT, stop, server)
    address = server.address()
    print(f"echo server listening on {address['address']}:{address['port']}", flush=True)
    net.run()


if __name__ == "__main__":
    main()
