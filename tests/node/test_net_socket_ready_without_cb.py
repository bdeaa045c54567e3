"""Port of Node's test/parallel/test-net-socket-ready-without-cb.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_ready_event_without_connect_callback():
    def on_connection(conn):
        conn.end()
        server.close()

    def on_listening():
        client = net.Socket()
        client.on("ready", must_call(lambda: client.end()))
        client.connect(server.address())

    server = net.createServer(must_call(on_connection)).listen(0, "localhost",
                                                              must_call(on_listening))
    run()
