"""Port of Node's test/parallel/test-net-server-max-connections-close-makes-more-available.js.

The source chains Promises; the port chains the same steps with callbacks.
"""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_closing_a_connection_makes_room_for_another():
    connections = {}
    received = []
    sent = []

    def once(fn):
        done = []

        def call(*_):
            if not done:
                done.append(1)
                fn()

        return call

    def create_connection(index, then):
        resolve = once(then)

        def on_connect():
            msg = str(index)
            connection.write(msg)
            sent.append(msg)

        connection = net.createConnection(server.address()["port"], on_connect)

        def on_error(err):
            assert err.code == "ECONNRESET"
            resolve()

        connection.on("error", must_call_atleast(on_error, 0))
        connection.on("data", resolve)
        connection.on("end", resolve)
        connections[index] = connection

    def close_connection(index, then):
        connections[index].on("end", once(then))
        connections[index].end()

    def on_connection(socket):
        def on_data(data):
            received.append(data.decode())
            socket.write("acknowledged")

        socket.on("data", on_data)

    server = net.createServer(on_connection)
    server.maxConnections = 1
    finished = must_call()

    def chain():
        create_connection(0, lambda: create_connection(1, lambda: close_connection(
            0, lambda: create_connection(2, lambda: create_connection(3, lambda: (
                server.close(), close_connection(2, finished)))))))

    server.listen(0, must_call(chain))
    run()
    # Confirm that all connections tried to send data...
    assert sent == ["0", "1", "2", "3"]
    # ...but that only connections 0 and 2 were successful.
    assert received == ["0", "2"]
