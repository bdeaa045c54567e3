"""Port of Node's test/parallel/test-stream-finished.js (the cases without fs or promises).

``setImmediate(fn)`` is a greenlet started at once; ``process.nextTick`` is
:func:`gnet.dispatch.schedule`.
"""

import gevent
import pytest
from common import expects_error, must_call, must_not_call, run

from gnet.dispatch import schedule
from gnet.events import EventEmitter
from gnet.stream import Duplex, PassThrough, Readable, Transform, Writable, finished

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def no_error(err=None):
    assert err is None


def premature(err):
    assert err.code == "ERR_STREAM_PREMATURE_CLOSE"


def test_readable():
    rs = Readable({"read": lambda n: None})
    finished(rs, must_call(no_error))
    rs.push(None)
    rs.resume()
    run()


def test_writable():
    ws = Writable({"write": lambda data, enc, cb: cb()})
    finished(ws, must_call(no_error))
    ws.end()
    run()


def test_transform_waits_for_both_sides():
    tr = Transform({"transform": lambda data, enc, cb: cb()})
    seen = []
    tr.on("end", lambda: seen.append("end"))
    tr.on("finish", lambda: seen.append("finish"))

    def done(err=None):
        assert err is None
        assert "finish" in seen and "end" in seen

    finished(tr, must_call(done))
    tr.end()
    tr.resume()
    run()


def test_close_after_push_none_is_no_error():
    rs = Readable()
    finished(rs, must_call(no_error))
    rs.push(None)
    rs.emit("close")  # Should not trigger an error
    rs.resume()
    run()


def test_close_before_end_is_premature():
    rs = Readable()
    finished(rs, must_call(lambda err: premature(err)))
    rs.emit("close")  # Should trigger error
    rs.push(None)
    rs.resume()
    run()


def test_faulty_arguments():
    rs = Readable({"read": lambda n: None})
    with pytest.raises(TypeError) as info:
        finished(rs, "foo")
    assert info.value.code == "ERR_INVALID_ARG_TYPE" and "callback" in str(info.value)
    with pytest.raises(TypeError) as info:
        finished(rs, "foo", lambda err: None)
    assert info.value.code == "ERR_INVALID_ARG_TYPE" and "options" in str(info.value)
    with pytest.raises(TypeError) as info:
        finished(rs, {}, "foo")
    assert info.value.code == "ERR_INVALID_ARG_TYPE" and "callback" in str(info.value)
    finished(rs, None, must_call())
    rs.push(None)
    rs.resume()
    run()


def test_returned_function_removes_listeners():
    ws = Writable({"write": lambda data, env, cb: cb()})
    remove = finished(ws, must_not_call())
    remove()
    ws.end()
    rs = Readable()
    remove = finished(rs, must_not_call())
    remove()
    rs.emit("close")
    rs.push(None)
    rs.resume()
    run()


def test_stream_like_emitter():
    class StreamLike(EventEmitter):  # a plain EventEmitter has no room for attributes
        pass

    stream_like = StreamLike()
    stream_like.readableEnded = True
    stream_like.readable = True
    finished(stream_like, must_call())
    stream_like.emit("close")
    run()


def test_destroy_while_writing_is_premature():
    w = Writable({"write": lambda chunk, encoding, callback: gevent.spawn_later(0.01, callback)})
    finished(w, must_call(premature))
    w.end("asd")
    w.destroy()
    run()


@pytest.mark.parametrize("factory", [
    lambda **opts: Readable(opts),
    lambda **opts: Writable({"write": lambda c, e, cb: None, **opts}),
], ids=["Readable", "Writable"])
def test_closed(factory):
    # If already destroyed but finished is cancelled in the same tick, no callback.
    s = factory()
    s.destroy()
    dispose = finished(s, must_not_call())
    dispose()

    # If already destroyed, the callback is invoked.
    s = factory()
    s.destroy()
    finished(s, must_call())

    # Not invoked until destroy has completed.
    destroyed = []

    def slow_destroy(err, cb):
        def later():
            destroyed.append(True)
            cb()

        gevent.spawn(later)

    s = factory(destroy=slow_destroy)
    s.destroy()
    finished(s, must_call(lambda err=None: destroyed == [True] or pytest.fail("too early")))

    # Invoked even if 'close' is inhibited.
    def inhibited(err, cb):
        cb()
        finished(s2, must_call())

    s2 = factory(emitClose=False, destroy=inhibited)
    s2.destroy()

    # Invoked with deep async.
    def deep(err, cb):
        def later():
            cb()
            gevent.spawn(lambda: finished(s3, must_call()))

        gevent.spawn(later)

    s3 = factory(destroy=deep)
    s3.destroy()
    gevent.sleep(0.05)
    run()


def test_no_auto_destroy_writable_finished_later():
    w = Writable({"write": lambda chunk, encoding, cb: cb(), "autoDestroy": False})
    w.end("asd")
    schedule(lambda: finished(w, must_call()))
    run()


def test_no_auto_destroy_writable_errored():
    w = Writable({"write": lambda chunk, encoding, cb: cb(Exception()), "autoDestroy": False})
    w.write("asd")
    w.on("error", must_call(lambda err: finished(w, must_call())))
    run()


def test_no_auto_destroy_readable_ended():
    r = Readable({"autoDestroy": False})
    r.push(None)
    r.resume()
    r.on("end", must_call(lambda: finished(r, must_call())))
    run()


def test_destroy_after_push_none_before_end_is_premature():
    r = Readable()
    finished(r, must_call(premature))
    r.push("asd")
    r.push(None)
    r.destroy()
    run()


@pytest.mark.parametrize("end_first", [False, True])
def test_duplex_readable_side_only(end_first):
    d = Duplex({"final": lambda cb: None,  # never close the writable side
                "read": lambda this, n: this.push(None)})
    d.on("end", must_call())
    if end_first:
        d.end()
        finished(d, {"readable": True, "writable": False}, must_call())
    else:
        finished(d, {"readable": True, "writable": False}, must_call())
        d.end()
    d.resume()
    run()


def test_duplex_reading_from_a_response():
    # Regression https://github.com/nodejs/node/issues/33130
    response = PassThrough()
    response.write("chunk 1")
    response.write("chunk 2")
    response.write("chunk 3")
    response.end()

    class HelloWorld(Duplex):
        def __init__(self, response):
            super().__init__()
            self.response = response
            self.read_more = False
            response.once("end", lambda: self.push(None))
            response.on("readable", lambda: self.read_more and self._read())

        def _read(self, size=None):
            self.read_more = True
            if self.response.readableLength:
                self.read_more = False
            while (data := self.response.read()) is not None:
                self.push(data)

    instance = HelloWorld(response)
    instance.setEncoding("utf8")
    instance.end()
    res = "".join(instance)
    assert res == "chunk 1chunk 2chunk 3"
    run()


def test_passthrough_never_read_never_finishes():
    p = PassThrough()
    p.end()
    finished(p, must_not_call())
    run()


def test_error_is_passed():
    r = Readable({"read": lambda n: None})
    finished(r, expects_error(message="boom"))
    r.destroy(Exception("boom"))
    run()
