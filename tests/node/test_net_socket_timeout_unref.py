"""Port of Node's test/parallel/test-net-socket-timeout-unref.js.

Node's process exits once every handle is unref'd; the port destroys the
sockets and closes the server after ``run()`` returns.
"""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_unref_sockets_with_timeouts_do_not_hold_the_loop():
    accepted = []  # kept only to tear down after run(), as Node's exit does

    def on_connection(c):
        accepted.append(c)
        c.write("hello")
        c.unref()

    server = net.createServer(on_connection)
    server.listen(0)
    server.unref()
    state = {"connections": 0}
    sockets = []
    delays = [8, 5, 3, 6, 2, 4]
    for t in delays:
        socket = net.createConnection(server.address()["port"], "localhost")

        def on_connect():
            state["connections"] += 1
            if state["connections"] == len(delays):
                for s in sockets:
                    s["socket"].setTimeout(s["timeout"], must_not_call(
                        "socket timed out unexpectedly"))
                    s["socket"].unref()

        socket.on("connect", must_call(on_connect))
        sockets.append({"socket": socket, "timeout": t * 1000})
    run()
    for c in accepted:
        c.destroy()
    for s in sockets:
        s["socket"].destroy()
    server.close()
