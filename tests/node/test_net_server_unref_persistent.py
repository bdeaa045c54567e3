"""Port of Node's test/parallel/test-net-server-unref-persistent.js.

Node's process exits with the unref'd server still listening; the port
closes it after ``run()`` returns, and clears the unref'd timer.
"""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_unref_before_listen_persists():
    server = net.createServer()
    server.unref()
    server.listen()
    timer = net.setTimeout(must_not_call(), 1000).unref()
    run(500)
    net.clearTimeout(timer)
    server.close()
