"""Port of Node's test/parallel/test-net-eaddrinuse.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_eaddrinuse_in_message():
    server1 = net.createServer(must_not_call())
    server2 = net.createServer(must_not_call())

    def on_listening():
        def on_error(error):
            assert ("EADDRINUSE" in str(error)) is True
            server1.close()

        server2.on("error", must_call(on_error))
        server2.listen(server1.address()["port"])

    server1.listen(0, must_call(on_listening))
    run()
