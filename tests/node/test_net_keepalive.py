"""Port of Node's test/parallel/test-net-keepalive.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_keepalive_connection_stays_open():
    conns = {}

    def on_connection(connection):
        conns["server"] = connection

        def later():
            # Make sure both connections are still open
            assert conns["server"].readyState == "open"
            assert conns["client"].readyState == "open"
            conns["server"].end()
            conns["client"].end()
            echo_server.close()

        net.setTimeout(must_call(later, 1), 100)
        connection.setTimeout(0)
        assert connection.setKeepAlive is not None
        # Send a keepalive packet after 50 ms
        connection.setKeepAlive(True, 50)
        connection.on("end", lambda: connection.end())

    echo_server = net.createServer(must_call(on_connection))
    echo_server.listen(0)

    def on_listening():
        conns["client"] = net.createConnection(echo_server.address()["port"])
        conns["client"].setTimeout(0)

    echo_server.on("listening", on_listening)
    run()
