"""Port of Node's test/parallel/test-net-better-error-messages-listen.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_error_names_address_port_syscall():
    server = net.createServer(must_not_call())
    server.listen(1, "1.1.1.1", must_not_call())

    def on_error(e):
        assert e.address == "1.1.1.1"
        assert e.port == 1
        assert e.syscall == "listen"

    server.on("error", must_call(on_error))
    run()
