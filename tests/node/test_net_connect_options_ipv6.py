"""Port of Node's test/parallel/test-net-connect-options-ipv6.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_family_6_with_custom_lookup(ipv6_loopback):
    host_addr_ipv6 = "::1"
    hostname = "dummy"

    def on_connection(socket):
        socket.resume()
        socket.on("end", must_call())
        socket.end()

    server = net.createServer({"allowHalfOpen": True}, must_call(on_connection))

    def lookup(addr, opt, cb):
        assert addr == hostname
        assert opt["family"] == 6
        cb(None, host_addr_ipv6, opt["family"])

    def try_connect():
        def on_connect():
            client.resume()

            def on_end():
                def later():
                    assert client.writable
                    client.end()

                net.setTimeout(must_call(later), 10)

            client.on("end", must_call(on_end))
            client.on("close", lambda *_: server.close())

        client = net.connect({
            "host": hostname,
            "port": server.address()["port"],
            "family": 6,
            "allowHalfOpen": True,
            "lookup": must_call(lookup),
        }, must_call(on_connect))

    server.listen(0, host_addr_ipv6, try_connect)
    run()
