"""Port of Node's test/parallel/test-net-bytes-stats.js."""

import pytest
from common import run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_bytes_read_and_written_over_reconnects():
    totals = {"read": 0, "written": 0, "count": 0}

    def on_connection(s):
        s.resume()  # trigger old mode

        def on_end():
            totals["read"] += s.bytesRead

        s.on("end", on_end)

    tcp = net.Server(on_connection)

    def do_test():
        socket = net.createConnection(tcp.address()["port"])

        def on_connect():
            totals["count"] += 1
            socket.write("foo", lambda err: socket.end("bar"))

        def on_finish():
            totals["written"] += socket.bytesWritten

        def on_close(*_):
            if totals["count"] < 2:
                socket.connect(tcp.address()["port"])
            else:
                tcp.close()

        socket.on("connect", on_connect)
        socket.on("finish", on_finish)
        socket.on("close", on_close)

    tcp.listen(0, do_test)
    run()
    assert totals["read"] == 12
    assert totals["written"] == 12
