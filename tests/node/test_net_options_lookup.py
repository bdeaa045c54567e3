"""Port of Node's test/parallel/test-net-options-lookup.js."""

import pytest
from common import check_error, expects_error, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.mark.parametrize("value", ["foobar", 1, {}, []])
def test_lookup_must_be_a_function(value):
    with pytest.raises(TypeError) as info:
        net.connect({"host": "localhost", "port": 0, "lookup": value})
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")


def _connect_does_not_throw(lookup):
    return net.connect({"host": "localhost", "port": 0, "lookup": lookup})


def test_function_lookup_is_accepted():
    s = _connect_does_not_throw(lambda *args: None)
    s.destroy()
    run()


def test_invalid_address_family_from_lookup():
    def lookup(host, options, cb):
        if options.get("all"):
            cb(None, [{"address": "127.0.0.1", "family": 100}])
        else:
            cb(None, "127.0.0.1", 100)

    s = _connect_does_not_throw(lookup)
    s.on("error", expects_error(code="ERR_INVALID_ADDRESS_FAMILY", host="localhost", port=0,
                                message="Invalid address family: 100 localhost:0"))
    run()
