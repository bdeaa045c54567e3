"""gnet echo server, written the Node way.

'data' -> write(); pause() when write() returns False; resume() on 'drain'.
This is the code a Node programmer would port, line for line::

    net.createServer({noDelay: true}, (sock) => {
      sock.on('data', (chunk) => { if (!sock.write(chunk)) sock.pause(); });
      sock.on('drain', () => sock.resume());
      sock.on('error', () => {});
    }).listen(port, '127.0.0.1', 1024);

Usage: python gnet_echo.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import sys

import gnet as net


def on_connection(sock: net.Socket) -> None:
    def on_data(chunk: bytes) -> None:
        if not sock.write(chunk):
            sock.pause()

    sock.on('data', on_data)
    sock.on('drain', sock.resume)
    # A peer that resets is not the server's problem (Node's habit as well).
    sock.on('error', lambda err: None)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = net.createServer({'noDelay': True}, on_connection)
    server.listen(port, '127.0.0.1', 1024,
                  lambda: print(f"PORT {server.address()['port']}", flush=True))
    net.run()


if __name__ == '__main__':
    main()
