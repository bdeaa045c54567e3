"""Tests for how a gnet.Server stops: close(), closeAllConnections(), stop(), getConnections().

close() on a listening server and on one that is not, resetting accepted
sockets right after close(), and getConnections(). Also: gevent's ``stop(timeout)`` (seconds),
``gnet.run()`` returning once the server and its last connection are gone,
and the accept-error policy when the process runs out of descriptors.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.subprocess
import pytest

import gnet as net
from gnet.errors import ServerNotRunningError
from gnet.events import once
from helpers import Harness, settle, wait_until

# The bound on this file's waits other than wait_until() (which has WAIT_S), in seconds.
WAIT = 3.0


def serve(harness: Harness, n: int, on_connection: Callable[[net.Socket], Any] | None = None,
          ) -> tuple[net.Server, list[net.Socket], list[net.Socket]]:
    """A listening server with ``n`` connected clients; returns server, accepted, clients.

    Accepted sockets are resumed (so they see the peer's FIN) unless
    ``on_connection`` handles them.
    """
    accepted: list[net.Socket] = []

    def handler(sock: net.Socket) -> None:
        accepted.append(sock)
        if on_connection is not None:
            on_connection(sock)
        else:
            sock.resume()

    server = harness.server(handler)
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    clients = [harness.connect(port, '127.0.0.1') for _ in range(n)]
    wait_until(lambda: len(accepted) == n)
    return server, accepted, clients


def client_log(client: net.Socket) -> list[Any]:
    """Note a client's 'data', 'end', 'error' (by code) and 'close' events."""
    log: list[Any] = []
    client.on('data', log.append)
    client.on('end', lambda: log.append('end'))
    client.on('error', lambda err: log.append(('error', getattr(err, 'code', None))))
    client.on('close', lambda had_error: log.append(('close', had_error)))
    return log


# --- close() on a listening server ---------------------------------------------------


def test_close_returns_server_and_waits_for_connections(harness: Harness) -> None:
    server, accepted, _ = serve(harness, 2)
    order: list[str] = []
    for i, sock in enumerate(accepted):
        sock.on('close', lambda had_error, i=i: order.append(f'conn{i}'))
    server.on('close', lambda: order.append('server'))
    assert server.close() is server
    assert not server.listening
    assert server.address() is None
    settle()
    assert order == []  # connections are still open
    accepted[0].destroy()
    wait_until(lambda: order)
    settle()
    assert order == ['conn0']
    accepted[1].destroy()
    wait_until(lambda: 'server' in order)
    assert order == ['conn0', 'conn1', 'server']


def test_open_connections_keep_working_after_close(harness: Harness) -> None:
    server, _, clients = serve(harness, 1, lambda sock: sock.pipe(sock))
    server.close()
    log = client_log(clients[0])
    clients[0].write(b'still here')
    wait_until(lambda: log)
    assert log == [b'still here']
    closed: list[bool] = []
    server.on('close', lambda: closed.append(True))
    clients[0].end()
    wait_until(lambda: closed)
    assert ('close', False) in log


def test_close_callback_runs_on_close_without_error(harness: Harness) -> None:
    server, accepted, _ = serve(harness, 1)
    calls: list[tuple[Any, ...]] = []
    server.close(lambda *args: calls.append(args))
    settle()
    assert calls == []
    accepted[0].destroy()
    wait_until(lambda: calls)
    assert calls == [()]


def test_connecting_after_close_is_refused_raw(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    server.close()
    once(server, 'close', timeout=WAIT * 1000)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', port), timeout=WAIT).close()


def test_connecting_after_close_fails_with_econnrefused(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, '127.0.0.1')
    port = server.address()['port']
    server.close()
    once(server, 'close', timeout=WAIT * 1000)
    client = harness.connect(port, '127.0.0.1')
    connects: list[bool] = []
    client.on('connect', lambda: connects.append(True))
    log = client_log(client)
    wait_until(lambda: ('close', True) in log)
    assert connects == []
    assert log == [('error', 'ECONNREFUSED'), ('close', True)]


# --- close() on a server that is not listening, close() arguments ------------------------


def test_close_on_never_listening_server(harness: Harness) -> None:
    server = harness.server()
    order: list[Any] = []
    server.on('close', lambda: order.append('close event'))
    assert server.close(lambda *args: order.append(args)) is server
    assert order == []  # later, never inside the call
    wait_until(lambda: len(order) == 2)
    settle()
    assert order[0] == 'close event'
    (err,) = order[1]
    assert isinstance(err, ServerNotRunningError)
    assert err.code == 'ERR_SERVER_NOT_RUNNING'
    assert str(err) == 'Server is not running.'


def test_close_on_closed_server_reports_not_running(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, '127.0.0.1')
    first: list[tuple[Any, ...]] = []
    server.close(lambda *args: first.append(args))
    wait_until(lambda: first)
    assert first == [()]
    second: list[tuple[Any, ...]] = []
    server.close(lambda *args: second.append(args))
    wait_until(lambda: second)
    assert len(second[0]) == 1
    assert second[0][0].code == 'ERR_SERVER_NOT_RUNNING'


@pytest.mark.parametrize('listening', [False, True], ids=['never-listened', 'listening'])
@pytest.mark.parametrize('argument', ['bad argument', 42, {}])
def test_close_with_non_callable_argument(harness: Harness, listening: bool, argument: Any) -> None:
    server = harness.server()
    if listening:
        server.listen(0, '127.0.0.1')
    closes: list[bool] = []
    server.on('close', lambda: closes.append(True))
    assert server.close(argument) is server
    wait_until(lambda: closes)
    assert not server.listening


# --- closeAllConnections -----------------------------------------------------------------------


def test_close_all_connections_then_close(harness: Harness) -> None:
    server, accepted, clients = serve(harness, 3)
    logs = [client_log(c) for c in clients]
    order: list[str] = []
    for sock in accepted:
        sock.on('close', lambda had_error: order.append('conn'))
    server.on('close', lambda: order.append('server'))
    server.close()
    settle()
    assert order == []
    assert server.closeAllConnections() is None
    wait_until(lambda: 'server' in order)
    assert order == ['conn', 'conn', 'conn', 'server']
    assert all(sock.destroyed for sock in accepted)
    for log in logs:
        wait_until(lambda log=log: any(isinstance(e, tuple) and e[0] == 'close' for e in log))
        assert log in (
            ['end', ('close', False)],
            [('error', 'ECONNRESET'), ('close', True)],
        ), log
    assert server.getConnections() == 0


def test_close_all_connections_keeps_listening(harness: Harness) -> None:
    server, accepted, clients = serve(harness, 2)
    logs = [client_log(c) for c in clients]
    server.closeAllConnections()
    for log in logs:
        wait_until(lambda log=log: any(isinstance(e, tuple) and e[0] == 'close' for e in log))
    assert server.listening
    late = harness.connect(server.address()['port'], '127.0.0.1')
    once(late, 'connect', timeout=WAIT * 1000)
    wait_until(lambda: len(accepted) == 3)
    assert server.getConnections() == 1


def test_close_all_connections_without_connections(harness: Harness) -> None:
    server = harness.server()
    assert server.closeAllConnections() is None
    server.listen(0, '127.0.0.1')
    assert server.closeAllConnections() is None
    assert server.listening


# --- stop(timeout): gevent's seconds -------------------------------------------------------------


def test_stop_waits_for_connections_then_destroys_the_rest(harness: Harness) -> None:
    server, accepted, clients = serve(harness, 2)
    polite, stubborn = accepted
    events: dict[str, list[Any]] = {'polite': [], 'stubborn': []}
    started = time.monotonic()

    def note(which: str, what: str) -> Callable[..., None]:
        return lambda *args: events[which].append((what, time.monotonic() - started))

    for name, sock in (('polite', polite), ('stubborn', stubborn)):
        sock.on('end', note(name, 'end'))
        sock.on('close', note(name, 'close'))
    server_closed: list[float] = []
    server.on('close', lambda: server_closed.append(time.monotonic() - started))
    stubborn_client = client_log(clients[1])
    # The first client hangs up by itself after 0.1 s; the second never does.
    gevent.spawn_later(0.1, clients[0].end)
    server.stop(0.5)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.5
    wait_until(lambda: server_closed)
    # The polite connection ended by itself, long before the timeout...
    assert [what for what, _ in events['polite']] == ['end', 'close']
    assert events['polite'][-1][1] < 0.4
    # ...the stubborn one was destroyed once the timeout ran out.
    assert [what for what, _ in events['stubborn']] == ['close']
    assert events['stubborn'][0][1] >= 0.45
    assert stubborn.destroyed
    assert server_closed[0] >= events['stubborn'][0][1]
    wait_until(lambda: stubborn_client)
    settle()
    assert stubborn_client in (
        ['end', ('close', False)],
        [('error', 'ECONNRESET'), ('close', True)],
    ), stubborn_client


def test_stop_returns_early_when_connections_end_by_themselves(harness: Harness) -> None:
    server, accepted, clients = serve(harness, 2)
    ends: list[bool] = []
    for sock in accepted:
        sock.on('end', lambda: ends.append(True))
    closes: list[bool] = []
    server.on('close', lambda: closes.append(True))
    for client in clients:
        gevent.spawn_later(0.05, client.end)
    started = time.monotonic()
    server.stop(5)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert ends == [True, True]
    wait_until(lambda: closes)


def test_stop_without_connections_returns_at_once(harness: Harness) -> None:
    server = harness.server()
    server.listen(0, '127.0.0.1')
    closes: list[bool] = []
    server.on('close', lambda: closes.append(True))
    started = time.monotonic()
    assert server.stop(5) is None
    assert time.monotonic() - started < 0.2
    assert not server.listening
    wait_until(lambda: closes)


# --- getConnections ------------------------------------------------------------------------------


def test_getConnections_callback_is_later_and_returns_server(harness: Harness) -> None:
    server, accepted, _ = serve(harness, 3)
    counts: list[tuple[Any, Any]] = []
    assert server.getConnections(lambda err, n: counts.append((err, n))) is server
    assert counts == []
    wait_until(lambda: counts)
    assert counts == [(None, 3)]
    accepted[0].destroy()
    closed: list[bool] = []
    accepted[0].on('close', lambda had_error: closed.append(True))
    wait_until(lambda: closed)
    server.get_connections(lambda err, n: counts.append((err, n)))
    wait_until(lambda: len(counts) == 2)
    assert counts[1] == (None, 2)


def test_getConnections_without_callback_returns_count(harness: Harness) -> None:
    server, accepted, clients = serve(harness, 2)
    assert server.getConnections() == 2
    closed: list[bool] = []
    accepted[1].on('close', lambda had_error: closed.append(True))
    clients[1].end()
    wait_until(lambda: closed)
    assert server.getConnections() == 1
    server.close()
    assert server.getConnections() == 1  # close() leaves open connections alone


def test_getConnections_on_never_listening_server(harness: Harness) -> None:
    server = harness.server()
    assert server.getConnections() == 0
    counts: list[tuple[Any, Any]] = []
    assert server.getConnections(lambda err, n: counts.append((err, n))) is server
    wait_until(lambda: counts)
    assert counts == [(None, 0)]


def test_getConnections_rejects_non_callable(harness: Harness) -> None:
    server = harness.server()
    with pytest.raises(TypeError) as info:
        server.getConnections(42)
    assert info.value.code == 'ERR_INVALID_ARG_TYPE'  # type: ignore[attr-defined]


# --- reset right after close() ------------------------------------------------------------


def _reset_after_close(harness: Harness) -> tuple[net.Server, list[net.Socket], list[str]]:
    order: list[str] = []
    accepted: list[net.Socket] = []

    def on_connection(sock: net.Socket) -> None:
        accepted.append(sock)
        sock.on('close', lambda had_error: order.append('conn close'))
        if len(accepted) == 2:
            server.close()
            for each in accepted:
                each.resetAndDestroy()

    server = harness.server(on_connection)
    server.on('close', lambda: order.append('server close'))
    server.listen(0, '127.0.0.1')
    return server, accepted, order


def test_reset_accepted_sockets_after_close(harness: Harness) -> None:
    server, _, order = _reset_after_close(harness)
    port = server.address()['port']
    logs = []
    for _ in range(2):
        client = harness.connect(port, '127.0.0.1')
        client.resume()
        logs.append(client_log(client))
    wait_until(lambda: 'server close' in order)
    assert order == ['conn close', 'conn close', 'server close']
    for log in logs:
        wait_until(lambda log=log: ('close', True) in log)
        assert log == [('error', 'ECONNRESET'), ('close', True)]


def test_reset_after_close_seen_by_raw_clients(harness: Harness) -> None:
    server, _, order = _reset_after_close(harness)
    port = server.address()['port']
    raw = [socket.create_connection(('127.0.0.1', port), timeout=WAIT) for _ in range(2)]
    try:
        wait_until(lambda: 'server close' in order)
        assert order == ['conn close', 'conn close', 'server close']
        for sock in raw:
            with pytest.raises(ConnectionResetError):
                sock.recv(10)
    finally:
        for sock in raw:
            sock.close()


# --- gnet.run() -------------------------------------------------------------------------------


def test_run_returns_once_server_closed_and_last_connection_gone(harness: Harness) -> None:
    assert net.refCount() == 0, 'a handle leaked from an earlier test'
    server, accepted, clients = serve(harness, 1)
    assert net.run(timeout=50) is False  # listening
    server.close()
    assert net.run(timeout=50) is False  # a connection is still open
    closed: list[bool] = []
    server.on('close', lambda: closed.append(True))
    gevent.spawn_later(0.05, clients[0].end)
    started = time.monotonic()
    assert net.run(timeout=WAIT * 1000) is True
    assert time.monotonic() - started < 1.0
    assert net.refCount() == 0
    assert accepted[0].destroyed
    wait_until(lambda: closed)


RUN_SCRIPT = textwrap.dedent(
    """
    import json
    import gnet as net

    log = []

    def on_connection(sock):
        log.append('connection')
        server.close(lambda: log.append('server close'))
        sock.on('data', lambda chunk: sock.end(chunk.upper()))
        sock.on('close', lambda had_error: log.append('conn close'))

    def on_listening():
        client = net.createConnection(server.address()['port'], '127.0.0.1')
        client.on('connect', lambda: client.write(b'ping'))
        client.on('data', lambda chunk: log.append(chunk.decode()))
        client.on('close', lambda had_error: log.append('client close'))

    server = net.createServer(on_connection)
    server.listen(0, '127.0.0.1', on_listening)
    finished = net.run(timeout=5000)
    print(json.dumps({'finished': finished, 'log': log, 'refCount': net.refCount(),
                      'listening': server.listening}))
    """
)


def _run_script() -> dict[str, Any]:
    proc = gevent.subprocess.run(
        [sys.executable, '-c', RUN_SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def test_run_in_a_script_returns_when_everything_is_done() -> None:
    out = _run_script()
    assert out['finished'] is True
    assert out['refCount'] == 0
    assert out['listening'] is False
    assert out['log'][:2] == ['connection', 'PING']
    assert 'client close' in out['log']


def test_run_in_a_script_delivers_every_event_first() -> None:
    log = _run_script()['log']
    assert sorted(log) == sorted(['connection', 'PING', 'conn close', 'client close',
                                  'server close'])
    assert log.index('server close') > log.index('conn close')


# --- accept errors: out of descriptors ----------------------------------------------------------

FLOOD_SERVER = textwrap.dedent(
    """
    import os, resource
    import gnet as net

    def on_connection(sock):
        sock.write(b'hello')
        sock.resume()

    server = net.createServer(on_connection)
    server.on('error', lambda err: print('error', err.code, flush=True))

    def ready():
        # Room for three accepted connections, no more.
        nfds = len(os.listdir('/proc/self/fd'))
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfds + 3, hard))
        print('port', server.address()['port'], flush=True)

    server.listen(0, '127.0.0.1', ready)
    net.run()
    """
)


def _cpu_seconds(pid: int) -> float:
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # utime and stime: fields 14 and 15 of stat(5), counted after the ')'.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='needs /proc and RLIMIT_NOFILE')
def test_out_of_descriptors_neither_kills_nor_spins_the_server() -> None:
    proc = gevent.subprocess.Popen(
        [sys.executable, '-c', FLOOD_SERVER],
        stdout=gevent.subprocess.PIPE,
        stderr=gevent.subprocess.PIPE,
        text=True,
    )
    clients: list[socket.socket] = []
    lines: list[str] = []

    def read_line() -> str:
        with gevent.Timeout(10, AssertionError('the server printed nothing')):
            line = proc.stdout.readline()
        assert line, proc.stderr.read()
        lines.append(line.strip())
        return line.strip()

    try:
        first = read_line()
        assert first.startswith('port '), first
        port = int(first.split()[1])
        for _ in range(12):
            clients.append(socket.create_connection(('127.0.0.1', port), timeout=WAIT))
        # The server reports that it ran out of descriptors...
        while read_line() != 'error EMFILE':
            pass
        # ...and while the flood waits in the backlog it does not spin.
        before = _cpu_seconds(proc.pid)
        gevent.sleep(1.0)
        spent = _cpu_seconds(proc.pid) - before
        assert spent < 0.5, f'the server burnt {spent:.2f} s of CPU in 1 s'
        assert proc.poll() is None

        # Hang up on every client that was served; the rest get served in turn.
        pending = list(clients)
        deadline = time.monotonic() + 15
        while pending and time.monotonic() < deadline:
            for client in list(pending):
                client.setblocking(False)
                try:
                    data = client.recv(16)
                except BlockingIOError:
                    continue
                assert data == b'hello'
                client.close()
                pending.remove(client)
            gevent.sleep(0.01)
        assert pending == [], f'{len(pending)} clients never served'

        # Once descriptors are free, the server serves normally.
        fresh = socket.create_connection(('127.0.0.1', port), timeout=WAIT)
        clients.append(fresh)
        fresh.settimeout(WAIT)
        assert fresh.recv(16) == b'hello'
        assert proc.poll() is None
    finally:
        for client in clients:
            client.close()
        proc.kill()
        out, err = proc.communicate(timeout=10)
    assert 'error EMFILE' in lines
    # Only descriptor shortages were reported, and nothing crashed.
    assert all(line.startswith(('port ', 'error EMFILE')) for line in lines + out.splitlines())
    assert 'Traceback' not in err, err
