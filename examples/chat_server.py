"""A line-based chat room: each line a member sends goes to every other member.

The room itself is :mod:`gnet.chat` (per-connection state, splitting a byte
stream into lines, broadcasting, a limit on line length, dropping a member
that stops reading); ``gnet chat`` serves the same room. This script is its
launcher with the example's name, and shows the process side: one line
once listening, one line (not a traceback) when the port is taken, and a
clean Ctrl-C (see ``run_chat`` in gnet/cli/servers.py).

The first line a client sends is its name; after that, every line is said
to the room as ``name: line``. Joins and leaves are announced as
``* name joined`` and ``* name left``.

Try it::

    python examples/chat_server.py                      # listens on 127.0.0.1:8124
    python examples/chat_server.py --host :: --port 9000
    nc 127.0.0.1 8124                                   # in two or three terminals,
    python examples/chat_client.py                      # or with the gnet client

Ctrl-C tells everyone the server is going away, then exits once they have
hung up (or after a second).
"""

from __future__ import annotations

import argparse
import sys

from gnet.cli import DEFAULT_HOST, DEFAULT_PORT, run_chat


def main() -> None:
    parser = argparse.ArgumentParser(description="A line-based chat server.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on "
                        f"(default {DEFAULT_HOST}; '::' for every address)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT})")
    args = parser.parse_args()
    sys.exit(run_chat(args.host, args.port, prog="chat_server"))


if __name__ == "__main__":
    main()
