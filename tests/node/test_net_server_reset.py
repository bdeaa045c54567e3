"""Port of Node's test/parallel/test-net-server-reset.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_reset_and_destroy_gives_econnreset():
    sockets = []

    def on_connection(c):
        c.on("close", must_call())
        sockets.append(c)
        if len(sockets) == 2:
            assert server.close() is server
            for s in sockets:
                s.resetAndDestroy()

    server = net.createServer(must_call_atleast(on_connection))
    server.on("close", must_call())

    def on_error(error):
        assert error.code == "ECONNRESET"

    def on_listening():
        net.createConnection(server.address()["port"]).on("error", must_call(on_error))
        net.createConnection(server.address()["port"]).on("error", must_call(on_error))

    assert server.listen(0, must_call(on_listening)) is server
    run()
