"""Port of Node's test/parallel/test-net-listen-ipv6only.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_ipv6_only_refuses_ipv4(ipv6_loopback):
    server = net.createServer()

    def on_listening():
        port = server.address()["port"]
        socket = net.connect({"host": "0.0.0.0", "port": port})
        socket.on("connect", must_not_call())

        def on_error(err):
            assert err.code == "ECONNREFUSED"
            server.close()

        socket.on("error", must_call(on_error))

    server.listen({"host": "::", "port": 0, "ipv6Only": True}, must_call(on_listening))
    run()
