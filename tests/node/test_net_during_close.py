"""Port of Node's test/parallel/test-net-during-close.js.

Node ends the process right after reading the properties
(``process.exit(0)``); the port destroys the client instead.
"""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_properties_of_a_connecting_socket_do_not_throw():
    server = net.createServer(lambda socket: socket.end())

    def on_listening():
        client = net.createConnection(server.address()["port"])
        server.close()
        # The client is still connecting: reading properties must not throw.
        client.remoteAddress
        client.remoteFamily
        client.remotePort
        client.destroy()

    server.listen(0, must_call(on_listening))
    run()
