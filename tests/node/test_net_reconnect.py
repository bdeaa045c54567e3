"""Port of Node's test/parallel/test-net-reconnect.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

N = 50


def test_reconnect_from_close():
    counts = {"recv": 0, "end": 0, "disconnect": 0}

    def on_connection(socket):
        socket.resume()
        socket.write("hello\r\n")
        socket.on("end", lambda: socket.end())

        def on_close(had_error):
            assert had_error is False

        socket.on("close", must_call(on_close))

    server = net.createServer(must_call_atleast(on_connection))

    def on_listening():
        client = net.createConnection(server.address()["port"])
        client.setEncoding("UTF8")

        def on_data(chunk):
            counts["recv"] += 1
            assert chunk == "hello\r\n"
            client.end()

        def on_end():
            counts["end"] += 1

        def on_close(had_error):
            assert had_error is False
            if counts["disconnect"] < N:
                counts["disconnect"] += 1
                client.connect(server.address()["port"])  # reconnect
            else:
                counts["disconnect"] += 1
                server.close()

        client.on("data", must_call_atleast(on_data))
        client.on("end", on_end)
        client.on("close", must_call_atleast(on_close))

    server.listen(0, must_call(on_listening))
    run(15000)
    assert counts["disconnect"] == N + 1
    assert counts["recv"] == N + 1
    assert counts["end"] == N + 1
