"""The interfaces gnet's public classes promise, declared with zope.interface.

Each interface states, member by member, what a class must offer and how it
behaves, named after its Node.js counterpart: :class:`IEventEmitter` is
Node's ``EventEmitter``, :class:`IServer` is ``net.Server`` (plus the
``gevent.server.StreamServer`` methods gnet keeps), :class:`ISocket` is
``net.Socket``. They are the reference a port or an alternative implementation
can be checked against, and the contract the tests enforce: every gnet class
declares what it implements (``@implementer``), and the tests hold each class
to its interface with ``zope.interface.verify.verifyObject`` /
``verifyClass``.

Only the camelCase (Node) spelling of a name is declared; its snake_case
twin (``set_encoding`` for ``setEncoding``) is added to every implementing
class by :mod:`gnet.naming` and behaves identically. Times are in
milliseconds everywhere, as in Node, except in the methods inherited from
gevent (``IServer.stop``, ``IServer.serve_forever``), which keep gevent's
seconds.
"""

# Interface methods are declared without ``self`` and without annotations
# (zope.interface's habit; the implementing classes carry the types), which
# mypy reports as methods with no argument and untyped defs.
# mypy: disable-error-code="misc, no-untyped-def"

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = (
    'IBlockList', 'IConnectTarget', 'IConnectionOwner', 'IDatagramSocket', 'IEventEmitter',
    'IProxyProtocolSocket', 'IReadable', 'IServer', 'ISocket', 'ISocketAddress', 'ITransport',
    'IWorker', 'IWritable',
)


class IEventEmitter(Interface):
    """Node's ``EventEmitter``: named events, each with an ordered list of listeners.

    ``emit()`` calls the listeners synchronously, in the calling greenlet, in
    registration order. A listener registered twice runs twice. Emitting
    ``'error'`` with no ``'error'`` listener raises the error (or
    ``UnhandledErrorError`` wrapping a non-exception value). Adding more than
    ``getMaxListeners()`` listeners for one event warns once, as Node does.
    Two events are emitted by the emitter itself: ``'newListener'``
    (eventName, listener) before a listener is added and ``'removeListener'``
    (eventName, listener) after one is removed.
    """

    def on(eventName, listener=None):
        """Add ``listener`` at the end of the listeners for ``eventName``.

        Node's ``emitter.on(eventName, listener)``. With ``listener`` omitted
        this is a decorator: ``@emitter.on('data')`` registers the function and
        returns it unchanged (a gnet extension).

        Returns:
            The emitter, for chaining; the listener itself in decorator form.
        """

    def addListener(eventName, listener):
        """Add ``listener`` for ``eventName``; the same as ``on()``.

        Node's ``emitter.addListener(eventName, listener)``.

        Returns:
            The emitter, for chaining.
        """

    def once(eventName, listener=None):
        """Add ``listener`` for the next ``eventName`` only; it is removed before it runs.

        Node's ``emitter.once(eventName, listener)``. With ``listener`` omitted
        this is a decorator, as for ``on()``. ``rawListeners()`` shows the
        wrapper, ``listeners()`` the original function, and ``off()`` with the
        original function removes the wrapper.

        Returns:
            The emitter, for chaining; the listener itself in decorator form.
        """

    def off(eventName, listener):
        """Remove the most recently added instance of ``listener`` for ``eventName``.

        Node's ``emitter.off(eventName, listener)``. Removing a listener that
        is not registered does nothing. Removal during an ``emit()`` does not
        change which listeners that emit calls.

        Returns:
            The emitter, for chaining.
        """

    def removeListener(eventName, listener):
        """Remove ``listener`` for ``eventName``; the same as ``off()``.

        Node's ``emitter.removeListener(eventName, listener)``.

        Returns:
            The emitter, for chaining.
        """

    def prependListener(eventName, listener):
        """Add ``listener`` at the front of the listeners for ``eventName``.

        Node's ``emitter.prependListener(eventName, listener)``.

        Returns:
            The emitter, for chaining.
        """

    def prependOnceListener(eventName, listener):
        """Add a one-time ``listener`` at the front of the listeners for ``eventName``.

        Node's ``emitter.prependOnceListener(eventName, listener)``.

        Returns:
            The emitter, for chaining.
        """

    def removeAllListeners(eventName=None):
        """Remove every listener for ``eventName``, or for every event when it is None.

        Node's ``emitter.removeAllListeners([eventName])``.

        Returns:
            The emitter, for chaining.
        """

    def emit(eventName, *args):
        """Call each listener for ``eventName`` with ``*args``, synchronously, in order.

        Node's ``emitter.emit(eventName, ...args)``. The listener list is
        copied first, so listeners added or removed while emitting take effect
        from the next emit.

        Returns:
            True if the event had listeners, else False.

        Raises:
            BaseException: For ``'error'`` with no listener: the error itself,
                or ``gnet.errors.UnhandledErrorError`` if it is not an
                exception. An exception raised by a listener propagates.
        """

    def listeners(eventName):
        """Return a copy of the listeners for ``eventName``, once-wrappers unwrapped.

        Node's ``emitter.listeners(eventName)``.

        Returns:
            A new list of callables, in call order.
        """

    def rawListeners(eventName):
        """Return a copy of the listeners for ``eventName``, once-wrappers included.

        Node's ``emitter.rawListeners(eventName)``. Calling a wrapper runs the
        listener and removes it.

        Returns:
            A new list of callables, in call order.
        """

    def listenerCount(eventName, listener=None):
        """Return how many listeners ``eventName`` has.

        Node's ``emitter.listenerCount(eventName[, listener])``: with
        ``listener`` given, count only that function (once-wrapped included).

        Returns:
            The number of listeners (int).
        """

    def eventNames():
        """Return the names of the events that have listeners.

        Node's ``emitter.eventNames()``.

        Returns:
            A list of event names, in the order they were first registered.
        """

    def setMaxListeners(n):
        """Set the listener count per event above which a leak warning is issued.

        Node's ``emitter.setMaxListeners(n)``: ``0`` (or ``math.inf``) turns
        the warning off; a negative or non-number ``n`` raises.

        Returns:
            The emitter, for chaining.
        """

    def getMaxListeners():
        """Return the limit set by ``setMaxListeners()``, else ``defaultMaxListeners`` (10).

        Node's ``emitter.getMaxListeners()``.
        """


class IServer(IEventEmitter):
    """Node's ``net.Server``, which in gnet is also a ``gevent.server.StreamServer``.

    Where Node and gevent use the same name, Node's meaning wins (``listen``,
    ``address``, ``close``); gevent's view of the address is ``server_host``
    / ``server_port``, and ``start`` / ``stop`` / ``serve_forever`` keep
    gevent's meaning on top of Node's calls.

    Events:
        'listening': the server is bound and listening; always before any
            'connection'. The ``listen()`` callback is a once-listener of it.
        'connection' (socket): a connection was accepted; ``socket.server``
            is this server.
        'error' (err): listening or accepting failed (``EADDRINUSE``,
            ``EACCES``, ...). Unlike a socket's, no 'close' follows by itself.
        'close': after ``close()`` and after the last accepted socket's
            'close' (gnet is stricter than Node, which may emit it a moment
            before).
        'drop' (info): ``maxConnections`` refused a connection; ``info`` is
            a dict with localAddress, localPort, localFamily, remoteAddress,
            remotePort, remoteFamily; None for a Unix socket server.
    """

    listening = Attribute(
        "True from the 'listening' event until close(); Node's server.listening."
    )
    maxConnections = Attribute(
        "Node's server.maxConnections: None for no limit; once this many accepted sockets are "
        "open, a new connection is closed at once and 'drop' is emitted. 0 refuses every "
        "connection (Node 21+)."
    )
    server_host = Attribute(
        "gevent's view of the bound host (str), or None before listening."
    )
    server_port = Attribute(
        "gevent's view of the bound port (int), or None before listening or for a Unix socket."
    )
    allowHalfOpen = Attribute(
        "Constructor option given to accepted sockets: when False (default), a socket ends its "
        "writable side after the peer's FIN; when True it stays writable until end()."
    )
    pauseOnConnect = Attribute(
        "Constructor option: when True, accepted sockets start paused and read nothing until "
        "resume()."
    )
    noDelay = Attribute(
        "Constructor option: when True, TCP_NODELAY is set on every accepted socket."
    )
    keepAlive = Attribute(
        "Constructor option: when True, SO_KEEPALIVE is set on every accepted socket."
    )
    keepAliveInitialDelay = Attribute(
        "Constructor option: ms of idleness before the first keep-alive probe on accepted sockets "
        "(applied in whole seconds, floored, as in Node); 0 keeps the system default."
    )
    highWaterMark = Attribute(
        "Constructor option: readable and writable high water mark of accepted sockets, in bytes "
        "(64 KiB by default, as in Node 22+)."
    )

    def listen(*args, **kwargs):
        """Start listening; 'listening' is emitted later, never inside this call.

        Node's ``server.listen()``, with every overload: ``listen()``,
        ``listen(port)``, ``listen(port, host)``, ``listen(port, host,
        backlog)``, ``listen(port, host, backlog, callback)``,
        ``listen(port, callback)``, ``listen(callback)``,
        ``listen(options[, callback])`` with a dict (or keyword arguments) of
        ``port``, ``host``, ``path``, ``backlog``, ``ipv6Only``, ``exclusive``,
        ``readableAll``, ``writableAll``, and ``listen(path[, backlog][,
        callback])`` for a Unix domain socket. A port that is omitted or 0
        picks an ephemeral one; no host binds ``::`` (dual stack) when IPv6
        exists, else ``0.0.0.0``; backlog defaults to 511. ``callback`` is
        added as a once-listener of 'listening'. Bind and listen errors come
        as an 'error' event.

        Returns:
            The server, for chaining.

        Raises:
            gnet.errors.ServerAlreadyListenError: If already listening.
            TypeError: ``code='ERR_INVALID_ARG_TYPE'`` for a bad argument type.
            ValueError: ``code='ERR_SOCKET_BAD_PORT'`` or
                ``'ERR_INVALID_ARG_VALUE'`` for a bad port or options.
        """

    def close(callback=None):
        """Stop accepting connections; open connections are left to end on their own.

        Node's ``server.close([callback])``. 'close' is emitted once the last
        connection has closed. ``callback`` is a once-listener of 'close'; if
        the server was not listening it is called with
        ``ServerNotRunningError`` instead. A non-callable ``callback`` is
        ignored, as in Node.

        Returns:
            The server, for chaining.
        """

    def address():
        """Return the bound address: ``{'port': int, 'family': 'IPv4'|'IPv6', 'address': str}``.

        Node's ``server.address()``. A Unix socket server returns its path
        (str). None before listening and after close (Node's null).
        """

    def getConnections(callback=None):
        """Count the open accepted connections.

        Node's ``server.getConnections(callback)``: ``callback(err, count)``
        is called later, never inside this call. Without a callback this
        returns the count at once (a gnet extension). Works on a server that
        never listened (count 0).

        Returns:
            The server with a callback, for chaining; the count (int) without.
        """

    def ref():
        """Let this server keep ``gnet.run()`` running while it listens (the default).

        Node's ``server.ref()``; idempotent.

        Returns:
            The server, for chaining.
        """

    def unref():
        """Let ``gnet.run()`` return even while this server listens.

        Node's ``server.unref()``; idempotent, and remembered if called
        before ``listen()``.

        Returns:
            The server, for chaining.
        """

    def closeAllConnections():
        """Destroy every open accepted connection.

        Has no counterpart in ``net.Server`` (Node's ``http.Server`` has one);
        a gnet extension. It does not stop listening.
        """

    def start():
        """Start listening on the address given to the constructor: ``listen()`` on it.

        ``gevent.server.StreamServer.start()``.
        """

    def stop(timeout=None):
        """Close, wait for connections to end, then destroy the rest.

        ``gevent.server.StreamServer.stop(timeout)``: ``close()``, then wait
        up to ``timeout`` **seconds** (gevent's unit, not ms; None means
        ``stop_timeout``) for connections to close, then ``destroy()`` those
        still open.
        """

    def serve_forever(stop_timeout=None):
        """Start, then block the calling greenlet until the server is stopped.

        ``gevent.server.StreamServer.serve_forever(stop_timeout)``;
        ``stop_timeout`` is in **seconds** (gevent's unit) and is passed to
        ``stop()`` when the wait is interrupted.
        """


class ISocket(IEventEmitter):
    """Node's ``net.Socket``: a TCP or Unix domain stream, a Duplex stream and an emitter.

    A socket starts paused: bytes wait in the kernel until a 'data' listener
    is added, ``resume()`` or ``pipe()`` is called, or the socket is iterated.
    Data is ``bytes`` (Node's Buffer), or ``str`` after ``setEncoding()``.
    No event fires inside the call that caused it.

    Events, in the order they come for one socket:
        'lookup' (err, address, family, host): after DNS resolution, before
            connecting; ``family`` is 4 or 6. Not emitted for an IP literal
            or a Unix socket path.
        'connect': the connection is established.
        'ready': right after 'connect'.
        'data' (chunk): zero or more times; ``bytes``, or ``str`` after
            ``setEncoding()``.
        'readable': pull mode (a listener pauses the socket): data can be
            taken with ``read()``, or the peer's FIN came (then ``read()``
            returns None and 'end' follows).
        'end': the peer sent FIN and every chunk before it was delivered.
        'close' (hadError): exactly once, always last.

    And at any point before 'close':
        'drain': the write buffer emptied after ``write()`` returned False.
        'timeout': idle for the ``setTimeout()`` period; nothing is closed.
        'error' (err): a failure; it comes right before 'close'(True).
        'finish': after ``end()``, once every written byte was handed to the
            kernel.
    """

    remoteAddress = Attribute(
        "The peer's IP address (str), or None before connect; kept after close."
    )
    remoteFamily = Attribute(
        "'IPv4' or 'IPv6' for the peer, or None before connect; kept after close."
    )
    remotePort = Attribute("The peer's port (int), or None before connect; kept after close.")
    localAddress = Attribute(
        "The local IP address (str) the socket is bound to, or None before connect."
    )
    localPort = Attribute("The local port (int), or None before connect.")
    localFamily = Attribute("'IPv4' or 'IPv6' for the local address, or None before connect.")
    bytesRead = Attribute("Bytes received so far (int), updated before each 'data' event.")
    bytesWritten = Attribute(
        "Bytes accepted by write() and end() so far (int), counted at call time in encoded bytes, "
        "including data still queued."
    )
    writableLength = Attribute("Bytes written but not yet handed to the kernel (int).")
    writableHighWaterMark = Attribute(
        "The writableLength at which write() starts returning False, in bytes (64 KiB default)."
    )
    readableHighWaterMark = Attribute(
        "The readable high water mark, in bytes (64 KiB default, as in Node 22+)."
    )
    writableNeedDrain = Attribute("True after write() returned False and until 'drain'.")
    readableFlowing = Attribute(
        "Node's readable.readableFlowing: None until something consumes data, True while flowing, "
        "False after pause() and while a 'readable' listener is there (pull mode)."
    )
    readableEnded = Attribute("True once 'end' was emitted.")
    readableEncoding = Attribute("The encoding given to setEncoding(), or None.")
    readableAborted = Attribute("True once destroyed before 'end' was emitted.")
    readableDidRead = Attribute("True once a chunk went to 'data' or came out of read().")
    readableObjectMode = Attribute("Always False: sockets carry bytes.")
    writableObjectMode = Attribute("Always False: sockets carry bytes.")
    writableCorked = Attribute("How many cork() calls uncork() has yet to release.")
    errored = Attribute("The error the socket was destroyed with, or None.")
    closed = Attribute("True once destroyed (set in destroy(), before 'close').")
    writableEnded = Attribute("True once end() was called.")
    writableFinished = Attribute("True once 'finish' was emitted.")
    readyState = Attribute(
        "'opening' while connecting, 'open' (readable and writable), 'readOnly', 'writeOnly', "
        "or 'closed'."
    )
    connecting = Attribute("True between connect() and 'connect'.")
    pending = Attribute("True until connected, and again after close.")
    destroyed = Attribute("True once destroy() was called or the socket closed.")
    readable = Attribute(
        "True while data may still come ('end' not yet emitted and not destroyed)."
    )
    writable = Attribute("True while write() is allowed (end() not called and not destroyed).")
    timeout = Attribute("The idle timeout in ms set by setTimeout(), or None when none was set.")
    server = Attribute("The Server that accepted this socket, or None for a client socket.")
    allowHalfOpen = Attribute(
        "When False (default), the socket ends its writable side after the peer's FIN; "
        "when True it stays writable until end()."
    )

    def connect(*args, **kwargs):
        """Open the connection; 'lookup', 'connect' and errors come later as events.

        Node's ``socket.connect()``, with its overloads: ``connect(port[,
        host][, callback])``, ``connect(path[, callback])`` for a Unix domain
        socket, and ``connect(options[, callback])`` with a dict (or keyword
        arguments) of ``port``, ``host`` (default 'localhost'),
        ``localAddress``, ``localPort``, ``family`` (0, 4, 6), ``hints``,
        ``lookup``, ``autoSelectFamily``, ``autoSelectFamilyAttemptTimeout``
        (ms), ``noDelay``, ``keepAlive``, ``keepAliveInitialDelay`` (ms),
        ``timeout`` (ms), or ``path``. ``callback`` is a once-listener of
        'connect'. Only reconnect after 'close'.

        Returns:
            The socket, for chaining.

        Raises:
            gnet.errors.MissingArgsError: Called with no port or path.
            TypeError: ``code='ERR_INVALID_ARG_TYPE'`` for a bad argument type.
            ValueError: ``code='ERR_SOCKET_BAD_PORT'`` for a bad port.
        """

    def write(data, encoding=None, callback=None):
        """Queue ``data`` for sending.

        Node's ``socket.write(data[, encoding][, callback])``. ``data`` is
        ``bytes``, ``bytearray``, ``memoryview``, or ``str`` encoded with
        ``encoding`` (default 'utf8'). ``callback(err)`` runs once the data was
        handed to the kernel (``err`` None) or dropped (the error). Writes made
        while connecting are sent once connected. A write after ``end()`` or
        ``destroy()`` is reported through the callback (and 'error' where
        Node emits one), not raised.

        Returns:
            True while ``writableLength``, counting this chunk, is below
            ``writableHighWaterMark``; False otherwise, and a 'drain' follows
            once the buffer empties.

        Raises:
            gnet.errors.StreamNullValuesError: ``data`` is None.
            TypeError: ``code='ERR_INVALID_ARG_TYPE'`` for another type.
            gnet.errors.UnknownEncodingError: An unknown ``encoding``.
        """

    def end(data=None, encoding=None, callback=None):
        """Send ``data`` if given, then FIN once everything written has been flushed.

        Node's ``socket.end([data[, encoding]][, callback])``: half-closes the
        writable side. ``callback`` is a once-listener of 'finish'. Nothing
        written before ``end()`` is lost.

        Returns:
            The socket, for chaining.
        """

    def destroy(error=None):
        """Close at once, dropping queued writes and unread data.

        Node's ``socket.destroy([error])``: with ``error``, 'error'(error) is
        emitted, then 'close'(True); without, 'close'(False). A second call
        does nothing.

        Returns:
            The socket, for chaining.
        """

    def destroySoon():
        """End the writable side, then destroy once 'finish' has come.

        Node's ``socket.destroySoon()``: destroys at once if already finished.
        """

    def resetAndDestroy():
        """Close with a TCP RST instead of FIN (``SO_LINGER`` 0), then destroy.

        Node's ``socket.resetAndDestroy()``. While connecting, resets once
        connected; a socket that never connected is destroyed with
        ``SocketClosedError``.

        Returns:
            The socket, for chaining.

        Raises:
            gnet.errors.InvalidHandleTypeError: The socket is not TCP.
        """

    def pause():
        """Stop reading from the kernel, so TCP pushes back on the peer.

        Node's ``socket.pause()``; works before connect too.

        Returns:
            The socket, for chaining.
        """

    def resume():
        """Start (or restart) reading and emitting 'data'.

        Node's ``socket.resume()``; works before connect too.

        Returns:
            The socket, for chaining.
        """

    def isPaused():
        """Return True if ``pause()`` was called and no ``resume()`` since.

        Node's ``readable.isPaused()``.
        """

    def read(n=None):
        """Pull mode: take ``n`` bytes (characters after setEncoding) or everything buffered.

        Node's ``readable.read([size])``: None when fewer than ``n`` are
        buffered (unless the socket ended: then the rest) or nothing is; the
        chunk returned is also emitted as 'data'. Called from a 'readable'
        listener until it returns None; after EOF that None brings 'end'.
        """

    def unshift(chunk, encoding=None):
        """Put ``chunk`` back at the front of the read buffer (Node's ``readable.unshift``).

        Returns whether the buffer is below ``readableHighWaterMark``; after
        'end' the socket is destroyed with ERR_STREAM_UNSHIFT_AFTER_END_EVENT.
        """

    def setDefaultEncoding(encoding):
        """Encoding of ``write(str)`` calls that name none (Node's ``setDefaultEncoding``).

        Returns:
            The socket, for chaining.
        """

    def setEncoding(encoding=None):
        """Deliver 'data' as ``str`` decoded with ``encoding`` instead of ``bytes``.

        Node's ``socket.setEncoding([encoding])``: Node's encoding names
        ('utf8', 'ascii', 'latin1', 'hex', 'base64', 'base64url', 'utf16le',
        ...); None means 'utf8'. A multi-byte character split across reads is
        never broken.

        Returns:
            The socket, for chaining.

        Raises:
            gnet.errors.UnknownEncodingError: An unknown ``encoding``.
        """

    def setTimeout(timeout, callback=None):
        """Emit 'timeout' after ``timeout`` ms without activity; 0 disables it.

        Node's ``socket.setTimeout(timeout[, callback])``: nothing is closed
        by the timeout. ``callback`` is a once-listener of 'timeout'. Works
        before connect. The idle timer never keeps ``gnet.run()`` alive.

        Returns:
            The socket, for chaining.

        Raises:
            TypeError: ``code='ERR_INVALID_ARG_TYPE'`` for a non-number.
            ValueError: ``code='ERR_OUT_OF_RANGE'`` for a negative, NaN or
                infinite ``timeout``.
        """

    def setNoDelay(noDelay=True):
        """Turn Nagle's algorithm off (True) or on (False): ``TCP_NODELAY``.

        Node's ``socket.setNoDelay([noDelay])``; remembered if called before
        connect.

        Returns:
            The socket, for chaining.
        """

    def setKeepAlive(enable=False, initialDelay=0, interval=None, count=None):
        """Turn TCP keep-alive probes on or off.

        Node's ``socket.setKeepAlive([enable][, initialDelay])``:
        ``SO_KEEPALIVE``, with ``initialDelay`` ms of idleness before the
        first probe (``TCP_KEEPIDLE``, whole seconds, floored; 0 keeps the
        system default). ``interval`` (ms between probes, ``TCP_KEEPINTVL``)
        and ``count`` (probes before giving up, ``TCP_KEEPCNT``) follow Node
        24.19 / 26.4, beyond Node 22; when omitted they are 1 s and 10, as in
        Node. Remembered if called before connect.

        Returns:
            The socket, for chaining.
        """

    def setUserTimeout(timeout):
        """Set ``TCP_USER_TIMEOUT``: how long sent data may stay unacknowledged.

        After ``timeout`` ms without an acknowledgement the kernel drops the
        connection (the socket gets 'error' ``ETIMEDOUT``). A gnet extension
        (Node has no counterpart); Linux only. 0 restores the system default.
        Remembered if called before connect.

        Returns:
            The socket, for chaining.
        """

    def address():
        """Return the local address: ``{'port': int, 'family': 'IPv4'|'IPv6', 'address': str}``.

        Node's ``socket.address()``; ``{}`` until connected and after close.
        """

    def ref():
        """Let this socket keep ``gnet.run()`` running while open or connecting (the default).

        Node's ``socket.ref()``; remembered if called before connect.

        Returns:
            The socket, for chaining.
        """

    def unref():
        """Let ``gnet.run()`` return even while this socket is open.

        Node's ``socket.unref()``; remembered if called before connect.

        Returns:
            The socket, for chaining.
        """

    def pipe(destination, end=True):
        """Write every 'data' chunk to ``destination``, honouring its backpressure.

        Node's ``readable.pipe(destination[, {end}])``: the socket is paused
        while ``destination.write()`` returns False and resumed on its
        'drain'; with ``end`` True, ``destination.end()`` is called on 'end'.

        Returns:
            ``destination``, for chaining.
        """

    def unpipe(destination=None):
        """Stop piping to ``destination``, or to every destination when it is None.

        Node's ``readable.unpipe([destination])``.

        Returns:
            The socket, for chaining.
        """

    def cork():
        """Hold writes in the buffer until ``uncork()``, to send them together.

        Node's ``writable.cork()``; calls nest.
        """

    def uncork():
        """Undo one ``cork()``; the last one flushes the held writes.

        Node's ``writable.uncork()``.
        """

    def __iter__():
        """Yield each 'data' chunk until 'end', blocking the calling greenlet between chunks.

        The counterpart of Node's ``for await (const chunk of socket)``:
        iterating starts the flow of data, and an 'error' is raised from the
        loop.
        """


class IDatagramSocket(IEventEmitter):
    """Node's ``dgram.Socket``: a UDP socket, an emitter, not a stream.

    Made by ``gnet.dgram.createSocket('udp4' | 'udp6' | options)``. No
    descriptor exists until ``bind()`` (or the implicit bind of the first
    ``send()`` / ``connect()``), so calls that need one fail with ``EBADF``
    before it, as in Node. No event fires inside the call that caused it.

    Events:
        'listening': the socket is bound; receiving has started.
        'message' (msg, rinfo): one whole datagram (``bytes``) and
            ``{'address', 'family', 'port', 'size'}`` of its sender.
        'connect': ``connect()`` succeeded.
        'error' (err): a bind, lookup or receive failure (an ICMP
            port-unreachable on a connected socket is ``ECONNREFUSED``).
        'close': after ``close()``; nothing follows it.
    """

    type = Attribute("'udp4' or 'udp6'.")

    def bind(*args, **kwargs):
        """Bind to ``[port][, address][, callback]`` or ``options[, callback]``.

        Node's ``socket.bind``: 'listening' follows, then ``callback``.
        Raises ``ERR_SOCKET_ALREADY_BOUND`` when bound or binding.

        Returns:
            The socket, for chaining.
        """

    def send(buffer, offset=None, length=None, port=None, address=None, callback=None):
        """Send one datagram: ``send(msg[, offset, length], port[, address][, callback])``.

        Node's ``socket.send``: ``msg`` is bytes-like, str or a list of them;
        a falsy address means loopback; ``callback(err, bytes)``. On a
        connected socket no port or address is given.
        """

    def connect(port, address=None, callback=None):
        """Associate with one peer; 'connect' follows (Node's ``socket.connect``)."""

    def disconnect():
        """End the association made by ``connect()`` (synchronous)."""

    def remoteAddress():
        """The connected peer's ``{'address', 'family', 'port'}``."""

    def address():
        """The bound ``{'address', 'family', 'port'}``; ``getsockname EBADF`` before bind."""

    def close(callback=None):
        """Close the socket; 'close' follows, then ``callback``.

        Returns:
            The socket, for chaining.
        """

    def setBroadcast(flag):
        """Allow sending to broadcast addresses (``SO_BROADCAST``)."""

    def setTTL(ttl):
        """Set the unicast hop limit (1-255); returns ``ttl``."""

    def setMulticastTTL(ttl):
        """Set the multicast hop limit (0-255); returns ``ttl``."""

    def setMulticastLoopback(flag):
        """Whether own multicast datagrams loop back; returns ``flag``."""

    def setMulticastInterface(interfaceAddress):
        """Choose the outgoing multicast interface by its address."""

    def addMembership(multicastAddress, interfaceAddress=None):
        """Join a multicast group."""

    def dropMembership(multicastAddress, interfaceAddress=None):
        """Leave a multicast group."""

    def addSourceSpecificMembership(sourceAddress, groupAddress, interfaceAddress=None):
        """Join a source-specific multicast group."""

    def dropSourceSpecificMembership(sourceAddress, groupAddress, interfaceAddress=None):
        """Leave a source-specific multicast group."""

    def setRecvBufferSize(size):
        """Set ``SO_RCVBUF`` in bytes (Linux doubles it)."""

    def setSendBufferSize(size):
        """Set ``SO_SNDBUF`` in bytes (Linux doubles it)."""

    def getRecvBufferSize():
        """The receive buffer size in bytes."""

    def getSendBufferSize():
        """The send buffer size in bytes."""

    def getSendQueueSize():
        """Bytes of datagrams waiting for room in the kernel."""

    def getSendQueueCount():
        """Datagrams waiting for room in the kernel."""

    def ref():
        """Let this socket keep ``gnet.run()`` alive while bound (the default); returns it."""

    def unref():
        """Let ``gnet.run()`` return even while this socket is bound; returns it."""


class ISocketAddress(Interface):
    """Node's ``net.SocketAddress``: an IP address with its port, family and flow label.

    A value object: the attributes are read-only, and ``address`` is the
    address as ``inet_ntop`` writes it.
    """

    address = Attribute("The IP address, e.g. ``'127.0.0.1'`` or ``'::1'``.")
    port = Attribute("The port, 0-65535.")
    family = Attribute("``'ipv4'`` or ``'ipv6'`` (lower case).")
    flowlabel = Attribute("The IPv6 flow label (0 for IPv4).")

    def toJSON():
        """``{'address', 'port', 'family', 'flowlabel'}``."""


class IBlockList(Interface):
    """Node's ``net.BlockList``: address, range and subnet rules, IPv4 and IPv6.

    Every method that takes an address takes a string with a family
    (``'ipv4'``, the default, or ``'ipv6'``, any case) or an
    :class:`ISocketAddress`. An IPv4 rule covers the IPv4-mapped IPv6 form
    of its addresses and the other way round, as in Node.
    """

    rules = Attribute("The rules in Node's words, newest first: ``'Address: IPv4 1.1.1.1'``, "
                      "``'Range: IPv4 10.0.0.1-10.0.0.10'``, ``'Subnet: IPv6 ::/64'``.")

    def addAddress(address, family='ipv4'):
        """Block one address."""

    def addRange(start, end, family='ipv4'):
        """Block ``start`` to ``end``, both included; start after end is an error."""

    def addSubnet(net, prefix, family='ipv4'):
        """Block ``net/prefix`` (0-32 for IPv4, 0-128 for IPv6)."""

    def check(address, family='ipv4'):
        """True if a rule covers ``address``; False for what is not an address."""

    def toJSON():
        """The rules, as ``rules``."""

    def fromJSON(data):
        """Add the rules of a list of rule strings, or of that list as JSON text."""


# ----------------------------------------------------------------------
# Seams inside gnet: what one layer asks of another. Not part of Node's API.


class ITransport(Interface):
    """The OS side of a stream socket, below Node's stream semantics (see gnet.transport).

    Nothing here blocks: the I/O calls either do their work or raise
    ``BlockingIOError``; readiness comes through the callbacks, in the hub.
    A TLS transport implements the same interface over another transport.
    """

    family = Attribute("The address family (``AF_INET``, ``AF_INET6`` or ``AF_UNIX``).")
    is_tcp = Attribute("True for IPv4 and IPv6 sockets, False for Unix ones.")
    reading = Attribute("True while the read callback is armed.")
    writing = Attribute("True while the write callback is armed.")
    pending = Attribute("Bytes accepted by ``send`` that the kernel has not taken yet (0 for TCP).")

    def recv(n):
        """Up to ``n`` bytes; ``b''`` at EOF; BlockingIOError when none are ready."""

    def send(data):
        """Bytes of ``data`` taken (maybe 0, or BlockingIOError)."""

    def sendmsg(buffers):
        """Like ``send`` for several buffers in one call."""

    def start_reading(callback):
        """Call ``callback()`` in the hub whenever ``recv`` may return something."""

    def stop_reading():
        """Stop the read callback."""

    def start_writing(callback):
        """Call ``callback()`` in the hub whenever ``send`` may take something."""

    def stop_writing():
        """Stop the write callback."""

    def shutdown():
        """End the sending direction (TCP FIN; TLS close_notify, then FIN)."""

    def reset():
        """Make the next ``close()`` abort the connection (TCP RST)."""

    def close():
        """Stop both callbacks and release the descriptor."""

    def getsockname():
        """The local sockaddr."""

    def getpeername():
        """The peer's sockaddr."""

    def set_no_delay(value):
        """Nagle off (True) or on; best effort."""

    def set_keep_alive(enable, delay_ms, interval_ms, count):
        """Keep-alive probes; best effort."""

    def set_user_timeout(ms):
        """TCP_USER_TIMEOUT; best effort."""


class IConnectionOwner(Interface):
    """What a server's connections tell it (a Socket calls these, in order, once each)."""

    def connection_destroyed(socket):
        """``socket`` was destroyed: it no longer counts for ``getConnections()``."""

    def connection_closed(socket):
        """``socket`` emitted 'close': the server's own 'close' may follow."""


class IConnectTarget(Interface):
    """What one ``connect()`` attempt (gnet.connector) reports to its socket, in the hub."""

    attempted = Attribute("A list the connector appends each tried ``'ip:port'`` to, or None.")

    def lookup(err, address, family, host):
        """The name lookup finished: queue Node's 'lookup' event."""

    def connected(raw):
        """An attempt succeeded: ``raw`` is the connected ``_socket.socket``."""

    def failed(err):
        """Every attempt failed (or the lookup did): destroy with ``err``."""

    def waiting_changed(waiting):
        """A custom lookup started (True) or stopped (False) holding the connect up."""

    def attempt(ip, port, family):
        """An attempt starts: queue 'connectionAttempt' (a Unix path: port and family None)."""

    def attempt_failed(ip, port, family, error):
        """An attempt failed: queue 'connectionAttemptFailed' with its error."""

    def attempt_timeout(ip, port, family):
        """An attempt ran out of time and the next address follows: 'connectionAttemptTimeout'."""


class IProxyProtocolSocket(Interface):
    """What a Socket tells of its PROXY protocol header (a gnet extension).

    A server made with ``createServer({'proxyProtocol': ...})`` reads a
    PROXY v1/v2 header on each connection before 'connection'
    (:mod:`gnet.proxy_protocol`); its sockets' ``remoteAddress``,
    ``remotePort`` and ``remoteFamily`` are then the client the header
    advertises. Every other socket answers None to each of these. The
    server emits 'proxyError' (err, info) for a connection it closed
    because of its header (missing, malformed, too slow, or from a peer
    outside the trusted list); a v2 LOCAL header (a health check) is closed
    quietly.
    """

    proxyPeerAddress = Attribute("The real peer's IP address (the balancer's), or None.")
    proxyPeerPort = Attribute("The real peer's port (int), or None.")
    proxyPeerFamily = Attribute("'IPv4' or 'IPv6' for the real peer, or None.")
    proxyHeader = Attribute(
        "The parsed header (gnet.proxy_protocol.ProxyHeader: version, command, family, "
        "transport, source, destination, tlvs, length), or None."
    )
    proxyTlvs = Attribute(
        "The v2 header's TLVs decoded as a dict ('alpn', 'authority', 'crc32c', 'uniqueId', "
        "'netns', 'ssl', and 'raw': every (type, bytes) pair), or None."
    )


class IReadable(IEventEmitter):
    """Node's ``stream.Readable`` (:class:`gnet.stream.Readable`), the class a source subclasses.

    Events: 'data', 'readable', 'end', 'close', 'error', 'pause', 'resume'.
    """

    readable = Attribute("Whether ``read()`` may still give data.")
    readableFlowing = Attribute("None (no consumer yet), True (flowing) or False (paused).")
    readableLength = Attribute("Bytes (characters, objects) buffered for reading.")
    readableHighWaterMark = Attribute("The read buffer's high-water mark.")
    readableEncoding = Attribute("The encoding of setEncoding(), or None.")
    readableEnded = Attribute("Whether 'end' was emitted.")
    readableObjectMode = Attribute("Whether chunks are arbitrary objects.")
    readableAborted = Attribute("Destroyed or errored before 'end'.")
    destroyed = Attribute("Whether destroy() was called.")
    closed = Attribute("Whether the stream is closed ('close' due or emitted).")
    errored = Attribute("The error the stream was destroyed with, or None.")

    def _read(size):
        """The hook a subclass provides: produce data with push(); push(None) ends."""

    def push(chunk, encoding=None):
        """Add a chunk to the buffer (None ends); False past the high-water mark."""

    def unshift(chunk, encoding=None):
        """Put a chunk back at the front of the buffer."""

    def read(n=None):
        """Take n bytes (characters, objects) or all buffered, or None."""

    def pause():
        """Stop 'data' events; returns self."""

    def resume():
        """Start or restart 'data' events; returns self."""

    def isPaused():
        """Whether pause() was called and not undone."""

    def setEncoding(encoding=None):
        """Decode chunks to str with a Node encoding name; returns self."""

    def pipe(destination, options=True):
        """Send everything read to destination with backpressure; returns it."""

    def unpipe(destination=None):
        """Undo pipe(); returns self."""

    def destroy(error=None, callback=None):
        """Destroy: 'error' (if error) then 'close'; returns self."""

    def __iter__():
        """Yield chunks until the end, reading in the calling greenlet."""


class IWritable(IEventEmitter):
    """Node's ``stream.Writable`` (:class:`gnet.stream.Writable`), the class a sink subclasses.

    Events: 'drain', 'finish', 'prefinish', 'close', 'error', 'pipe', 'unpipe'.
    """

    writable = Attribute("Whether write() is still allowed.")
    writableLength = Attribute("Bytes (objects) written and not yet handled.")
    writableHighWaterMark = Attribute("The write side's high-water mark.")
    writableEnded = Attribute("Whether end() was called.")
    writableFinished = Attribute("Whether 'finish' was emitted.")
    writableCorked = Attribute("How many uncork() calls are needed.")
    writableNeedDrain = Attribute("Whether write() returned False and 'drain' has not come.")
    writableObjectMode = Attribute("Whether chunks are arbitrary objects.")
    destroyed = Attribute("Whether destroy() was called.")
    closed = Attribute("Whether the stream is closed ('close' due or emitted).")
    errored = Attribute("The error the stream was destroyed with, or None.")

    def _write(chunk, encoding, callback):
        """The hook a subclass provides: consume one chunk, then callback(err=None)."""

    def write(chunk, encoding=None, callback=None):
        """Queue a chunk; False once the high-water mark is reached (wait for 'drain')."""

    def end(chunk=None, encoding=None, callback=None):
        """Finish writing; 'finish' once everything is written; returns self."""

    def cork():
        """Buffer writes until uncork() or end()."""

    def uncork():
        """Undo one cork(); the last one writes what was buffered."""

    def setDefaultEncoding(encoding):
        """The encoding of str chunks written without one; returns self."""

    def destroy(error=None, callback=None):
        """Destroy: 'error' (if error) then 'close'; returns self."""



class ITLSSocket(ISocket):
    """Node's ``tls.TLSSocket``: a socket whose bytes travel over TLS (``gnet.tls``).

    Every ``ISocket`` behaviour holds; ``bytesRead``/``bytesWritten`` count
    plaintext. Events, besides a socket's:
        'secureConnect': the handshake is done and the server verified
            (``tls.connect()`` sockets only).
        'secure': the handshake is done (every TLSSocket; on a client after
            'secureConnect').
        'session' (session): a session to resume with (client only; an
            ``ssl.SSLSession``).
    """

    encrypted = Attribute("Always True.")
    authorized = Attribute("True once the peer's certificate was verified (a client: and named).")
    authorizationError = Attribute(
        "Why not authorized: Node's code ('DEPTH_ZERO_SELF_SIGNED_CERT'...), or None.")
    alpnProtocol = Attribute("The protocol ALPN chose (str), or False.")
    servername = Attribute("The SNI sent (client; None if none) or received (server; False).")

    def getPeerCertificate(detailed=False):
        """The peer's certificate as Node's object; {} when none, None once destroyed."""

    def getCertificate():
        """This side's certificate as Node's object ({} when none)."""

    def getProtocol():
        """'TLSv1.2', 'TLSv1.3'...; 'unknown' before the handshake, None once destroyed."""

    def getCipher():
        """{'name', 'standardName', 'version'} of the negotiated suite, or None."""

    def getSession():
        """The current session, or None."""

    def isSessionReused():
        """Whether the handshake resumed a session."""

    def setServername(name):
        """The SNI to send (a client, before the handshake)."""


class ITLSServer(IServer):
    """Node's ``tls.Server``: a server whose connections are ``ITLSSocket`` s.

    Events, besides a server's:
        'secureConnection' (socket): a client's handshake is done; reading
            starts after its listeners ran.
        'tlsClientError' (err, socket): a client's handshake failed (never
            'error'; the socket is destroyed).
    """

    def addContext(hostname, context):
        """Serve ``context`` to clients asking for ``hostname`` ('*.a.com' allowed)."""

    def setSecureContext(options):
        """Credentials for connections from now on."""


class IWorker(IEventEmitter):
    """Node's ``cluster.Worker`` (``gnet.cluster``): one worker process.

    In the primary, one per ``cluster.fork()``; in a worker,
    ``cluster.worker`` is the worker itself. Events (each also emitted on
    the cluster, with the worker first, in the primary):
        'online': the worker runs.
        'listening' (address): one of its servers listens
            ({'address', 'port', 'addressType'}).
        'message' (message): a message from the other side (JSON data).
        'disconnect': the channel closed.
        'exit' (code, signal): the process ended; ``code`` None when a
            signal ('SIGKILL'...) ended it.
    """

    id = Attribute("1, 2, ... in fork order: the key in cluster.workers.")
    process = Attribute("The process (in the primary a Popen: pid, poll(), kill()).")
    exitedAfterDisconnect = Attribute(
        "True when the end was planned (disconnect(), kill()); None before 'disconnect'.")
    state = Attribute("'forked', 'online', 'listening', 'disconnected' or 'dead'.")

    def send(message, sendHandle=None, options=None, callback=None):
        """Send JSON data to the other side; False once the channel is closed."""

    def disconnect():
        """Let the worker close its servers, finish its connections and exit."""

    def kill(signal='SIGTERM'):
        """Close the channel and send the worker ``signal``."""

    def isConnected():
        """Whether the channel is open."""

    def isDead():
        """Whether the process has exited."""
