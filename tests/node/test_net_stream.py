"""Port of Node's test/parallel/test-net-stream.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

SIZE = 2_000_000
N = 10


def test_peer_destroy_while_writing_gives_one_error():
    buf = b"a" * SIZE

    def on_connection(socket):
        socket.setNoDelay()
        socket.on("error", must_call(lambda err: socket.destroy())).on(
            "close", must_call(lambda *_: server.close()))
        for _ in range(N):
            socket.write(buf, lambda err: None)
        socket.end()

    server = net.createServer(must_call(on_connection))

    def on_listening():
        conn = net.connect(server.address()["port"])

        def on_data(_buf):
            assert conn.pause() is conn
            net.setTimeout(lambda: conn.destroy(), 20)

        conn.on("data", must_call(on_data))

    server.listen(0, must_call(on_listening))
    run()
