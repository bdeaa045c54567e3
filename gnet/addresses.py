"""IP literals, ports and address families, by Node's rules.

``isIP`` / ``isIPv4`` / ``isIPv6`` follow Node's ``net.isIP`` exactly, which
is stricter or looser than :mod:`ipaddress` in places: an IPv4 octet may not
have a leading zero (``'127.000.000.001'`` is not an address), and any IPv6
address may carry a ``%zone`` suffix made of letters, digits, ``.``, ``-``
and ``:`` (``'fe80::1%eth0.0'`` is one, ``'fe80::1%eth0@1'`` is not).
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
from typing import Any

from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    SocketBadPortError,
    dns_error,
)

__all__ = (
    'isIP',
    'isIPv4',
    'isIPv6',
    'is_port_string',
    'js_number',
    'validate_pipe_path',
    'validate_port',
    'family_name',
    'host_name_error',
    'address_info',
)

# A decimal octet 0-255 without a leading zero. Explicit [0-9] because \d
# would also match non-ASCII digits.
_OCTET = r'(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])'
_IPV4 = re.compile(rf'{_OCTET}(?:\.{_OCTET}){{3}}')
_GROUP = re.compile(r'[0-9A-Fa-f]{1,4}')
_ZONE = re.compile(r'[0-9A-Za-z.:\-]+')


def isIPv4(value: object = None) -> bool:
    """Tell whether ``value`` is an IPv4 address in dotted-quad form.

    Node's ``net.isIPv4``. Four decimal octets 0-255, no leading zeros, no
    prefix length, nothing around them.

    Difference from Node: a non-``str`` value gives ``False`` without being
    converted to text (Node stringifies it first).

    Args:
        value: The text to test.

    Returns:
        Whether it is an IPv4 address.
    """
    return isinstance(value, str) and _IPV4.fullmatch(value) is not None


def _groups(part: str, tail_ok: bool) -> int:
    """Count the 16-bit groups in a colon-separated run, or -1 if invalid.

    An IPv4 tail (only allowed at the end of the address) counts as two.
    """
    if not part:
        return 0
    pieces = part.split(':')
    count = 0
    last = len(pieces) - 1
    for i, piece in enumerate(pieces):
        if _GROUP.fullmatch(piece):
            count += 1
        elif i == last and tail_ok and _IPV4.fullmatch(piece):
            count += 2
        else:
            return -1
    return count


def isIPv6(value: object = None) -> bool:
    """Tell whether ``value`` is an IPv6 address.

    Node's ``net.isIPv6``: eight groups of 1-4 hex digits, or fewer with one
    ``::`` standing for at least one zero group; the last 32 bits may be
    written as an IPv4 address (``'::ffff:127.0.0.1'``); an optional
    ``%zone`` suffix of letters, digits, ``.``, ``-`` and ``:``.

    Difference from Node: a non-``str`` value gives ``False`` without being
    converted to text.

    Args:
        value: The text to test.

    Returns:
        Whether it is an IPv6 address.
    """
    if not isinstance(value, str):
        return False
    address, percent, zone = value.partition('%')
    if percent and _ZONE.fullmatch(zone) is None:
        return False
    halves = address.split('::')
    if len(halves) == 1:
        return _groups(address, True) == 8
    if len(halves) != 2:
        return False
    left = _groups(halves[0], False)
    right = _groups(halves[1], True)
    return left >= 0 and right >= 0 and left + right <= 7


def isIP(value: object = None) -> int:
    """Tell which IP version ``value`` is written in.

    Node's ``net.isIP``, with :func:`isIPv4` and :func:`isIPv6`'s rules.

    Args:
        value: The text to test; anything but a ``str`` gives 0.

    Returns:
        4 for an IPv4 address, 6 for an IPv6 address, 0 otherwise.
    """
    if isIPv4(value):
        return 4
    if isIPv6(value):
        return 6
    return 0


# Is this string a port or a pipe path? Node decides it in one place
# (``isPipeName``: a string is a port when ``Number(s) >= 0``), and so does
# gnet: listen() and connect() both ask gnet.arguments.is_pipe_name, which
# asks is_port_string() below, and every port is checked by validate_port(),
# so '1e3' is port 1000 for every one of them and '-1' a path for every one.
#
# The spellings JavaScript's Number(string) accepts: decimal with optional
# sign, fraction and exponent, Infinity with optional sign, or 0x / 0o / 0b
# with no sign; anything else (Python extras such as '1_000', 'inf', 'nan',
# or non-ASCII digits) is NaN.
_DECIMAL = re.compile(r'[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?')
_PREFIXED = re.compile(r'0(?:[xX][0-9A-Fa-f]+|[oO][0-7]+|[bB][01]+)')
_INFINITY = {'Infinity': math.inf, '+Infinity': math.inf, '-Infinity': -math.inf}
# JavaScript's whitespace and line terminators, which Number() and
# String.prototype.trim strip; Python's str.strip would keep the byte-order
# mark and strip some characters JavaScript keeps (U+001C-U+001F, U+0085).
_JS_SPACE = ' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005' \
    '\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'


def js_number(text: str) -> float:
    """Read ``text`` as JavaScript's ``Number(string)`` does.

    Surrounding JavaScript whitespace is ignored, a blank string is 0, and
    anything that is not a number is NaN: ``'1e3'`` is 1000.0, ``'0x10'``
    16.0, ``'0b101'`` 5.0, ``'0o17'`` 15.0, ``' 80 '`` 80.0, ``''`` 0.0,
    ``'-1'`` -1.0, ``'0x'``, ``'1_000'`` and ``'inf'`` NaN.

    Args:
        text: The string.

    Returns:
        The number, as a float (NaN when it is not one).
    """
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _PREFIXED.fullmatch(text):
        try:
            return float(int(text, 0))
        except OverflowError:  # more than a double holds: Infinity, as in JavaScript
            return math.inf
    if _DECIMAL.fullmatch(text):
        return float(text)
    return _INFINITY.get(text, math.nan)


def is_port_string(text: str) -> bool:
    """Tell whether a string argument names a port rather than a pipe path.

    Node's rule (``isPipeName`` in ``net.normalizeArgs``): a string is a port
    when ``Number(s) >= 0``, so ``'80'``, ``'1e3'``, ``'0x50'``, ``' 80 '``,
    ``'80.5'`` and ``''`` are ports (the last two then fail
    :func:`validate_port`), while ``'-1'``, ``'abc'`` and ``'/tmp/s.sock'``
    are paths. ``listen()``, ``connect()`` and ``createConnection()`` all
    decide with this one function (through
    :func:`gnet.arguments.is_pipe_name`).

    Args:
        text: The first positional argument.

    Returns:
        True for a port, False for a pipe path.
    """
    return js_number(text) >= 0


def validate_pipe_path(path: str, name: str = 'path') -> str:
    """Refuse a Unix socket path the kernel would silently cut short.

    A NUL byte ends a filesystem path for the kernel, so ``'/tmp/a\\0b'``
    would bind or connect ``/tmp/a``. An abstract-namespace name (one that
    starts with NUL, Linux) is a byte string of its own length and may hold
    NULs anywhere.

    Args:
        path: The path given.
        name: The argument's name, for the message (``'options.path'``).

    Returns:
        ``path`` unchanged.

    Raises:
        InvalidArgValueError: a NUL byte after the first character of a
            filesystem path.
    """
    if '\0' in path and not path.startswith('\0'):
        raise InvalidArgValueError(name, path, 'must be a string without null bytes')
    return path


def validate_port(value: object, name: str = 'port',
                  allow_zero: bool = True) -> int:
    """Check a port the way Node's ``validatePort`` does, and return it.

    Accepted: an ``int`` (not a ``bool``); an integral ``float`` (Node's
    numbers are doubles, so ``80.0`` is 80); a ``str`` holding a number as
    JavaScript's ``Number()`` reads it, surrounding whitespace allowed:
    ``'80'``, ``' 80 '``, ``'0x50'``, ``'80.0'``, ``'8e1'``.

    Args:
        value: The port given.
        name: The argument's name, for the message (``'options.port'``).
        allow_zero: Whether 0 (an ephemeral port) is acceptable.

    Returns:
        The port as an ``int`` in 0-65535 (1-65535 without ``allow_zero``).

    Raises:
        InvalidArgTypeError: ``value`` is not an ``int``, ``float`` or
            ``str`` (``True``, ``None``, a list ...).
        SocketBadPortError: ``value`` is out of range, not integral, NaN or
            infinite, a blank string or one that is not a number (``'0x'``,
            ``'-0x1'``), or 0 when ``allow_zero`` is false.
    """
    number: Any
    if value.__class__ is bool or not isinstance(value, (int, float, str)):
        raise InvalidArgTypeError(name, 'int or str', value)
    if isinstance(value, str):
        # Node's validatePort refuses a blank string, which Number() reads as 0.
        number = js_number(value) if value.strip(_JS_SPACE) else math.nan
    else:
        number = value
    # `not 0 <= number` also catches NaN.
    if (not 0 <= number <= 0xFFFF or number != int(number)
            or (number == 0 and not allow_zero)):
        raise SocketBadPortError(name, value, allow_zero)
    return int(number)


def host_name_error(host: str, syscall: str = 'getaddrinfo') -> OSError | None:
    """The lookup error for a host name no resolver can take, or None.

    Python's resolver encodes a name with the IDNA codec first, which
    refuses an empty label (``'example..com'``), a label over 63
    characters and a lone surrogate; it raises ``UnicodeError`` from a
    resolver thread (with a traceback printed there). Node looks such names
    up and reports ``ENOTFOUND`` (``EINVAL`` for a lone surrogate, which
    it turns into U+FFFD first): this gives the same error, before any
    lookup.

    Args:
        host: The name to look up.
        syscall: The operation named in the error.

    Returns:
        Node's error for the name, or None when the name can be looked up.
    """
    try:
        host.encode('utf-8')
    except UnicodeEncodeError as exc:
        shown = ''.join('\ufffd' if '\ud800' <= c <= '\udfff' else c for c in host)
        err = dns_error(OSError(errno.EINVAL, str(exc)), shown, syscall)
        return err
    try:
        host.encode('idna')
    except UnicodeError as exc:
        return dns_error(socket.gaierror(socket.EAI_NONAME, str(exc)), host, syscall)
    return None


def family_name(af: int) -> str:
    """Name an address family the way Node's ``address()`` does.

    Args:
        af: ``socket.AF_INET`` or ``socket.AF_INET6``.

    Returns:
        ``'IPv4'`` or ``'IPv6'``.

    Raises:
        InvalidArgValueError: ``af`` is another family.
    """
    if af == socket.AF_INET:
        return 'IPv4'
    if af == socket.AF_INET6:
        return 'IPv6'
    raise InvalidArgValueError('family', af, 'must be AF_INET or AF_INET6')


_AF_UNIX = getattr(socket, 'AF_UNIX', None)


def address_info(sockaddr: Any, af: int) -> Any:
    """Turn a socket address into Node's ``address()`` value.

    Args:
        sockaddr: What ``getsockname()`` / ``getpeername()`` returned:
            ``(host, port)`` for IPv4, ``(host, port, flowinfo, scope_id)``
            for IPv6 (flowinfo and scope id are dropped, as in Node), a path
            for a Unix socket.
        af: The socket's family.

    Returns:
        ``{'address': str, 'family': 'IPv4' | 'IPv6', 'port': int}`` for IP
        sockets; the path as a ``str`` for a Unix socket (bytes, as an
        abstract-namespace name comes, are decoded with the filesystem
        encoding).
    """
    if af == _AF_UNIX:
        return os.fsdecode(sockaddr) if sockaddr else ''
    return {'address': sockaddr[0], 'family': family_name(af),
            'port': sockaddr[1]}
