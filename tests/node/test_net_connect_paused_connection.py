"""Port of Node's test/parallel/test-net-connect-paused-connection.js.

Node's process exits with everything unref'd or paused; the port tears the
sockets and the server down after ``run()`` returns.
"""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_paused_connection_does_not_hold_the_loop():
    made = []  # kept only for the teardown

    def on_connection(conn):
        made.append(conn)
        conn.unref()

    def on_listening():
        made.append(net.connect(server.address()["port"], "localhost").pause())
        made.append(net.setTimeout(must_not_call("expected to exit"), 1000).unref())

    server = net.createServer(on_connection).listen(0, must_call(on_listening)).unref()
    run(3000)
    for item in made:
        if isinstance(item, net.Socket):
            item.destroy()
        else:
            net.clearTimeout(item)
    server.close()
