"""``gnet echo --udp``, ``connect --udp`` and ``listen --udp``: netcat's ``-u`` on gnet.dgram.

Theory of operation
-------------------
One UDP socket between stdin/stdout and one peer. Each chunk stdin gives
(one read: a line at a terminal) goes out as one datagram (a chunk longer
than 65,507 bytes as several); each datagram that arrives is written to
stdout whole, through :mod:`gnet.process`. UDP has no backpressure and no
end of stream: while more than :data:`MAX_BACKLOG` bytes wait for a slow
stdout, arriving datagrams are dropped (as the kernel drops them when a
receiver does not keep up); after the end of stdin the command waits for
answers, and exits once none came for GRACE_MS (or ``timeout``, when
set). With ``timeout``, it also exits after that long without a datagram
either way.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

from gevent.event import Event

import gnet as net
import gnet.cli.common as common
from gnet import dgram, process
from gnet.chat import LineHandler
from gnet.cli.common import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    SIGNAL_BASE,
    message,
    on_signals,
    say,
    where,
)
from gnet.errors import SocketDgramNotRunningError
from gnet.events import once

__all__ = ("MAX_BACKLOG", "MAX_DATAGRAM", "run_udp_connect", "run_udp_echo", "run_udp_listen")

# The largest datagram over IPv4; a longer read from stdin is sent in pieces.
MAX_DATAGRAM = 65507
# Bytes of datagrams waiting for stdout past which new ones are dropped.
MAX_BACKLOG = 4 * 1024 * 1024


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
    handlers = on_signals(lambda _signum: _close_udp(sock))
    try:
        try:
            sock.bind(port, host)
        except (TypeError, ValueError) as err:  # an address argparse could not check
            say(prog, message(err))
            return EXIT_USAGE
        try:
            once(sock, "listening")
        except OSError as err:  # EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND for --host
            say(prog, message(err))
            return EXIT_ERROR
        # From now on an error (a receive error) is one line, never the end of the server.
        sock.on("error", lambda err: errors.write_line(f"{prog}: {message(err)}"))
        print(f"UDP echo server listening on {where(sock.address())} (Ctrl-C to stop)",
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




class _UdpSession:
    """One UDP socket between stdin and stdout and one peer, and the exit status."""

    def __init__(self, prog: str, timeout: float) -> None:
        self.prog = prog
        self.timeout = timeout
        self.status = EXIT_OK
        self.error: str | None = None
        self.sock: dgram.Socket | None = None
        self.done = Event()
        self._timer: net.Timeout | None = None
        self._stdin: process.ReadStream | None = None
        self._stdout: process.WriteStream | None = None
        self._stdin_done = False

    def fail(self, text: str | None, status: int = EXIT_ERROR) -> None:
        if self.status == EXIT_OK:
            self.status = status
            self.error = text
        self.done.set()

    def on_error(self, err: BaseException) -> None:
        self.fail(message(err))

    def _touch(self) -> None:
        # Traffic (or the end of stdin): the idle countdown starts again.
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        wait = self.timeout or (common.GRACE_MS if self._stdin_done else 0)
        if wait:
            self._timer = net.setTimeout(self.done.set, wait)

    def output(self, sock: dgram.Socket) -> None:
        """Write every datagram ``sock`` receives to stdout."""
        self.sock = sock
        stdout = self._stdout = process.stdout
        stdout.on("error", self._on_stdout_error)
        sock.on("message", self.on_message)
        self._touch()

    def input(self) -> None:
        """Send what stdin gives to the connected peer."""
        stdin = self._stdin = process.stdin
        stdin.on("data", self._on_stdin_data)
        stdin.on("end", self._stdin_ended)
        stdin.on("error", self._on_stdin_error)

    def _on_stdin_data(self, chunk: bytes) -> None:
        sock = self.sock
        assert sock is not None
        for start in range(0, len(chunk), MAX_DATAGRAM):
            sock.send(chunk[start:start + MAX_DATAGRAM], self._on_sent)
        self._touch()

    def _on_stdin_error(self, err: BaseException) -> None:
        self.fail(f"stdin: {message(err)}")

    def _on_sent(self, err: BaseException | None, _sent: int | None) -> None:
        if err is not None:
            self.on_error(err)

    def _stdin_ended(self) -> None:
        self._stdin_done = True
        self._touch()

    def on_message(self, msg: bytes, _rinfo: dict[str, Any]) -> None:
        self._touch()
        stdout = self._stdout
        if stdout is None or stdout.destroyed or stdout.writableLength >= MAX_BACKLOG:
            return
        stdout.write(msg)

    def _on_stdout_error(self, err: BaseException) -> None:
        # EPIPE: the reader of our stdout has had enough (`| head`); not an error.
        if getattr(err, "errno", None) != errno.EPIPE:
            self.fail(f"stdout: {message(err)}")
        else:
            self.done.set()

    def run(self) -> int:
        """Run until stdin and the answers are done, an error, or a signal."""
        flushed = Event()

        def interrupt(signum: int) -> None:
            self.fail(None, SIGNAL_BASE + signum)
            flushed.set()  # no waiting for a stdout nobody reads

        handlers = on_signals(interrupt)
        try:
            self.done.wait()
            stdout = self._stdout
            if self.status == EXIT_OK and stdout is not None and stdout.writableLength:
                # Every datagram received goes out before the exit.
                stdout.write(b"", lambda _err: flushed.set())
                flushed.wait()
        finally:
            for handler in handlers:
                handler.cancel()
            if self._timer is not None:
                self._timer.close()
            if self.sock is not None:
                _close_udp(self.sock)
            self._detach()
        if self.error:
            say(self.prog, self.error)
        return self.status

    def _detach(self) -> None:
        # The process streams outlive this command: leave them as found.
        stdin, stdout = self._stdin, self._stdout
        if stdin is not None:
            stdin.pause()
            stdin.removeListener("data", self._on_stdin_data)
            stdin.removeListener("end", self._stdin_ended)
            stdin.removeListener("error", self._on_stdin_error)
        if stdout is not None:
            stdout.removeListener("error", self._on_stdout_error)


def run_udp_connect(host: str, port: int, *, prog: str = "gnet", timeout: float = 0,
                    verbose: bool = False) -> int:
    """``nc -u HOST PORT``: a connected UDP socket between stdin/stdout and the peer.

    Nobody listening shows as ``recvmsg ECONNREFUSED`` (the peer's ICMP
    port-unreachable) and status 1.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    session = _UdpSession(prog, timeout)
    sock = dgram.createSocket(_udp_type(host))
    sock.on("error", session.on_error)

    def on_connect(err: BaseException | None = None) -> None:
        if err is not None:
            session.on_error(err)
            return
        if verbose:
            say(prog, f"connected to {where(sock.remoteAddress())} (udp)")
        session.output(sock)
        session.input()

    try:
        sock.connect(port, host, on_connect)
    except (TypeError, ValueError) as err:
        say(prog, message(err))
        return EXIT_USAGE
    return session.run()


def run_udp_listen(host: str, port: int, *, prog: str = "gnet", timeout: float = 0,
                   verbose: bool = False) -> int:
    """``nc -u -l PORT``: print what arrives; the first sender becomes the peer stdin goes to.

    Returns:
        The exit status (see :data:`EXIT_STATUS`).
    """
    session = _UdpSession(prog, timeout)
    sock = dgram.createSocket(_udp_type(host))
    sock.on("error", session.on_error)

    session.sock = sock

    def first(msg: bytes, rinfo: dict[str, Any]) -> None:
        sock.removeListener("message", first)
        if verbose:
            say(prog, f"datagram from {where(rinfo)}")
        # From now on only this peer's datagrams get through (the kernel filters them).
        sock.connect(rinfo["port"], rinfo["address"],
                     lambda err=None: session.on_error(err) if err is not None else session.input())
        session.output(sock)
        session.on_message(msg, rinfo)

    sock.on("message", first)
    if verbose:
        sock.on("listening", lambda: say(prog, f"listening on {where(sock.address())} (udp)"))
    try:
        sock.bind(port, host)
    except (TypeError, ValueError) as err:
        say(prog, message(err))
        return EXIT_USAGE
    return session.run()


