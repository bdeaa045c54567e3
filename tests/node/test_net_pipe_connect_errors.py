"""Port of Node's test/parallel/test-net-pipe-connect-errors.js."""

import os

import pytest
from common import must_call, must_not_call, pipe_path, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_pipe_connect_errors():
    empty_txt = pipe_path("0.txt")
    with open(empty_txt, "w"):
        pass

    not_socket_client = net.createConnection(empty_txt, must_not_call(
        "connection callback should not run"))

    def on_not_socket_error(err):
        assert err.code in ("ENOTSOCK", "ECONNREFUSED"), (
            f"received {err.code} instead of ENOTSOCK or ECONNREFUSED")

    not_socket_client.on("error", must_call(on_not_socket_error))

    no_ent_socket_client = net.createConnection("no-ent-file", must_not_call(
        "connection to non-existent socket, callback should not run"))

    def on_no_ent_error(err):
        assert err.code == "ENOENT"

    no_ent_socket_client.on("error", must_call(on_no_ent_error))

    if os.getuid() != 0:
        # Trying to connect to a socket one has no access to gives EACCES
        path = pipe_path()
        access_server = net.createServer(must_not_call("server callback should not run"))

        def on_listening():
            os.chmod(path, 0)
            access_client = net.createConnection(path, must_not_call(
                "connection should get EACCES, callback should not run"))

            def on_error(err):
                assert err.code == "EACCES"
                access_server.close()

            access_client.on("error", must_call(on_error))

        access_server.listen(path, must_call(on_listening))
    run()
