"""Port of Node's test/parallel/test-net-server-listen-options-signal.js."""

import pytest
from common import must_call, run

import gnet as net
from gnet.errors import InvalidArgTypeError

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_bad_signal():
    server = net.createServer()
    with pytest.raises(InvalidArgTypeError) as info:
        server.listen({"port": 0, "signal": "INVALID_SIGNAL"})
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert isinstance(info.value, TypeError)


def test_close():
    server = net.createServer()
    controller = net.AbortController()
    server.on("close", must_call())
    server.listen({"port": 0, "signal": controller.signal})
    controller.abort()
    run()


def test_close_with_pre_aborted_signal():
    server = net.createServer()
    signal = net.AbortSignal.abort()
    server.on("close", must_call())
    server.listen({"port": 0, "signal": signal})
    run()
