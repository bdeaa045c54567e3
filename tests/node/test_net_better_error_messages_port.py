"""Port of Node's test/sequential/test-net-better-error-messages-port.js.

``common.PORT`` (a fixed port nothing listens on) becomes a port found free.
"""

import re

import pytest
from common import free_port, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_refused_error_names_port_and_address():
    port = free_port()
    c = net.createConnection(port)
    c.on("connect", must_not_call())

    def on_error(error):
        # Family autoselection might be skipped if DNS returns one address.
        failed_attempt = error.errors[0] if isinstance(getattr(error, "errors", None),
                                                       list) else error
        assert failed_attempt.code == "ECONNREFUSED"
        assert failed_attempt.port == port
        assert re.match(r"^(127\.0\.0\.1|::1)$", failed_attempt.address)

    c.on("error", must_call(on_error))
    run()
