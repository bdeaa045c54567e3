"""A line-based chat room on gnet: the server behind ``gnet chat``.

Each line a member sends goes to every other member. The first line a
client sends is its name; after that, every line is said to the room as
``name: line``. Joins and leaves are announced as ``* name joined`` and
``* name left``. Any line-based client works: ``nc``, ``telnet``,
``gnet connect``.

Theory of operation
-------------------
One :class:`Member` per connection holds its name and its unfinished line.
'data' chunks are split on ``\\n`` (a trailing ``\\r`` is dropped, for
``nc -C`` and telnet); whole lines are said to the room, the rest waits for
the next chunk. Two limits keep one client from growing the server's
memory: a line longer than :data:`MAX_LINE` bytes (with or without its
newline) gets the sender a goodbye and a hang-up, and a member whose unread
backlog passes :data:`MAX_BACKLOG` bytes (a client that stopped reading) is
dropped. :meth:`ChatRoom.close` tells everyone the server is going away and
hangs up on whoever is still there :data:`GRACE_MS` later.

Use it from Python as any gnet server::

    import gnet as net
    from gnet.chat import ChatRoom

    room = ChatRoom()
    room.server.listen(8124, '127.0.0.1')
    net.run()
"""

from __future__ import annotations

from collections.abc import Callable

from gnet.loop import setTimeout
from gnet.server import Server, createServer
from gnet.socket import Socket

__all__ = ("GRACE_MS", "MAX_BACKLOG", "MAX_LINE", "MAX_NAME", "ChatRoom", "Member")

# Longest line accepted, in bytes without the newline. Without a limit, a
# client that never sends a newline would grow its buffer here for ever.
MAX_LINE = 4096
# Bytes waiting for a member that does not read: beyond this it is dropped,
# so one stalled reader cannot make the server hold everyone's messages.
MAX_BACKLOG = 1024 * 1024
# Longest name, in characters: names prefix every line, keep them short.
MAX_NAME = 32
# After close(), members whose program does not hang up are cut off this
# many milliseconds later.
GRACE_MS = 1000


def _print(line: str) -> None:
    print(line, flush=True)


class Member:
    """One connection to the room: its socket, its name, its unfinished line.

    Attributes:
        socket: The member's connection.
        name: The name it gave; None until it gave a free one.
        partial: Bytes received after the last newline.
        leaving: True once the room said goodbye; later lines are dropped.
    """

    __slots__ = ("leaving", "name", "partial", "socket")

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.name: str | None = None
        self.partial = b""
        self.leaving = False


class ChatRoom:
    """A chat room and the :class:`gnet.Server` that serves it.

    Args:
        log: Called with each line of the room's log (joins, leaves,
            connection errors, shutdown); prints to stdout by default.

    Attributes:
        server: The room's server, not listening yet: call
            ``room.server.listen(...)`` as with any ``gnet.Server``.
        members: Every open connection, named or not, by socket.
    """

    def __init__(self, log: Callable[[str], object] | None = None) -> None:
        self.log = _print if log is None else log
        self.members: dict[Socket, Member] = {}
        self.server: Server = createServer(self._on_connection)
        self._closing = False

    def broadcast(self, message: bytes, sender: Member | None = None) -> None:
        """Send ``message`` to every named member except ``sender``.

        A member whose unread backlog passes :data:`MAX_BACKLOG` is dropped.
        """
        for member in list(self.members.values()):
            if member is sender or member.name is None or member.leaving:
                continue
            member.socket.write(message)
            if member.socket.writableLength > MAX_BACKLOG:
                member.socket.destroy()

    def close(self) -> None:
        """Shut the room down: accept no one, tell every member, then hang up.

        Members still connected :data:`GRACE_MS` ms later are cut off, so a
        client that never hangs up cannot keep the server alive. A second
        call cuts everyone off at once.
        """
        if self._closing:
            self.server.closeAllConnections()
            return
        self._closing = True
        self.log("shutting down")
        self.server.close()
        for member in self.members.values():
            member.leaving = True
            member.socket.end(b"* the server is shutting down\n")
        setTimeout(self.server.closeAllConnections, GRACE_MS).unref()

    # -- one connection -------------------------------------------------------

    def _on_connection(self, socket: Socket) -> None:
        member = Member(socket)
        self.members[socket] = member
        socket.write(b"Welcome to the chat! What is your name?\n")
        socket.on("data", lambda chunk: self._on_data(member, chunk))
        # A reset or a broken pipe: say so; 'close' follows and announces the leave.
        socket.on("error", lambda err: self.log(
            f"{member.name or 'a client'}: {getattr(err, 'message', err)}"))
        socket.on("close", lambda _had_error: self._on_close(member))

    def _on_data(self, member: Member, chunk: bytes) -> None:
        if member.leaving:
            return  # whatever comes after a too-long line is dropped
        *lines, member.partial = (member.partial + chunk).split(b"\n")
        for line in lines:
            line = line.rstrip(b"\r")
            if len(line) > MAX_LINE:
                self._too_long(member)
                return
            self._on_line(member, line)
        if len(member.partial.rstrip(b"\r")) > MAX_LINE:
            self._too_long(member)

    def _too_long(self, member: Member) -> None:
        member.leaving = True
        member.socket.end(f"* line too long (the limit is {MAX_LINE} bytes); goodbye\n")

    def _on_line(self, member: Member, line: bytes) -> None:
        if member.name is not None:
            self.broadcast(member.name.encode() + b": " + line + b"\n", member)
            return
        name = line.decode("utf-8", "replace").strip()
        taken = {m.name for m in self.members.values()}
        if not name or len(name) > MAX_NAME or name in taken:
            member.socket.write(f"Please pick another name (1 to {MAX_NAME} characters, "
                                "not taken):\n")
            return
        member.name = name
        others = sorted(str(m.name) for m in self.members.values()
                        if m.name and m is not member)
        member.socket.write(f"Hello {name}! Here now: {', '.join(others) or 'nobody else'}.\n")
        self.broadcast(f"* {name} joined\n".encode(), member)
        self.log(f"{name} joined")

    def _on_close(self, member: Member) -> None:
        del self.members[member.socket]
        if member.name is not None:
            self.broadcast(f"* {member.name} left\n".encode())
            self.log(f"{member.name} left")
