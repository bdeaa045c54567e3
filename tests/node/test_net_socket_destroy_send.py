"""Port of Node's test/parallel/test-net-socket-destroy-send.js."""

import pytest
from common import expects_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_after_destroy():
    server = net.createServer()

    def on_listening():
        conn = net.createConnection(server.address()["port"])

        def on_connect():
            # destroy returns this, even on repeated calls that short-circuit.
            assert conn.destroy().destroy() is conn
            conn.on("error", must_not_call())
            conn.write(b"kaboom", expects_error(
                code="ERR_STREAM_DESTROYED",
                message="Cannot call write after a stream was destroyed"))
            server.close()

        conn.on("connect", must_call(on_connect))

    server.listen(0, must_call(on_listening))
    run()
