"""Port of Node's test/parallel/test-net-localerror.js."""

import pytest
from common import check_error, must_call

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _connect(opts, code, typ):
    with pytest.raises(typ) as info:
        net.connect(opts)
    check_error(info.value, code=code)


@pytest.mark.xfail(strict=True, reason="bug: localAddress/localPort are not validated "
                   "(Node: ERR_INVALID_IP_ADDRESS, ERR_INVALID_ARG_TYPE)")
def test_bad_local_address_and_port_throw():
    connect = must_call(_connect, 2)
    connect({"host": "localhost", "port": 0, "localAddress": "foobar"},
            "ERR_INVALID_IP_ADDRESS", TypeError)
    connect({"host": "localhost", "port": 0, "localPort": "foobar"},
            "ERR_INVALID_ARG_TYPE", TypeError)
