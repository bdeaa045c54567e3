"""Port of Node's test/parallel/test-net-connect-options-allowhalfopen.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

CLIENT_VARIANTS = 6


def test_allow_half_open_client_variants():
    host = "127.0.0.1"
    counts = {"client_received_fin": 0, "server_connections": 0, "client_sent_fin": 0,
              "server_received_fin": 0}

    def server_on_connection(socket):
        counts["server_connections"] += 1
        socket.resume()
        socket.on("data", must_call(lambda data: None))

        def socket_on_end():
            counts["server_received_fin"] += 1
            if counts["server_received_fin"] < CLIENT_VARIANTS:
                return
            net.setTimeout(lambda: server.close(), 50)

        # 'end' on each socket must not be emitted twice
        socket.on("end", must_call(socket_on_end, 1))
        socket.end()

    def client_on_connect(index):
        holder = {}

        def on_connect():
            client = holder["client"]
            client.resume()

            def on_end():
                def later():
                    # With allowHalfOpen the client is still writable after the
                    # server's FIN, but not readable.
                    assert not client.readable
                    assert client.writable
                    assert client.write(str(index))
                    client.end()
                    counts["client_sent_fin"] += 1

                net.setTimeout(must_call(later), 50)

            client.on("end", must_call(on_end))

            def on_close(*_):
                counts["client_received_fin"] += 1

            client.on("close", must_call(on_close))

        return holder, must_call(on_connect)

    def server_on_listen():
        port = server.address()["port"]
        opts = {"allowHalfOpen": True, "host": host, "port": port}
        h, cb = client_on_connect(1)
        h["client"] = net.connect(opts, cb)
        h, cb = client_on_connect(2)
        h["client"] = net.connect(opts).on("connect", cb)
        h, cb = client_on_connect(3)
        h["client"] = net.createConnection(opts, cb)
        h, cb = client_on_connect(4)
        h["client"] = net.createConnection(opts).on("connect", cb)
        h, cb = client_on_connect(5)
        h["client"] = net.Socket(opts).connect(opts, cb)
        h, cb = client_on_connect(6)
        h["client"] = net.Socket(opts).connect(opts).on("connect", cb)

    server = (net.createServer({"allowHalfOpen": True})
              .on("connection", must_call(server_on_connection, CLIENT_VARIANTS))
              .on("close", must_call())
              .listen(0, host, must_call(server_on_listen)))
    run()
