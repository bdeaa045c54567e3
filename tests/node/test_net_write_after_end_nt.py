"""Port of Node's test/parallel/test-net-write-after-end-nt.js."""

import pytest
from common import expects_error, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_after_peer_end_errors_on_next_tick():
    server = net.createServer(must_call(lambda socket: socket.end()))

    def on_listening():
        def on_connect():
            state = {"has_error": False}

            def on_error(err):
                state["has_error"] = True
                server.close()

            client.on("error", must_call(on_error))

            def on_end():
                ret = client.write("hello", expects_error(
                    code="EPIPE", message="This socket has been ended by the other party"))
                assert ret is False
                assert not state["has_error"], "The error should be emitted in the next tick."

            client.on("end", must_call(on_end))
            client.end()

        client = net.connect(server.address()["port"], must_call(on_connect))

    server.listen(must_call(on_listening))
    run()
