"""Port of Node's test/parallel/test-stream-transform-flush-data.js."""

import pytest
from common import must_call, run

from gnet.stream import Transform

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_transform_flush_data():
    expected = b"asdf"

    def transform(d, e, n):
        n()

    def flush(n):
        n(None, expected)

    t = Transform({"transform": transform, "flush": flush})
    t.end(b"blerg")

    def on_data(data):
        assert data == expected

    t.on("data", must_call(on_data))
    run()
