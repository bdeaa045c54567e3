"""Socket errors: how they are raised, emitted, reported and contained.

Refused connections, failed name lookups, writes to destroyed or closed
sockets and after the peer's FIN, one 'error' per socket; the system
errors' Node fields (ECONNREFUSED, ECONNRESET, ENOTFOUND);
the state errors delivered through callbacks and 'error'; exceptions from
listeners and 'error' with no listener (logged on logger ``gnet``, fatal to
one socket only); and the table of bad arguments that raise at once, emit
nothing and leave nothing open.

Listeners only record; the test bodies assert. ``harness.finish()`` tears down
and fails the test on any unexpected ERROR logged by gnet; tests that expect
such a log check it and take it out of the way first.
"""

from __future__ import annotations

import _socket
import errno
import functools
import logging
import math
import os
import socket as stdsocket
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from gevent.event import AsyncResult

import gnet as net
from gnet.errors import (
    InvalidArgTypeError,
    MissingArgsError,
    OutOfRangeError,
    SocketBadPortError,
    StreamNullValuesError,
    UnknownEncodingError,
)
from gnet.events import once
from helpers import (
    WAIT_MS as WAIT,
    Harness,
    Recorder,
    closed_port,
    gnet_errors,
    port_of,
    wait_until,
)

# --- helpers -------------------------------------------------------------------


def open_fds() -> set[str] | None:
    """This process's open descriptors, where the OS shows them.

    Leaves out epoll and eventfd descriptors: gevent makes them for a loop
    of its own (the hub's, on first use; a resolver thread's) whenever it
    first needs one.
    """
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    kept = set()
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed meanwhile (listdir's own descriptor)
        if not target.startswith("anon_inode:[event"):
            kept.add(name)
    return kept


# --- refused connections ------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_refused_connect_is_error_then_close(harness: Harness, host: str) -> None:
    port = closed_port(host)
    sock = harness.connect(port, host)
    rec = Recorder(sock)  # attached after the call: the error must still come
    rec.wait("close")
    assert rec.names == ["error", "close"]
    assert rec.args("close") == [(True,)]
    err = rec.args("error")[0][0]
    assert isinstance(err, ConnectionRefusedError)
    assert err.code == "ECONNREFUSED"
    assert err.errno == errno.ECONNREFUSED
    assert err.syscall == "connect"
    assert err.address == host
    assert err.port == port
    assert err.message == f"connect ECONNREFUSED {host}:{port}"
    assert err.strerror == err.message
    assert sock.destroyed
    assert "connect" not in rec.names
    harness.finish()


def test_refused_connect_through_the_connect_callback_form(harness: Harness) -> None:
    called: list[Any] = []
    port = closed_port()
    sock = harness.connect(port, "127.0.0.1", lambda: called.append(True))
    rec = Recorder(sock)
    rec.wait("close")
    assert called == []
    assert rec.names == ["error", "close"]
    harness.finish()


@pytest.mark.parametrize("method", ["destroy", "resetAndDestroy"])
def test_destroy_inside_the_error_handler_still_closes_once(harness: Harness, method: str) -> None:
    sock = harness.connect(closed_port(), "127.0.0.1")
    returned: list[Any] = []
    sock.on("error", lambda err: returned.append(getattr(sock, method)()))
    rec = Recorder(sock)
    rec.wait("close")
    gevent.sleep(0.02)
    assert returned == [sock]
    assert rec.names == ["error", "close"]
    harness.finish()


def test_refused_error_is_caught_by_once(harness: Harness) -> None:
    sock = harness.connect(closed_port(), "127.0.0.1")
    with pytest.raises(ConnectionRefusedError) as info:
        once(sock, "connect", timeout=WAIT)
    assert info.value.code == "ECONNREFUSED"  # type: ignore[attr-defined]
    harness.finish()


# --- name lookup failures -------------------------------------------------


# 'nonexistent.invalid': .invalid never resolves (RFC 6761); the system
# resolver answers NXDOMAIN for it at once.
BAD_NAME = "nonexistent.invalid"


def _check_dns_error(err: BaseException, host: str) -> None:
    assert isinstance(err, stdsocket.gaierror)
    assert err.code == "ENOTFOUND"  # type: ignore[attr-defined]
    assert err.errno in (stdsocket.EAI_NONAME, getattr(stdsocket, "EAI_NODATA", None))
    assert err.syscall == "getaddrinfo"  # type: ignore[attr-defined]
    assert err.hostname == host  # type: ignore[attr-defined]
    assert err.message == f"getaddrinfo ENOTFOUND {host}"  # type: ignore[attr-defined]
    assert not hasattr(err, "address")
    assert not hasattr(err, "port")
    assert not hasattr(err, "host")


def test_unknown_host_gives_enotfound(harness: Harness) -> None:
    sock = harness.connect(80, BAD_NAME)
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names == ["lookup", "error", "close"]
    err = rec.args("error")[0][0]
    _check_dns_error(err, BAD_NAME)
    # 'lookup' comes first, with the same error and no address.
    assert rec.args("lookup") == [(err, None, None, BAD_NAME)]
    assert rec.args("close") == [(True,)]
    harness.finish()


def test_end_while_looking_up_does_not_hide_the_error(harness: Harness) -> None:
    sock = harness.connect(80, BAD_NAME)
    sock.end()
    rec = Recorder(sock)
    rec.wait("close")
    assert "error" in rec.names
    _check_dns_error(rec.args("error")[0][0], BAD_NAME)
    harness.finish()


def test_custom_lookup_failure_gives_the_same_error(harness: Harness) -> None:
    def lookup(host: str, opts: dict[str, Any], cb: Callable[..., Any]) -> None:
        cb(stdsocket.gaierror(stdsocket.EAI_NONAME, "Name or service not known"))

    sock = harness.connect({"port": 80, "host": "custom.invalid", "lookup": lookup})
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names == ["lookup", "error", "close"]
    err = rec.args("error")[0][0]
    assert err.code == "ENOTFOUND"
    assert rec.args("lookup")[0][1:] == (None, None, "custom.invalid")
    harness.finish()


def test_overlong_hostname_fails_in_lookup(harness: Harness) -> None:
    host = "*" * 64
    sock = harness.connect(80, host)
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names == ["lookup", "error", "close"]
    lookup_err, address, family, name = rec.args("lookup")[0]
    assert (address, family, name) == (None, None, host)
    err = rec.args("error")[0][0]
    assert err.code in ("ENOTFOUND", "EAI_FAIL")
    assert lookup_err.code == err.code
    harness.finish()


# --- state errors through callbacks and 'error' --------------------------


def test_write_after_destroy_calls_back_with_stream_destroyed(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    rec = Recorder(sock)
    sock.destroy()
    results: list[Any] = []
    assert sock.write(b"kaboom", results.append) is False
    assert results == []  # not inside write()
    rec.wait("close")
    wait_until(lambda: results, what="the write callback")
    gevent.sleep(0.01)
    err = results[0]
    assert err.code == "ERR_STREAM_DESTROYED"
    assert str(err) == "Cannot call write after a stream was destroyed"
    assert rec.names == ["close"]
    harness.finish()


def test_write_after_destroy_on_a_never_connected_socket(harness: Harness) -> None:
    sock = harness.socket()
    rec = Recorder(sock)
    sock.destroy()
    results: list[Any] = []
    assert sock.write("x", results.append) is False
    rec.wait("close")
    wait_until(lambda: results, what="the write callback")
    assert results[0].code == "ERR_STREAM_DESTROYED"
    assert rec.names == ["close"]
    harness.finish()


def test_destroy_while_connecting_fails_queued_writes(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    results: list[Any] = []
    sock.write("foo", results.append)
    sock.destroy()
    rec = Recorder(sock)
    rec.wait("close")
    wait_until(lambda: results, what="the write callback")
    gevent.sleep(0.02)
    assert results[0].code == "ERR_SOCKET_CLOSED_BEFORE_CONNECTION"
    assert str(results[0]) == "Socket closed before the connection was established"
    assert rec.names == ["close"]
    harness.finish()


def test_write_after_end_goes_to_the_callback_and_error(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    order: list[Any] = []
    sock.on("error", lambda err: order.append(("error", err)))
    sock.on("close", lambda had: order.append(("close", had)))
    sock.end()
    # Not raised: Node reports it through the callback and 'error'.
    assert sock.write("x", lambda err: order.append(("cb", err))) is False
    assert order == []
    wait_until(lambda: order and order[-1][0] == "close", what="'close'")
    assert [name for name, _ in order] == ["cb", "error", "close"]
    err = order[0][1]
    assert err.code == "ERR_STREAM_WRITE_AFTER_END"
    assert str(err) == "write after end"
    assert order[1][1] is err
    assert order[2][1] is True
    harness.finish()


def test_write_when_the_os_socket_is_gone_gives_a_write_error(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    rec = Recorder(sock)
    _socket.socket.close(sock._t)  # the descriptor goes away under the Socket
    results: list[Any] = []
    assert sock.write("foo", results.append) is False
    rec.wait("close")
    assert rec.names == ["error", "close"]
    err = rec.args("error")[0][0]
    assert isinstance(err, OSError)
    assert err.code == "EBADF"
    assert err.syscall == "write"
    assert err.message == "write EBADF"
    wait_until(lambda: results, what="the write callback")
    assert results == [err]
    harness.finish()


def test_failed_write_calls_back_before_error_and_close(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    order: list[str] = []
    sock.on("error", lambda err: order.append("error"))
    sock.on("close", lambda had: order.append("close"))
    _socket.socket.close(sock._t)
    sock.write("foo", lambda err: order.append("cb"))
    wait_until(lambda: len(order) == 3, what="callback, 'error' and 'close'")
    assert order == ["cb", "error", "close"]
    harness.finish()


# --- writes after the peer's FIN ------------------------------------------


def test_write_after_both_fins_is_epipe_on_a_later_tick(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resume())  # ends its side after our FIN
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    rec = Recorder(sock)
    seen: dict[str, Any] = {}
    order: list[str] = []

    def on_end() -> None:
        seen["ret"] = sock.write("hello", lambda err: (order.append("cb"),
                                                       seen.setdefault("cb", err)))
        seen["error inside write"] = "error" in rec.names

    sock.on("end", on_end)
    sock.on("error", lambda err: order.append("error"))
    sock.end()
    rec.wait("close")
    assert seen["ret"] is False
    assert seen["error inside write"] is False
    err = seen["cb"]
    assert err.code == "EPIPE"
    assert err.message == "This socket has been ended by the other party"
    assert rec.args("error") == [(err,)]
    assert order == ["cb", "error"]
    assert rec.squeezed()[-3:] == ["end", "error", "close"]
    assert rec.args("close") == [(True,)]
    harness.finish()


def test_write_to_a_closed_server_socket_calls_back_without_error(harness: Harness) -> None:
    server_errors: list[BaseException] = []
    conn = AsyncResult()

    def on_connection(s: net.Socket) -> None:
        s.on("error", server_errors.append)
        s.resume()
        conn.set(s)

    srv = harness.listening_server(on_connection)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    results: list[Any] = []

    def on_end() -> None:
        server_sock = conn.get(block=False)
        server_sock.write("test", results.append)

    sock.on("end", on_end)
    sock.on("connect", sock.end)
    sock.resume()
    rec = Recorder(sock, ("close",))
    rec.wait("close")
    wait_until(lambda: results, what="the server-side write callback")
    gevent.sleep(0.02)
    assert isinstance(results[0], BaseException)
    assert server_errors == []
    harness.finish()


# --- resets ------------------------------------------------------------------------


def test_peer_reset_is_econnreset_on_read(harness: Harness) -> None:
    srv = harness.listening_server(lambda s: s.resetAndDestroy())
    sock = harness.connect(port_of(srv), "127.0.0.1")
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names == ["connect", "ready", "error", "close"]
    err = rec.args("error")[0][0]
    assert isinstance(err, ConnectionResetError)
    assert err.code == "ECONNRESET"
    assert err.errno == errno.ECONNRESET
    assert err.syscall == "read"
    assert err.message == "read ECONNRESET"
    assert not hasattr(err, "address")
    assert rec.args("close") == [(True,)]
    harness.finish()


# --- one error per socket --------------------------------------------------------


def test_an_error_is_emitted_once(harness: Harness) -> None:
    server_errors: list[BaseException] = []
    server_closes: list[bool] = []

    def on_connection(s: net.Socket) -> None:
        s.on("error", server_errors.append)
        s.on("close", server_closes.append)
        s.write(b"\0" * (10 * 1024 * 1024))

    srv = harness.listening_server(on_connection)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    sock.once("data", lambda chunk: sock.destroy())
    wait_until(lambda: server_closes, what="the server socket's 'close'")
    gevent.sleep(0.05)
    assert len(server_errors) == 1
    assert server_errors[0].code in ("ECONNRESET", "EPIPE")  # type: ignore[attr-defined]
    assert server_closes == [True]
    harness.finish()


# --- listener exceptions and unhandled 'error' ----------------------------------------


def _echo_server(harness: Harness) -> net.Server:
    return harness.listening_server(lambda s: s.pipe(s))


def _echoes(harness: Harness, port: int, sock: net.Socket | None = None) -> bool:
    """Whether a (new or given) client gets its bytes echoed back."""
    if sock is None:
        sock = harness.connect(port, "127.0.0.1")
    got: list[bytes] = []
    sock.on("data", got.append)
    sock.write(b"ping")
    wait_until(lambda: b"".join(got) == b"ping", what="the echo")
    sock.removeAllListeners("data")
    return True


def _take_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = gnet_errors(caplog)
    caplog.clear()
    return records


def test_an_exception_in_a_listener_is_logged_and_destroys_only_that_socket(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    srv = _echo_server(harness)
    port = port_of(srv)
    other = harness.connect(port, "127.0.0.1")
    once(other, "connect", timeout=WAIT)
    bad = harness.connect(port, "127.0.0.1")

    def broken(chunk: bytes) -> None:
        raise ValueError("a bug in a data listener")

    bad.on("data", broken)
    rec = Recorder(bad, ("error", "close"))
    bad.write(b"x")
    rec.wait("close")
    gevent.sleep(0.02)
    assert bad.destroyed
    assert rec.names.count("close") == 1
    assert rec.names[-1] == "close"
    records = _take_logged(caplog)
    assert len(records) == 1
    exc_info = records[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], ValueError)
    text = logging.Formatter().format(records[0])
    assert "Traceback" in text
    assert "in broken" in text
    assert "ValueError: a bug in a data listener" in text
    # The other connection and the server carry on.
    assert not other.destroyed
    assert _echoes(harness, port, other)
    assert _echoes(harness, port)
    harness.finish()


def test_an_error_with_no_listener_is_logged_and_contained(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    srv = _echo_server(harness)
    port = port_of(srv)
    other = harness.connect(port, "127.0.0.1")
    once(other, "connect", timeout=WAIT)
    refused_port = closed_port()
    doomed = harness.connect(refused_port, "127.0.0.1")  # no 'error' listener
    rec = Recorder(doomed, ("close",))
    rec.wait("close")
    gevent.sleep(0.02)
    assert rec.args("close") == [(True,)]
    records = _take_logged(caplog)
    assert len(records) == 1
    exc_info = records[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], ConnectionRefusedError)
    assert f"ECONNREFUSED 127.0.0.1:{refused_port}" in logging.Formatter().format(records[0])
    assert "Traceback" in logging.Formatter().format(records[0])
    assert _echoes(harness, port, other)
    assert _echoes(harness, port)
    harness.finish()


def test_an_exception_in_a_connection_listener_is_contained(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    count = [0]

    def on_connection(s: net.Socket) -> None:
        count[0] += 1
        if count[0] == 1:
            raise RuntimeError("a bug in a connection listener")
        s.pipe(s)

    srv = harness.listening_server(on_connection)
    port = port_of(srv)
    first = harness.connect(port, "127.0.0.1")
    first.resume()
    rec = Recorder(first, ("close",))
    rec.wait("close")
    records = _take_logged(caplog)
    assert len(records) == 1
    exc_info = records[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], RuntimeError)
    assert "RuntimeError: a bug in a connection listener" in logging.Formatter().format(
        records[0])
    assert srv.listening
    assert _echoes(harness, port)
    harness.finish()


def test_emit_error_by_user_code_with_no_listener_raises() -> None:
    sock = net.Socket()
    boom = ValueError("boom")
    with pytest.raises(ValueError) as info:
        sock.emit("error", boom)
    assert info.value is boom
    sock.destroy()
    assert net.run(timeout=1000)  # its 'close' comes a loop turn later


# --- bad arguments: raise at once, emit nothing, open nothing ----------------------


def _fn() -> None:
    pass


BAD_INPUT: list[Any] = [
    # write() chunks
    pytest.param(lambda s: s.write(None), StreamNullValuesError, "ERR_STREAM_NULL_VALUES",
                 TypeError, id="write(None)"),
    *[pytest.param(functools.partial(lambda v, s: s.write(v), value), InvalidArgTypeError,
                   "ERR_INVALID_ARG_TYPE", TypeError, id=f"write({value!r})")
      for value in (1, True, False, [], {}, 1.0, math.inf)],
    pytest.param(lambda s: s.end(1), InvalidArgTypeError, "ERR_INVALID_ARG_TYPE", TypeError,
                 id="end(1)"),
    # setTimeout() delays and callbacks
    *[pytest.param(functools.partial(lambda v, s: s.setTimeout(v), value), InvalidArgTypeError,
                   "ERR_INVALID_ARG_TYPE", TypeError,
                   id=f"setTimeout({'_fn' if value is _fn else repr(value)})")
      for value in ("100", True, False, None, "", {}, _fn, [])],
    *[pytest.param(functools.partial(lambda v, s: s.setTimeout(v), value), OutOfRangeError,
                   "ERR_OUT_OF_RANGE", ValueError, id=f"setTimeout({value!r})")
      for value in (-1, -0.5, math.nan, math.inf, -math.inf)],
    *[pytest.param(functools.partial(lambda d, cb, s: s.setTimeout(d, cb), delay, cb),
                   InvalidArgTypeError, "ERR_INVALID_ARG_TYPE", TypeError,
                   id=f"setTimeout({delay}, {cb!r})")
      for delay in (0, 1) for cb in (1, "100", True, {}, [])],
    # connect() with nothing to connect to
    pytest.param(lambda s: s.connect(), MissingArgsError, "ERR_MISSING_ARGS", TypeError,
                 id="Socket.connect()"),
    pytest.param(lambda s: s.connect({}), MissingArgsError, "ERR_MISSING_ARGS", TypeError,
                 id="Socket.connect({})"),
    pytest.param(lambda s: net.connect(), MissingArgsError, "ERR_MISSING_ARGS", TypeError,
                 id="net.connect()"),
    pytest.param(lambda s: net.createConnection({}), MissingArgsError, "ERR_MISSING_ARGS",
                 TypeError, id="net.createConnection({})"),
    # bad ports
    *[pytest.param(functools.partial(lambda a, s: s.connect(*a), args), InvalidArgTypeError,
                   "ERR_INVALID_ARG_TYPE", TypeError, id=f"connect{args!r}")
      for args in ((True,), (False,), ({"port": True},), ({"port": []},), ({"port": {}},))],
    *[pytest.param(functools.partial(lambda a, s: s.connect(*a), args), SocketBadPortError,
                   "ERR_SOCKET_BAD_PORT", ValueError, id=f"connect{args!r}")
      for args in ((-1,), (65536,), (math.nan,), (math.inf,), (1.5,), ({"port": ""},),
                   ({"port": "0x"},), ({"port": "-0x1"},), ({"port": " "},))],
    *[pytest.param(functools.partial(lambda a, s: net.createConnection(*a), args),
                   SocketBadPortError, "ERR_SOCKET_BAD_PORT", ValueError,
                   id=f"createConnection{args!r}")
      for args in ((-1, "127.0.0.1"), ({"port": 65536, "host": "localhost"},))],
    # createServer() options
    pytest.param(lambda s: net.createServer("x"), InvalidArgTypeError, "ERR_INVALID_ARG_TYPE",
                 TypeError, id="createServer('x')"),
    pytest.param(lambda s: net.createServer(0), InvalidArgTypeError, "ERR_INVALID_ARG_TYPE",
                 TypeError, id="createServer(0)"),
    # setEncoding() names
    *[pytest.param(functools.partial(lambda e, s: s.setEncoding(e), enc), UnknownEncodingError,
                   "ERR_UNKNOWN_ENCODING", TypeError, id=f"setEncoding({enc!r})")
      for enc in ("foo", "utf-9", "latin-1", "utf32", 1)],
]


@pytest.mark.parametrize("call,exc_type,code,base", BAD_INPUT)
def test_bad_input_raises_at_once_and_changes_nothing(
    harness: Harness, call: Callable[[net.Socket], Any], exc_type: type[BaseException], code: str,
    base: type[BaseException],
) -> None:
    fds = open_fds()
    refs = net.refCount()
    sock = harness.socket()
    rec = Recorder(sock)
    with pytest.raises(exc_type) as info:
        call(sock)
    assert info.value.code == code  # type: ignore[attr-defined]
    assert isinstance(info.value, base)
    gevent.sleep(0.02)
    assert rec.log == []
    assert (sock.destroyed, sock.connecting, sock.timeout) == (False, False, None)
    assert sock.bytesWritten == 0
    assert net.refCount() == refs
    assert open_fds() == fds
    harness.finish()


@pytest.mark.parametrize("delay", [0, 0.001, 1, 1e6])
def test_good_timeouts_are_accepted(harness: Harness, delay: float) -> None:
    sock = harness.socket()
    assert sock.setTimeout(delay) is sock
    assert sock.setTimeout(delay, _fn) is sock
    harness.finish()


@pytest.mark.parametrize("value", [True, 1, [], {}, 1.0, None], ids=repr)
def test_bad_chunk_on_a_connected_socket_emits_no_error(harness: Harness, value: Any) -> None:
    srv = _echo_server(harness)
    sock = harness.connect(port_of(srv), "127.0.0.1")
    once(sock, "connect", timeout=WAIT)
    rec = Recorder(sock)
    with pytest.raises(TypeError):
        sock.write(value)
    assert _echoes(harness, port_of(srv), sock)
    assert "error" not in rec.names
    harness.finish()
