"""``gnet chat`` and ``gnet echo``: gnet servers plus what a process adds.

One line on stdout once listening, one line on stderr and status 1 when
listening fails (EADDRINUSE), and SIGINT/SIGTERM handled through
``gevent.signal_handler``, so Ctrl-C runs a clean stop in a greenlet instead
of raising KeyboardInterrupt wherever the hub happens to be (which would
print a traceback).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import gnet as net
from gnet.chat import (
    IDLE_TIMEOUT_MS,
    NAME_TIMEOUT_MS,
    RATE_LIMIT,
    ChatRoom,
    LineHandler,
    log_to_stdio,
)
from gnet.cli.common import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    message,
    on_signals,
    remote,
    say,
    wait_first,
    where,
)

__all__ = ("listen_options", "run_chat", "run_echo")


def _serve(server: net.Server, listen: dict[str, Any], what: str, prog: str,
           stop: Callable[[], None]) -> int:
    """Listen, announce it on stdout, and serve until ``stop()`` runs on a signal."""
    handlers = on_signals(lambda _signum: stop())
    try:
        try:
            server.listen(listen)
        except (TypeError, ValueError) as err:  # an address argparse could not check
            say(prog, message(err))
            return EXIT_USAGE
        try:
            # 'close' instead: stopped before it was listening.
            if wait_first(server, "listening", "close") == "listening":
                print(f"{what} listening on {where(server.address())} (Ctrl-C to stop)",
                      flush=True)
        except OSError as err:  # EADDRINUSE, EACCES, ENOTFOUND for --host
            say(prog, message(err))
            return EXIT_ERROR
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()


def listen_options(host: str, port: int | None, path: str | None) -> dict[str, Any]:
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
    handlers = on_signals(lambda _signum: room.close())
    try:
        try:
            server.listen({"port": port, "host": host})
        except (TypeError, ValueError) as exc:  # an address argparse could not check
            err.write_line(f"{prog}: {message(exc)}")
            return EXIT_USAGE
        try:
            # 'close' instead: stopped before it was listening.
            if wait_first(server, "listening", "close") == "listening":
                out.write_line(f"chat server listening on {where(server.address())} "
                               "(Ctrl-C to stop)")
        except OSError as exc:  # EADDRINUSE, EACCES, ENOTFOUND for --host
            err.write_line(f"{prog}: {message(exc)}")
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
        client = remote(sock)
        sock.on("error", lambda err: errors.write_line(f"{prog}: {client}: {message(err)}"))
        sock.pipe(sock)

    server = net.createServer(on_connection)

    def stop() -> None:
        server.close()
        server.closeAllConnections()

    try:
        return _serve(server, listen_options(host, port, path), "echo server", prog, stop)
    finally:
        errors.close()


