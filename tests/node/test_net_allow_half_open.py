"""Port of Node's test/parallel/test-net-allow-half-open.js.

The source checks ``destroyed`` on the ``process.nextTick`` after 'end'.
gnet has no nextTick, and its ``setImmediate`` is not one: in Node too, a
``setImmediate`` queued in 'end' already sees the socket destroyed (the
shutdown completes first). The port checks at the end of the 'end' listener,
the last point before gnet ends the socket's own side, then closes the server.
"""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_after_peer_end_is_a_proper_shutdown():
    server = net.createServer(must_call(lambda socket: socket.end(bytes(1024))))

    def on_listening():
        socket = net.connect(server.address()["port"])
        assert socket.allowHalfOpen is False
        socket.resume()

        def on_end():
            # Ensure socket is not destroyed straight away without proper shutdown.
            assert not socket.destroyed
            server.close()

        socket.on("end", must_call(on_end))

        def on_finish():
            assert not socket.destroyed

        socket.on("finish", must_call(on_finish))
        socket.on("close", must_call())

    server.listen(0, must_call(on_listening))
    run()


def test_end_before_peer_end():
    server = net.createServer(must_call(lambda socket: socket.end(bytes(1024))))

    def on_listening():
        socket = net.connect(server.address()["port"])
        assert socket.allowHalfOpen is False
        socket.resume()

        def on_end():
            assert not socket.destroyed

        socket.on("end", must_call(on_end))
        socket.end("asd")

        def on_finish():
            assert not socket.destroyed

        socket.on("finish", must_call(on_finish))
        socket.on("close", must_call(lambda *_: server.close()))

    server.listen(0, must_call(on_listening))
    run()
