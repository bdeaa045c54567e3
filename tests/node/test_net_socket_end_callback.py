"""Port of Node's test/parallel/test-net-socket-end-callback.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_callback_in_every_overload():
    server = net.createServer(lambda socket: socket.resume()).unref()

    def on_listening():
        def connect(*args):
            holder = {}
            holder["s"] = net.createConnection(server.address()["port"],
                                               lambda: holder["s"].end(*args))

        cb = must_call(exact=3)
        connect(cb)
        connect("foo", cb)
        connect("foo", "utf8", cb)

    server.listen(must_call(on_listening))
    run()
    server.close()
