"""Port of Node's test/parallel/test-net-socket-constructor.js.

Ported: the ``fd`` argument checks and the readable/writable state of new,
connecting, connected and accepted sockets. Left out: ``Socket({handle})``
(Node's internal handle) and the cluster worker's ``Socket(fd)`` cases
(cluster is not supported).
"""

import pytest
from common import check_error, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _test(sock, readable, writable):
    if isinstance(sock, net.Socket):
        socket = sock
    else:
        socket = net.Socket(sock)
        socket.unref()
    assert socket.readable is readable
    assert socket.writable is writable


def test_fd_out_of_range():
    with pytest.raises(ValueError) as info:
        net.Socket({"fd": -1})
    check_error(info.value, code="ERR_OUT_OF_RANGE")


def test_fd_wrong_type():
    with pytest.raises(TypeError) as info:
        net.Socket({"fd": "foo"})
    check_error(info.value, code="ERR_INVALID_ARG_TYPE")


def test_readable_writable():
    _test(None, True, True)

    def on_connection(socket):
        socket.unref()
        _test(socket, True, True)
        server.close()

    server = net.createServer(must_call(on_connection))

    def on_listening():
        port = server.address()["port"]

        def on_connect():
            _test(socket, True, True)
            socket.end()

        socket = net.connect(port, must_call(on_connect))
        _test(socket, True, True)

    server.listen(must_call(on_listening))
    run()
