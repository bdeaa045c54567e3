"""Port of Node's test/parallel/test-stream-transform-callback-twice.js."""

import pytest
from common import expects_error, run

from gnet.stream import Transform

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_transform_callback_twice():
    def transform(chunk, enc, cb):
        cb()
        cb()

    stream = Transform({"transform": transform})
    stream.on("error", expects_error(message="Callback called multiple times",
                                     code="ERR_MULTIPLE_CALLBACK"))
    stream.write("foo")
    run()
