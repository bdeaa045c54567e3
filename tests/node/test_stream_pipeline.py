"""Port of Node's test/parallel/test-stream-pipeline.js (the cases without http or promises).

Node's ``async function*`` stages are Python generator functions, its
``async function(source)`` destination a plain function; ``setImmediate``
is a greenlet started at once.
"""

import gevent
import pytest
from common import must_call, run

import gnet
from gnet.stream import PassThrough, Readable, Transform, Writable, pipeline

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def must_succeed(fn=None):
    def check(err=None, *args):
        assert err is None, err
        if fn is not None:
            fn(*args)

    return must_call(check)


def test_read_to_write():
    finished = []
    processed = []
    expected = [b"a", b"b", b"c"]
    read = Readable({"read": lambda n: None})
    write = Writable({"write": lambda data, enc, cb: (processed.append(data), cb())})
    write.on("finish", lambda: finished.append(True))
    for chunk in expected:
        read.push(chunk)
    read.push(None)

    def done():
        assert finished
        assert processed == expected

    pipeline(read, write, must_succeed(done))
    run()


def test_missing_args():
    read = Readable({"read": lambda n: None})
    with pytest.raises(TypeError) as info:
        pipeline(read, lambda: None)
    assert info.value.code == "ERR_MISSING_ARGS"
    with pytest.raises(TypeError) as info:
        pipeline(lambda: None)
    assert info.value.code == "ERR_MISSING_ARGS"


def test_destroyed_source_is_an_error():
    read = Readable({"read": lambda n: None})
    write = Writable({"write": lambda data, enc, cb: cb()})
    read.push("data")
    gevent.spawn(read.destroy)
    pipeline(read, write, must_call(lambda err: err is not None or pytest.fail("no error")))
    run()


def test_source_error_is_passed_and_destination_returned():
    read = Readable({"read": lambda n: None})
    write = Writable({"write": lambda data, enc, cb: cb()})
    read.push("data")
    gevent.spawn(read.destroy, Exception("kaboom"))

    def done(err):
        assert str(err) == "kaboom"

    dst = pipeline(read, write, must_call(done))
    assert dst is write
    run()


def test_transform_error_destroys_all():
    read = Readable({"read": lambda n: None})
    transform = Transform({"transform": lambda data, enc, cb: cb(Exception("kaboom"))})
    write = Writable({"write": lambda data, enc, cb: cb()})

    def is_kaboom(err):
        assert str(err) == "kaboom"

    for stream in (read, transform, write):
        stream.on("close", must_call())
        stream.on("error", must_call(is_kaboom))
    dst = pipeline(read, transform, write, must_call(is_kaboom))
    assert dst is write
    read.push("hello")
    run()


def test_many_transforms_and_a_failing_sink():
    def make_transform():
        tr = Transform({"transform": lambda data, enc, cb: cb(None, data)})
        tr.on("close", must_call())
        return tr

    rs = Readable({"read": lambda this, n: this.push("hello")})
    cnt = [10]

    def write(data, enc, cb):
        cnt[0] -= 1
        if cnt[0] == 0:
            return cb(Exception("kaboom"))
        cb()

    ws = Writable({"write": write})
    rs.on("close", must_call())
    ws.on("close", must_call())
    pipeline(rs, *[make_transform() for _ in range(6)], ws,
             must_call(lambda err: str(err) == "kaboom" or pytest.fail(repr(err))))
    run()


def test_pipeline_without_callback():
    read = Readable({"read": lambda n: None})
    transform = Transform({"transform": lambda data, enc, cb: cb(Exception("kaboom"))})
    write = Writable({"write": lambda data, enc, cb: cb()})
    with pytest.raises(TypeError) as info:
        pipeline(read, transform, write)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"


def test_passthrough_destroyed_with_an_error():
    src = Readable({"read": lambda n: None})
    src.push(b"asd")
    stream = PassThrough()
    stream.on("error", must_call())
    pipeline(src, stream, must_call(lambda err: str(err) == "oh no" or pytest.fail(repr(err))))
    stream.destroy(Exception("oh no"))
    run()


def _collector():
    res = []
    w = Writable({"write": lambda chunk, encoding, callback: (res.append(chunk), callback())})
    return w, res


@pytest.mark.parametrize("call", [True, False], ids=["generator", "generator function"])
def test_generator_source(call):
    w, res = _collector()

    def gen():
        yield "hello"
        yield "world"

    pipeline(gen() if call else gen, w,
             must_succeed(lambda: b"".join(res) == b"helloworld" or pytest.fail(repr(res))))
    run()


def test_generator_transform_and_function_destination():
    res = []

    def source():
        yield "hello"
        yield "world"

    def upper(src):
        for chunk in src:
            yield chunk.upper()

    def sink(src):
        for chunk in src:
            res.append(chunk)

    pipeline(source, upper, sink, must_succeed(lambda *v: None))
    run()
    assert "".join(res) == "HELLOWORLD"


def test_function_destination_value():
    def source():
        yield "hello"
        yield "world"

    def upper(src):
        for chunk in src:
            yield chunk.upper()

    def sink(src):
        return "".join(src)

    pipeline(source, upper, sink,
             must_succeed(lambda val: val == "HELLOWORLD" or pytest.fail(val)))
    run()


def test_generator_destination_is_returned_and_finalizes():
    def source():
        yield "hello"

    def last(src):
        for _ in src:
            pass
        yield from ()

    ret = pipeline(source, last, must_call(lambda err=None: err is None or pytest.fail(err)))
    ret.resume()
    assert callable(ret.pipe)
    run()


def test_generator_error_propagates_through_a_returned_stream():
    def source():
        raise Exception("kaboom")
        yield

    def last(src):
        for _ in src:
            pass
        yield from ()

    ret = pipeline(source, last, must_call(lambda err: str(err) == "kaboom" or pytest.fail()))
    ret.resume()
    assert callable(ret.pipe)
    run()


@pytest.mark.parametrize("call", [True, False], ids=["generator", "generator function"])
def test_throwing_source_destroys_the_destination(call):
    s = PassThrough()

    def source():
        raise Exception("kaboom")
        yield

    def done(err, *val):
        assert str(err) == "kaboom"
        assert s.destroyed is True

    pipeline(source() if call else source, s, must_call(done))
    run()


def test_throwing_function_destination():
    s = PassThrough()

    def source():
        yield "hello"
        yield "world"

    def sink(src):
        for _ in src:
            raise Exception("kaboom")

    def done(err, *val):
        assert str(err) == "kaboom"
        assert s.destroyed is True

    pipeline(source, s, sink, must_call(done))
    run()


def test_list_source_and_throwing_generator_destination():
    s = PassThrough()

    def last(src):
        for _ in src:
            raise Exception("kaboom")
        yield from ()

    def done(err, *val):
        assert str(err) == "kaboom"
        assert s.destroyed is True

    ret = pipeline(lambda: ["hello", "world"], s, last, must_call(done))
    ret.resume()
    assert callable(ret.pipe)
    run()


def test_signal_aborted_by_the_producer():
    ac = gnet.AbortController()

    def producer():
        yield "5"
        ac.abort()
        yield "8"

    w = Writable({"write": lambda chunk, encoding, callback: callback()})
    pipeline(producer, w, must_call(lambda err: err.name == "AbortError" or pytest.fail()),
             signal=ac.signal)
    run()


def test_pre_aborted_signal():
    def producer():
        yield "5"
        yield "8"

    w = Writable({"write": lambda chunk, encoding, callback: callback()})
    pipeline(producer, w, must_call(lambda err: err.code == "ABORT_ERR" or pytest.fail()),
             signal=gnet.AbortSignal.abort())
    run()
