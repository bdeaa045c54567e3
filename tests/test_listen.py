"""Tests for gnet.Server construction and listen(): overloads, addresses, errors, liveness.

Argument validation, every listen() overload, the listening flag and
address(), listen errors, listening twice, ipv6Only, close() before
'listening', Unix domain sockets, getConnections()/maxConnections/'drop',
and ref()/unref(). listen() with an AbortSignal is in tests/test_abort.py.
Also here: gevent's side of the server (``server_host``,
``start()``, ``serve_forever()``), Unix socket files (stale files,
``removeStale``, modes), ``reusePort``, the zope interface and the snake_case
twins of the Server API.
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from zope.interface.verify import verifyObject

import gnet as net
import gnet.loop
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    ServerAlreadyListenError,
    SocketBadPortError,
)
from gnet.events import once
from gnet.interfaces import IServer
from gnet.naming import snake_case
from helpers import Harness, has_ipv6_loopback, settle, wait_until

# The bound on this file's waits other than wait_until() (which has WAIT_S), in seconds.
WAIT = 3.0

HAS_IPV6 = has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason='no IPv6 on this machine')
linux_only = pytest.mark.skipif(not sys.platform.startswith('linux'), reason='Linux only')


def record(emitter: Any, *names: str) -> list[tuple[Any, ...]]:
    """Note every emission of ``names`` on ``emitter`` as ``(name, *args)``."""
    log: list[tuple[Any, ...]] = []
    for name in names:
        emitter.on(name, lambda *args, name=name: log.append((name, *args)))
    return log


def names(log: list[tuple[Any, ...]]) -> list[Any]:
    return [entry[0] for entry in log]


def listen_error(server: net.Server, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call listen() expecting an 'error'; return it and what else happened."""
    seen: list[str] = []
    server.on('listening', lambda: seen.append('listening'))
    errors: list[BaseException] = []
    server.on('error', errors.append)
    server.listen(*args, lambda: seen.append('callback'), **kwargs)
    wait_until(lambda: errors)
    settle()
    assert len(errors) == 1
    return errors[0], seen


def stale_socket_file(path: str) -> None:
    """Leave a Unix socket file at ``path`` from a process that exits without removing it."""
    code = 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])'
    subprocess.run([sys.executable, '-c', code, path], check=True, timeout=30)
    assert stat.S_ISSOCK(os.stat(path).st_mode)


def raw_answers(path: str) -> bool:
    """Whether something accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


# --- argument validation -------------------------------------------


@pytest.mark.parametrize('factory', [net.createServer, net.Server])
@pytest.mark.parametrize('bad', ['path', 0, 1.5])
def test_server_options_must_be_a_dict(factory: Any, bad: Any) -> None:
    with pytest.raises(TypeError) as info:
        factory(bad)
    assert info.value.code == 'ERR_INVALID_ARG_TYPE'  # type: ignore[attr-defined]
    assert isinstance(info.value, InvalidArgTypeError)


BAD_PORTS = [-1, math.nan, 123.456, 65536, math.inf, -math.inf, 2**32 - 1]


@pytest.mark.parametrize('port', BAD_PORTS, ids=repr)
@pytest.mark.parametrize('form', ['positional', 'with_host', 'options', 'keywords'])
def test_bad_port_raises_at_once(harness: Harness, form: str, port: Any) -> None:
    server = harness.server()
    log = record(server, 'listening', 'error', 'close')
    calls = {
        'positional': lambda: server.listen(port),
        'with_host': lambda: server.listen(port, '127.0.0.1'),
        'options': lambda: server.listen({'port': port}),
        'keywords': lambda: server.listen(port=port, host='127.0.0.1'),
    }
    with pytest.raises(ValueError) as info:
        calls[form]()
    assert isinstance(info.value, SocketBadPortError)
    assert info.value.code == 'ERR_SOCKET_BAD_PORT'
    assert 'port' in str(info.value)
    assert not server.listening
    assert server.address() is None
    settle()
    assert log == []


@pytest.mark.parametrize(
    'call',
    [
        pytest.param(lambda s: s.listen('0'), id="listen('0')"),
        pytest.param(lambda s: s.listen(0), id='listen(0)'),
        pytest.param(lambda s: s.listen(None), id='listen(None)'),
        pytest.param(lambda s: s.listen(' 0 '), id="listen(' 0 ')"),
        pytest.param(lambda s: s.listen('0', '127.0.0.1'), id="listen('0', host)"),
        pytest.param(lambda s: s.listen(None, '127.0.0.1'), id='listen(None, host)'),
        pytest.param(lambda s: s.listen({'port': '0'}), id="{'port': '0'}"),
        pytest.param(lambda s: s.listen({'port': 0}), id="{'port': 0}"),
        pytest.param(
            lambda s: s.listen({'port': None}),
            id="{'port': None}",
        ),
        pytest.param(
            lambda s: s.listen({'port': None, 'host': '127.0.0.1'}),
            id="{'port': None, 'host'}",
        ),
    ],
)
def test_ephemeral_port_spellings(harness: Harness, call: Any) -> None:
    server = harness.server()
    assert call(server) is server
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address()['port'] > 0


@pytest.mark.parametrize(
    'options',
    [{}, {'host': 'localhost'}, {'host': 'localhost:3000'}, {'exclusive': True}, {'fd': -1}],
    ids=repr,
)
def test_options_need_port_or_path(harness: Harness, options: dict[str, Any]) -> None:
    server = harness.server()
    with pytest.raises(ValueError) as info:
        server.listen(options)
    assert isinstance(info.value, InvalidArgValueError)
    assert info.value.code == 'ERR_INVALID_ARG_VALUE'
    assert 'must have the property "port" or "path"' in str(info.value)
    assert not server.listening


@pytest.mark.parametrize(
    'options',
    [
        {'port': False},
        {'port': True},
        {'path': -1},
        pytest.param(
            True,
        ),
    ],
    ids=repr,
)
def test_invalid_options(harness: Harness, options: Any) -> None:
    server = harness.server()
    with pytest.raises(ValueError) as info:
        server.listen(options)
    assert info.value.code == 'ERR_INVALID_ARG_VALUE'  # type: ignore[attr-defined]
    assert 'is invalid' in str(info.value)
    assert not server.listening


def test_port_wins_over_path(harness: Harness, tmp_sock_path: str) -> None:
    server = harness.server()
    with pytest.raises(SocketBadPortError):
        server.listen({'port': -1, 'path': tmp_sock_path})
    server.listen({'port': 0, 'host': '127.0.0.1', 'path': tmp_sock_path})
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address()['family'] == 'IPv4'
    assert not os.path.exists(tmp_sock_path)


def test_unknown_keyword_option_raises(harness: Harness) -> None:
    server = harness.server()
    with pytest.raises(ValueError) as info:
        server.listen(port=0, bogus=1)
    assert info.value.code == 'ERR_INVALID_ARG_VALUE'  # type: ignore[attr-defined]
    assert 'bogus' in str(info.value)


# --- every overload reaches 'listening' ------------------------------------------


def _overloads(path: str) -> list[tuple[str, Callable[[net.Server, Callable[[], None]], Any]]]:
    # Each entry listens and arranges for ``done`` to be called once, either
    # as the listen callback or as a 'listening' listener added afterwards.
    def later(server: net.Server, done: Callable[[], None], *args: Any, **kw: Any) -> Any:
        result = server.listen(*args, **kw)
        server.once('listening', done)
        return result

    return [
        ('listen()', lambda s, done: later(s, done)),
        ('listen(cb)', lambda s, done: s.listen(done)),
        ('listen(port)', lambda s, done: later(s, done, 0)),
        ('listen(port, cb)', lambda s, done: s.listen(0, done)),
        ('listen(port, host)', lambda s, done: later(s, done, 0, '127.0.0.1')),
        ('listen(port, host, cb)', lambda s, done: s.listen(0, '127.0.0.1', done)),
        ('listen(port, host, backlog)', lambda s, done: later(s, done, 0, '127.0.0.1', 5)),
        ('listen(port, host, backlog, cb)', lambda s, done: s.listen(0, '127.0.0.1', 5, done)),
        ('listen(port, localhost, cb)', lambda s, done: s.listen(0, 'localhost', done)),
        ('listen({port})', lambda s, done: later(s, done, {'port': 0})),
        ('listen({port, host}, cb)', lambda s, done: s.listen({'port': 0, 'host': '127.0.0.1'},
                                                                done)),
        ('listen({port, host, backlog}, cb)',
         lambda s, done: s.listen({'port': 0, 'host': '127.0.0.1', 'backlog': 3}, done)),
        ('listen(port=, host=)', lambda s, done: later(s, done, port=0, host='127.0.0.1')),
        ('listen(port=)', lambda s, done: later(s, done, port=0)),
        ('listen(path)', lambda s, done: later(s, done, path)),
        ('listen(path, cb)', lambda s, done: s.listen(path, done)),
        ('listen(path, backlog, cb)', lambda s, done: s.listen(path, 5, done)),
        ('listen({path})', lambda s, done: later(s, done, {'path': path})),
        ('listen({path}, cb)', lambda s, done: s.listen({'path': path}, done)),
        ('listen(path=)', lambda s, done: later(s, done, path=path)),
    ]


OVERLOAD_IDS = [name for name, _ in _overloads('/x')]


@pytest.mark.parametrize('index', range(len(OVERLOAD_IDS)), ids=OVERLOAD_IDS)
def test_every_overload_reaches_listening(
    harness: Harness, tmp_sock_path: str, index: int
) -> None:
    name, call = _overloads(tmp_sock_path)[index]
    server = harness.server(lambda sock: sock.end(b'hi'))
    done: list[bool] = []
    assert call(server, lambda: done.append(True)) is server
    wait_until(lambda: done)
    settle()
    assert done == [True]
    assert server.listening
    address = server.address()
    # Prove it really serves: connect where address() says.
    if isinstance(address, str):
        assert 'path' in name
        assert address == tmp_sock_path
        client = harness.connect(address)
    else:
        assert address['port'] > 0
        host = '::1' if address['family'] == 'IPv6' else '127.0.0.1'
        client = harness.connect(address['port'], host)
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert b''.join(chunks) == b'hi'


@needs_ipv6
def test_listen_ipv6_options(harness: Harness) -> None:
    server = harness.server()
    assert server.listen({'port': 0, 'host': '::1'}) is server
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address()['address'] == '::1'
    assert server.address()['family'] == 'IPv6'


def test_listen_returns_server_and_listening_is_deferred(harness: Harness) -> None:
    server = harness.server()
    seen: list[str] = []
    server.on('listening', lambda: seen.append('before'))
    assert server.listen(0, '127.0.0.1', lambda: seen.append('callback')) is server
    # Nothing was emitted inside the call...
    assert seen == []
    # ...so a listener added right after listen() returns still hears it.
    server.on('listening', lambda: seen.append('after'))
    wait_until(lambda: len(seen) == 3)
    settle()
    assert seen == ['before', 'callback', 'after']


@pytest.mark.parametrize('where', ['no host', 'ip', 'localhost', 'unix'])
def test_listening_never_missed(harness: Harness, tmp_sock_path: str, where: str) -> None:
    server = harness.server()
    args = {'no host': (0,), 'ip': (0, '127.0.0.1'), 'localhost': (0, 'localhost'),
            'unix': (tmp_sock_path,)}[where]
    server.listen(*args)
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.listening


def test_listening_comes_before_connection(harness: Harness) -> None:
    server = harness.server()
    log = record(server, 'listening', 'connection')
    server.listen(0, '127.0.0.1')
    harness.connect(server.address()['port'], '127.0.0.1')
    wait_until(lambda: len(log) == 2)
    assert names(log) == ['listening', 'connection']


# --- listening flag and address() -----------------------------------------


def test_listening_flag(harness: Harness) -> None:
    server = harness.server()
    seen: list[tuple[str, bool]] = []
    assert server.listening is False

    def on_listening() -> None:
        seen.append(('listen callback', server.listening))
        server.close(lambda *args: seen.append(('close callback', server.listening)))

    server.listen(0, '127.0.0.1', on_listening)
    wait_until(lambda: len(seen) == 2)
    assert seen == [('listen callback', True), ('close callback', False)]
    assert server.listening is False


def test_address_right_after_listen_without_host(harness: Harness) -> None:
    server = harness.server()
    server.listen(0)
    address = server.address()
    assert address is not None
    assert address['port'] > 0
    # Usable at once: a client can connect before 'listening' was emitted.
    client = harness.connect(address['port'], '127.0.0.1')
    once(client, 'connect', timeout=WAIT * 1000)


@pytest.mark.parametrize('host', ['127.0.0.1', pytest.param('::1', marks=needs_ipv6)])
def test_address_right_after_listen_with_ip(harness: Harness, host: str) -> None:
    server = harness.server()
    server.listen(0, host)
    address = server.address()
    assert address['address'] == host
    assert address['port'] > 0


def test_address_with_hostname_waits_for_lookup(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, 'localhost')
    assert server.address() is None
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address()['port'] > 0
    assert server.address()['address'] in ('127.0.0.1', '::1')


def test_address_shapes(harness: Harness, tmp_sock_path: str) -> None:
    v4 = harness.server()
    assert v4.address() is None
    v4.listen(0, '127.0.0.1')
    address = v4.address()
    assert address == {'address': '127.0.0.1', 'family': 'IPv4', 'port': address['port']}
    assert isinstance(address['port'], int)
    assert 0 < address['port'] < 65536

    unix = harness.server()
    unix.listen(tmp_sock_path)
    assert unix.address() == tmp_sock_path

    v4.close()
    unix.close()
    assert v4.address() is None
    assert unix.address() is None
    once(unix, 'close', timeout=WAIT * 1000)
    assert v4.address() is None
    assert unix.address() is None


@needs_ipv6
def test_address_ipv6_and_no_host(harness: Harness) -> None:
    v6 = harness.server()
    v6.listen(0, '::1')
    assert v6.address() == {'address': '::1', 'family': 'IPv6', 'port': v6.address()['port']}
    anyhost = harness.server()
    anyhost.listen(0)
    assert anyhost.address()['address'] == '::'
    assert anyhost.address()['family'] == 'IPv6'


@needs_ipv6
def test_no_host_is_dual_stack(harness: Harness) -> None:
    server = harness.server(lambda sock: sock.end(b'hello'))
    server.listen()
    port = server.address()['port']
    for host in ('127.0.0.1', '::1'):
        client = harness.connect(port, host)
        chunks: list[bytes] = []
        client.on('data', chunks.append)
        once(client, 'end', timeout=WAIT * 1000)
        assert chunks == [b'hello'], host


# --- listen errors --------------------------------------------------------


def test_eaddrinuse(harness: Harness) -> None:
    first = harness.server()
    first.listen(0, '127.0.0.1')
    port = first.address()['port']
    second = harness.server()
    err, seen = listen_error(second, port, '127.0.0.1')
    assert err.code == 'EADDRINUSE'
    assert err.errno == errno.EADDRINUSE
    assert err.syscall == 'listen'
    assert err.address == '127.0.0.1'
    assert err.port == port
    assert 'EADDRINUSE' in err.message
    assert err.message == (
        f'listen EADDRINUSE: address already in use 127.0.0.1:{port}'
    )
    assert seen == []
    assert not second.listening
    assert second.address() is None


def test_error_is_not_raised_from_listen(harness: Harness) -> None:
    first = harness.server()
    first.listen(0, '127.0.0.1')
    second = harness.server()
    errors: list[BaseException] = []
    second.on('error', errors.append)
    second.listen(first.address()['port'], '127.0.0.1')  # does not raise
    assert errors == []
    wait_until(lambda: errors)


def test_error_without_listener_does_not_raise_or_kill(harness: Harness) -> None:
    first = harness.server()
    first.listen(0, '127.0.0.1')
    second = harness.server()
    second.listen(first.address()['port'], '127.0.0.1')
    settle()
    assert not second.listening
    # The same object is still usable.
    second.listen(0, '127.0.0.1')
    once(second, 'listening', timeout=WAIT * 1000)
    # The unhandled 'error' waits for the next gnet.run(), which it would end
    # as it ends a script; the harness's teardown runs the loop, so forget it.
    gnet.loop._keeper.fatal = None


def test_relisten_after_error(harness: Harness) -> None:
    first = harness.server()
    first.listen(0, '127.0.0.1')
    server = harness.server(lambda sock: sock.end(b'ok'))
    errors: list[BaseException] = []
    server.on('error', errors.append)
    server.listen(first.address()['port'], '127.0.0.1')
    wait_until(lambda: errors)
    done: list[bool] = []
    assert server.listen(0, '127.0.0.1', lambda: done.append(True)) is server
    wait_until(lambda: done)
    assert server.listening
    assert server.address()['port'] != first.address()['port']
    client = harness.connect(server.address()['port'], '127.0.0.1')
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'ok']
    assert len(errors) == 1


def test_listen_on_foreign_address(harness: Harness) -> None:
    server = harness.server()
    err, seen = listen_error(server, 1, '1.1.1.1')
    assert err.code in ('EADDRNOTAVAIL', 'EACCES')
    assert err.syscall == 'listen'
    assert err.address == '1.1.1.1'
    assert err.port == 1
    assert seen == []
    assert not server.listening


EACCES_CHILD = textwrap.dedent(
    """
    import json, os, gevent
    import gnet as net

    def listen_once(port):
        out = {'seen': []}
        server = net.createServer()
        server.on('error', lambda e: out.update(
            type=type(e).__name__, code=e.code, syscall=e.syscall, address=e.address,
            port=e.port, message=e.message))
        server.on('listening', lambda: out['seen'].append('listening'))
        server.listen(port, '127.0.0.1', lambda: out['seen'].append('callback'))
        gevent.sleep(0.2)
        out['listening'] = server.listening
        server.close()
        gevent.sleep(0.01)
        return out

    # Import whatever the error path needs before dropping privileges: the
    # interpreter's files may not be readable by the unprivileged user.
    busy = net.createServer().listen(0, '127.0.0.1')
    listen_once(busy.address()['port'])
    busy.close()
    gevent.sleep(0.01)
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    print(json.dumps(listen_once(1)))
    """
)


def _unprivileged_port_start() -> int:
    try:
        with open('/proc/sys/net/ipv4/ip_unprivileged_port_start') as f:
            return int(f.read())
    except OSError:
        return 1024


@linux_only
@pytest.mark.skipif(_unprivileged_port_start() <= 1, reason='port 1 is not privileged here')
def test_eacces_is_an_error_event() -> None:
    proc = subprocess.run(
        [sys.executable, '-c', EACCES_CHILD], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['code'] == 'EACCES'
    assert out['type'] == 'PermissionError'
    assert out['syscall'] == 'listen'
    assert out['address'] == '127.0.0.1'
    assert out['port'] == 1
    assert out['message'].startswith('listen EACCES')
    assert out['seen'] == []
    assert out['listening'] is False


# --- listen twice ---------------------------------------------------------------


def test_listen_while_listening_raises_at_once(harness: Harness, tmp_sock_path: str) -> None:
    server = harness.server()
    log = record(server, 'error')
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    for again in (lambda: server.listen(0), lambda: server.listen(tmp_sock_path),
                  lambda: server.listen({'port': 0})):
        with pytest.raises(ServerAlreadyListenError) as info:
            again()
        assert info.value.code == 'ERR_SERVER_ALREADY_LISTEN'
        assert str(info.value) == 'Listen method has been called more than once without closing.'
    once(server, 'listening', timeout=WAIT * 1000)
    with pytest.raises(ServerAlreadyListenError):
        server.listen(0)
    settle()
    assert log == []
    assert server.address()['port'] == port
    assert not os.path.exists(tmp_sock_path)


def test_close_then_listen_inside_listening_callback(harness: Harness) -> None:
    server = harness.server(lambda sock: sock.end(b'second'))
    ports: list[int] = []

    def first() -> None:
        ports.append(server.address()['port'])
        server.close()
        server.listen(0, '127.0.0.1', second)

    def second() -> None:
        ports.append(server.address()['port'])

    server.listen(0, '127.0.0.1', first)
    wait_until(lambda: len(ports) == 2)
    assert server.listening
    client = harness.connect(ports[1], '127.0.0.1')
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'second']


def test_listen_callback_is_a_once_listener(harness: Harness) -> None:
    server = harness.server()
    seen: list[Any] = []

    def first() -> None:
        seen.append('first')
        server.close()
        server.listen(0, second)

    def second() -> None:
        seen.append('second')
        server.on('close', lambda: seen.append(('close', len(server.listeners('listening')))))
        server.close()

    server.listen(0, first)
    wait_until(lambda: len(seen) == 3)
    settle()
    assert seen == ['first', 'second', ('close', 0)]


# --- ipv6Only --------------------------------------------------------------------------


@needs_ipv6
@pytest.mark.parametrize('spelling', ['ipv6Only', 'ipv6_only'])
def test_ipv6only_refuses_ipv4(harness: Harness, spelling: str) -> None:
    server = harness.server()
    server.listen(**{'host': '::', 'port': 0, spelling: True})
    once(server, 'listening', timeout=WAIT * 1000)
    port = server.address()['port']
    # The kernel refuses: nothing listens on IPv4.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', port), timeout=WAIT).close()
    # A gnet client never sees 'connect' and closes with an error.
    client = harness.connect(port, '127.0.0.1')
    log = record(client, 'connect', 'close')
    client.on('error', lambda err: None)
    wait_until(lambda: 'close' in names(log))
    assert log == [('close', True)]
    # IPv6 still works.
    ok = harness.connect(port, '::1')
    once(ok, 'connect', timeout=WAIT * 1000)


@needs_ipv6
def test_without_ipv6only_accepts_ipv4(harness: Harness) -> None:
    server = harness.server()
    server.listen({'host': '::', 'port': 0, 'ipv6Only': False})
    client = harness.connect(server.address()['port'], '127.0.0.1')
    once(client, 'connect', timeout=WAIT * 1000)


# --- close before 'listening' --------------------------------------------------


def test_close_right_after_listen(harness: Harness) -> None:
    server = harness.server()
    seen: list[str] = []
    server.on('error', lambda err: seen.append('error'))
    server.on('listening', lambda: seen.append('listening'))
    server.on('close', lambda: seen.append('close'))
    server.listen(0, lambda: seen.append('callback'))
    server.close()
    wait_until(lambda: 'close' in seen)
    settle()
    assert seen == ['close']


def test_close_before_lookup_completes(harness: Harness) -> None:
    server = harness.server()
    log = record(server, 'listening', 'error', 'close')
    before = net.refCount()
    server.listen(0, 'localhost')
    assert net.refCount() == before + 1
    server.close()
    assert net.refCount() == before
    wait_until(lambda: log)
    gevent.sleep(0.2)
    assert log == [('close',)]
    assert server.address() is None
    assert not server.listening


# --- Unix domain sockets -----------------------------------------------


@pytest.mark.parametrize(
    ('options', 'other_bits'),
    [
        ({}, 0),
        ({'readableAll': True}, stat.S_IROTH | stat.S_IRGRP),
        ({'writableAll': True}, stat.S_IWOTH | stat.S_IWGRP),
        ({'readableAll': True, 'writableAll': True},
         stat.S_IROTH | stat.S_IRGRP | stat.S_IWOTH | stat.S_IWGRP),
        ({'readable_all': True, 'writable_all': True},
         stat.S_IROTH | stat.S_IRGRP | stat.S_IWOTH | stat.S_IWGRP),
    ],
    ids=['none', 'readableAll', 'writableAll', 'both', 'snake'],
)
def test_readable_writable_all_mode_bits(
    harness: Harness, tmp_sock_path: str, options: dict[str, bool], other_bits: int
) -> None:
    # With umask 077 the file starts owner-only, so every group/other bit
    # seen afterwards was set by readableAll / writableAll.
    old = os.umask(0o077)
    try:
        server = harness.server()
        server.listen({'path': tmp_sock_path, **options})
    finally:
        os.umask(old)
    mode = os.stat(tmp_sock_path).st_mode
    assert stat.S_ISSOCK(mode)
    group_other = stat.S_IRWXG | stat.S_IRWXO
    assert mode & group_other == other_bits
    once(server, 'listening', timeout=WAIT * 1000)


def test_unix_path_in_use(harness: Harness, tmp_sock_path: str) -> None:
    live = harness.server()
    live.listen(tmp_sock_path)
    once(live, 'listening', timeout=WAIT * 1000)
    second = harness.server()
    err, seen = listen_error(second, tmp_sock_path)
    assert err.code == 'EADDRINUSE'
    assert err.syscall == 'listen'
    assert err.address == tmp_sock_path
    assert not hasattr(err, 'port')
    assert err.message.startswith(
        f'listen EADDRINUSE: address already in use {tmp_sock_path}'
    )
    # The live server's message says that something answers there.
    assert 'answers' in err.message
    assert 'nothing answers' not in err.message
    assert seen == []
    # The failed server must not have removed the live server's file.
    assert os.path.exists(tmp_sock_path)
    assert raw_answers(tmp_sock_path)


def test_close_unlinks_the_socket_file(harness: Harness, tmp_sock_path: str) -> None:
    server = harness.server()
    server.listen(tmp_sock_path)
    once(server, 'listening', timeout=WAIT * 1000)
    assert stat.S_ISSOCK(os.stat(tmp_sock_path).st_mode)
    server.close()
    assert not os.path.exists(tmp_sock_path)
    once(server, 'close', timeout=WAIT * 1000)
    # And the path can be listened on again at once.
    again = harness.server()
    again.listen(tmp_sock_path)
    once(again, 'listening', timeout=WAIT * 1000)


def test_stale_file_is_not_removed(harness: Harness, tmp_sock_path: str) -> None:
    stale_socket_file(tmp_sock_path)
    server = harness.server()
    err, seen = listen_error(server, tmp_sock_path)
    assert err.code == 'EADDRINUSE'
    assert err.message.startswith(
        f'listen EADDRINUSE: address already in use {tmp_sock_path}'
    )
    assert 'nothing answers' in err.message
    assert seen == []
    assert stat.S_ISSOCK(os.stat(tmp_sock_path).st_mode)


@pytest.mark.parametrize('spelling', ['removeStale', 'remove_stale'])
def test_remove_stale_removes_a_stale_file(
    harness: Harness, tmp_sock_path: str, spelling: str
) -> None:
    stale_socket_file(tmp_sock_path)
    server = harness.server(lambda sock: sock.end(b'fresh'))
    server.listen({'path': tmp_sock_path, spelling: True})
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address() == tmp_sock_path
    client = harness.connect(tmp_sock_path)
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'fresh']


def test_remove_stale_keyword_form(harness: Harness, tmp_sock_path: str) -> None:
    stale_socket_file(tmp_sock_path)
    server = harness.server()
    server.listen(path=tmp_sock_path, remove_stale=True)
    once(server, 'listening', timeout=WAIT * 1000)


def test_remove_stale_never_removes_a_live_socket(harness: Harness, tmp_sock_path: str) -> None:
    live = harness.server(lambda sock: sock.end(b'live'))
    live.listen(tmp_sock_path)
    once(live, 'listening', timeout=WAIT * 1000)
    inode = os.stat(tmp_sock_path).st_ino
    intruder = harness.server()
    err, seen = listen_error(intruder, {'path': tmp_sock_path, 'removeStale': True})
    assert err.code == 'EADDRINUSE'
    assert 'nothing answers' not in err.message
    assert seen == []
    assert os.stat(tmp_sock_path).st_ino == inode
    client = harness.connect(tmp_sock_path)
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'live']


def test_remove_stale_leaves_regular_files_alone(harness: Harness, tmp_sock_path: str) -> None:
    with open(tmp_sock_path, 'w') as f:
        f.write('not a socket')
    server = harness.server()
    log = record(server, 'listening', 'error')
    server.listen({'path': tmp_sock_path, 'removeStale': True})
    wait_until(lambda: log)
    settle()
    assert names(log) == ['error']
    assert log[0][1].code == 'EADDRINUSE'
    with open(tmp_sock_path) as f:
        assert f.read() == 'not a socket'


@linux_only
def test_abstract_socket_leaves_no_file(harness: Harness) -> None:
    name = f'\0gnet-test-{os.getpid()}-{id(harness)}'
    server = harness.server(lambda sock: sock.end(b'abstract'))
    server.listen(name)
    once(server, 'listening', timeout=WAIT * 1000)
    assert server.address() == name
    client = harness.connect(name)
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'abstract']
    server.close()
    once(server, 'close', timeout=WAIT * 1000)
    # The name is free again at once.
    again = harness.server()
    again.listen(name)
    once(again, 'listening', timeout=WAIT * 1000)


def test_path_too_long(harness: Harness, tmp_sock_path: str) -> None:
    path = os.path.join(os.path.dirname(tmp_sock_path), 'x' * 120)
    server = harness.server()
    err, seen = listen_error(server, path)
    # Node 24 (libuv with UV_PIPE_NO_TRUNCATE) says EINVAL; POSIX says ENAMETOOLONG.
    assert err.code in ('EINVAL', 'ENAMETOOLONG')
    assert isinstance(err.errno, int)
    assert err.syscall == 'listen'
    assert seen == []
    assert not os.path.exists(path)


# --- reusePort ----------------------------------------------------------------------------


@linux_only
@pytest.mark.skipif(not hasattr(socket, 'SO_REUSEPORT'), reason='no SO_REUSEPORT')
def test_reuse_port_shares_a_port(harness: Harness) -> None:
    hits: list[str] = []

    def answer(name: str, reply: bytes) -> Callable[[net.Socket], None]:
        def on_connection(sock: net.Socket) -> None:
            hits.append(name)
            sock.end(reply)

        return on_connection

    first = harness.server(answer('first', b'1'))
    first.listen({'port': 0, 'host': '127.0.0.1', 'reusePort': True})
    port = first.address()['port']
    second = harness.server(answer('second', b'2'))
    second.listen(port=port, host='127.0.0.1', reuse_port=True)
    once(second, 'listening', timeout=WAIT * 1000)
    assert second.address()['port'] == port
    # Both accept: closing one leaves the port served by the other.
    first.close()
    client = harness.connect(port, '127.0.0.1')
    chunks: list[bytes] = []
    client.on('data', chunks.append)
    once(client, 'end', timeout=WAIT * 1000)
    assert chunks == [b'2']
    assert hits == ['second']


def test_without_reuse_port_the_port_is_taken(harness: Harness) -> None:
    first = harness.server()
    first.listen({'port': 0, 'host': '127.0.0.1', 'reusePort': True})
    second = harness.server()
    err, _ = listen_error(second, {'port': first.address()['port'], 'host': '127.0.0.1'})
    assert err.code == 'EADDRINUSE'


# --- getConnections, maxConnections, 'drop' ---------------------------------------


def test_getConnections_inside_connection(harness: Harness) -> None:
    counts: list[tuple[Any, Any]] = []
    returned: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        returned.append(server.getConnections(lambda err, n: counts.append((err, n))))
        # The callback runs later, never inside the call.
        returned.append(list(counts))

    server = harness.server(on_connection)
    server.listen(0, '127.0.0.1')
    harness.connect(server.address()['port'], '127.0.0.1')
    wait_until(lambda: counts)
    assert returned == [server, []]
    assert counts == [(None, 1)]


def test_getConnections_on_never_listening_server(harness: Harness) -> None:
    server = harness.server()
    counts: list[tuple[Any, Any]] = []
    assert server.getConnections(lambda err, n: counts.append((err, n))) is server
    assert counts == []
    wait_until(lambda: counts)
    assert counts == [(None, 0)]
    assert server.getConnections() == 0


def _connect_and_wait(harness: Harness, server: net.Server, port: int, seen: list[Any],
                      host: str = '127.0.0.1') -> tuple[net.Socket, list[Any]]:
    """Connect one client and wait until the server accepted or dropped it."""
    before = len(seen)
    client = harness.connect(port, host)
    log: list[Any] = []
    client.on('data', lambda chunk: log.append(chunk))
    client.on('end', lambda: log.append('end'))
    client.on('error', lambda err: log.append(('error', getattr(err, 'code', None))))
    client.on('close', lambda had_error: log.append('close'))
    wait_until(lambda: len(seen) > before)
    return client, log


def test_max_connections_ten_of_twenty(harness: Harness) -> None:
    accepted: list[net.Socket] = []
    seen: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        accepted.append(sock)
        seen.append('connection')
        sock.write(b'hello')

    server = harness.server(on_connection)
    server.on('drop', lambda info: seen.append('drop'))
    server.maxConnections = 10
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    clients = [_connect_and_wait(harness, server, port, seen) for _ in range(20)]
    assert seen == ['connection'] * 10 + ['drop'] * 10
    assert len(accepted) == 10
    for _, log in clients[:10]:
        wait_until(lambda log=log: log)
        assert log == [b'hello']
    for _, log in clients[10:]:
        wait_until(lambda log=log: 'close' in log)
        assert b'hello' not in log
        assert log[-1] == 'close'
        assert [e for e in log if isinstance(e, tuple)] in ([], [('error', 'ECONNRESET')])
    for client, _ in clients[:10]:
        client.destroy()
    for _, log in clients[:10]:
        wait_until(lambda log=log: 'close' in log)
    assert all(log.count('close') == 1 for _, log in clients)


def test_max_connections_frees_up_when_one_closes(harness: Harness) -> None:
    received: list[bytes] = []
    accepted: list[net.Socket] = []
    seen: list[Any] = []

    def on_connection(sock: net.Socket) -> None:
        accepted.append(sock)
        seen.append('connection')
        sock.on('data', received.append)

    server = harness.server(on_connection)
    server.on('drop', lambda info: seen.append('drop'))
    server.maxConnections = 1
    server.listen(0, '127.0.0.1')
    port = server.address()['port']

    c0, _ = _connect_and_wait(harness, server, port, seen)
    c0.write(b'0')
    c1, log1 = _connect_and_wait(harness, server, port, seen)
    c1.write(b'1')
    wait_until(lambda: 'close' in log1)
    assert [e for e in log1 if isinstance(e, tuple)] in ([], [('error', 'ECONNRESET')])
    wait_until(lambda: received == [b'0'])
    # Client 0 ends; once the server's side has closed, there is room again.
    c0.end()
    once(accepted[0], 'close', timeout=WAIT * 1000)
    c2, _ = _connect_and_wait(harness, server, port, seen)
    c2.write(b'2')
    c3, log3 = _connect_and_wait(harness, server, port, seen)
    c3.write(b'3')
    wait_until(lambda: 'close' in log3)
    wait_until(lambda: len(received) == 2)
    settle()
    assert received == [b'0', b'2']
    assert seen == ['connection', 'drop', 'connection', 'drop']


def test_drop_info(harness: Harness) -> None:
    infos: list[Any] = []
    connections: list[net.Socket] = []
    server = harness.server(connections.append)
    server.on('drop', infos.append)
    server.maxConnections = 0
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    closed: list[bool] = []
    for n in range(1, 4):
        client = harness.connect(port, '127.0.0.1')
        client.on('error', lambda err: None)
        client.on('close', closed.append)
        client.resume()
        wait_until(lambda n=n: len(infos) == n)
    wait_until(lambda: len(closed) == 3)
    assert connections == []
    for info in infos:
        assert info['localAddress'] == '127.0.0.1'
        assert info['localPort'] == port
        assert info['localFamily'] == 'IPv4'
        assert info['remoteAddress'] == '127.0.0.1'
        assert info['remoteFamily'] == 'IPv4'
        assert info['remotePort'] > 0
    assert len({info['remotePort'] for info in infos}) == 3


def test_max_connections_zero_refuses_all(harness: Harness) -> None:
    connections: list[net.Socket] = []
    server = harness.server(connections.append)
    drops: list[Any] = []
    server.on('drop', drops.append)
    server.maxConnections = 0
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    for _ in range(3):
        client = harness.connect(port, '127.0.0.1')
        client.on('error', lambda err: None)
        client.resume()
        once(client, 'close', timeout=WAIT * 1000)
    wait_until(lambda: len(drops) == 3)
    assert connections == []
    assert server.getConnections() == 0
    # None means no limit again.
    server.maxConnections = None
    client = harness.connect(port, '127.0.0.1')
    once(client, 'connect', timeout=WAIT * 1000)
    wait_until(lambda: connections)


def test_drop_info_is_none_for_unix(harness: Harness, tmp_sock_path: str) -> None:
    infos: list[Any] = []
    server = harness.server()
    server.on('drop', infos.append)
    server.maxConnections = 0
    server.listen(tmp_sock_path)
    client = harness.connect(tmp_sock_path)
    client.on('error', lambda err: None)
    wait_until(lambda: infos)
    assert infos == [None]


# --- ref / unref -----------------------------------------------------------------------


def test_unref_lets_run_return(harness: Harness) -> None:
    assert net.refCount() == 0, 'a handle leaked from an earlier test'
    server = harness.server()
    server.listen(0, '127.0.0.1')
    assert net.refCount() == 1
    assert server.unref() is server
    assert net.refCount() == 0
    started = time.monotonic()
    assert net.run(timeout=1000) is True
    assert time.monotonic() - started < 0.5
    # Still listening, just not keeping the loop alive.
    assert server.listening
    client = harness.connect(server.address()['port'], '127.0.0.1')
    once(client, 'connect', timeout=WAIT * 1000)
    client.destroy()
    settle()


def test_unref_before_listen_persists(harness: Harness) -> None:
    assert net.refCount() == 0, 'a handle leaked from an earlier test'
    server = harness.server()
    server.unref()
    server.unref()  # idempotent
    server.listen(0, '127.0.0.1')
    assert net.refCount() == 0
    assert server.hasRef() is False
    started = time.monotonic()
    assert net.run(timeout=1000) is True
    assert time.monotonic() - started < 0.5


def test_ref_again_keeps_run_blocking(harness: Harness) -> None:
    assert net.refCount() == 0, 'a handle leaked from an earlier test'
    server = harness.server()
    server.listen(0, '127.0.0.1').unref()
    assert server.ref() is server
    server.ref()  # idempotent
    assert server.hasRef() is True
    assert net.refCount() == 1
    assert net.run(timeout=100) is False
    server.close()
    assert net.run(timeout=1000) is True
    assert net.refCount() == 0


def test_unref_ref_balance_before_listen(harness: Harness) -> None:
    assert net.refCount() == 0, 'a handle leaked from an earlier test'
    server = harness.server()
    server.unref().ref()
    server.listen(0, '127.0.0.1')
    assert net.refCount() == 1
    server.close()
    assert net.refCount() == 0


# --- gevent's side ----------------------------------------------------------------------------


def test_server_host_and_port_follow_the_bound_address(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, '127.0.0.1')
    assert server.server_host == '127.0.0.1'
    assert server.server_port == server.address()['port']


def test_server_host_and_port_are_none_before_listening(harness: Harness) -> None:
    server = harness.server()
    assert server.server_host is None
    assert server.server_port is None


def test_start_listens_on_the_constructor_address(harness: Harness) -> None:
    connections: list[net.Socket] = []
    server = harness.add(net.Server(('127.0.0.1', 0), connections.append))
    assert server.address() is None
    seen = record(server, 'listening')
    assert server.start() is None
    assert server.listening
    assert server.address()['address'] == '127.0.0.1'
    assert server.server_host == '127.0.0.1'
    assert server.server_port == server.address()['port'] > 0
    wait_until(lambda: seen)
    client = harness.connect(server.server_port, '127.0.0.1')
    once(client, 'connect', timeout=WAIT * 1000)
    wait_until(lambda: connections)
    # start() on a started server changes nothing.
    port = server.server_port
    server.start()
    assert server.server_port == port


def test_serve_forever_in_a_greenlet_stopped_by_stop(harness: Harness) -> None:
    server = harness.add(net.Server(('127.0.0.1', 0), lambda sock: sock.resume().end(b'served')))
    closes: list[bool] = []
    server.on('close', lambda: closes.append(True))
    runner = gevent.spawn(server.serve_forever)
    try:
        wait_until(lambda: server.listening)
        client = harness.connect(server.server_port, '127.0.0.1')
        chunks: list[bytes] = []
        client.on('data', chunks.append)
        client.on('end', lambda: client.end())
        once(client, 'close', timeout=WAIT * 1000)
        assert chunks == [b'served']
        assert not runner.dead
        server.stop()
        runner.join(timeout=WAIT)
        assert runner.dead
        assert runner.successful()
        assert not server.listening
        assert server.address() is None
        wait_until(lambda: closes)
    finally:
        runner.kill()


def test_serve_forever_then_stop_emits_close_once(harness: Harness) -> None:
    server = harness.add(net.Server(('127.0.0.1', 0)))
    closes: list[bool] = []
    server.on('close', lambda: closes.append(True))
    runner = gevent.spawn(server.serve_forever)
    try:
        wait_until(lambda: server.listening)
        server.stop()
        runner.join(timeout=WAIT)
        assert runner.dead
        wait_until(lambda: closes)
        settle()
        assert closes == [True]
    finally:
        runner.kill()


# --- the interface and the snake_case twins ---------------------------------------------------


def test_verify_iserver(harness: Harness) -> None:
    server = harness.server()
    assert verifyObject(IServer, server)
    server.listen(0, '127.0.0.1')
    assert verifyObject(IServer, server)


def _camel_names(server: net.Server) -> set[str]:
    found = set()
    for klass in type(server).__mro__:
        if klass.__module__.split('.')[0] != 'gnet':
            continue
        for name in vars(klass):
            if not name.startswith('_') and snake_case(name) != name:
                found.add(name)
    found.update(n for n in IServer.names(all=True) if snake_case(n) != n)
    return found


def test_camel_methods_and_properties_have_snake_twins(harness: Harness) -> None:
    server = harness.server()
    camel = _camel_names(server)
    assert {'getConnections', 'closeAllConnections', 'hasRef', 'removeAllListeners'} <= camel
    for name in sorted(camel):
        if name in vars(server):
            continue  # instance data: see the next test
        snake = snake_case(name)
        assert hasattr(server, snake), f'{name} has no twin {snake}'
        assert getattr(server, snake) == getattr(server, name), name
    assert server.get_connections() == 0
    assert server.close_all_connections() is None
    assert server.has_ref() is True


def test_camel_data_attributes_have_snake_twins(harness: Harness) -> None:
    server = harness.server(allow_half_open=True, pause_on_connect=True)
    assert server.allow_half_open is True
    assert server.pause_on_connect is True
    for name in ('maxConnections', 'allowHalfOpen', 'pauseOnConnect', 'noDelay', 'keepAlive',
                 'keepAliveInitialDelay', 'highWaterMark'):
        assert getattr(server, snake_case(name)) == getattr(server, name), name
    server.max_connections = 3
    assert server.maxConnections == 3
    server.maxConnections = 5
    assert server.max_connections == 5

