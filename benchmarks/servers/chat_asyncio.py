"""asyncio chat server: a ``Protocol``, on asyncio's own loop or uvloop.

A set of member transports; ``data_received`` splits what came into lines
and writes every complete line to every other member; ``connection_lost``
takes the member out. A new member is greeted with ``welcome\\n``. asyncio
sets TCP_NODELAY on TCP transports by itself (uvloop too).

Usage: python chat_asyncio.py [PORT] [--loop asyncio|uvloop]
(prints "PORT n" once listening)
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

members: set[Any] = set()


class ChatProtocol(asyncio.Protocol):
    """One member: lines in, written to every other member."""

    transport: Any

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffered = b''
        members.add(transport)
        transport.write(b'welcome\n')

    def data_received(self, data: bytes) -> None:
        lines = (self.buffered + data).split(b'\n')
        self.buffered = lines.pop()
        me = self.transport
        for line in lines:
            message = line + b'\n'
            for other in members:
                if other is not me:
                    other.write(message)

    def connection_lost(self, exc: BaseException | None) -> None:
        members.discard(self.transport)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(ChatProtocol, '127.0.0.1', port, backlog=1024)
    print(f'PORT {server.sockets[0].getsockname()[1]}', flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('port', nargs='?', type=int, default=0)
    parser.add_argument('--loop', choices=('asyncio', 'uvloop'), default='asyncio')
    args = parser.parse_args()
    if args.loop == 'uvloop':
        import uvloop

        uvloop.run(serve(args.port))
    else:
        asyncio.run(serve(args.port))


if __name__ == '__main__':
    main()
