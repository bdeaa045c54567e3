"""Port of Node's test/sequential/test-net-server-address.js.

``common.PORT + n`` become ports found free.
"""

import pytest
from common import free_port, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _listen_and_check(args, address, port, family):
    server = net.createServer()
    server.on("error", must_not_call())

    def on_listening():
        got = server.address()
        assert got["address"] == address
        if port is not None:
            assert got["port"] == port
        assert got["family"] == family
        server.close()

    server.listen(*args, must_call(on_listening))


def test_ipv4_address():
    port = free_port()
    _listen_and_check((port, "127.0.0.1"), "127.0.0.1", port, "IPv4")
    run()


def test_ipv6_addresses(ipv6_loopback):
    port = free_port("::1")
    _listen_and_check((port, "::1"), "::1", port, "IPv6")
    run()
    port = free_port("::1")
    # Specify the port number
    _listen_and_check((port,), "::", port, "IPv6")
    run()
    # Don't specify the port number
    _listen_and_check((), "::", None, "IPv6")
    run()
    # Specify a false-y port number
    _listen_and_check((0,), "::", None, "IPv6")
    run()
