"""Port of Node's test/parallel/test-net-server-close-before-calling-lookup-callback.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_close_before_host_lookup_completes():
    net.createServer().listen(0, "localhost", must_not_call()).close()
    run()
