"""Port of Node's test/parallel/test-net-socket-write-error.js."""

import pytest
from common import check_error, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_of_a_number_throws():
    def connect_to_server():
        def on_connect():
            client.on("error", must_not_call())
            with pytest.raises(TypeError) as info:
                client.write(1337)
            check_error(info.value, code="ERR_INVALID_ARG_TYPE")
            client.destroy()

        client = net.createConnection(server.address()["port"], must_call(on_connect))
        client.on("close", lambda *_: server.close())

    server = net.createServer().listen(0, connect_to_server)
    run()
