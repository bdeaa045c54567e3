"""Raw gevent chat server: a ``StreamServer``, one greenlet per member.

Each member's greenlet reads, splits what it read into lines and
``sendall()``s every complete line to every other member. ``sendall`` may
wait for a full socket buffer, and another member's greenlet may then want
to write to the same socket: a lock per member keeps two lines from being
interleaved (gevent refuses two greenlets waiting on one socket anyway).
A new member is greeted with ``welcome\\n``.

Usage: python chat_gevent.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import socket
import sys

from gevent.lock import Semaphore
from gevent.server import StreamServer

members: dict[socket.socket, Semaphore] = {}


def handle(sock: socket.socket, address: object) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    members[sock] = Semaphore()
    buffered = b''
    try:
        sock.sendall(b'welcome\n')
        while True:
            data = sock.recv(65536)
            if not data:
                break
            lines = (buffered + data).split(b'\n')
            buffered = lines.pop()
            for line in lines:
                message = line + b'\n'
                # A snapshot: members may join or leave while sendall() waits.
                for other, lock in tuple(members.items()):
                    if other is not sock:
                        try:
                            with lock:
                                other.sendall(message)
                        except OSError:
                            pass  # that member's own greenlet sees it leave
    except OSError:
        pass  # a member that resets is not the room's problem
    finally:
        members.pop(sock, None)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = StreamServer(('127.0.0.1', port), handle, backlog=1024)
    server.start()
    print(f'PORT {server.server_port}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
