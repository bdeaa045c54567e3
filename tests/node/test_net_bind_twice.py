"""Port of Node's test/parallel/test-net-bind-twice.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_bind_twice_eaddrinuse():
    server1 = net.createServer(must_not_call())

    def on_listening():
        server2 = net.createServer(must_not_call())
        server2.listen(server1.address()["port"], "127.0.0.1", must_not_call())

        def on_error(e):
            assert e.code == "EADDRINUSE"
            server1.close()

        server2.on("error", must_call(on_error))

    server1.listen(0, "127.0.0.1", must_call(on_listening))
    run()
