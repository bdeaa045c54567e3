"""Port of Node's test/parallel/test-net-socket-connect-invalid-autoselectfamily.js."""

import pytest
from common import check_error

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_invalid_auto_select_family():
    sock = None
    try:
        with pytest.raises(TypeError) as info:
            sock = net.connect({"port": 8080, "autoSelectFamily": "INVALID"})
        check_error(info.value, code="ERR_INVALID_ARG_TYPE")
    finally:
        if sock is not None:
            sock.destroy()
