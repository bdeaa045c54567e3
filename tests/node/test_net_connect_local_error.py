"""Port of Node's test/sequential/test-net-connect-local-error.js."""

import pytest
from common import free_port, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

EXPECTED_ERROR_CODES = ["ECONNREFUSED", "EADDRINUSE"]


def _on_error(err, options):
    assert err.code in EXPECTED_ERROR_CODES
    assert err.syscall == "connect"
    assert err.localPort == options["localPort"]
    assert err.localAddress == options["localAddress"]
    assert err.message == (f"connect {err.code} {err.address}:{err.port} "
                           f"- Local ({err.localAddress}:{err.localPort})")


def test_ipv4():
    options = {"port": free_port(), "family": 4, "localPort": free_port(),
               "localAddress": "127.0.0.1"}
    client = net.connect(options)
    client.on("error", must_call(lambda err: _on_error(err, options)))
    run()


def test_ipv6(ipv6_loopback):
    options = {"host": "::1", "family": 6, "port": free_port("::1"),
               "localPort": free_port("::1"), "localAddress": "::1"}
    client = net.connect(options)
    client.on("error", must_call(lambda err: _on_error(err, options)))
    run()
