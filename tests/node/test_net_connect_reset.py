"""Port of Node's test/parallel/test-net-connect-reset.js."""

import pytest
from common import expects_error, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_reset_of_a_new_socket():
    socket = net.Socket()
    socket.resetAndDestroy()
    socket.on("error", expects_error(code="ERR_SOCKET_CLOSED"))
    run()
