"""Port of Node's test/parallel/test-net-can-reset-timeout.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_in_timeout_listener_resets_the_timer():
    def on_connection(stream):
        stream.setTimeout(100)
        stream.resume()
        # Try to reset the timeout.
        stream.once("timeout", must_call(lambda: stream.write("WHAT.")))
        stream.on("end", must_call(lambda: stream.end()))

    server = net.createServer(must_call(on_connection))

    def on_listening():
        c = net.createConnection(server.address()["port"])
        c.on("data", lambda _d: c.end())
        c.on("end", lambda: server.close())

    server.listen(0, must_call(on_listening))
    run()
