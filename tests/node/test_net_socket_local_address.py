"""Port of Node's test/parallel/test-net-socket-local-address.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_reused_socket_local_ports_match_server_view():
    state = {"conns": 0}
    client_local_ports = []
    server_remote_ports = []
    client = net.Socket()

    def on_connection(socket):
        server_remote_ports.append(socket.remotePort)
        socket.end()

    server = net.createServer(on_connection)

    def on_close():
        # Client and server should agree on the ports used
        assert server_remote_ports == client_local_ports
        assert state["conns"] == 2

    server.on("close", must_call(on_close))

    def connect(*_):
        if state["conns"] == 2:
            server.close()
            return
        state["conns"] += 1
        client.once("close", connect)
        assert client.connect(server.address()["port"], "127.0.0.1",
                              lambda: client_local_ports.append(client.localPort)) is client

    server.listen(0, "127.0.0.1", connect)
    run()
