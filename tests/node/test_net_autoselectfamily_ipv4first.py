"""Port of Node's test/parallel/test-net-autoselectfamily-ipv4first.js."""

import pytest
from common import create_mocked_lookup, must_call, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]


def test_ipv4_answer_first_is_used(ipv6_loopback):
    def on_ipv4_connection(socket):
        def on_data(_d):
            socket.write("response-ipv4")
            socket.end()

        socket.on("data", must_call(on_data))

    def on_ipv6_connection(socket):
        socket.on("data", must_not_call())

    ipv4_server = net.createServer(must_call(on_ipv4_connection))
    ipv6_server = net.createServer(on_ipv6_connection)

    def on_listening4():
        port = ipv4_server.address()["port"]

        def on_listening6():
            connection = net.createConnection({
                "host": "example.org", "port": port,
                "lookup": create_mocked_lookup("127.0.0.1", "::1"),
                "autoSelectFamily": True,
            })
            response = []
            connection.setEncoding("utf-8")
            connection.on("data", response.append)

            def on_end():
                assert "".join(response) == "response-ipv4"
                ipv4_server.close()
                ipv6_server.close()

            connection.on("end", must_call(on_end))
            connection.write("request")

        ipv6_server.listen(port, "::1", must_call(on_listening6))

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening4))
    run(15000)
