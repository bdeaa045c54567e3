"""gnet TLS echo server, written the Node way (gnet.tls).

The TLS twin of gnet_echo.py: Node's ``tls.createServer`` code ported line
for line::

    tls.createServer({key, cert, noDelay: true}, (sock) => {
      sock.on('data', (chunk) => { if (!sock.write(chunk)) sock.pause(); });
      sock.on('drain', () => sock.resume());
      sock.on('error', () => {});
    }).on('tlsClientError', () => {}).listen(port, '127.0.0.1', 1024);

Usage: python tls_gnet_echo.py [PORT [CERT.pem KEY.pem]]   (prints "PORT n" once listening);
the certificate and key default to $GNET_BENCH_TLS_CERT and $GNET_BENCH_TLS_KEY.
"""

from __future__ import annotations

import os
import sys

import gnet as net
from gnet import tls


def on_secure_connection(sock: tls.TLSSocket) -> None:
    def on_data(chunk: bytes) -> None:
        if not sock.write(chunk):
            sock.pause()

    sock.on('data', on_data)
    sock.on('drain', sock.resume)
    sock.on('error', lambda err: None)


def tls_files(argv: list[str]) -> tuple[str, str]:
    """The certificate and key files: from the command line, else from the environment."""
    if len(argv) >= 2:
        return argv[0], argv[1]
    return os.environ['GNET_BENCH_TLS_CERT'], os.environ['GNET_BENCH_TLS_KEY']


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cert_path, key_path = tls_files(sys.argv[2:])
    with open(cert_path, 'rb') as f:
        cert = f.read()
    with open(key_path, 'rb') as f:
        key = f.read()
    server = tls.createServer({'key': key, 'cert': cert, 'noDelay': True},
                              on_secure_connection)
    server.on('tlsClientError', lambda err, sock: None)
    server.listen(port, '127.0.0.1', 1024,
                  lambda: print(f"PORT {server.address()['port']}", flush=True))
    net.run()


if __name__ == '__main__':
    main()
