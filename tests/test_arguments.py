"""Tests for gnet.arguments: listen() and connect() overloads, ports, families, hosts, paths.

The Node answers quoted here were observed with Node v20.20.2
(``net.createServer().listen(s)`` then ``address()``, and ``net.connect(s)``
then its 'error'); tests/test_hardening.py runs the wider port-string table
against node itself and over real sockets.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, strategies as st

import gnet as net
from gnet.arguments import (
    DEFAULT_BACKLOG,
    ConnectTarget,
    ListenTarget,
    check_connect,
    family_option,
    is_pipe_name,
    listen_backlog,
    normalize_connect,
    parse_listen,
)
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidIPAddressError,
    MissingArgsError,
    OutOfRangeError,
    SocketBadPortError,
    UnsupportedError,
)
from gnet.events import once

HOST = "127.0.0.1"
WAIT_MS = 5000
KNOWN = ("port", "host", "path", "family", "lookup", "hints", "localPort", "localAddress",
         "autoSelectFamily", "autoSelectFamilyAttemptTimeout", "timeout")


def connect_target(*args: Any, **kwargs: Any) -> ConnectTarget:
    return check_connect(normalize_connect(args, kwargs, KNOWN, {"onread": "use 'data'"}))


# --- one port-or-path rule for both sides --------------------------------------------

# What Node v20.20.2 did with each positional string, for listen(s) and
# connect(s) alike: ('port', n) listened on / connected to port n (0: an
# ephemeral port for listen), ('path', None) made or sought a Unix socket of
# that name, ('bad', None) threw ERR_SOCKET_BAD_PORT.
NODE_ANSWERS = [
    ("8e1", "port", 80),
    ("0x50", "port", 80),
    (" 80 ", "port", 80),
    ("+80", "port", 80),
    (".8e2", "port", 80),
    ("0b1010000", "port", 80),
    ("0o120", "port", 80),
    ("\u00a080", "port", 80),
    ("\ufeff80", "port", 80),
    ("-0", "port", 0),
    ("0", "port", 0),
    ("", "bad", None),
    ("1e400", "bad", None),
    ("Infinity", "bad", None),
    ("80.5", "bad", None),
    ("70000", "bad", None),
    ("-1", "path", None),
    ("abc", "path", None),
    ("1_000", "path", None),
    ("0x", "path", None),
    ("-0x1", "path", None),
    ("inf", "path", None),
    ("80n", "path", None),
]


@pytest.mark.parametrize(("text", "kind", "port"), NODE_ANSWERS,
                         ids=[repr(row[0]) for row in NODE_ANSWERS])
def test_listen_and_connect_read_a_positional_string_as_node(text: str, kind: str,
                                                             port: int | None) -> None:
    assert is_pipe_name(text) is (kind == "path")
    if kind == "bad":
        # Node names 'options.port' for listen and 'Port' for connect; gnet
        # names the argument as given: 'port'.
        for parse in (lambda: parse_listen((text,), {}), lambda: connect_target(text)):
            with pytest.raises(SocketBadPortError,
                               match=r"^port should be >= 0 and < 65536\. Received type str"):
                parse()
        return
    listen = parse_listen((text,), {})
    connect = connect_target(text)
    if kind == "path":
        assert (listen.path, listen.port) == (text, 0)
        assert (connect.path, connect.port) == (text, 0)
    else:
        assert (listen.path, listen.port, listen.host) == (None, port, None)
        assert (connect.path, connect.port, connect.host) == (None, port, "localhost")


def test_8e1_is_port_80_for_listen_and_connect() -> None:
    # The example: listen('8e1') once made a Unix socket named 8e1
    # while connect('8e1') went to port 80. Node: port 80 for both.
    assert parse_listen(("8e1",), {}) == ListenTarget({"port": 80}, None, 80, None, None,
                                                      None, None)
    assert connect_target("8e1") == ConnectTarget(None, "localhost", 80, 0, None, None)


@given(st.text(max_size=12))
def test_listen_and_connect_always_agree(text: str) -> None:
    # Whatever the string, both sides take it for the same thing.
    def read(parse: Any) -> Any:
        try:
            target = parse()
        except SocketBadPortError:
            return "bad"
        except InvalidArgValueError:
            return "nul"  # a NUL byte inside a path
        return ("path", target.path) if target.path is not None else ("port", target.port)

    assert read(lambda: parse_listen((text,), {})) == read(lambda: connect_target(text))


@pytest.mark.timeout(30)
def test_a_port_spelt_as_an_exponent_listens_and_connects_there() -> None:
    probe = net.createServer().listen(0, HOST)
    once(probe, "listening", timeout=WAIT_MS)
    port = probe.address()["port"]
    probe.close()
    once(probe, "close", timeout=WAIT_MS)
    spelt = f"{port * 10}e-1"  # Number('443210e-1') is 44321
    server = net.createServer(lambda sock: sock.end(b"ok"))
    try:
        server.listen(spelt, HOST)
        once(server, "listening", timeout=WAIT_MS)
        assert server.address()["port"] == port
        client = net.connect(spelt, HOST)
        once(client, "connect", timeout=WAIT_MS)
        assert client.remotePort == port
        client.destroy()
    finally:
        server.close()


# --- connect overloads ------------------------------------------------------------------


def test_connect_overloads() -> None:
    def cb() -> None:
        pass

    assert connect_target(80, "example.com", cb) == ConnectTarget(
        None, "example.com", 80, 0, None, cb)
    assert connect_target({"port": "80", "family": "IPv6"}, cb) == ConnectTarget(
        None, "localhost", 80, 6, None, cb)
    assert connect_target("/tmp/x.sock", cb).path == "/tmp/x.sock"
    assert connect_target(port=1, host="::1").host == "::1"
    call = normalize_connect(({"port": 1},), {"host": "h"}, KNOWN)
    assert call.named and call.options == {"port": 1, "host": "h"}
    assert not normalize_connect((1,), {}, KNOWN).named


def test_connect_names_the_argument_as_given() -> None:
    with pytest.raises(SocketBadPortError, match=r"^options\.port should"):
        connect_target({"port": -1})
    with pytest.raises(SocketBadPortError, match=r"^port should"):
        connect_target(port=-1)
    with pytest.raises(InvalidArgValueError, match=r"^The property 'options\.path'"):
        connect_target({"path": "/tmp/a\0b"})
    with pytest.raises(InvalidArgValueError, match=r"^The argument 'path'"):
        connect_target("/tmp/a\0b")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((), {}, MissingArgsError, 'The "options" or "port" or "path" argument must be specified'),
        (({"host": "h"},), {}, MissingArgsError, 'The "options" or "port" or "path"'),
        (({"port": 1, "host": 5},), {}, InvalidArgTypeError,
         'The "options.host" property must be of type str'),
        (({"path": 5},), {}, InvalidArgTypeError, 'The "options.path" property must be'),
        (({"port": 1, "lookup": 5},), {}, InvalidArgTypeError,
         'The "options.lookup" property must be of type function'),
        (({"port": 1, "hints": "x"},), {}, InvalidArgTypeError,
         'The "options.hints" property must be of type number'),
        (({"port": 1, "hints": 1 << 20},), {}, InvalidArgValueError,
         "The argument 'hints' is invalid. Received 1048576"),
        (({"port": 1, "localPort": "80"},), {}, InvalidArgTypeError,
         'The "options.localPort" property must be of type number'),
        (({"port": 1, "localAddress": "nope"},), {}, InvalidIPAddressError,
         "Invalid IP address: nope"),
        (({"port": 1, "autoSelectFamily": 1},), {}, InvalidArgTypeError,
         'The "options.autoSelectFamily" property must be of type bool'),
        (({"port": 1, "autoSelectFamilyAttemptTimeout": 0},), {}, OutOfRangeError,
         'The value of "options.autoSelectFamilyAttemptTimeout" is out of range'),
        ((), {"nope": 1}, InvalidArgValueError, "The argument 'nope' is not a known option"),
        (({"port": 1, "onread": {}},), {}, UnsupportedError, "options.onread"),
    ],
)
def test_connect_refuses(args: tuple[Any, ...], kwargs: dict[str, Any], error: type,
                         message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        connect_target(*args, **kwargs)


# --- families ---------------------------------------------------------------------------

# Node v20.20.2, net.connect({port, host: 'localhost', family}): accepted or
# ERR_INVALID_ARG_VALUE "must be one of: 0, 4, 6". With an IP literal host
# Node never looks the family at; gnet checks it on every connect.
NODE_FAMILIES = [
    (0, 0), (4, 4), (6, 6), ("IPv4", 4), ("IPv6", 6), (None, 0), (4.0, 4),
    ("ipv4", None), ("ipv6", None), ("IPV4", None), ("4", None), (5, None), (-1, None),
    (True, None),
]


@pytest.mark.parametrize(("value", "expected"), NODE_FAMILIES)
def test_family_option_as_node_reads_it(value: Any, expected: int | None) -> None:
    if expected is None:
        message = "The property 'options.family' must be 0, 4 or 6. Received "
        with pytest.raises(InvalidArgValueError, match="^" + re.escape(message)):
            family_option(value)
        with pytest.raises(InvalidArgValueError, match="^" + re.escape(message)):
            connect_target({"port": 1, "host": HOST, "family": value})
    else:
        assert family_option(value) == expected
        assert type(family_option(value)) is int
        assert connect_target({"port": 1, "family": value}).family == expected


# --- listen overloads -------------------------------------------------------------------


def test_listen_overloads() -> None:
    def cb() -> None:
        pass

    assert parse_listen((), {}) == ListenTarget({"port": 0}, None, 0, None, None, None, None)
    assert parse_listen((cb,), {}).callback is cb
    target = parse_listen((8080, "::1", 12, cb), {})
    assert (target.port, target.host, target.backlog, target.callback) == (8080, "::1", 12, cb)
    assert parse_listen((8080, 12), {}).backlog == 12
    assert parse_listen(("/tmp/s", 7), {})[1:5] == ("/tmp/s", 0, None, 7)
    assert parse_listen(({"port": "0x50", "host": HOST},), {})[2:4] == (80, HOST)
    assert parse_listen((), {"path": "/tmp/s"}).path == "/tmp/s"
    # An options object with port and path listens on the port, as Node.
    assert parse_listen(({"port": 1, "path": "/tmp/s"},), {}).path is None


def test_listen_port_none_beside_a_path_is_an_ephemeral_port() -> None:
    # Node v20.20.2: listen({port: null, path}) listened on an ephemeral TCP
    # port (port null or undefined means 0, the path is not looked at).
    target = parse_listen(({"port": None, "path": "/tmp/s"},), {})
    assert (target.path, target.port) == (None, 0)


@pytest.mark.timeout(30)
def test_listen_port_none_beside_a_path_listens(tmp_path: Any) -> None:
    server = net.createServer()
    try:
        server.listen({"port": None, "path": str(tmp_path / "s"), "host": HOST})
        once(server, "listening", timeout=WAIT_MS)
        assert server.address()["port"] > 0
    finally:
        server.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (({},), {}, InvalidArgValueError,
         "The argument 'options' must have the property \"port\" or \"path\""),
        (({"port": True},), {}, InvalidArgValueError, "The argument 'options' is invalid"),
        (({"path": 5},), {}, InvalidArgValueError, "The argument 'options' is invalid"),
        (({"port": 1, "host": 5},), {}, InvalidArgValueError,
         "The property 'options.host' must be a string"),
        (({"port": 1.5},), {}, SocketBadPortError, "options.port should be >= 0"),
        ((1.5,), {}, SocketBadPortError, "port should be >= 0"),
        (([],), {}, InvalidArgValueError, "The argument 'options' is invalid"),
        ((1, "h", "x"), {}, InvalidArgTypeError, 'The "backlog" argument must be of type int'),
        ((1,), {"host": "h"}, InvalidArgValueError,
         "The argument 'listen' takes keyword options only without positional ones"),
        (({"port": 1, "fd": 2**31},), {}, InvalidArgValueError, "The property 'options.fd'"),
        (({"port": 1, "handle": object()},), {}, UnsupportedError, "options.handle"),
        (({"path": "/tmp/a\0b"},), {}, InvalidArgValueError, "The property 'options.path'"),
        (("/tmp/a\0b",), {}, InvalidArgValueError, "The argument 'path'"),
    ],
)
def test_listen_refuses(args: tuple[Any, ...], kwargs: dict[str, Any], error: type,
                        message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        parse_listen(args, kwargs)


@pytest.mark.parametrize(("given", "backlog"),
                         [(None, DEFAULT_BACKLOG), (0, 0), (-5, 0), (100, 100),
                          (10**9, 65535), (12.7, 12)])
def test_listen_backlog(given: Any, backlog: int) -> None:
    assert DEFAULT_BACKLOG == 511  # Node's
    assert listen_backlog(given) == backlog
