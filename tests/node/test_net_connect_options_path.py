"""Port of Node's test/parallel/test-net-connect-options-path.js."""

import pytest
from common import must_call, must_call_atleast, pipe_path, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]

CLIENT_VARIANTS = 12


def test_unix_path_connect_variants():
    server_path = pipe_path("net-connect-options-path-server")
    counter = {"n": 0}
    server = net.createServer().on(
        "connection", must_call(lambda socket: socket.end("ok"), CLIENT_VARIANTS))

    def on_listening():
        def make_connect_cb():
            holder = {}

            def on_connect():
                sock = holder["sock"]
                sock.end()

                def on_close(*_):
                    counter["n"] += 1
                    if counter["n"] == CLIENT_VARIANTS:
                        server.close()

                sock.on("close", must_call(on_close))

            return holder, must_call(on_connect)

        get_connect_cb = must_call_atleast(make_connect_cb)

        variants = [
            lambda cb: net.connect(server_path, cb),
            lambda cb: net.connect(server_path).on("connect", cb),
            lambda cb: net.createConnection(server_path, cb),
            lambda cb: net.createConnection(server_path).on("connect", cb),
            lambda cb: net.Socket().connect(server_path, cb),
            lambda cb: net.Socket().connect(server_path).on("connect", cb),
            lambda cb: net.connect({"path": server_path}, cb),
            lambda cb: net.connect({"path": server_path}).on("connect", cb),
            lambda cb: net.createConnection({"path": server_path}, cb),
            lambda cb: net.createConnection({"path": server_path}).on("connect", cb),
            lambda cb: net.Socket().connect({"path": server_path}, cb),
            lambda cb: net.Socket().connect({"path": server_path}).on("connect", cb),
        ]
        for variant in variants:
            holder, cb = get_connect_cb()
            holder["sock"] = variant(cb)
            holder["sock"].resume()

    server.listen(server_path, must_call(on_listening))
    run()
