"""Port of Node's test/sequential/test-net-server-bind.js.

``common.PORT + n`` become ports found free; the source's checks of the
private ``server._connectionKey`` are left out.
"""

import pytest
from common import free_port, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_without_port():
    server = net.createServer(must_not_call())

    def on_listening():
        assert server.address()["port"] > 100
        server.close()

    server.listen(must_call(on_listening))
    run()


def test_listen_port_then_address_on_a_timer():
    port = free_port()
    server = net.createServer(must_not_call())
    server.listen(port)

    def later():
        assert server.address()["port"] == port
        server.close()

    net.setTimeout(must_call(later), 100)
    run()


def test_listen_port_cb():
    port = free_port()
    server = net.createServer(must_not_call())

    def on_listening():
        assert server.address()["port"] == port
        server.close()

    server.listen(port, must_call(on_listening))
    run()


def test_listen_port_host_backlog_cb():
    port = free_port()
    server = net.createServer(must_not_call())

    def on_listening():
        assert server.address()["port"] == port
        server.close()

    server.listen(port, "0.0.0.0", 127, must_call(on_listening))
    run()


def test_listen_port_backlog_cb():
    port = free_port()
    server = net.createServer(must_not_call())

    def on_listening():
        assert server.address()["port"] == port
        server.close()

    server.listen(port, 127, must_call(on_listening))
    run()
