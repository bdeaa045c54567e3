"""``gnet chat`` and ``gnet echo``: gnet servers plus what a process adds.

One line on stdout once listening, one line on stderr and status 1 when
listening fails (EADDRINUSE), and SIGINT/SIGTERM handled through
``gevent.signal_handler``, so Ctrl-C runs a clean stop in a greenlet instead
of raising KeyboardInterrupt wherever the hub happens to be (which would
print a traceback).

The options every server takes: ``tls`` (gnet.tls's server options, from
``--tls --cert --key``: members and echo clients speak TLS, and a client
whose handshake fails is one line on stderr, as a client's reset is),
``proxy_protocol`` (a PROXY v1/v2 header is required from loopback peers:
a balancer such as HAProxy in front; chat's join lines then name the
advertised client, and a missing or bad header is one line on stderr) and
``workers`` (N processes serving one port: see :mod:`gnet.cli.workers`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
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
    wait_first,
    where,
)
from gnet.cli.secure import describe
from gnet.cli.workers import WorkerLink, is_worker, run_primary

__all__ = ("listen_options", "make_server", "run_chat", "run_echo")


def listen_options(host: str, port: int | None, path: str | None) -> dict[str, Any]:
    if path is not None:
        # A socket file left by a crashed server is replaced; a live one is not.
        return {"path": path, "removeStale": True}
    return {"port": port, "host": host}


def make_server(tls: dict[str, Any] | None = None, proxy_protocol: bool = False) -> net.Server:
    """A server for chat or echo: TLS with ``tls``'s options, PROXY headers required with
    ``proxy_protocol``; connections are for the caller to take."""
    options: dict[str, Any] = {}
    if proxy_protocol:
        options["proxyProtocol"] = True
    if tls is not None:
        from gnet import tls as tls_module

        server: net.Server = tls_module.createServer({**options, **tls})
        return server
    return net.createServer(options)


def _report_client_errors(server: net.Server, write: Callable[[str], None], prog: str) -> None:
    """A failed TLS handshake or a bad PROXY header: one line each, the server goes on."""
    def on_tls_error(err: BaseException, sock: Any) -> None:
        write(f"{prog}: {remote(sock)}: {describe(err)}")

    def on_proxy_error(err: BaseException, info: Any) -> None:
        peer = "a local client"
        if isinstance(info, dict) and info.get("remoteAddress") is not None:
            peer = where({"address": info["remoteAddress"], "port": info["remotePort"]})
        write(f"{prog}: {peer}: {describe(err)}")

    server.on("tlsClientError", on_tls_error)
    server.on("proxyError", on_proxy_error)


def _listen(server: net.Server, listen: dict[str, Any], announce: Callable[[str], None],
            fail: Callable[[str], None], what: str) -> int | None:
    """Listen and say so; None once listening, else the exit status (``fail`` has the line)."""
    try:
        server.listen(listen)
    except (TypeError, ValueError) as err:  # an address argparse could not check
        fail(message(err))
        return EXIT_USAGE
    try:
        # 'close' instead: stopped before it was listening.
        if wait_first(server, "listening", "close") == "listening":
            announce(f"{what} listening on {where(server.address())} (Ctrl-C to stop)")
    except OSError as err:  # EADDRINUSE, EACCES, ENOTFOUND for --host
        fail(message(err))
        return EXIT_ERROR
    return None


def run_chat(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, prog: str = "gnet",
             name_timeout: float = NAME_TIMEOUT_MS, idle_timeout: float = IDLE_TIMEOUT_MS,
             max_connections: int | None = None, rate_limit: float = RATE_LIMIT,
             tls: dict[str, Any] | None = None, proxy_protocol: bool = False,
             workers: int | None = None, argv: Sequence[str] | None = None) -> int:
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
        tls: ``gnet.tls.createServer`` options (``cert`` and ``key``):
            members connect over TLS.
        proxy_protocol: Require a PROXY protocol header from loopback
            peers; join lines then read ``name joined from HOST:PORT``
            with the client the header advertised.
        workers: Serve from this many worker processes sharing the port,
            members of every worker in one room (:mod:`gnet.cli.workers`).
        argv: The command line the workers run (``sys.argv[1:]``).

    Returns:
        The exit status: 0 once stopped, 1 if listening failed (3: some
        worker had to be killed).
    """
    if workers is not None and not is_worker():
        return run_primary("chat server", list(sys.argv[1:] if argv is None else argv),
                           workers, prog, chat=True)
    out, err = log_to_stdio()
    link: WorkerLink | None = None
    log: Callable[[str], object] | None = None
    if workers is not None:
        chat_log = logging.getLogger("gnet.chat")
        link = WorkerLink(lambda: room.close())
        prefix = f"[worker {link.id}] "
        log = lambda line: chat_log.info("%s", prefix + line)  # noqa: E731
    room = ChatRoom(log, name_timeout=name_timeout, idle_timeout=idle_timeout,
                    max_connections=max_connections, rate_limit=rate_limit,
                    server=make_server(tls, proxy_protocol), show_address=proxy_protocol,
                    relay=None if link is None else link.send)
    server = room.server
    _report_client_errors(server, err.write_line, prog)
    handlers: list[Any] = []
    if link is None:
        # room.close() never raises and never waits for output: a signal always stops.
        handlers = on_signals(lambda _signum: room.close())

        def announce(line: str) -> None:
            out.write_line(line)

        def fail(text: str) -> None:
            err.write_line(f"{prog}: {text}")
    else:
        worker = link
        worker.on_event = room.hear

        def announce(line: str) -> None:
            pass  # the primary says it once every worker listens

        def fail(text: str) -> None:
            worker.send({"t": "error", "text": text})
    try:
        status = _listen(server, {"port": port, "host": host}, announce, fail, "chat server")
        if status is not None:
            return status
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()
        if link is not None:
            link.close()
        for name, log_handler in (("gnet.chat", out), ("gnet", err)):
            logging.getLogger(name).removeHandler(log_handler)
            logging.getLogger(name).propagate = True
            log_handler.close()


def run_echo(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, path: str | None = None, *,
             prog: str = "gnet", tls: dict[str, Any] | None = None,
             proxy_protocol: bool = False, workers: int | None = None,
             argv: Sequence[str] | None = None) -> int:
    """Serve an echo server (``socket.pipe(socket)``) until SIGINT or SIGTERM.

    Every byte a client sends comes back, with backpressure; a client's FIN
    ends its echo. A client's error (a reset, a broken pipe, a failed TLS
    handshake, a bad PROXY header) is one line on stderr, written without
    ever blocking the server, and ends only that client. On a signal the
    server stops accepting and hangs up on every client at once.

    Args:
        host: Address to listen on (ignored with ``path``).
        port: Port to listen on; 0 picks a free one.
        path: Listen on this Unix socket path instead of TCP.
        prog: Name that prefixes error lines on stderr.
        tls: ``gnet.tls.createServer`` options (``cert`` and ``key``).
        proxy_protocol: Require a PROXY protocol header from loopback peers.
        workers: Serve from this many worker processes sharing the port.
        argv: The command line the workers run (``sys.argv[1:]``).

    Returns:
        The exit status: 0 once stopped, 1 if listening failed (3: some
        worker had to be killed).
    """
    if workers is not None and not is_worker():
        return run_primary("echo server", list(sys.argv[1:] if argv is None else argv),
                           workers, prog)
    # Never blocks: a stderr nobody reads loses lines, never the echo.
    errors = LineHandler(None if sys.stderr is None else 2)

    def on_connection(sock: net.Socket) -> None:
        client = remote(sock)
        sock.on("error", lambda err: errors.write_line(f"{prog}: {client}: {describe(err)}"))
        sock.pipe(sock)

    server = make_server(tls, proxy_protocol)
    server.on("secureConnection" if tls is not None else "connection", on_connection)
    _report_client_errors(server, errors.write_line, prog)

    def stop() -> None:
        server.close()
        server.closeAllConnections()

    link: WorkerLink | None = None
    handlers: list[Any] = []
    if workers is None:
        handlers = on_signals(lambda _signum: stop())

        def announce(line: str) -> None:
            print(line, flush=True)

        def fail(text: str) -> None:
            errors.write_line(f"{prog}: {text}")
    else:
        worker = link = WorkerLink(stop)

        def announce(line: str) -> None:
            pass  # the primary says it once every worker listens

        def fail(text: str) -> None:
            worker.send({"t": "error", "text": text})
    try:
        status = _listen(server, listen_options(host, port, path), announce, fail,
                         "echo server")
        if status is not None:
            return status
        net.run()
        return EXIT_OK
    finally:
        for handler in handlers:
            handler.cancel()
        if link is not None:
            link.close()
        errors.close()
