"""Port of Node's test/parallel/test-net-connect-reset-before-connected.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_reset_while_connecting():
    server = net.createServer()
    server.listen(0)
    port = server.address()["port"]
    socket = net.connect(port, "127.0.0.1", must_not_call())
    socket.on("error", must_not_call())
    server.close()
    socket.resetAndDestroy()
    socket.destroy()
    run()
