"""Port of Node's test/parallel/test-net-socket-byteswritten.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_bytes_written_with_corked_writes():
    server = net.createServer(lambda socket: socket.end())

    def on_listening():
        socket = net.connect(server.address()["port"])
        # Cork, then write twice: a writev, which once broke bytesWritten.
        socket.cork()
        socket.write("one")
        socket.write("twø".encode())
        socket.uncork()
        # one = 3 bytes, twø = 4 bytes
        assert socket.bytesWritten == 3 + 4

        def on_connect():
            assert socket.bytesWritten == 3 + 4

        def on_end():
            assert socket.bytesWritten == 3 + 4
            server.close()

        socket.on("connect", must_call(on_connect))
        socket.on("end", must_call(on_end))

    server.listen(0, must_call(on_listening))
    run()
