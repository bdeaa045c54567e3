"""Raw gevent TLS echo server: a ``StreamServer`` with an ``ssl_context``.

gevent.ssl wraps each accepted socket and does the handshake in the
connection's greenlet; then the recv()/sendall() loop of gevent_echo.py.
The context must be gevent.ssl's: the standard library's would wrap the
socket in a blocking SSLSocket and stall the whole server on one handshake.

Usage: python tls_gevent_echo.py [PORT [CERT.pem KEY.pem]]   (prints "PORT n" once listening);
the certificate and key default to $GNET_BENCH_TLS_CERT and $GNET_BENCH_TLS_KEY.
"""

from __future__ import annotations

import os
import socket
import sys

from gevent import ssl
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
        pass  # a peer that resets (or fails its handshake) is not the server's problem
    finally:
        sock.close()


def tls_files(argv: list[str]) -> tuple[str, str]:
    """The certificate and key files: from the command line, else from the environment."""
    if len(argv) >= 2:
        return argv[0], argv[1]
    return os.environ['GNET_BENCH_TLS_CERT'], os.environ['GNET_BENCH_TLS_KEY']


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cert_path, key_path = tls_files(sys.argv[2:])
    # gevent.ssl.SSLContext itself: gevent's create_default_context() answers the
    # standard library's class unless the process is monkey-patched.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = StreamServer(('127.0.0.1', port), handle, backlog=1024, ssl_context=context)
    server.start()
    print(f'PORT {server.server_port}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
