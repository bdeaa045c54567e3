"""Port of Node's test/parallel/test-net-reuseport.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

OPTIONS = {"port": 0, "reusePort": True}


def _test(host):
    server1 = net.createServer()
    server2 = net.createServer()

    def on_listening1():
        port = server1.address()["port"]
        server2.listen({**OPTIONS, "host": host, "port": port},
                       must_call(lambda: (server1.close(), server2.close())))

    server1.listen({**OPTIONS, "host": host}, must_call(on_listening1))


def test_reuse_port_ipv4():
    _test("127.0.0.1")
    run()


def test_reuse_port_ipv6(ipv6_loopback):
    _test("::")
    run()
