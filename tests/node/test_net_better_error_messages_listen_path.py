"""Port of Node's test/parallel/test-net-better-error-messages-listen-path.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_path_error_names_the_path():
    fp = "/blah/fadfa"
    server = net.createServer(must_not_call())
    server.listen(fp, must_not_call())

    def on_error(e):
        assert e.address == fp

    server.on("error", must_call(on_error))
    run()
