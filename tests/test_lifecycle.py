"""Socket lifecycle: connecting, event order, state, byte counters, socket options.

Argument validation of connect() and write(), connecting and reconnecting,
addresses, ending and destroying, resetAndDestroy(), the byte counters,
setNoDelay()/setKeepAlive(), ref()/unref(), the 'lookup' event and custom
lookups, and autoSelectFamily, as far as loopback can show them; every
connect() overload; the per-socket event order; the ISocket interface
and the snake_case twins of Socket's names.

Listeners run in gnet's worker greenlets, where an exception is logged and
destroys the socket instead of failing the test, so the listeners here only
record what they see and the test bodies assert on the records. Each test
ends with ``harness.finish()``, which tears everything down and fails the test if
gnet logged an error on the way (a listener that raised, an internal error).
"""

from __future__ import annotations

import functools
import itertools
import math
import socket as stdsocket
import time
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from gevent.event import AsyncResult, Event
from zope.interface.verify import verifyObject

import gnet as net
from gnet.errors import (
    AggregateError,
    InvalidArgTypeError,
    InvalidArgValueError,
    MissingArgsError,
    SocketBadPortError,
    StreamNullValuesError,
)
from gnet.events import once
from gnet.interfaces import ISocket
from gnet.naming import snake_case
from gnet.transport import StreamTransport
from helpers import (
    WAIT_MS as WAIT,
    WAIT_S,
    Harness,
    Recorder,
    accepted,
    closed_port,
    port_of,
    wait_until,
)

LINUX_KEEPALIVE = all(hasattr(stdsocket, name)
                      for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT"))


# --- helpers -------------------------------------------------------------------


def localhost_resolves(family: int) -> bool:
    """Whether the system resolver gives 'localhost' an address of ``family``."""
    try:
        return bool(stdsocket.getaddrinfo("localhost", 80, family, stdsocket.SOCK_STREAM))
    except OSError:
        return False


def tcp_keepalive_defaults() -> tuple[int, int, int]:
    """The system's TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT for a new socket."""
    with stdsocket.socket() as probe:
        return (probe.getsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPIDLE),
                probe.getsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPINTVL),
                probe.getsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPCNT))


def sockopt(sock: net.Socket, level: int, option: int) -> int:
    value: int = sock._t.getsockopt(level, option)
    return value


class CountingSock:
    """Stands in for a Socket's transport and counts the setsockopt() calls its options make."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[int, int, Any]] = []

    def setsockopt(self, level: int, option: int, value: Any) -> None:
        self.calls.append((level, option, value))
        self.real.setsockopt(level, option, value)

    # The transport's own option code, run with this stand-in as ``self`` so
    # that its setsockopt() calls are counted.
    def set_no_delay(self, value: bool) -> None:
        StreamTransport.set_no_delay(self, value)  # type: ignore[arg-type]

    def set_keep_alive(self, *args: Any) -> None:
        StreamTransport.set_keep_alive(self, *args)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --- A: argument validation ----------------------------------------------------

# Node's six call forms: net.connect, net.createConnection, Socket().connect,
# each without and with a connect callback.
CALL_FORMS: dict[str, Callable[..., net.Socket]] = {
    "connect": lambda *a: net.connect(*a),
    "connect+cb": lambda *a: net.connect(*a, lambda: None),
    "createConnection": lambda *a: net.createConnection(*a),
    "createConnection+cb": lambda *a: net.createConnection(*a, lambda: None),
    "Socket.connect": lambda *a: net.Socket().connect(*a),
    "Socket.connect+cb": lambda *a: net.Socket().connect(*a, lambda: None),
}


def test_connect_with_no_port_or_path_raises_missing_args() -> None:
    before = net.refCount()
    for call in (net.connect, net.createConnection, net.Socket().connect):
        for args in ((), ({},)):
            with pytest.raises(MissingArgsError) as info:
                call(*args)
            assert info.value.code == "ERR_MISSING_ARGS"
            assert isinstance(info.value, TypeError)
    assert net.refCount() == before


@pytest.mark.parametrize("form", sorted(CALL_FORMS))
@pytest.mark.parametrize(
    "args",
    [(True,), (False,), ({"port": True},), ({"port": False},), ({"port": []},),
     ({"port": {}},), ({"port": 1j},)],
    ids=["True", "False", "opt-True", "opt-False", "opt-list", "opt-dict", "opt-complex"],
)
def test_port_of_the_wrong_type_raises_invalid_arg_type(
    form: str, args: tuple[Any, ...]
) -> None:
    before = net.refCount()
    with pytest.raises(InvalidArgTypeError) as info:
        CALL_FORMS[form](*args)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert "port" in str(info.value)
    assert net.refCount() == before


@pytest.mark.parametrize("form", sorted(CALL_FORMS))
def test_port_none_raises_type_error(form: str) -> None:
    # Python's None stands for both of JS's undefined (Node: ERR_MISSING_ARGS)
    # and null (Node: ERR_INVALID_ARG_TYPE); either code is Node's answer.
    with pytest.raises(TypeError) as info:
        CALL_FORMS[form]({"port": None})
    assert info.value.code in ("ERR_INVALID_ARG_TYPE", "ERR_MISSING_ARGS")  # type: ignore[attr-defined]


BAD_PORTS = [math.nan, math.inf, -math.inf, -1, 65536, 1.5, 2**32 - 1, "65536", "1.5"]


@pytest.mark.parametrize("form", sorted(CALL_FORMS))
@pytest.mark.parametrize("port", BAD_PORTS, ids=repr)
def test_port_out_of_range_raises_bad_port(form: str, port: Any) -> None:
    before = net.refCount()
    for args in ((port,), ({"port": port},)):
        with pytest.raises(SocketBadPortError) as info:
            CALL_FORMS[form](*args)
        assert info.value.code == "ERR_SOCKET_BAD_PORT"
        assert isinstance(info.value, ValueError)
    assert net.refCount() == before


# In the options form these are ports; positionally, a string that is not a
# number >= 0 names a Unix socket, as in Node ('-1' and '0x' are paths there).
@pytest.mark.parametrize("port", ["", " ", "0x", "-0x1", "-1"], ids=repr)
def test_bad_string_port_in_options_raises_bad_port(port: str) -> None:
    for form in CALL_FORMS.values():
        with pytest.raises(SocketBadPortError):
            form({"port": port})


@pytest.mark.parametrize("port", ["", " "], ids=repr)
def test_blank_positional_port_raises_bad_port(port: str) -> None:
    for form in CALL_FORMS.values():
        with pytest.raises(SocketBadPortError):
            form(port)


def test_bad_port_emits_no_event(harness: Harness) -> None:
    sock = harness.socket()
    rec = Recorder(sock)
    with pytest.raises(SocketBadPortError):
        sock.connect(-1)
    gevent.sleep(0.02)
    assert rec.log == []
    assert not sock.connecting
    assert not sock.destroyed
    harness.finish()


# Node's argument shapes for a port, plus the keyword form.
SHAPES: dict[str, Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "port": lambda p: ((p,), {}),
    "port,host": lambda p: ((p, "localhost"), {}),
    "{port}": lambda p: (({"port": p},), {}),
    "{port,host}": lambda p: (({"port": p, "host": "localhost"},), {}),
    "port=": lambda p: ((), {"port": p}),
    "port=,host=": lambda p: ((), {"port": p, "host": "localhost"}),
}


@pytest.mark.parametrize("with_cb", [False, True], ids=["", "cb"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("entry", ["connect", "createConnection", "Socket.connect"])
def test_every_port_spelling_and_call_form_connects(
    harness: Harness, entry: str, shape: str, with_cb: bool
) -> None:
    # 'localhost' is the default host; a dual-stack server answers whichever
    # address it resolves to.
    srv = harness.listening_server(lambda s: s.end(b"ok"), host=None)
    port = port_of(srv)
    for spelling in (port, str(port), f"0x{port:x}"):
        args, kwargs = SHAPES[shape](spelling)
        called = Event()
        if with_cb:
            args = (*args, called.set)
        if entry == "Socket.connect":
            sock = harness.socket()
            assert sock.connect(*args, **kwargs) is sock
        else:
            sock = harness.track(getattr(net, entry)(*args, **kwargs))
        rec = Recorder(sock)
        rec.wait("close")
        assert rec.data() == b"ok", spelling
        assert "connect" in rec.names
        assert "error" not in rec.names
        if with_cb:
            assert called.is_set()
        assert sock.remotePort == port
    harness.finish()


def test_invalid_hints_raise_invalid_arg_value() -> None:
    hints = (stdsocket.AI_ADDRCONFIG | stdsocket.AI_V4MAPPED | stdsocket.AI_ALL) + 42
    for form in CALL_FORMS.values():
        with pytest.raises(InvalidArgValueError) as info:
            form({"port": 80, "hints": hints})
        assert info.value.code == "ERR_INVALID_ARG_VALUE"


@pytest.mark.parametrize("key", ["objectMode", "readableObjectMode", "writableObjectMode"])
def test_object_mode_options_are_not_supported(key: str) -> None:
    for call in (net.createConnection, net.connect):
        with pytest.raises(InvalidArgValueError) as info:
            call({"port": 8080, key: True})
        assert info.value.code == "ERR_INVALID_ARG_VALUE"
        assert f"options.{key}" in str(info.value)
        assert "not supported" in str(info.value)
    with pytest.raises(InvalidArgValueError):
        net.Socket({key: True})


@pytest.mark.parametrize("lookup", ["foobar", 1, {}, [], True], ids=repr)
def test_lookup_that_is_not_callable_raises(lookup: Any) -> None:
    for form in CALL_FORMS.values():
        with pytest.raises(InvalidArgTypeError) as info:
            form({"port": 80, "host": "localhost", "lookup": lookup})
        assert info.value.code == "ERR_INVALID_ARG_TYPE"
        assert "lookup" in str(info.value)


def _connect_with_lookup(harness: Harness,
                         result: tuple[Any, ...]) -> tuple[Recorder, BaseException]:
    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        cb(*result)

    sock = harness.connect({"port": 4321, "host": "example.test", "lookup": lookup,
                        "family": 4})
    rec = Recorder(sock)
    err = rec.wait("error")[0]
    rec.wait("close")
    return rec, err


def test_lookup_with_a_bad_family_gives_an_error_event(harness: Harness) -> None:
    rec, err = _connect_with_lookup(harness, (None, "127.0.0.1", 100))
    assert err.code == "ERR_INVALID_ADDRESS_FAMILY"  # type: ignore[attr-defined]
    assert err.host == "example.test"  # type: ignore[attr-defined]
    assert err.port == 4321  # type: ignore[attr-defined]
    assert "connect" not in rec.names
    assert rec.args("close") == [(True,)]
    harness.finish()


def test_lookup_with_no_address_gives_an_error_event(harness: Harness) -> None:
    rec, err = _connect_with_lookup(harness, (None, None, 4))
    assert err.code == "ERR_INVALID_IP_ADDRESS"  # type: ignore[attr-defined]
    assert "connect" not in rec.names
    harness.finish()


@pytest.mark.parametrize(
    "data", [True, False, 1, 1.0, math.inf, [], {}, object()],
    ids=lambda v: "object()" if type(v) is object else repr(v))
def test_write_of_a_non_chunk_raises_and_emits_nothing(harness: Harness, data: Any) -> None:
    srv = harness.listening_server(lambda s: s.pipe(s))
    sock = harness.connect(port_of(srv), "127.0.0.1")
    rec = Recorder(sock)
    rec.wait("connect")
    with pytest.raises(InvalidArgTypeError) as info:
        sock.write(data)
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    with pytest.raises(StreamNullValuesError) as null_info:
        sock.write(None)
    assert null_info.value.code == "ERR_STREAM_NULL_VALUES"
    assert isinstance(null_info.value, TypeError)
    # The socket is untouched: no 'error', and it still echoes.
    assert sock.bytesWritten == 0
    sock.write(b"still here")
    wait_until(lambda: rec.data() == b"still here", what="the echo")
    assert "error" not in rec.names
    assert not sock.destroyed
    harness.finish()


# --- connect() overloads and return values ------------------------------------


def test_connect_overloads_tcp(harness: Harness) -> None:
    """port, port+host, port+host+cb, port+cb, options, options+cb, keywords."""
    srv = harness.listening_server(lambda s: s.end(b"hi"))
    port = port_of(srv)
    hits: list[str] = []

    def cb(tag: str) -> Callable[[], None]:
        return lambda: hits.append(tag)

    forms: list[tuple[str, tuple[Any, ...], dict[str, Any], str | None]] = [
        ("port,host", (port, "127.0.0.1"), {}, None),
        ("port,host,cb", (port, "127.0.0.1", cb("a")), {}, "a"),
        ("port,None,cb", (port, None, cb("b")), {}, "b"),
        ("options", ({"port": port, "host": "127.0.0.1"},), {}, None),
        ("options,cb", ({"port": port, "host": "127.0.0.1"}, cb("c")), {}, "c"),
        ("keywords", (), {"port": port, "host": "127.0.0.1"}, None),
        ("options+keywords", ({"port": 1},), {"port": port, "host": "127.0.0.1"}, None),
        ("port,cb", (port, cb("d")), {}, "d"),
    ]
    for entry in (net.connect, net.createConnection):
        for name, args, kwargs, tag in forms:
            hits.clear()
            sock = harness.track(entry(*args, **kwargs))
            rec = Recorder(sock)
            rec.wait("close")
            assert rec.data() == b"hi", name
            assert rec.squeezed()[:2] in (["connect", "ready"], ["lookup", "connect"]), name
            assert hits == ([tag] if tag else []), name
    harness.finish()


@pytest.mark.parametrize("entry", ["connect", "createConnection", "Socket.connect"])
@pytest.mark.parametrize("shape", ["path", "path,cb", "{path}", "{path},cb", "path="])
def test_every_ipc_call_form_connects(
    harness: Harness, tmp_sock_path: str, entry: str, shape: str
) -> None:
    harness.listening_server(lambda s: s.end(b"unix"), path=tmp_sock_path)
    called = Event()
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = {}
    if shape.startswith("{path}"):
        args = ({"path": tmp_sock_path},)
    elif shape == "path=":
        args, kwargs = (), {"path": tmp_sock_path}
    else:
        args = (tmp_sock_path,)
    if shape.endswith(",cb"):
        args = (*args, called.set)
    if entry == "Socket.connect":
        sock = harness.socket()
        assert sock.connect(*args, **kwargs) is sock
    else:
        sock = harness.track(getattr(net, entry)(*args, **kwargs))
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.data() == b"unix"
    assert rec.squeezed() == ["connect", "ready", "data", "end", "finish", "close"]
    assert called.is_set() == shape.endswith(",cb")
    harness.finish()


@pytest.mark.parametrize("entry", ["connect", "createConnection"])
def test_module_functions_go_through_socket_connect(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    srv = harness.listening_server()
    port = port_of(srv)
    calls: list[tuple[Any, ...]] = []
    original = net.Socket.connect

    def spy(self: net.Socket, *args: Any, **kwargs: Any) -> net.Socket:
        calls.append((self, args, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(net.Socket, "connect", spy)
    sock = harness.track(getattr(net, entry)(port, "127.0.0.1"))
    assert len(calls) == 1
    assert calls[0][0] is sock
    assert calls[0][1][:2] == (port, "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    harness.finish()


def test_connect_returns_the_socket(harness: Harness, tmp_sock_path: str) -> None:
    srv = harness.listening_server()
    sock = harness.socket()
    assert sock.connect(port_of(srv), "127.0.0.1") is sock
    once(sock, "connect", timeout=WAIT)
    usock = harness.socket()
    harness.listening_server(path=tmp_sock_path)
    assert usock.connect(tmp_sock_path) is usock
    once(usock, "connect", timeout=WAIT)
    harness.finish()


# --- C: lifecycle and event order ---------------------------------------------


def test_event_order_of_a_full_connection(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end(b"hello"), host=None)
    sock = harness.connect(port_of(srv), "localhost")
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.squeezed() == ["lookup", "connect", "ready", "data", "end", "finish", "close"]
    assert rec.args("close") == [(False,)]
    assert rec.data() == b"hello"
    # 'close' is last: nothing follows, even a moment later.
    seen = list(rec.log)
    gevent.sleep(0.05)
    assert rec.log == seen
    harness.finish()


def test_event_order_when_we_end_first(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    rec = Recorder(sock)
    sock.end(b"bye")
    rec.wait("close")
    assert rec.squeezed() == ["connect", "ready", "finish", "end", "close"]
    assert rec.args("close") == [(False,)]
    harness.finish()


def test_listeners_added_after_create_connection_see_lookup_and_connect(harness: Harness) -> None:
    srv = harness.listening_server(host=None)
    sock = harness.connect(port_of(srv), "localhost")
    # Attached only now, after the call returned: nothing may be missed.
    rec = Recorder(sock)
    rec.wait("connect")
    assert rec.names[:3] == ["lookup", "connect", "ready"]
    harness.finish()


def test_listeners_added_after_an_instant_unix_connect_see_connect(
    harness: Harness, tmp_sock_path: str
) -> None:
    # A Unix connect() completes inside the system call; 'connect' must
    # still come later.
    harness.listening_server(path=tmp_sock_path)
    sock = harness.connect(tmp_sock_path)
    rec = Recorder(sock)
    rec.wait("ready")
    assert rec.names == ["connect", "ready"]
    harness.finish()


def test_listeners_added_after_destroy_see_close(harness: Harness) -> None:
    sock = harness.socket()
    assert sock.destroy() is sock
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.log == [("close", (False,))]
    harness.finish()


def test_destroy_with_an_error_emits_error_then_close_true(harness: Harness) -> None:
    srv = harness.listening_server()
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    boom = RuntimeError("boom")
    errors: list[BaseException] = []
    sock.on("error", errors.append)
    rec = Recorder(sock, ("close",))
    sock.destroy(boom)
    assert errors == []  # not inside destroy()
    rec.wait("close")
    assert errors == [boom]
    assert rec.args("close") == [(True,)]
    harness.finish()


@pytest.mark.parametrize("transport", [
    "tcp",
    "unix",
])
def test_pending_and_connecting(harness: Harness, tmp_sock_path: str, transport: str) -> None:
    if transport == "tcp":
        srv = harness.listening_server(lambda s: s.resume())
        target: tuple[Any, ...] = (port_of(srv), "127.0.0.1")
    else:
        harness.listening_server(lambda s: s.resume(), path=tmp_sock_path)
        target = (tmp_sock_path,)
    sock = harness.socket()
    assert sock.pending is True
    assert sock.connecting is False
    seen: dict[str, Any] = {}
    sock.connect(*target, lambda: seen.setdefault("in connect cb", (sock.connecting,
                                                                     sock.pending)))
    states = [(sock.pending, sock.connecting, sock.readyState)]
    sock.write(b"x", lambda err: seen.setdefault("in write cb", sock.pending))
    sock.end()
    states.append((sock.pending, sock.connecting, sock.readyState))
    sock.on("close", lambda had: seen.setdefault("in close", sock.pending))
    once(sock, "close", timeout=WAIT)
    assert states == [(True, True, "opening")] * 2
    assert seen == {"in connect cb": (False, False), "in write cb": False, "in close": True}
    harness.finish()


def test_connecting_during_dns_lookup(harness: Harness) -> None:
    srv = harness.listening_server(host=None)
    sock = harness.connect(port_of(srv), "localhost")
    assert sock.connecting is True
    assert sock.readyState == "opening"
    once(sock, "connect", timeout=WAIT)
    assert sock.connecting is False
    harness.finish()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_connect_to_a_server_address_dict(harness: Harness, host: str) -> None:
    # Node's test passes server.address() straight to connect(): its
    # 'family' ('IPv4'/'IPv6') picks the family of 'localhost' (the default
    # host); 'address' is not a connect option and is ignored.
    if host == "::1" and not localhost_resolves(stdsocket.AF_INET6):
        pytest.skip("'localhost' has no IPv6 address here")
    srv = harness.listening_server(lambda s: s.end(), host=host)
    address = srv.address()
    assert set(address) == {"address", "family", "port"}
    sock = harness.socket()
    rec = Recorder(sock)
    sock.connect(address)
    rec.wait("close")
    assert rec.squeezed() == ["lookup", "connect", "ready", "end", "finish", "close"]
    assert sock.remoteFamily == address["family"]
    harness.finish()


def test_reconnect_after_close(harness: Harness) -> None:
    cycles = 51
    server_closes: list[bool] = []

    def on_connection(s: net.Socket) -> None:
        s.on("close", server_closes.append)
        s.end(b"hello\r\n")

    srv = harness.listening_server(on_connection)
    port = port_of(srv)
    sock = harness.socket()
    log: list[list[Any]] = [[]]
    done = Event()

    sock.on("data", lambda chunk: log[-1].append(chunk))
    sock.on("end", lambda: log[-1].append("end"))

    def on_close(had_error: bool) -> None:
        log[-1].append(("close", had_error))
        # Stop at the first cycle that went wrong (and at teardown).
        if len(log) < cycles and "end" in log[-1]:
            log.append([])
            sock.connect(port, "127.0.0.1")
        else:
            done.set()

    sock.on("close", on_close)
    sock.connect(port, "127.0.0.1")
    assert done.wait(WAIT / 1000)
    assert log == [[b"hello\r\n", "end", ("close", False)]] * cycles
    wait_until(lambda: len(server_closes) == cycles, what="every server-side 'close'")
    assert server_closes == [False] * cycles
    harness.finish()


def test_a_reconnect_right_after_destroy_outlives_the_old_close(harness: Harness) -> None:
    # end() + destroy() + connect() in one go: the old connection's 'close'
    # comes while the new one is opening (Node 20: "close false opening"),
    # and neither it nor the old connection's 'finish' touches the new
    # connection, which connects, echoes and closes on its own.
    srv = harness.listening_server(lambda s: s.pipe(s))
    port = port_of(srv)
    sock = harness.socket()
    log: list[Any] = []
    done = Event()
    sock.on("finish", lambda: log.append("finish"))
    sock.on("close", lambda had_error: log.append(("close", had_error, sock.readyState)))
    sock.on("data", lambda chunk: (log.append(chunk), sock.end()))
    sock.on("end", lambda: log.append("end"))
    sock.on("close", lambda _had_error: done.set() if len(log) > 1 else None)

    def second() -> None:
        log.append(("connect", sock.readyState, sock.destroyed))
        sock.write(b"hi")

    def first() -> None:
        sock.end()
        sock.destroy()
        sock.connect(port, "127.0.0.1", second)

    sock.connect(port, "127.0.0.1", first)
    assert done.wait(WAIT / 1000)
    assert log == [("close", False, "opening"), ("connect", "open", False), b"hi",
                   "finish", "end", ("close", False, "closed")]
    assert sock.destroyed
    harness.finish()


def test_write_before_connect_goes_first(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.pipe(s))
    sock = harness.connect(port_of(srv), "127.0.0.1")
    assert sock.write("before") is True
    sock.on("connect", lambda: sock.write(" after"))
    rec = Recorder(sock)
    wait_until(lambda: len(rec.data()) >= 12, what="the echo")
    assert rec.data() == b"before after"
    harness.finish()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_remote_address_port_family(harness: Harness, host: str) -> None:
    server_side = {}

    def on_connection(s: net.Socket) -> None:
        server_side.update(address=s.remoteAddress, port=s.remotePort, family=s.remoteFamily)
        s.end()

    srv = harness.listening_server(on_connection, host=host)
    port = port_of(srv)
    sock = harness.connect(port, host)
    assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (None, None, None)
    seen: dict[str, Any] = {}
    sock.on("connect", lambda: seen.update(
        connect=(sock.remoteAddress, sock.remotePort, sock.remoteFamily)))
    sock.on("close", lambda had: seen.update(
        close=(sock.remoteAddress, sock.remotePort, sock.remoteFamily)))
    sock.resume()
    once(sock, "close", timeout=WAIT)
    family = "IPv6" if ":" in host else "IPv4"
    assert seen == {"connect": (host, port, family), "close": (host, port, family)}
    assert server_side["address"] == host
    assert server_side["family"] == family
    assert server_side["port"] != port
    harness.finish()


def test_remote_fields_while_pending_do_not_raise(harness: Harness) -> None:
    port = closed_port()
    sock = harness.connect(port, "127.0.0.1")
    sock.on("error", lambda err: None)
    assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (None, None, None)
    assert (sock.localAddress, sock.localPort, sock.localFamily) == (None, None, None)
    rec = Recorder(sock, ("close",))
    rec.wait("close")
    assert (sock.remoteAddress, sock.remotePort, sock.remoteFamily) == (None, None, None)
    harness.finish()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_server_side_local_fields_match_server_address(harness: Harness, host: str) -> None:
    srv = harness.listening_server(host=host)
    conn = accepted(srv)
    sock = harness.connect(port_of(srv), host)
    rec = Recorder(sock, ("connect",))
    server_sock = conn.get(timeout=WAIT / 1000)
    address = srv.address()
    assert server_sock.localAddress == address["address"]
    assert server_sock.localPort == address["port"]
    assert server_sock.localFamily == address["family"]
    rec.wait("connect")
    assert sock.localFamily == address["family"]
    assert sock.localAddress == host
    harness.finish()


def test_client_local_port_is_the_servers_remote_port(harness: Harness) -> None:
    remote_ports: list[int | None] = []

    def on_connection(s: net.Socket) -> None:
        remote_ports.append(s.remotePort)
        s.end()

    srv = harness.listening_server(on_connection)
    sock = harness.socket()
    sock.resume()
    local_ports = []
    for _ in range(2):
        sock.connect(port_of(srv), "127.0.0.1")
        once(sock, "connect", timeout=WAIT)
        local_ports.append(sock.localPort)
        once(sock, "close", timeout=WAIT)
    assert remote_ports == local_ports
    assert all(isinstance(p, int) and p > 0 for p in local_ports)
    harness.finish()


def test_end_comes_before_close(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names.index("end") < rec.names.index("close")
    assert rec.names.count("end") == rec.names.count("close") == 1
    harness.finish()


def test_end_waits_until_the_data_is_read(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end(b"x" * 1000))
    sock = harness.connect(port_of(srv), "127.0.0.1")
    # No 'data' listener: the socket stays paused, the data unread.
    rec = Recorder(sock, ("connect", "end", "close"))
    rec.wait("connect")
    gevent.sleep(0.1)
    assert rec.names == ["connect"]
    assert not sock.destroyed
    chunks: list[bytes] = []
    sock.on("data", chunks.append)
    rec.wait("close")
    assert b"".join(chunks) == b"x" * 1000
    assert rec.names == ["connect", "end", "close"]
    harness.finish()


def test_end_while_connecting_still_closes(harness: Harness) -> None:
    srv = harness.listening_server()
    sock = harness.connect(port_of(srv))
    rec = Recorder(sock)
    sock.end()
    rec.wait("close")
    assert rec.args("close") == [(False,)]
    assert "error" not in rec.names
    harness.finish()


def test_end_callback_on_a_never_connected_socket(harness: Harness) -> None:
    sock = harness.socket()
    seen: list[Any] = []
    assert sock.end(lambda *args: seen.append((args, sock.writable))) is sock
    wait_until(lambda: seen, what="the end callback")
    assert seen == [((None,), False)]
    harness.finish()


@pytest.mark.parametrize("args", [(), ("foo",), ("foo", "utf8")], ids=["cb", "data,cb",
                                                                        "data,enc,cb"])
def test_end_callback_is_called_once(harness: Harness, args: tuple[Any, ...]) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    calls: list[tuple[Any, ...]] = []
    sock = harness.connect(port_of(srv), "127.0.0.1",
                       lambda: sock.end(*args, lambda *a: calls.append(a)))
    once(sock, "close", timeout=WAIT)
    gevent.sleep(0.01)
    assert calls == [(None,)]
    harness.finish()


def test_not_destroyed_inside_end_after_our_end(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    seen = []
    sock.on("data", lambda chunk: None)
    sock.on("end", lambda: seen.append(sock.destroyed))
    sock.end()
    once(sock, "close", timeout=WAIT)
    assert seen == [False]
    assert sock.destroyed
    harness.finish()


def test_calls_after_close_do_not_raise(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.resume()
    once(sock, "close", timeout=WAIT)
    assert sock.setNoDelay() is sock
    assert sock.setKeepAlive(True) is sock
    assert sock.pause() is sock
    assert sock.resume() is sock
    assert sock.address() == {}
    assert sock.bufferSize == 0
    assert sock.remoteAddress == "127.0.0.1"
    assert sock.remotePort == port_of(srv)
    harness.finish()


def test_destroy_without_connect_emits_close_once(harness: Harness) -> None:
    sock = harness.socket()
    rec = Recorder(sock)
    assert sock.destroy() is sock
    assert sock.destroy().destroy() is sock
    assert sock.destroyed
    rec.wait("close")
    gevent.sleep(0.02)
    assert rec.log == [("close", (False,))]
    harness.finish()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_destroy_right_after_connect_swallows_the_refusal(harness: Harness, host: str) -> None:
    sock = harness.connect(closed_port(), host)
    sock.destroy()
    rec = Recorder(sock)
    rec.wait("close")
    gevent.sleep(0.05)
    assert rec.log == [("close", (False,))]
    harness.finish()


def test_server_side_socket_knows_its_server(harness: Harness) -> None:
    srv = harness.listening_server()
    conn = accepted(srv)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    assert conn.get(timeout=WAIT / 1000).server is srv
    assert sock.server is None
    harness.finish()


def test_fresh_connected_and_accepted_sockets_are_readable_and_writable(harness: Harness) -> None:
    fresh = harness.socket()
    assert (fresh.readable, fresh.writable) == (True, True)
    seen: dict[str, Any] = {}

    def on_connection(s: net.Socket) -> None:
        seen["accepted"] = (s.readable, s.writable)

    srv = harness.listening_server(on_connection)
    sock = harness.connect(port_of(srv), "127.0.0.1",
                       lambda: seen.setdefault("client", (sock.readable, sock.writable)))
    wait_until(lambda: len(seen) == 2, what="both sides")
    assert seen == {"accepted": (True, True), "client": (True, True)}
    harness.finish()


@pytest.mark.parametrize("transport", ["ipv4", "ipv6", "unix"])
def test_ping_pong(harness: Harness, tmp_sock_path: str, transport: str) -> None:
    n = 1000
    server_obs: dict[str, Any] = {"data": 0, "pongs": 0, "bad": []}
    client_obs: dict[str, Any] = {"data": 0, "bad": [], "final": False}

    def on_socket(s: net.Socket) -> None:
        server_obs["server"] = s.server
        s.setNoDelay()
        s.setEncoding("utf8")

        def on_data(data: str) -> None:
            server_obs["data"] += 1
            if not (0 <= s.bufferSize <= 4 and s.writable and s.readable and data == "PING"):
                server_obs["bad"].append((data, s.bufferSize, s.writable, s.readable))
            s.write("PONG", lambda err: server_obs.__setitem__("pongs", server_obs["pongs"] + 1))

        def on_end() -> None:
            server_obs["end"] = (s.allowHalfOpen, s.writable, s.readable)
            s.end()

        s.on("data", on_data)
        s.on("end", on_end)
        s.on("close", lambda had: server_obs.__setitem__("close", (had, s.writable,
                                                                   s.readable)))

    if transport == "unix":
        srv = harness.listening_server(on_socket, path=tmp_sock_path, allowHalfOpen=True)
        client = harness.connect(tmp_sock_path)
    else:
        host = "127.0.0.1" if transport == "ipv4" else "::1"
        srv = harness.listening_server(on_socket, host=host, allowHalfOpen=True)
        client = harness.connect(port_of(srv), host)
    client.setEncoding("ascii")

    def on_connect() -> None:
        client_obs["connect"] = (client.readable, client.writable)
        client.write("PING")

    def on_data(data: str) -> None:
        client_obs["data"] += 1
        if data != "PONG":
            client_obs["bad"].append(data)
        if client_obs["final"]:
            client_obs["after final"] = (client.writable, client.readable)
            return
        if not (client.writable and client.readable):
            client_obs["bad"].append((client.writable, client.readable))
        if client_obs["data"] < n:
            client.write("PING")
        else:
            client_obs["final"] = True
            client.write("PING")
            client.end()

    client.on("connect", on_connect)
    client.on("data", on_data)
    rec = Recorder(client, ("error", "close"))
    rec.wait("close", timeout_s=30.0)
    wait_until(lambda: "close" in server_obs, what="the server side's 'close'")
    assert rec.log == [("close", (False,))]
    assert client_obs["connect"] == (True, True)
    assert client_obs["data"] == n + 1
    assert client_obs["bad"] == []
    assert client_obs["after final"] == (False, True)
    assert server_obs["server"] is srv
    assert server_obs["data"] == n + 1
    assert server_obs["pongs"] == n + 1
    assert server_obs["bad"] == []
    assert server_obs["end"] == (True, True, False)
    assert server_obs["close"] == (False, False, False)
    harness.finish()


# --- properties ------------------------------------------------------------------


def test_properties_through_a_connection(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end(b"x"))
    port = port_of(srv)
    sock = harness.socket()
    fresh = dict(
        remoteAddress=sock.remoteAddress, remotePort=sock.remotePort,
        remoteFamily=sock.remoteFamily, localAddress=sock.localAddress,
        localPort=sock.localPort, localFamily=sock.localFamily, readyState=sock.readyState,
        connecting=sock.connecting, pending=sock.pending, destroyed=sock.destroyed,
        readable=sock.readable, writable=sock.writable, timeout=sock.timeout,
        server=sock.server, address=sock.address(), bytesRead=sock.bytesRead,
        bytesWritten=sock.bytesWritten,
    )
    assert fresh == dict(
        remoteAddress=None, remotePort=None, remoteFamily=None, localAddress=None,
        localPort=None, localFamily=None, readyState="open", connecting=False,
        pending=True, destroyed=False, readable=True, writable=True, timeout=None,
        server=None, address={}, bytesRead=0, bytesWritten=0,
    )
    sock.connect(port, "127.0.0.1")
    assert (sock.readyState, sock.connecting, sock.pending, sock.address()) == (
        "opening", True, True, {})
    seen: dict[str, Any] = {}

    def on_connect() -> None:
        seen["connect"] = dict(
            remote=(sock.remoteAddress, sock.remotePort, sock.remoteFamily),
            local=(sock.localAddress, sock.localFamily), readyState=sock.readyState,
            connecting=sock.connecting, pending=sock.pending, address=sock.address())

    def on_close(had_error: bool) -> None:
        seen["close"] = dict(
            remote=(sock.remoteAddress, sock.remotePort, sock.remoteFamily),
            local=(sock.localAddress, sock.localPort, sock.localFamily),
            readyState=sock.readyState, pending=sock.pending, destroyed=sock.destroyed,
            readable=sock.readable, writable=sock.writable, address=sock.address())

    sock.on("connect", on_connect)
    sock.on("close", on_close)
    sock.resume()
    once(sock, "close", timeout=WAIT)
    local_port = seen["connect"]["address"]["port"]
    assert seen["connect"] == dict(
        remote=("127.0.0.1", port, "IPv4"), local=("127.0.0.1", "IPv4"), readyState="open",
        connecting=False, pending=False,
        address={"address": "127.0.0.1", "family": "IPv4", "port": local_port})
    assert seen["close"] == dict(
        remote=("127.0.0.1", port, "IPv4"), local=(None, None, None), readyState="closed",
        pending=True, destroyed=True, readable=False, writable=False, address={})
    harness.finish()


def test_ready_state_through_half_closes(harness: Harness) -> None:
    conn = None

    def on_connection(s: net.Socket) -> None:
        nonlocal conn
        conn = s

    srv = harness.listening_server(on_connection, allowHalfOpen=True)
    sock = harness.connect(port_of(srv), "127.0.0.1", allowHalfOpen=True)
    sock.resume()
    once(sock, "connect", timeout=WAIT)
    wait_until(lambda: conn is not None, what="the accepted socket")
    assert sock.readyState == "open"
    sock.end()
    assert sock.readyState == "readOnly"
    assert conn is not None
    conn.resume()
    once(conn, "end", timeout=WAIT)
    assert conn.readyState == "writeOnly"
    conn.end()
    once(sock, "close", timeout=WAIT)
    assert sock.readyState == "closed"
    harness.finish()


def test_timeout_property(harness: Harness) -> None:
    sock = harness.socket()
    assert sock.timeout is None
    assert sock.setTimeout(1500) is sock
    assert sock.timeout == 1500
    sock.setTimeout(0)
    assert sock.timeout == 0  # Node: "as set by setTimeout()"; None only when never set
    assert net.Socket().setTimeout(0).timeout == 0
    srv = harness.listening_server()
    with_option = harness.connect({"port": port_of(srv), "host": "127.0.0.1", "timeout": 2500})
    assert with_option.timeout == 2500
    harness.finish()


def test_destroy_soon_ends_then_destroys(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    rec = Recorder(sock, ("finish", "end", "close"))
    sock.write(b"last words")
    sock.destroySoon()
    assert not sock.writable
    rec.wait("close")
    assert rec.names[0] == "finish"
    assert rec.args("close") == [(False,)]
    assert sock.bytesWritten == len(b"last words")
    never = harness.socket()
    never.destroySoon()
    assert never.destroyed
    harness.finish()


def test_reset_and_destroy_is_seen_by_the_peer_as_econnreset(harness: Harness) -> None:
    errors: list[BaseException] = []

    def on_connection(s: net.Socket) -> None:
        s.on("error", errors.append)
        s.resume()

    srv = harness.listening_server(on_connection)
    conn = accepted(srv)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    rec = Recorder(sock)
    rec.wait("connect")
    server_sock = conn.get(timeout=WAIT / 1000)
    server_rec = Recorder(server_sock, ("close",))
    assert sock.resetAndDestroy().destroy() is sock
    results: list[Any] = []
    assert sock.write("late", results.append) is False
    rec.wait("close")
    gevent.sleep(0.01)
    assert "error" not in rec.names
    assert rec.args("close") == [(False,)]
    assert [getattr(e, "code", None) for e in results] == ["ERR_STREAM_DESTROYED"]
    server_rec.wait("close")
    assert [getattr(e, "code", None) for e in errors] == ["ECONNRESET"]
    assert [getattr(e, "message", None) for e in errors] == ["read ECONNRESET"]
    assert server_rec.args("close") == [(True,)]
    harness.finish()


def test_reset_and_destroy_on_a_never_connected_socket(harness: Harness) -> None:
    sock = harness.socket()
    rec = Recorder(sock)
    assert sock.resetAndDestroy() is sock
    rec.wait("close")
    assert rec.names == ["error", "close"]
    err = rec.args("error")[0][0]
    assert err.code == "ERR_SOCKET_CLOSED"
    assert str(err) == "Socket is closed"
    assert rec.args("close") == [(True,)]
    harness.finish()


def test_reset_as_soon_as_both_sides_see_the_connection(harness: Harness) -> None:
    errors: list[BaseException] = []

    def on_connection(s: net.Socket) -> None:
        s.on("error", errors.append)
        s.resume()

    srv = harness.listening_server(on_connection)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.on("connect", sock.resetAndDestroy)
    rec = Recorder(sock)
    rec.wait("close")
    wait_until(lambda: errors, what="the peer's error")
    assert rec.squeezed() == ["connect", "ready", "close"]
    assert [getattr(e, "code", None) for e in errors] == ["ECONNRESET"]
    harness.finish()


def test_reset_and_destroy_while_connecting(harness: Harness) -> None:
    # No 'connect', no 'error', one 'close'.
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.resetAndDestroy()
    sock.destroy()
    rec = Recorder(sock)
    rec.wait("close")
    gevent.sleep(0.02)
    assert rec.names == ["close"]
    harness.finish()


# --- H: byte counters ------------------------------------------------------------


def test_bytes_read_grows_on_every_data(harness: Harness) -> None:
    size = 1024 * 1024
    srv = harness.listening_server(lambda s: s.end(b"\0" * size))
    sock = harness.connect(port_of(srv), "127.0.0.1")
    seen: list[int] = []
    at: dict[str, int] = {}
    sock.on("data", lambda chunk: seen.append(sock.bytesRead))
    sock.on("end", lambda: at.setdefault("end", sock.bytesRead))
    sock.on("close", lambda had: at.setdefault("close", sock.bytesRead))
    once(sock, "close", timeout=WAIT)
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert seen[-1] == size
    assert at == {"end": size, "close": size}
    harness.finish()


def test_bytes_written_counts_at_write_time_while_connecting(harness: Harness) -> None:
    received: list[str] = []

    def on_connection(s: net.Socket) -> None:
        s.setEncoding("utf8")
        s.on("data", received.append)

    srv = harness.listening_server(on_connection)
    a, b = "L'État, c'est ", "moi"
    sock = harness.connect(port_of(srv), "127.0.0.1")
    seen: list[int] = []
    sock.write(a, lambda err: seen.append(sock.bytesWritten))
    assert sock.connecting
    assert sock.bytesWritten == len(a.encode())
    sock.end(b)
    assert sock.bytesWritten == len((a + b).encode())
    sock.resume()
    once(sock, "close", timeout=WAIT)
    assert seen == [len((a + b).encode())]
    wait_until(lambda: "".join(received) == a + b, what="the server's data")
    harness.finish()


def test_corked_writes_count_at_once(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.cork()
    sock.write("one")
    sock.write(b"tw\xc3\xb8")
    sock.uncork()
    seen = {"sync": sock.bytesWritten}
    sock.on("connect", lambda: seen.setdefault("connect", sock.bytesWritten))
    sock.on("end", lambda: seen.setdefault("end", sock.bytesWritten))
    sock.resume()
    once(sock, "close", timeout=WAIT)
    assert seen == {"sync": 7, "connect": 7, "end": 7}
    harness.finish()


@pytest.mark.parametrize("kind", ["bytes", "str", "corked str+bytes"])
def test_large_end_counts_once(harness: Harness, kind: str) -> None:
    n = 10 * 1024 * 1024
    peer: dict[str, int] = {}

    def on_connection(s: net.Socket) -> None:
        s.resume()
        s.on("close", lambda had: peer.setdefault("read", s.bytesRead))

    srv = harness.listening_server(on_connection)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    seen: list[Any] = []
    if kind == "bytes":
        sock.end(b"a" * n, lambda err: seen.append((err, sock.bytesWritten)))
        expected = n
    elif kind == "str":
        sock.end("a" * n, lambda err: seen.append((err, sock.bytesWritten)))
        expected = n
    else:
        sock.cork()
        sock.write("a" * n)
        sock.end(b"b" * n, lambda err: seen.append((err, sock.bytesWritten)))
        sock.uncork()
        expected = 2 * n
    assert sock.bytesWritten == expected
    sock.resume()
    once(sock, "close", timeout=WAIT * 2)
    assert seen == [(None, expected)]
    wait_until(lambda: "read" in peer, what="the peer's 'close'")
    assert peer["read"] == expected
    harness.finish()


def test_counters_reset_on_reconnect(harness: Harness) -> None:
    server_read: list[int] = []

    def on_connection(s: net.Socket) -> None:
        s.resume()
        s.on("end", lambda: server_read.append(s.bytesRead))

    srv = harness.listening_server(on_connection)
    port = port_of(srv)
    sock = harness.socket()
    written: list[int] = []
    after_connect_call: list[tuple[int, int]] = []
    sock.on("connect", lambda: sock.write("foo", lambda err: sock.end("bar")))
    sock.on("finish", lambda: written.append(sock.bytesWritten))
    for _ in range(2):
        sock.connect(port, "127.0.0.1")
        after_connect_call.append((sock.bytesRead, sock.bytesWritten))
        once(sock, "close", timeout=WAIT)
    wait_until(lambda: len(server_read) == 2, what="both server-side 'end' events")
    assert written == [6, 6]
    assert sum(written) == 12
    assert server_read == [6, 6]
    assert after_connect_call == [(0, 0), (0, 0)]
    harness.finish()


def test_bytes_read_resets_on_reconnect(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end(b"12345"))
    sock = harness.socket()
    sock.resume()
    totals = []
    for _ in range(2):
        sock.connect(port_of(srv), "127.0.0.1")
        once(sock, "close", timeout=WAIT)
        totals.append(sock.bytesRead)
    assert totals == [5, 5]
    harness.finish()


# --- N: setNoDelay / setKeepAlive -----------------------------------------------


def _connected_pair(harness: Harness, **client_options: Any) -> tuple[net.Socket, net.Socket]:
    srv = harness.listening_server(lambda s: s.resume(), **client_options.pop("server_options", {}))
    conn = accepted(srv)
    sock = harness.connect({"port": port_of(srv), "host": "127.0.0.1", **client_options})
    once(sock, "connect", timeout=WAIT)
    return sock, conn.get(timeout=WAIT / 1000)


def _nodelay(sock: net.Socket) -> int:
    return sockopt(sock, stdsocket.IPPROTO_TCP, stdsocket.TCP_NODELAY)


def test_set_no_delay_turns_nagle_off(harness: Harness) -> None:
    sock, _ = _connected_pair(harness)
    assert _nodelay(sock) == 0
    assert sock.setNoDelay() is sock
    assert _nodelay(sock) != 0
    assert sock.setNoDelay(False) is sock
    assert _nodelay(sock) == 0
    for truthy in (True, 1, "true", [0], {"a": 1}):
        sock.setNoDelay(False)
        sock.setNoDelay(truthy)
        assert _nodelay(sock) != 0, truthy
    for falsy in (False, 0, ""):
        sock.setNoDelay(True)
        sock.setNoDelay(falsy)
        assert _nodelay(sock) == 0, falsy
    harness.finish()


def test_set_no_delay_reaches_the_os_only_on_change(harness: Harness) -> None:
    sock, _ = _connected_pair(harness)
    counter = CountingSock(sock._t)
    sock._t = counter
    for falsy in (False, 0, ""):
        sock.setNoDelay(falsy)
    assert counter.calls == []
    truthy = (True, 1, "true", [0], {"a": 1})
    for value in (*truthy, False, 0, "", *truthy):
        sock.setNoDelay(value)
    nodelay = [c for c in counter.calls if c[:2] == (stdsocket.IPPROTO_TCP,
                                                     stdsocket.TCP_NODELAY)]
    assert [bool(c[2]) for c in nodelay] == [True, False, True]
    harness.finish()


def test_set_no_delay_on_a_unix_socket_is_harmless(harness: Harness, tmp_sock_path: str) -> None:
    harness.listening_server(path=tmp_sock_path)
    sock = harness.connect(tmp_sock_path)
    once(sock, "connect", timeout=WAIT)
    assert sock.setNoDelay(True) is sock
    assert sock.setKeepAlive(True, 1000) is sock
    harness.finish()


def test_no_delay_before_connect_is_remembered(harness: Harness) -> None:
    srv = harness.listening_server()
    sock = harness.socket()
    assert sock.setNoDelay(True) is sock
    sock.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert _nodelay(sock) != 0
    harness.finish()


@pytest.mark.parametrize("value,expected", [(True, True), (1, True), (False, False),
                                            (0, False), (None, False)])
def test_no_delay_connect_option(harness: Harness, value: Any, expected: bool) -> None:
    sock, _ = _connected_pair(harness, noDelay=value)
    assert bool(_nodelay(sock)) is expected
    harness.finish()


def _keepalive(sock: net.Socket) -> tuple[int, int, int, int]:
    return (sockopt(sock, stdsocket.SOL_SOCKET, stdsocket.SO_KEEPALIVE) != 0,
            sockopt(sock, stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPIDLE),
            sockopt(sock, stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPINTVL),
            sockopt(sock, stdsocket.IPPROTO_TCP, stdsocket.TCP_KEEPCNT))


needs_linux_keepalive = pytest.mark.skipif(
    not LINUX_KEEPALIVE, reason="TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT are Linux options")


@needs_linux_keepalive
@pytest.mark.parametrize("delay,idle", [(456123, 456), (1000, 1), (1999, 1), (123, None),
                                        (-5, None), (None, None)])
def test_keepalive_option_delay_in_whole_seconds(
    harness: Harness, delay: float | None, idle: int | None
) -> None:
    default_idle = tcp_keepalive_defaults()[0]
    options: dict[str, Any] = {"keepAlive": True}
    if delay is not None:
        options["keepAliveInitialDelay"] = delay
    sock, _ = _connected_pair(harness, **options)
    on, got_idle, *_rest = _keepalive(sock)
    assert on
    assert got_idle == (default_idle if idle is None else idle)
    harness.finish()


@needs_linux_keepalive
@pytest.mark.parametrize("value", [False, 0, None])
def test_falsy_keepalive_option_is_not_applied(harness: Harness, value: Any) -> None:
    sock, _ = _connected_pair(harness, keepAlive=value, keepAliveInitialDelay=5000)
    assert _keepalive(sock)[:2] == (False, tcp_keepalive_defaults()[0])
    harness.finish()


@needs_linux_keepalive
def test_server_keepalive_options_apply_to_accepted_sockets(harness: Harness) -> None:
    _, conn = _connected_pair(harness, server_options={"keepAlive": True,
                                                   "keepAliveInitialDelay": 1000})
    # libuv's probe settings with a delay: a probe a second, ten probes.
    assert _keepalive(conn) == (True, 1, 1, 10)
    counter = CountingSock(conn._t)
    conn._t = counter
    assert conn.setKeepAlive(True, 1000) is conn
    assert counter.calls == []
    conn.setKeepAlive(True, 2000)
    conn.setKeepAlive(True, 2000)
    conn.setKeepAlive(True, 3000)
    applies = [c for c in counter.calls if c[:2] == (stdsocket.SOL_SOCKET,
                                                     stdsocket.SO_KEEPALIVE)]
    assert len(applies) == 2
    assert _keepalive(conn)[:2] == (True, 3)
    harness.finish()


@needs_linux_keepalive
def test_set_keepalive_before_connect_persists(harness: Harness) -> None:
    srv = harness.listening_server()
    sock = harness.socket()
    assert sock.setKeepAlive(True, 3000) is sock
    sock.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert _keepalive(sock) == (True, 3, 1, 10)
    harness.finish()


@needs_linux_keepalive
def test_set_keepalive_on_and_off(harness: Harness) -> None:
    sock, _ = _connected_pair(harness)
    assert sock.setKeepAlive(True, 7000) is sock
    assert _keepalive(sock)[:2] == (True, 7)
    assert sock.setKeepAlive(False) is sock
    assert _keepalive(sock)[0] is False
    assert sock.setKeepAlive() is sock  # enable defaults to False, as in Node
    assert _keepalive(sock)[0] is False
    harness.finish()


@needs_linux_keepalive
def test_set_keepalive_interval_and_count(harness: Harness) -> None:
    sock, _ = _connected_pair(harness)
    sock.setKeepAlive(True, 2000, 3000, 5)
    assert _keepalive(sock) == (True, 2, 3, 5)
    harness.finish()


def test_short_keepalive_leaves_both_ends_open(harness: Harness) -> None:
    sock, conn = _connected_pair(harness)
    sock.setKeepAlive(True, 50)
    conn.setKeepAlive(True, 50)
    gevent.sleep(0.1)
    assert (sock.readyState, conn.readyState) == ("open", "open")
    harness.finish()


# --- O: ref / unref and gnet.run() ----------------------------------------------


def _unrefd_server(harness: Harness) -> net.Server:
    srv = harness.listening_server(lambda s: s.unref())
    srv.unref()
    return srv


def test_unref_then_ref_before_connect_keeps_the_socket_refd(harness: Harness) -> None:
    srv = _unrefd_server(harness)
    sock = harness.socket()
    assert sock.unref() is sock
    assert sock.ref() is sock
    assert sock.hasRef()
    sock.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert net.run(timeout=100) is False
    sock.destroy()
    assert net.run(timeout=WAIT) is True
    harness.finish()


def test_unref_before_connect_persists(harness: Harness) -> None:
    srv = _unrefd_server(harness)
    sock = harness.socket()
    sock.unref()
    sock.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert not sock.hasRef()
    assert net.run(timeout=WAIT) is True
    harness.finish()


def test_idle_timeouts_do_not_keep_run_alive(harness: Harness) -> None:
    srv = _unrefd_server(harness)
    timeouts: list[int] = []
    sockets = []
    for i in range(6):
        sock = harness.connect(port_of(srv), "127.0.0.1")
        sock.setTimeout(2000 + 1000 * i)
        sock.on("timeout", functools.partial(timeouts.append, i))
        sockets.append(sock)
    recorders = [Recorder(sock, ("connect",)) for sock in sockets]
    for rec in recorders:
        rec.wait("connect")
    assert net.run(timeout=100) is False
    for sock in sockets:
        sock.unref()
    started = time.monotonic()
    assert net.run(timeout=WAIT) is True
    assert time.monotonic() - started < 1.5  # the first timeout is 2 s away
    assert timeouts == []
    harness.finish()


def test_a_paused_idle_socket_still_keeps_run_alive(harness: Harness) -> None:
    # Node: a paused socket keeps reading into its buffer (its TCP handle
    # stays active), so the process does not exit; unref() lets it.
    srv = _unrefd_server(harness)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert net.run(timeout=100) is False
    sock.pause()
    assert net.run(timeout=100) is False
    sock.unref()
    assert net.run(timeout=WAIT) is True
    harness.finish()


def test_an_unrefd_socket_does_not_keep_run_alive(harness: Harness) -> None:
    srv = _unrefd_server(harness)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert net.run(timeout=100) is False
    assert sock.unref() is sock
    assert net.run(timeout=WAIT) is True
    sock.ref()
    assert net.run(timeout=100) is False
    harness.finish()


def test_O_a_connecting_socket_keeps_run_alive(harness: Harness) -> None:
    # A name lookup that never answers: the socket stays 'connecting'.
    stuck = Event()

    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        stuck.wait(WAIT / 1000)

    sock = harness.connect({"port": 80, "host": "example.test", "lookup": lookup})
    assert net.run(timeout=100) is False
    sock.destroy()
    stuck.set()
    assert net.run(timeout=WAIT) is True
    harness.finish()


# --- P: 'lookup' ------------------------------------------------------------------


def test_lookup_event_for_localhost(harness: Harness) -> None:
    srv = harness.listening_server(host=None)
    sock = harness.connect(port_of(srv), "localhost")
    rec = Recorder(sock)
    rec.wait("connect")
    lookups = rec.args("lookup")
    assert lookups
    for err, address, family, host in lookups:
        assert err is None
        assert (address, family) in (("127.0.0.1", 4), ("::1", 6))
        assert host == "localhost"
    assert rec.names.index("lookup") < rec.names.index("connect")
    harness.finish()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_no_lookup_event_for_an_ip_literal(harness: Harness, host: str) -> None:
    srv = harness.listening_server(host=host)
    sock = harness.connect(port_of(srv), host)
    rec = Recorder(sock)
    rec.wait("connect")
    gevent.sleep(0.01)
    assert "lookup" not in rec.names
    harness.finish()


def test_custom_lookup_single_address(harness: Harness) -> None:
    srv = harness.listening_server(host="127.0.0.1")
    calls: list[tuple[str, dict[str, Any]]] = []

    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        calls.append((host, dict(opts)))
        cb(None, "127.0.0.1", 4)

    sock = harness.connect({"port": port_of(srv), "host": "my.example", "family": 4,
                        "lookup": lookup})
    rec = Recorder(sock)
    rec.wait("connect")
    assert len(calls) == 1
    host, opts = calls[0]
    assert host == "my.example"
    assert opts["family"] == 4
    assert not opts.get("all")
    assert rec.args("lookup") == [(None, "127.0.0.1", 4, "my.example")]
    assert sock.remoteAddress == "127.0.0.1"
    harness.finish()


def test_custom_lookup_all_addresses(harness: Harness) -> None:
    srv = harness.listening_server(host="::1")
    calls: list[dict[str, Any]] = []

    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        calls.append(dict(opts))
        if opts.get("all"):
            cb(None, [{"address": "::1", "family": 6}])
        else:
            cb(None, "::1", 6)

    sock = harness.connect({"port": port_of(srv), "host": "my.example", "lookup": lookup})
    rec = Recorder(sock)
    rec.wait("connect")
    assert len(calls) == 1
    assert "family" in calls[0]
    assert rec.args("lookup") == [(None, "::1", 6, "my.example")]
    assert (sock.remoteAddress, sock.remoteFamily) == ("::1", "IPv6")
    harness.finish()


def test_family_6_reaches_the_custom_lookup(harness: Harness) -> None:
    srv = harness.listening_server(host="::1")
    families: list[Any] = []

    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        families.append(opts.get("family"))
        cb(None, "::1", 6)

    sock = harness.connect({"port": port_of(srv), "host": "my.example", "family": 6,
                        "lookup": lookup})
    once(sock, "connect", timeout=WAIT)
    assert families == [6]
    harness.finish()


# --- Q: autoSelectFamily ----------------------------------------------------------


def _both_families_lookup(
    addresses: list[tuple[str, int]]
) -> Callable[[str, dict[str, Any], Callable[..., Any]], None]:
    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        if opts.get("all"):
            cb(None, [{"address": a, "family": f} for a, f in addresses])
        else:
            cb(None, *addresses[0])

    return lookup


V6_THEN_V4 = [("::1", 6), ("127.0.0.1", 4)]


def test_falls_back_to_ipv4(harness: Harness) -> None:
    received: list[bytes] = []

    def on_connection(s: net.Socket) -> None:
        s.on("data", received.append)

    srv = harness.listening_server(on_connection, host="127.0.0.1")
    sock = harness.connect({"port": port_of(srv), "host": "dual.example",
                        "lookup": _both_families_lookup(V6_THEN_V4)})
    rec = Recorder(sock)
    rec.wait("ready")
    assert "error" not in rec.names
    assert (sock.remoteAddress, sock.remoteFamily) == ("127.0.0.1", "IPv4")
    sock.write(b"hi")
    wait_until(lambda: b"".join(received) == b"hi", what="the server's data")
    harness.finish()


def test_attempted_addresses(harness: Harness) -> None:
    srv = harness.listening_server(host="127.0.0.1")
    port = port_of(srv)
    sock = harness.connect({"port": port, "host": "dual.example",
                        "lookup": _both_families_lookup(V6_THEN_V4)})
    once(sock, "ready", timeout=WAIT)
    assert sock.autoSelectFamilyAttemptedAddresses == [  # type: ignore[attr-defined]
        f"::1:{port}", f"127.0.0.1:{port}"]
    harness.finish()


def _aggregate(err: BaseException) -> list[BaseException]:
    assert isinstance(err, AggregateError)
    errors: list[BaseException] = err.errors
    return errors


def test_attempts_interleave_families_and_all_fail_together(harness: Harness) -> None:
    port = closed_port()
    addresses = [("::1", 6), ("::ffff:127.0.0.2", 6), ("::ffff:127.0.0.3", 6),
                 ("127.0.0.1", 4), ("127.0.0.2", 4), ("127.0.0.3", 4)]
    sock = harness.connect({"port": port, "host": "many.example",
                        "lookup": _both_families_lookup(addresses)})
    rec = Recorder(sock)
    err = rec.wait("error", timeout_s=2 * WAIT_S)[0]
    rec.wait("close")
    errors = _aggregate(err)
    assert [e.address for e in errors] == [  # type: ignore[attr-defined]
        "::1", "127.0.0.1", "::ffff:127.0.0.2", "127.0.0.2", "::ffff:127.0.0.3", "127.0.0.3"]
    assert all(e.code == "ECONNREFUSED" for e in errors)  # type: ignore[attr-defined]
    assert err.code == "ECONNREFUSED"  # type: ignore[attr-defined]
    assert "connect" not in rec.names
    harness.finish()


def test_failing_everywhere_gives_one_aggregate_error(harness: Harness) -> None:
    port = closed_port()
    sock = harness.connect({"port": port, "host": "dual.example",
                        "lookup": _both_families_lookup(V6_THEN_V4)})
    rec = Recorder(sock)
    err = rec.wait("error")[0]
    rec.wait("close")
    errors = _aggregate(err)
    assert len(errors) == 2
    messages = [getattr(e, "message", str(e)) for e in errors]
    assert f"connect ECONNREFUSED 127.0.0.1:{port}" in messages
    assert f"connect ECONNREFUSED ::1:{port}" in messages
    # Node: one 'lookup' per address the lookup gave (20.20 printed two).
    assert rec.names == ["lookup", "lookup", "error", "close"]
    harness.finish()


def test_ipv6_reachable_means_ipv4_is_never_tried(harness: Harness) -> None:
    v6_data: list[bytes] = []
    v4_connections: list[net.Socket] = []
    v6 = harness.listening_server(lambda s: s.on("data", v6_data.append), host="::1")
    port = port_of(v6)
    v4 = net.createServer(v4_connections.append)
    harness.servers.append(v4)
    v4.listen(port, "127.0.0.1")
    outcome = AsyncResult()
    v4.once("listening", lambda: outcome.set(True))
    v4.once("error", lambda err: outcome.set(False))
    if not outcome.get(timeout=WAIT / 1000):
        pytest.skip("127.0.0.1 has no free port matching the one ::1 got")
    sock = harness.connect({"port": port, "host": "dual.example",
                        "lookup": _both_families_lookup(V6_THEN_V4)})
    once(sock, "connect", timeout=WAIT)
    assert sock.remoteAddress == "::1"
    sock.write(b"six")
    wait_until(lambda: b"".join(v6_data) == b"six", what="the IPv6 server's data")
    assert v4_connections == []
    harness.finish()


def test_auto_select_family_off_tries_the_first_address_only(harness: Harness) -> None:
    srv = harness.listening_server(host="127.0.0.1")
    port = port_of(srv)
    seen_all: list[Any] = []
    inner = _both_families_lookup(V6_THEN_V4)

    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        seen_all.append(opts.get("all"))
        inner(host, opts, cb)

    sock = harness.connect({"port": port, "host": "dual.example", "lookup": lookup,
                        "autoSelectFamily": False})
    rec = Recorder(sock)
    err = rec.wait("error")[0]
    assert not isinstance(err, AggregateError)
    assert isinstance(err, ConnectionRefusedError)
    assert err.message == f"connect ECONNREFUSED ::1:{port}"  # type: ignore[attr-defined]
    assert not any(seen_all)
    harness.finish()


def test_default_auto_select_family_switch(harness: Harness) -> None:
    assert net.getDefaultAutoSelectFamily() is True  # type: ignore[attr-defined]
    srv = harness.listening_server(host="127.0.0.1")
    lookup = _both_families_lookup(V6_THEN_V4)
    try:
        net.setDefaultAutoSelectFamily(False)  # type: ignore[attr-defined]
        off = harness.connect({"port": port_of(srv), "host": "dual.example", "lookup": lookup})
        with pytest.raises(ConnectionRefusedError):
            once(off, "close", timeout=WAIT)
        assert off.remoteAddress is None
    finally:
        net.setDefaultAutoSelectFamily(True)  # type: ignore[attr-defined]
    on = harness.connect({"port": port_of(srv), "host": "dual.example", "lookup": lookup})
    once(on, "connect", timeout=WAIT)
    harness.finish()


# --- interface and names ----------------------------------------------------------


def test_a_fresh_socket_provides_isocket() -> None:
    assert verifyObject(ISocket, net.Socket())


def test_a_connected_socket_provides_isocket(harness: Harness) -> None:
    srv = harness.listening_server()
    conn = accepted(srv)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    assert verifyObject(ISocket, sock)
    assert verifyObject(ISocket, conn.get(timeout=WAIT / 1000))
    harness.finish()


def _camel_names(cls: type) -> list[str]:
    return sorted(name for name in dir(cls)
                  if not name.startswith("_") and snake_case(name) != name)


def test_every_camel_case_name_has_its_snake_case_twin() -> None:
    names = _camel_names(net.Socket)
    assert {"setNoDelay", "resetAndDestroy", "bytesRead", "remoteAddress",
            "readyState", "destroySoon", "setKeepAlive", "setEncoding"} <= set(names)
    missing = [name for name in names if not hasattr(net.Socket, snake_case(name))]
    assert missing == []
    different = [name for name in names
                 if getattr(net.Socket, snake_case(name)) is not getattr(net.Socket, name)]
    assert different == []


def test_snake_case_twins_work_on_an_instance(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.end(b"abc"))
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.set_no_delay(True)
    sock.resume()
    once(sock, "close", timeout=WAIT)
    assert sock.bytes_read == sock.bytesRead == 3
    assert sock.remote_address == sock.remoteAddress == "127.0.0.1"
    assert sock.ready_state == sock.readyState == "closed"
    assert sock.allow_half_open is sock.allowHalfOpen is False
    assert net.create_connection is net.createConnection
    harness.finish()
