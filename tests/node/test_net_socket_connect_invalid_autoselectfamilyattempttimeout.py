"""Port of Node's test/parallel/test-net-socket-connect-invalid-autoselectfamilyattempttimeout.js.
"""

import pytest
from common import check_error

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.fixture
def _restore_default():
    before = net.getDefaultAutoSelectFamilyAttemptTimeout()
    yield
    net.setDefaultAutoSelectFamilyAttemptTimeout(before)


@pytest.mark.parametrize("value", [-10, 0])
def test_connect_rejects_out_of_range(value):
    sock = None
    try:
        with pytest.raises(ValueError) as info:
            sock = net.connect({"port": 8080, "autoSelectFamily": True,
                                "autoSelectFamilyAttemptTimeout": value})
        check_error(info.value, code="ERR_OUT_OF_RANGE")
    finally:
        if sock is not None:
            sock.destroy()


@pytest.mark.parametrize("value", [-10, 0])
def test_set_default_rejects_out_of_range(value, _restore_default):
    with pytest.raises(ValueError) as info:
        net.setDefaultAutoSelectFamilyAttemptTimeout(value)
    check_error(info.value, code="ERR_OUT_OF_RANGE")


def test_set_default_rounds_up_to_ten(_restore_default):
    for value in (1, 9):
        net.setDefaultAutoSelectFamilyAttemptTimeout(value)
        assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 10
