"""Port of Node's test/parallel/test-net-allow-half-open.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.mark.xfail(strict=True, reason="bug: socket already destroyed by the setImmediate "
                   "after 'end' (Node: not destroyed on the nextTick after 'end')")
def test_end_after_peer_end_is_a_proper_shutdown():
    server = net.createServer(must_call(lambda socket: socket.end(bytes(1024))))

    def on_listening():
        socket = net.connect(server.address()["port"])
        assert socket.allowHalfOpen is False
        socket.resume()

        def on_end():
            def later():
                # Ensure socket is not destroyed straight away without proper shutdown.
                assert not socket.destroyed
                server.close()

            net.setImmediate(later)

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
