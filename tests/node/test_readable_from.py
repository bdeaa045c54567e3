"""Port of Node's test/parallel/test-readable-from.js.

``Readable.from`` is ``Readable.from_``; Node's async generators are Python
generators (they may block cooperatively), ``for await`` is ``for``, and
``await once(stream, 'end')`` is :func:`gnet.events.once` (blocking). The
promise case has no Python counterpart and is not ported.
"""

import pytest
from common import run

from gnet.events import once
from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def generate():
    yield "a"
    yield "b"
    yield "c"


def test_basic_support():
    expected = ["a", "b", "c"]
    for chunk in Readable.from_(generate()):
        assert chunk == expected.pop(0)
    assert expected == []
    run()


def test_list():
    assert list(Readable.from_(["a", "b", "c"])) == ["a", "b", "c"]


def test_string():
    assert list(Readable.from_("abc")) == ["abc"]


def test_bytes():
    assert list(Readable.from_(b"abc")) == [b"abc"]


def test_on_data():
    stream = Readable.from_(generate())
    expected = ["a", "b", "c"]
    iterations = []

    def on_data(chunk):
        iterations.append(chunk)
        assert chunk == expected.pop(0)

    stream.on("data", on_data)
    once(stream, "end", 5000)
    assert len(iterations) == 3
    run()


def test_on_data_non_object():
    stream = Readable.from_(generate(), {"objectMode": False})
    expected = ["a", "b", "c"]
    iterations = []

    def on_data(chunk):
        iterations.append(chunk)
        assert isinstance(chunk, bytes)
        assert chunk.decode() == expected.pop(0)

    stream.on("data", on_data)
    once(stream, "end", 5000)
    assert len(iterations) == 3
    run()


def test_destroys_the_stream_when_throwing():
    def failing():
        raise Exception("kaboom")
        yield

    stream = Readable.from_(failing())
    stream.read()
    [err] = once(stream, "error", 5000)
    assert str(err) == "kaboom"
    assert stream.destroyed is True
    run()


def test_as_transform_stream():
    def upper(stream):
        for chunk in stream:
            yield chunk.upper()

    def read(this, size):
        this.push("a")
        this.push("b")
        this.push("c")
        this.push(None)

    source = Readable({"objectMode": True, "read": read})
    expected = ["A", "B", "C"]
    for chunk in Readable.from_(upper(source)):
        assert chunk == expected.pop(0)
    assert expected == []
    run()
