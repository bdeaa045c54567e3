"""Port of Node's test/parallel/test-net-server-listen-remove-callback.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_callback_is_removed_on_close():
    server = net.createServer()

    def on_close():
        listeners = server.listeners("listening")
        assert len(listeners) == 0

    server.on("close", must_call(on_close, 2))
    server.listen(0, lambda: server.close())
    server.once("close", lambda: server.listen(0, lambda: server.close()))
    run()
