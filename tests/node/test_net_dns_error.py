"""Port of Node's test/parallel/test-net-dns-error.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

ERR_CODES = ["ENOTFOUND", "EAI_FAIL"]


def test_invalid_host_name_lookup_error():
    host = "*" * 64
    socket = net.connect(42, host, must_not_call())

    def on_error(err):
        assert err.code in ERR_CODES, err

    def on_lookup(err, ip, typ, *_):
        assert isinstance(err, Exception)
        assert err.code in ERR_CODES, err
        assert ip is None
        assert typ is None

    socket.on("error", must_call(on_error))
    socket.on("lookup", must_call(on_lookup))
    run(20000)
