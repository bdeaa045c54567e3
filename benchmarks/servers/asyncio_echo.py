"""asyncio echo servers: streams or Protocol, on asyncio's own loop or uvloop.

``--api streams``: ``start_server``, ``reader.read()``, ``writer.write()``,
``await writer.drain()``, the usual asyncio code.
``--api protocol``: a ``Protocol`` whose ``data_received`` writes back, with
``pause_reading()`` on ``pause_writing()`` and ``resume_reading()`` on
``resume_writing()``: asyncio's counterpart of Node's write()/pause()/'drain'.
asyncio sets TCP_NODELAY on TCP transports by itself (uvloop too).

Usage: python asyncio_echo.py [PORT] [--api streams|protocol] [--loop asyncio|uvloop]
(prints "PORT n" once listening)
"""

from __future__ import annotations

import argparse
import asyncio
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


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass  # a peer that resets is not the server's problem
    finally:
        writer.close()


async def serve(port: int, api: str) -> None:
    if api == 'streams':
        server = await asyncio.start_server(handle, '127.0.0.1', port, backlog=1024)
    else:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoProtocol, '127.0.0.1', port, backlog=1024)
    print(f'PORT {server.sockets[0].getsockname()[1]}', flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('port', nargs='?', type=int, default=0)
    parser.add_argument('--api', choices=('streams', 'protocol'), default='streams')
    parser.add_argument('--loop', choices=('asyncio', 'uvloop'), default='asyncio')
    args = parser.parse_args()
    if args.loop == 'uvloop':
        import uvloop

        uvloop.run(serve(args.port, args.api))
    else:
        asyncio.run(serve(args.port, args.api))


if __name__ == '__main__':
    main()
