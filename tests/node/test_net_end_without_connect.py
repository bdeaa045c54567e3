"""Port of Node's test/parallel/test-net-end-without-connect.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_on_a_never_connected_socket():
    sock = net.Socket()

    def on_end(err=None):
        assert sock.writable is False

    sock.end(must_call(on_end))
    run()
