"""Port of Node's test/parallel/test-net-server-call-listen-multiple-times.js."""

import pytest
from common import check_error, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_listen_again_after_eaddrinuse():
    dummy_server = net.Server()
    server = net.Server()
    # Run some server in order to simulate EADDRINUSE error.
    dummy_server.listen(must_call(lambda: server.listen(dummy_server.address()["port"])))

    def on_error(e):
        server.listen(must_call(lambda: (dummy_server.close(), server.close())))

    server.on("error", must_call(on_error))
    run()


def test_listen_twice_throws():
    server = net.Server()
    server.listen(must_call(lambda: server.close()))
    with pytest.raises(Exception) as info:
        server.listen()
    check_error(info.value, code="ERR_SERVER_ALREADY_LISTEN")
    run()


def test_listen_again_after_close():
    server = net.Server()

    def on_listening():
        server.close()
        server.listen(must_call(lambda: server.close()))

    server.listen(must_call(on_listening))
    run()
