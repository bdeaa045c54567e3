"""Port of Node's test/parallel/test-net-server-drop-connections.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _check_drop_info(data):
    assert bool(data["localAddress"]) is True
    assert bool(data["localPort"]) is True
    assert bool(data["remoteAddress"]) is True
    assert bool(data["remotePort"]) is True
    assert bool(data["remoteFamily"]) is True


def test_drop_event_over_max_connections():
    first = {}
    dormant_server = net.createServer(must_not_call())
    server = net.createServer(must_call(lambda socket: first.update(socket=socket)))
    dormant_server.maxConnections = 0
    server.maxConnections = 1

    def on_dormant_drop(data):
        _check_drop_info(data)
        dormant_server.close()

    def on_drop(data):
        _check_drop_info(data)
        first["socket"].destroy()
        server.close()

    dormant_server.on("drop", must_call(on_dormant_drop))
    server.on("drop", must_call(on_drop))
    dormant_server.listen(0, lambda: net.createConnection(dormant_server.address()["port"]))

    def on_listening():
        net.createConnection(server.address()["port"])
        net.createConnection(server.address()["port"])

    server.listen(0, on_listening)
    run()
