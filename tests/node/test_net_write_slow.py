"""Port of Node's test/parallel/test-net-write-slow.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

SIZE = 200_000
N = 10


def test_slow_reader_gets_everything():
    state = {"flushed": 0, "received": 0}
    buf = b"a" * SIZE

    def on_connection(socket):
        socket.setNoDelay()
        socket.setTimeout(9999)

        def on_timeout():
            raise AssertionError(
                f"flushed: {state['flushed']}, received: {state['received']}/{SIZE * N}")

        socket.on("timeout", on_timeout)

        def on_written(err):
            state["flushed"] += 1
            if state["flushed"] == N:
                socket.setTimeout(0)

        for _ in range(N):
            socket.write(buf, on_written)
        socket.end()

    def on_listening():
        conn = net.connect(server.address()["port"])

        def on_data(b):
            state["received"] += len(b)
            conn.pause()
            net.setTimeout(lambda: conn.resume(), 20)

        def on_end():
            server.close()
            assert state["received"] == SIZE * N

        conn.on("data", on_data)
        conn.on("end", must_call(on_end))

    server = net.createServer(on_connection).listen(0, must_call(on_listening))
    run(25000)
