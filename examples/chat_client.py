"""A chat client: what you type goes to the server, what it sends goes to your screen.

Node's client, line for line::

    const socket = net.connect(8124);
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);

gnet's process streams (``gnet.process``) read stdin and write stdout
without blocking the loop, and ``pipe()`` carries the backpressure both
ways. At the end of input (Ctrl-D, or the end of a piped file) ``pipe()``
half-closes the socket with ``end()``; the server answers by hanging up,
and the client exits once all it sent is on the screen. Ctrl-C leaves the
same polite way.

Try it, with the chat server running (``python examples/chat_server.py``)::

    python examples/chat_client.py                         # 127.0.0.1:8124
    python examples/chat_client.py --host ::1 --port 9000
    printf 'bob\\nhi all\\n' | python examples/chat_client.py  # say one thing, then leave
"""

from __future__ import annotations

import argparse
import signal
import sys

import gevent

import gnet as net
from gnet import process
from gnet.cli import DEFAULT_HOST, DEFAULT_PORT

# How long (ms) Ctrl-C waits for the server to hang up before we do.
GOODBYE_MS = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="A client for examples/chat_server.py.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"server address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"server port (default {DEFAULT_PORT})")
    args = parser.parse_args()
    status = 0

    socket = net.connect(args.port, args.host)
    process.stdin.pipe(socket)
    socket.pipe(process.stdout)

    def on_error(err: BaseException) -> None:
        nonlocal status
        status = 1
        print(f"chat_client: {getattr(err, 'message', err)}", file=sys.stderr)

    def on_close(_had_error: bool) -> None:
        # The server hung up: stop reading the keyboard, so run() can return.
        process.stdin.unpipe(socket)
        process.stdin.pause()

    def leave() -> None:
        # Ctrl-C: say goodbye as the end of input would, hang up if unanswered.
        process.stdin.unpipe(socket)
        socket.end()
        net.setTimeout(socket.destroy, GOODBYE_MS).unref()

    socket.on("error", on_error)
    socket.on("close", on_close)
    ctrl_c = gevent.signal_handler(signal.SIGINT, leave)
    try:
        net.run()
    finally:
        ctrl_c.cancel()
    return status


if __name__ == "__main__":
    sys.exit(main())
