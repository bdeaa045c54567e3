"""A line-based chat room on gnet: the server behind ``gnet chat``.

Each line a member sends goes to every other member. The first line a
client sends is its name; after that, every line is said to the room as
``name: line``. Joins and leaves are announced as ``* name joined`` and
``* name left``. Any line-based client works: ``nc``, ``telnet``,
``gnet connect``.

Theory of operation
-------------------
One :class:`Member` per connection holds its name, its unfinished line and
its outbox. The room is built to hold up against hostile clients: every
resource one client can make the server spend is bounded, and each bound is
a named constant (the defaults) or a :class:`ChatRoom` argument (a
``gnet chat`` flag).

Reading. 'data' chunks are split on ``\\n`` by searching each chunk once;
the bytes after the last newline wait in a bytearray (appended to, never
re-copied). A line longer than :data:`MAX_LINE` bytes, counted before any
``\\r`` is stripped (one ``\\r`` of a CRLF ending is allowed on top), gets
the sender a goodbye: reading stops at once (``pause()``), the goodbye is
flushed and the connection destroyed, so the rest of a 100 MB line is never
read. A line cut off by the client's end of input (``printf 'name\\nmsg' |
nc``) is still a line.

Rate. Each member has a token bucket of ``rate_limit`` lines a second
(holding up to :data:`RATE_BURST_S` seconds' worth). A member out of tokens
is paused: the rest of its chunk waits, reading stops (TCP pushes back on
the flooder) and a timer resumes it when the next token is due. Nothing it
says is lost; nobody else waits for it.

Writing. Messages for a member are appended to its outbox (one bytearray,
not one queued object per message) and flushed once the event that made
them is handled, at most :data:`FLUSH_CHUNK` bytes handed to the socket at
a time and the next piece only once that one is out. A member's memory is
therefore its outbox plus one chunk; a member whose outbox and socket
buffer together pass ``max_backlog`` bytes (a client that stopped reading)
is dropped.

Names. A name is 1 to :data:`MAX_NAME` printable characters
(``str.isprintable``: no control, format or separator characters), without
``:`` and not starting with ``*`` (so ``name: line`` and ``* notices``
cannot be forged), and in one script. Names are unique up to look-alikes
(:func:`name_key`): case, compatibility forms and widths (NFKC + casefold),
Cyrillic and Greek letters that look Latin, and ``0``/``O``,
``1``/``l``/``I``/``i``, ``rn``/``m``, ``vv``/``w``, ``cl``/``d``. Taken
names are found in a dict, in O(1). A client gets :data:`MAX_NAME_TRIES`
tries, and ``name_timeout`` ms, to pick one.

Text. Lines are decoded as UTF-8 (bad bytes become U+FFFD) and every C0
and C1 control character (ESC, BEL, ``\\r``, NUL...), DEL, the bidi
overrides and isolates, and the line and paragraph separators become
U+FFFD before the line is relayed or logged; a tab becomes a space. What
members see is the text that was typed, never terminal commands.

Rooms in other processes. With a ``relay`` (``gnet chat --workers``),
what members say also goes to the other rooms, and theirs comes here
through :meth:`ChatRoom.hear`. The relay bounds what it holds for a room
that does not keep up (:mod:`gnet.cli.workers`: 1 MiB, then lines for that
room are dropped and counted); it then tells the room how many lines were
lost, and the room tells its members (``* N lines said on other workers
were lost: this server fell behind``) and its log, so nothing accepted
from a member goes missing without a word.

Connections. At most ``max_connections`` clients are in the room, named
or not; the next one is told the room is full and hung up on. A connection
without traffic either way for ``idle_timeout`` ms is said goodbye.

Logging. The room's log (joins, leaves, drops, errors, shutdown) goes to
``log``, by default the logger ``gnet.chat`` at INFO. :class:`LineHandler`
is a logging handler that never blocks and never raises: a full pipe drops
lines (and counts them), a closed one is given up. ``gnet chat`` logs
through it, so an unread or closed stdout neither freezes the room nor
cuts members off, and a stop signal always stops it.

:meth:`ChatRoom.close` tells everyone the server is going away and hangs up
on whoever is still there :data:`GRACE_MS` later.

Use it from Python as any gnet server::

    import logging
    import gnet as net
    from gnet.chat import ChatRoom

    logging.basicConfig(level=logging.INFO, format='%(message)s')
    room = ChatRoom()
    room.server.listen(8124, '127.0.0.1')
    net.run()
"""

from __future__ import annotations

import heapq
import logging
import os
import select
import sys
import unicodedata
from collections.abc import Callable
from time import monotonic
from typing import Any

from gnet.errors import InvalidArgTypeError
from gnet.loop import Timeout, clearTimeout, setTimeout
from gnet.server import Server, createServer
from gnet.socket import Socket
from gnet.validate import validate_int, validate_number, validate_timeout

__all__ = (
    "FLUSH_CHUNK",
    "GRACE_MS",
    "IDLE_TIMEOUT_MS",
    "MAX_BACKLOG",
    "MAX_CONNECTIONS",
    "MAX_LINE",
    "MAX_NAME",
    "MAX_NAME_TRIES",
    "NAME_TIMEOUT_MS",
    "RATE_BURST_S",
    "RATE_LIMIT",
    "ChatRoom",
    "LineHandler",
    "Member",
    "clean_text",
    "default_max_connections",
    "log_to_stdio",
    "name_key",
    "name_problem",
)

logger = logging.getLogger("gnet.chat")

# Longest line accepted, in bytes without the newline (a CRLF line may have
# one '\r' more). Without a limit, a client that never sends a newline would
# grow its buffer here for ever.
MAX_LINE = 4096
# Bytes waiting for a member that does not read (its outbox plus its
# socket's buffer): beyond this it is dropped, so one stalled reader cannot
# make the server hold everyone's messages.
MAX_BACKLOG = 1024 * 1024
# Longest name, in characters: names prefix every line, keep them short.
MAX_NAME = 32
# Names a client may try before it is hung up on: each refusal is a reply,
# and a client that never reads must not collect replies without end.
MAX_NAME_TRIES = 10
# After close(), members whose program does not hang up are cut off this
# many milliseconds later.
GRACE_MS = 1000
# A client that has not picked a name this long after connecting is hung up
# on: a connection that only holds a place in the room (slowloris).
NAME_TIMEOUT_MS = 30_000
# A connection without traffic either way this long is said goodbye. An
# hour: a reader in a quiet room is not an attacker, but a dead peer whose
# FIN never came should not hold a place for ever.
IDLE_TIMEOUT_MS = 3_600_000
# Clients in the room at once, named or not. Each costs a descriptor; the
# default also stays below the process's descriptor limit (see
# default_max_connections()), so those already in are always served.
MAX_CONNECTIONS = 1000
# Lines a second one member may say, on average (0: no limit). Humans type
# a line or two a second; a paste may come at once (the burst below).
RATE_LIMIT = 50
# The bucket holds this many seconds' worth of lines: 200 at the default
# rate, so a pasted block of 200 lines goes out at once.
RATE_BURST_S = 4
# The most handed to a member's socket at once: what a member costs is its
# outbox plus one such chunk, never a queue of every message.
FLUSH_CHUNK = 64 * 1024
# Descriptors kept for the process itself (stdio, the listener, gevent's
# loop) when maxConnections is derived from RLIMIT_NOFILE.
_RESERVED_FDS = 32

_NAME_HINT = (f"Please pick another name (1 to {MAX_NAME} characters, not taken, "
              "no ':' or leading '*'):\n").encode()


# -- text -------------------------------------------------------------------------------

_REPLACEMENT = "\ufffd"
# Characters a terminal obeys rather than shows, or that reorder or break
# the line around them: C0 controls, DEL, C1 controls, the bidi embeddings,
# overrides, isolates and marks, and the line and paragraph separators.
_CONTROL_CODES = (
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F,
    *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029,
)
_CLEAN = {code: _REPLACEMENT for code in _CONTROL_CODES}
_CLEAN[0x09] = " "  # a tab is harmless, and a space reads the same


def clean_text(data: bytes) -> str:
    """``data`` decoded as UTF-8, with every control character made harmless.

    Bad UTF-8 becomes U+FFFD; so do C0 and C1 controls (ESC, BEL, ``\\r``,
    NUL...), DEL, bidi controls and line/paragraph separators; a tab
    becomes a space. Printable text (any script, emoji, combining marks)
    is kept as it is.
    """
    return data.decode("utf-8", "replace").translate(_CLEAN)


# Letters of other scripts that look like Latin ones (after casefold), and
# digits and symbols that look like letters. Not Unicode's full confusables
# table (TR39 needs a data file of 6,000+ entries the standard library lacks):
# the look-alikes that matter in a chat room's names.
_LOOKALIKES = str.maketrans(
    # Cyrillic: a ve ie io ze i je ka em en o er es te u ha dze komi-de qa we palochka
    # shha straight-u komi-sje
    "\u0430\u0432\u0435\u0451\u0437\u0456\u0458\u043a"
    "\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445"
    "\u0455\u0501\u051b\u051d\u04cf\u04bb\u04af\u050d"
    # Greek: alpha beta epsilon zeta eta iota kappa mu nu omicron rho tau upsilon chi
    # lunate-sigma yot
    "\u03b1\u03b2\u03b5\u03b6\u03b7\u03b9\u03ba\u03bc"
    "\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03f2\u03f3"
    # digits and symbols
    "01|!5$i",
    "abee3ljkmhopctyxsdqwlhyg"
    "abezhlkmnoptyxcj"
    "olllssl",
)
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def name_key(name: str) -> str:
    """The form two names are compared in: equal keys look alike.

    NFKC (fullwidth and compatibility forms), casefold, Cyrillic and Greek
    letters that look Latin, look-alike digits and symbols (``0``/``o``;
    ``1``, ``|``, ``!``, ``i`` and ``l`` are one letter, since a capital I
    looks like an l), and the pairs ``rn``/``m``, ``vv``/``w``, ``cl``/``d``;
    spaces are ignored.
    """
    key = unicodedata.normalize("NFKC", name).casefold()
    key = key.translate(_LOOKALIKES).replace(" ", "")
    for pair, letter in _SEQUENCES:
        key = key.replace(pair, letter)
    return key


def _script(char: str) -> str | None:
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    if not char.isalpha():
        return None
    word = unicodedata.name(char, "").split(" ", 1)[0]
    return word if word in _SCRIPTS else "OTHER"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a name (not counting "taken"), or None if it can."""
    if not name or len(name) > MAX_NAME:
        return f"1 to {MAX_NAME} characters"
    if not name.isprintable() or _REPLACEMENT in name:
        return "printable characters only"
    if ":" in name or name.startswith("*"):
        return "no ':' or leading '*'"
    scripts = {_script(char) for char in unicodedata.normalize("NFKC", name)} - {None, "OTHER"}
    if len(scripts) > 1:
        return "letters of one script only"
    return None


def _is_tls(server: Server) -> bool:
    # Imported here: a plain room never loads the ssl module.
    if "gnet.tls.server" not in sys.modules:
        return False
    from gnet.tls.server import Server as TLSServer
    return isinstance(server, TLSServer)


def _where(socket: Socket) -> str:
    host = socket.remoteAddress
    if host is None:
        return "a local client"
    return f"[{host}]:{socket.remotePort}" if ":" in host else f"{host}:{socket.remotePort}"


# -- logging ------------------------------------------------------------------------------


class LineHandler(logging.Handler):
    """A logging handler that writes lines to a descriptor and never blocks.

    Before each write the descriptor is polled; what it cannot take now
    waits in a buffer of at most ``max_pending`` bytes, retried every
    :attr:`RETRY_MS` ms (a gnet timer that does not keep ``gnet.run()``
    alive). When the buffer is full, lines are dropped and counted in
    :attr:`dropped`; once the reader catches up, a line says how many were
    lost. A descriptor that fails (EPIPE: the reader is gone; EBADF) is given
    up for good, and every later line counts as dropped. Nothing here ever
    raises into the caller or prints a logging error. Control characters
    are made harmless (:func:`clean_text`), and a line is cut at
    ``max_line`` bytes.

    Each write is at most PIPE_BUF (4096) bytes, which a pipe that polls
    writable takes whole, so a poll-then-write never blocks on a pipe, a
    regular file or a socket. A terminal whose reader stopped (Ctrl-S) may
    still block a write in rare cases; gnet chat is meant to log to pipes,
    files or the journal.

    Args:
        fd: The descriptor to write to (1 for stdout), or None to drop
            everything (a closed stdout).
        max_pending: Bytes held while the descriptor is full.
        max_line: The longest line written, in bytes.
    """

    RETRY_MS = 100
    _WRITE_MAX = 4096  # PIPE_BUF on Linux: a pipe write of this much is atomic

    def __init__(self, fd: int | None, max_pending: int = 64 * 1024,
                 max_line: int = 1024) -> None:
        super().__init__()
        self.fd = fd
        self.max_pending = max_pending
        self.max_line = max_line
        self.dropped = 0
        self.broken = fd is None
        self._pending = bytearray()
        self._unreported = 0
        self._retry: Timeout | None = None
        self.setFormatter(logging.Formatter("%(message)s"))

    # A record of more lines than this (a long traceback) is cut short.
    MAX_LINES = 100

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.dropped += 1
            return
        # A traceback keeps its lines; each one is made harmless on its own.
        for line in text.split("\n")[:self.MAX_LINES]:
            self.write_line(line)

    def write_line(self, text: str) -> None:
        """Queue one line (made harmless and cut to ``max_line``) and write what fits."""
        if self.broken:
            self.dropped += 1
            return
        data = text.translate(_CLEAN).encode("utf-8", "replace")[:self.max_line] + b"\n"
        if len(self._pending) + len(data) > self.max_pending:
            self.dropped += 1
            self._unreported += 1
            self._arm()
            return
        self._pending += data
        self.flush()

    def handleError(self, record: logging.LogRecord) -> None:
        self.dropped += 1

    def flush(self) -> None:
        """Write what the descriptor takes now, without waiting."""
        pending = self._pending
        fd = self.fd
        while (pending or self._unreported) and not self.broken and fd is not None:
            if not self._writable(fd):
                self._arm()
                return
            if not pending:
                note = f"({self._unreported} log lines dropped: the output was full)\n"
                self._unreported = 0
                pending += note.encode()
            try:
                with memoryview(pending) as view:
                    sent = os.write(fd, view[:self._WRITE_MAX])
            except (BlockingIOError, InterruptedError):
                self._arm()
                return
            except OSError:
                self._give_up()
                return
            del pending[:sent]

    def _writable(self, fd: int) -> bool:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        try:
            events = poller.poll(0)
        except OSError:
            self._give_up()
            return False
        for _fd, mask in events:
            if mask & (select.POLLERR | select.POLLNVAL):
                self._give_up()
                return False
            if mask & select.POLLOUT:
                return True
        return False

    def _give_up(self) -> None:
        # EPIPE (nobody reads any more), EBADF: the lines have nowhere to go.
        self.broken = True
        self.dropped += len(self._pending.splitlines()) + self._unreported
        self._pending = bytearray()
        self._unreported = 0

    def _arm(self) -> None:
        if self._retry is None and not self.broken:
            self._retry = setTimeout(self._retry_now, self.RETRY_MS).unref()

    def _retry_now(self) -> None:
        self._retry = None
        self.flush()

    def close(self) -> None:
        """One last write of what fits now; the rest is dropped."""
        self.flush()
        if self._retry is not None:
            clearTimeout(self._retry)
            self._retry = None
        super().close()


def _stdio_fd(stream: Any, fd: int) -> int | None:
    # A descriptor that was closed when the process started (`>&-`; Python
    # then sets sys.stdout to None) may have been reused since, by gevent's
    # loop or by a client's socket: never write to it.
    return None if stream is None else fd


def log_to_stdio() -> tuple[LineHandler, LineHandler]:
    """Send the room's log to stdout and gnet's errors to stderr, never blocking.

    The logger ``gnet.chat`` gets a :class:`LineHandler` on descriptor 1 at
    INFO (and stops propagating), the logger ``gnet`` one on descriptor 2
    at WARNING. What ``gnet chat`` uses; returns both handlers.
    """
    out = LineHandler(_stdio_fd(sys.stdout, 1))
    err = LineHandler(_stdio_fd(sys.stderr, 2))
    err.setLevel(logging.WARNING)
    chat = logging.getLogger("gnet.chat")
    chat.addHandler(out)
    chat.setLevel(logging.INFO)
    chat.propagate = False
    gnet_logger = logging.getLogger("gnet")
    gnet_logger.addHandler(err)
    gnet_logger.propagate = False
    return out, err


# -- the room -------------------------------------------------------------------------------


def default_max_connections() -> int:
    """:data:`MAX_CONNECTIONS`, or fewer when the descriptor limit is lower."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft - _RESERVED_FDS))


class Member:
    """One connection to the room: its socket, its name, its buffers.

    Attributes:
        socket: The member's connection.
        name: The name it gave; None until it gave a free one.
        key: ``name_key(name)``, the room's index of taken names.
        partial: Bytes received after the last newline.
        outbox: Bytes said to this member, not handed to its socket yet.
        leaving: True once the room said goodbye; later lines are dropped.
        tries: Names refused so far.
    """

    __slots__ = ("_claim", "_held", "_held_at", "_in_flight", "_name_timer", "_queued", "_stamp",
                 "_timer", "_tokens", "key", "leaving", "name", "outbox", "partial", "socket",
                 "tries")

    def __init__(self, socket: Socket, tokens: float) -> None:
        self.socket = socket
        self.name: str | None = None
        self.key: str | None = None
        self.partial = bytearray()
        self.outbox = bytearray()
        self.leaving = False
        self.tries = 0
        # The token bucket of the rate limit.
        self._tokens = tokens
        self._stamp = monotonic()
        # A chunk not processed yet because the bucket ran dry, and where.
        self._held: bytes | None = None
        self._held_at = 0
        # A chunk is in the socket's buffer: the next waits until it is out.
        self._in_flight = False
        # In the room's list of outboxes to flush.
        self._queued = False
        # The rate limit's resume, or the goodbye's grace.
        self._timer: Timeout | None = None
        # Until it has a name.
        self._name_timer: Timeout | None = None
        # The ref of its name's claim while the relay has not answered (0: none).
        self._claim = 0


class ChatRoom:
    """A chat room and the :class:`gnet.Server` that serves it.

    Args:
        log: Called with each line of the room's log (joins, leaves,
            drops, connection errors, shutdown); by default the logger
            ``gnet.chat`` at INFO (configure logging, or use
            :func:`log_to_stdio`, to see it).
        name_timeout: Milliseconds a client has to pick a name (0: no limit).
        idle_timeout: Milliseconds without traffic either way before a
            connection is said goodbye (0: no limit).
        max_connections: Clients in the room at once, named or not; None
            for :func:`default_max_connections`.
        rate_limit: Lines a second one member may say on average, with a
            burst of :data:`RATE_BURST_S` seconds' worth (0: no limit).
        max_backlog: Bytes waiting for a member that does not read before
            it is dropped.
        server: The server to serve the room on, not listening yet: a
            :class:`gnet.Server` made with options (``proxyProtocol``) or
            a :class:`gnet.tls.Server`, whose members join on
            'secureConnection' (after the handshake: a failed one never
            takes a place in the room). By default ``createServer()``.
        show_address: Log join lines as ``name joined from HOST:PORT``
            (the socket's ``remoteAddress``: behind a PROXY header, the
            client the balancer advertised).
        relay: Join rooms in other processes into one (``gnet chat
            --workers`` relays through the cluster's primary): called with
            each event this room's members make, as a dict JSON can carry,
            for the other rooms to :meth:`hear`. With a relay a name is
            claimed before it is given (``{'t': 'claim', 'name', 'ref'}``)
            and the member waits, reading nothing more, until the answer
            comes back through :meth:`hear`; see there.

    Raises:
        gnet.errors.InvalidArgTypeError, gnet.errors.OutOfRangeError: a
            limit that is not a number, or negative.

    Attributes:
        server: The room's server, not listening yet: call
            ``room.server.listen(...)`` as with any ``gnet.Server``.
        members: Every open connection, named or not, by socket.
        names: The named members, by :func:`name_key` of their names.
    """

    def __init__(self, log: Callable[[str], object] | None = None, *,
                 name_timeout: float = NAME_TIMEOUT_MS, idle_timeout: float = IDLE_TIMEOUT_MS,
                 max_connections: int | None = None, rate_limit: float = RATE_LIMIT,
                 max_backlog: int = MAX_BACKLOG, server: Server | None = None,
                 show_address: bool = False,
                 relay: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.name_timeout = validate_timeout(name_timeout, "name_timeout")
        self.idle_timeout = validate_timeout(idle_timeout, "idle_timeout")
        self.max_connections = (default_max_connections() if max_connections is None
                                else validate_int(max_connections, "max_connections", 1))
        self.rate_limit = float(validate_number(rate_limit, "rate_limit", 0))
        self.max_backlog = validate_int(max_backlog, "max_backlog", 1)
        self.log = logger.info if log is None else log
        self.members: dict[Socket, Member] = {}
        self.names: dict[str, Member] = {}
        self.show_address = bool(show_address)
        self.relay = relay
        if server is None:
            server = createServer()
        elif not isinstance(server, Server):
            raise InvalidArgTypeError("server", "gnet.Server", server)
        self.server: Server = server
        # A TLS server's members join once the handshake is done.
        event = "secureConnection" if _is_tls(server) else "connection"
        server.on(event, self._on_connection)
        self._closing = False
        self._dirty: list[Member] = []
        # Names asked of the relay and not answered yet: by ref, and their keys.
        self._claims: dict[int, tuple[Member, str, str]] = {}
        self._claimed_keys: set[str] = set()
        self._last_ref = 0

    # -- saying things ----------------------------------------------------------------------

    def _log(self, line: str) -> None:
        # The log must never take the room down (a log= callable that raises).
        try:
            self.log(line)
        except Exception:
            pass

    def broadcast(self, message: bytes, sender: Member | None = None) -> None:
        """Send ``message`` to every named member except ``sender``.

        A member whose unread backlog passes ``max_backlog`` is dropped.
        """
        self._broadcast(message, sender)
        self._flush()

    def _broadcast(self, message: bytes, sender: Member | None = None) -> None:
        # Into the outboxes only: the handler that said it flushes them once
        # it is done, so a chunk of many lines costs one write per member.
        for member in self.names.values():
            if member is not sender and not member.leaving:
                self._send(member, message)

    def _send(self, member: Member, message: bytes) -> None:
        """Append to ``member``'s outbox (flushed by _flush); drop it if it lags too far."""
        outbox = member.outbox
        outbox += message
        if len(outbox) + member.socket.writableLength > self.max_backlog:
            self._drop(member)
            return
        if not member._queued:
            member._queued = True
            self._dirty.append(member)

    def _drop(self, member: Member) -> None:
        unread = len(member.outbox) + member.socket.writableLength
        member.leaving = True
        member.outbox = bytearray()
        member.socket.destroy()
        self._log(f"{member.name or 'a client'} dropped: {unread} bytes unread")

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        for member in dirty:
            member._queued = False
            self._pump(member)

    def _pump(self, member: Member) -> None:
        """Hand ``member``'s outbox to its socket, one chunk in the socket at a time."""
        sock = member.socket
        outbox = member.outbox
        while outbox and not member._in_flight:
            if not sock.writable:
                outbox.clear()
                return
            if len(outbox) <= FLUSH_CHUNK:
                chunk = bytes(outbox)
                outbox.clear()
            else:
                with memoryview(outbox) as view:
                    chunk = bytes(view[:FLUSH_CHUNK])
                del outbox[:FLUSH_CHUNK]
            sock.write(chunk)
            if sock.writableLength:
                # The kernel did not take it all: hear when it has.
                member._in_flight = True
                sock.write(b"", lambda err, m=member: self._written(m, err))

    def _written(self, member: Member, err: BaseException | None) -> None:
        member._in_flight = False
        if err is None:
            self._pump(member)

    def _goodbye(self, member: Member, reason: str) -> None:
        """Tell ``member`` why, stop reading from it, and hang up once that is out."""
        if member.leaving:
            return
        member.leaving = True
        sock = member.socket
        sock.pause()  # whatever it sends next is not wanted
        self._end(member, f"* {reason}; goodbye\n".encode())
        clearTimeout(member._timer)
        # A peer that does not read would keep the goodbye (and the socket) here.
        member._timer = setTimeout(sock.destroy, GRACE_MS).unref()

    def _end(self, member: Member, last: bytes) -> None:
        """What waits in the outbox, then ``last``, then FIN; destroyed once sent."""
        sock = member.socket
        if member.outbox and sock.writable:
            sock.write(bytes(member.outbox))
        member.outbox = bytearray()
        if sock.writable:
            sock.end(last, lambda _err: sock.destroy())

    def close(self) -> None:
        """Shut the room down: accept no one, tell every member, then hang up.

        Members still connected :data:`GRACE_MS` ms later are cut off, so a
        client that never hangs up cannot keep the server alive. A second
        call cuts everyone off at once. Never raises.
        """
        if self._closing:
            self.server.closeAllConnections()
            return
        self._closing = True
        self.server.close()
        setTimeout(self.server.closeAllConnections, GRACE_MS).unref()
        for member in list(self.members.values()):
            member.leaving = True
            for timer in (member._timer, member._name_timer):
                clearTimeout(timer)
            member._timer = member._name_timer = None
            try:
                self._end_politely(member)
            except Exception:
                member.socket.destroy()
        self._log("shutting down")

    def _end_politely(self, member: Member) -> None:
        sock = member.socket
        if member.outbox and sock.writable:
            sock.write(bytes(member.outbox))
        member.outbox = bytearray()
        # Not destroyed once sent: the member may hang up first, in its own time.
        if sock.writable:
            sock.end(b"* the server is shutting down\n")

    # -- one connection ---------------------------------------------------------------------

    def _on_connection(self, socket: Socket) -> None:
        if len(self.members) >= self.max_connections:
            socket.on("error", lambda _err: None)  # a reset from a client turned away
            socket.end(f"* the room is full ({self.max_connections} connections); "
                       "try again later\n", lambda _err: socket.destroy())
            setTimeout(socket.destroy, GRACE_MS).unref()
            return
        member = Member(socket, self._burst())
        self.members[socket] = member
        socket.on("data", lambda chunk: self._on_data(member, chunk))
        socket.on("end", lambda: self._on_end(member))
        # A reset or a broken pipe: say so; 'close' follows and announces the leave.
        socket.on("error", lambda err: self._log(
            f"{member.name or 'a client'}: {getattr(err, 'message', err)}"))
        socket.on("close", lambda _had_error: self._on_close(member))
        if self.idle_timeout:
            socket.setTimeout(self.idle_timeout, lambda: self._goodbye(
                member, f"idle for {self.idle_timeout / 1000:g} s"))
        if self.name_timeout:
            member._name_timer = setTimeout(self._name_timed_out, self.name_timeout,
                                            member).unref()
        socket.write(b"Welcome to the chat! What is your name?\n")

    def _burst(self) -> float:
        return max(1.0, self.rate_limit * RATE_BURST_S)

    def _name_timed_out(self, member: Member) -> None:
        member._name_timer = None
        if member.name is None:
            self._goodbye(member, f"no name given in {self.name_timeout / 1000:g} s")

    def _on_data(self, member: Member, chunk: bytes) -> None:
        if member.leaving:
            return  # whatever comes after a goodbye is dropped
        if member._held is not None:
            # Paused, but a chunk came already: keep it after the held one.
            member._held = member._held[member._held_at:] + chunk
            member._held_at = 0
            return
        self._feed(member, chunk, 0)
        self._flush()

    def _feed(self, member: Member, data: bytes, pos: int, limited: bool = True) -> None:
        """Say every whole line of ``data[pos:]``; keep the rest as the partial line.

        ``limited``: lines take tokens of the rate limit (a member's last
        chunk, held when it ended its side, is said at once).
        """
        partial = member.partial
        limit = MAX_LINE
        end = len(data)
        while pos < end:
            if member.leaving:
                return
            newline = data.find(b"\n", pos)
            if newline < 0:
                size = len(partial) + end - pos
                # One byte more than the limit may be a CRLF's '\r', still to come.
                if size > limit + 1 or (size == limit + 1 and data[end - 1] != 0x0D):
                    self._too_long(member)
                    return
                partial += memoryview(data)[pos:]
                return
            size = len(partial) + newline - pos
            if size > limit:
                last = data[newline - 1] if newline > pos else partial[-1]
                if size > limit + 1 or last != 0x0D:
                    self._too_long(member)
                    return
            if limited and not self._take_token(member):
                self._hold(member, data, pos)
                return
            if partial:
                partial += memoryview(data)[pos:newline]
                line = bytes(partial)
                partial.clear()
            else:
                line = data[pos:newline]
            pos = newline + 1
            self._on_line(member, line)
            if member._claim:
                # Its name is being claimed: the rest waits for the answer.
                member._held = data
                member._held_at = pos
                member.socket.pause()
                return

    def _take_token(self, member: Member) -> bool:
        rate = self.rate_limit
        if not rate:
            return True
        now = monotonic()
        tokens = min(self._burst(), member._tokens + (now - member._stamp) * rate)
        member._stamp = now
        if tokens >= 1.0:
            member._tokens = tokens - 1.0
            return True
        member._tokens = tokens
        return False

    def _hold(self, member: Member, data: bytes, pos: int) -> None:
        """Out of tokens: stop reading; say the rest when the next token is due."""
        member._held = data
        member._held_at = pos
        member.socket.pause()
        # Wait for a tenth of a second's worth of lines rather than one: a
        # flooder then costs ten timers a second, not one per line.
        wanted = min(self._burst(), max(1.0, self.rate_limit / 10))
        wait_ms = (wanted - member._tokens) / self.rate_limit * 1000
        clearTimeout(member._timer)
        member._timer = setTimeout(self._resume, max(wait_ms, 1.0), member).unref()

    def _resume(self, member: Member) -> None:
        member._timer = None
        data, pos = member._held, member._held_at
        member._held = None
        if member.leaving or data is None:
            return
        self._feed(member, data, pos)
        self._flush()
        if member._held is None and not member.leaving:
            member.socket.resume()

    def _too_long(self, member: Member) -> None:
        member.partial = bytearray()
        self._goodbye(member, f"line too long (the limit is {MAX_LINE} bytes)")

    def _on_line(self, member: Member, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]  # CRLF: nc -C, telnet
        if member.name is not None:
            text = clean_text(line)
            self._broadcast(member.name.encode() + b": " + text.encode() + b"\n", member)
            if self.relay is not None:
                self._tell({"t": "say", "name": member.name, "text": text})
            return
        self._pick_name(member, line)

    def _pick_name(self, member: Member, line: bytes) -> None:
        name = " ".join(line.decode("utf-8", "replace").split())
        problem = name_problem(name)
        key = name_key(name) if problem is None else None
        if problem is None and (key in self.names or key in self._claimed_keys):
            problem = "taken"
        if problem is not None:
            self._refuse(member)
            return
        assert key is not None
        if self.relay is not None:
            # The other rooms' names are known where the relay leads: ask there.
            self._last_ref += 1
            member._claim = self._last_ref
            self._claims[self._last_ref] = (member, name, key)
            self._claimed_keys.add(key)
            self._tell({"t": "claim", "name": name, "ref": self._last_ref})
            return
        self._join(member, name, key, [])

    def _refuse(self, member: Member) -> None:
        member.tries += 1
        if member.tries >= MAX_NAME_TRIES:
            self._goodbye(member, f"no valid name in {MAX_NAME_TRIES} tries")
            return
        self._send(member, _NAME_HINT)

    def _join(self, member: Member, name: str, key: str, elsewhere: list[str]) -> None:
        member.name = name
        member.key = key
        clearTimeout(member._name_timer)
        member._name_timer = None
        others = [m.name for m in self.names.values() if m.name is not None]
        others += elsewhere
        self.names[key] = member
        shown = heapq.nsmallest(50, others)
        here = ", ".join(shown) or "nobody else"
        if len(others) > len(shown):
            here += f" and {len(others) - len(shown)} more"
        self._send(member, f"Hello {name}! Here now: {here}.\n".encode())
        self._broadcast(f"* {name} joined\n".encode(), member)
        if self.show_address:
            self._log(f"{name} joined from {_where(member.socket)}")
        else:
            self._log(f"{name} joined")

    def _tell(self, event: dict[str, Any]) -> None:
        # Relay to the other rooms; like the log, it never takes this room down.
        if self.relay is not None:
            try:
                self.relay(event)
            except Exception:
                logger.exception("gnet.chat: the relay failed")

    def hear(self, event: Any) -> None:
        """Take an event from the relay (see ``relay``): other rooms' members, or an answer.

        What the relay says, as dicts:

        * ``{'t': 'claimed', 'ref': ref, 'ok': bool, 'names': [...]}``
          answers this room's ``claim``: ``ok`` when no room has a name
          that looks like it (the relay is the one judge, so two rooms
          never give look-alike names); ``names`` are the members of the
          other rooms, for the greeting. The member then joins (the relay
          tells the other rooms ``join`` as it answers ``ok``), or is asked
          for another name; then what it sent meanwhile is read.
        * ``{'t': 'join' | 'leave', 'name': ...}``: a member of another
          room came or went; announced here.
        * ``{'t': 'say', 'name': ..., 'text': ...}``: a member of another
          room said a line; said here.
        * ``{'t': 'lost', 'count': N}``: the relay dropped N lines (says,
          joins, leaves) meant for this room, which was not keeping up
          (see :mod:`gnet.cli.workers`); every member is told
          ``* N lines said on other workers were lost: this server fell
          behind``, and the log says it once.

        This room tells the relay ``claim``, ``say`` (``name``, ``text``)
        and ``leave`` (``name``, also for a name claimed by a member that
        left before the answer came). Anything else is ignored.
        """
        if not isinstance(event, dict) or self._closing:
            return
        kind, name = event.get("t"), event.get("name")
        if kind == "claimed":
            self._claimed(event)
            return
        if kind == "lost":
            count = event.get("count")
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                self._log(f"{count} lines said on other workers were lost: "
                          "this server fell behind")
                self.broadcast(f"* {count} lines said on other workers were lost: "
                               "this server fell behind\n".encode())
            return
        if not isinstance(name, str) or name_problem(name) is not None:
            return
        if kind == "say":
            text = event.get("text")
            if isinstance(text, str):
                self.broadcast(f"{name}: {clean_text(text.encode())}\n".encode())
        elif kind == "join":
            self.broadcast(f"* {name} joined\n".encode())
        elif kind == "leave":
            self.broadcast(f"* {name} left\n".encode())

    def _claimed(self, event: dict[str, Any]) -> None:
        ref = event.get("ref")
        entry = self._claims.pop(ref, None) if isinstance(ref, int) else None
        if entry is None:
            return
        member, name, key = entry
        self._claimed_keys.discard(key)
        member._claim = 0
        ok = event.get("ok") is True
        if member.leaving or member.socket not in self.members:
            if ok:  # gone before the answer: the name is free again
                self._tell({"t": "leave", "name": name})
            return
        names = event.get("names")
        if ok:
            elsewhere = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
            self._join(member, name, key, elsewhere)
        else:
            self._refuse(member)
        # What it sent while it waited.
        data, pos = member._held, member._held_at
        member._held = None
        if data is not None and not member.leaving:
            self._feed(member, data, pos)
        self._flush()
        if member._held is None and not member.leaving and not member._claim:
            member.socket.resume()

    def _on_end(self, member: Member) -> None:
        # The client half-closed (end of its input). What the rate limit
        # still holds is said now (the socket closes soon after, and the
        # lines were accepted: at most one chunk); a line it did not end
        # with a newline is still a line; then the member leaves (gnet ends
        # our side once this returns, so the outbox goes out first).
        if member._claim:
            # Its name is not confirmed yet, and the connection closes now:
            # it leaves unsaid what it sent after the name.
            member._held = None
            member.leaving = True
        held, held_at = member._held, member._held_at
        if held is not None and not member.leaving:
            member._held = None
            clearTimeout(member._timer)
            member._timer = None
            self._feed(member, held, held_at, limited=False)
        if not member.leaving:
            if member.partial:
                line = bytes(member.partial)
                member.partial = bytearray()
                self._on_line(member, line)
            member.leaving = True
        sock = member.socket
        if member.outbox and sock.writable:
            sock.write(bytes(member.outbox))
        member.outbox = bytearray()
        self._flush()

    def _on_close(self, member: Member) -> None:
        for timer in (member._timer, member._name_timer):
            clearTimeout(timer)
        member._timer = member._name_timer = None
        member._held = None
        member.leaving = True
        member.outbox = bytearray()
        self.members.pop(member.socket, None)
        if member.key is not None and self.names.get(member.key) is member:
            del self.names[member.key]
            self.broadcast(f"* {member.name} left\n".encode())
            self._log(f"{member.name} left")
            self._tell({"t": "leave", "name": member.name})
