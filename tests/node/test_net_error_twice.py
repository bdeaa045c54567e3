"""Port of Node's test/parallel/test-net-error-twice.js."""

import pytest
from common import run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_error_is_emitted_once():
    buf = b"b" * (10 * 1024 * 1024)
    errs = []
    sockets = {}

    def ready():
        if "client" in sockets and "server" in sockets:
            sockets["client"].destroy()
            sockets["server"].write(buf)

    def on_connection(conn):
        def on_error(err):
            errs.append(err)
            if len(errs) > 1 and errs[0] is errs[1]:
                raise AssertionError("Should not emit the same error twice")

        conn.on("error", on_error)
        conn.on("close", lambda *_: server.unref())
        sockets["server"] = conn
        ready()

    def on_listening():
        client = net.connect({"port": server.address()["port"]})

        def on_connect():
            sockets["client"] = client
            ready()

        client.on("connect", on_connect)

    server = net.createServer(on_connection).listen(0, on_listening)
    run()
    assert len(errs) == 1
