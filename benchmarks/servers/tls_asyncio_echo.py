"""asyncio TLS echo server: a ``Protocol`` over ``create_server(ssl=...)``.

asyncio_echo.py's Protocol (write back in ``data_received``, stop reading
while the write buffer is full) with asyncio's SSL transport, on asyncio's
own loop or on uvloop's.

Usage: python tls_asyncio_echo.py [PORT [CERT.pem KEY.pem]] [--loop asyncio|uvloop]
(prints "PORT n" once listening); the certificate and key default to
$GNET_BENCH_TLS_CERT and $GNET_BENCH_TLS_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
from typing import Any


class EchoProtocol(asyncio.Protocol):
    """Write back what comes in; stop reading while the write buffer is full."""

    transport: Any

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


async def serve(port: int, context: ssl.SSLContext) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, '127.0.0.1', port, backlog=1024,
                                      ssl=context)
    print(f'PORT {server.sockets[0].getsockname()[1]}', flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('port', nargs='?', type=int, default=0)
    parser.add_argument('cert', nargs='?', default=os.environ.get('GNET_BENCH_TLS_CERT'))
    parser.add_argument('key', nargs='?', default=os.environ.get('GNET_BENCH_TLS_KEY'))
    parser.add_argument('--loop', choices=('asyncio', 'uvloop'), default='asyncio')
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    if args.loop == 'uvloop':
        import uvloop

        uvloop.run(serve(args.port, context))
    else:
        asyncio.run(serve(args.port, context))


if __name__ == '__main__':
    main()
