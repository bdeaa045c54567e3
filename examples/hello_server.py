"""Hello World: the first server in Node's ``net`` docs, written with gnet.

Each client gets one line, then the server hangs up. Shows the Node shape of
a gnet program: ``createServer`` with a connection listener, ``listen``,
``net.run()`` as the event loop; and gnet's synchronous extra,
``once(server, 'listening')``, which turns a failed listen into an exception.

Try it::

    python examples/hello_server.py          # listens on 127.0.0.1:8124
    python examples/hello_server.py 9000     # or: PORT=9000 python examples/hello_server.py
    nc 127.0.0.1 8124                        # prints "Hello World" and exits

Stop it with Ctrl-C.
"""

import os
import signal
import sys

import gevent

import gnet as net
from gnet.events import once

HOST = "127.0.0.1"


def greet(socket: net.Socket) -> None:
    socket.end("Hello World\n")
    # Read (and drop) whatever the client sends, so that its hang-up is seen
    # and the socket closes; a socket nobody reads from stays open, as in Node.
    socket.resume()


def stop(server: net.Server) -> None:
    server.close()
    server.closeAllConnections()


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", 8124))
    server = net.createServer(greet)
    server.listen(port, HOST)
    try:
        once(server, "listening")  # raises the listen error instead, e.g. EADDRINUSE
    except OSError as err:
        sys.exit(f"hello_server: {err.strerror}")
    # Node's process.on('SIGINT', ...): stop accepting, hang up on everyone,
    # and net.run() returns once the last socket has closed.
    gevent.signal_handler(signal.SIGINT, stop, server)
    address = server.address()
    print(f"hello server listening on {address['address']}:{address['port']}", flush=True)
    net.run()


if __name__ == "__main__":
    main()
