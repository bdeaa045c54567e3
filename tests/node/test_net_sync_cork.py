"""Port of Node's test/parallel/test-net-sync-cork.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

N = 100


def test_cork_write_uncork_in_a_loop():
    buf = b"aa"

    def handle(socket):
        socket.resume()
        socket.on("error", must_not_call()).on("close", must_call(lambda *_: server.close()))

    server = net.createServer(handle)

    def on_listening():
        conn = net.connect(server.address()["port"])

        def on_connect():
            res = True
            i = 0
            while i < N and res:
                conn.cork()
                conn.write(buf)
                res = conn.write(buf)
                conn.uncork()
                i += 1
            assert i == N
            conn.end()

        conn.on("connect", must_call(on_connect))

    server.listen(0, must_call(on_listening))
    run()
