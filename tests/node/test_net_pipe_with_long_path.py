"""Port of Node's test/parallel/test-net-pipe-with-long-path.js."""

import os

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_too_long_unix_path():
    from common import _checker

    pipe = f"{_checker().tmpdir()}/{'x' * 10000}.sock"

    def on_listening():
        # It may work on some operating systems; the socket file must exist.
        assert os.path.exists(pipe)
        socket = net.connect(pipe, must_call(lambda: (socket.destroy(), server.close())))

    def on_error(error):
        assert error.code == "EINVAL", str(error)

        def on_connect_error(err):
            assert err.code == "EINVAL", str(err)

        net.connect(pipe).on("error", must_call(on_connect_error))

    server = (net.createServer().listen(pipe)
              .on("listening", must_call_atleast(on_listening, 0))
              .on("error", must_call(on_error)))
    run()
