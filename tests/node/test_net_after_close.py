"""Port of Node's test/parallel/test-net-after-close.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_after_close():
    server = net.createServer(must_call(lambda s: s.end()))

    def on_listening():
        c = net.createConnection(server.address()["port"])

        def on_close(*_):
            # Calling functions / accessing properties of a closed socket should not throw.
            c.setNoDelay()
            c.setKeepAlive()
            c.bufferSize
            c.pause()
            c.resume()
            c.address()
            c.remoteAddress
            c.remotePort
            server.close()

        c.on("close", must_call(on_close))

    server.listen(0, must_call(on_listening))
    run()
