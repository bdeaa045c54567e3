"""Port of Node's test/sequential/test-net-reconnect-error.js."""

import pytest
from common import free_port, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

N = 20


def test_reconnect_after_refusal():
    port = free_port()
    state = {"disconnect_count": 0}
    c = net.createConnection(port)
    c.on("connect", must_not_call("client should not have connected"))

    def on_error(error):
        actual = error.errors[0] if isinstance(getattr(error, "errors", None), list) else error
        assert actual.code == "ECONNREFUSED"

    def on_close(*_):
        if state["disconnect_count"] < N:
            state["disconnect_count"] += 1
            c.connect(port)  # reconnect
        else:
            state["disconnect_count"] += 1

    c.on("error", must_call(on_error, N + 1))
    c.on("close", must_call(on_close, N + 1))
    run(10000)
