"""gnet.dgram UDP server for the benchmarks, written the Node way.

Usage: python udp_gnet.py PORT MODE   (MODE: echo or sink; prints "PORT n")

echo answers every datagram with itself; sink counts datagrams and bytes and
answers '?stats TAG' with "COUNT BYTES TAG". The code a Node programmer would port::

    const sock = dgram.createSocket({type: 'udp4', recvBufferSize: 4 << 20});
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(port, '127.0.0.1');
"""

from __future__ import annotations

import sys
from typing import Any

import gnet
from gnet import dgram


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    mode = sys.argv[2] if len(sys.argv) > 2 else "echo"
    sock = dgram.createSocket({"type": "udp4", "recvBufferSize": 4 << 20,
                               "sendBufferSize": 4 << 20})
    if mode == "echo":
        def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
            sock.send(msg, rinfo["port"], rinfo["address"])
    else:
        stats = [0, 0]

        def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
            if msg[:6] == b"?stats":
                answer = f"{stats[0]} {stats[1]} {msg[7:].decode()}"
                sock.send(answer, rinfo["port"], rinfo["address"])
                return
            stats[0] += 1
            stats[1] += len(msg)

    sock.on("message", on_message)
    sock.bind(port, "127.0.0.1", lambda: print(f"PORT {sock.address()['port']}", flush=True))
    gnet.run()


if __name__ == "__main__":
    main()
