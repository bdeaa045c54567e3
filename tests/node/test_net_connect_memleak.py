"""Port of Node's test/parallel/test-net-connect-memleak.js.

Node's ``onGC`` becomes ``weakref.finalize``; ``globalThis.gc()`` becomes
``gc.collect()``.
"""

import gc
import weakref

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


class _Obj:
    pass


def test_connect_callback_is_released():
    server = net.createServer(must_call()).listen(0)
    state = {"collected": False}

    def done(sock):
        gc.collect()

        def check():
            assert state["collected"] is True
            sock.end()
            server.close()

        net.setImmediate(must_call(check))

    def start():
        gc_object = _Obj()
        weakref.finalize(gc_object, lambda: state.update(collected=True))

        def on_connect():
            assert gc_object is gc_object  # Keep reference alive
            assert state["collected"] is False
            net.setImmediate(done, sock)

        sock = net.createConnection(server.address()["port"], must_call(on_connect))

    start()
    run()
