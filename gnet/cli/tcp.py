"""``gnet connect`` and ``gnet listen``: one connection between stdin/stdout and a peer.

Theory of operation
-------------------
This is Node's chat client, ``process.stdin.pipe(socket)`` and
``socket.pipe(process.stdout)``, with gnet's process streams
(:mod:`gnet.process`) and ``pipe()``: both directions are cooperative and
honour backpressure, so neither a silent stdin nor a slow stdout reader
blocks the other direction or the signal handlers.

- stdin -> socket: ``pipe()`` pauses stdin while the socket's buffer is
  full and resumes it on 'drain'. The end of stdin half-closes with
  ``end()``: the peer sees EOF and may still answer.
- socket -> stdout: ``pipe()`` pauses the socket while stdout's buffer is
  full; the socket's read queue fills, reading from the kernel stops, and
  TCP pushes back on the peer. stdout is not ended with the socket (it is
  the process's), only flushed before the command exits.
- The peer's FIN ('end') says the peer sends no more, not that it reads
  no more. The socket is half-open (allowHalfOpen), so stdin keeps going
  to the peer until stdin's own end, then our FIN closes the connection:
  a file or a pipe is sent whole whichever side ends first (the receiver
  of ``gnet listen PORT < file`` may well have an empty stdin). Only a
  terminal stops there: a person typing has nothing pending, and the peer
  has hung up on them, so the command ends our side at once.
- The command exits once the socket has closed and every byte received
  is on stdout (or stdout failed, or a second signal said to stop).

Bytes are never decoded: what arrives is what is written.

The first thing that goes wrong decides the exit status and the one line
printed on exit; later failures (a reset after an interrupt...) do not
overwrite it. A write error on stdout ends the connection; EPIPE (the
reader of our stdout has had enough, as with ``| head``) is no error.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from gevent.event import Event

import gnet as net
import gnet.cli.common as common
from gnet import process
from gnet.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    SIGNAL_BASE,
    message,
    on_signals,
    remote,
    say,
    where,
)
from gnet.cli.secure import INSECURE_NOTE, SetupError, client_options, describe
from gnet.cli.servers import listen_options
from gnet.errors import system_error

__all__ = ("Session", "run_connect", "run_listen")


class Session:
    """One socket piped to this process's stdin and stdout, and the exit status."""

    def __init__(self, prog: str, timeout: float, interactive: bool | None = None) -> None:
        self.prog = prog
        self.timeout = timeout
        # Whether the peer's end also ends the reading of stdin (None: when
        # stdin is a terminal); see the module's theory of operation.
        self.interactive = interactive
        self.status = EXIT_OK
        self.error: str | None = None
        self.socket: net.Socket | None = None
        # How an error of the socket is worded (TLS errors add Node's code).
        self.describe: Callable[[BaseException], str] = message
        self.server: net.Server | None = None
        self._stdin: process.ReadStream | None = None
        self._stdout: process.WriteStream | None = None
        self._signals = 0
        # Set when the connection has closed (or listen ended without one).
        self.done = Event()
        # Set when stdout has every byte received, failed, or a second signal came.
        self._flushed = Event()
        self._flushed.set()

    def fail(self, text: str | None, status: int = EXIT_ERROR) -> None:
        if self.status == EXIT_OK:
            self.status = status
            self.error = text

    def on_error(self, err: BaseException) -> None:
        self.fail(self.describe(err))

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
        sock.on("end", self._on_peer_end)
        sock.on("close", self._on_close)
        stdout = self._stdout = process.stdout
        stdout.on("error", self._on_stdout_error)
        sock.pipe(stdout, {"end": False})
        stdin = self._stdin = process.stdin
        if self.interactive is None:
            self.interactive = stdin.isTTY
        stdin.on("error", self._on_stdin_error)
        stdin.pipe(sock)

    def _on_stdin_error(self, err: BaseException) -> None:
        self.fail(f"stdin: {message(err)}")
        if self.socket is not None:
            self.socket.destroy()

    def _on_stdout_error(self, err: BaseException) -> None:
        if getattr(err, "errno", None) != errno.EPIPE:
            self.fail(f"stdout: {message(err)}")
        self._flushed.set()
        if self.socket is not None:
            self.socket.destroy()

    def _on_peer_end(self) -> None:
        # The peer sends no more. A file or a pipe still goes to it to the
        # end (the peer may well be reading: a half-close); a terminal's
        # user has nothing pending, so our side ends now. What was read
        # from stdin is already queued on the socket, and end() sends it.
        stdin, sock = self._stdin, self.socket
        if self.interactive and stdin is not None and stdin.readable and sock is not None:
            self._stop_reading()
            sock.end()

    def _on_close(self, _had_error: bool) -> None:
        self._stop_reading()
        stdout = self._stdout
        if stdout is not None and stdout.writableLength and not stdout.destroyed:
            # Exit once what was received is on stdout: an empty write's
            # callback runs after every write before it.
            self._flushed.clear()
            stdout.write(b"", lambda _err: self._flushed.set())

    def _stop_reading(self) -> None:
        # No more stdin for the socket: our side was ended, or it is gone.
        stdin = self._stdin
        if stdin is not None and self.socket is not None:
            stdin.unpipe(self.socket)
            stdin.pause()

    def interrupt(self, signum: int) -> None:
        """SIGINT/SIGTERM: end our side politely; a second one, or while connecting, hangs up."""
        self._signals += 1
        self.fail(None, SIGNAL_BASE + signum)
        if self.server is not None:
            self.server.close()  # listen: still waiting for its connection
        if self._signals > 1:
            self._flushed.set()  # do not wait for a stdout nobody reads
        sock = self.socket
        if sock is None:
            return
        if self._signals > 1 or sock.connecting:
            sock.destroy()
            return
        self._stop_reading()
        sock.end()
        net.setTimeout(sock.destroy, common.GRACE_MS).unref()

    def run(self) -> int:
        """Run until the connection (or the listening server) is gone; print the error line."""
        handlers = on_signals(self.interrupt)
        try:
            # Not net.run(): that returns as soon as no handle is active, and
            # a socket whose reading waits for a slow stdout is not active.
            self.done.wait()
            self._flushed.wait()
        finally:
            for handler in handlers:
                handler.cancel()
            self._detach()
        if self.error:
            say(self.prog, self.error)
        return self.status

    def _detach(self) -> None:
        # The process streams outlive this command (main() may run again
        # in the same process): leave them as found, less what was read.
        stdin, stdout, sock = self._stdin, self._stdout, self.socket
        if stdin is not None:
            if sock is not None:
                stdin.unpipe(sock)
            stdin.pause()
            stdin.removeListener("error", self._on_stdin_error)
        if stdout is not None:
            if sock is not None:
                sock.unpipe(stdout)
            stdout.removeListener("error", self._on_stdout_error)


def run_connect(host: str | None, port: int | None, path: str | None = None, *,
                prog: str = "gnet", timeout: float = 0, check: bool = False,
                verbose: bool = False, interactive: bool | None = None, tls: bool = False,
                ca: str | None = None, insecure: bool = False,
                servername: str | None = None) -> int:
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
        tls: Speak TLS (``openssl s_client -quiet``, ``ncat --ssl``): the
            server's certificate is verified against the system's roots
            (or ``ca``) and its name against ``servername`` or ``host``;
            stdin and stdout carry the plaintext once the handshake is done.
        ca: PEM file of the certificates to trust instead of the system's.
        insecure: Verify neither the chain nor the name (said on stderr).
        servername: The name to send (SNI) and to check the certificate
            against; by default ``host`` when it is a name, not an address.

    Returns:
        The exit status (see :data:`gnet.cli.EXIT_STATUS`).
    """
    session = Session(prog, timeout, interactive)
    options: dict[str, Any] = {"path": path} if path is not None else {"host": host, "port": port}
    # Half-open: the peer's end does not end ours (see the theory of operation).
    options["allowHalfOpen"] = True
    target: tuple[str, int | None] = (path, None) if path is not None else (str(host), port)
    if tls:
        try:
            options.update(client_options(str(host or "localhost"), ca, insecure, servername))
        except SetupError as err:
            say(prog, err.text)
            return err.status
        if insecure:
            say(prog, INSECURE_NOTE)
        session.describe = lambda err: _tls_error(err, target)
    try:
        if tls:
            from gnet import tls as tls_module

            sock: net.Socket = tls_module.connect(options)
        else:
            sock = net.createConnection(options)
    except (TypeError, ValueError) as err:  # an argument argparse could not check
        say(prog, message(err))
        return EXIT_USAGE
    session.watch(sock, target)

    def on_connect() -> None:
        if verbose:
            say(prog, f"connected to {remote(sock, path)}{_tls_summary(sock) if tls else ''}")
        if check:
            sock.destroy()
        else:
            session.attach(sock)

    # Over TLS, stdin and stdout are joined to the connection once it is secure.
    sock.on("secureConnect" if tls else "connect", on_connect)
    return session.run()


def _tls_error(err: BaseException, target: tuple[str, int | None]) -> str:
    # A system call's error names the address already (connect ECONNREFUSED
    # 127.0.0.1:9); a TLS one does not (self-signed certificate).
    if getattr(err, "syscall", None):
        return message(err)
    where_to = target[0] if target[1] is None else where({"address": target[0],
                                                          "port": target[1]})
    return f"{where_to}: {describe(err)}"


def _tls_summary(sock: Any) -> str:
    """`` (TLSv1.3, TLS_AES_256_GCM_SHA384)``, and what --insecure let through."""
    cipher = sock.getCipher() or {}
    text = f" ({sock.getProtocol()}, {cipher.get('standardName') or cipher.get('name')})"
    if not sock.authorized:
        text += f"; not verified: {sock.authorizationError}"
    return text


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
        The exit status (see :data:`gnet.cli.EXIT_STATUS`).
    """
    session = Session(prog, timeout)
    server = net.createServer({"allowHalfOpen": True})
    session.server = server

    def on_connection(sock: net.Socket) -> None:
        if session.socket is not None:  # a second client, queued before close()
            sock.destroy()
            return
        server.close()
        session.server = None
        session.watch(sock, None)
        if verbose:
            say(prog, f"connection from {remote(sock)}")
        session.attach(sock)

    def on_error(err: BaseException) -> None:
        session.on_error(err)
        session.done.set()

    def on_close() -> None:
        if session.socket is None:  # stopped before anyone connected
            session.done.set()

    server.on("connection", on_connection)
    server.on("error", on_error)
    server.on("close", on_close)
    if verbose:
        server.on("listening", lambda: say(prog, f"listening on {where(server.address())}"))
    try:
        server.listen(listen_options(host, port, path))
    except (TypeError, ValueError) as err:
        say(prog, message(err))
        return EXIT_USAGE
    return session.run()
