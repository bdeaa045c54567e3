"""Port of Node's test/parallel/test-net-connect-call-socket-connect.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_net_connect_calls_socket_connect(monkeypatch):
    orig = net.Socket.connect
    counted = must_call(lambda self, *args, **kw: orig(self, *args, **kw))

    def connect(self, *args, **kw):
        return counted(self, *args, **kw)

    monkeypatch.setattr(net.Socket, "connect", connect)
    server = net.createServer()

    def on_listening():
        port = server.address()["port"]
        client = net.connect({"port": port}, must_call(lambda: client.end()))
        client.on("end", must_call(lambda: server.close()))

    server.listen(must_call(on_listening))
    run()
