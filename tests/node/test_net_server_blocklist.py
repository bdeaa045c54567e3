"""Port of Node's test/parallel/test-net-server-blocklist.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_a_blocked_peer_never_becomes_a_connection():
    block_list = net.BlockList()
    block_list.addAddress("127.0.0.1")

    server = net.createServer({"blockList": block_list}, must_not_call())

    def on_listening():
        address = server.address()
        socket = net.connect({"localAddress": "127.0.0.1", "host": address["address"],
                              "port": address["port"]})
        socket.on("close", must_call(lambda *_: server.close()))

    server.listen(0, "127.0.0.1", must_call(on_listening))
    run(5000)
