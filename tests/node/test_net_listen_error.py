"""Port of Node's test/parallel/test-net-listen-error.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_on_a_foreign_address_errors():
    server = net.createServer(must_not_call())
    server.listen(1, "1.1.1.1", must_not_call())  # EACCES or EADDRNOTAVAIL
    server.on("error", must_call())
    run()
