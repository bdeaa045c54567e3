"""Raw gevent echo server: a ``StreamServer`` with a recv()/sendall() loop.

The baseline gnet is built on: one greenlet per connection, blocking-style
code, no events. gnet's figures are given as a ratio to this one.

Usage: python gevent_echo.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import socket
import sys

from gevent.server import StreamServer


def handle(sock: socket.socket, address: object) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv, sendall = sock.recv, sock.sendall
    try:
        while True:
            data = recv(65536)
            if not data:
                break
            sendall(data)
    except OSError:
        pass  # a peer that resets is not the server's problem


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = StreamServer(('127.0.0.1', port), handle, backlog=1024)
    server.start()
    print(f'PORT {server.server_port}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
