"""Port of Node's test/parallel/test-net-remote-address-port.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

REMOTE_ADDR_CANDIDATES = ["127.0.0.1", "::1", "::ffff:127.0.0.1"]
REMOTE_FAMILY_CANDIDATES = ["IPv4", "IPv6"]


def test_remote_address_port_family():
    closed = {"n": 0}

    def on_connection(socket):
        assert socket.remoteAddress in REMOTE_ADDR_CANDIDATES, socket.remoteAddress
        assert socket.remoteFamily in REMOTE_FAMILY_CANDIDATES, socket.remoteFamily
        assert socket.remotePort
        assert socket.remotePort != server.address()["port"]

        def on_end():
            closed["n"] += 1
            if closed["n"] == 2:
                server.close()

        def on_close(*_):
            assert socket.remoteAddress in REMOTE_ADDR_CANDIDATES
            assert socket.remoteFamily in REMOTE_FAMILY_CANDIDATES

        socket.on("end", on_end)
        socket.on("close", must_call(on_close))
        socket.resume()

    server = net.createServer(must_call(on_connection, 2))

    def on_listening():
        port = server.address()["port"]
        client = net.createConnection(port, "127.0.0.1")
        client2 = net.createConnection(port)
        for c in (client, client2):
            assert c.remoteAddress is None
            assert c.remoteFamily is None
            assert c.remotePort is None

        def watch(c):
            def on_connect():
                assert c.remoteAddress in REMOTE_ADDR_CANDIDATES
                assert c.remoteFamily in REMOTE_FAMILY_CANDIDATES
                assert c.remotePort == server.address()["port"]
                c.end()

            def on_close(*_):
                assert c.remoteAddress in REMOTE_ADDR_CANDIDATES
                assert c.remoteFamily in REMOTE_FAMILY_CANDIDATES

            c.on("connect", must_call(on_connect))
            c.on("close", must_call(on_close))

        watch(client)
        watch(client2)

    server.listen(0, must_call(on_listening))
    run()
