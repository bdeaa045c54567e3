"""Node's argument overloads for listen() and connect(), parsed in one place.

Theory of operation
-------------------

Node's ``net`` takes its addresses in several shapes, and decides between
them with a handful of rules that must read the same on every side:

* **Overloads.** ``connect(options[, cb])``, ``connect(path[, cb])``,
  ``connect(port[, host][, cb])`` (Node's ``normalizeArgs``) and
  ``listen([port[, host[, backlog]]][, cb])``, ``listen(path[, backlog][, cb])``,
  ``listen(options[, cb])``. A trailing callable is the callback; keyword
  arguments are the options object spelt in Python (see :mod:`gnet.options`).
* **Port or path.** A positional string is a port when JavaScript's
  ``Number(s) >= 0`` (Node's ``isPipeName``), else a Unix socket path:
  ``'8e1'``, ``'0x50'`` and ``' 80 '`` are port 80 for ``listen()`` and
  ``connect()`` alike, ``'-1'`` and ``'abc'`` are paths for both.
  :func:`is_pipe_name` is the one place that decides, on top of
  :func:`gnet.addresses.is_port_string`; the port's value is then checked by
  :func:`gnet.addresses.validate_port` (Node's ``validatePort``).
* **Families.** ``options.family`` is 0, 4, 6 (``None`` meaning 0) or the
  ``'IPv4'`` / ``'IPv6'`` strings that ``server.address()['family']``
  gives, as Node's ``socketToDnsFamily`` reads them: :func:`family_option`.
* **Hosts and paths.** A connect host defaults to ``'localhost'`` and must
  be a ``str``; a listen host may be absent (bind every interface). A Unix
  path with a NUL byte after its first character is refused
  (:func:`gnet.addresses.validate_pipe_path`).

Each call site parses in two steps, so that errors come in Node's order:
``normalize_connect`` only sorts the arguments into an options dict (and
refuses unknown keywords), the caller checks its own state, then
``check_connect`` validates the values and returns a :class:`ConnectTarget`
that the caller reads. ``parse_listen`` does both steps for ``listen()``
and returns a :class:`ListenTarget`. Error classes and messages are Node's
(``ERR_SOCKET_BAD_PORT``, ``ERR_INVALID_ARG_TYPE``, ``ERR_INVALID_ARG_VALUE``,
``ERR_MISSING_ARGS``), naming ``options.port`` where the port came from an
options object and ``port`` where it was positional.

TLS's ``tls.connect`` takes ``connect``'s overloads plus its own options:
it will pass its option names to :func:`normalize_connect` and read the same
:class:`ConnectTarget`. UDP (``dgram``) has no overloads of this kind and
names its family by socket type ('udp4'/'udp6'); it already reads ports with
the same ``validate_port(value, name, allow_zero)``, and a family or host
rule it comes to need belongs here, beside :func:`family_option`.
"""

from __future__ import annotations

import _socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeGuard

from gnet.abort import validate_abort_signal
from gnet.addresses import is_port_string, isIP, validate_pipe_path, validate_port
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidIPAddressError,
    MissingArgsError,
)
from gnet.options import merge_options
from gnet.validate import validate_bool, validate_function, validate_int

__all__ = (
    "DEFAULT_BACKLOG",
    "ConnectCall",
    "ConnectTarget",
    "ListenTarget",
    "LISTEN_OPTIONS",
    "check_connect",
    "family_option",
    "is_pipe_name",
    "listen_backlog",
    "normalize_connect",
    "parse_listen",
)

# Node's int32 options (autoSelectFamilyAttemptTimeout).
_INT32_MAX = 2**31 - 1
# The getaddrinfo() flags Node accepts as connect's ``hints``.
_VALID_HINTS = _socket.AI_ADDRCONFIG | _socket.AI_V4MAPPED | _socket.AI_ALL
#: Node's default listen backlog.
DEFAULT_BACKLOG = 511
# listen(2) takes a C int, and the kernel caps it at somaxconn anyway.
_BACKLOG_MAX = 65535

#: The options ``server.listen(options)`` understands.
LISTEN_OPTIONS = (
    "port", "host", "path", "backlog", "exclusive", "ipv6Only", "reusePort",
    "readableAll", "writableAll", "removeStale", "fd", "signal",
)
# Documented by Node 22/24 for server.listen(options), not implemented.
_UNSUPPORTED_LISTEN = {
    "handle": "listening on a handle object is not implemented yet",
}

# Node's socketToDnsFamily: the strings server.address()['family'] gives.
_FAMILY_NAMES = {"IPv4": 4, "IPv6": 6}


# ----------------------------------------------------------------------
# The shared rules


def is_pipe_name(value: object) -> TypeGuard[str]:
    """Tell whether a positional argument is a Unix socket path (Node's ``isPipeName``).

    A ``str`` is a path unless JavaScript's ``Number(value) >= 0``: ``'-1'``,
    ``'abc'``, ``'1_000'``, ``'0x'`` and ``'/tmp/s.sock'`` are paths;
    ``'80'``, ``'8e1'``, ``'0x50'``, ``' 80 '``, ``''``, ``'80.5'`` are
    ports (the last two then fail the port check). Anything but a ``str`` is
    not a path. ``listen()`` and ``connect()`` both decide with this.

    Args:
        value: The first positional argument.

    Returns:
        True for a path, False for a port (or anything that is not a str).
    """
    return isinstance(value, str) and not is_port_string(value)


def family_option(value: object, name: str = "options.family") -> int:
    """Read a connect ``family`` option: 0, 4 or 6.

    Accepts 0, 4, 6, ``None`` (as 0), and ``'IPv4'`` / ``'IPv6'`` written
    as ``address()`` writes them (Node's ``socketToDnsFamily``).

    Difference from Node: Node checks the family only when it looks a name
    up (so any value passes with an IP literal host, and the message lists
    0, 4, 6); gnet checks it on every connect.

    Args:
        value: The family given.
        name: The argument's name, for the message.

    Returns:
        4, 6, or 0 for "either".

    Raises:
        InvalidArgValueError: any other value.
    """
    if value is None:
        return 0
    if isinstance(value, str):
        value = _FAMILY_NAMES.get(value, value)
    if value not in (0, 4, 6):
        raise InvalidArgValueError(name, value, "must be 0, 4 or 6")
    return int(value)


def listen_backlog(value: Any) -> int:
    """The backlog to give listen(2): Node's 511 when none, else clamped to 0-65535.

    Args:
        value: The backlog given (``None`` for the default).

    Returns:
        The backlog as an ``int``.
    """
    return DEFAULT_BACKLOG if value is None else max(0, min(int(value), _BACKLOG_MAX))


# ----------------------------------------------------------------------
# connect()


class ConnectCall(NamedTuple):
    """A connect call sorted into Node's options object (nothing checked yet)."""

    #: The options, camelCase keys; ``port``/``host``/``path`` from the positional form.
    options: dict[str, Any]
    #: The trailing callable, if any (the connect listener).
    callback: Callable[..., Any] | None
    #: Whether an options object was given (errors then name ``options.port``).
    named: bool


class ConnectTarget(NamedTuple):
    """Where a checked connect() goes: a Unix path, or a host and port."""

    #: The Unix socket path, or None for TCP.
    path: str | None
    #: The host name or IP literal (``'localhost'`` by default); '' for a path.
    host: str
    #: The port (0 for a path).
    port: int
    #: 4, 6, or 0 for either.
    family: int
    #: A custom ``lookup(host, options, callback)``, or None.
    lookup: Callable[..., Any] | None
    #: The connect listener, or None.
    callback: Callable[..., Any] | None


def normalize_connect(
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    known: Iterable[str],
    unsupported: Mapping[str, str] | None = None,
) -> ConnectCall:
    """Sort connect's overloads into one options dict (Node's ``normalizeArgs``).

    ``(options[, cb])``, ``(path[, cb])``, ``(port[, host][, cb])``, or
    keyword options. Only the option names are checked here.

    Args:
        args: The positional arguments.
        kwargs: The keyword arguments (options).
        known: The option names the caller understands, camelCase.
        unsupported: Options Node documents that the caller lacks.

    Returns:
        The options, the callback and whether an options object was given.

    Raises:
        InvalidArgTypeError / InvalidArgValueError / UnsupportedError: as
            :func:`gnet.options.merge_options`.
    """
    named = bool(args) and isinstance(args[0], dict)
    callback = None
    if args and callable(args[-1]):
        callback = args[-1]
        args = args[:-1]
    first = args[0] if args else None
    if isinstance(first, dict):
        options = merge_options(first, kwargs, known, unsupported=unsupported)
    else:
        options = merge_options(None, kwargs, known, unsupported=unsupported)
        if first is not None or args:
            if is_pipe_name(first):
                options["path"] = first
            else:
                options["port"] = first
                if len(args) > 1 and args[1] is not None:
                    options["host"] = args[1]
    return ConnectCall(options, callback, named)


def check_connect(call: ConnectCall) -> ConnectTarget:
    """Validate a normalized connect call, as Node does before any I/O.

    Args:
        call: What :func:`normalize_connect` returned.

    Returns:
        Where to connect.

    Raises:
        MissingArgsError: no port and no path.
        InvalidArgTypeError / SocketBadPortError: a bad port, host, path,
            hints or localPort.
        InvalidArgValueError: a bad family or hints.
        InvalidIPAddressError: a localAddress that is not an IP.
        OutOfRangeError: a bad autoSelectFamilyAttemptTimeout.
    """
    options = call.options
    path = options.get("path")
    port = options.get("port")
    if path is None and port is None:
        raise MissingArgsError(("options", "port", "path"))
    if path is not None:
        if not isinstance(path, str):
            raise InvalidArgTypeError("options.path", "str", path)
        validate_pipe_path(path, "options.path" if call.named else "path")
        if call.callback is not None:
            validate_function(call.callback, "connectListener")
        return ConnectTarget(path, "", 0, 0, None, call.callback)
    number = validate_port(port, "options.port" if call.named else "port")
    host = options.get("host")
    if host is None:
        host = "localhost"
    elif not isinstance(host, str):
        raise InvalidArgTypeError("options.host", "str", host)
    family = family_option(options.get("family", 0))
    lookup = options.get("lookup")
    if lookup is not None:
        validate_function(lookup, "options.lookup")
    hints = options.get("hints")
    if hints is not None:
        if isinstance(hints, bool) or not isinstance(hints, int):
            raise InvalidArgTypeError("options.hints", "number", hints)
        if hints & ~_VALID_HINTS:
            raise InvalidArgValueError("hints", hints)
    local_port = options.get("localPort")
    if local_port is not None:
        if isinstance(local_port, bool) or not isinstance(local_port, (int, float)):
            raise InvalidArgTypeError("options.localPort", "number", local_port)
        validate_port(local_port, "options.localPort")
    local_address = options.get("localAddress")
    if local_address is not None and not isIP(local_address):
        raise InvalidIPAddressError(local_address)
    auto = options.get("autoSelectFamily")
    if auto is not None:
        validate_bool(auto, "options.autoSelectFamily")
    attempt_ms = options.get("autoSelectFamilyAttemptTimeout")
    if attempt_ms is not None:
        validate_int(attempt_ms, "options.autoSelectFamilyAttemptTimeout", 1, _INT32_MAX)
    if call.callback is not None:
        validate_function(call.callback, "connectListener")
    return ConnectTarget(None, host, number, family, lookup, call.callback)


# ----------------------------------------------------------------------
# listen()


class ListenTarget(NamedTuple):
    """What a checked ``server.listen()`` asks for."""

    #: Every option given, camelCase (ipv6Only, reusePort, readableAll, ...).
    options: dict[str, Any]
    #: The Unix socket path, or None for TCP.
    path: str | None
    #: The port (0 for an ephemeral one; 0 for a path).
    port: int
    #: The host to bind, or None for every interface.
    host: str | None
    #: The backlog as given (see :func:`listen_backlog`), or None.
    backlog: Any
    #: An AbortSignal whose abort closes the server, or None.
    signal: Any
    #: The 'listening' callback, or None.
    callback: Callable[..., Any] | None


def parse_listen(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> ListenTarget:
    """Parse ``server.listen``'s overloads and check their values.

    ``listen([port[, host[, backlog]]][, cb])``, ``listen(path[, backlog][, cb])``,
    ``listen(options[, cb])``, or keyword options alone. A port of ``None``
    (positional, or ``port: None`` in the options, even beside a ``path``)
    is an ephemeral port, as in Node.

    Args:
        args: The positional arguments.
        kwargs: The keyword arguments (options).

    Returns:
        What to listen on.

    Raises:
        SocketBadPortError / InvalidArgTypeError / InvalidArgValueError /
        UnsupportedError: bad arguments.
    """
    callback = None
    if args and callable(args[-1]):
        callback = args[-1]
        args = args[:-1]
    first = args[0] if args else None
    if isinstance(first, dict) or (not args and kwargs):
        opts = _listen_object(first, kwargs)
    else:
        opts = _listen_positional(args, kwargs)
    if callback is not None:
        validate_function(callback, "callback")
    path = opts.get("path") if "port" not in opts else None
    return ListenTarget(opts, path, opts.get("port") or 0, opts.get("host"),
                        opts.get("backlog"), opts.get("signal"), callback)


def _listen_object(first: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    # listen(options) / listen(**options).
    opts = merge_options(first, kwargs, LISTEN_OPTIONS, unsupported=_UNSUPPORTED_LISTEN)
    fd = opts.get("fd")
    if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
        # Node's listen({fd}): the descriptor wins over port and path, which
        # are not looked at; a negative fd is no handle (ERR_INVALID_ARG_VALUE
        # below, as in Node).
        if fd > _INT32_MAX:
            raise InvalidArgValueError("options.fd", fd, "is not a file descriptor")
        opts.pop("port", None)
        opts.pop("path", None)
        if opts.get("signal") is not None:
            validate_abort_signal(opts["signal"], "options.signal")
        return opts
    port = opts.get("port")
    if port is None and "port" in opts:
        # Node: an undefined/null port is an ephemeral port, path or not.
        opts["port"] = port = 0
    if port is None and opts.get("path") is None:
        raise InvalidArgValueError(
            "options", first if first is not None else kwargs,
            'must have the property "port" or "path"')
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, (int, float, str)):
            raise InvalidArgValueError("options", first, "is invalid")
        opts["port"] = validate_port(port, "options.port")
    elif not isinstance(opts.get("path"), str):
        raise InvalidArgValueError("options", first, "is invalid")
    else:
        validate_pipe_path(opts["path"], "options.path")
    if "host" in opts and opts["host"] is not None and not isinstance(opts["host"], str):
        raise InvalidArgValueError("options.host", opts["host"], "must be a string")
    if opts.get("signal") is not None:
        validate_abort_signal(opts["signal"], "options.signal")
    return opts


def _listen_positional(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    # listen([port[, host[, backlog]]]) / listen(path[, backlog]).
    if kwargs:
        raise InvalidArgValueError("listen", kwargs,
                                   "takes keyword options only without positional ones")
    first = args[0] if args else None
    opts: dict[str, Any] = {}
    if is_pipe_name(first):
        opts["path"] = validate_pipe_path(first, "path")
        rest = args[1:]
    else:
        if isinstance(first, bool) or not isinstance(first, (int, float, str, type(None))):
            # Node: neither a port nor a path nor an options object.
            raise InvalidArgValueError("options", first, "is invalid")
        opts["port"] = 0 if first is None else validate_port(first, "port")
        if len(args) > 1 and isinstance(args[1], str):
            opts["host"] = args[1]
            rest = args[2:]
        else:
            rest = args[1:]
    for value in rest:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgTypeError("backlog", "int", value)
            opts["backlog"] = value
            break
    return opts
