"""Port of Node's test/parallel/test-net-timeout-no-handle.js.

The source also checks that the private ``_handle`` is null in 'timeout';
the port checks that the socket never connected instead.
"""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_timeout_on_a_socket_without_handle():
    socket = net.Socket()
    socket.setTimeout(50)

    def on_timeout():
        assert socket.remoteAddress is None

    socket.on("timeout", must_call(on_timeout))
    socket.on("connect", must_not_call())
    net.setTimeout(lambda: None, 200)
    run()
    socket.destroy()
