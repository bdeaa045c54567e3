"""A loopback peer in a process of its own, for the tests that kill it with SIGKILL.

Plain blocking stdlib sockets, no gnet: the point is a peer that dies without
closing anything itself, so the kernel does the closing.

Usage (every mode prints one line per step and flushes it)::

    peer_process.py download PORT STALL_AFTER
        connect to 127.0.0.1:PORT, print "connected <local port>", read
        STALL_AFTER bytes, print "stalled", then never read again
    peer_process.py upload PORT SEED PROGRESS
        connect, print "connected <local port>", send the seeded Pattern
        without end; print "progress" once PROGRESS bytes are in the kernel
    peer_process.py serve STALL_AFTER
        listen on 127.0.0.1:0, print "port <port>", accept one connection,
        read STALL_AFTER bytes, print "stalled", then never read again

Every mode exits by itself after LIFETIME_S seconds, so a test that fails
before killing it leaves nothing behind for long.
"""

from __future__ import annotations

import random
import socket
import sys
import time

LIFETIME_S = 30.0
HOST = "127.0.0.1"


class Pattern:
    """A seeded byte stream in which loss, duplication or reordering shows.

    Byte ``i`` of the stream is ``block[i % PERIOD]``, with a prime period of
    about 1 MB of seeded random bytes, so no chunk size lines up with it.
    """

    PERIOD = 1_000_003

    def __init__(self, seed: int) -> None:
        block = random.Random(seed).randbytes(self.PERIOD)
        self._twice = block + block

    def chunk(self, offset: int, size: int) -> bytes:
        """The stream's bytes ``offset .. offset + size`` (size at most PERIOD)."""
        start = offset % self.PERIOD
        return self._twice[start:start + size]

    def matches(self, data: bytes | bytearray | memoryview, offset: int = 0) -> bool:
        """Whether ``data`` is exactly the stream from ``offset`` on."""
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            size = min(len(view) - pos, self.PERIOD)
            if view[pos:pos + size] != self.chunk(offset + pos, size):
                return False
            pos += size
        return True


def say(line: str) -> None:
    print(line, flush=True)


def read_exactly(sock: socket.socket, count: int) -> None:
    left = count
    while left > 0:
        data = sock.recv(min(left, 65536))
        if not data:
            raise SystemExit("the peer closed early")
        left -= len(data)


def stall(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def main(argv: list[str]) -> None:
    deadline = time.monotonic() + LIFETIME_S
    mode = argv[0]
    if mode == "download":
        port, stall_after = int(argv[1]), int(argv[2])
        sock = socket.create_connection((HOST, port), timeout=LIFETIME_S)
        say(f"connected {sock.getsockname()[1]}")
        read_exactly(sock, stall_after)
        say("stalled")
        stall(deadline)
    elif mode == "upload":
        port, seed, progress = int(argv[1]), int(argv[2]), int(argv[3])
        pattern = Pattern(seed)
        sock = socket.create_connection((HOST, port), timeout=LIFETIME_S)
        say(f"connected {sock.getsockname()[1]}")
        sent = 0
        told = False
        while time.monotonic() < deadline:
            sock.sendall(pattern.chunk(sent, 65536))
            sent += 65536
            if not told and sent >= progress:
                say("progress")
                told = True
    elif mode == "serve":
        stall_after = int(argv[1])
        listener = socket.create_server((HOST, 0))
        say(f"port {listener.getsockname()[1]}")
        listener.settimeout(LIFETIME_S)
        conn, _ = listener.accept()
        read_exactly(conn, stall_after)
        say("stalled")
        stall(deadline)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
