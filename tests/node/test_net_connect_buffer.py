"""Port of Node's test/parallel/test-net-connect-buffer.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_writes_while_connecting_count_bytes_once():
    def on_connection(s):
        tcp.close()
        buf = []
        s.setEncoding("utf8")
        s.on("data", buf.append)

        def on_end():
            assert "".join(buf) == "L'État, c'est moi"
            s.end()

        s.on("end", must_call(on_end))

    tcp = net.Server(must_call(on_connection))

    def on_listening():
        socket = net.Socket({"highWaterMark": 0})
        state = {"connected": False}
        assert socket.pending is True
        socket.connect(tcp.address()["port"], must_call(lambda: state.update(connected=True)))
        assert socket.pending is True
        assert socket.connecting is True
        assert socket.readyState == "opening"

        # A string with a multi-byte character: bytesWritten counts bytes.
        a = "L'État, c'est "
        b = "moi"

        def on_written(er):
            assert state["connected"]
            assert socket.bytesWritten == len((a + b).encode())
            assert socket.pending is False

        r = socket.write(a, must_call(on_written))

        def on_close(*_):
            assert socket.pending is True

        socket.on("close", must_call(on_close))
        assert socket.bytesWritten == len(a.encode())
        assert r is False
        socket.end(b)
        assert socket.readyState == "opening"

    tcp.listen(0, must_call(on_listening))
    run()
