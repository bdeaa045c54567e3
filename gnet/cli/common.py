"""What every ``gnet`` subcommand shares: exit statuses, defaults, messages, signals."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import AsyncResult

import gnet as net
from gnet.events import EventEmitter

__all__ = (
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_STATUS",
    "EXIT_USAGE",
    "GRACE_MS",
    "SIGNAL_BASE",
    "message",
    "on_signals",
    "remote",
    "say",
    "wait_first",
    "where",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # argparse's own status for bad usage
# A signal that cut connect or listen short gives 128 + its number (130 for
# SIGINT, 143 for SIGTERM): what a shell reports for a command it killed.
SIGNAL_BASE = 128

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8124  # the README's and the examples' port
# After Ctrl-C, connect and listen wait this long (ms) for the peer to
# answer our FIN before hanging up: enough for a polite close, short
# enough that an unresponsive peer cannot keep the command alive. UDP's
# connect and listen wait as long for answers after the end of stdin.
# Read at the time of use (``common.GRACE_MS``), so a test may change it.
GRACE_MS = 1000

EXIT_STATUS = """\
exit status:
  0    done: the connection ended (both sides closed), the port answered
       (connect --check), or a server was stopped with Ctrl-C or SIGTERM
  1    a network or I/O error: connection refused or reset, name not found,
       timed out connecting, address in use, stdin or stdout failed, a TLS
       handshake or certificate that failed, a certificate file unreadable
  2    bad usage (unknown option, missing or invalid argument)
  3    a server with --workers stopped, but some worker had to be killed
       at the end of the grace period
  130  connect or listen interrupted by Ctrl-C (SIGINT); 143 by SIGTERM
Errors are one line on stderr, as Node words them:
  gnet: connect ECONNREFUSED 127.0.0.1:9"""


def message(err: BaseException) -> str:
    """Node's text for an error: its ``message`` (set on gnet's errors), else str()."""
    text = getattr(err, "message", None)
    return text if isinstance(text, str) and text else str(err)


def say(prog: str, text: str) -> None:
    """One line on stderr: ``prog: text``."""
    print(f"{prog}: {text}", file=sys.stderr, flush=True)


def where(address: Any) -> str:
    """``127.0.0.1:8124``, ``[::1]:8124``, or a Unix socket's path."""
    if isinstance(address, str):
        return address
    host = address["address"]
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{address['port']}"


def remote(sock: net.Socket, path: str | None = None) -> str:
    """Who is at the other end of ``sock``, for a message."""
    if path is not None:
        return path
    if sock.remoteAddress is None:  # a Unix client of a listen --unix server
        return "a local client"
    return where({"address": sock.remoteAddress, "port": sock.remotePort})


def wait_first(emitter: EventEmitter, *names: str) -> str:
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


def on_signals(handler: Callable[[int], None]) -> list[Any]:
    """Run ``handler(signum)`` in a greenlet on SIGINT and SIGTERM; cancel() each to stop."""
    return [gevent.signal_handler(signum, handler, signum)
            for signum in (signal.SIGINT, signal.SIGTERM)]
