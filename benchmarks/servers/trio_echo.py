"""trio echo server: ``serve_tcp`` with ``async for`` over the stream.

``send_all()`` waits while the kernel's buffer is full, so reading stops
with it. trio sets TCP_NODELAY on its socket streams by itself.

Usage: python trio_echo.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import sys
from functools import partial

import trio


async def handle(stream: trio.SocketStream) -> None:
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass  # a peer that resets is not the server's problem


async def serve(port: int) -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, handle, port, host='127.0.0.1', backlog=1024)
        )
        print(f'PORT {listeners[0].socket.getsockname()[1]}', flush=True)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    trio.run(serve, port)


if __name__ == '__main__':
    main()
