"""Port of Node's test/parallel/test-net-write-fully-async-buffer.js."""

import gc

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]


def test_write_loop_on_drain():
    data = bytes(1_000_000)

    def on_connection(conn):
        conn.resume()
        server.close()

    def on_listening():
        def on_connect():
            state = {"count": 0}

            def write_loop():
                if state["count"] == 20:
                    state["count"] += 1
                    conn.end()
                    return
                state["count"] += 1
                while conn.write(bytes(data)):
                    pass
                gc.collect(0)
                # The chunk handed to write() must stay alive until written.

            conn.on("drain", write_loop)
            write_loop()

        conn = net.createConnection(server.address()["port"], must_call(on_connect))

    server = net.createServer(must_call(on_connection)).listen(0, must_call(on_listening))
    run(20000)
