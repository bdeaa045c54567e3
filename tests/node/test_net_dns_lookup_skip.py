"""Port of Node's test/parallel/test-net-dns-lookup-skip.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _check(address_type):
    def on_connection(client):
        client.end()
        server.close()

    server = net.createServer(on_connection)
    address = "127.0.0.1" if address_type == 4 else "::1"
    server.listen(0, address, lambda: net.connect(server.address()["port"], address)
                  .on("lookup", must_not_call()))


def test_ip_literal_skips_lookup_ipv4():
    _check(4)
    run()


def test_ip_literal_skips_lookup_ipv6(ipv6_loopback):
    _check(6)
    run()
