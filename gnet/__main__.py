"""The ``gnet`` command: the chat server and netcat-style tools, built on gnet.

::

    gnet chat    [--host H] [--port P] [limits]        the chat room of gnet.chat
    gnet echo    [--host H] [--port P] | --unix PATH   an echo server
    gnet connect HOST PORT | --unix PATH               stdin to a connection, it to stdout
    gnet listen  [--host H] PORT | --unix PATH         the same, for one accepted connection
    gnet echo --udp, connect --udp HOST PORT, listen --udp PORT   the same over UDP (nc -u)

``python -m gnet`` is the same command. Servers bind 127.0.0.1 unless told
otherwise (``--host 0.0.0.0`` or ``--host ::`` is explicit). docs/cli.md is
the user's page; the exit status is in :data:`EXIT_STATUS`.

Theory of operation
-------------------
The servers (chat, echo) are gnet servers plus process concerns: one line
on stdout once listening, one line on stderr and status 1 when listening
fails (EADDRINUSE), and SIGINT/SIGTERM handled through
``gevent.signal_handler``, so Ctrl-C runs a clean stop in a greenlet instead
of raising KeyboardInterrupt wherever the hub happens to be (which would
print a traceback).

connect and listen run one :class:`_Pipe` between a socket and this
process's stdin and stdout. Both directions are cooperative, so neither a
silent stdin nor a slow stdout reader blocks the other direction or the
signal handlers:

- stdin -> socket: a greenlet reads stdin with ``gevent.os.nb_read`` (the
  descriptor made non-blocking, waited on with an io watcher; a regular
  file simply reads) and ``write()``s each chunk, waiting for 'drain'
  whenever ``write()`` returns False, as Node's ``pipe()`` does. End of
  input half-closes with ``end()``: the peer sees EOF and may still answer.
- socket -> stdout: the 'data' listener writes each chunk whole with
  ``gevent.os.nb_write``. While stdout is full the listener waits, which
  stalls only this socket's events; its read queue fills, reading from the
  kernel stops, and TCP pushes back on the peer.
- The peer's FIN ('end') says the peer sends no more, not that it reads
  no more. The socket is half-open (allowHalfOpen), so stdin keeps going
  to the peer until stdin's own end, then our FIN closes the connection:
  a file or a pipe is sent whole whichever side ends first (the receiver
  of ``gnet listen PORT < file`` may well have an empty stdin). Only a
  terminal stops there: a person typing has nothing pending, and the peer
  has hung up on them, so the command ends our side at once.
- The command exits once the socket has closed and every byte received
  is on stdout.

Bytes are never decoded: what arrives is what is written.

stdin, stdout and stderr of a terminal share one open file description, so
making stdin non-blocking makes the others non-blocking too. The original
modes are restored before the command prints its final error line and
exits, and nothing is printed to stderr while the modes are changed.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import gevent
from gevent.event import AsyncResult, Event
from gevent.os import nb_read, nb_write

import gnet as net
from gnet import dgram
from gnet.chat import (
    IDLE_TIMEOUT_MS,
    NAME_TIMEOUT_MS,
    RATE_LIMIT,
    ChatRoom,
    LineHandler,
    default_max_connections,
    log_to_stdio,
)
from gnet.errors import SocketDgramNotRunningError, system_error
from gnet.events import EventEmitter, once

__all__ = (
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_STATUS",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "run_chat",
    "run_connect",
    "run_echo",
    "run_listen",
    "run_udp_connect",
    "run_udp_echo",
    "run_udp_listen",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # argparse's own status for bad usage
# A signal that cut connect or listen short gives 128 + its number (130 for
# SIGINT, 143 for SIGTERM): what a shell reports for a command it killed.
_SIGNAL_BASE = 128

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8124  # the README's and the examples' port
# One read from stdin asks for this much, as one recv() does in gnet.
READ_SIZE = 64 * 1024
# After Ctrl-C, connect and listen wait this long (ms) for the peer to
# answer our FIN before hanging up: enough for a polite close, short
# enough that an unresponsive peer cannot keep the command alive.
GRACE_MS = 1000

EXIT_STATUS = """\
exit status:
  0    done: the connection ended (both sides closed), the port answered
       (connect --check), or a server was stopped with Ctrl-C or SIGTERM
  1    a network or I/O error: connection refused or reset, name not found,
       timed out connecting, address in use, stdin or stdout failed
  2    bad usage (unknown option, missing or invalid argument)
  130  connect or listen interrupted by Ctrl-C (SIGINT); 143 by SIGTERM
Errors are one line on stderr, as Node words them:
  gnet: connect ECONNREFUSED 127.0.0.1:9"""


# -- output ----------------------------------------------------------------------


def _to_stdout(data: bytes) -> OSError | None:
    """Write all of ``data`` to descriptor 1 cooperatively; the error that stopped it, if any."""
    view = memoryview(data)
    try:
        while view:
            view = view[nb_write(1, view):]
    except OSError as err:
        return err
    return None


def _message(err: BaseException) -> str:
    """Node's text for an error: its ``message`` (set on gnet's errors), else str()."""
    text = getattr(err, "message", None)
    return text if isinstance(text, str) and text else str(err)


def _say(prog: str, text: str) -> None:
    print(f"{prog}: {text}", file=sys.stderr, flush=True)


def _where(address: Any) -> str:
    """``127.0.0.1:8124``, ``[::1]:8124``, or a Unix socket's path."""
    if isinstance(address, str):
        return address
    host = address["address"]
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{address['port']}"


def _remote(sock: net.Socket, path: str | None = None) -> str:
    if path is not None:
        return path
    if sock.remoteAddress is None:  # a Unix client of a listen --unix server
        return "a local client"
    return _where({"address": sock.remoteAddress, "port": sock.remotePort})


def _wait_first(emitter: EventEmitter, *names: str) -> str:
    """Block until one of ``names`` is emitted and return which; 'error' raises it."""
    result: AsyncResult = AsyncResult()
    listeners: list[tuple[str, Callable[..., None]]] = []

    def fire(name: str) -> Callable[..., None]:
        def listener(*args: Any) -> None:
            if not result.ready():
                if name == "error":
                    result.set_exception(args[0])
                else:
                    result.set(name)
        return listener

    for name in (*names, "error"):
        listener = fire(name)
        listeners.append((name, listener))
        emitter.once(name, listener)
    try:
        value: str = result.get()
        return value
    finally:
        for name, listener in listeners:
            emitter.removeListener(name, listener)


def _on_signals(handler: Callable[[int], None]) -> list[Any]:
    """Run ``handler(signum)`` in a greenlet on SIGINT and SIGTERM."""
    return [gevent.signal_handler(signum, handler, signum)
            for signum in (signal.SIGINT, signal.SIGTERM)]


# -- servers: chat, echo --------------------------------------------------------------


def _serve(server: net.Server, listen: dict[str, Any], what: str, prog: str,
           stop: Callable[[], None]) -> int:
    """Listen, announce it on stdout, and serve until ``stop()`` runs on a signal."""
    handlers = _on_signals(lambda _signum: stop())
    try:
        try:
            server.listen(listen)
        except (TypeError, ValueError) as err:  # an address argparse could not check
            _say(prog, _message(err))
            return EXIT_USAGE
        try:
            # 'close' instead: stopped before it was listening.
            if _wait_first(server, "listening", "close") == "listening":
                print(f"{what} listening on {_where(server.address())} (Ctrl-C to stop)",
                      flush=True)
        except OSError as err:  # EADDRINUSE, EACCES, ENOTFOUND for --host
            _say(prog, _message(err))
            return EXIT_ERROR
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()


def _listen_options(host: str, port: int | None, path: str | None) -> dict[str, Any]:
    if path is not None:
        # A socket file left by a crashed server is replaced; a live one is not.
        return {"path": path, "removeStale": True}
    return {"port": port, "host": host}


def run_chat(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, prog: str = "gnet",
             name_timeout: float = NAME_TIMEOUT_MS, idle_timeout: float = IDLE_TIMEOUT_MS,
             max_connections: int | None = None, rate_limit: float = RATE_LIMIT) -> int:
    """Serve the chat room of :mod:`gnet.chat` until SIGINT or SIGTERM.

    Prints ``chat server listening on HOST:PORT (Ctrl-C to stop)`` and then
    the room's log (joins, leaves, drops, errors) on stdout, through a
    handler that never blocks: a stdout nobody reads loses log lines (they
    are counted), never the room. The first signal tells every member the
    server is going away and exits once they have hung up (at most a second
    later); a second one hangs up at once. Neither depends on stdout or
    stderr working.

    Args:
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        prog: Name that prefixes error lines on stderr.
        name_timeout, idle_timeout, max_connections, rate_limit: the
            room's limits (see :class:`gnet.chat.ChatRoom`).

    Returns:
        The exit status: 0 once stopped, 1 if listening failed.
    """
    out, err = log_to_stdio()
    room = ChatRoom(name_timeout=name_timeout, idle_timeout=idle_timeout,
                    max_connections=max_connections, rate_limit=rate_limit)
    server = room.server
    # room.close() never raises and never waits for output: a signal always stops.
    handlers = _on_signals(lambda _signum: room.close())
    try:
        try:
            server.listen({"port": port, "host": host})
        except (TypeError, ValueError) as exc:  # an address argparse could not check
            err.write_line(f"{prog}: {_message(exc)}")
            return EXIT_USAGE
        try:
            # 'close' instead: stopped before it was listening.
            if _wait_first(server, "listening", "close") == "listening":
                out.write_line(f"chat server listening on {_where(server.address())} "
                               "(Ctrl-C to stop)")
        except OSError as exc:  # EADDRINUSE, EACCES, ENOTFOUND for --host
            err.write_line(f"{prog}: {_message(exc)}")
            return EXIT_ERROR
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()
        for name, log_handler in (("gnet.chat", out), ("gnet", err)):
            logging.getLogger(name).removeHandler(log_handler)
            logging.getLogger(name).propagate = True
            log_handler.close()


def run_echo(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, path: str | None = None, *,
             prog: str = "gnet") -> int:
    """Serve an echo server (``socket.pipe(socket)``) until SIGINT or SIGTERM.

    Every byte a client sends comes back, with backpressure; a client's FIN
    ends its echo. A client's error (a reset, a broken pipe) is one line on
    stderr, written without ever blocking the server, and ends only that
    client. On a signal the server stops accepting and hangs up on every
    client at once.

    Args:
        host: Address to listen on (ignored with ``path``).
        port: Port to listen on; 0 picks a free one.
        path: Listen on this Unix socket path instead of TCP.
        prog: Name that prefixes error lines on stderr.

    Returns:
        The exit status: 0 once stopped, 1 if listening failed.
    """
    # Never blocks: a stderr nobody reads loses lines, never the echo.
    errors = LineHandler(None if sys.stderr is None else 2)

    def on_connection(sock: net.Socket) -> None:
        client = _remote(sock)
        sock.on("error", lambda err: errors.write_line(f"{prog}: {client}: {_message(err)}"))
        sock.pipe(sock)

    server = net.createServer(on_connection)

    def stop() -> None:
        server.close()
        server.closeAllConnections()

    try:
        return _serve(server, _listen_options(host, port, path), "echo server", prog, stop)
    finally:
        errors.close()


# -- connect, listen: one connection piped to stdin and stdout ---------------------------


class _Pipe:
    """One socket piped to this process's stdin and stdout, and the exit status.

    The first thing that goes wrong decides the status and the one line
    printed on exit; later failures (a reset after an interrupt...) do not
    overwrite it.
    """

    def __init__(self, prog: str, timeout: float, interactive: bool | None = None) -> None:
        self.prog = prog
        self.timeout = timeout
        # Whether the peer's end also ends the reading of stdin (None: when
        # stdin is a terminal); see the module's theory of operation.
        self.interactive = interactive
        self.status = EXIT_OK
        self.error: str | None = None
        self.socket: net.Socket | None = None
        self.server: net.Server | None = None
        self._reader: gevent.Greenlet | None = None
        self._stdout_failed = False
        self._signals = 0
        self._made_nonblocking: list[int] = []
        # Set when the connection has closed (or listen ended without one).
        self.done = Event()

    def fail(self, text: str | None, status: int = EXIT_ERROR) -> None:
        if self.status == EXIT_OK:
            self.status = status
            self.error = text

    def on_error(self, err: BaseException) -> None:
        self.fail(_message(err))

    def watch(self, sock: net.Socket, connect_target: tuple[str, int | None] | None) -> None:
        """Listen to ``sock``'s errors and idle timeout; ``connect_target`` while it connects."""
        self.socket = sock
        sock.on("error", self.on_error)
        sock.on("close", lambda _had_error: self.done.set())
        if self.timeout:
            sock.setTimeout(self.timeout, lambda: self._on_timeout(connect_target))

    def _on_timeout(self, target: tuple[str, int | None] | None) -> None:
        sock = self.socket
        assert sock is not None
        if sock.connecting and target is not None:
            sock.destroy(system_error(errno.ETIMEDOUT, "connect", *target))
        else:
            # Idle for the whole timeout: hang up quietly, as netcat's -w does.
            sock.destroy()

    def attach(self, sock: net.Socket) -> None:
        """Start piping: stdin to ``sock``, ``sock`` to stdout."""
        sock.on("data", self._on_data)
        sock.on("end", self._on_peer_end)
        sock.on("close", lambda _had_error: self._stop_reading())
        # A descriptor that was closed when the process started (`<&-`,
        # `>&-`; Python then sets sys.stdin or sys.stdout to None) may have
        # been reused since, by gevent's loop or by this very socket: never
        # touch it. No stdin is an empty one; no stdout drops what arrives.
        if sys.stdout is None:
            self._stdout_failed = True
        else:
            self._nonblocking(1)
        if sys.stdin is None:
            sock.end()
        else:
            if self.interactive is None:
                self.interactive = os.isatty(0)
            self._nonblocking(0)
            self._reader = gevent.spawn(self._pump_stdin, sock)

    def _nonblocking(self, fd: int) -> None:
        try:
            if os.get_blocking(fd):
                os.set_blocking(fd, False)
                self._made_nonblocking.append(fd)
        except OSError:
            pass  # closed (<&-) or not a descriptor that has a mode: used as it is

    def _pump_stdin(self, sock: net.Socket) -> None:
        while True:
            try:
                chunk = nb_read(0, READ_SIZE)
            except OSError as err:
                if err.errno != errno.EBADF:  # a closed stdin is an empty one
                    self.fail(f"stdin: {_message(system_error(err, 'read'))}")
                    sock.destroy()
                    return
                chunk = b""
            # Not writable: our side was ended (Ctrl-C, a terminal whose peer
            # ended) or the socket failed; the chunk has nowhere to go.
            if not sock.writable:
                return
            if not chunk:
                sock.end()
                return
            if not sock.write(chunk):
                try:
                    once(sock, "drain")
                except OSError:
                    return  # the 'error' listener has it

    def _on_peer_end(self) -> None:
        # The peer sends no more. A file or a pipe still goes to it to the
        # end (the peer may well be reading: a half-close); a terminal's
        # user has nothing pending, so our side ends now. What was read
        # from stdin is already queued on the socket, and end() sends it.
        reader, sock = self._reader, self.socket
        if reader is not None and not reader.dead and self.interactive and sock is not None:
            self._stop_reading()
            sock.end()

    def _stop_reading(self) -> None:
        reader = self._reader
        if reader is not None:
            self._reader = None
            reader.kill(block=False)

    def _on_data(self, chunk: bytes) -> None:
        if self._stdout_failed:
            return
        err = _to_stdout(chunk)
        if err is not None:
            self._stdout_failed = True
            # EPIPE: the reader of our stdout has had enough (`| head`); not an error.
            if err.errno != errno.EPIPE:
                self.fail(f"stdout: {_message(system_error(err, 'write'))}")
            if self.socket is not None:
                self.socket.destroy()

    def interrupt(self, signum: int) -> None:
        """SIGINT/SIGTERM: end our side politely; a second one, or while connecting, hangs up."""
        self._signals += 1
        self.fail(None, _SIGNAL_BASE + signum)
        if self.server is not None:
            self.server.close()  # listen: still waiting for its connection
        sock = self.socket
        if sock is None:
            return
        if self._signals > 1 or sock.connecting:
            sock.destroy()
            return
        self._stop_reading()
        sock.end()
        net.setTimeout(sock.destroy, GRACE_MS).unref()

    def run(self) -> int:
        """Run until the connection (or the listening server) is gone; print the error line."""
        handlers = _on_signals(self.interrupt)
        try:
            # Not net.run(): that returns as soon as no handle is active, and
            # a socket whose reading waits for a slow stdout is not active.
            self.done.wait()
        finally:
            for handler in handlers:
                handler.cancel()
            if self._reader is not None:
                self._reader.kill()
            for fd in self._made_nonblocking:
                try:
                    os.set_blocking(fd, True)
                except OSError:
                    pass
        if self.error:
            _say(self.prog, self.error)
        return self.status


def run_connect(host: str | None, port: int | None, path: str | None = None, *,
                prog: str = "gnet", timeout: float = 0, check: bool = False,
                verbose: bool = False, interactive: bool | None = None) -> int:
    """Connect, then pipe stdin to the connection and the connection to stdout.

    netcat's client mode: binary-safe; end of stdin half-closes (the peer
    sees EOF and may still answer); the command exits once the peer has
    ended too and stdout has every byte. A peer that ends first still gets
    the rest of stdin, unless stdin is interactive.

    Args:
        host: Host name or IP address (with ``port``).
        port: TCP port.
        path: Unix socket path, instead of host and port.
        prog: Name that prefixes the lines printed on stderr.
        timeout: Milliseconds allowed for connecting, and then without
            traffic before hanging up; 0 waits for ever.
        check: Only check that a connection can be made, then hang up
            (netcat's ``-z``); stdin is not read.
        verbose: Say on stderr when connected.
        interactive: Whether the peer's end also ends our side at once
            instead of sending the rest of stdin first: right for a person
            typing, who has nothing pending when the peer hangs up. None
            (the default): when stdin is a terminal.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    pipe = _Pipe(prog, timeout, interactive)
    options: dict[str, Any] = {"path": path} if path is not None else {"host": host, "port": port}
    # Half-open: the peer's end does not end ours (see the theory of operation).
    options["allowHalfOpen"] = True
    try:
        sock = net.createConnection(options)
    except (TypeError, ValueError) as err:  # an argument argparse could not check
        _say(prog, _message(err))
        return EXIT_USAGE
    target: tuple[str, int | None] = (path, None) if path is not None else (str(host), port)
    pipe.watch(sock, target)

    def on_connect() -> None:
        if verbose:
            _say(prog, f"connected to {_remote(sock, path)}")
        if check:
            sock.destroy()
        else:
            pipe.attach(sock)

    sock.on("connect", on_connect)
    return pipe.run()


def run_listen(host: str, port: int | None, path: str | None = None, *, prog: str = "gnet",
               timeout: float = 0, verbose: bool = False) -> int:
    """Accept one connection, then pipe it to stdin and stdout as :func:`run_connect` does.

    netcat's ``-l``: the server stops listening once the first client is
    in; the command exits when that connection has ended.

    Args:
        host: Address to listen on (ignored with ``path``).
        port: Port to listen on; 0 picks a free one (see ``verbose``). None
            with ``path``.
        path: Listen on this Unix socket path instead of TCP.
        prog: Name that prefixes the lines printed on stderr.
        timeout: Milliseconds without traffic on the connection before
            hanging up; 0 waits for ever. Waiting for the client has no limit.
        verbose: Say on stderr where it listens and who connected.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    pipe = _Pipe(prog, timeout)
    server = net.createServer({"allowHalfOpen": True})
    pipe.server = server

    def on_connection(sock: net.Socket) -> None:
        if pipe.socket is not None:  # a second client, queued before close()
            sock.destroy()
            return
        server.close()
        pipe.server = None
        pipe.watch(sock, None)
        if verbose:
            _say(prog, f"connection from {_remote(sock)}")
        pipe.attach(sock)

    def on_error(err: BaseException) -> None:
        pipe.on_error(err)
        pipe.done.set()

    def on_close() -> None:
        if pipe.socket is None:  # stopped before anyone connected
            pipe.done.set()

    server.on("connection", on_connection)
    server.on("error", on_error)
    server.on("close", on_close)
    if verbose:
        server.on("listening", lambda: _say(prog, f"listening on {_where(server.address())}"))
    try:
        server.listen(_listen_options(host, port, path))
    except (TypeError, ValueError) as err:
        _say(prog, _message(err))
        return EXIT_USAGE
    return pipe.run()


# -- UDP: echo --udp, connect --udp, listen --udp (nc -u) -------------------------------


# The largest datagram over IPv4; a longer read from stdin is sent in pieces.
MAX_DATAGRAM = 65507


def _udp_type(host: str) -> str:
    return "udp6" if net.isIPv6(host) else "udp4"


def run_udp_echo(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                 prog: str = "gnet") -> int:
    """Serve a UDP echo server (every datagram back to its sender) until SIGINT or SIGTERM.

    Returns:
        The exit status: 0 once stopped, 1 if binding failed.
    """
    sock = dgram.createSocket(_udp_type(host))
    errors = LineHandler(None if sys.stderr is None else 2)
    sock.on("message", lambda msg, rinfo: sock.send(msg, rinfo["port"], rinfo["address"]))
    handlers = _on_signals(lambda _signum: _close_udp(sock))
    try:
        try:
            sock.bind(port, host)
        except (TypeError, ValueError) as err:  # an address argparse could not check
            _say(prog, _message(err))
            return EXIT_USAGE
        try:
            once(sock, "listening")
        except OSError as err:  # EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND for --host
            _say(prog, _message(err))
            return EXIT_ERROR
        # From now on an error (a receive error) is one line, never the end of the server.
        sock.on("error", lambda err: errors.write_line(f"{prog}: {_message(err)}"))
        print(f"UDP echo server listening on {_where(sock.address())} (Ctrl-C to stop)",
              flush=True)
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()
        _close_udp(sock)
        errors.close()


def _close_udp(sock: dgram.Socket) -> None:
    try:
        sock.close()
    except SocketDgramNotRunningError:
        pass  # closed already


class _UdpPipe:
    """One UDP socket between stdin and stdout and one peer (``nc -u``).

    Each read from stdin (a line at a terminal) goes out as one datagram (a
    read longer than 65,507 bytes as several); each datagram that arrives is
    written to stdout whole. UDP has no end of stream: after the end of
    stdin the command waits for answers, and exits once none came for
    GRACE_MS (or ``timeout``, when set). With ``timeout``, it also exits
    after that long without a datagram either way.
    """

    def __init__(self, prog: str, timeout: float) -> None:
        self.prog = prog
        self.timeout = timeout
        self.status = EXIT_OK
        self.error: str | None = None
        self.sock: dgram.Socket | None = None
        self.done = Event()
        self._reader: gevent.Greenlet | None = None
        self._timer: net.Timeout | None = None
        self._stdin_done = False
        self._stdout_failed = sys.stdout is None
        self._made_nonblocking: list[int] = []

    def fail(self, text: str | None, status: int = EXIT_ERROR) -> None:
        if self.status == EXIT_OK:
            self.status = status
            self.error = text
        self.done.set()

    def on_error(self, err: BaseException) -> None:
        self.fail(_message(err))

    def _touch(self) -> None:
        # Traffic (or the end of stdin): the idle countdown starts again.
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        wait = self.timeout or (GRACE_MS if self._stdin_done else 0)
        if wait:
            self._timer = net.setTimeout(self.done.set, wait)

    def output(self, sock: dgram.Socket) -> None:
        """Write every datagram ``sock`` receives to stdout."""
        self.sock = sock
        if not self._stdout_failed:
            self._nonblocking(1)
        sock.on("message", self.on_message)
        self._touch()

    def input(self) -> None:
        """Send what stdin gives to the connected peer."""
        if sys.stdin is None:
            self._stdin_ended()
            return
        self._nonblocking(0)
        self._reader = gevent.spawn(self._pump_stdin)

    def _nonblocking(self, fd: int) -> None:
        try:
            if os.get_blocking(fd):
                os.set_blocking(fd, False)
                self._made_nonblocking.append(fd)
        except OSError:
            pass

    def _pump_stdin(self) -> None:
        sock = self.sock
        assert sock is not None
        while True:
            try:
                chunk = nb_read(0, READ_SIZE)
            except OSError as err:
                if err.errno != errno.EBADF:  # a closed stdin is an empty one
                    self.fail(f"stdin: {_message(system_error(err, 'read'))}")
                    return
                chunk = b""
            if not chunk:
                self._stdin_ended()
                return
            for start in range(0, len(chunk), MAX_DATAGRAM):
                sock.send(chunk[start:start + MAX_DATAGRAM], self._on_sent)
            self._touch()

    def _on_sent(self, err: BaseException | None, _sent: int | None) -> None:
        if err is not None:
            self.on_error(err)

    def _stdin_ended(self) -> None:
        self._stdin_done = True
        self._touch()

    def on_message(self, msg: bytes, _rinfo: dict[str, Any]) -> None:
        self._touch()
        if self._stdout_failed:
            return
        err = _to_stdout(msg)
        if err is not None:
            self._stdout_failed = True
            # EPIPE: the reader of our stdout has had enough (`| head`); not an error.
            if err.errno != errno.EPIPE:
                self.fail(f"stdout: {_message(system_error(err, 'write'))}")
            else:
                self.done.set()

    def run(self) -> int:
        """Run until stdin and the answers are done, an error, or a signal."""
        handlers = _on_signals(lambda signum: self.fail(None, _SIGNAL_BASE + signum))
        try:
            self.done.wait()
        finally:
            for handler in handlers:
                handler.cancel()
            if self._reader is not None:
                self._reader.kill()
            if self._timer is not None:
                self._timer.close()
            if self.sock is not None:
                _close_udp(self.sock)
            for fd in self._made_nonblocking:
                try:
                    os.set_blocking(fd, True)
                except OSError:
                    pass
        if self.error:
            _say(self.prog, self.error)
        return self.status


def run_udp_connect(host: str, port: int, *, prog: str = "gnet", timeout: float = 0,
                    verbose: bool = False) -> int:
    """``nc -u HOST PORT``: a connected UDP socket between stdin/stdout and the peer.

    Nobody listening shows as ``recvmsg ECONNREFUSED`` (the peer's ICMP
    port-unreachable) and status 1.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    pipe = _UdpPipe(prog, timeout)
    sock = dgram.createSocket(_udp_type(host))
    sock.on("error", pipe.on_error)

    def on_connect(err: BaseException | None = None) -> None:
        if err is not None:
            pipe.on_error(err)
            return
        if verbose:
            _say(prog, f"connected to {_where(sock.remoteAddress())} (udp)")
        pipe.output(sock)
        pipe.input()

    try:
        sock.connect(port, host, on_connect)
    except (TypeError, ValueError) as err:
        _say(prog, _message(err))
        return EXIT_USAGE
    return pipe.run()


def run_udp_listen(host: str, port: int, *, prog: str = "gnet", timeout: float = 0,
                   verbose: bool = False) -> int:
    """``nc -u -l PORT``: print what arrives; the first sender becomes the peer stdin goes to.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    pipe = _UdpPipe(prog, timeout)
    sock = dgram.createSocket(_udp_type(host))
    sock.on("error", pipe.on_error)

    pipe.sock = sock

    def first(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.removeListener("message", first)
        if verbose:
            _say(prog, f"datagram from {_where(rinfo)}")
        # From now on only this peer's datagrams get through (the kernel filters them).
        sock.connect(rinfo["port"], rinfo["address"],
                     lambda err=None: pipe.on_error(err) if err is not None else pipe.input())
        pipe.output(sock)
        pipe.on_message(msg, rinfo)

    sock.on("message", first)
    if verbose:
        sock.on("listening", lambda: _say(prog, f"listening on {_where(sock.address())} (udp)"))
    try:
        sock.bind(port, host)
    except (TypeError, ValueError) as err:
        _say(prog, _message(err))
        return EXIT_USAGE
    return pipe.run()


# -- the command line ---------------------------------------------------------------------


def _checked(convert: Callable[[str], Any], ok: Callable[[Any], bool], what: str,
             rule: str) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert(text)``, refused with one line unless ``ok``."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r} ({rule})")
        return value

    return parse


_port = _checked(lambda t: int(t, 10), lambda v: 0 <= v <= 65535, "port",
                 "a number from 0 to 65535")
_ms = _checked(float, lambda v: 0 <= v < float("inf"), "time", "milliseconds, 0 or more")
_count = _checked(lambda t: int(t, 10), lambda v: v >= 1, "count", "a whole number, 1 or more")
_rate = _checked(float, lambda v: 0 <= v < float("inf"), "rate", "lines a second, 0 or more")


def _add_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 or :: "
                             "for every interface)")


def _add_unix(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--unix", metavar="PATH", help=f"{what} a Unix domain socket instead")


def _cmd_chat(args: argparse.Namespace) -> int:
    return run_chat(args.host, args.port, name_timeout=args.name_timeout,
                    idle_timeout=args.idle_timeout, max_connections=args.max_connections,
                    rate_limit=args.rate_limit)


def _add_udp(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--udp", action="store_true", help=what)


def _cmd_echo(args: argparse.Namespace) -> int:
    if args.udp:
        if args.unix is not None:
            args.parser.error("--udp and --unix do not go together")
        return run_udp_echo(args.host, args.port)
    return run_echo(args.host, args.port, args.unix)


def _cmd_connect(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.unix is not None:
        if args.host is not None:
            parser.error("give HOST PORT or --unix PATH, not both")
    elif args.port is None:
        parser.error("give HOST PORT, or --unix PATH")
    elif args.port == 0:
        parser.error("argument PORT: cannot connect to port 0")
    if args.udp:
        if args.unix is not None or args.check:
            parser.error("--udp does not go with --unix or --check")
        return run_udp_connect(args.host, args.port, timeout=args.timeout, verbose=args.verbose)
    return run_connect(args.host, args.port, args.unix, timeout=args.timeout, check=args.check,
                       verbose=args.verbose)


def _cmd_listen(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.udp:
        if args.unix is not None:
            parser.error("--udp and --unix do not go together")
        if args.port is None:
            parser.error("give PORT")
        return run_udp_listen(args.host, args.port, timeout=args.timeout, verbose=args.verbose)
    if args.unix is not None:
        if args.port is not None:
            parser.error("give PORT or --unix PATH, not both")
    elif args.port is None:
        parser.error("give PORT, or --unix PATH")
    return run_listen(args.host, args.port, args.unix, timeout=args.timeout,
                      verbose=args.verbose)


def build_parser() -> argparse.ArgumentParser:
    """The ``gnet`` argument parser, subcommands included."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="gnet", formatter_class=raw,
        description=textwrap.fill(
            "Servers and a netcat-style client built on gnet, Node's net for Python. "
            "Every server binds 127.0.0.1 unless --host says otherwise.", 79),
        epilog=EXIT_STATUS + "\n\n'gnet COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"gnet {net.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command",
                                     required=True)

    def command(name: str, summary: str, description: str, examples: str,
                run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=textwrap.fill(description, 79),
                                  formatter_class=raw,
                                  epilog=f"examples:\n{examples}\n\n{EXIT_STATUS}")
        sub.set_defaults(run=run, parser=sub)
        return sub

    chat = command(
        "chat", "run the chat server",
        "A line-based chat room: the first line a client sends is its name, every later "
        "line goes to everyone else. Ctrl-C tells everyone the server is going away, then "
        "exits once they have hung up (a second Ctrl-C hangs up at once).",
        "  gnet chat                      # 127.0.0.1:8124\n"
        "  gnet chat --host :: --port 9000\n"
        "  gnet connect 127.0.0.1 8124    # in two or three other terminals",
        _cmd_chat,
    )
    _add_host(chat)
    chat.add_argument("--port", type=_port, default=DEFAULT_PORT,
                      help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    chat.add_argument("--name-timeout", metavar="MS", type=_ms, default=NAME_TIMEOUT_MS,
                      help="hang up on a client that has not picked a name after MS "
                           f"milliseconds (default {NAME_TIMEOUT_MS}; 0: never)")
    chat.add_argument("--idle-timeout", metavar="MS", type=_ms, default=IDLE_TIMEOUT_MS,
                      help="say goodbye to a connection without traffic either way for MS "
                           f"milliseconds (default {IDLE_TIMEOUT_MS}, an hour; 0: never)")
    chat.add_argument("--max-connections", metavar="N", type=_count, default=None,
                      help="clients in the room at once, named or not; the next is told the "
                           "room is full (default 1000, or the descriptor limit less 32 if "
                           f"that is lower: {default_max_connections()} here)")
    chat.add_argument("--rate-limit", metavar="LINES", type=_rate, default=RATE_LIMIT,
                      help="lines a second one member may say on average, with a burst of "
                           "four seconds' worth; a faster member is slowed down, not cut "
                           f"off (default {RATE_LIMIT:g}; 0: no limit)")

    echo = command(
        "echo", "run an echo server",
        "Every byte a client sends comes back; a client's end of input ends its echo. "
        "Ctrl-C hangs up on every client and exits.",
        "  gnet echo --port 9000\n"
        "  gnet echo --unix /tmp/echo.sock\n"
        "  printf 'ping\\n' | gnet connect 127.0.0.1 9000   # prints ping",
        _cmd_echo,
    )
    _add_host(echo)
    echo.add_argument("--port", type=_port, default=DEFAULT_PORT,
                      help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    _add_unix(echo, "listen on")
    _add_udp(echo, "echo UDP datagrams instead (every datagram back to its sender)")

    connect = command(
        "connect", "pipe stdin to a connection and the connection to stdout (nc HOST PORT)",
        "Connect, then copy stdin to the connection and the connection to stdout, byte for "
        "byte. End of input (Ctrl-D, or the end of a piped file) half-closes: the peer sees "
        "EOF and may still answer; gnet exits once the peer has ended too. A peer that ends "
        "first still gets all of a piped stdin (at a terminal, its end ends the session). "
        "Ctrl-C ends our side the same way and hangs up a second later (a second Ctrl-C: at "
        "once).",
        "  gnet connect 127.0.0.1 8124               # talk to gnet chat\n"
        "  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | gnet connect example.com 80\n"
        "  gnet connect --unix /run/app.sock < request > reply\n"
        "  gnet connect --check --timeout 500 db 5432 && echo up",
        _cmd_connect,
    )
    connect.add_argument("host", metavar="HOST", nargs="?", help="host name or IP address")
    connect.add_argument("port", metavar="PORT", nargs="?", type=_port, help="TCP port")
    _add_unix(connect, "connect to")
    _add_udp(connect, "send stdin as UDP datagrams and print the answers (nc -u); after "
                      "the end of stdin, exit once no answer came for 1 s (or --timeout)")
    connect.add_argument("--timeout", metavar="MS", type=_ms, default=0,
                         help="give up connecting after MS milliseconds (exit 1), and hang up "
                              "after MS milliseconds without traffic (exit 0); default 0: never")
    connect.add_argument("-z", "--check", action="store_true",
                         help="only check that a connection can be made, then hang up "
                              "(netcat's -z); stdin is not read")
    connect.add_argument("-v", "--verbose", action="store_true",
                         help="say on stderr when connected")

    listen = command(
        "listen", "accept one connection and pipe it like connect (nc -l PORT)",
        "Listen, accept one client, stop listening, then copy stdin to the connection and "
        "the connection to stdout as 'gnet connect' does, exiting when the connection has "
        "ended. Binds 127.0.0.1 unless --host says otherwise.",
        "  gnet listen 9000 < /dev/null > received    # then: gnet connect HOST 9000 < file\n"
        "  gnet listen --host 0.0.0.0 9000 < file     # serve one file to one client\n"
        "  gnet listen -v 0                           # a free port, shown on stderr",
        _cmd_listen,
    )
    _add_host(listen)
    listen.add_argument("port", metavar="PORT", nargs="?", type=_port,
                        help="port (0 picks a free one; see --verbose)")
    _add_unix(listen, "listen on")
    _add_udp(listen, "print the UDP datagrams that arrive; the first sender becomes the "
                     "peer stdin goes to (nc -u -l)")
    listen.add_argument("--timeout", metavar="MS", type=_ms, default=0,
                        help="hang up after MS milliseconds without traffic (exit 0); "
                             "default 0: never")
    listen.add_argument("-v", "--verbose", action="store_true",
                        help="say on stderr where it listens and who connected")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gnet`` command (the console script and ``python -m gnet``).

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status (see :data:`EXIT_STATUS`). Bad usage and ``--help``
        exit from inside argparse (status 2 and 0).
    """
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        # Only before the signal handlers are in place (a Ctrl-C at start-up).
        return _SIGNAL_BASE + signal.SIGINT
    return status


if __name__ == "__main__":
    sys.exit(main())
