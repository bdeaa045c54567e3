"""Port of Node's test/parallel/test-net-server-max-connections.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

N = 20


def test_max_connections_refuses_the_rest():
    state = {"closes": 0}
    waits = []

    def on_connection(connection):
        connection.write("hello")
        waits.append(lambda: connection.end())

    server = net.createServer(must_call(on_connection, N // 2))

    def make_connection(index):
        c = net.createConnection(server.address()["port"])
        got = {"data": False}

        def on_connect():
            if index + 1 < N:
                make_connection(index + 1)

            def on_close(*_):
                state["closes"] += 1
                if state["closes"] < N // 2:
                    assert server.maxConnections <= index, (
                        f"{index} should not have been one of the first closed connections")
                if state["closes"] == N // 2:
                    while waits:
                        waits.pop(0)()
                    server.close()
                if index < server.maxConnections:
                    assert got["data"] is True, f"{index} didn't get data, but should have"
                else:
                    assert got["data"] is False, f"{index} got data, but shouldn't have"

            c.on("close", must_call(on_close))

        def on_data(b):
            got["data"] = True
            assert len(b) > 0

        c.on("connect", must_call(on_connect))
        c.on("end", lambda: c.end())
        c.on("data", must_call_atleast(on_data, 0))
        c.on("error", lambda e: None)

    server.listen(0, lambda: make_connection(0))
    server.maxConnections = N // 2
    run()
    assert state["closes"] == N
