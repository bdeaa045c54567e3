"""Port of Node's test/parallel/test-net-listen-close-server-callback-is-not-function.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_close_with_a_non_function_argument():
    server = net.createServer(must_not_call())
    server.on("close", must_call())
    server.listen(0, must_not_call())
    server.close("bad argument")
    run()
