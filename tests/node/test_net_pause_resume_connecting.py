"""Port of Node's test/parallel/test-net-pause-resume-connecting.js."""

import pytest
from common import must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_pause_resume_while_connecting():
    counts = {"connections": 0, "data": 0}

    def on_connection(conn):
        counts["connections"] += 1
        conn.end("This was the year he fell to pieces.")
        if counts["connections"] == 5:
            server.close()

    server = net.createServer(on_connection)

    def on_data_ok(_data):
        counts["data"] += 1

    def schedule_tear_down(conn):
        def tear_down():
            conn.removeAllListeners("data")
            conn.resume()

        net.setTimeout(tear_down, 100)

    def on_listening():
        port = server.address()["port"]
        # Client 1
        conn = net.createConnection(port, "localhost")
        conn.resume()
        conn.on("data", on_data_ok)
        # Client 2
        conn = net.createConnection(port, "localhost")
        conn.pause()
        conn.resume()
        conn.on("data", on_data_ok)
        # Client 3
        conn = net.createConnection(port, "localhost")
        conn.pause()
        conn.on("data", must_not_call())
        schedule_tear_down(conn)
        # Client 4
        conn = net.createConnection(port, "localhost")
        conn.resume()
        conn.pause()
        conn.resume()
        conn.on("data", on_data_ok)
        # Client 5
        conn = net.createConnection(port, "localhost")
        conn.resume()
        conn.resume()
        conn.pause()
        conn.on("data", must_not_call())
        schedule_tear_down(conn)

    server.listen(0, on_listening)
    run()
    assert counts["connections"] == 5
    assert counts["data"] == 3
