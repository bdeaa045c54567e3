"""Port of Node's test/parallel/test-stream-end-paused.js.

Make sure we don't miss the end event for paused 0-length streams.
"""

import pytest
from common import must_call, must_not_call, run, wait

from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_end_paused():
    stream = Readable()
    called_read = []

    def read(n):
        assert not called_read
        called_read.append(True)
        stream.push(None)

    stream._read = read
    stream.on("data", must_not_call("should not ever get data"))
    stream.pause()
    wait(1)  # setTimeout(fn)
    stream.on("end", must_call())
    stream.resume()
    run()
    assert called_read
