"""Port of Node's test/parallel/test-net-pingpong.js."""

import pytest
from common import must_call, must_not_call, pipe_path, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

N = 1000


def _ping_pong_test(port, host=None):
    state = {"count": 0, "sent_pongs": 0, "sent_final_ping": False}

    def on_socket(socket):
        assert socket.server is server

        def on_count(err, connections):
            assert err is None
            assert connections == 1

        assert server.getConnections(must_call(on_count)) is server
        socket.setNoDelay()
        socket.timeout = 0
        socket.setEncoding("utf8")

        def on_data(data):
            # We never queue data (always waiting for the PING before sending a
            # pong), so the write queue is always less than one message.
            assert 0 <= socket.bufferSize <= 4
            assert socket.writable is True
            assert socket.readable is True
            assert state["count"] <= N
            assert data == "PING"

            def on_written(err):
                state["sent_pongs"] += 1

            socket.write("PONG", must_call(on_written))

        socket.on("data", must_call(on_data, N + 1))

        def on_end():
            assert socket.allowHalfOpen is True
            assert socket.writable is True  # Because allowHalfOpen
            assert socket.readable is False
            socket.end()

        socket.on("end", must_call(on_end))
        socket.on("error", must_not_call())

        def on_close(*_):
            assert socket.writable is False
            assert socket.readable is False
            socket.server.close()

        socket.on("close", must_call(on_close))

    server = net.createServer({"allowHalfOpen": True}, must_call(on_socket))

    def on_listening():
        target = port
        if isinstance(server.address(), dict) and server.address()["port"]:
            target = server.address()["port"]
        client = net.createConnection(target, host) if host else net.createConnection(target)
        client.setEncoding("ascii")

        def on_connect():
            assert client.readable is True
            assert client.writable is True
            client.write("PING")

        def on_data(data):
            assert data == "PONG"
            state["count"] += 1
            if state["sent_final_ping"]:
                assert client.writable is False
                assert client.readable is True
                return
            assert client.writable is True
            assert client.readable is True
            if state["count"] < N:
                client.write("PING")
            else:
                state["sent_final_ping"] = True
                client.write("PING")
                client.end()

        def on_close(*_):
            assert state["count"] == N + 1
            assert state["sent_pongs"] == N + 1
            assert state["sent_final_ping"] is True

        client.on("connect", must_call(on_connect))
        client.on("data", must_call(on_data, N + 1))
        client.on("close", must_call(on_close))
        client.on("error", must_not_call())

    if host:
        server.listen(port, host, must_call(on_listening))
    else:
        server.listen(port, must_call(on_listening))


def test_pingpong_all_at_once(ipv6_loopback):
    # All are run at once, so on different ports.
    _ping_pong_test(pipe_path())
    _ping_pong_test(0)
    _ping_pong_test(0, "::1")
    run(20000)
