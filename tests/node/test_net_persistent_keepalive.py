"""Port of Node's test/parallel/test-net-persistent-keepalive.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_keepalive_set_before_connect_persists():
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

        net.setTimeout(must_call(later), 600)
        connection.setTimeout(0)
        assert callable(connection.setKeepAlive)
        connection.on("end", lambda: connection.end())

    echo_server = net.createServer(must_call(on_connection))
    echo_server.listen(0)

    def on_listening():
        conns["client"] = net.Socket()
        # Send a keepalive packet after 400 ms and make sure it persists
        s = conns["client"].setKeepAlive(True, 400)
        assert isinstance(s, net.Socket)
        conns["client"].connect(echo_server.address()["port"])
        conns["client"].setTimeout(0)

    echo_server.on("listening", must_call(on_listening))
    run()
