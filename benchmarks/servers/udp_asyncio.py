"""asyncio DatagramProtocol UDP server for the benchmarks (uvloop with --loop uvloop).

Usage: python udp_asyncio.py PORT MODE [--loop uvloop]   (prints "PORT n")
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0
        self.size = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data[:6] == b"?stats":
            self.transport.sendto(f"{self.count} {self.size} {data[7:].decode()}".encode(), addr)
            return
        self.count += 1
        self.size += len(data)


async def serve(port: int, mode: str) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    await loop.create_datagram_endpoint(Echo if mode == "echo" else Sink, sock=sock)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0]) if args else 0
    mode = args[1] if len(args) > 1 else "echo"
    if "--loop" in sys.argv and sys.argv[sys.argv.index("--loop") + 1] == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(serve(port, mode))


if __name__ == "__main__":
    main()
