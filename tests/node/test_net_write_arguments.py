"""Port of Node's test/parallel/test-net-write-arguments.js.

Node's ``undefined`` in the list of bad chunks is Python's ``None``, which
is Node's ``null`` case (``ERR_STREAM_NULL_VALUES``, tested first). The
message names Python's types, so only its subject ("chunk") is checked.
"""

import math

import pytest
from common import check_error, must_not_call

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_none():
    socket = net.Socket({"highWaterMark": 0})
    socket.on("error", must_not_call())
    with pytest.raises(TypeError) as info:
        socket.write(None)
    check_error(info.value, code="ERR_STREAM_NULL_VALUES",
                message="May not write null values to stream")


@pytest.mark.parametrize("value", [True, False, 1, 1.0, math.inf, -math.inf, [], {}], ids=repr)
def test_write_invalid_chunk(value):
    socket = net.Socket({"highWaterMark": 0})
    with pytest.raises(TypeError) as info:
        socket.write(value)
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")
    assert "chunk" in info.value.message
