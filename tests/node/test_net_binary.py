"""Port of Node's test/parallel/test-net-binary.js."""

import pytest
from common import run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_latin1_round_trip():
    binary_string = "".join(chr(i) for i in range(255, -1, -1))
    assert len(binary_string) == 256

    def on_connection(connection):
        connection.setEncoding("latin1")
        connection.on("data", lambda chunk: connection.write(chunk, "latin1"))
        connection.on("end", lambda: connection.end())

    echo_server = net.Server(on_connection)
    echo_server.listen(0)
    recv = []
    state = {"j": 0}

    def on_listening():
        c = net.createConnection({"port": echo_server.address()["port"]})
        c.setEncoding("latin1")

        def on_data(chunk):
            n = state["j"] + len(chunk)
            while state["j"] < n and state["j"] < 256:
                c.write(chr(state["j"]), "latin1")
                state["j"] += 1
            if state["j"] == 256:
                c.end()
            recv.append(chunk)

        c.on("data", on_data)
        c.on("connect", lambda: c.write(binary_string, "binary"))
        c.on("close", lambda *_: echo_server.close())

    echo_server.on("listening", on_listening)
    run()
    received = "".join(recv)
    assert len(received) == 2 * 256
    first = received[:256][::-1]
    second = received[256:512]
    assert first == second
