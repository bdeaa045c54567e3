"""Port of Node's test/parallel/test-net-end-destroyed.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_event_after_own_end_not_destroyed():
    server = net.createServer()
    server.on("connection", must_call())

    def on_listening():
        socket = net.createConnection({"port": server.address()["port"]})

        def on_connect():
            def on_end():
                assert socket.destroyed is False
                server.close()

            socket.on("end", must_call(on_end))
            socket.end()

        socket.on("connect", must_call(on_connect))

    server.listen(must_call(on_listening))
    run()
