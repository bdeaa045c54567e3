"""Port of Node's test/parallel/test-net-socket-connecting.js.

The source also checks the legacy private getter ``_connecting``; the port
checks ``connecting`` only.
"""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_connecting_property():
    def on_connection(conn):
        conn.end()
        server.close()

    def on_listening():
        def on_connect():
            assert client.connecting is False
            client.end()

        client = net.connect(server.address()["port"], must_call(on_connect))
        assert client.connecting is True

    server = net.createServer(on_connection).listen(0, must_call(on_listening))
    run()
