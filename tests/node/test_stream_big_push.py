"""Port of Node's test/parallel/test-stream-big-push.js."""

import gevent
import pytest
from common import must_call, run

from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

STR = "asdfasdfasdfasdfasdf"


def test_big_push():
    r = Readable({"highWaterMark": 5, "encoding": "utf8"})
    reads = [0]
    eofed = []

    def read(n):
        if reads[0] == 0:
            gevent.spawn_later(0, r.push, STR)  # setTimeout
            reads[0] += 1
        elif reads[0] == 1:
            ret = r.push(STR)
            assert ret is False
            reads[0] += 1
        else:
            assert not eofed
            eofed.append(True)
            r.push(None)

    r._read = read
    r.on("end", must_call())
    # Push some data in to start; we've never gotten any read event at this point.
    ret = r.push(STR)
    assert not ret  # > hwm
    chunk = r.read()
    assert chunk == STR
    chunk = r.read()
    assert chunk is None

    def on_readable():
        # This time we get *all* the remaining data: the read would take us
        # below the hwm, so it triggered a _read() again, which synchronously
        # added more, which we then return.
        assert r.read() == STR + STR
        assert r.read() is None

    r.once("readable", must_call(on_readable))
    gevent.sleep(0.05)
    run()
    assert eofed
    assert reads[0] == 2
