"""Port of Node's test/parallel/test-net-connect-immediate-finish.js."""

import pytest
from common import check_error, error_lookup_mock, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

INVALID_HOST = "something.invalid"


def test_end_while_looking_up():
    client = net.connect({
        "host": INVALID_HOST,
        "port": 80,  # Port number doesn't matter because host name is invalid
        "lookup": must_call(error_lookup_mock()),
    }, must_not_call())

    def on_error(error):
        assert not hasattr(error, "port")
        assert not hasattr(error, "host")
        check_error(error, code="ENOTFOUND", errno="ENOTFOUND", syscall="getaddrinfo",
                    hostname=INVALID_HOST, message="getaddrinfo ENOTFOUND something.invalid")

    client.once("error", must_call(on_error))
    client.end()
    run()
