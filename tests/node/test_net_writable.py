"""Port of Node's test/parallel/test-net-writable.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_writable_in_end_listener():
    accepted = []  # kept only to tear down after run(), as Node's exit does

    def on_connection(s):
        accepted.append(s)
        server.close()
        s.end()

    def on_listening():
        socket = net.connect(server.address()["port"], "127.0.0.1")

        def on_end():
            assert socket.writable is True
            socket.write("hello world")

        socket.on("end", must_call(on_end))

    server = net.createServer(must_call(on_connection)).listen(0, "127.0.0.1",
                                                              must_call(on_listening))
    run()
    # Node exits with the accepted socket still open (unread data, nothing
    # active); the port destroys it.
    for s in accepted:
        s.destroy()
