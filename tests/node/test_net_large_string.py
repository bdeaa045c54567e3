"""Port of Node's test/parallel/test-net-large-string.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

K_POOL_SIZE = 40 * 1024


def test_large_multibyte_string():
    data = "あ" * K_POOL_SIZE
    encoding = "UTF-8"

    def on_connection(socket):
        received = {"size": 0}
        socket.setEncoding(encoding)

        def on_data(d):
            received["size"] += len(d)

        def on_end():
            assert received["size"] == K_POOL_SIZE
            socket.end()

        socket.on("data", on_data)
        socket.on("end", must_call(on_end))

    server = net.createServer(must_call(on_connection))

    def on_listening():
        client = net.createConnection(server.address()["port"])
        client.on("end", lambda: server.close())
        client.write(data, encoding)
        client.end()

    server.listen(0, on_listening)
    run()
