"""Port of Node's test/parallel/test-net-server-pause-on-connect.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

MSG = "test"


def test_pause_on_connect():
    state = {"stopped": True, "server1_sock": None}

    def server1_conn_handler(socket):
        def on_data(data):
            if state["stopped"]:
                raise AssertionError("data event should not have happened yet")
            assert data.decode() == MSG
            socket.end()
            server1.close()

        socket.on("data", must_call(on_data))
        state["server1_sock"] = socket

    server1 = net.createServer({"pauseOnConnect": True}, must_call(server1_conn_handler))

    def server2_conn_handler(socket):
        def on_data(data):
            assert data.decode() == MSG
            socket.end()
            server2.close()
            assert state["server1_sock"].bytesRead == 0
            state["server1_sock"].resume()
            state["stopped"] = False

        socket.on("data", must_call(on_data))

    server2 = net.createServer({"pauseOnConnect": False}, must_call(server2_conn_handler))

    def on_listening1():
        def client_handler(err=None):
            server2.listen(0, lambda: net.createConnection(
                {"port": server2.address()["port"]}).write(MSG))

        net.createConnection({"port": server1.address()["port"]}).write(
            MSG, must_call(client_handler))

    server1.listen(0, must_call(on_listening1))
    run()
    assert state["stopped"] is False
