"""Port of Node's test/parallel/test-net-connect-options-invalid.js."""

import re

import pytest
from common import check_error

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.mark.xfail(strict=True, reason="docs/differences.md: `objectMode` is rejected with "
                   "`InvalidArgValueError`")
@pytest.mark.parametrize("invalid_key",
                         ["objectMode", "readableObjectMode", "writableObjectMode"])
def test_object_mode_options_are_rejected(invalid_key):
    option = {"port": 8080, invalid_key: True}
    message = f"The property 'options.{invalid_key}' is not supported. Received true"
    with pytest.raises(Exception) as info:
        net.createConnection(option)
    check_error(info.value, code="ERR_INVALID_ARG_VALUE", name="TypeError")
    assert re.search(re.escape(message), str(info.value))


def test_host_must_be_a_string():
    with pytest.raises(TypeError) as info:
        net.createConnection({"host": ["192.168.0.1"], "port": 8080})
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")
