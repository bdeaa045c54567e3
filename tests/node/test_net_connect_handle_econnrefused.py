"""Port of Node's test/sequential/test-net-connect-handle-econnrefused.js."""

import pytest
from common import free_port, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_refused_connect_is_no_longer_connecting():
    c = net.createConnection(free_port())
    c.on("connect", must_not_call())

    def on_error(e):
        assert c.connecting is False
        assert e.code == "ECONNREFUSED"

    c.on("error", must_call(on_error))
    run()
