"""Port of Node's test/parallel/test-net-autoselectfamily-default.js."""

import pytest
from common import create_mocked_lookup, must_call, must_call_atleast, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

ATTEMPT_TIMEOUT = 1250


@pytest.fixture(autouse=True)
def _restore_default():
    before = net.getDefaultAutoSelectFamily()
    yield
    net.setDefaultAutoSelectFamily(before)


def test_default_true_falls_back_to_ipv4():
    def on_connection(socket):
        def on_data(_d):
            socket.write("response-ipv4")
            socket.end()

        socket.on("data", must_call(on_data))

    ipv4_server = net.createServer(must_call(on_connection))

    def on_listening():
        net.setDefaultAutoSelectFamily(True)
        connection = net.createConnection({
            "host": "example.org", "port": ipv4_server.address()["port"],
            "lookup": create_mocked_lookup("::1", "127.0.0.1"),
            "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
        })
        response = []
        connection.setEncoding("utf-8")
        connection.on("data", response.append)

        def on_end():
            assert "".join(response) == "response-ipv4"
            ipv4_server.close()

        connection.on("end", must_call(on_end))
        connection.write("request")

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening))
    run(15000)


def test_default_false_tries_only_the_first(ipv6_loopback):
    def on_connection(socket):
        def on_data(_d):
            socket.write("response-ipv4")
            socket.end()

        socket.on("data", must_call(on_data))

    ipv4_server = net.createServer(must_call_atleast(on_connection, 0))

    def on_listening():
        net.setDefaultAutoSelectFamily(False)
        port = ipv4_server.address()["port"]
        connection = net.createConnection({
            "host": "example.org", "port": port,
            "lookup": create_mocked_lookup("::1", "127.0.0.1"),
        })
        connection.on("ready", must_not_call())

        def on_error(error):
            assert error.code == "ECONNREFUSED"
            assert error.message == f"connect ECONNREFUSED ::1:{port}"
            ipv4_server.close()

        connection.on("error", must_call(on_error))

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening))
    run(15000)
