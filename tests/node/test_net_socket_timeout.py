"""Port of Node's test/parallel/test-net-socket-timeout.js."""

import math

import pytest
from common import check_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

NON_NUMERIC_DELAYS = ["100", True, False, None, "", {}, lambda: None, []]
BAD_RANGE_DELAYS = [-0.001, -1, -math.inf, math.inf, math.nan]
VALID_DELAYS = [0, 0.001, 1, 1e6]
INVALID_CALLBACKS = [1, "100", True, False, {}, [], object()]


@pytest.mark.parametrize("delay", NON_NUMERIC_DELAYS, ids=repr)
def test_non_numeric_delay(delay):
    s = net.Socket()
    with pytest.raises(TypeError) as info:
        s.setTimeout(delay, lambda: None)
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")


@pytest.mark.parametrize("delay", BAD_RANGE_DELAYS, ids=repr)
def test_bad_range_delay(delay):
    s = net.Socket()
    with pytest.raises(ValueError) as info:  # RangeError
        s.setTimeout(delay, lambda: None)
    check_error(info.value, code="ERR_OUT_OF_RANGE")


def test_valid_delays():
    s = net.Socket()
    for delay in VALID_DELAYS:
        s.setTimeout(delay, lambda: None)
    s.destroy()
    run()


@pytest.mark.parametrize("callback", INVALID_CALLBACKS, ids=repr)
def test_invalid_callbacks(callback):
    s = net.Socket()
    for msec in (0, 1):
        with pytest.raises(TypeError) as info:
            s.setTimeout(msec, callback)
        check_error(info.value, code="ERR_INVALID_ARG_TYPE")


@pytest.mark.xfail(strict=True, reason="docs/differences.md: `undefined` / `null` | `None`")
def test_null_callback():
    # Node's list has null: the callback must be a function when given.
    s = net.Socket()
    with pytest.raises(TypeError) as info:
        s.setTimeout(1, None)
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")


def test_timeout_fires_and_set_timeout_after_destroy_returns_the_socket():
    server = net.Server()

    def on_listening():
        socket = net.createConnection(server.address()["port"])

        def on_timeout():
            socket.destroy()
            assert socket.setTimeout(1, must_not_call()) is socket
            server.close()

        assert socket.setTimeout(1, must_call(on_timeout)) is socket

    server.listen(0, must_call(on_listening))
    run()
