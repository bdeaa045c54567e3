"""Twisted echo server: a ``Protocol`` whose ``dataReceived`` writes back.

The transport is registered as its own streaming producer, so Twisted stops
reading from a connection while its write buffer is full (Twisted's
counterpart of Node's pause() until 'drain'). TCP_NODELAY is set, as it is
for every server in the suite.

Usage: python twisted_echo.py [PORT]   (prints "PORT n" once listening)
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor  # noqa: E402


class Echo(protocol.Protocol):
    """Write back what comes in."""

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)
        self.transport.registerProducer(self.transport, True)

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.transport.unregisterProducer()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    factory = protocol.Factory.forProtocol(Echo)
    listener = reactor.listenTCP(port, factory, backlog=1024, interface='127.0.0.1')
    print(f'PORT {listener.getHost().port}', flush=True)
    reactor.run()


if __name__ == '__main__':
    main()
