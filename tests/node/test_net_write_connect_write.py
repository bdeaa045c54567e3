"""Port of Node's test/parallel/test-net-write-connect-write.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_before_and_after_connect():
    def on_listening():
        conn = net.connect(server.address()["port"])
        received = []
        conn.setEncoding("utf8")
        conn.write("before")
        conn.on("connect", lambda: conn.write(" after"))

        def on_data(buf):
            received.append(buf)
            conn.end()

        def on_end():
            server.close()
            assert "".join(received) == "before after"

        conn.on("data", on_data)
        conn.on("end", must_call(on_end))

    server = net.createServer(lambda socket: socket.pipe(socket)).listen(
        0, must_call(on_listening))
    run()
