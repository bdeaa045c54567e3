"""gnet chat server, written the Node way (servers/chat_node.js line for line).

A set of members; each member's 'data' is split into lines and every
complete line is written to every other member. A new member is greeted
with ``welcome\\n`` (so a client knows it has joined the room)::

    const members = new Set();
    net.createServer({noDelay: true}, (sock) => {
      members.add(sock);
      sock.write('welcome\\n');
      let buffered = '';
      sock.on('data', (chunk) => { ...split, write each line to the others... });
      sock.on('close', () => members.delete(sock));
      sock.on('error', () => {});
    }).listen(port, '127.0.0.1', 1024);

Usage: python chat_gnet.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import sys

import gnet as net

members: set[net.Socket] = set()


def on_connection(sock: net.Socket) -> None:
    members.add(sock)
    sock.write(b'welcome\n')
    buffered = b''

    def on_data(chunk: bytes) -> None:
        nonlocal buffered
        lines = (buffered + chunk).split(b'\n')
        buffered = lines.pop()
        for line in lines:
            message = line + b'\n'
            for other in members:
                if other is not sock:
                    other.write(message)

    sock.on('data', on_data)
    sock.on('close', lambda *_: members.discard(sock))
    # A member that resets is not the room's problem (Node's habit as well).
    sock.on('error', lambda err: None)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = net.createServer({'noDelay': True}, on_connection)
    server.listen(port, '127.0.0.1', 1024,
                  lambda: print(f"PORT {server.address()['port']}", flush=True))
    net.run()


if __name__ == '__main__':
    main()
