"""Port of Node's test/parallel/test-net-listen-close-server.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_close_right_after_listen():
    server = net.createServer(must_not_call())
    server.listen(0, must_not_call())
    server.on("error", must_not_call())
    server.close()
    run()
