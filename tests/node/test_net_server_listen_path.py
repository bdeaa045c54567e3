"""Port of Node's test/parallel/test-net-server-listen-path.js."""

import os
import re
import stat

import pytest
from common import must_call, must_not_call, pipe_path, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _closer(server):
    return must_call(lambda: server.close())


def test_listen_path_forms():
    s = net.createServer()
    s.listen(pipe_path("p0")).on("listening", _closer(s))
    s = net.createServer()
    s.listen({"path": pipe_path("p1")}).on("listening", _closer(s))
    s = net.createServer()
    s.listen(pipe_path("p2"), _closer(s))
    s = net.createServer()
    s.listen({"path": pipe_path("p3")}, _closer(s))
    run()


def test_readable_all_writable_all():
    handle_path = pipe_path("p4")

    def on_listening():
        mode = os.stat(handle_path).st_mode
        assert mode & stat.S_IROTH != 0
        assert mode & stat.S_IWOTH != 0
        server.close()

    server = net.createServer().listen(
        {"path": handle_path, "readableAll": True, "writableAll": True},
        must_call(on_listening))
    run()


def test_path_in_use_eaddrinuse():
    handle_path = pipe_path("p5")

    def on_listening():
        # The path is in use: binding to it again emits 'EADDRINUSE'.
        server2 = net.createServer().listen({"path": handle_path, "writableAll": True},
                                            must_not_call())

        def on_error(err):
            server1.close()
            assert err.code == "EADDRINUSE"
            assert re.match(r"^listen EADDRINUSE: address already in use", err.message), err.message

        server2.on("error", must_call(on_error))

    server1 = net.createServer().listen({"path": handle_path}, must_call(on_listening))
    run()
