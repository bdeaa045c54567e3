"""Port of Node's test/parallel/test-stream-push-order.js."""

import pytest
from common import run

from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_push_order():
    s = Readable({"highWaterMark": 20, "encoding": "ascii"})
    items = ["1", "2", "3", "4", "5", "6"]

    def read(n):
        one = items.pop(0) if items else None
        if not one:
            s.push(None)
        else:
            two = items.pop(0)
            s.push(one)
            s.push(two)

    s._read = read
    s.read(0)
    run()
    # Node's buffer holds the six strings in order; gnet's read() joins them.
    assert s.read() == "123456"
