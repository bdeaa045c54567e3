"""gnet.Server: Node's ``net.Server`` as a gevent ``StreamServer``.

Theory of operation
-------------------
A Server is assembled from parts, one concept each, as :class:`gnet.Socket`
is:

* :class:`~gnet.listening.Listening` (:mod:`gnet.listening`): ``listen()``
  and its overloads, gevent's ``start()``, the bind, and 'listening'. It
  runs in the caller's greenlet (a host name is resolved in a greenlet of
  its own) and never blocks it.
* :class:`~gnet.accepting.Accepting` (:mod:`gnet.accepting`): Server's own
  accept loop, in the hub. The listening socket's io watcher calls
  ``_accept_ready``, which accepts up to ``max_accept`` connections per
  wakeup and hands each to ``handle()``, right there in the hub: it only
  wraps the new descriptor in a :class:`gnet.Socket` and schedules the
  'connection' event in a worker greenlet. No greenlet exists per
  connection. With the ``proxyProtocol`` option, ``handle()`` first hands
  the descriptor to a :class:`gnet.proxy_protocol.HeaderReader` (hub, its
  own io watcher and timer), and the Socket is made when the PROXY header
  has been read. What an accept() error does is one table
  (:func:`~gnet.accepting.accept_error_action`).

This module keeps what ties them together: construction (the parts hold no
state of their own: ``__init__`` sets all of it on the instance), the event
queue (every event is emitted in a worker greenlet, in order; a listener
that raises is logged and the server goes on), the open connections and
what their sockets tell the server (:class:`_ConnectionOwner`), ``close()``
and ``stop()``, and Node's property surface.

Of gevent's ``StreamServer`` it keeps the class, its public API and the few
internals listed in the block "What Server takes from gevent" below, the one
list of them, whichever module the code using each lives in.

The 'connection' listeners run outside the socket's own event sequence, so
a listener may serve its socket synchronously (``for chunk in sock``, or
``once(sock, 'data')``) while the socket's events keep flowing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from gevent.event import Event
from gevent.server import StreamServer
from zope.interface import implementer

from gnet.accepting import (
    BACK_OFF as BACK_OFF,
    CLOSE as CLOSE,
    RETRY as RETRY,
    Accepting,
    _is_gevent_handler,
    accept_error_action as accept_error_action,
)
from gnet.addresses import address_info
from gnet.blocklist import block_list_option
from gnet.dispatch import abandon, schedule
from gnet.errors import InvalidArgTypeError, ServerNotRunningError
from gnet.events import EventEmitter
from gnet.interfaces import IConnectionOwner, IServer
from gnet.listening import (
    Listening,
    set_listen_hook as set_listen_hook,
    tcp_listener as tcp_listener,
)
from gnet.loop import Handle, fail_run
from gnet.options import merge_options
from gnet.proxy_protocol import proxy_config
from gnet.socket import Socket, socket_setup
from gnet.validate import validate_function

__all__ = ("Server", "createServer")

logger = logging.getLogger("gnet")

V = TypeVar("V", bound="Server")

_SERVER_OPTIONS = (
    "allowHalfOpen", "pauseOnConnect", "noDelay", "keepAlive", "keepAliveInitialDelay",
    "highWaterMark", "blockList", "proxyProtocol",
)


# --- What Server takes from gevent ------------------------------------------
#
# A gnet.Server is a gevent StreamServer (the contract says so: start(),
# serve_forever(), stop(timeout), started, closed, loop, max_accept,
# stop_timeout keep gevent's meaning). It does not use gevent's accept loop
# (_do_read, do_read, do_handle, _watcher, _timer,
# _start_accepting_if_started): its parts override start()
# (gnet/listening.py), start_accepting() and stop_accepting()
# (gnet/accepting.py) and run their own loop, which is why they come before
# StreamServer in Server's bases. What it still relies on, each a contract
# that tests/test_accept_policy.py checks and the `floor` tox env (gevent
# 23.9.1) runs against the oldest gevent allowed:
#
# 1. StreamServer.__init__(address, spawn=None) sets ``self.loop`` to the
#    hub's loop (Accepting makes the listening socket's io watcher and the
#    back-off timer on it) and ``self._stop_event`` to a set gevent Event,
#    and writes ``self.address`` (the constructor's address). Server routes
#    that write, and the one in Listening._started, to ``_gevent_address``
#    with the ``address`` property, so that ``server.address()`` stays
#    Node's method.
# 2. ``started`` is ``not self._stop_event.is_set()``, and serve_forever()
#    calls ``self.start()`` unless started, waits on ``_stop_event``, then
#    calls ``self.stop()``. Server clears the event when it starts listening
#    (Listening._started) and sets it in close().
# 3. ``closed`` is ``not hasattr(self, 'socket')``. Server keeps its
#    listening socket in the instance ``__dict__`` as ``socket`` (set in
#    Listening._started, accepted from by Accepting) and pops it in close().
# 4. ``max_accept`` (connections per wakeup, 100: Accepting._accept_ready),
#    ``min_delay``/``max_delay`` (which Server redefines; Accepting._back_off
#    reads them) and ``stop_timeout`` (stop()) are class attributes.
#
# And of CPython: ``_socket.socket._accept()`` returns ``(fd, address)``
# without making a socket object (socket.accept() is built on it), which
# lets handle() build the one socket object gnet needs
# (Accepting._accept_ready).


if TYPE_CHECKING:
    _G = TypeVar("_G", bound="_StreamServer")

    class _StreamServer:
        """gevent's ``StreamServer`` as type checkers see it (gevent ships no types).

        Declares what Server keeps of gevent and does not define itself, so
        that a misspelt attribute of a Server is an error rather than Any.
        Server's own ``listen`` and ``start`` (gnet.listening), ``close``,
        ``stop``, ``address``, ``server_host`` and ``server_port`` are declared
        where they are defined.
        At run time ``_StreamServer`` is gevent's class itself.
        """

        #: The listening socket (gevent's), while listening.
        socket: Any
        family: int
        loop: Any
        #: Seconds ``stop()`` and ``serve_forever()`` wait for connections.
        stop_timeout: float
        #: Connections accepted per wakeup of the listening socket.
        max_accept: int

        @property
        def started(self) -> bool:
            """Whether the server is accepting (between ``start()`` and ``stop()``)."""

        @property
        def closed(self) -> bool:
            """Whether the listening socket is closed."""

        def serve_forever(self, stop_timeout: float | None = None) -> None:
            """``start()``, then block until the server is stopped."""

        def __enter__(self: _G) -> _G:
            """``with server:``; ``stop()`` on the way out."""

        def __exit__(self, *args: object) -> None:
            """Calls ``stop()``."""

        # gevent internals Server relies on (see "What Server takes from gevent").
        _stop_event: Any
else:
    _StreamServer = StreamServer


@implementer(IServer)
class Server(Listening, Accepting, _StreamServer, EventEmitter, Handle):
    """A TCP or Unix stream server with Node's events (Node's ``net.Server``).

    Events: 'listening', 'connection'(socket), 'error'(err), 'close',
    'drop'(info), and gnet's 'proxyError'(err, info) (a connection closed
    for its PROXY protocol header; ``info`` as for 'drop'). Also a gevent
    ``StreamServer``: ``start()`` listens on the address given to the
    constructor, ``serve_forever()`` and
    ``stop(timeout)`` keep gevent's meaning (timeout in seconds).

    Args:
        options: Node's server options (a dict) or keyword arguments:
            ``allowHalfOpen``, ``pauseOnConnect``, ``noDelay``,
            ``keepAlive``, ``keepAliveInitialDelay`` (ms), ``highWaterMark``,
            ``blockList`` (a :class:`~gnet.BlockList`: a peer it blocks is closed
            as soon as accepted, with no 'connection' and no 'drop', as Node 22.13;
            behind a PROXY header it applies to the advertised client),
            gnet's ``proxyProtocol`` (``True`` or a dict: ``trusted``, a
            BlockList or list of addresses/subnets allowed to send the
            header, loopback by default; ``timeout`` ms, 3000; ``versions``,
            ``[1, 2]``): every connection must start with a PROXY protocol
            v1/v2 header, read before the Socket and 'connection' (see
            :mod:`gnet.proxy_protocol`).
            gevent style, an address tuple ``(host, port)`` is accepted here
            too and used by ``start()``.
        connectionListener: added as a 'connection' listener. A gevent
            handler instead (two required parameters, ``handle(socket,
            address)``) is served gevent's way: each connection gets a
            greenlet running the handler with a cooperative gevent socket,
            closed when the handler returns, and no 'connection' event.
            The migration path for a gevent ``StreamServer`` app.
    """

    # Node's options and properties, set per instance in __init__; declared
    # here so each gets its snake_case twin (max_connections, ...).
    maxConnections: int | None = None
    allowHalfOpen = False
    pauseOnConnect = False
    noDelay = False
    keepAlive = False
    keepAliveInitialDelay: float = 0
    highWaterMark: int | None = None

    # Tunables, as gevent documents its own.
    #: Accept-error backoff: first and longest delay, in seconds.
    min_delay = 0.01
    max_delay = 1.0

    def __init__(
        self,
        options: Any = None,
        connectionListener: Callable[[Socket], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        address: tuple[str, int] | None = None
        if callable(options) and connectionListener is None:
            options, connectionListener = None, options
        if isinstance(options, tuple):
            address, options = options, None
        opts = merge_options(options, kwargs, _SERVER_OPTIONS)
        EventEmitter.__init__(self)
        self._init_handle()
        StreamServer.__init__(self, address or ("", 0), spawn=None)
        self._start_address = address
        self.allowHalfOpen = bool(opts.get("allowHalfOpen", False))
        self.pauseOnConnect = bool(opts.get("pauseOnConnect", False))
        self.noDelay = bool(opts.get("noDelay", False))
        self.keepAlive = bool(opts.get("keepAlive", False))
        self.keepAliveInitialDelay = opts.get("keepAliveInitialDelay", 0)
        self.highWaterMark = opts.get("highWaterMark")
        # Peers it covers are closed as soon as they are accepted.
        self._block_list = block_list_option(opts.get("blockList"))
        # PROXY protocol (gnet.proxy_protocol): each connection's header is
        # read before its Socket is made.
        self._proxy = proxy_config(opts.get("proxyProtocol"))
        # What every accepted Socket is set up with, checked once here.
        self._socket_setup = socket_setup({
            "allowHalfOpen": self.allowHalfOpen,
            "highWaterMark": self.highWaterMark,
            "noDelay": self.noDelay,
            "keepAlive": self.keepAlive,
            "keepAliveInitialDelay": self.keepAliveInitialDelay,
        })
        #: Refuse connections beyond this many open ones (Node 22: 0 refuses all).
        self.maxConnections = None
        # Accepted sockets whose 'close' has not been emitted yet; of them,
        # _open are not destroyed (what Node counts: getConnections(),
        # maxConnections). A dict with no values, not a set: a set of 5,000
        # holds 32,768 slots of 16 bytes (512 KiB), a dict ~150 KiB.
        self._connections: dict[Socket, None] = {}
        self._open = 0
        self._owner = _ConnectionOwner(self)
        self._listening = False
        self._unix_path: str | None = None
        self._pending: Any = None  # the greenlet resolving a host name for listen()
        self._drained: Event | None = None
        self._accept_delay = self.min_delay
        # A gevent-style handle(socket, address), served gevent's way.
        self._gevent_handler: Callable[..., Any] | None = None
        if connectionListener is not None:
            if _is_gevent_handler(connectionListener):
                self._gevent_handler = connectionListener
            else:
                self.on("connection", connectionListener)

    # ------------------------------------------------------------------
    # Events are emitted in worker greenlets, FIFO.

    def _queue(self, fn: Callable[..., Any], *args: Any) -> None:
        schedule(partial(self._emit_safely, fn, args))

    def _emit_safely(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # A server outlives its listeners' mistakes, and an 'error' with
            # no listener: report, keep serving.
            logger.error("gnet: error in a listener of %r", self, exc_info=exc)

    def _report_error(self, err: BaseException) -> None:
        # Node: a server 'error' nobody listens for crashes the process. Here
        # it ends gnet.run() with that error (status 1 for a script);
        # sockets keep their contained behaviour.
        if self.listenerCount("error"):
            self.emit("error", err)
        else:
            fail_run(err)

    # ------------------------------------------------------------------
    # Closing

    _closed_called = False

    def _connection_closed(self, sock: Socket) -> None:
        if sock not in self._connections:
            return  # given up on by stop(): the server's 'close' came already
        del self._connections[sock]
        if not self._connections:
            drained = self._drained
            if drained is not None:
                drained.set()
            if not self._listening and self._pending is None and self._closed_called:
                self._queue(self._emit_close)

    def close(self: V, callback: Any = None) -> V:
        """Stop accepting; 'close' follows once every connection has closed.

        Node's ``server.close([callback])``: existing connections stay open
        (see ``closeAllConnections()``). ``callback`` runs on 'close', with
        ``ServerNotRunningError`` as its one argument when the server was not
        listening (so give it an optional parameter). A callback that is not
        callable is ignored, as in Node. Returns self.
        """
        running = self._listening or self._pending is not None
        if callable(callback):
            if running:
                self.once("close", callback)
            else:
                self.once("close", lambda: callback(ServerNotRunningError()))
        self._closed_called = True
        if self._pending is not None:
            self._pending.kill(block=False)
            self._pending = None
        if self._listening:
            self._listening = False
            self._stop_event.set()
            self.stop_accepting()
            sock = self.__dict__.pop("socket", None)
            if sock is not None:
                sock.close()
            if self._unix_path is not None:
                try:
                    os.unlink(self._unix_path)
                except OSError:
                    pass
                self._unix_path = None
        self._set_active(False)
        if not self._connections:
            self._queue(self._emit_close)
        return self

    def _emit_close(self) -> None:
        self.emit("close")

    def closeAllConnections(self) -> None:
        """Destroy every open connection (gnet extension; Node has it on http.Server only).

        With ``close()``, the way to stop a server whose clients never hang up.
        """
        for sock in list(self._connections):
            sock.destroy()

    def stop(self, timeout: float | None = None) -> None:
        """gevent's stop: ``close()``, wait up to ``timeout`` **seconds**, then destroy the rest.

        ``timeout`` defaults to ``stop_timeout`` (1 s). Blocks the calling
        greenlet while it waits.

        A connection whose listener is still running when the timeout has
        passed (one that blocks forever, say) is destroyed and given up on:
        the server's 'close' and ``gnet.run()`` no longer wait for it, so
        'close' comes even though that listener may never return. The
        listener's greenlet is left as it is (nothing can safely interrupt
        it); if it returns, that socket's own 'close' follows then, after
        the server's.
        """
        if self._listening or self._pending is not None:
            self.close()
        if timeout is None:
            timeout = self.stop_timeout
        if self._connections:
            self._drained = Event()
            self._drained.wait(timeout)
            self._drained = None
        self.closeAllConnections()
        # Destroyed sockets whose 'close' waits behind a listener that is
        # still running (in another worker greenlet) would hold the server's
        # 'close' and run() for as long as it runs: stop waiting for them.
        stuck = abandon(self._connections) if self._connections else ()
        for sock in stuck:
            sock.unref()
            self._connection_closed(sock)

    def getConnections(self, callback: Callable[..., Any] | None = None) -> Any:
        """How many connections are open.

        Node's ``server.getConnections(callback)``: ``callback(err, count)``
        runs later and self is returned. Without a callback (gnet), returns
        the count.
        """
        if callback is None:
            return self._open
        validate_function(callback, "callback")
        self._queue(callback, None, self._open)
        return self

    def _node_address(self) -> Any:
        """``{'port', 'family', 'address'}``, the path of a Unix server, or None.

        None before listening and after ``close()``, as Node's null.
        """
        if not self._listening:
            return None
        sock = self.__dict__.get("socket")
        if sock is None:
            return None
        return address_info(sock.getsockname(), sock.family)

    # gevent keeps its address tuple in ``self.address``; Node's API has an
    # ``address()`` method. Reading gives Node's method; gevent's writes land
    # in ``_gevent_address``, which server_host/server_port read.
    address = property(
        lambda self: self._node_address,
        lambda self, value: setattr(self, "_gevent_address", value),
        doc="Node's ``server.address()``; gevent's address is server_host/server_port.",
    )

    def _gevent_view(self) -> Any:
        if not self._listening and self._start_address is None:
            return None
        value = self.__dict__.get("_gevent_address")
        return value if isinstance(value, tuple) else None

    @property
    def server_host(self) -> Any:
        """The host the server is bound to (a str), or None; gevent's view."""
        value = self._gevent_view()
        return value[0] if value else None

    @property
    def server_port(self) -> Any:
        """The port the server is bound to (an int), or None; gevent's view."""
        value = self._gevent_view()
        return value[1] if value else None

    @property
    def listening(self) -> bool:
        """Whether the server is accepting connections."""
        return self._listening

    def __repr__(self) -> str:
        where = self._node_address() if self._listening else "not listening"
        return f"<gnet.Server {where}>"

    __str__ = __repr__

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        max_connections = maxConnections
        allow_half_open = allowHalfOpen
        pause_on_connect = pauseOnConnect
        no_delay = noDelay
        keep_alive = keepAlive
        keep_alive_initial_delay = keepAliveInitialDelay
        high_water_mark = highWaterMark
        close_all_connections = closeAllConnections
        get_connections = getConnections
    # --- end of PEP 8 twins ---


def createServer(
    options: Any = None,
    connectionListener: Callable[[Socket], Any] | None = None,
    **kwargs: Any,
) -> Server:
    """Create a :class:`Server` (Node's ``net.createServer``).

    ``createServer([options][, connectionListener])``; options as a dict or
    keyword arguments.

    Raises:
        InvalidArgTypeError: options that are neither a dict nor a function.
    """
    if callable(options) and connectionListener is None:
        options, connectionListener = None, options
    if options is not None and not isinstance(options, dict):
        raise InvalidArgTypeError("options", "dict", options)
    if connectionListener is not None:
        validate_function(connectionListener, "connectionListener")
    return Server(options, connectionListener, **kwargs)


@implementer(IConnectionOwner)
class _ConnectionOwner:
    # What a server's Sockets tell it (the IConnectionOwner hooks).
    __slots__ = ("server",)

    def __init__(self, server: Server) -> None:
        self.server = server

    def connection_destroyed(self, socket: Any) -> None:
        # Node stops counting a socket at destroy, before its 'close'
        # listeners run.
        self.server._open -= 1

    def connection_closed(self, socket: Any) -> None:
        self.server._connection_closed(socket)
