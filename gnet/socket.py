"""gnet.Socket: Node's ``net.Socket`` on gevent's loop.

Theory of operation
-------------------
A Socket is Node's stream semantics over a transport (:mod:`gnet.transport`:
the OS socket and its two gevent io watchers). Watcher callbacks run in the
hub and never block; all events are emitted in a gnet worker greenlet (see
``dispatch.py`` for the execution-context rule), one socket's events one
after another, never inside the call that caused them.

The socket is assembled from parts, one concept each (mixins with no state
of their own, see :mod:`gnet.parts`): the read path (hub -> worker: recv,
the read queue, 'data') is :mod:`gnet.read_side`; the write path (caller ->
kernel: send, the write queue, 'drain', FIN, 'finish') is
:mod:`gnet.write_side`; ``connect()`` and its attempt, up to 'connect', is
:mod:`gnet.connecting`; the idle timeout :mod:`gnet.timeouts`; TCP options
:mod:`gnet.sockopts`; the address properties :mod:`gnet.endpoints`. This
module keeps what ties them together: construction, the fields (every slot
and class-level default), the event queue, teardown, the state properties,
and the hooks a server uses (:func:`accept`, :func:`serve`,
:func:`advertise`).

Events that are not data ('connect', 'drain', 'timeout', 'error', 'close',
write callbacks) go through a second, small event queue that is run before
the read queue, so they are never held back by a paused reader.

The connection's lifecycle is a :class:`~gnet.state.Lifecycle` (phase,
read side, write side, teardown: transitions as a table, applied in one
place), an immutable value the socket replaces at each event; a reconnect
starts from ``Lifecycle()`` again, and ``_begin()`` sets every
per-connection field, for a new socket and a reconnect alike. Events queued
for later ('finish', 'close') carry the connection's ``_generation``, so
one that belongs to a connection before a reconnect changes nothing of the
new one. ``readyState``, ``destroyed``, ``readable``, ``writable`` and
autoDestroy (close once 'end' and 'finish' were both emitted) are read off
the lifecycle.

Teardown is central: every way a socket dies (destroy(), an I/O error, a
failed connect, a listener that raised, autoDestroy) goes through
``_destroy``, which releases the transport, fails what is still queued,
tells the server, and queues 'error' and then 'close', each exactly once.

Servers and connect attempts reach a socket only through declared hooks
(:class:`~gnet.interfaces.IConnectionOwner`,
:class:`~gnet.interfaces.IConnectTarget`, and :func:`accept`/:func:`serve`
below), never through its private fields.
"""

from __future__ import annotations

import _socket
import errno
import logging
import os
import stat
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gevent.hub import Waiter
from zope.interface import implementer

from gnet.abort import add_abort_listener, validate_abort_signal
from gnet.arguments import normalize_connect
from gnet.blocklist import BlockList, block_list_option
from gnet.connecting import _CONNECT_OPTIONS, _SOCKET_OPTIONS, _UNSUPPORTED_OPTIONS, Connecting
from gnet.connector import Connector
from gnet.dispatch import check_thread, get_loop, schedule
from gnet.encodings import Decoder
from gnet.endpoints import Endpoints
from gnet.errors import (
    AbortError,
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidFdTypeError,
    InvalidHandleTypeError,
    MissingArgsError,
    OutOfRangeError,
    SocketClosedBeforeConnectionError,
    SocketClosedError,
    StreamDestroyedError,
    UnsupportedError,
    system_error,
)
from gnet.events import EventEmitter
from gnet.interfaces import IProxyProtocolSocket, ISocket
from gnet.loop import Handle
from gnet.options import merge_options
from gnet.read_side import END, ReadSide
from gnet.sockopts import SocketOptions, delay_ms
from gnet.state import CLOSE_EMITTED, CONNECTING, DESTROYED, NEW, Lifecycle
from gnet.timeouts import Idle, IdleTimeout
from gnet.transport import PipeTransport, StreamTransport
from gnet.validate import validate_number
from gnet.write_side import WriteSide

if TYPE_CHECKING:
    from gnet.server import Server

__all__ = (
    "Socket",
    "connect",
    "createConnection",
    "getDefaultHighWaterMark",
    "setDefaultHighWaterMark",
)

logger = logging.getLogger("gnet")

S = TypeVar("S", bound="Socket")

# Node 22+ default for both directions of a socket.
_default_hwm = 64 * 1024

# A file descriptor is a C int.
_FD_MAX = 2**31 - 1

# Events Node emits on sockets that gnet does not: listening for them fails.
# None left; the check stays for the next name Node adds.
_UNSUPPORTED_EVENTS: dict[str, str] = {}


def getDefaultHighWaterMark() -> int:
    """The ``highWaterMark`` new sockets get (64 KiB, Node 22's default)."""
    return _default_hwm


def setDefaultHighWaterMark(value: int) -> None:
    """Change the ``highWaterMark`` of sockets created from now on (bytes)."""
    global _default_hwm
    _default_hwm = int(validate_number(value, "value", 0))


class _SocketType(type):
    """Socket's metaclass: ``Socket.on``/``Socket.once`` read on the class are Node's statics.

    On :class:`~gnet.events.EventEmitter`, ``on`` and ``once`` are a
    descriptor that is the method on an instance and Node's static
    ``events.on``/``events.once`` on the class, and that costs a Python call
    on every lookup; every accepted connection looks ``on`` up several
    times. Socket keeps the plain methods for its instances and answers
    reads on the class here, so ``net.Socket.once(emitter, name)`` still
    waits, as in Node, where the statics are inherited.
    """

    @property
    def on(cls) -> Any:
        return EventEmitter.on

    @property
    def once(cls) -> Any:
        return EventEmitter.once


@implementer(ISocket, IProxyProtocolSocket)
class Socket(ReadSide, WriteSide, Connecting, IdleTimeout, SocketOptions, Endpoints,
             EventEmitter, Handle, metaclass=_SocketType):
    """A TCP or Unix stream socket with Node's events and Duplex semantics.

    Node: ``new net.Socket([options])``. Events: 'lookup'(err, address,
    family, host), 'connect', 'ready', 'data'(chunk), 'end', 'finish',
    'drain', 'timeout', 'error'(err), 'close'(hadError), in Node's order.

    Args:
        options: Node's options (a dict) or keyword arguments:
            ``allowHalfOpen`` (False), ``highWaterMark`` (64 KiB; also
            ``readableHighWaterMark``, ``writableHighWaterMark``),
            ``noDelay``, ``keepAlive``, ``keepAliveInitialDelay`` (ms),
            ``fd`` (wrap a connected socket's, a pipe's or a FIFO's
            descriptor; ``readable``/``writable`` False end that side at
            once, as for a pipe's write or read end).

    Raises:
        InvalidArgValueError: an ``objectMode`` option (gnet streams carry
            bytes), or an unknown keyword argument.

    The ``signal`` option takes an :class:`~gnet.AbortSignal`: its abort
    destroys the socket with an :class:`~gnet.errors.AbortError` ('error',
    then 'close'), as in Node.

    Differences from Node: there is no ``onread`` option; a socket made with
    an already-aborted ``signal`` is destroyed and never connects; a
    listener may block cooperatively, which holds back only this socket's
    later events.
    """

    __slots__ = (
        "_active", "_refed",
        "_t", "_life", "_owner",
        "_rq", "_rlen", "_eq", "_queued", "_flowing", "_pull",
        "_wq", "_wlen", "_corked", "_need_drain",
        "_error", "_decoder", "_timer",
        "_rhwm", "_whwm", "allowHalfOpen", "bytesRead", "_bytes_written",
        "_remote", "_no_delay", "_keep_alive", "server",
        # Node code keeps its own state on sockets (socket.name = 'alice'):
        # the slot costs one pointer until used. So do the fields below.
        "__dict__",
    )
    # Fields most connections never set (a server's connections: none of
    # them) have class-level defaults instead of slots: one is stored in
    # the instance dict, made on the first write, only when it is set.
    # Each is written only to change it. (8 bytes a connection each; none
    # is read for every chunk, where a slot is the faster read.)
    _waiter: Waiter | None = None  # a greenlet iterating the socket
    # end() callbacks waiting for 'finish' (Node's kOnFinished).
    _onfinished: list[Callable[..., Any]] | None = None
    _attempt: Connector | None = None  # connect() in progress
    _reset_on_connect = False  # resetAndDestroy() while connecting
    _signal_aborted = False  # made with an already-aborted signal
    #: ``['ip:port', ...]`` tried by happy eyeballs, or None when it was not used.
    autoSelectFamilyAttemptedAddresses: list[str] | None = None
    if not TYPE_CHECKING:
        # A connection's on() and once() bind as plain methods (see _SocketType).
        on = EventEmitter.__dict__["on"].method
        once = EventEmitter.__dict__["once"].method
    _flowing: bool | None
    allowHalfOpen: bool
    bytesRead: int
    # Which connection of this socket's life this is: 0, and one more at
    # each reconnect (kept in the instance dict only then).
    _generation = 0
    # The blockList option: connect() checks each address against it.
    _block_list: BlockList | None = None
    # A server's PROXY protocol header (gnet.proxy_protocol.ProxyPeer), set
    # by advertise() before 'connection'; None for every other socket.
    _proxy: Any = None

    def __init__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        opts = merge_options(options, kwargs, _SOCKET_OPTIONS + _CONNECT_OPTIONS,
                             unsupported=_UNSUPPORTED_OPTIONS)
        for key in ("objectMode", "readableObjectMode", "writableObjectMode"):
            if opts.get(key):
                raise InvalidArgValueError(f"options.{key}", opts[key], "is not supported")
        signal = opts.get("signal")
        if signal is not None:
            # Node 20 words it so: stream's addAbortSignal checks it first.
            validate_abort_signal(signal, "signal")
        self._setup(*socket_setup(opts))
        block_list = block_list_option(opts.get("blockList"))
        if block_list is not None:
            self._block_list = block_list
        fd = opts.get("fd")
        if fd is not None:
            if isinstance(fd, bool) or not isinstance(fd, int):
                raise InvalidArgTypeError("options.fd", "int", fd)
            if not 0 <= fd <= _FD_MAX:
                raise OutOfRangeError("options.fd", f">= 0 and <= {_FD_MAX}", fd)
            raw: Any
            try:
                raw = StreamTransport(fileno=fd)
            except OSError as exc:
                if exc.errno != errno.ENOTSOCK:
                    raise system_error(exc, "open") from None
                # Node's guessHandleType: a pipe or FIFO is a Pipe handle;
                # a terminal, a regular file or a device is refused.
                if os.isatty(fd):
                    raise InvalidFdTypeError("TTY") from None
                if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                    raise InvalidFdTypeError("FILE") from None
                raw = PipeTransport(fd)
            else:
                if raw.type != _socket.SOCK_STREAM:
                    raw.detach()
                    raise InvalidFdTypeError(
                        "UDP" if raw.type == _socket.SOCK_DGRAM else "UNKNOWN")
            self._adopt(raw)
            # Node's Duplex options: a side given as false is over from the
            # start (a pipe's read end is made with writable False, its
            # write end with readable False).
            if opts.get("writable") is False:
                self._life = self._life.ending().fin().finish()
            if opts.get("readable") is False:
                self._life = self._life.eof().end()
            elif opts.get("pauseOnCreate"):
                self._flowing = False
            else:
                self._start_reading()
        if signal is not None:
            self._watch_signal(signal)

    def _watch_signal(self, signal: Any) -> None:
        # Node's addAbortSignal for streams: an abort destroys the socket
        # with an AbortError whose cause is the reason ('error', then
        # 'close'). An already-aborted signal destroys it here, and the
        # connect() that follows does nothing (Node 20 connects anyway).
        if signal.aborted:
            self._signal_aborted = True
            self._destroy(AbortError(cause=signal.reason), True)
            return

        def on_abort() -> None:
            self.destroy(AbortError(cause=signal.reason))

        dispose = add_abort_listener(signal, on_abort)
        self.once("close", lambda *_: dispose())

    def _setup(
        self,
        allow_half_open: bool,
        rhwm: int,
        whwm: int,
        no_delay: bool | None,
        keep_alive: tuple[bool, float, float | None, int | None] | None,
    ) -> None:
        # What the socket is, for its whole life: options and listeners.
        EventEmitter.__init__(self)
        self._init_handle()
        self._queued = False
        self._flowing = None
        self._pull = False
        self._corked = 0
        self._decoder: Decoder | None = None  # setEncoding()
        self._timer: Idle | None = None
        self._rhwm = rhwm
        self._whwm = whwm
        self.allowHalfOpen = allow_half_open
        self._no_delay = no_delay
        self._keep_alive = keep_alive
        self.server: Server | None = None
        self._owner: Any = None  # provides IConnectionOwner (a server's)
        self._eq: list[tuple[Any, ...]] | None = None
        self._begin()

    def _begin(self) -> None:
        # What one connection has: set here for a new socket and again, all
        # of it, when a destroyed socket connects anew (Node allows that).
        self._life = Lifecycle()
        self._t: StreamTransport | None = None
        self._rq: list[Any] | None = None
        self._rlen = 0
        if self._pull is not False:
            self._pull_restart()  # a reconnect in pull mode
        self._wq: deque[list[Any]] | None = None
        self._wlen = 0
        self._need_drain = False
        if self._onfinished is not None:
            self._onfinished = None
        self._error: BaseException | None = None
        self.bytesRead = 0
        self._bytes_written = 0
        # The peer's sockaddr tuple as accept()/getpeername() gave it.
        self._remote: tuple[Any, ...] | None = None
        if self._attempt is not None:
            self._attempt = None
        if self._reset_on_connect:
            self._reset_on_connect = False
        if self.autoSelectFamilyAttemptedAddresses is not None:
            self.autoSelectFamilyAttemptedAddresses = None

    # ------------------------------------------------------------------
    # Event queue: everything a listener sees is emitted from _run().

    def _schedule(self) -> None:
        if not self._queued:
            self._queued = True
            schedule(self._run)

    def _queue(self, fn: Callable[..., Any], *args: Any) -> None:
        eq = self._eq
        if eq is None:
            self._eq = [(fn, *args)]
        else:
            eq.append((fn, *args))
        if not self._queued:
            self._queued = True
            schedule(self._run)

    def _run(self) -> None:
        # Runs in a worker greenlet. Events first, then readable data while
        # flowing; a listener that blocks holds back only this socket.
        try:
            while True:
                eq = self._eq
                if eq:
                    item = eq.pop(0)
                    try:
                        item[0](*item[1:])
                    except Exception as exc:
                        self._listener_failed(exc)
                    continue
                rq = self._rq
                if not rq:
                    # An idle connection keeps no queues.
                    self._rq = self._eq = None
                    break
                if not self._pull:
                    item = rq[0]
                    if item is END:
                        # Every chunk before it was consumed: 'end' comes
                        # even while paused, as Node's read(0) at EOF does.
                        if self._life.teardown == CLOSE_EMITTED:
                            break
                        del rq[0]
                        try:
                            self._emit_end()
                        except Exception as exc:
                            self._listener_failed(exc)
                        continue
                    if not self._flowing or self._life.teardown:
                        break
                    del rq[0]
                    # ReadSide._consumed, its call made only when the read
                    # watcher is stopped (the one case it has work to do).
                    self._rlen -= len(item)
                    t = self._t
                    if t is not None and not t.reading:
                        self._consumed(0)
                    try:
                        decoder = self._decoder
                        chunk = item if decoder is None else decoder.write(item)
                        if chunk:
                            self.emit("data", chunk)
                    except Exception as exc:
                        self._listener_failed(exc)
                    continue
                break
        finally:
            self._queued = False

    def _listener_failed(self, exc: BaseException) -> None:
        # No exception from a listener may reach the hub or hurt other
        # connections: report it and destroy this socket only.
        logger.error("gnet: error in a listener of %r; destroying it", self, exc_info=exc)
        self._destroy(None, True)

    # ------------------------------------------------------------------
    # Listeners

    def _add_listener(self, name: Any, listener: Any, prepend: bool, once: bool) -> None:
        if name in _UNSUPPORTED_EVENTS:
            raise UnsupportedError(f"the '{name}' event", _UNSUPPORTED_EVENTS[name])
        EventEmitter._add_listener(self, name, listener, prepend, once)
        # A 'data' listener switches a socket that was never paused into
        # flowing mode, as in Node.
        if name == "data" and self._flowing is None:
            self.resume()
        elif name == "readable":
            # Pull mode, as Node's on('readable'): paused, read() to consume.
            self._readable_added()


    # ------------------------------------------------------------------
    # Teardown

    def destroy(self: S, error: BaseException | None = None) -> S:
        """Close now, dropping buffered data (Node's ``socket.destroy([err])``).

        With ``error``, 'error'(error) is emitted before 'close'(True).
        A second call does nothing. Returns self.
        """
        check_thread("destroy")
        if error is not None and not isinstance(error, BaseException):
            raise InvalidArgTypeError("error", "Exception", error)
        self._destroy(error, error is not None)
        return self

    def _destroy(self, error: BaseException | None, had_error: bool) -> None:
        # The central teardown: every way a socket dies comes here, once.
        life = self._life
        if life.teardown:
            return
        self._life = life = life.destroy()
        self._error = error
        was_connecting = life.phase == CONNECTING
        attempt = self._attempt
        if attempt is not None:
            self._attempt = None
            attempt.cancel()
        self._release()
        # Queued writes will never go out: their callbacks learn why.
        wq = self._wq
        if wq:
            self._wq = None
            # Node's bytesWritten counts what reached the kernel plus what
            # is still buffered: dropped bytes stop counting.
            self._bytes_written -= self._wlen
            self._wlen = 0
            if error is not None:
                reason: BaseException = error
            elif was_connecting:
                reason = SocketClosedBeforeConnectionError()
            else:
                reason = StreamDestroyedError("write")
            for _chunk, callback in wq:
                if callback is not None:
                    self._queue(callback, reason)
        # So do end() callbacks still waiting for 'finish' (a never-connected
        # socket's 'finish' still comes).
        callbacks = self._onfinished
        if callbacks is not None and life.phase != NEW:
            self._onfinished = None
            ended = error or StreamDestroyedError("end")
            for callback in callbacks:
                self._queue(callback, ended)
        self._rq = None
        self._rlen = 0
        owner = self._owner
        if owner is not None:
            owner.connection_destroyed(self)
        if error is not None:
            self._queue(self._emit_error_event, error)
        # 'close' comes on a later loop turn, as libuv's close callback does
        # in Node: callbacks of calls made in the same turn as destroy()
        # (a write refused right after it) run before it. Until then the
        # socket keeps run() waiting.
        self._sync_active()
        get_loop().run_callback(self._queue, self._emit_close, self._generation, had_error)
        if self._pull:
            self._wake()

    def _release(self) -> None:
        idle = self._timer
        if idle is not None:
            idle.stop()  # kept: ``timeout`` still reads its delay, as in Node
        t = self._t
        if t is not None:
            self._t = None
            t.close()
        self._life = self._life.release()

    def _emit_error_event(self, error: BaseException) -> None:
        self.emit("error", error)

    def _emit_close(self, generation: int, had_error: bool) -> None:
        if generation == self._generation:
            self._life = self._life.close()
        self._sync_active()
        try:
            self.emit("close", had_error)
        finally:
            owner = self._owner
            if owner is not None:
                owner.connection_closed(self)

    def resetAndDestroy(self: S) -> S:
        """Close with a TCP RST instead of FIN (Node's resetAndDestroy).

        While connecting, resets once connected; on a socket that never
        connected, emits 'error' ERR_SOCKET_CLOSED. Returns self.

        Raises:
            InvalidHandleTypeError: on a Unix domain socket.
        """
        if self._life.teardown:
            return self
        if self._life.phase == CONNECTING:
            self._reset_on_connect = True
            return self
        t = self._t
        if t is None:
            self._destroy(SocketClosedError(), True)
            return self
        if not t.is_tcp:
            raise InvalidHandleTypeError()
        try:
            t.reset()
        except OSError:
            pass
        self._destroy(None, False)
        return self

    def _sync_active(self) -> None:
        # What keeps gnet.run() alive, as libuv sees a TCP handle: connecting,
        # reading, writing, or 'close' not emitted yet after a destroy.
        life = self._life
        t = self._t
        active = (
            (t is not None and (t.reading or t.writing))
            or (life.phase == CONNECTING
                and not (self._attempt is not None and self._attempt.waiting))
            or life.teardown == DESTROYED  # 'close' not emitted yet
        )
        self._set_active(active)

    def _auto_destroy(self) -> None:
        # Node's autoDestroy: once 'end' and 'finish' were both emitted, in
        # whichever order they came, the socket closes.
        if self._life.done and not self._life.teardown:
            self._destroy(None, False)

    # ------------------------------------------------------------------
    # State

    @property
    def destroyed(self) -> bool:
        """True once destroyed (by ``destroy()``, an error, or a full close)."""
        return self._life.destroyed

    @property
    def readyState(self) -> str:
        """'opening', 'open', 'readOnly', 'writeOnly' or 'closed', as Node computes it."""
        return self._life.ready_state

    @property
    def errored(self) -> BaseException | None:
        """The error the socket was destroyed with, or None (Node's ``stream.errored``)."""
        return self._error

    @property
    def closed(self) -> bool:
        """True once destroyed; Node's ``closed`` turns true in ``destroy()``, before 'close'."""
        return self._life.destroyed

    def pipe(self, destination: Any, options: dict[str, Any] | bool = True) -> Any:
        """Send everything read to ``destination``, honouring its backpressure.

        Node's ``readable.pipe(dest[, {end}])``; returns ``destination``.
        ``options`` is Node's dict (``{'end': False}`` leaves ``destination``
        open when this socket ends) or, as a Python shorthand, the ``end``
        bool. Errors are not forwarded (use :func:`gnet.pipeline` for that).
        """
        from gnet.stream import pipe

        if isinstance(options, dict):
            end = options.get("end", True)
        elif isinstance(options, bool):
            end = options
        else:
            raise InvalidArgTypeError("options", "dict or bool", options)
        return pipe(self, destination, bool(end))

    def unpipe(self: S, destination: Any = None) -> S:
        """Undo ``pipe()`` for ``destination`` (or every destination). Returns self."""
        from gnet.stream import unpipe

        unpipe(self, destination)
        return self

    def __repr__(self) -> str:
        if self._remote is not None:
            where = f"{self._remote[0]}:{self._remote[1]}"
        else:
            where = "unconnected"
        state = ("new", "connecting", "open", "closed")[self._life.phase]
        return f"<gnet.Socket {where} {state}{' destroyed' if self._life.teardown else ''}>"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        auto_select_family_attempted_addresses = autoSelectFamilyAttemptedAddresses
        reset_and_destroy = resetAndDestroy
        ready_state = readyState
        allow_half_open: bool
        bytes_read: int
    # --- end of PEP 8 twins ---


def accept(cls: type[S], server: Any, owner: Any, raw: Any, address: Any,
           setup: tuple[Any, ...], paused: bool) -> S:
    """A server's new connection (hub): ``raw`` in a ``cls`` that reports to ``owner``.

    ``setup`` comes from :func:`socket_setup`, computed once per server;
    ``paused`` is the server's ``pauseOnConnect``. Reading starts in
    :func:`serve`, after the 'connection' listeners ran.
    """
    sock = cls.__new__(cls)
    sock._setup(*setup)
    sock.server = server
    sock._owner = owner
    sock._adopt(raw, address)
    if paused:
        sock._flowing = False
    sock._sync_active()
    return sock


def serve(sock: Socket, emit: Callable[[str, Socket], Any]) -> None:
    """Run the server's 'connection' listeners (``emit``), then start reading (worker).

    The listeners may block; only this socket waits for them, and no event
    of the socket can come before its 'connection'. A listener that raises
    destroys this socket alone.
    """
    try:
        emit("connection", sock)
    except Exception as exc:
        sock._listener_failed(exc)
    if sock._flowing is not False:
        sock._start_reading()


def advertise(sock: Socket, proxy: Any) -> None:
    """A server's PROXY protocol header for ``sock`` (hub, before 'connection').

    ``proxy`` is a :class:`gnet.proxy_protocol.ProxyPeer`: from now on
    ``remoteAddress``/``remotePort``/``remoteFamily`` are the client it
    advertises, and the ``proxy*`` properties answer.
    """
    sock._proxy = proxy


def socket_setup(opts: dict[str, Any]) -> tuple[Any, ...]:
    """Checked socket options -> what :func:`accept` needs, computed once per server."""
    hwm = opts.get("highWaterMark")
    keep_alive = None
    if opts.get("keepAlive"):
        keep_alive = (True, delay_ms(opts.get("keepAliveInitialDelay")), None, None)
    return (
        bool(opts.get("allowHalfOpen", False)),
        _hwm(opts.get("readableHighWaterMark", hwm), "readableHighWaterMark"),
        _hwm(opts.get("writableHighWaterMark", hwm), "writableHighWaterMark"),
        True if opts.get("noDelay") else None,
        keep_alive,
    )


def _hwm(value: Any, name: str) -> int:
    if value is None:
        return _default_hwm
    number = validate_number(value, f"options.{name}")
    if number < 0:
        raise InvalidArgValueError(f"options.{name}", value, "must be a non-negative number")
    return int(number)


def createConnection(*args: Any, **kwargs: Any) -> Socket:
    """Create a Socket and connect it (Node's ``net.createConnection``).

    Overloads: ``createConnection(options[, connectListener])``,
    ``createConnection(path[, connectListener])``,
    ``createConnection(port[, host][, connectListener])``, or keyword
    arguments. Extra option ``timeout`` (ms) calls ``setTimeout`` first.
    Goes through ``Socket.connect``, so a subclass or a patch of it sees the
    call, as in Node.
    """
    if not args and not kwargs:
        raise MissingArgsError(("options", "port", "path"))
    options = normalize_connect(args, kwargs, _SOCKET_OPTIONS + _CONNECT_OPTIONS,
                                _UNSUPPORTED_OPTIONS).options
    sock_options = {k: v for k, v in options.items() if k in _SOCKET_OPTIONS}
    sock = Socket(sock_options)
    timeout = options.get("timeout")
    if timeout is not None:
        sock.setTimeout(timeout)
    return sock.connect(*args, **kwargs)


connect = createConnection
