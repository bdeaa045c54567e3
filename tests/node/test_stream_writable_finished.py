"""Port of Node's test/parallel/test-stream-writable-finished.js."""

import pytest
from common import must_call, run

from gnet.stream import Writable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_basic():
    assert isinstance(Writable.__dict__.get("writableFinished"), property)


def test_event():
    writable = Writable()

    def write(chunk, encoding, cb):
        # The state finished should start in false.
        assert writable.writableFinished is False
        cb()

    writable._write = write

    def on_finish():
        assert writable.writableFinished is True

    writable.on("finish", must_call(on_finish))

    def on_end(err=None):
        assert writable.writableFinished is True

    writable.end("testing finished state", must_call(on_end))
    run()


def test_emit_finish_asynchronously():
    w = Writable({"write": lambda chunk, encoding, cb: cb()})
    w.end()
    w.on("finish", must_call())
    run()
