"""Node's error vocabulary for gnet.

gnet raises or delivers three kinds of error, and they travel differently:

* **Argument errors** (:class:`InvalidArgTypeError`,
  :class:`InvalidArgValueError`, :class:`SocketBadPortError`,
  :class:`OutOfRangeError`, :class:`MissingArgsError`, ...): the caller
  misused the API. They are raised at once from the call, before any I/O, as
  Node throws them synchronously. Each is also a ``TypeError`` or
  ``ValueError`` so plain Python ``except`` clauses work, and each carries
  Node's ``code`` (``'ERR_INVALID_ARG_TYPE'``, ...) as a class attribute.
  Messages name the argument and the value given, in Node's wording with
  Python type names (``int``, ``str``, ``bool``, ``NoneType``).
* **State errors** (:class:`ServerNotRunningError`,
  :class:`StreamWriteAfterEndError`, :class:`SocketClosedError`, ...): the
  object was in the wrong state for the call. They are delivered the way
  Node delivers each one: to a callback, as an ``'error'`` event, or both,
  and raised only where Node throws (``listen()`` twice). They need no
  arguments; the default message is Node's.
* **System errors** come from the kernel or the resolver. They are not
  :class:`NodeError` subclasses but instances of the builtin ``OSError``
  subclass that fits (``ConnectionRefusedError``, ``BrokenPipeError``,
  ``socket.gaierror``, ...), made by :func:`system_error` or
  :func:`dns_error`, which add Node's fields: ``code`` (``'ECONNREFUSED'``),
  ``errno`` (Python's positive number, where Node's is negative),
  ``syscall``, ``address``, ``port`` (or ``hostname``) and ``message``.
  Every I/O path in gnet passes its ``OSError`` through one of these two.
"""

from __future__ import annotations

import errno as _errno
import os as _os
import socket as _socket
import types as _types
from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = (
    'AbortError',
    'AbortTimeoutError',
    'AggregateError',
    'BufferOutOfBoundsError',
    'ForeignThreadError',
    'IllegalConstructorError',
    'IPBlockedError',
    'InvalidAddressError',
    'InvalidAddressFamilyError',
    'InvalidArgTypeError',
    'InvalidArgValueError',
    'InvalidFdTypeError',
    'InvalidHandleTypeError',
    'InvalidIPAddressError',
    'MissingArgsError',
    'NestedRunError',
    'NodeError',
    'OutOfRangeError',
    'ProxyProtocolError',
    'ProxyProtocolTimeoutError',
    'ProxyProtocolUntrustedError',
    'ServerAlreadyListenError',
    'ServerNotRunningError',
    'SocketAlreadyBoundError',
    'SocketBadBufferSizeError',
    'SocketBadPortError',
    'SocketBadTypeError',
    'SocketBufferSizeError',
    'SocketClosedBeforeConnectionError',
    'SocketClosedError',
    'SocketDgramIsConnectedError',
    'SocketDgramNotConnectedError',
    'SocketDgramNotRunningError',
    'StreamDestroyedError',
    'StreamAlreadyFinishedError',
    'StreamNullValuesError',
    'StreamPrematureCloseError',
    'StreamUnshiftAfterEndEventError',
    'StreamPushAfterEOFError',
    'MultipleCallbackError',
    'MethodNotImplementedError',
    'StreamWriteAfterEndError',
    'UnhandledErrorError',
    'UnsupportedError',
    'UnknownEncodingError',
    'TLSCertAltnameInvalidError',
    'TLSCertAltnameFormatError',
    'TLSInvalidProtocolVersionError',
    'TLSProtocolVersionConflictError',
    'TLSInvalidProtocolMethodError',
    'CryptoOperationFailedError',
    'OpenSSLError',
    'TLSCertificateError',
    'TLSConnectionError',
    'TLSHandshakeTimeoutError',
    'TLSSNIFromServerError',
    'TLSALPNCallbackWithProtocolsError',
    'dns_error',
    'system_error',
)


def _restore(cls: type[BaseException], args: tuple[Any, ...],
             state: dict[str, Any]) -> BaseException:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class NodeError(Exception):
    """Base of every Node-coded error that is not a system error.

    Node's counterpart is an ``Error`` with a ``code`` property. Here ``code``
    is a class attribute of each subclass, so ``except`` clauses and
    ``err.code == 'ERR_...'`` checks both work. ``message`` holds the text,
    as on Node's errors.

    Args:
        message: The text; ``None`` uses the class's Node message.
    """

    code: str | None = None
    default_message: ClassVar[str] = ''

    def __init__(self, message: str | None = None) -> None:
        if message is None:
            message = self.default_message
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclass constructors take Node's arguments, not the message, so
        # the default pickling (cls(*args)) would call them wrongly.
        return (_restore, (type(self), self.args, self.__dict__))


def _describe(value: object) -> str:
    """Node's ``determineSpecificType`` with Python type names."""
    if value is None:
        return 'None'
    if isinstance(value, (bool, int, float, complex)):
        return f'type {type(value).__name__} ({value!r})'
    if isinstance(value, str):
        # Node shows at most 25 characters of a long string.
        if len(value) > 28:
            value = value[:25] + '...'
        return f'type {type(value).__name__} ({value!r})'
    if isinstance(value, type):
        return f'class {value.__qualname__}'
    if isinstance(value, (_types.FunctionType, _types.BuiltinFunctionType,
                          _types.MethodType)):
        return f'function {value.__name__}'
    return f'an instance of {type(value).__name__}'


def _subject(name: str) -> str:
    # Node's wording: a dotted name is an options property.
    if name.endswith(' argument'):
        return name
    kind = 'property' if '.' in name else 'argument'
    return f'"{name}" {kind}'


def _inspect(value: object, limit: int = 128) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


class InvalidArgTypeError(NodeError, TypeError):
    """An argument of the wrong type (Node's ``ERR_INVALID_ARG_TYPE``).

    Args:
        name: The argument's name; a dotted name (``'options.port'``) is
            called a property, as in Node.
        expected: What was expected, e.g. ``'int or str'``, ``'function'``,
            or a sequence of type names joined with "or".
        actual: The value given.
    """

    code = 'ERR_INVALID_ARG_TYPE'

    def __init__(self, name: str, expected: str | Sequence[str],
                 actual: object) -> None:
        if not isinstance(expected, str):
            items = list(expected)
            expected = (' or '.join(items) if len(items) < 3
                        else ', '.join(items[:-1]) + ', or ' + items[-1])
        if not expected.startswith(('a ', 'an ', 'one of ')):
            expected = 'of type ' + expected
        super().__init__(f'The {_subject(name)} must be {expected}. '
                         f'Received {_describe(actual)}')


class InvalidArgValueError(NodeError, ValueError):
    """An argument of the right type but a bad value (``ERR_INVALID_ARG_VALUE``).

    Args:
        name: The argument's name (dotted means an options property).
        value: The value given.
        reason: Why it is bad, completing "The argument 'x' ...".
    """

    code = 'ERR_INVALID_ARG_VALUE'

    def __init__(self, name: str, value: object,
                 reason: str = 'is invalid') -> None:
        kind = 'property' if '.' in name else 'argument'
        super().__init__(f"The {kind} '{name}' {reason}. "
                         f'Received {_inspect(value)}')


class SocketBadPortError(NodeError, ValueError):
    """A port out of range or not numeric (Node's ``ERR_SOCKET_BAD_PORT``).

    Node raises this as a RangeError; here it is a ``ValueError``.

    Args:
        name: The argument's name, e.g. ``'port'`` or ``'options.port'``.
        value: The value given.
        allow_zero: Whether 0 was acceptable (changes the message's bound).
    """

    code = 'ERR_SOCKET_BAD_PORT'

    def __init__(self, name: str, value: object,
                 allow_zero: bool = True) -> None:
        op = '>=' if allow_zero else '>'
        super().__init__(f'{name} should be {op} 0 and < 65536. '
                         f'Received {_describe(value)}.')


class OutOfRangeError(NodeError, ValueError):
    """A number outside its valid range (Node's ``ERR_OUT_OF_RANGE``).

    Args:
        name: The argument's name.
        range_description: What it must be, e.g. ``'>= 0'`` or
            ``'a non-negative finite number'``.
        value: The value given.
    """

    code = 'ERR_OUT_OF_RANGE'

    def __init__(self, name: str, range_description: str,
                 value: object) -> None:
        if (isinstance(value, int) and not isinstance(value, bool)
                and abs(value) > 2 ** 32):
            received = f'{value:_}'
        else:
            received = repr(value)
        super().__init__(f'The value of "{name}" is out of range. '
                         f'It must be {range_description}. Received {received}')


class MissingArgsError(NodeError, TypeError):
    """A required argument is missing (Node's ``ERR_MISSING_ARGS``).

    Args:
        *names: The missing arguments' names; an item that is a sequence of
            names lists alternatives ("The "options" or "port" argument").
    """

    code = 'ERR_MISSING_ARGS'

    def __init__(self, *names: str | Sequence[str]) -> None:
        parts = [f'"{n}"' if isinstance(n, str)
                 else ' or '.join(f'"{a}"' for a in n) for n in names]
        if len(parts) <= 1:
            subject = f'{"".join(parts)} argument'
        elif len(parts) == 2:
            subject = f'{parts[0]} and {parts[1]} arguments'
        else:
            subject = f'{", ".join(parts[:-1])}, and {parts[-1]} arguments'
        super().__init__(f'The {subject} must be specified')


class StreamNullValuesError(NodeError, TypeError):
    """``write(None)`` (Node's ``ERR_STREAM_NULL_VALUES``)."""

    code = 'ERR_STREAM_NULL_VALUES'
    default_message = 'May not write null values to stream'


class UnknownEncodingError(NodeError, TypeError):
    """An encoding name Node does not know (``ERR_UNKNOWN_ENCODING``).

    Args:
        encoding: The name given.
    """

    code = 'ERR_UNKNOWN_ENCODING'

    def __init__(self, encoding: object) -> None:
        super().__init__(f'Unknown encoding: {encoding}')


class InvalidHandleTypeError(NodeError, TypeError):
    """The operation does not fit the handle (``ERR_INVALID_HANDLE_TYPE``).

    Node raises it from ``resetAndDestroy()`` on a pipe, with this message.
    """

    code = 'ERR_INVALID_HANDLE_TYPE'
    default_message = 'This handle type cannot be sent'


_MISSING: Any = object()


class InvalidFdTypeError(NodeError, TypeError):
    """``ERR_INVALID_FD_TYPE``: a descriptor that is not a stream socket.

    Raised by ``Socket({'fd': fd})`` for a regular file, a pipe or a datagram
    socket, as Node does.
    """

    code = 'ERR_INVALID_FD_TYPE'

    def __init__(self, kind: str = 'UNKNOWN') -> None:
        super().__init__(f'Unsupported fd type: {kind}')


class UnhandledErrorError(NodeError):
    """``emit('error', value)`` with no listener and a non-exception value.

    Node's ``ERR_UNHANDLED_ERROR``. The value is kept as ``context``.

    Args:
        context: The value passed to ``emit('error', ...)``; omitted when
            ``emit('error')`` had no argument.
    """

    code = 'ERR_UNHANDLED_ERROR'

    def __init__(self, context: object = _MISSING) -> None:
        if context is _MISSING:
            self.context: object = None
            super().__init__('Unhandled error.')
        else:
            self.context = context
            super().__init__(f'Unhandled error. ({context!r})')


class ServerNotRunningError(NodeError):
    """``close(cb)`` on a server that is not listening (to ``cb``)."""

    code = 'ERR_SERVER_NOT_RUNNING'
    default_message = 'Server is not running.'


class ServerAlreadyListenError(NodeError):
    """``listen()`` on a server that is already listening (raised)."""

    code = 'ERR_SERVER_ALREADY_LISTEN'
    default_message = ('Listen method has been called more than once '
                       'without closing.')


class ForeignThreadError(NodeError, RuntimeError):
    """A gnet object used from an OS thread that does not run gnet's loop.

    gnet, like gevent, is not thread-safe: its sockets and servers belong to
    the hub of the thread that made them, and a call from another thread
    could corrupt the loop and stall every connection. ``write``, ``end``,
    ``destroy``, ``connect`` and ``listen`` check and raise this instead.
    From another thread, hand work over with
    ``hub.loop.run_callback_threadsafe(fn)`` (gevent) and call gnet in
    ``fn``. No Node counterpart (Node has one thread per loop).

    Args:
        operation: The method called.
    """

    code = 'ERR_GNET_FOREIGN_THREAD'

    def __init__(self, operation: str = 'this method') -> None:
        super().__init__(
            f'{operation}() was called from a thread that does not run gnet\'s loop; '
            f'gnet objects may be used only from the thread that runs their gevent hub '
            f'(use hub.loop.run_callback_threadsafe() to hand work over)')


class NestedRunError(NodeError, RuntimeError):
    """``gnet.run()`` called where it would wait for itself.

    Raised when ``run()`` is called inside a listener, a timer's callback or
    anything else gnet's worker greenlets run: ``run()`` waits until every
    listener has returned, the calling one included, so it would never
    return. Call ``run()`` once, from the main program (or a greenlet of
    your own). No Node counterpart (Node's loop is implicit).
    """

    code = 'ERR_GNET_NESTED_RUN'
    default_message = ('gnet.run() was called inside a listener or a timer callback, '
                       'where it would wait for itself forever; call it from the main '
                       'program (or a greenlet of your own) instead')


class StreamWriteAfterEndError(NodeError):
    """``write()`` after the local ``end()`` (write callback and 'error')."""

    code = 'ERR_STREAM_WRITE_AFTER_END'
    default_message = 'write after end'


class StreamPushAfterEOFError(NodeError):
    """``push()`` after ``push(None)`` (``ERR_STREAM_PUSH_AFTER_EOF``)."""

    code = 'ERR_STREAM_PUSH_AFTER_EOF'
    default_message = 'stream.push() after EOF'


class MultipleCallbackError(NodeError):
    """A hook called its callback twice (``ERR_MULTIPLE_CALLBACK``)."""

    code = 'ERR_MULTIPLE_CALLBACK'
    default_message = 'Callback called multiple times'


class MethodNotImplementedError(NodeError):
    """A stream hook neither overridden nor given as an option (``ERR_METHOD_NOT_IMPLEMENTED``)."""

    code = 'ERR_METHOD_NOT_IMPLEMENTED'

    def __init__(self, method: str) -> None:
        super().__init__(f'The {method} method is not implemented')


class StreamUnshiftAfterEndEventError(NodeError):
    """``unshift()`` after 'end' was emitted (the socket is destroyed with it)."""

    code = 'ERR_STREAM_UNSHIFT_AFTER_END_EVENT'
    default_message = 'stream.unshift() after end event'


class StreamAlreadyFinishedError(NodeError):
    """``end(cb)`` on a stream that has finished already (to ``cb``).

    Args:
        method: The method called, named in the message.
    """

    code = 'ERR_STREAM_ALREADY_FINISHED'

    def __init__(self, method: str = 'end') -> None:
        super().__init__(f'Cannot call {method} after a stream was finished')


class SocketClosedError(NodeError):
    """An operation that needs a handle on a socket that has none."""

    code = 'ERR_SOCKET_CLOSED'
    default_message = 'Socket is closed'


class StreamDestroyedError(NodeError):
    """A call on a destroyed stream (``ERR_STREAM_DESTROYED``).

    Args:
        method: The method called, named in the message.
    """

    code = 'ERR_STREAM_DESTROYED'

    def __init__(self, method: str = 'write') -> None:
        super().__init__(f'Cannot call {method} after a stream was destroyed')


class SocketClosedBeforeConnectionError(NodeError):
    """Data queued while connecting, then the socket was destroyed."""

    code = 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION'
    default_message = 'Socket closed before the connection was established'


class StreamPrematureCloseError(NodeError):
    """A stream closed before it ended (``ERR_STREAM_PREMATURE_CLOSE``)."""

    code = 'ERR_STREAM_PREMATURE_CLOSE'
    default_message = 'Premature close'


class InvalidAddressFamilyError(NodeError, ValueError):
    """A custom lookup gave a family other than 4 or 6.

    Node's ``ERR_INVALID_ADDRESS_FAMILY`` (a RangeError there).

    Args:
        family: The family the lookup returned.
        host: The host being connected to (kept as ``host``).
        port: The port being connected to (kept as ``port``).
    """

    code = 'ERR_INVALID_ADDRESS_FAMILY'

    def __init__(self, family: object, host: object, port: object) -> None:
        super().__init__(f'Invalid address family: {family} {host}:{port}')
        self.host = host
        self.port = port


class InvalidIPAddressError(NodeError, ValueError):
    """A custom lookup gave no usable IP (``ERR_INVALID_IP_ADDRESS``).

    Node raises it as a TypeError; here it is a ``ValueError``.

    Args:
        address: The address the lookup returned.
    """

    code = 'ERR_INVALID_IP_ADDRESS'

    def __init__(self, address: object) -> None:
        super().__init__(f'Invalid IP address: {address}')


class InvalidAddressError(NodeError, ValueError):
    """Not an address of the family given (Node's ``ERR_INVALID_ADDRESS``).

    Raised by :class:`gnet.SocketAddress` and the :class:`gnet.BlockList`
    methods that add rules. Node raises a plain ``Error``; here it is also a
    ``ValueError``.
    """

    code = 'ERR_INVALID_ADDRESS'
    default_message = 'Invalid socket address'


class IPBlockedError(NodeError):
    """A connect to an address the ``blockList`` blocks (Node's ``ERR_IP_BLOCKED``).

    Delivered as the socket's 'error' (one of an AggregateError's errors when
    happy eyeballs tried several addresses); no connect() was made.

    Args:
        address: The blocked IP address (kept as ``address``).
    """

    code = 'ERR_IP_BLOCKED'

    def __init__(self, address: str) -> None:
        super().__init__(f'IP({address}) is blocked by net.BlockList')
        self.address = address


class AggregateError(NodeError):
    """Several errors at once: every happy-eyeballs attempt failed.

    Node's ``NodeAggregateError``: ``errors`` holds the list and ``code`` is
    the first error's code. Node's message is empty by default; here the
    default joins the errors' messages so that ``str(err)`` says something.

    Args:
        errors: The errors, in the order they happened.
        message: The text; ``None`` joins the errors' messages.
    """

    def __init__(self, errors: Sequence[BaseException],
                 message: str | None = None) -> None:
        self.errors = list(errors)
        if message is None:
            message = '; '.join(getattr(e, 'message', None) or str(e)
                                for e in self.errors)
        super().__init__(message)
        # An instance attribute shadows the class attribute NodeError.code.
        self.code = getattr(self.errors[0], 'code', None) if self.errors else None


# --- dgram (UDP) ---------------------------------------------------------------


class SocketBadTypeError(NodeError, TypeError):
    """``dgram.createSocket()`` with a type other than 'udp4' / 'udp6'."""

    code = 'ERR_SOCKET_BAD_TYPE'
    default_message = 'Bad socket type specified. Valid types are: udp4, udp6'


class SocketAlreadyBoundError(NodeError):
    """``bind()`` on a UDP socket that is bound or binding (raised)."""

    code = 'ERR_SOCKET_ALREADY_BOUND'
    default_message = 'Socket is already bound'


class SocketDgramNotRunningError(NodeError):
    """A call on a UDP socket after ``close()`` (raised)."""

    code = 'ERR_SOCKET_DGRAM_NOT_RUNNING'
    default_message = 'Not running'


class SocketDgramIsConnectedError(NodeError):
    """``connect()`` twice, or a destination given to a connected UDP socket."""

    code = 'ERR_SOCKET_DGRAM_IS_CONNECTED'
    default_message = 'Already connected'


class SocketDgramNotConnectedError(NodeError):
    """``disconnect()`` or ``remoteAddress()`` on an unconnected UDP socket."""

    code = 'ERR_SOCKET_DGRAM_NOT_CONNECTED'
    default_message = 'Not connected'


class SocketBadBufferSizeError(NodeError, TypeError):
    """A buffer size that is not an integer in 0..2**32-1."""

    code = 'ERR_SOCKET_BAD_BUFFER_SIZE'
    default_message = 'Buffer size must be a positive integer'


class SocketBufferSizeError(NodeError):
    """The kernel refused to get or set a UDP buffer size (Node's SystemError).

    Args:
        err: The errno (Python's positive number) or the ``OSError`` caught.
        syscall: ``'uv_recv_buffer_size'`` or ``'uv_send_buffer_size'``.

    ``info`` holds ``{'errno', 'code', 'message', 'syscall'}`` as in Node;
    ``errno`` and ``syscall`` are also attributes.
    """

    code = 'ERR_SOCKET_BUFFER_SIZE'

    def __init__(self, err: OSError | int, syscall: str) -> None:
        number = err if isinstance(err, int) else (err.errno or _errno.EINVAL)
        name = _errno.errorcode.get(number, 'UNKNOWN')
        text = _description(name, number)
        self.info = {'errno': number, 'code': name, 'message': text, 'syscall': syscall}
        self.errno = number
        self.syscall = syscall
        super().__init__(f'Could not get or set buffer size: {syscall} returned '
                         f'{name} ({text})')


class BufferOutOfBoundsError(NodeError, ValueError):
    """An offset or length beyond a buffer (``ERR_BUFFER_OUT_OF_BOUNDS``).

    Node raises it as a RangeError; here it is a ``ValueError``.

    Args:
        name: ``'offset'`` or ``'length'``.
    """

    code = 'ERR_BUFFER_OUT_OF_BOUNDS'

    def __init__(self, name: str) -> None:
        super().__init__(f'"{name}" is outside of buffer bounds')


class AbortError(NodeError):
    """An operation given up because its AbortSignal fired (Node's ``AbortError``).

    What a socket's 'error', ``events.once()`` and ``pipeline()``'s callback
    get when their ``signal`` aborts, with the signal's reason as ``cause``,
    as Node's ``new AbortError(message, {cause})``. ``controller.abort()``
    without a reason also makes one its reason, with Node's DOMException
    message 'This operation was aborted' (Node's reason is a DOMException
    named 'AbortError' with the numeric code 20; gnet has no DOMException).

    Args:
        message: The text; ``None`` gives 'The operation was aborted'.
        options: Node's options object: ``{'cause': reason}``.
        cause: The same as ``options['cause']``, as a keyword.
    """

    code = 'ABORT_ERR'
    name = 'AbortError'
    default_message = 'The operation was aborted'

    def __init__(self, message: str | None = None, options: Any = None, *,
                 cause: Any = None) -> None:
        super().__init__(message)
        if options is not None:
            if not isinstance(options, dict):
                raise InvalidArgTypeError('options', 'dict', options)
            cause = options.get('cause', cause)
        self.cause = cause
        if isinstance(cause, BaseException):
            # So tracebacks show the reason under "The above exception...".
            self.__cause__ = cause


class AbortTimeoutError(NodeError, TimeoutError):
    """The reason of a signal made by ``AbortSignal.timeout(ms)``.

    Node's reason is a DOMException named 'TimeoutError' (numeric code 23)
    with this message; gnet's has ``name`` 'TimeoutError', the string code
    ``'TIMEOUT_ERR'`` (that DOMException code's name) and is a Python
    ``TimeoutError``, so ``except TimeoutError`` catches it.
    """

    code = 'TIMEOUT_ERR'
    name = 'TimeoutError'
    default_message = 'The operation was aborted due to timeout'


class IllegalConstructorError(NodeError, TypeError):
    """A class that cannot be constructed directly (``ERR_ILLEGAL_CONSTRUCTOR``).

    ``AbortSignal()``: signals come from ``AbortController().signal`` and
    ``AbortSignal``'s static methods, as in Node.
    """

    code = 'ERR_ILLEGAL_CONSTRUCTOR'
    default_message = 'Illegal constructor'


class UnsupportedError(NodeError, NotImplementedError):
    """A Node option or feature gnet does not implement (``ERR_GNET_UNSUPPORTED``).

    Raised where the option is used, never ignored (the contract's
    "nothing silently ignored").

    Args:
        what: The option or feature, e.g. ``'options.signal'``.
        instead: What to use instead, completing the message.
    """

    code = 'ERR_GNET_UNSUPPORTED'

    def __init__(self, what: str, instead: str = '') -> None:
        message = f'{what} is not supported by gnet'
        super().__init__(f'{message}; {instead}' if instead else message)


# libuv's descriptions, which Node appends for listen and bind failures
# ("listen EADDRINUSE: address already in use ..."); os.strerror's wording
# differs for several of them.
_UV_DESCRIPTIONS = {
    'EACCES': 'permission denied',
    'EADDRINUSE': 'address already in use',
    'EADDRNOTAVAIL': 'address not available',
    'EAFNOSUPPORT': 'address family not supported',
    'EAGAIN': 'resource temporarily unavailable',
    'EBADF': 'bad file descriptor',
    'EINVAL': 'invalid argument',
    'EMFILE': 'too many open files',
    'ENAMETOOLONG': 'name too long',
    'ENOBUFS': 'no buffer space available',
    'ENOENT': 'no such file or directory',
    'ENOMEM': 'not enough memory',
    'ENOTDIR': 'not a directory',
    'ENOTSOCK': 'socket operation on non-socket',
    'ENOTSUP': 'operation not supported on socket',
    'EPERM': 'operation not permitted',
    'EROFS': 'read-only file system',
}

_DESCRIBED_SYSCALLS = frozenset(('listen', 'bind'))

# getaddrinfo's codes by number. Node folds "no such name" and "no data"
# into ENOTFOUND.
_GAI_CODES = {getattr(_socket, n): n for n in sorted(dir(_socket))
              if n.startswith('EAI_')}
for _name in ('EAI_NONAME', 'EAI_NODATA'):
    if hasattr(_socket, _name):
        _GAI_CODES[getattr(_socket, _name)] = 'ENOTFOUND'
del _name


def _description(code: str, number: int | None) -> str:
    text = _UV_DESCRIPTIONS.get(code)
    if text is not None:
        return text
    if number is None or code == 'UNKNOWN':
        return 'unknown error'
    try:
        text = _os.strerror(number)
    except ValueError:
        return 'unknown error'
    if text.startswith('Unknown error'):
        return 'unknown error'
    return text[:1].lower() + text[1:]


def system_error(err: OSError | int, syscall: str, address: str | None = None,
                 port: int | None = None, describe: bool | None = None,
                 local: tuple[str, int] | None = None) -> OSError:
    """Turn a kernel error into Node's system error (the one choke point).

    Node's ``exceptionWithHostPort`` / ``uvExceptionWithHostPort``. Returns a
    new instance of the builtin ``OSError`` subclass that fits the errno
    (``ConnectionRefusedError``, ``ConnectionResetError``, ...) with Node's
    fields: ``code``, ``errno``, ``syscall``, ``message`` and, only when
    given, ``address`` and ``port``. The message is Node's:
    ``connect ECONNREFUSED 127.0.0.1:8080``, ``read ECONNRESET``,
    ``listen EADDRINUSE: address already in use 127.0.0.1:8080``,
    ``connect ENOENT /tmp/x.sock``. It is also the error's ``strerror``, so
    ``str(err)`` reads ``[Errno 111] connect ECONNREFUSED 127.0.0.1:8080``.

    Differences from Node: ``errno`` is Python's positive number (Node's is
    negative); an errno with no name gives code ``'UNKNOWN'``; an ``OSError``
    without an errno gives ``'ETIMEDOUT'`` if it is a ``TimeoutError``, else
    ``'UNKNOWN'`` with ``errno`` None. A ``socket.gaierror`` keeps its class
    and gets the code :func:`dns_error` would give.

    Args:
        err: The ``OSError`` caught (kept as ``__cause__``), or an errno
            (negative numbers are read as libuv's, i.e. negated).
        syscall: The operation: ``'connect'``, ``'listen'``, ``'read'``, ...
        address: The IP or Unix path involved, if any.
        port: The port involved, if any (0 is not shown in the message).
        describe: Whether libuv's description follows the code (None: for
            'listen' and 'bind', as Node's stream servers do; ``dgram`` says
            False, as Node's UDP errors carry none).
        local: ``(localAddress, localPort)`` of a connect that bound both:
            the message ends with `` - Local (address:port)`` and the error
            carries ``localAddress`` and ``localPort``, as in Node.

    Returns:
        The new error; the caller raises or emits it.
    """
    if isinstance(err, NodeError):
        return err  # named already, by a transport (TLS)
    cause: OSError | None = None
    if isinstance(err, BaseException):
        cause = err
        number = err.errno
        if number is None and isinstance(err, TimeoutError):
            number = _errno.ETIMEDOUT
    else:
        number = -err if err < 0 else err
    gai = isinstance(cause, _socket.gaierror)
    code = (_GAI_CODES if gai else _errno.errorcode).get(number, 'UNKNOWN')  # type: ignore[arg-type]
    message = f'{syscall} {code}'
    if describe or (describe is None and syscall in _DESCRIBED_SYSCALLS):
        message = f'{message}: {_description(code, number)}'
    if port:
        message = f'{message} {address}:{port}'
    elif address:
        message = f'{message} {address}'
    if local is not None:
        message = f'{message} - Local ({local[0]}:{local[1]})'
    exc: Any
    exc = _socket.gaierror(number, message) if gai else OSError(number, message)
    exc.code = code
    exc.syscall = syscall
    exc.message = message
    if address is not None:
        exc.address = address
    if port is not None:
        exc.port = port
    if local is not None:
        exc.localAddress, exc.localPort = local
    exc.__cause__ = cause
    return exc


def dns_error(err: OSError, hostname: str,
              syscall: str = 'getaddrinfo') -> OSError:
    """Turn a resolver failure into Node's DNS error.

    Node's ``DNSException``: code ``'ENOTFOUND'`` for "no such name" and "no
    data", ``'EAI_AGAIN'``, ``'EAI_FAIL'`` and the other ``EAI_*`` names as
    they are; fields ``code``, ``errno`` (Python's), ``syscall``,
    ``hostname`` and ``message`` (``getaddrinfo ENOTFOUND example.invalid``);
    no ``address`` or ``port``. A ``socket.gaierror`` gives a new
    ``socket.gaierror``; any other ``OSError`` (a resolver timeout, say)
    gives the builtin subclass that fits its errno, with the errno's name as
    code.

    Args:
        err: The error the resolver raised (kept as ``__cause__``).
        hostname: The name being looked up.
        syscall: The operation, ``'getaddrinfo'`` by default.

    Returns:
        The new error; the caller raises or emits it.
    """
    number = err.errno
    exc: Any
    if isinstance(err, _socket.gaierror):
        code = _GAI_CODES.get(number, 'UNKNOWN')
        message = f'{syscall} {code} {hostname}' if hostname else f'{syscall} {code}'
        exc = _socket.gaierror(number, message)
    else:
        if number is None and isinstance(err, TimeoutError):
            number = _errno.ETIMEDOUT
        code = _errno.errorcode.get(number, 'UNKNOWN') if number is not None else 'UNKNOWN'
        message = f'{syscall} {code} {hostname}' if hostname else f'{syscall} {code}'
        exc = OSError(number, message)
    exc.code = code
    exc.syscall = syscall
    exc.hostname = hostname
    exc.message = message
    exc.__cause__ = err
    return exc


# --- TLS (gnet.tls) -----------------------------------------------------------


class TLSCertAltnameInvalidError(NodeError):
    """A certificate that does not name the host (``ERR_TLS_CERT_ALTNAME_INVALID``).

    What ``gnet.tls.checkServerIdentity`` returns (it does not raise it), as
    Node's ``tls.checkServerIdentity``. The message is Node's
    "Hostname/IP does not match certificate's altnames: " followed by
    ``reason``.

    Args:
        reason: Why the names differ, in Node's words
            (``"Host: a.com. is not cert's CN: b.com"``).
        host: The host name checked (its trailing dot removed).
        cert: The certificate object checked.
    """

    code = 'ERR_TLS_CERT_ALTNAME_INVALID'

    def __init__(self, reason: str, host: str, cert: Any) -> None:
        super().__init__(f"Hostname/IP does not match certificate's altnames: {reason}")
        self.reason = reason
        self.host = host
        self.cert = cert


class TLSCertAltnameFormatError(NodeError, ValueError):
    """A ``subjectaltname`` string with a broken quoted name (``ERR_TLS_CERT_ALTNAME_FORMAT``).

    Node raises it as a SyntaxError; here it is a ``ValueError``.
    """

    code = 'ERR_TLS_CERT_ALTNAME_FORMAT'
    default_message = 'Invalid subject alternative name string'


class TLSInvalidProtocolVersionError(NodeError, TypeError):
    """A ``minVersion``/``maxVersion`` Node does not know (``ERR_TLS_INVALID_PROTOCOL_VERSION``).

    Args:
        version: The value given.
        which: ``'minimum'`` or ``'maximum'``.
    """

    code = 'ERR_TLS_INVALID_PROTOCOL_VERSION'

    def __init__(self, version: object, which: str) -> None:
        shown = f'"{version}"' if isinstance(version, str) else repr(version)
        super().__init__(f'{shown} is not a valid {which} TLS protocol version')


class TLSProtocolVersionConflictError(NodeError, TypeError):
    """``secureProtocol`` given with ``minVersion`` or ``maxVersion``.

    Node's ``ERR_TLS_PROTOCOL_VERSION_CONFLICT``.

    Args:
        version: The ``minVersion`` or ``maxVersion`` given.
        protocol: The ``secureProtocol`` given.
    """

    code = 'ERR_TLS_PROTOCOL_VERSION_CONFLICT'

    def __init__(self, version: object, protocol: object) -> None:
        super().__init__(f'TLS protocol version "{version}" conflicts with '
                         f'secureProtocol "{protocol}"')


class TLSInvalidProtocolMethodError(NodeError, TypeError):
    """A ``secureProtocol`` OpenSSL has no method for (``ERR_TLS_INVALID_PROTOCOL_METHOD``).

    Args:
        method: The value given.
        message: Node's text when it is not 'Unknown method: <method>'
            ('SSLv3 methods disabled').
    """

    code = 'ERR_TLS_INVALID_PROTOCOL_METHOD'

    def __init__(self, method: object, message: str | None = None) -> None:
        super().__init__(message or f'Unknown method: {method}')


class CryptoOperationFailedError(NodeError):
    """An OpenSSL step without an OpenSSL reason (``ERR_CRYPTO_OPERATION_FAILED``).

    Node's wording, e.g. 'Failed to set ECDH curve', 'Failed to parse CRL'.
    """

    code = 'ERR_CRYPTO_OPERATION_FAILED'
    default_message = 'Operation failed'


class OpenSSLError(NodeError):
    """An error OpenSSL reported, under Node's code for it.

    Node names such errors from OpenSSL's library and reason:
    ``'ERR_OSSL_PEM_NO_START_LINE'``, ``'ERR_OSSL_X509_KEY_VALUES_MISMATCH'``,
    ``'ERR_SSL_NO_CIPHER_MATCH'``; ``code`` is set per instance. The message
    is OpenSSL's text as Node shows it (``'error:...:PEM routines::no start
    line'``), less the packed error number, which Python does not give;
    ``library`` and ``reason`` are Node's fields of the same names.

    Args:
        code: Node's code.
        library: OpenSSL's library text, e.g. ``'PEM routines'``.
        reason: OpenSSL's reason text, e.g. ``'no start line'``.
    """

    def __init__(self, code: str, library: str, reason: str) -> None:
        super().__init__(f'error:{library}::{reason}')
        # An instance attribute shadows the class attribute NodeError.code.
        self.code = code
        self.library = library
        self.reason = reason


# --- TLS connections (gnet.tls.socket) ------------------------------------------


class TLSConnectionError(NodeError, ConnectionError):
    """OpenSSL failed a TLS connection, under Node's code for it.

    Node names these ``'ERR_SSL_' + OpenSSL's reason`` in upper case
    (``'ERR_SSL_WRONG_VERSION_NUMBER'``, ``'ERR_SSL_HTTP_REQUEST'``,
    ``'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'``); ``code`` is set per instance.
    Also a ``ConnectionError`` (an ``OSError``), so a transport can raise it
    where the socket layer expects a system error and it passes through
    unchanged. ``library`` and ``reason`` are Node's fields of the same
    names.

    Args:
        code: Node's code.
        message: OpenSSL's text.
        reason: OpenSSL's reason text (``'wrong version number'``).
        library: OpenSSL's library text (``'SSL routines'``).
    """

    def __init__(self, code: str, message: str, reason: str = '',
                 library: str = 'SSL routines') -> None:
        NodeError.__init__(self, message)
        self.code = code
        self.reason = reason
        self.library = library

    def __str__(self) -> str:
        return self.message


class TLSCertificateError(NodeError, ConnectionError):
    """The peer's certificate failed verification (Node's code, e.g. ``'CERT_HAS_EXPIRED'``).

    ``code`` is the ``authorizationError`` string Node reports
    (``'DEPTH_ZERO_SELF_SIGNED_CERT'``, ``'UNABLE_TO_VERIFY_LEAF_SIGNATURE'``);
    the message is OpenSSL's text for it (``'self-signed certificate'``).
    """

    def __init__(self, code: str, message: str) -> None:
        NodeError.__init__(self, message)
        self.code = code

    def __str__(self) -> str:
        return self.message


class TLSHandshakeTimeoutError(NodeError, TimeoutError):
    """The handshake did not finish within ``handshakeTimeout`` (``ERR_TLS_HANDSHAKE_TIMEOUT``)."""

    code = 'ERR_TLS_HANDSHAKE_TIMEOUT'
    default_message = 'TLS handshake timeout'

    def __str__(self) -> str:
        return self.message


class TLSSNIFromServerError(NodeError):
    """``setServername()`` on a server's socket (``ERR_TLS_SNI_FROM_SERVER``)."""

    code = 'ERR_TLS_SNI_FROM_SERVER'
    default_message = 'Cannot issue SNI from a TLS server-side socket'


class TLSALPNCallbackWithProtocolsError(NodeError, TypeError):
    """A server given both ``ALPNCallback`` and ``ALPNProtocols``.

    Node's ``ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS``.
    """

    code = 'ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS'
    default_message = 'The ALPNCallback and ALPNProtocols TLS options are mutually exclusive'


class ProxyProtocolError(NodeError):
    """A PROXY protocol header was malformed or missing (``ERR_GNET_PROXY_PROTOCOL``).

    A gnet extension: a server made with the ``proxyProtocol`` option closes
    such a connection and emits it as ``'proxyError'(err, info)``; the
    message says what was wrong with the header.
    """

    code = 'ERR_GNET_PROXY_PROTOCOL'
    default_message = 'Invalid PROXY protocol header'


class ProxyProtocolTimeoutError(ProxyProtocolError, TimeoutError):
    """No whole PROXY header came within the timeout (``ERR_GNET_PROXY_PROTOCOL_TIMEOUT``)."""

    code = 'ERR_GNET_PROXY_PROTOCOL_TIMEOUT'
    default_message = 'No PROXY protocol header in time'


class ProxyProtocolUntrustedError(ProxyProtocolError):
    """A peer outside the trusted list connected (``ERR_GNET_PROXY_PROTOCOL_UNTRUSTED``).

    Only trusted peers may send a PROXY header (anyone else could claim any
    address), and a server with ``proxyProtocol`` requires one: the
    connection is closed before a byte is read.
    """

    code = 'ERR_GNET_PROXY_PROTOCOL_UNTRUSTED'
    default_message = 'PROXY protocol header from an untrusted peer'
