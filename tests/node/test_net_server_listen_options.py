"""Port of Node's test/parallel/test-net-server-listen-options.js."""

import math
import re

import pytest
from common import check_error, must_call, must_not_call, pipe_path, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _closer():
    holder = {}

    def close():
        holder["server"].close()

    return holder, close


def test_listen_overloads():
    for start in (
        lambda s, cb: s.listen().on("listening", cb),           # listen()
        lambda s, cb: s.listen(cb),                              # listen(cb)
        lambda s, cb: s.listen(0).on("listening", cb),          # listen(port)
        lambda s, cb: s.listen({"port": 0}).on("listening", cb),  # listen({port})
    ):
        server = net.createServer()
        start(server, must_call(server.close))
    run()


LISTEN_ON_PORT = [
    lambda port, cb: net.createServer().listen({"port": port}, cb),
    lambda port, cb: net.createServer().listen(port, cb),
]


@pytest.mark.parametrize("listen", LISTEN_ON_PORT, ids=["options", "port"])
def test_arbitrary_unused_ports(listen):
    for port in ("0", 0, None, None):  # Node: '0', 0, undefined, null
        holder, close = _closer()
        holder["server"] = listen(port, must_call(close))
    run()


@pytest.mark.parametrize("listen", LISTEN_ON_PORT, ids=["options", "port"])
@pytest.mark.parametrize("port", [-1, math.nan, 123.456, 65536, math.inf, -math.inf])
def test_invalid_ports(listen, port):
    with pytest.raises(ValueError) as info:  # RangeError
        listen(port, must_not_call())
    check_error(info.value, code="ERR_SOCKET_BAD_PORT")


def test_port_takes_precedence_over_path():
    with pytest.raises(ValueError) as info:  # RangeError
        net.createServer().listen({"port": -1, "path": pipe_path()}, must_not_call())
    check_error(info.value, code="ERR_SOCKET_BAD_PORT")


@pytest.mark.parametrize("options", [
    False, {"port": False}, True, {"port": True}, {"fd": -1}, {"path": -1}, {},
    {"host": "localhost"}, {"host": "localhost:3000"}, {"host": {"port": 3000}},
    {"exclusive": True},
], ids=repr)
def test_should_fail_to_listen(options):
    with pytest.raises(Exception) as info:
        net.createServer().listen(options, must_not_call())
    err = info.value
    check_error(err, code="ERR_INVALID_ARG_VALUE")
    if isinstance(options, dict) and "port" not in options and "path" not in options:
        assert re.match(r"^The argument 'options' must have the property \"port\" or "
                        r"\"path\"\. Received .+$", err.message), err.message
    else:
        assert re.match(r"^The argument 'options' is invalid\. Received .+$",
                        err.message), err.message


@pytest.mark.xfail(strict=True, reason="docs/differences.md: `TypeError` with `code: "
                   "'ERR_INVALID_ARG_VALUE'` (also `ERR_INVALID_IP_ADDRESS`) | `ValueError`")
def test_should_fail_to_listen_with_a_type_error():
    with pytest.raises(TypeError):
        net.createServer().listen({}, must_not_call())
