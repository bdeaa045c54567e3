"""Port of Node's test/parallel/test-net-listen-invalid-port.js.

The source's check of ``server._connectionKey`` (a private field) is left
out; the rest is kept.
"""

import pytest
from common import check_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

INVALID_PORT = 0xFFFFFFFF  # -1 >>> 0


def test_listen_port_zero_works():
    server = net.Server()
    server.listen(0, must_call(lambda: server.close()))
    run()


@pytest.mark.parametrize("call", [
    lambda: net.Server().listen({"port": INVALID_PORT}, must_not_call()),
    lambda: net.Server().listen(INVALID_PORT, must_not_call()),
    lambda: net.Server().listen(INVALID_PORT, "0.0.0.0", must_not_call()),
], ids=["options", "port", "port-host"])
def test_invalid_port_throws(call):
    with pytest.raises(ValueError) as info:  # RangeError
        call()
    check_error(info.value, code="ERR_SOCKET_BAD_PORT")
