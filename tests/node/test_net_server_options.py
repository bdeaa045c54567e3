"""Port of Node's test/parallel/test-net-server-options.js."""

import pytest
from common import check_error

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.mark.parametrize("value", ["path", 0])
def test_create_server_rejects_non_options(value):
    with pytest.raises(TypeError) as info:
        net.createServer(value)
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")
