"""Port of Node's test/parallel/test-net-autoselectfamily.js.

The attempt timeout is Node's test default (``common``'s 250 ms times 5).
"""

import pytest
from common import create_mocked_lookup, must_call, must_call_atleast, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

ATTEMPT_TIMEOUT = 1250


def _ipv4_server(on_connection_wrapper=must_call):
    def on_connection(socket):
        def on_data(_d):
            socket.write("response-ipv4")
            socket.end()

        socket.on("data", must_call(on_data))

    return net.createServer(on_connection_wrapper(on_connection))


def _expect_response(connection, expected, servers, attempted=None):
    response = []
    connection.setEncoding("utf-8")
    if attempted is not None:
        def on_ready():
            assert connection.autoSelectFamilyAttemptedAddresses == attempted()

        connection.on("ready", must_call(on_ready))
    connection.on("data", response.append)

    def on_end():
        assert "".join(response) == expected
        for s in servers:
            s.close()

    connection.on("end", must_call(on_end))
    connection.write("request")


def test_falls_back_to_ipv4():
    ipv4_server = _ipv4_server()

    def on_listening():
        port = ipv4_server.address()["port"]
        connection = net.createConnection({
            "host": "example.org", "port": port,
            "lookup": create_mocked_lookup("::1", "127.0.0.1"),
            "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
        })
        _expect_response(connection, "response-ipv4", [ipv4_server],
                         lambda: [f"::1:{port}", f"127.0.0.1:{port}"])

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening))
    run(15000)


def test_interleaves_families():
    ipv4_server = _ipv4_server()

    def on_listening():
        port = ipv4_server.address()["port"]
        connection = net.createConnection({
            "host": "example.org", "port": port,
            "lookup": create_mocked_lookup(
                "2606:4700::6810:85e5", "2606:4700::6810:84e5", "::1",
                "104.20.22.46", "104.20.23.46", "127.0.0.1"),
            "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
        })
        _expect_response(connection, "response-ipv4", [ipv4_server], lambda: [
            f"2606:4700::6810:85e5:{port}", f"104.20.22.46:{port}",
            f"2606:4700::6810:84e5:{port}", f"104.20.23.46:{port}",
            f"::1:{port}", f"127.0.0.1:{port}",
        ])

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening))
    run(25000)


def test_ipv6_first_when_it_answers(ipv6_loopback):
    def on_ipv4_connection(socket):
        socket.on("data", must_not_call())

    ipv4_server = net.createServer(on_ipv4_connection)

    def on_ipv6_connection(socket):
        def on_data(_d):
            socket.write("response-ipv6")
            socket.end()

        socket.on("data", must_call(on_data))

    ipv6_server = net.createServer(must_call(on_ipv6_connection))

    def on_listening4():
        port = ipv4_server.address()["port"]

        def on_listening6():
            connection = net.createConnection({
                "host": "example.org", "port": port,
                "lookup": create_mocked_lookup("::1", "127.0.0.1"),
                "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
            })
            _expect_response(connection, "response-ipv6", [ipv4_server, ipv6_server],
                             lambda: [f"::1:{port}"])

        ipv6_server.listen(port, "::1", must_call(on_listening6))

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening4))
    run(15000)


def test_every_attempt_refused_gives_an_aggregate_error(ipv6_loopback):
    connection = net.createConnection({
        "host": "example.org", "port": 10,
        "lookup": create_mocked_lookup("::1", "127.0.0.1"),
        "autoSelectFamily": True, "autoSelectFamilyAttemptTimeout": ATTEMPT_TIMEOUT,
    })
    connection.on("ready", must_not_call())

    def on_error(error):
        assert connection.autoSelectFamilyAttemptedAddresses == ["::1:10", "127.0.0.1:10"]
        assert type(error).__name__ == "AggregateError"
        assert len(error.errors) == 2
        errors = [e.message for e in error.errors]
        assert "connect ECONNREFUSED 127.0.0.1:10" in errors
        assert "connect ECONNREFUSED ::1:10" in errors

    connection.on("error", must_call(on_error))
    run(15000)


def test_without_auto_select_only_the_first_address(ipv6_loopback):
    ipv4_server = _ipv4_server(lambda fn: must_call_atleast(fn, 0))

    def on_listening():
        port = ipv4_server.address()["port"]
        connection = net.createConnection({
            "host": "example.org", "port": port,
            "lookup": create_mocked_lookup("::1", "127.0.0.1"),
            "autoSelectFamily": False,
        })
        connection.on("ready", must_not_call())

        def on_error(error):
            assert connection.autoSelectFamilyAttemptedAddresses is None
            assert error.code == "ECONNREFUSED"
            assert error.message == f"connect ECONNREFUSED ::1:{port}"
            ipv4_server.close()

        connection.on("error", must_call(on_error))

    ipv4_server.listen(0, "127.0.0.1", must_call(on_listening))
    run(15000)
