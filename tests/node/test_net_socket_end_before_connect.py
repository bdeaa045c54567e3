"""Port of Node's test/parallel/test-net-socket-end-before-connect.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_while_connecting():
    server = net.createServer()

    def on_listening():
        socket = net.createConnection(server.address()["port"])
        socket.on("close", must_call(lambda *_: server.close()))
        socket.end()

    server.listen(must_call(on_listening))
    run()
