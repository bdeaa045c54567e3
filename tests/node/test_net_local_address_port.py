"""Port of Node's test/parallel/test-net-local-address-port.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_local_address_port_family_of_accepted_socket():
    def on_connection(socket):
        assert socket.localAddress == "127.0.0.1"
        assert socket.localPort == server.address()["port"]
        assert socket.localFamily == server.address()["family"]
        socket.on("end", lambda: server.close())
        socket.resume()

    server = net.createServer(must_call(on_connection))

    def on_listening():
        client = net.createConnection(server.address()["port"], "127.0.0.1")
        client.on("connect", lambda: client.end())

    server.listen(0, "127.0.0.1", on_listening)
    run()
