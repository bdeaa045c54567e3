"""Tests for gnet.errors: Node's codes, messages, and the system-error translator."""

from __future__ import annotations

import errno
import pickle
import socket
from typing import Any

import pytest

from gnet import errors
from gnet.errors import (
    AggregateError,
    InvalidAddressFamilyError,
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidHandleTypeError,
    InvalidIPAddressError,
    MissingArgsError,
    NodeError,
    OutOfRangeError,
    ServerAlreadyListenError,
    ServerNotRunningError,
    SocketBadPortError,
    SocketClosedBeforeConnectionError,
    SocketClosedError,
    StreamDestroyedError,
    StreamNullValuesError,
    StreamPrematureCloseError,
    StreamWriteAfterEndError,
    UnhandledErrorError,
    UnknownEncodingError,
    dns_error,
    system_error,
)

# --- codes and classes ---------------------------------------------------------

CODES = [
    (InvalidArgTypeError, 'ERR_INVALID_ARG_TYPE', TypeError),
    (InvalidArgValueError, 'ERR_INVALID_ARG_VALUE', ValueError),
    (SocketBadPortError, 'ERR_SOCKET_BAD_PORT', ValueError),
    (OutOfRangeError, 'ERR_OUT_OF_RANGE', ValueError),
    (MissingArgsError, 'ERR_MISSING_ARGS', TypeError),
    (StreamNullValuesError, 'ERR_STREAM_NULL_VALUES', TypeError),
    (UnknownEncodingError, 'ERR_UNKNOWN_ENCODING', TypeError),
    (InvalidHandleTypeError, 'ERR_INVALID_HANDLE_TYPE', TypeError),
    (UnhandledErrorError, 'ERR_UNHANDLED_ERROR', NodeError),
    (ServerNotRunningError, 'ERR_SERVER_NOT_RUNNING', NodeError),
    (ServerAlreadyListenError, 'ERR_SERVER_ALREADY_LISTEN', NodeError),
    (StreamWriteAfterEndError, 'ERR_STREAM_WRITE_AFTER_END', NodeError),
    (SocketClosedError, 'ERR_SOCKET_CLOSED', NodeError),
    (StreamDestroyedError, 'ERR_STREAM_DESTROYED', NodeError),
    (SocketClosedBeforeConnectionError, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION', NodeError),
    (StreamPrematureCloseError, 'ERR_STREAM_PREMATURE_CLOSE', NodeError),
    (InvalidAddressFamilyError, 'ERR_INVALID_ADDRESS_FAMILY', ValueError),
    (InvalidIPAddressError, 'ERR_INVALID_IP_ADDRESS', ValueError),
]


@pytest.mark.parametrize(('cls', 'code', 'base'), CODES, ids=[c[1] for c in CODES])
def test_code_is_a_class_attribute(cls: type[NodeError], code: str, base: type) -> None:
    assert cls.code == code
    assert 'code' in cls.__dict__
    assert issubclass(cls, NodeError)
    assert issubclass(cls, base)


def test_state_errors_are_not_type_or_value_errors() -> None:
    for cls in (ServerNotRunningError, ServerAlreadyListenError, StreamWriteAfterEndError,
                SocketClosedError, StreamDestroyedError, SocketClosedBeforeConnectionError,
                StreamPrematureCloseError, UnhandledErrorError, AggregateError):
        assert not issubclass(cls, (TypeError, ValueError)), cls


def test_every_public_name_is_exported() -> None:
    public = {n for n in vars(errors) if not n.startswith('_')}
    imported = {'annotations', 'Any', 'ClassVar', 'Sequence'}
    assert set(errors.__all__) == public - imported


# --- messages ------------------------------------------------------------------


def _fn() -> None:
    pass


class _Thing:
    pass


ARG_TYPE_MESSAGES: list[tuple[tuple[Any, ...], str]] = [
    (('port', 'int or str', True),
     'The "port" argument must be of type int or str. Received type bool (True)'),
    (('port', 'int or str', None),
     'The "port" argument must be of type int or str. Received None'),
    (('msecs', 'int or float', '100'),
     'The "msecs" argument must be of type int or float. Received type str (\'100\')'),
    (('options.port', 'int or str', False),
     'The "options.port" property must be of type int or str. Received type bool (False)'),
    (('x', ['int', 'str'], 1.5),
     'The "x" argument must be of type int or str. Received type float (1.5)'),
    (('x', ['int', 'str', 'None'], float('nan')),
     'The "x" argument must be of type int, str, or None. Received type float (nan)'),
    (('x', 'str', 'a' * 29),
     'The "x" argument must be of type str. Received type str (\'' + 'a' * 25 + '...\')'),
    (('x', 'str', 'a' * 28),
     'The "x" argument must be of type str. Received type str (\'' + 'a' * 28 + '\')'),
    (('x', 'str', "it's"),
     'The "x" argument must be of type str. Received type str ("it\'s")'),
    (('cb', 'function', {}),
     'The "cb" argument must be of type function. Received an instance of dict'),
    (('cb', 'function', [1]),
     'The "cb" argument must be of type function. Received an instance of list'),
    (('data', 'bytes or str', b'x'),
     'The "data" argument must be of type bytes or str. Received an instance of bytes'),
    (('x', 'str', _fn),
     'The "x" argument must be of type str. Received function _fn'),
    (('x', 'str', len),
     'The "x" argument must be of type str. Received function len'),
    (('x', 'str', _Thing),
     'The "x" argument must be of type str. Received class _Thing'),
    (('x', 'str', _Thing()),
     'The "x" argument must be of type str. Received an instance of _Thing'),
    (('x', 'an instance of bytes', 1),
     'The "x" argument must be an instance of bytes. Received type int (1)'),
    (('first argument', 'str', 1),
     'The first argument must be of type str. Received type int (1)'),
]


@pytest.mark.parametrize(('args', 'message'), ARG_TYPE_MESSAGES)
def test_invalid_arg_type_message(args: tuple[Any, ...], message: str) -> None:
    err = InvalidArgTypeError(*args)
    assert str(err) == message
    assert err.message == message
    assert err.args == (message,)


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (('options', {}), "The argument 'options' is invalid. Received {}"),
        (('options.objectMode', True, 'is not supported'),
         "The property 'options.objectMode' is not supported. Received True"),
        (('x', 'y' * 200), "The argument 'x' is invalid. Received '" + 'y' * 127 + '...'),
    ],
)
def test_invalid_arg_value_message(args: tuple[Any, ...], message: str) -> None:
    assert str(InvalidArgValueError(*args)) == message


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (('port', 65536), 'port should be >= 0 and < 65536. Received type int (65536).'),
        (('options.port', '0x'),
         "options.port should be >= 0 and < 65536. Received type str ('0x')."),
        (('port', 0, False), 'port should be > 0 and < 65536. Received type int (0).'),
        (('port', float('-inf')), 'port should be >= 0 and < 65536. Received type float (-inf).'),
    ],
)
def test_socket_bad_port_message(args: tuple[Any, ...], message: str) -> None:
    assert str(SocketBadPortError(*args)) == message


@pytest.mark.parametrize(
    ('value', 'received'),
    [
        (-1, '-1'),
        (float('nan'), 'nan'),
        (2 ** 32, '4294967296'),
        (2 ** 32 + 1, '4_294_967_297'),
        (-(2 ** 40), '-1_099_511_627_776'),
        (True, 'True'),
    ],
)
def test_out_of_range_message(value: object, received: str) -> None:
    err = OutOfRangeError('msecs', 'a non-negative finite number', value)
    assert str(err) == (
        'The value of "msecs" is out of range. It must be a non-negative finite number. '
        f'Received {received}'
    )


@pytest.mark.parametrize(
    ('names', 'message'),
    [
        (('port',), 'The "port" argument must be specified'),
        (('a', 'b'), 'The "a" and "b" arguments must be specified'),
        (('a', 'b', 'c'), 'The "a", "b", and "c" arguments must be specified'),
        ((['options', 'port', 'path'],),
         'The "options" or "port" or "path" argument must be specified'),
        ((('a', 'b'), 'c'), 'The "a" or "b" and "c" arguments must be specified'),
    ],
)
def test_missing_args_message(names: tuple[Any, ...], message: str) -> None:
    assert str(MissingArgsError(*names)) == message


@pytest.mark.parametrize(
    ('err', 'message'),
    [
        (StreamNullValuesError(), 'May not write null values to stream'),
        (UnknownEncodingError('utf9'), 'Unknown encoding: utf9'),
        (UnknownEncodingError(5), 'Unknown encoding: 5'),
        (InvalidHandleTypeError(), 'This handle type cannot be sent'),
        (ServerNotRunningError(), 'Server is not running.'),
        (ServerAlreadyListenError(),
         'Listen method has been called more than once without closing.'),
        (StreamWriteAfterEndError(), 'write after end'),
        (SocketClosedError(), 'Socket is closed'),
        (StreamDestroyedError(), 'Cannot call write after a stream was destroyed'),
        (StreamDestroyedError('end'), 'Cannot call end after a stream was destroyed'),
        (StreamDestroyedError(method='pipe'), 'Cannot call pipe after a stream was destroyed'),
        (SocketClosedBeforeConnectionError(),
         'Socket closed before the connection was established'),
        (StreamPrematureCloseError(), 'Premature close'),
        (InvalidAddressFamilyError(100, 'localhost', 80),
         'Invalid address family: 100 localhost:80'),
        (InvalidIPAddressError(None), 'Invalid IP address: None'),
        (UnhandledErrorError(), 'Unhandled error.'),
        (UnhandledErrorError(None), 'Unhandled error. (None)'),
        (UnhandledErrorError('boom'), "Unhandled error. ('boom')"),
        (UnhandledErrorError({'a': 1}), "Unhandled error. ({'a': 1})"),
    ],
)
def test_fixed_messages(err: NodeError, message: str) -> None:
    assert str(err) == message
    assert err.message == message


def test_state_error_message_can_be_replaced() -> None:
    err = SocketClosedError('custom')
    assert str(err) == 'custom'
    assert err.code == 'ERR_SOCKET_CLOSED'


def test_unhandled_error_keeps_the_context() -> None:
    value = object()
    assert UnhandledErrorError(value).context is value
    assert UnhandledErrorError().context is None


def test_invalid_address_family_keeps_host_and_port() -> None:
    err = InvalidAddressFamilyError(100, 'example.com', 8080)
    assert (err.host, err.port) == ('example.com', 8080)


def test_aggregate_error() -> None:
    first = system_error(errno.ECONNREFUSED, 'connect', '127.0.0.1', 1)
    second = system_error(errno.ENETUNREACH, 'connect', '::1', 1)
    err = AggregateError([first, second])
    assert err.errors == [first, second]
    assert err.code == 'ECONNREFUSED'
    assert str(err) == 'connect ECONNREFUSED 127.0.0.1:1; connect ENETUNREACH ::1:1'
    assert str(AggregateError([first], 'all failed')) == 'all failed'
    assert AggregateError([ValueError('x')]).code is None
    assert AggregateError([]).code is None
    assert AggregateError.code is None


ALL_NODE_ERRORS = [
    InvalidArgTypeError('port', 'int', True),
    InvalidArgValueError('options', {}),
    SocketBadPortError('port', -1, False),
    OutOfRangeError('msecs', '>= 0', -1),
    MissingArgsError('a', ['b', 'c']),
    StreamNullValuesError(),
    UnknownEncodingError('x'),
    InvalidHandleTypeError(),
    UnhandledErrorError('ctx'),
    ServerNotRunningError(),
    StreamDestroyedError('end'),
    InvalidAddressFamilyError(5, 'h', 1),
    InvalidIPAddressError('x'),
    AggregateError([SocketClosedError()]),
]


@pytest.mark.parametrize('err', ALL_NODE_ERRORS, ids=lambda e: type(e).__name__)
def test_node_errors_pickle(err: NodeError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    assert copy.code == err.code
    assert copy.__dict__.keys() == err.__dict__.keys()


def test_argument_errors_work_with_plain_except() -> None:
    with pytest.raises(TypeError):
        raise InvalidArgTypeError('port', 'int', None)
    with pytest.raises(ValueError, match='should be >= 0'):
        raise SocketBadPortError('port', -1)


# --- system_error --------------------------------------------------------------


def _cls(value: object) -> type:
    # type() without narrowing, so the Node fields stay reachable for mypy.
    return type(value)


SYSTEM_CASES: list[tuple[tuple[Any, ...], type[OSError], str, str]] = [
    ((errno.ECONNREFUSED, 'connect', '127.0.0.1', 8080),
     ConnectionRefusedError, 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8080'),
    ((errno.ECONNREFUSED, 'connect', '::1', 80),
     ConnectionRefusedError, 'ECONNREFUSED', 'connect ECONNREFUSED ::1:80'),
    ((errno.ECONNRESET, 'read'), ConnectionResetError, 'ECONNRESET', 'read ECONNRESET'),
    ((errno.EPIPE, 'write'), BrokenPipeError, 'EPIPE', 'write EPIPE'),
    ((errno.EBADF, 'write'), OSError, 'EBADF', 'write EBADF'),
    ((errno.ETIMEDOUT, 'connect', '10.0.0.1', 9),
     TimeoutError, 'ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:9'),
    ((errno.EADDRINUSE, 'listen', '127.0.0.1', 8080),
     OSError, 'EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:8080'),
    ((errno.EADDRINUSE, 'listen', '/tmp/x.sock'),
     OSError, 'EADDRINUSE', 'listen EADDRINUSE: address already in use /tmp/x.sock'),
    ((errno.EACCES, 'listen', '0.0.0.0', 80),
     PermissionError, 'EACCES', 'listen EACCES: permission denied 0.0.0.0:80'),
    ((errno.EADDRNOTAVAIL, 'bind', '10.9.9.9', 80),
     OSError, 'EADDRNOTAVAIL', 'bind EADDRNOTAVAIL: address not available 10.9.9.9:80'),
    ((errno.EIO, 'listen'), OSError, 'EIO', 'listen EIO: input/output error'),
    ((errno.ENOENT, 'connect', '/tmp/x.sock'),
     FileNotFoundError, 'ENOENT', 'connect ENOENT /tmp/x.sock'),
    ((errno.ECONNREFUSED, 'connect', '127.0.0.1', 0),
     ConnectionRefusedError, 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1'),
    ((-errno.ECONNRESET, 'read'), ConnectionResetError, 'ECONNRESET', 'read ECONNRESET'),
    ((99999, 'read'), OSError, 'UNKNOWN', 'read UNKNOWN'),
    ((99999, 'listen', '::', 1), OSError, 'UNKNOWN', 'listen UNKNOWN: unknown error :::1'),
]


@pytest.mark.parametrize(('args', 'cls', 'code', 'message'), SYSTEM_CASES)
def test_system_error(args: tuple[Any, ...], cls: type[OSError], code: str,
                      message: str) -> None:
    err: Any = system_error(*args)
    assert _cls(err) is cls
    assert err.code == code
    assert err.errno == abs(args[0])
    assert err.syscall == args[1]
    assert err.message == message
    assert err.strerror == message
    assert str(err) == f'[Errno {abs(args[0])}] {message}'


def test_system_error_sets_address_and_port_only_when_given() -> None:
    err: Any = system_error(errno.ECONNRESET, 'read')
    assert not hasattr(err, 'address')
    assert not hasattr(err, 'port')
    err = system_error(errno.ENOENT, 'connect', '/tmp/x.sock')
    assert err.address == '/tmp/x.sock'
    assert not hasattr(err, 'port')
    err = system_error(errno.ECONNREFUSED, 'connect', '127.0.0.1', 8080)
    assert (err.address, err.port) == ('127.0.0.1', 8080)


def test_system_error_returns_a_new_error_caused_by_the_original() -> None:
    original = ConnectionRefusedError(errno.ECONNREFUSED, 'Connection refused')
    err: Any = system_error(original, 'connect', '127.0.0.1', 9)
    assert err is not original
    assert issubclass(_cls(err), ConnectionRefusedError)
    assert err.__cause__ is original
    assert err.code == 'ECONNREFUSED'
    assert system_error(errno.EPIPE, 'write').__cause__ is None


def test_system_error_without_errno() -> None:
    err: Any = system_error(OSError('odd'), 'read')
    assert _cls(err) is OSError
    assert (err.code, err.errno, err.message) == ('UNKNOWN', None, 'read UNKNOWN')
    err = system_error(TimeoutError('timed out'), 'connect', 'h', 1)
    assert _cls(err) is TimeoutError
    assert (err.code, err.errno, err.message) == ('ETIMEDOUT', errno.ETIMEDOUT,
                                                  'connect ETIMEDOUT h:1')


def test_system_error_every_errno_is_total() -> None:
    for number in [*errno.errorcode, 0, 1000, 123456]:
        err: Any = system_error(number, 'write')
        assert err.code == errno.errorcode.get(number, 'UNKNOWN')
        listen: Any = system_error(number, 'listen', 'x', 1)
        assert listen.message.startswith(f'listen {err.code}: ')
        assert listen.message.endswith(' x:1')


def test_system_error_keeps_a_gaierror_a_gaierror() -> None:
    err: Any = system_error(socket.gaierror(socket.EAI_NONAME, 'x'), 'connect', 'h', 1)
    assert _cls(err) is socket.gaierror
    assert err.code == 'ENOTFOUND'


def test_system_error_pickles_with_its_fields() -> None:
    err: Any = pickle.loads(pickle.dumps(system_error(errno.ECONNREFUSED, 'connect', 'h', 1)))
    assert _cls(err) is ConnectionRefusedError
    assert (err.code, err.syscall, err.address, err.port, err.message) == (
        'ECONNREFUSED', 'connect', 'h', 1, 'connect ECONNREFUSED h:1')


def test_system_error_from_a_real_refused_connection() -> None:
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on the port now
    client = socket.socket()
    try:
        with pytest.raises(ConnectionRefusedError) as info:
            client.connect(('127.0.0.1', port))
    finally:
        client.close()
    err: Any = system_error(info.value, 'connect', '127.0.0.1', port)
    assert issubclass(_cls(err), ConnectionRefusedError)
    assert err.message == f'connect ECONNREFUSED 127.0.0.1:{port}'


def test_system_error_from_a_real_address_in_use() -> None:
    first = socket.socket()
    second = socket.socket()
    try:
        first.bind(('127.0.0.1', 0))
        first.listen()
        port = first.getsockname()[1]
        with pytest.raises(OSError) as info:
            second.bind(('127.0.0.1', port))
    finally:
        first.close()
        second.close()
    err: Any = system_error(info.value, 'listen', '127.0.0.1', port)
    assert err.code == 'EADDRINUSE'
    assert err.message == f'listen EADDRINUSE: address already in use 127.0.0.1:{port}'


# --- dns_error -----------------------------------------------------------------

DNS_CASES = [
    ('EAI_NONAME', 'ENOTFOUND'),
    ('EAI_NODATA', 'ENOTFOUND'),
    ('EAI_AGAIN', 'EAI_AGAIN'),
    ('EAI_FAIL', 'EAI_FAIL'),
    ('EAI_FAMILY', 'EAI_FAMILY'),
    ('EAI_SERVICE', 'EAI_SERVICE'),
]


@pytest.mark.parametrize(('name', 'code'), DNS_CASES)
def test_dns_error(name: str, code: str) -> None:
    if not hasattr(socket, name):
        pytest.skip(f'socket.{name} does not exist on this platform')
    number = getattr(socket, name)
    original = socket.gaierror(number, 'text')
    err: Any = dns_error(original, 'example.invalid')
    assert _cls(err) is socket.gaierror
    assert err.code == code
    assert err.errno == number
    assert err.syscall == 'getaddrinfo'
    assert err.hostname == 'example.invalid'
    assert err.message == f'getaddrinfo {code} example.invalid'
    assert err.__cause__ is original
    assert not hasattr(err, 'address')
    assert not hasattr(err, 'port')


def test_dns_error_other_forms() -> None:
    err: Any = dns_error(socket.gaierror(socket.EAI_NONAME, 'x'), '', 'queryA')
    assert err.message == 'queryA ENOTFOUND'
    assert dns_error(socket.gaierror(-12345, 'x'), 'h').code == 'UNKNOWN'  # type: ignore[attr-defined]
    err = dns_error(TimeoutError('timed out'), 'example.com')
    assert _cls(err) is TimeoutError
    assert (err.code, err.message) == ('ETIMEDOUT', 'getaddrinfo ETIMEDOUT example.com')
    err = dns_error(ConnectionRefusedError(errno.ECONNREFUSED, 'x'), 'h')
    assert _cls(err) is ConnectionRefusedError
    assert err.code == 'ECONNREFUSED'
