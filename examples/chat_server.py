"""A line-based chat room: each line a member sends goes to every other member.

Shows per-connection state, splitting a byte stream into lines, broadcasting,
a limit on line length (a client that sends a longer line is told so and
disconnected), dropping a member that stops reading, and a clean Ctrl-C.

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
import signal
import sys

import gevent

import gnet as net
from gnet.events import once

# Longest line accepted, in bytes without the newline. Without a limit, a
# client that never sends a newline would grow its buffer here for ever.
MAX_LINE = 4096
# Bytes waiting for a member that does not read: beyond this it is dropped,
# so one stalled reader cannot make the server hold everyone's messages.
MAX_BACKLOG = 1024 * 1024
MAX_NAME = 32


class Member:
    """One connection: its socket, its name (None until given), its unfinished line."""

    def __init__(self, socket: net.Socket) -> None:
        self.socket = socket
        self.name: str | None = None
        self.partial = b""
        self.leaving = False


members: dict[net.Socket, Member] = {}


def broadcast(message: bytes, sender: Member | None = None) -> None:
    for member in list(members.values()):
        if member is sender or member.name is None or member.leaving:
            continue
        member.socket.write(message)
        if member.socket.writableLength > MAX_BACKLOG:
            member.socket.destroy()


def on_connection(socket: net.Socket) -> None:
    member = Member(socket)
    members[socket] = member
    socket.write(b"Welcome to the chat! What is your name?\n")
    socket.on("data", lambda chunk: on_data(member, chunk))
    # A reset or a broken pipe: say so; 'close' follows and announces the leave.
    socket.on("error", lambda err: print(f"{member.name or 'a client'}: "
                                         f"{getattr(err, 'message', err)}", flush=True))
    socket.on("close", lambda _had_error: on_close(member))


def on_data(member: Member, chunk: bytes) -> None:
    if member.leaving:
        return  # whatever comes after a too-long line is dropped
    *lines, member.partial = (member.partial + chunk).split(b"\n")
    for line in lines:
        line = line.rstrip(b"\r")  # nc -C and telnet end lines with CRLF
        if len(line) > MAX_LINE:
            return too_long(member)
        on_line(member, line)
    if len(member.partial.rstrip(b"\r")) > MAX_LINE:
        too_long(member)


def too_long(member: Member) -> None:
    member.leaving = True
    member.socket.end(f"* line too long (the limit is {MAX_LINE} bytes); goodbye\n")


def on_line(member: Member, line: bytes) -> None:
    if member.name is not None:
        broadcast(member.name.encode() + b": " + line + b"\n", member)
        return
    name = line.decode("utf-8", "replace").strip()
    taken = {m.name for m in members.values()}
    if not name or len(name) > MAX_NAME or name in taken:
        member.socket.write(f"Please pick another name (1 to {MAX_NAME} characters, "
                            "not taken):\n")
        return
    member.name = name
    others = sorted(str(m.name) for m in members.values() if m.name and m is not member)
    member.socket.write(f"Hello {name}! Here now: {', '.join(others) or 'nobody else'}.\n")
    broadcast(f"* {name} joined\n".encode(), member)
    print(f"{name} joined", flush=True)


def on_close(member: Member) -> None:
    del members[member.socket]
    if member.name is not None:
        broadcast(f"* {member.name} left\n".encode())
        print(f"{member.name} left", flush=True)


def shut_down(server: net.Server) -> None:
    if not server.listening:
        server.closeAllConnections()  # a second Ctrl-C: do not wait
        return
    print("shutting down", flush=True)
    server.close()
    for member in members.values():
        member.leaving = True
        member.socket.end(b"* the server is shutting down\n")
    # Members whose program does not hang up are cut off after a second.
    net.setTimeout(server.closeAllConnections, 1000).unref()


def main() -> None:
    parser = argparse.ArgumentParser(description="A line-based chat server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1; '::' for every address)")
    parser.add_argument("--port", type=int, default=8124, help="port (default 8124)")
    args = parser.parse_args()

    server = net.createServer(on_connection)
    server.listen(args.port, args.host)
    try:
        once(server, "listening")  # raises the listen error instead, e.g. EADDRINUSE
    except OSError as err:
        sys.exit(f"chat_server: {err.strerror}")
    # Node's process.on('SIGINT', ...); also SIGTERM, as a service manager sends.
    gevent.signal_handler(signal.SIGINT, shut_down, server)
    gevent.signal_handler(signal.SIGTERM, shut_down, server)
    address = server.address()
    host = f"[{address['address']}]" if ":" in address["address"] else address["address"]
    print(f"chat server listening on {host}:{address['port']} (Ctrl-C to stop)", flush=True)
    net.run()


if __name__ == "__main__":
    main()
