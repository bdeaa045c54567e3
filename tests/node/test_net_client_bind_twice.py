"""Port of Node's test/parallel/test-net-client-bind-twice.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_local_port_in_use_gives_eaddrinuse():
    server1 = net.createServer(must_not_call())

    def on_listening1():
        server2 = net.createServer(must_not_call())

        def on_listening2():
            client = net.connect({
                "host": "127.0.0.1",
                "port": server1.address()["port"],
                "localAddress": "127.0.0.1",
                "localPort": server2.address()["port"],
            }, must_not_call())

            def on_error(err):
                assert err.code == "EADDRINUSE"
                server1.close()
                server2.close()

            client.on("error", must_call(on_error))

        server2.listen(0, "127.0.0.1", must_call(on_listening2))

    server1.listen(0, "127.0.0.1", must_call(on_listening1))
    run()
