"""The ``gnet`` command: the chat server and netcat-style tools, built on gnet.

::

    gnet chat    [--host H] [--port P] [limits]        the chat room of gnet.chat
    gnet echo    [--host H] [--port P] | --unix PATH   an echo server
    gnet connect HOST PORT | --unix PATH               stdin to a connection, it to stdout
    gnet chat|echo --tls --cert C --key K, --workers N, --proxy-protocol
    gnet connect --tls [--ca FILE] [--insecure] [--servername N] HOST PORT
    gnet listen  [--host H] PORT | --unix PATH         the same, for one accepted connection
    gnet echo --udp, connect --udp HOST PORT, listen --udp PORT   the same over UDP (nc -u)

``python -m gnet`` is the same command. Servers bind 127.0.0.1 unless told
otherwise (``--host 0.0.0.0`` or ``--host ::`` is explicit). docs/cli.md is
the user's page; the exit status is in :data:`EXIT_STATUS`.

Layout: this module parses the command line; :mod:`gnet.cli.servers` runs
chat and echo, :mod:`gnet.cli.tcp` connect and listen (Node's
``process.stdin.pipe(socket); socket.pipe(process.stdout)`` on
:mod:`gnet.process`), :mod:`gnet.cli.udp` their UDP forms, and
:mod:`gnet.cli.common` holds what they share (exit statuses, messages,
signal handling); :mod:`gnet.cli.secure` turns ``--tls``'s files into
gnet.tls options and :mod:`gnet.cli.workers` runs ``--workers`` (the
primary, and each worker's link to it). Each ``run_*`` function is the command as a call that
returns the exit status, for programs that embed one (the examples do).
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import gnet as net
from gnet.chat import IDLE_TIMEOUT_MS, NAME_TIMEOUT_MS, RATE_LIMIT, default_max_connections
from gnet.cli.common import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_STATUS,
    EXIT_USAGE,
    SIGNAL_BASE,
    say,
)
from gnet.cli.secure import SetupError, server_options
from gnet.cli.servers import run_chat, run_echo
from gnet.cli.tcp import run_connect, run_listen
from gnet.cli.udp import run_udp_connect, run_udp_echo, run_udp_listen

__all__ = (
    "DEFAULT_HOST",
    "DEFAULT_PORT",
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


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    """--tls --cert --key, --proxy-protocol and --workers: what chat and echo share."""
    parser.add_argument("--tls", action="store_true",
                        help="serve TLS with --cert and --key (PEM files)")
    parser.add_argument("--cert", metavar="FILE", help="certificate chain, PEM (with --tls)")
    parser.add_argument("--key", metavar="FILE", help="private key, PEM (with --tls)")
    parser.add_argument("--proxy-protocol", action="store_true",
                        help="require a PROXY protocol v1 or v2 header (HAProxy's send-proxy) "
                             "on every connection, from loopback peers only; clients are "
                             "known by the address it advertises")
    parser.add_argument("--workers", metavar="N", type=_count, default=None,
                        help="serve from N worker processes sharing the port (gnet.cluster); "
                             "a worker that dies is replaced, SIGHUP to the primary replaces "
                             "them one at a time (a rolling restart), SIGTERM or Ctrl-C stops "
                             "them gracefully")


def _server_tls(args: argparse.Namespace) -> dict[str, Any] | None:
    """The TLS options, checked before anything listens or forks (raises SetupError)."""
    if not args.tls:
        if args.cert is not None or args.key is not None:
            args.parser.error("--cert and --key go with --tls")
        return None
    if args.cert is None or args.key is None:
        args.parser.error("--tls needs --cert FILE and --key FILE")
    options: dict[str, Any] = server_options(args.cert, args.key)
    return options


def _setup_failed(args: argparse.Namespace, err: SetupError) -> int:
    if err.status == EXIT_USAGE:
        args.parser.error(err.text)
    say("gnet", err.text)
    return err.status


def _cmd_chat(args: argparse.Namespace) -> int:
    try:
        tls = _server_tls(args)
    except SetupError as err:
        return _setup_failed(args, err)
    return run_chat(args.host, args.port, name_timeout=args.name_timeout,
                    idle_timeout=args.idle_timeout, max_connections=args.max_connections,
                    rate_limit=args.rate_limit, tls=tls, proxy_protocol=args.proxy_protocol,
                    workers=args.workers, argv=args.argv)


def _add_udp(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--udp", action="store_true", help=what)


def _cmd_echo(args: argparse.Namespace) -> int:
    if args.udp:
        if args.unix is not None:
            args.parser.error("--udp and --unix do not go together")
        if args.tls or args.proxy_protocol or args.workers is not None:
            args.parser.error("--udp does not go with --tls, --proxy-protocol or --workers")
        return run_udp_echo(args.host, args.port)
    if args.unix is not None and args.workers is not None:
        # The cluster shares TCP sockets only; each worker would bind the path.
        args.parser.error("--workers needs a TCP port, not --unix")
    try:
        tls = _server_tls(args)
    except SetupError as err:
        return _setup_failed(args, err)
    return run_echo(args.host, args.port, args.unix, tls=tls,
                    proxy_protocol=args.proxy_protocol, workers=args.workers, argv=args.argv)


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
        if args.unix is not None or args.check or args.tls:
            parser.error("--udp does not go with --unix, --check or --tls")
        return run_udp_connect(args.host, args.port, timeout=args.timeout, verbose=args.verbose)
    if not args.tls and (args.ca is not None or args.insecure or args.servername is not None):
        parser.error("--ca, --insecure and --servername go with --tls")
    if args.insecure and args.ca is not None:
        parser.error("--insecure verifies nothing: it does not go with --ca")
    return run_connect(args.host, args.port, args.unix, timeout=args.timeout, check=args.check,
                       verbose=args.verbose, tls=args.tls, ca=args.ca, insecure=args.insecure,
                       servername=args.servername)


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
        "  gnet connect 127.0.0.1 8124    # in two or three other terminals\n"
        "  gnet chat --tls --cert cert.pem --key key.pem\n"
        "  gnet connect --tls --ca ca.pem localhost 8124\n"
        "  gnet chat --workers 4          # four processes, one room\n"
        "  gnet chat --proxy-protocol     # behind HAProxy's send-proxy(-v2)",
        _cmd_chat,
    )
    _add_host(chat)
    _add_server_options(chat)
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
        "  printf 'ping\\n' | gnet connect 127.0.0.1 9000   # prints ping\n"
        "  gnet echo --tls --cert cert.pem --key key.pem --port 9443\n"
        "  gnet echo --workers 2 --port 9000",
        _cmd_echo,
    )
    _add_host(echo)
    _add_server_options(echo)
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
        "  gnet connect --check --timeout 500 db 5432 && echo up\n"
        "  gnet connect --tls example.com 443        # openssl s_client -quiet\n"
        "  gnet connect --tls --ca ca.pem --servername db.internal 10.0.0.5 5432",
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
    connect.add_argument("--tls", action="store_true",
                         help="speak TLS (ncat --ssl): the server's certificate is verified "
                              "against the system's roots (or --ca) and its name against "
                              "--servername or HOST")
    connect.add_argument("--ca", metavar="FILE",
                         help="trust the certificates of this PEM file instead of the system's")
    connect.add_argument("--insecure", action="store_true",
                         help="verify neither the certificate chain nor the name (said on "
                              "stderr)")
    connect.add_argument("--servername", metavar="NAME",
                         help="name to send (SNI) and to check the certificate against "
                              "(default: HOST, when it is a name)")

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
    # What --workers starts again in each worker.
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        # Only before the signal handlers are in place (a Ctrl-C at start-up).
        return SIGNAL_BASE + signal.SIGINT
    return status
