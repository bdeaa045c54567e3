"""Port of Node's test/parallel/test-stream-writable-write-cb-twice.js.

``process.nextTick(fn)`` is :func:`gnet.dispatch.schedule` (run soon, in a worker).
"""

import pytest
from common import expects_error, must_call, run

from gnet.dispatch import schedule
from gnet.stream import Writable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _check(write):
    writable = Writable({"write": must_call(write)})
    writable.write("hi")
    writable.on("error", expects_error(code="ERR_MULTIPLE_CALLBACK",
                                       name="MultipleCallbackError"))


def test_sync_sync():
    def write(buf, enc, cb):
        cb()
        cb()

    _check(write)
    run()


def test_sync_async():
    def write(buf, enc, cb):
        cb()
        schedule(cb)

    _check(write)
    run()


def test_async_async():
    def write(buf, enc, cb):
        schedule(cb)
        schedule(cb)

    _check(write)
    run()
