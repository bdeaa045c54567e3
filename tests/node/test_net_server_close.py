"""Port of Node's test/parallel/test-net-server-close.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_close_then_destroy_connections():
    sockets = []

    def on_connection(c):
        c.on("close", must_call())
        sockets.append(c)
        if len(sockets) == 2:
            assert server.close() is server
            for s in sockets:
                s.destroy()

    server = net.createServer(must_call_atleast(on_connection))
    server.on("close", must_call())

    def on_listening():
        net.createConnection(server.address()["port"])
        net.createConnection(server.address()["port"])

    assert server.listen(0, on_listening) is server
    run()
