"""Port of Node's test/parallel/test-net-settimeout.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

T = 100


def test_set_timeout_zero_cancels():
    server = net.createServer(must_call(lambda c: c.write("hello")))

    def on_listening():
        socket = net.createConnection(server.address()["port"], "localhost")
        s = socket.setTimeout(T, must_not_call())
        assert isinstance(s, net.Socket)

        def on_data(_d):
            net.setTimeout(lambda: (socket.destroy(), server.close()), T * 2)

        socket.on("data", must_call(on_data))
        socket.setTimeout(0)

    server.listen(0, must_call(on_listening))
    run()
