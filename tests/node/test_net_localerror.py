"""Port of Node's test/parallel/test-net-localerror.js.

The source's ``connect`` helper is ``mustCall(..., 2)``; its two calls are
the two tests below, each counted once.
"""

import pytest
from common import check_error, must_call

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _connect(opts, code, typ):
    with pytest.raises(typ) as info:
        net.connect(opts)
    check_error(info.value, code=code)


@pytest.mark.xfail(strict=True, reason="docs/differences.md: `TypeError` with `code: "
                   "'ERR_INVALID_ARG_VALUE'` (also `ERR_INVALID_IP_ADDRESS`) | `ValueError`")
def test_bad_local_address_throws():
    must_call(_connect)({"host": "localhost", "port": 0, "localAddress": "foobar"},
                        "ERR_INVALID_IP_ADDRESS", TypeError)


def test_bad_local_address_code():
    # The same call, checked for Node's code whatever the class.
    must_call(_connect)({"host": "localhost", "port": 0, "localAddress": "foobar"},
                        "ERR_INVALID_IP_ADDRESS", Exception)


def test_bad_local_port_throws():
    must_call(_connect)({"host": "localhost", "port": 0, "localPort": "foobar"},
                        "ERR_INVALID_ARG_TYPE", TypeError)
