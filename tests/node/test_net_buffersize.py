"""Port of Node's test/parallel/test-net-buffersize.js.

The server side read with 'readable'/read() (pull mode, not supported by
gnet); it consumes with resume(), which is all the test needs of it.
"""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_buffer_size_counts_queued_writes():
    iterations = 10

    def on_connection(socket):
        socket.resume()
        socket.on("end", lambda: server.close())

    server = net.createServer(on_connection)

    def on_listening():
        client = net.connect(server.address()["port"])

        def on_finish():
            assert client.bufferSize == 0

        client.on("finish", must_call(on_finish))
        for i in range(1, iterations):
            client.write("a")
            assert client.bufferSize == i
        client.end()

    server.listen(0, must_call(on_listening))
    run()
