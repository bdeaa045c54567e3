"""The send path of a UDP socket: ``send()``, its overloads and the send queue.

Send path (caller -> kernel)::

    send() -> bound, IP literal (or connected)? sendto()/sendmsg() now
      -> EAGAIN? queued, and the write watcher sends the queue in order
      -> the callback (err, bytes) is queued for the worker

The common call (``send(bytes, port, ip[, callback])`` on a bound,
unconnected socket with the default lookup) is tried first, in ``send``
itself; every other call takes Node's full argument rules. A send made
before 'listening' waits in the socket's pending list (``_enqueue``) and
runs right after it, as in Node; a host name goes through the socket's
``lookup`` first. A send error goes to the send's callback; a send without
a callback loses its syscall error silently (Node's legacy behaviour),
while a lookup error without a callback is emitted as 'error'. On a
connected socket ``send()`` takes no destination.

:class:`SendPath` is a part of :class:`gnet.dgram.Socket`;
:class:`gnet.dgram.parts.DatagramPart` declares what it needs from the socket.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from gnet.addresses import isIP
from gnet.dgram.parts import (
    _MISSING,
    _UINT32_MAX,
    BOUND,
    CONNECTED,
    DISCONNECTED,
    UNBOUND,
    DatagramPart,
    _dgram_port,
)
from gnet.errors import (
    BufferOutOfBoundsError,
    InvalidArgTypeError,
    IPBlockedError,
    SocketDgramIsConnectedError,
    system_error,
)
from gnet.naming import add_aliases
from gnet.validate import validate_string

__all__ = ("SendPath",)

_BUFFERS = (bytes, bytearray, memoryview)


def _as_bytes(value: Any, name: str) -> Any:
    """One datagram piece as a bytes-like object (str encoded as UTF-8), or None."""
    if isinstance(value, _BUFFERS):
        if value.__class__ is memoryview and (value.itemsize != 1 or not value.c_contiguous):
            return value.tobytes()
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if value is None or isinstance(value, (int, float, list, tuple, dict)):
        return None
    try:  # array.array, numpy arrays...: Node's TypedArray and DataView
        return memoryview(value).cast("B")
    except TypeError:
        return None


_TYPE_NAMES = "str, bytes, bytearray or memoryview"


def _slice(buffer: Any, offset: Any, length: Any) -> Any:
    # Node's sliceBuffer: offset and length are read as uint32 (``>>> 0``).
    data = _as_bytes(buffer, "buffer")
    if data is None:
        raise InvalidArgTypeError("buffer", _TYPE_NAMES, buffer)
    size = len(data) if not isinstance(data, memoryview) else data.nbytes
    start = _uint32(offset)
    count = _uint32(length)
    if start > size:
        raise BufferOutOfBoundsError("offset")
    if start + count > size:
        raise BufferOutOfBoundsError("length")
    if start == 0 and count == size:
        return data
    return memoryview(data)[start:start + count]


def _uint32(value: Any) -> int:
    # JavaScript's ``value >>> 0`` for the numbers and non-numbers ported code passes.
    if value is None or value.__class__ is bool:
        return int(bool(value))
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return 0
        return int(value) & _UINT32_MAX
    if isinstance(value, str):
        try:
            return int(float(value)) & _UINT32_MAX
        except ValueError:
            return 0
    return 0


# isIP() of the destinations seen lately: a send to an address already seen
# costs one dict lookup. Bounded; cleared when full.
_kinds: dict[str, int] = {}


def _ip_kind(address: str) -> int:
    kind = _kinds.get(address)
    if kind is None:
        if len(_kinds) >= 4096:
            _kinds.clear()
        kind = _kinds[address] = isIP(address)
    return kind


@add_aliases
class SendPath(DatagramPart):
    """Node's ``send()``, ``getSendQueueSize()`` and ``getSendQueueCount()``."""

    if not TYPE_CHECKING:  # the socket's slots hold the state (gnet.dgram.parts)
        __slots__ = ()

    # ------------------------------------------------------------------
    # Send path

    def send(self, buffer: Any = _MISSING, offset: Any = _MISSING, length: Any = None,
             port: Any = None, address: Any = None, callback: Any = None) -> None:
        """Send one datagram (Node's ``socket.send``).

        Overloads, as in Node: ``send(msg, offset, length, port[, address]
        [, callback])``, ``send(msg, port[, address][, callback])``, and on a
        connected socket ``send(msg[, offset, length][, callback])``. ``msg``
        is bytes, bytearray, memoryview, str (UTF-8), any buffer-protocol
        object, or a list of those sent as one datagram. A falsy address
        means loopback (``'127.0.0.1'`` / ``'::1'``); a host name goes
        through ``lookup``. The first send on an unbound socket binds it to
        every interface and an ephemeral port ('listening' follows).

        Keyword form, a gnet convenience: ``send(msg, port=..., address=...,
        callback=...)`` means ``send(msg, port, address, callback)``; with
        ``offset=`` it means the positional call with the same arguments.

        ``callback(err, bytes_sent)`` runs once the datagram was handed to
        the kernel (``err`` None) or failed (``EMSGSIZE``, a lookup error...;
        then ``bytes_sent`` is None). It always gets both arguments.

        Raises:
            InvalidArgTypeError: ``msg`` or ``address`` of the wrong type.
            SocketBadPortError: no port or a bad one (unconnected socket).
            BufferOutOfBoundsError: ``offset`` / ``length`` beyond ``msg``.
            SocketDgramIsConnectedError: a destination on a connected socket.
            SocketDgramNotRunningError: the socket was closed.
        """
        # The common case first: send(bytes, port, ip[, callback]) on a bound,
        # unconnected socket with the default lookup. Everything else (and any
        # argument this does not like) takes Node's full path below.
        if (buffer.__class__ is bytes and offset.__class__ is int and 0 < offset < 65536
                and length.__class__ is str and address is None and callback is None
                and self._bind_state == BOUND and self._lookup is None
                and self._send_block_list is None
                and self._connect_state == DISCONNECTED and not self._closed
                and _ip_kind(length) == self._kind and (port is None or callable(port))):
            if self._sq:
                self._queue_send([[buffer], length, offset, length, port])
                return
            try:
                sent = self._sock.sendto(buffer, (length, offset))
            except (BlockingIOError, InterruptedError):
                self._queue_send([[buffer], length, offset, length, port])
                return
            except OSError as exc:
                if port is not None:
                    self._queue(port, system_error(exc, "send", length, offset,
                                                   describe=False), None)
                return
            if port is not None:
                self._queue(port, None, sent)
            return
        if offset is _MISSING:
            offset = None
            if length is None and (port is not None or address is not None):
                # Keywords without an offset: send(msg, port=p, address=a, callback=c).
                offset, length, port, address = port, address, None, None
            elif length is not None:
                offset = 0
        if buffer is _MISSING:
            buffer = None
        connected = self._connect_state == CONNECTED
        if not connected:
            if address or (port and not callable(port)):
                buffer = _slice(buffer, offset, length)
            else:
                if port is not None or callback is None:
                    callback = port
                port = offset
                address = length
        else:
            if isinstance(length, (int, float)) and length.__class__ is not bool:
                buffer = _slice(buffer, offset, length)
                if callable(port):
                    callback = port
                    port = None
            elif offset is not None or callback is None:
                callback = offset
            if port or address:
                raise SocketDgramIsConnectedError()
        if buffer.__class__ is bytes:
            chunks: list[Any] = [buffer]
        elif isinstance(buffer, list):
            chunks = []
            for item in buffer:
                piece = _as_bytes(item, "buffer")
                if piece is None:
                    raise InvalidArgTypeError("buffer list arguments", _TYPE_NAMES, buffer)
                chunks.append(piece)
        else:
            piece = _as_bytes(buffer, "buffer")
            if piece is None:
                raise InvalidArgTypeError("buffer", _TYPE_NAMES, buffer)
            chunks = [piece]
        if not connected:
            port = _dgram_port(port)
        if not callable(callback):
            callback = None
        if callable(address):
            callback = address
            address = None
        elif address is not None:
            validate_string(address, "address")
        self._health_check()
        if self._bind_state == UNBOUND:
            self._bind_implicit()
        if not chunks:
            chunks = [b""]
        self._send_checked(chunks, port, address, callback)

    def _send_checked(self, chunks: list[Any], port: Any, address: Any, callback: Any) -> None:
        if self._bind_state != BOUND:
            self._enqueue(lambda: self._send_after_bind(chunks, port, address, callback))
            return
        if self._connect_state == CONNECTED:
            self._do_send(None, None, chunks, None, None, callback)
            return
        if self._lookup is None:
            if not address:
                self._do_send(None, self._loopback, chunks, address, port, callback)
                return
            if _ip_kind(address):
                self._do_send(None, address, chunks, address, port, callback)
                return
        self._resolve(address, lambda err, ip=None, family=None:
                      self._do_send(err, ip, chunks, address, port, callback))

    def _send_after_bind(self, chunks: list[Any], port: Any, address: Any, callback: Any) -> None:
        if self._closed:
            return
        self._send_checked(chunks, port, address, callback)

    def _bind_implicit(self) -> None:
        self.bind({"port": 0, "exclusive": True})

    def _do_send(self, err: Any, ip: Any, chunks: list[Any], address: Any, port: Any,
                 callback: Any) -> None:
        # Hub, worker, caller or resolver greenlet: never blocks.
        if err is not None:
            if callback is not None:
                self._queue(callback, err, None)
            else:
                self._queue(self._error_event, err)
            return
        if self._closed:
            return
        if ip is not None and self._send_block_list is not None \
                and self._send_block_list._blocked(ip, _ip_kind(ip) == 6):
            # Node: the callback learns it; without one, nothing is said.
            if callback is not None:
                self._queue(callback, IPBlockedError(ip), None)
            return
        if ip is not None:
            kind = _ip_kind(ip)
            if kind == 4 and self._kind == 6:
                ip = "::ffff:" + ip
            elif kind != self._kind:
                if callback is not None:
                    self._queue(callback, system_error(errno.EINVAL, "send", address or ip,
                                                       port, describe=False), None)
                return
        entry = [chunks, ip, port, address, callback]
        if self._sq:
            self._queue_send(entry)
            return
        try:
            sent = self._sendmsg(chunks, ip, port)
        except (BlockingIOError, InterruptedError):
            self._queue_send(entry)
            return
        except OSError as exc:
            if callback is not None:
                self._queue(callback, system_error(exc, "send", address or ip, port,
                                                   describe=False), None)
            return
        if callback is not None:
            self._queue(callback, None, sent)

    def _sendmsg(self, chunks: list[Any], ip: Any, port: Any) -> int:
        sock = self._sock
        if ip is None:
            if len(chunks) == 1:
                return int(sock.send(chunks[0]))
            return int(sock.sendmsg(chunks))
        if len(chunks) == 1:
            return int(sock.sendto(chunks[0], (ip, port)))
        return int(sock.sendmsg(chunks, (), 0, (ip, port)))

    def _queue_send(self, entry: list[Any]) -> None:
        size = sum(len(c) if not isinstance(c, memoryview) else c.nbytes for c in entry[0])
        entry.append(size)
        self._sq.append(entry)
        self._sq_bytes += size
        if len(self._sq) == 1:
            self._ww.start(self._on_writable)

    def _on_writable(self) -> None:
        # Hub: the kernel has room again; send the queue in order.
        sq = self._sq
        while sq:
            chunks, ip, port, address, callback, size = sq[0]
            try:
                sent = self._sendmsg(chunks, ip, port)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                sq.popleft()
                self._sq_bytes -= size
                if callback is not None:
                    self._queue(callback, system_error(exc, "send", address or ip, port,
                                                       describe=False), None)
                continue
            sq.popleft()
            self._sq_bytes -= size
            if callback is not None:
                self._queue(callback, None, sent)
        self._ww.stop()

    def getSendQueueSize(self) -> int:
        """Bytes of datagrams waiting for room in the kernel (Node's ``getSendQueueSize``)."""
        return self._sq_bytes

    def getSendQueueCount(self) -> int:
        """Datagrams waiting for room in the kernel (Node's ``getSendQueueCount``)."""
        return len(self._sq)

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        get_send_queue_size = getSendQueueSize
        get_send_queue_count = getSendQueueCount
    # --- end of PEP 8 twins ---
