"""Port of Node's test/sequential/test-net-localport.js."""

import pytest
from common import free_port, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_local_port_option():
    port = free_port()

    def on_connection(socket):
        assert socket.remotePort == port
        socket.end()
        socket.on("close", lambda *_: server.close())

    def on_listening():
        client = net.connect({"host": "127.0.0.1", "port": server.address()["port"],
                              "localPort": port})

        def on_connect():
            assert client.localPort == port

        client.on("connect", must_call(on_connect))

    server = net.createServer(must_call(on_connection)).listen(0).on(
        "listening", must_call(on_listening))
    run()
