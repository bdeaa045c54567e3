"""Port of Node's test/parallel/test-net-socket-destroy-twice.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_destroy_in_error_listener():
    server = net.createServer()
    server.listen(0)
    port = server.address()["port"]
    conn = net.createConnection(port)
    conn.on("error", must_call(lambda err: conn.destroy()))
    conn.on("close", must_call())
    server.close()
    run()
