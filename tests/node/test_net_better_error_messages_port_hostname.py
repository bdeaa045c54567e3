"""Port of Node's test/parallel/test-net-better-error-messages-port-hostname.js."""

import pytest
from common import check_error, error_lookup_mock, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

INVALID_HOST = "something.invalid"


def test_lookup_error_has_no_port_or_host():
    c = net.createConnection({
        "port": 0,
        "host": INVALID_HOST,
        "lookup": must_call(error_lookup_mock()),
    })
    c.on("connect", must_not_call())

    def on_error(error):
        assert not hasattr(error, "port")
        assert not hasattr(error, "host")
        check_error(error, errno="ENOTFOUND", code="ENOTFOUND",
                    message="getaddrinfo ENOTFOUND something.invalid",
                    hostname=INVALID_HOST, syscall="getaddrinfo")

    c.on("error", must_call(on_error))
    run()
