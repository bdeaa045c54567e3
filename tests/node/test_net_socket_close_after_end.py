"""Port of Node's test/parallel/test-net-socket-close-after-end.js.

A 'readable' listener that reads only later (a timer) still gets 'end'
before 'close': the socket does not close while 'end' is pending.
"""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_close_comes_after_end():
    server = net.createServer()

    def on_connection(socket):
        end_emitted = False

        def on_readable():
            net.setTimeout(lambda: socket.read(), 100)

        def on_end():
            nonlocal end_emitted
            end_emitted = True

        def on_close(*_):
            assert end_emitted
            server.close()

        socket.once("readable", on_readable)
        socket.on("end", on_end)
        socket.on("close", must_call(on_close))
        socket.end("foo")

    server.on("connection", must_call(on_connection))

    def on_listening():
        socket = net.createConnection(server.address()["port"], lambda: socket.end("foo"))

    server.listen(0, must_call(on_listening))
    run()
