"""Port of Node's test/parallel/test-net-connect-options-port.js."""

import math
import re
import socket as pysocket

import pytest
from common import check_error, free_port, must_call, must_call_atleast, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]


def _do_connect(args, get_cb):
    def create_connection_with_cb():
        return net.createConnection(*args, get_cb()).resume()

    def create_connection_without_cb():
        return net.createConnection(*args).on("connect", get_cb()).resume()

    def connect_with_cb():
        return net.connect(*args, get_cb()).resume()

    def connect_without_cb():
        return net.connect(*args).on("connect", get_cb()).resume()

    def socket_connect_with_cb():
        return net.Socket().connect(*args, get_cb()).resume()

    def socket_connect_without_cb():
        return net.Socket().connect(*args).on("connect", get_cb()).resume()

    return [create_connection_with_cb, create_connection_without_cb, connect_with_cb,
            connect_without_cb, socket_connect_with_cb, socket_connect_without_cb]


def _sync_fail_to_connect(port, err_class, code, opt_only=False):
    family = 4
    blocks = []
    if not opt_only:
        # The source's "connect(port)" and "connect(port, host)" blocks pass
        # the same options objects as the blocks below.
        blocks.append(_do_connect([{"port": port, "family": family}], must_not_call))
        blocks.append(_do_connect([{"port": port, "host": "localhost", "family": family}],
                                  must_not_call))
    # connect({port}, cb) and connect({port})
    blocks.append(_do_connect([{"port": port, "family": family}], must_not_call))
    # connect({port, host}, cb) and connect({port, host})
    blocks.append(_do_connect([{"port": port, "host": "localhost", "family": family}],
                              must_not_call))
    for block in blocks:
        for fn in block:
            with pytest.raises(err_class) as info:
                fn()
            check_error(info.value, code=code)


@pytest.mark.parametrize("port,opt_only", [
    (True, False), (False, False), ([], True), ({}, True),
    pytest.param(None, False, marks=pytest.mark.xfail(
        strict=True, reason="docs/differences.md: `undefined` / `null` | `None`")),
], ids=repr)
def test_port_type_error(port, opt_only):
    _sync_fail_to_connect(port, TypeError, "ERR_INVALID_ARG_TYPE", opt_only)


@pytest.mark.parametrize("port,opt_only", [
    ("", False), (" ", False), ("0x", True), ("-0x1", True), (math.nan, False),
    (math.inf, False), (-1, False), (65536, False),
], ids=repr)
def test_port_range_error(port, opt_only):
    _sync_fail_to_connect(port, ValueError, "ERR_SOCKET_BAD_PORT", opt_only)  # RangeError


def test_invalid_hints():
    hints = (pysocket.AI_ADDRCONFIG | pysocket.AI_V4MAPPED | pysocket.AI_ALL) + 42
    for fn in _do_connect([{"port": 42, "hints": hints}], must_not_call):
        with pytest.raises(Exception) as info:
            fn()
        check_error(info.value, code="ERR_INVALID_ARG_VALUE")
        assert re.search(r"The argument 'hints' is invalid\. Received \d+", info.value.message)


def _can_connect(port):
    noop = must_call_atleast(lambda: must_call())
    family = 4
    for args in ([{"port": port, "family": family}],
                 [{"port": port, "host": "localhost", "family": family}],
                 [{"port": port, "family": family}],
                 [{"port": port, "host": "localhost", "family": family}]):
        for fn in _do_connect(args, noop):
            fn()


def _async_fail_to_connect(port):
    def make_on_error():
        def on_error(err):
            assert re.match(r"^connect E\w+.+$", err.message), err.message

        return must_call(on_error)

    on_error = must_call_atleast(make_on_error)
    family = 4
    for args in ([{"port": port, "family": family}], [{"port": port, "family": family}],
                 [{"port": port, "host": "localhost", "family": family}]):
        for fn in _do_connect(args, must_not_call):
            fn().on("error", on_error())


def test_port_forms_connect_then_refused():
    expected_connections = 72
    state = {"server_connected": 0}

    def on_connection(socket):
        socket.end("ok")
        state["server_connected"] += 1
        if state["server_connected"] == expected_connections:
            server.close()

    server = net.createServer(must_call(on_connection, expected_connections))

    def on_listening():
        port = server.address()["port"]
        # Total connections = 3 * 4 (canConnect) * 6 (doConnect) = 72
        _can_connect(port)
        _can_connect(str(port))
        _can_connect(f"0x{port:x}")

    server.listen(0, "127.0.0.1", must_call(on_listening))
    # Try connecting to random ports, but do so once the server is closed
    server.on("close", lambda: _async_fail_to_connect(0))
    run(20000)


def test_refused_port_is_a_free_port():
    # Node's asyncFailToConnect(0) relies on port 0 being refused; the same
    # checks against a port known to be free.
    _async_fail_to_connect(free_port())
    run()
