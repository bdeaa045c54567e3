"""Port of Node's test/parallel/test-net-connect-custom-lookup-non-string-address.mjs."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _broken_custom_lookup(_hostname, options, callback):
    # Incorrectly return a list of IPs instead of a string.
    callback(None, ["127.0.0.1"], options["family"])


@pytest.mark.parametrize("family", [4, 6])
def test_lookup_answering_a_list_of_strings(family):
    socket = net.connect({"host": "example.com", "port": 80, "lookup": _broken_custom_lookup,
                          "family": family}, must_not_call())

    def on_error(err):
        assert err.code == "ERR_INVALID_IP_ADDRESS"

    socket.on("error", must_call(on_error))
    run()
