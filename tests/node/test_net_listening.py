"""Port of Node's test/parallel/test-net-listening.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listening_property():
    server = net.createServer()
    assert server.listening is False

    def on_listening():
        assert server.listening is True

        def on_close(err=None):
            assert server.listening is False

        server.close(must_call(on_close))

    server.listen(0, must_call(on_listening))
    run()
