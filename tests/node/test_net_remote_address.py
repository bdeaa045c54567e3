"""Port of Node's test/parallel/test-net-remote-address.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_remote_address_set_on_connect():
    server = net.createServer()

    def on_listening():
        socket = net.connect({"port": server.address()["port"]})
        assert socket.connecting is True
        assert socket.remoteAddress is None

        def on_connect():
            assert (socket.remoteAddress is not None) is True
            socket.end()

        socket.on("connect", must_call(on_connect))
        socket.on("end", must_call(lambda: server.close()))

    server.listen(must_call(on_listening))
    run()
