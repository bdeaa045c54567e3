"""Port of Node's test/parallel/test-net-connect-reset-after-destroy.js."""

import pytest
from common import expects_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_reset_then_destroy_then_write():
    server = net.createServer()

    def on_listening():
        conn = net.createConnection(server.address()["port"])
        server.on("connection", lambda socket: socket.on("error", expects_error(
            code="ECONNRESET", message="read ECONNRESET")))

        def on_connect():
            assert conn.resetAndDestroy().destroy() is conn
            conn.on("error", must_not_call())
            conn.write(b"fzfzfzfzfz", expects_error(
                code="ERR_STREAM_DESTROYED",
                message="Cannot call write after a stream was destroyed"))
            server.close()

        conn.on("connect", must_call(on_connect))

    server.listen(0, must_call(on_listening))
    run()
