"""How a stream socket comes to be connected: ``connect()``, its attempt, 'connect'.

Theory of operation
-------------------
A socket gets its connection one of three ways, and all of them end in
``_adopt``, which makes the connected OS socket the socket's transport
(:mod:`gnet.transport`), records the peer and applies the TCP options
remembered so far (:mod:`gnet.sockopts`):

* ``connect()``: reads Node's overloads (:mod:`gnet.arguments`), moves the
  lifecycle to connecting and starts a :class:`~gnet.connector.Connector`,
  which resolves the name and makes the attempts (happy eyeballs). The
  connector reaches the socket only through :class:`_ConnectTarget`, the
  declared hooks of :class:`~gnet.interfaces.IConnectTarget`: 'lookup' and
  the 'connectionAttempt*' events are queued, then ``_connected`` or
  ``_connect_failed`` (which destroys the socket with the error);
* a server's accept (:func:`gnet.socket.accept`);
* ``new Socket({fd})`` (:class:`gnet.Socket`'s constructor).

``_connected`` queues 'connect' and 'ready', starts reading unless paused,
and sends what was written while connecting (or the FIN of an ``end()``
called then). A ``resetAndDestroy()`` called while connecting waits for
'connect', as in Node, then resets. ``connect()`` on a destroyed socket
starts a new connection (Node allows it; not on a socket an already-aborted
``signal`` destroyed): the socket's ``_generation`` goes up, so events the
old connection still has queued change nothing, and ``_begin()`` sets every
per-connection field anew.

``_adopt`` is the seam :class:`gnet.tls.TLSSocket` overrides: it wraps the
new transport in TLS and starts the handshake.

Where code runs: ``connect()`` in the caller's greenlet, which it never
blocks (a name lookup runs in the connector's own greenlet); the
:class:`_ConnectTarget` hooks and ``_connected`` in the hub, where they only
change state and queue events; ``_adopt`` in the hub too, but for
``new Socket({fd})``, in the caller's greenlet; 'lookup', 'connect', 'ready'
and the attempt events in a worker greenlet, from the socket's event queue.

:class:`Connecting` is a part of :class:`gnet.Socket` (a mixin with no state
of its own: the socket's slots and class defaults hold it);
:class:`gnet.parts.SocketPart` declares what it needs from the socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from zope.interface import implementer

from gnet.arguments import check_connect, normalize_connect
from gnet.blocklist import block_list_option
from gnet.connector import Connector
from gnet.dispatch import check_thread
from gnet.errors import InvalidArgValueError
from gnet.interfaces import IConnectTarget
from gnet.parts import SocketPart
from gnet.sockopts import delay_ms
from gnet.state import CONNECTING, OPEN

__all__ = ("Connecting",)

S = TypeVar("S", bound="Connecting")

# The options of new Socket() and those of connect(). net.connect() and
# createConnection() take both kinds in one dict, and so does connect()
# (gnet.socket and gnet.tls.socket use these lists too).
_SOCKET_OPTIONS = (
    "allowHalfOpen", "highWaterMark", "readableHighWaterMark", "writableHighWaterMark",
    "noDelay", "keepAlive", "keepAliveInitialDelay", "fd", "readable", "writable",
    "objectMode", "readableObjectMode", "writableObjectMode", "pauseOnCreate", "signal",
    "blockList",
)
_CONNECT_OPTIONS = (
    "port", "host", "path", "localAddress", "localPort", "family", "hints", "lookup",
    "autoSelectFamily", "autoSelectFamilyAttemptTimeout", "noDelay", "keepAlive",
    "keepAliveInitialDelay", "timeout",
)
# Documented by Node 22/24 for new Socket() / connect(), not implemented.
_UNSUPPORTED_OPTIONS = {
    "onread": "read with 'data' listeners (gnet reads into its own 64 KiB chunks)",
}


class Connecting(SocketPart):
    """Node's ``socket.connect()``, ``connecting`` and ``pending``; 'lookup' and 'connect'."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.parts)
        __slots__ = ()

    def connect(self: S, *args: Any, **kwargs: Any) -> S:
        """Open the connection (Node's ``socket.connect``); returns self.

        Overloads: ``connect(options[, connectListener])``,
        ``connect(path[, connectListener])``,
        ``connect(port[, host][, connectListener])``, or keyword arguments
        (``port``, ``host``, ``path``, ``localAddress``, ``localPort``,
        ``family``, ``lookup``, ``autoSelectFamily``, ``noDelay``,
        ``keepAlive``, ``keepAliveInitialDelay``). ``host`` defaults to
        'localhost'. Names resolve through gevent's cooperative resolver and
        'lookup' is emitted for them; IP literals connect at once.

        Raises:
            MissingArgsError: no port and no path.
            InvalidArgTypeError / SocketBadPortError: a bad port.
        """
        check_thread("connect")
        call = normalize_connect(args, kwargs, _SOCKET_OPTIONS + _CONNECT_OPTIONS,
                                 _UNSUPPORTED_OPTIONS)
        if self._life.phase in (CONNECTING, OPEN) and not self._life.teardown:
            raise InvalidArgValueError("socket", self, "is already connecting or connected")
        target = check_connect(call)
        options, callback, path = call.options, target.callback, target.path
        host, port, family, lookup = target.host, target.port, target.family, target.lookup
        # Node reads blockList from new Socket(); given to connect() it counts too.
        options["blockList"] = (block_list_option(options.get("blockList"))
                                or self._block_list)
        if options.get("noDelay"):
            self._no_delay = True
        if options.get("keepAlive"):
            self._keep_alive = (True, delay_ms(options.get("keepAliveInitialDelay")),
                                None, None)
        if self._life.teardown:
            if self._signal_aborted:
                return self  # destroyed by an already-aborted signal
            # A new connection: what the old one still has queued is stale.
            self._generation += 1
            self._begin()
        if callback is not None:
            self.once("connect", callback)
        self._life = self._life.connect()
        self._sync_active()
        connector = Connector(_ConnectTarget(self), options)
        self._attempt = connector
        if path is not None:
            connector.start_unix(path)
        else:
            connector.start_tcp(str(host), port or 0, family or 0, lookup)
        return self

    def _adopt(self, sock: Any, peer: Any = None) -> None:
        # The connection is up: its OS socket becomes this socket's transport.
        t = self._t = sock.attach()
        self._life = self._life.open()
        if t.is_tcp:
            if peer is None:
                try:
                    peer = sock.getpeername()
                except OSError:
                    peer = None
            self._remote = peer
            if self._no_delay:
                t.set_no_delay(True)
            keep_alive = self._keep_alive
            if keep_alive is not None:
                t.set_keep_alive(*keep_alive)

    def _connected(self, sock: Any) -> None:
        # Hub (IConnectTarget.connected): the connect attempt succeeded.
        self._attempt = None
        self._adopt(sock)
        if self._reset_on_connect:
            # Node resets once 'connect' was seen, not before.
            self._queue(self._emit_connect_then_reset)
            return
        self._queue(self._emit_connect)
        self._start_io()

    def _start_io(self) -> None:
        # Hub or caller: the connection is up. Read unless paused, send what
        # was written while connecting, and FIN if end() came first.
        if self._flowing is not False:
            self._start_reading()
        if self._wq and not self._corked:
            self._flush()
        elif self._life.write and not self._wq:
            self._shutdown()
        self._sync_active()

    def _emit_connect(self) -> None:
        if self._life.teardown:
            return
        self.emit("connect")
        self.emit("ready")

    def _emit_connect_then_reset(self) -> None:
        self._emit_connect()
        self._reset_on_connect = False
        self.resetAndDestroy()

    def _connect_failed(self, err: BaseException) -> None:
        self._attempt = None
        # Writes queued while connecting learn why they never went out.
        self._destroy(err, True)

    def _emit_lookup(self, err: Any, address: Any, family: Any, host: str) -> None:
        self.emit("lookup", err, address, family, host)

    @property
    def connecting(self) -> bool:
        """True between ``connect()`` and 'connect'."""
        return self._life.phase == CONNECTING

    @property
    def pending(self) -> bool:
        """True until connected, and again after close, as in Node."""
        return self._t is None or self._life.phase == CONNECTING


@implementer(IConnectTarget)
class _ConnectTarget:
    # What a Connector may do to the socket it connects: the declared hooks
    # of IConnectTarget, all called in the hub.
    __slots__ = ("socket",)

    def __init__(self, socket: Connecting) -> None:
        self.socket = socket

    @property
    def attempted(self) -> list[str] | None:
        return self.socket.autoSelectFamilyAttemptedAddresses

    @attempted.setter
    def attempted(self, value: list[str] | None) -> None:
        self.socket.autoSelectFamilyAttemptedAddresses = value

    def lookup(self, err: Any, address: Any, family: Any, host: str) -> None:
        self.socket._queue(self.socket._emit_lookup, err, address, family, host)

    def connected(self, raw: Any) -> None:
        self.socket._connected(raw)

    def failed(self, err: BaseException) -> None:
        self.socket._connect_failed(err)

    def waiting_changed(self, waiting: bool) -> None:
        self.socket._sync_active()

    # Node 20.12/22's happy-eyeballs events, queued in order with 'lookup',
    # 'connect' and 'error', so a listener added after connect() returns
    # sees every one.
    def attempt(self, ip: Any, port: Any, family: Any) -> None:
        self.socket._queue(self.socket.emit, "connectionAttempt", ip, port, family)

    def attempt_failed(self, ip: Any, port: Any, family: Any, error: BaseException) -> None:
        self.socket._queue(self.socket.emit, "connectionAttemptFailed", ip, port, family, error)

    def attempt_timeout(self, ip: Any, port: Any, family: Any) -> None:
        self.socket._queue(self.socket.emit, "connectionAttemptTimeout", ip, port, family)
