"""Port of Node's test/parallel/test-net-socket-connect-without-cb.js."""

import socket

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _localhost_has_ipv6():
    try:
        return bool(socket.getaddrinfo("localhost", 0, socket.AF_INET6))
    except OSError:
        return False


def test_connect_with_an_address_object_and_no_callback():
    def on_connection(conn):
        conn.end()
        server.close()

    def on_listening():
        client = net.Socket()
        client.on("connect", must_call(lambda: client.end()))
        address = server.address()
        if address["family"] == "IPv6" and not _localhost_has_ipv6():
            # The source's own fallback for machines without IPv6: here
            # 'localhost' has no IPv6 address (Node fails likewise otherwise).
            client.connect(address["port"])
        else:
            client.connect(address)

    server = net.createServer(must_call(on_connection)).listen(0, must_call(on_listening))
    run()
