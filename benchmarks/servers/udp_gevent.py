"""A raw gevent UDP loop for the benchmarks: one greenlet, recvfrom/sendto.

Usage: python udp_gevent.py PORT MODE   (MODE: echo or sink; prints "PORT n")

The floor for anything built on gevent: no events, no callbacks, just the
cooperative socket. (gevent's DatagramServer is not used: it reads with
recvfrom(8192), truncating larger datagrams, and spawns a greenlet per
datagram.)
"""

from __future__ import annotations

import socket
import sys

from gevent import socket as gsocket


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    mode = sys.argv[2] if len(sys.argv) > 2 else "echo"
    sock = gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    recvfrom = sock.recvfrom
    sendto = sock.sendto
    if mode == "echo":
        while True:
            data, addr = recvfrom(65536)
            sendto(data, addr)
    count = size = 0
    while True:
        data, addr = recvfrom(65536)
        if data[:6] == b"?stats":
            sendto(f"{count} {size} {data[7:].decode()}".encode(), addr)
            continue
        count += 1
        size += len(data)


if __name__ == "__main__":
    main()
