"""Port of Node's test/parallel/test-net-throttle.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]


def test_paused_reader_loses_nothing():
    state = {"chars_recved": 0, "npauses": 0, "total_length": 0, "paused": False}

    def on_connection(connection):
        body = "C" * 1024
        n = 1
        while connection.write(body):
            n += 1
        # Now that we're throttled, do some more writes: the data isn't lost.
        connection.write(body)
        connection.write(body)
        n += 2
        state["total_length"] = n * len(body)
        assert connection.bufferSize >= 0, f"bufferSize: {connection.bufferSize}"
        assert connection.writableLength <= state["total_length"], (
            f"writableLength: {connection.writableLength}, totalLength: {state['total_length']}")
        connection.end()

    server = net.createServer(must_call_atleast(on_connection))

    def on_listening():
        client = net.createConnection(server.address()["port"])
        client.setEncoding("ascii")

        def on_data(d):
            state["chars_recved"] += len(d)
            if not state["paused"]:
                client.pause()
                state["npauses"] += 1
                state["paused"] = True
                x = state["chars_recved"]

                def later():
                    assert state["chars_recved"] == x
                    client.resume()
                    state["paused"] = False

                net.setTimeout(must_call(later), 100)

        client.on("data", must_call_atleast(on_data))

        def on_end():
            server.close()
            client.end()

        client.on("end", on_end)

    server.listen(0, must_call(on_listening))
    run(20000)
    assert state["chars_recved"] == state["total_length"]
    assert state["npauses"] > 1, f"{state['npauses']} > 1"
