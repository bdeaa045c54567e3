"""Port of Node's test/parallel/test-stream-readable-emittedReadable.js.

``process.nextTick`` is :func:`gnet.dispatch.schedule`, ``setImmediate`` a
greenlet started at once; the push()es of one turn are batched into one
'readable' as in Node.
"""

import gevent
import pytest
from common import must_call, run

from gnet.dispatch import schedule
from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_emitted_readable():
    readable = Readable({"read": lambda n: None})
    assert readable._r.emittedReadable is False
    expected = [b"foobar", b"quo", None]

    def on_readable():
        # emittedReadable should be true when the readable event is emitted
        assert readable._r.emittedReadable is True
        assert readable.read() == expected.pop(0)
        # emittedReadable is reset to false during read()
        assert readable._r.emittedReadable is False

    readable.on("readable", must_call(on_readable, 3))
    # When the first readable listener is just attached, emittedReadable should be false.
    assert readable._r.emittedReadable is False
    # These trigger a single 'readable', as things are batched up.
    readable.push("foo")
    readable.push("bar")
    gevent.sleep(0.02)

    def later():
        readable.push("quo")
        schedule(lambda: readable.push(None))

    # These trigger two readable events.
    gevent.spawn(later)
    gevent.sleep(0.02)
    run()


def test_no_read():
    no_read = Readable({"read": lambda n: None})

    def first():
        # emittedReadable should be true when the readable event is emitted
        assert no_read._r.emittedReadable is True
        no_read.read(0)
        # emittedReadable is not reset during read(0)
        assert no_read._r.emittedReadable is True

        def second():
            # The second 'readable' is emitted because we are ending.
            assert no_read._r.emittedReadable is False
            no_read.read(0)
            assert no_read._r.emittedReadable is False

        no_read.on("readable", must_call(second))

    no_read.once("readable", must_call(first))
    no_read.push("foo")
    no_read.push(None)
    run()


def test_flowing():
    flowing = Readable({"read": lambda n: None})

    def on_data(chunk):
        # When in flowing mode, emittedReadable is always false.
        assert flowing._r.emittedReadable is False
        flowing.read()
        assert flowing._r.emittedReadable is False

    flowing.on("data", must_call(on_data, 3))
    flowing.push("foooo")
    flowing.push("bar")
    flowing.push("quo")
    schedule(lambda: flowing.push(None))
    run()
