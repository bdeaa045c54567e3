"""Port of Node's test/parallel/test-net-connect-no-arg.js."""

import pytest
from common import check_error

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

MESSAGE = 'The "options" or "port" or "path" argument must be specified'


@pytest.mark.parametrize("call", [
    lambda: net.connect(),
    lambda: net.Socket().connect(),
    lambda: net.connect({}),
    lambda: net.Socket().connect({}),
], ids=["connect()", "Socket().connect()", "connect({})", "Socket().connect({})"])
def test_connect_without_a_destination(call):
    with pytest.raises(Exception) as info:
        call()
    check_error(info.value, code="ERR_MISSING_ARGS", message=MESSAGE)
