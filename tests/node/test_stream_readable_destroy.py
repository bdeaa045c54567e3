"""Port of Node's test/parallel/test-stream-readable-destroy.js.

The expectations are Node 20's, checked by running the cases under node 20:
``destroy(err, cb)`` emits 'error' too, and a second ``destroy(err)`` while
the first one's ``_destroy`` is pending is ignored.
"""

import pytest
from common import must_call, must_not_call, run

from gnet.dispatch import schedule
from gnet.stream import Readable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _read():
    return Readable({"read": lambda n: None})


def test_destroy():
    read = _read()
    read.resume()
    read.on("close", must_call())
    read.destroy()
    assert read.destroyed is True
    run()


def test_destroy_with_an_error():
    read = _read()
    read.resume()
    expected = Exception("kaboom")
    read.on("end", must_not_call("no end event"))
    read.on("close", must_call())

    def on_error(err):
        assert err is expected

    read.on("error", must_call(on_error))
    read.destroy(expected)
    assert read.destroyed is True
    run()


def test_custom_destroy_passes_the_error_on():
    read = _read()
    expected = Exception("kaboom")

    def destroy(err, cb):
        assert err is expected
        cb(err)

    read._destroy = must_call(destroy)
    read.on("end", must_not_call("no end event"))
    read.on("close", must_call())
    read.on("error", must_call(lambda err: None))
    read.destroy(expected)
    assert read.destroyed is True
    run()


def test_custom_destroy_swallows_the_error():
    expected = Exception("kaboom")

    def destroy(err, cb):
        assert err is expected
        cb()

    read = Readable({"read": lambda n: None, "destroy": must_call(destroy)})
    read.on("end", must_not_call("no end event"))
    read.on("error", must_not_call("no error event"))
    read.on("close", must_call())
    read.destroy(expected)
    assert read.destroyed is True
    run()


def test_destroy_without_error_gives_none():
    read = _read()

    def destroy(err, cb):
        assert err is None
        cb()

    read._destroy = must_call(destroy)
    read.destroy()
    assert read.destroyed is True
    run()


def test_push_none_inside_destroy_gives_no_end():
    read = _read()
    read.resume()

    def destroy(err, cb):
        def later():
            read.push(None)
            cb()

        schedule(later)

    read._destroy = must_call(destroy)
    read.on("end", must_not_call("no end event"))  # node 20: no 'end' after destroy()
    read.on("close", must_call())
    read.destroy()
    assert read.destroyed is True
    run()


def test_destroy_callback_error_is_emitted_later():
    read = _read()
    expected = Exception("kaboom")
    ticked = []

    def destroy(err, cb):
        assert err is None
        cb(expected)

    read._destroy = must_call(destroy)
    read.on("end", must_not_call("no end event"))

    def on_error(err):
        assert ticked
        assert read._r.errorEmitted is True
        assert read._r.errored is expected
        assert err is expected

    read.on("error", must_call(on_error))
    read.destroy()
    assert read._r.errorEmitted is False
    assert read._r.errored is expected
    assert read.destroyed is True
    ticked.append(True)
    run()


def test_destroyed_set_by_hand_skips_destroy():
    read = _read()
    read.resume()
    read.destroyed = True
    assert read.destroyed is True
    # The internal destroy() mechanism should not be triggered.
    read.on("end", must_not_call())
    read.destroy()
    run()


def test_destroy_and_destroy_callback():
    read = _read()
    read.resume()
    expected = Exception("kaboom")
    ticked = []

    def on_close():
        assert ticked

    read.on("close", must_call(on_close))
    read.on("error", must_call(lambda err: None))  # node 20 emits it as well
    assert read._r.errored is None
    assert read._r.errorEmitted is False

    def on_destroyed(err):
        assert read._r.errored is expected
        assert err is expected

    read.destroy(expected, must_call(on_destroyed))
    assert read._r.errorEmitted is False
    assert read._r.errored is expected
    ticked.append(True)
    run()


def test_second_destroy_while_the_first_is_pending_is_ignored():
    def destroy(err, cb):
        schedule(lambda: cb(Exception("kaboom 1")))

    readable = Readable({"destroy": must_call(destroy), "read": lambda n: None})
    ticked = []

    def on_error(err):
        assert ticked
        assert str(err) == "kaboom 1"  # node 20
        assert readable._r.errorEmitted is True

    readable.on("close", must_call())
    readable.on("error", must_call(on_error))
    readable.destroy()
    assert readable.destroyed is True
    assert readable._r.errored is None
    readable.destroy(Exception("kaboom 2"))
    assert readable._r.errorEmitted is False
    ticked.append(True)
    run()


def test_push_after_destroy_gives_no_data():
    read = _read()
    read.destroy()
    read.push("hi")
    read.on("data", must_not_call())
    run()


def test_read_after_destroy_does_not_call_read():
    read = Readable({"read": must_not_call()})
    read.destroy()
    assert read.destroyed is True
    read.read()
    run()
