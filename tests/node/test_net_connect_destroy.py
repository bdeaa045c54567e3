"""Port of Node's test/parallel/test-net-connect-destroy.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_destroy_unconnected_socket_emits_close():
    socket = net.Socket()
    socket.on("close", must_call())
    socket.destroy()
    run()
