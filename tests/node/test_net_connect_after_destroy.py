"""Port of Node's test/parallel/test-net-connect-after-destroy.js."""

import pytest
from common import run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_destroy_during_lookup_does_not_throw():
    c = net.createConnection(80, "google.com")
    c.destroy()
    run()
