"""Port of Node's test/parallel/test-stream-readable-event.js (its first three cases)."""

import pytest
from common import must_call, run, wait

from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _stream(hwm):
    r = Readable({"highWaterMark": hwm})
    called = []
    r._read = lambda n: called.append(n)
    return r, called


def test_not_reading_when_the_readable_is_added():
    r, read_called = _stream(3)
    r.push(b"blerg")  # triggers a 'readable' event, which is lost
    wait(1)
    assert not r._r.reading
    r.on("readable", must_call())
    run()
    assert not read_called


def test_readable_reemitted_if_there_is_a_length_while_reading():
    r, read_called = _stream(3)
    r.push(b"bl")
    wait(1)
    assert r._r.reading
    r.on("readable", must_call())
    run()
    assert read_called


def test_not_reading_below_the_mark_at_eof():
    r, read_called = _stream(30)
    r.push(b"blerg")
    r.push(None)
    wait(1)
    assert not r._r.reading
    r.on("readable", must_call())
    run()
    assert not read_called
