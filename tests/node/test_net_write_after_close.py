"""Port of Node's test/parallel/test-net-write-after-close.js."""

import pytest
from common import must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_write_to_a_closed_peer_calls_back_with_an_error():
    sockets = {}

    def on_connection(socket):
        sockets["server"] = socket
        socket.resume()
        socket.on("error", must_not_call())

    server = net.createServer(must_call(on_connection))

    def on_listening():
        def on_connect():
            # client.end() closes both sides (allowHalfOpen is false); 'end'
            # comes when the other side's FIN arrives.
            def on_end():
                def on_written(err):
                    assert err
                    server.close()

                sockets["server"].write("test", must_call(on_written))

            client.on("end", must_call(on_end))
            client.end()

        client = net.connect(server.address()["port"], must_call(on_connect))

    server.listen(0, must_call(on_listening))
    run()
