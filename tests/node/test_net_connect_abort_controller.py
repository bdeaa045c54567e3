"""Port of Node's test/parallel/test-net-connect-abort-controller.js."""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net
from gnet.events import once

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_abort_controller_destroys_the_socket():
    server = net.createServer()
    live_connections = set()

    def on_listening():
        port = server.address()["port"]
        host = "localhost"

        def socket_options(signal):
            return {"port": port, "host": host, "signal": signal}

        def on_connection(connection):
            live_connections.add(connection)
            connection.on("close", lambda *_: live_connections.discard(connection))

        server.on("connection", on_connection)

        def check_abort(socket, test_name):
            # once() raises the 'error' that comes before 'close'.
            try:
                once(socket, "close")
            except Exception as err:
                assert err.name == "AbortError"
            else:
                raise AssertionError(f"close {test_name} should have thrown")

        assert_abort = must_call_atleast(check_abort)

        def post_abort():
            ac = net.AbortController()
            signal = ac.signal
            socket = net.connect(socket_options(signal))
            assert signal.listenerCount("abort") == 1
            ac.abort()
            assert_abort(socket, "postAbort")

        def pre_abort():
            ac = net.AbortController()
            signal = ac.signal
            ac.abort()
            socket = net.connect(socket_options(signal))
            assert signal.listenerCount("abort") == 0
            assert_abort(socket, "preAbort")

        def tick_abort():
            ac = net.AbortController()
            signal = ac.signal
            net.setImmediate(ac.abort)
            socket = net.connect(socket_options(signal))
            assert signal.listenerCount("abort") == 1
            assert_abort(socket, "tickAbort")

        def test_constructor():
            ac = net.AbortController()
            signal = ac.signal
            ac.abort()
            socket = net.Socket(socket_options(signal))
            assert signal.listenerCount("abort") == 0
            assert_abort(socket, "testConstructor")

        def test_constructor_post():
            ac = net.AbortController()
            signal = ac.signal
            socket = net.Socket(socket_options(signal))
            assert signal.listenerCount("abort") == 1
            ac.abort()
            assert_abort(socket, "testConstructorPost")

        def test_constructor_post_tick():
            ac = net.AbortController()
            signal = ac.signal
            socket = net.Socket(socket_options(signal))
            assert signal.listenerCount("abort") == 1
            net.setImmediate(ac.abort)
            assert_abort(socket, "testConstructorPostTick")

        post_abort()
        pre_abort()
        tick_abort()
        test_constructor()
        test_constructor_post()
        test_constructor_post_tick()

        # Killing the net.socket without connecting hangs the server.
        for connection in list(live_connections):
            connection.destroy()
        server.close(must_call())

    server.listen(0, must_call(on_listening))
    run()
