"""Port of Node's test/parallel/test-net-write-cb-on-destroy-before-connect.js."""

import pytest
from common import expects_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_callback_when_destroyed_while_connecting():
    server = net.createServer()

    def on_listening():
        socket = net.Socket()
        socket.on("connect", must_not_call())
        socket.connect({"port": server.address()["port"]})
        assert socket.connecting
        socket.write("foo", expects_error(code="ERR_SOCKET_CLOSED_BEFORE_CONNECTION"))
        socket.destroy()
        server.close()

    server.listen(0, must_call(on_listening))
    run()
