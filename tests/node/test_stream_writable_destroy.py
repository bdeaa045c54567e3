"""Port of Node's test/parallel/test-stream-writable-destroy.js.

The expectations are Node 20's, checked by running the cases under node 20
where the file's version differs from it: a second ``destroy()`` is ignored
(its callback gets no error), ``write()`` after ``destroy()`` errors its
callback only, and ``end(cb)`` after an error and ``destroy()`` gets
``ERR_STREAM_DESTROYED``. ``_undestroy()`` (internal) is not ported.
"""

import gevent
import pytest
from common import expects_error, must_call, must_not_call, run

from gnet.dispatch import schedule
from gnet.stream import Writable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _ok_writable(**options):
    return Writable({"write": lambda chunk, enc, cb: cb(), **options})


def test_destroy():
    write = _ok_writable()
    write.on("finish", must_not_call())
    write.on("close", must_call())
    write.destroy()
    assert write.destroyed is True
    run()


def test_destroy_inside_write():
    def write_fn(this, chunk, enc, cb):
        this.destroy(Exception("asd"))
        cb()

    write = Writable({"write": write_fn})
    write.on("error", must_call())
    write.on("finish", must_not_call())
    write.end("asd")
    assert write.destroyed is True
    run()


def test_destroy_with_an_error():
    write = _ok_writable()
    expected = Exception("kaboom")
    write.on("finish", must_not_call())
    write.on("close", must_call())
    write.on("error", must_call(lambda err: err is expected or pytest.fail()))
    write.destroy(expected)
    assert write.destroyed is True
    run()


def test_custom_destroy_passes_the_error():
    write = _ok_writable()
    expected = Exception("kaboom")

    def destroy(err, cb):
        assert err is expected
        cb(err)

    write._destroy = destroy
    write.on("finish", must_not_call("no finish event"))
    write.on("close", must_call())
    write.on("error", must_call(lambda err: err is expected or pytest.fail()))
    write.destroy(expected)
    assert write.destroyed is True
    run()


def test_custom_destroy_swallows_the_error():
    expected = Exception("kaboom")

    def destroy(err, cb):
        assert err is expected
        cb()

    write = _ok_writable(destroy=must_call(destroy))
    write.on("finish", must_not_call("no finish event"))
    write.on("close", must_call())
    write.on("error", must_not_call("no error event"))
    write.destroy(expected)
    assert write.destroyed is True
    run()


def test_destroy_without_an_error():
    write = _ok_writable()

    def destroy(err, cb):
        assert err is None
        cb()

    write._destroy = must_call(destroy)
    write.destroy()
    assert write.destroyed is True
    run()


def test_end_inside_destroy_gives_no_finish():
    write = _ok_writable()

    def destroy(err, cb):
        assert err is None

        def later():
            write.end()
            cb()

        schedule(later)

    write._destroy = must_call(destroy)
    fail = must_not_call("no finish event")
    write.on("finish", fail)
    write.on("close", must_call())
    write.destroy()
    write.removeListener("finish", fail)
    write.on("finish", must_not_call())  # node 20: no 'finish' once destroyed
    assert write.destroyed is True
    run()


def test_destroy_callback_error():
    write = _ok_writable()
    expected = Exception("kaboom")

    def destroy(err, cb):
        assert err is None
        cb(expected)

    write._destroy = must_call(destroy)
    write.on("close", must_call())
    write.on("finish", must_not_call("no finish event"))
    write.on("error", must_call(lambda err: err is expected or pytest.fail()))
    write.destroy()
    assert write.destroyed is True
    run()


def test_double_error():
    write = _ok_writable()
    write.on("close", must_call())
    write.on("error", must_call(lambda err: str(err) == "kaboom 1" or pytest.fail()))
    write.destroy(Exception("kaboom 1"))
    write.destroy(Exception("kaboom 2"))
    assert write.destroyed is True
    run()


def test_second_destroy_before_the_first_calls_back():
    def destroy(err, cb):
        schedule(lambda: cb(Exception("kaboom 1")))

    writable = _ok_writable(destroy=must_call(destroy))
    writable.on("close", must_call())
    writable.on("error", expects_error(message="kaboom 1"))  # node 20
    writable.destroy()
    assert writable.destroyed is True
    assert writable._w.errorEmitted is False
    writable.destroy(Exception("kaboom 2"))
    run()


def test_destroyed_by_hand():
    write = _ok_writable()
    write.destroyed = True
    assert write.destroyed is True
    # The internal destroy() mechanism should not be triggered.
    write.on("close", must_not_call())
    write.destroy()
    run()


def test_destroy_and_destroy_callback():
    write = _ok_writable()
    write.destroy()
    write.destroy(Exception("kaboom"), must_call(lambda err: err is None or pytest.fail()))
    run()


def test_write_after_destroy():
    write = Writable()
    write.destroy()
    write.on("error", must_not_call())  # node 20: the callback only
    write.write("asd", expects_error(code="ERR_STREAM_DESTROYED",
                                     message="Cannot call write after a stream was destroyed"))
    run()


def test_corked_writes_and_destroy():
    write = _ok_writable()
    write.on("error", must_not_call())
    write.cork()
    write.write("asd", must_call(lambda err: err is None or pytest.fail()))
    write.uncork()
    write.cork()
    destroyed = dict(code="ERR_STREAM_DESTROYED",
                     message="Cannot call write after a stream was destroyed")
    write.write("asd", expects_error(**destroyed))
    write.destroy()
    write.write("asd", expects_error(**destroyed))
    write.uncork()
    run()


def test_end_after_error_and_destroy():
    write = Writable({"write": lambda chunk, enc, cb: cb(Exception("asd"))})

    def on_error(err):
        write.destroy()
        ticked = []

        def on_end(err):
            assert ticked
            assert err.code == "ERR_STREAM_DESTROYED"

        write.end(must_call(on_end))
        ticked.append(True)

    write.on("error", must_call(on_error))
    write.write("asd")
    run()


def test_end_after_finish_and_destroy():
    write = _ok_writable()

    def on_finish():
        write.destroy()
        ticked = []

        def on_end(err):
            assert ticked  # node 20: called on a later tick
            assert err.code == "ERR_STREAM_ALREADY_FINISHED"

        write.end(must_call(on_end))
        ticked.append(True)

    write.on("finish", must_call(on_finish))
    write.end()
    run()


def test_end_then_destroy_with_an_error():
    write = Writable({"write": lambda chunk, enc, cb: schedule(cb)})
    write.once("error", must_call(lambda err: str(err) == "asd" or pytest.fail()))
    write.end("asd", must_call(lambda err: str(err) == "asd" or pytest.fail()))
    write.destroy(Exception("asd"))
    run()


def test_buffered_write_callback_gets_the_error():
    write = Writable({"write": lambda chunk, enc, cb: schedule(lambda: cb(Exception("asd"))),
                      "autoDestroy": False})
    write.cork()
    write.write("asd", must_call(lambda err: str(err) == "asd" or pytest.fail()))
    write.write("asd", must_call(lambda err: str(err) == "asd" or pytest.fail()))  # node 20
    write.on("error", must_call(lambda err: str(err) == "asd" or pytest.fail()))
    write.uncork()
    run()


def test_callback_order():
    state = [0]
    write = Writable({"write": lambda chunk, enc, cb: gevent.spawn_later(0.005, cb)})

    def first(err):
        assert err is None
        assert state[0] == 0
        state[0] += 1

    def second(err):
        assert err.code == "ERR_STREAM_DESTROYED"
        assert state[0] == 1
        state[0] += 1

    write.write("asd", must_call(first))
    write.write("asd", must_call(second))
    write.destroy()
    gevent.sleep(0.02)
    run()
