"""Port of Node's test/parallel/test-net-bytes-written-large.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

N = 10_000_000


def _client(server, expected):
    def on_listening():
        client = net.connect(server.address()["port"])
        client.resume()

        def on_close(*_):
            assert client.bytesRead == expected
            server.close()

        client.on("close", must_call(on_close))

    return must_call(on_listening)


def test_write_a_buffer():
    def on_connection(socket):
        def on_end(err=None):
            assert socket.bytesWritten == N

        socket.end(bytes(N), must_call(on_end))
        assert socket.bytesWritten == N

    server = net.createServer(must_call(on_connection))
    server.listen(0, _client(server, N))
    run(15000)


def test_write_a_string():
    def on_connection(socket):
        def on_end(err=None):
            assert socket.bytesWritten == N

        socket.end("a" * N, must_call(on_end))
        assert socket.bytesWritten == N

    server = net.createServer(must_call(on_connection))
    server.listen(0, _client(server, N))
    run(15000)


def test_writev_with_mixed_data():
    def on_connection(socket):
        socket.cork()
        socket.write("a" * N)
        assert socket.bytesWritten == N
        socket.write(bytes(N))
        assert socket.bytesWritten == 2 * N

        def on_end(err=None):
            assert socket.bytesWritten == 2 * N

        socket.end("", must_call(on_end))
        socket.uncork()

    server = net.createServer(must_call(on_connection))
    server.listen(0, _client(server, 2 * N))
    run(15000)
