"""Port of Node's test/parallel/test-stream-passthrough-drain.js."""

import pytest
from common import must_call, run

from gnet.stream import PassThrough

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_passthrough_drain():
    pt = PassThrough({"highWaterMark": 0})
    pt.on("drain", must_call())
    assert not pt.write("hello1")
    pt.read()
    pt.read()
    run()
