"""Port of Node's test/parallel/test-net-connect-immediate-destroy.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_destroy_right_after_connect():
    server = net.createServer()
    server.listen(0)
    port = server.address()["port"]
    socket = net.connect(port, "127.0.0.1", must_not_call())
    socket.on("error", must_not_call())
    server.close()
    socket.destroy()
    run()
