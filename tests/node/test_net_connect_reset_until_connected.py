"""Port of Node's test/parallel/test-net-connect-reset-until-connected.js."""

import pytest
from common import expects_error, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _barrier(count, cb):
    state = {"count": count}

    def hit(*_):
        state["count"] -= 1
        if state["count"] == 0:
            cb()

    return hit


def test_reset_once_both_sides_connected():
    server = net.createServer()

    def on_listening():
        conn = net.createConnection(server.address()["port"])
        connok = _barrier(2, lambda: conn.resetAndDestroy())
        conn.on("close", must_call())

        def on_connection(socket):
            connok()
            socket.on("error", expects_error(code="ECONNRESET", message="read ECONNRESET"))
            server.close()

        server.on("connection", on_connection)
        conn.on("connect", connok)

    server.listen(0, must_call(on_listening))
    run()
