"""Port of Node's test/parallel/test-net-server-try-ports.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_on_another_port_after_eaddrinuse():
    server1 = net.Server()
    server2 = net.Server()

    def on_error(e):
        assert e.code == "EADDRINUSE"
        server2.listen(0, must_call(lambda: (server1.close(), server2.close())))

    server2.on("error", must_call(on_error))
    # This should make server2 emit EADDRINUSE
    server1.listen(0, must_call(lambda: server2.listen(server1.address()["port"])))
    run()
