"""Port of Node's test/parallel/test-net-bytes-read.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_bytes_read_rises_with_each_chunk():
    big = bytes(1024 * 1024)

    def handler(socket):
        socket.end(big)
        server.close()

    server = net.createServer(must_call(handler))

    def on_listen():
        state = {"prev": 0}

        def check_raise(value):
            assert value > state["prev"]
            state["prev"] = value

        on_data = must_call_atleast(lambda chunk: check_raise(socket.bytesRead))

        def on_end():
            assert socket.bytesRead == state["prev"]
            assert len(big) == state["prev"]

        def on_close(*_):
            assert socket.bytesRead == state["prev"]
            assert len(big) == state["prev"]

        def on_connect():
            socket.on("data", on_data)
            socket.on("end", must_call(on_end))
            socket.on("close", must_call(on_close))
            socket.end()

        socket = net.connect(server.address()["port"], must_call(on_connect))

    server.listen(0, must_call(on_listen))
    run()
