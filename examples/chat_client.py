"""A chat client: what you type goes to the server, what it sends goes to your screen.

Node would write ``process.stdin.pipe(socket); socket.pipe(process.stdout)``.
Here stdin is read through gevent's cooperative file object in a greenlet,
honouring the socket's backpressure as ``pipe()`` does, and 'data' goes to
stdout. At the end of input (Ctrl-D, or the end of a piped file) the client
half-closes with ``end()`` and keeps printing until the server hangs up.

Try it, with the chat server running (``python examples/chat_server.py``)::

    python examples/chat_client.py                         # 127.0.0.1:8124
    python examples/chat_client.py --host ::1 --port 9000
    printf 'bob\\nhi all\\n' | python examples/chat_client.py  # say one thing, then leave
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import gevent
from gevent.fileobject import FileObject

import gnet as net
from gnet.events import once


def pump_stdin(socket: net.Socket) -> None:
    """Copy stdin to ``socket`` until end of input, then ``end()`` it."""
    # Cooperative reads: waiting for the keyboard blocks this greenlet only.
    stdin = FileObject(sys.stdin.fileno(), "rb", close=False)
    while True:
        chunk = stdin.read1(65536)
        if not chunk:
            break
        if not socket.write(chunk):
            try:
                once(socket, "drain")  # backpressure, as pipe() would
            except OSError:
                return  # the connection failed; its 'error' listener says why
    socket.end()


def leave(socket: net.Socket) -> None:
    if socket.writableEnded:
        socket.destroy()  # a second Ctrl-C: do not wait for the server
    else:
        socket.end()


def main() -> None:
    parser = argparse.ArgumentParser(description="A client for examples/chat_server.py.")
    parser.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8124, help="server port (default 8124)")
    args = parser.parse_args()

    socket = net.createConnection(args.port, args.host)
    # Ctrl-C leaves the room the polite way: end our side, wait for the server.
    gevent.signal_handler(signal.SIGINT, leave, socket)
    try:
        once(socket, "connect")  # raises the connect error instead, e.g. ECONNREFUSED
    except OSError as err:
        sys.exit(f"chat_client: {err.strerror}")

    def show(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

    socket.on("data", show)
    socket.on("error", lambda err: print(f"chat_client: {getattr(err, 'message', err)}",
                                         file=sys.stderr))
    reader = gevent.spawn(pump_stdin, socket)
    socket.on("close", lambda _had_error: reader.kill(block=False))
    try:
        net.run()
    finally:
        # gevent made stdin non-blocking; give the terminal back as we found it.
        os.set_blocking(sys.stdin.fileno(), True)


if __name__ == "__main__":
    main()
