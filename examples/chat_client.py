"""A chat client: what you type goes to the server, what it sends goes to your screen.

Node would write ``process.stdin.pipe(socket); socket.pipe(process.stdout)``.
This is ``gnet connect`` (``run_connect`` in gnet/__main__.py) with the chat
server's address as defaults: stdin is read cooperatively in a greenlet,
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
import signal
import sys

from gnet.__main__ import DEFAULT_HOST, DEFAULT_PORT, run_connect


def main() -> None:
    parser = argparse.ArgumentParser(description="A client for examples/chat_server.py.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"server address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"server port (default {DEFAULT_PORT})")
    args = parser.parse_args()
    # A chat ends when the server hangs up, even with stdin a pipe left open.
    status = run_connect(args.host, args.port, prog="chat_client", interactive=True)
    # Ctrl-C is how one leaves the room (politely: our side ends, the server
    # hangs up): the normal way out here, not an interrupted transfer.
    sys.exit(0 if status == 128 + signal.SIGINT else status)


if __name__ == "__main__":
    main()
