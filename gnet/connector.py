"""One ``connect()``: the name lookup, then connection attempts in Node's order.

A host name resolves through gevent's cooperative resolver (in a greenlet of
its own, since getaddrinfo() may block) or a custom ``lookup`` function;
'lookup' is queued on the socket. Then the attempts run from the hub: a
non-blocking connect() and a write watcher per attempt, never blocking.

Contexts: the resolver greenlet only waits for the answer; everything it
learns is handed to the hub (``loop.run_callback``), where the attempts
start and the socket hears the outcome through its
:class:`~gnet.interfaces.IConnectTarget` hooks.

Happy eyeballs (Node's ``autoSelectFamily``, on by default since Node 20):
with several addresses, the families alternate (RFC 8305 section 4: v6, v4,
v6, ... starting with the first result's family), and each attempt but the
last gets ``autoSelectFamilyAttemptTimeout`` ms (250) before the next one
starts; if every attempt fails, the errors come as one AggregateError. Node
does the same, sequentially rather than racing, and so does gnet.

Each attempt is reported to the socket as Node 22 (and 20.12+) reports it:
'connectionAttempt'(ip, port, family) right before its connect(), then
'connectionAttemptFailed'(ip, port, family, error) when it fails, or
'connectionAttemptTimeout'(ip, port, family) when its delay ran out and the
next address is tried; an address the ``blockList`` refuses, or a failed
``localAddress`` bind, is never attempted and so not reported. A Unix path
is an attempt too, reported as (path, None, None).
"""

from __future__ import annotations

import _socket
import errno
from typing import Any

import gevent
from gevent import socket as gsocket
from gevent.event import AsyncResult

from gnet.addresses import host_name_error, isIP
from gnet.dispatch import get_loop
from gnet.errors import (
    AggregateError,
    InvalidAddressFamilyError,
    InvalidIPAddressError,
    IPBlockedError,
    dns_error,
    system_error,
)
from gnet.transport import StreamTransport
from gnet.validate import validate_bool, validate_number

__all__ = (
    "Connector",
    "getDefaultAutoSelectFamily",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "setDefaultAutoSelectFamily",
    "setDefaultAutoSelectFamilyAttemptTimeout",
)

# Node's default delay between happy-eyeballs attempts.
ATTEMPT_TIMEOUT_MS = 250.0

_auto_select_family = True  # Node 20+: on by default
_attempt_timeout_ms = ATTEMPT_TIMEOUT_MS


def getDefaultAutoSelectFamily() -> bool:
    """Whether connects try every resolved address (Node's autoSelectFamily default)."""
    return _auto_select_family


def setDefaultAutoSelectFamily(value: bool) -> None:
    """Change the ``autoSelectFamily`` default of connects made from now on."""
    global _auto_select_family
    _auto_select_family = validate_bool(value, "value")


def getDefaultAutoSelectFamilyAttemptTimeout() -> float:
    """How long (ms) each happy-eyeballs attempt but the last may take (250)."""
    return _attempt_timeout_ms


def setDefaultAutoSelectFamilyAttemptTimeout(value: float) -> None:
    """Change the attempt timeout (ms); values below 10 become 10, as in Node."""
    global _attempt_timeout_ms
    _attempt_timeout_ms = max(10.0, float(validate_number(value, "value", 1)))


class Connector:
    """One ``connect()``: name lookup, then attempts in Node's order.

    With several addresses (a name with both IPv6 and IPv4 results), Node's
    ``autoSelectFamily`` interleaves the families (v6, v4, v6, ...) and gives
    each attempt but the last ``autoSelectFamilyAttemptTimeout`` ms before
    moving on; if all fail, the errors come as one AggregateError.
    """

    __slots__ = ("addresses", "attempt_ms", "auto", "block_list", "errors", "options", "sock",
                 "target", "timer", "watcher", "greenlet", "cancelled", "waiting")

    def __init__(self, target: Any, options: dict[str, Any]) -> None:
        self.target = target  # provides IConnectTarget
        self.options = options
        self.addresses: list[tuple[int, Any]] = []
        self.errors: list[BaseException] = []
        self.sock: Any = None
        self.timer: Any = None
        self.watcher: Any = None
        self.greenlet: Any = None
        self.cancelled = False
        # Every address is checked before its connect(), as Node 22.13 does.
        self.block_list = options.get("blockList")
        # True while a custom lookup has not called back: like Node, whose
        # process does not wait for a lookup function that holds no handle.
        self.waiting = False
        auto = options.get("autoSelectFamily")
        self.auto = _auto_select_family if auto is None else bool(auto)
        self.attempt_ms = max(10.0, float(options.get("autoSelectFamilyAttemptTimeout")
                                          or _attempt_timeout_ms))

    def start_unix(self, path: str) -> None:
        self.addresses = [(_socket.AF_UNIX, path)]
        self.next()

    def start_tcp(self, host: str, port: int, family: int, lookup: Any) -> None:
        kind = isIP(host)
        if kind:
            af = _socket.AF_INET6 if kind == 6 else _socket.AF_INET
            self.addresses = [(af, (host, port))]
            self.next()
            return
        self.greenlet = gevent.spawn(self.resolve, host, port, family, lookup)

    def resolve(self, host: str, port: int, family: int, lookup: Any) -> None:
        # Resolver greenlet: wait for the answer, then hand it to the hub.
        af = {4: _socket.AF_INET, 6: _socket.AF_INET6}.get(family, _socket.AF_UNSPEC)
        refused = host_name_error(host) if lookup is None else None
        if refused is not None:
            self.to_hub(self.lookup_failed, refused, host)
            return
        try:
            if lookup is not None:
                results = self.custom_lookup(lookup, host, family)
            else:
                infos = gsocket.getaddrinfo(host, port, af, _socket.SOCK_STREAM, 0,
                                            self.options.get("hints") or 0)
                results = [(info[0], info[4][0]) for info in infos]
        except (OSError, UnicodeError) as exc:
            # A name the IDNA codec refuses (a label over 63 characters)
            # cannot exist: Node reports it as not found.
            if isinstance(exc, UnicodeError):
                exc = _socket.gaierror(_socket.EAI_NONAME, str(exc))
            err = dns_error(exc, host) if isinstance(exc, _socket.gaierror) else exc
            self.to_hub(self.lookup_failed, err, host)
            return
        except Exception as exc:
            self.to_hub(self.target.failed, exc)
            return
        self.to_hub(self.resolved, results, host, port, family)

    def to_hub(self, fn: Any, *args: Any) -> None:
        get_loop().run_callback(self.in_hub, fn, args)

    def in_hub(self, fn: Any, args: tuple[Any, ...]) -> None:
        if not self.cancelled:
            fn(*args)

    def lookup_failed(self, err: BaseException, host: str) -> None:
        self.target.lookup(err, None, None, host)
        self.target.failed(err)

    def resolved(self, results: list[tuple[int, str]], host: str, port: int,
                 family: int) -> None:
        # Hub: the lookup answered; report it and start the attempts.
        target = self.target
        seen: list[tuple[int, str]] = []
        for item in results:
            if item not in seen:
                seen.append(item)
        if not seen:
            self.lookup_failed(dns_error(_socket.gaierror(_socket.EAI_NONAME, "no address"),
                                         host), host)
            return
        if not self.auto or family:
            seen = seen[:1]
            first_af, first_ip = seen[0]
            target.lookup(None, first_ip, 6 if first_af == _socket.AF_INET6 else 4, host)
        else:
            target.attempted = []
            # Node's lookupAndConnectMultiple: one 'lookup' per address the
            # lookup gave, duplicates included, before any attempt.
            for af_, ip in results:
                target.lookup(None, ip, 6 if af_ == _socket.AF_INET6 else 4, host)
        self.addresses = [(af_, (ip, port)) for af_, ip in _interleave(seen)]
        self.next()

    def custom_lookup(self, lookup: Any, host: str, family: int) -> list[tuple[int, str]]:
        result: AsyncResult = AsyncResult()

        def callback(err: Any, address: Any = None, fam: Any = None) -> None:
            # Counts again at once: the resolver greenlet resumes a turn later.
            if self.waiting:
                self.waiting = False
                self.target.waiting_changed(False)
            if err:
                result.set_exception(err)
            else:
                result.set((address, fam))

        lookup(host, {"family": family, "all": self.auto and not family}, callback)
        if not result.ready():
            self.waiting = True
            self.target.waiting_changed(True)
            try:
                result.get()
            finally:
                if self.waiting:
                    self.waiting = False
                    self.target.waiting_changed(False)
        address, fam = result.get()
        pairs = address if isinstance(address, list) else [{"address": address, "family": fam}]
        out = []
        for pair in pairs:
            if not isinstance(pair, dict):
                raise InvalidIPAddressError(pair)
            ip, fam = pair.get("address"), pair.get("family")
            if fam not in (4, 6, "IPv4", "IPv6"):
                raise InvalidAddressFamilyError(fam, host, self.options.get("port"))
            if not isinstance(ip, str) or not isIP(ip):
                raise InvalidIPAddressError(ip)
            out.append((_socket.AF_INET6 if fam in (6, "IPv6") else _socket.AF_INET, ip))
        return out

    def next(self) -> None:
        # Hub: start the next attempt, never blocking.
        while self.addresses and not self.cancelled:
            af, sockaddr = self.addresses.pop(0)
            attempted = self.target.attempted
            if attempted is not None:
                attempted.append(f"{sockaddr[0]}:{sockaddr[1]}")
            block_list = self.block_list
            if block_list is not None and af != _socket.AF_UNIX \
                    and block_list._blocked(sockaddr[0], af == _socket.AF_INET6):
                self.errors.append(IPBlockedError(sockaddr[0]))
                continue
            try:
                sock = StreamTransport(af, _socket.SOCK_STREAM)
            except OSError as exc:
                self.errors.append(self.error(exc, sockaddr))
                continue
            sock.setblocking(False)
            local_address = self.options.get("localAddress")
            local_port = self.options.get("localPort")
            if af != _socket.AF_UNIX and (local_address or local_port):
                local_address = local_address or ("::" if af == _socket.AF_INET6 else "0.0.0.0")
                try:
                    sock.bind((local_address, local_port or 0))
                except OSError as exc:
                    # Node: bind EADDRINUSE 127.0.0.1:12347
                    sock.close()
                    self.errors.append(system_error(exc, "bind", local_address, local_port))
                    continue
            # Node emits 'connectionAttempt' after the bind, right before connect().
            self.target.attempt(*_attempt_args(af, sockaddr))
            try:
                code = sock.connect_ex(sockaddr)
            except OSError as exc:
                sock.close()
                self.attempt_failed(self.error(exc, sockaddr), af, sockaddr)
                continue
            # Even an immediate success (Unix sockets) is reported from the
            # write watcher, so 'connect' never comes inside connect().
            if code not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
                sock.close()
                self.attempt_failed(self.error(code, sockaddr), af, sockaddr)
                continue
            self.sock = sock
            loop = get_loop()
            self.watcher = loop.io(sock.fileno(), 2)
            self.watcher.start(self.on_writable, af, sockaddr)
            if self.addresses and self.auto:
                self.timer = loop.timer(self.attempt_ms / 1000.0)
                self.timer.start(self.on_attempt_timeout, af, sockaddr)
            return
        if not self.cancelled:
            self.fail()

    def fail(self) -> None:
        errors = self.errors
        if len(errors) == 1:
            err: BaseException = errors[0]
        else:
            err = AggregateError(errors, "; ".join(str(getattr(e, "message", e)) for e in errors))
        self.target.failed(err)

    def error(self, err: OSError | int, sockaddr: Any) -> OSError:
        # A failed attempt as Node words it. A Unix path too long for
        # sun_path is EINVAL (Node 22+); Python gives ENAMETOOLONG or no
        # errno at all. A connect that bound both localAddress and
        # localPort names them (Node's " - Local (a:p)").
        if not isinstance(sockaddr, tuple):
            if not isinstance(err, int) and err.errno in (None, errno.ENAMETOOLONG):
                err = errno.EINVAL
            return system_error(err, "connect", sockaddr)
        options = self.options
        local_address, local_port = options.get("localAddress"), options.get("localPort")
        local = (local_address, local_port) if local_address and local_port else None
        return system_error(err, "connect", sockaddr[0], sockaddr[1], local=local)

    def stop_attempt(self) -> Any:
        for w in (self.watcher, self.timer):
            if w is not None:
                w.stop()
                w.close()
        self.watcher = self.timer = None
        sock, self.sock = self.sock, None
        return sock

    def attempt_failed(self, err: OSError, af: int, sockaddr: Any) -> None:
        # One attempt failed: keep its error for the AggregateError and
        # report it ('connectionAttemptFailed'), as Node does for each.
        self.errors.append(err)
        self.target.attempt_failed(*_attempt_args(af, sockaddr), err)

    def on_writable(self, af: int, sockaddr: Any) -> None:
        sock = self.stop_attempt()
        code = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if code:
            sock.close()
            self.attempt_failed(self.error(code, sockaddr), af, sockaddr)
            self.next()
            return
        self.target.connected(sock)

    def on_attempt_timeout(self, af: int, sockaddr: Any) -> None:
        # Node: 'connectionAttemptTimeout' (no 'connectionAttemptFailed');
        # the attempt's ETIMEDOUT still joins the AggregateError.
        sock = self.stop_attempt()
        sock.close()
        self.target.attempt_timeout(*_attempt_args(af, sockaddr))
        self.errors.append(self.error(errno.ETIMEDOUT, sockaddr))
        self.next()

    def cancel(self) -> None:
        self.cancelled = True
        sock = self.stop_attempt()
        if sock is not None:
            sock.close()
        if self.greenlet is not None:
            self.greenlet.kill(block=False)


def _attempt_args(af: int, sockaddr: Any) -> tuple[Any, Any, Any]:
    # Node's (ip, port, family) of an attempt; a Unix path has no port and
    # no family (Node passes undefined for both).
    if af == _socket.AF_UNIX:
        return sockaddr, None, None
    return sockaddr[0], sockaddr[1], 6 if af == _socket.AF_INET6 else 4


def _interleave(results: list[tuple[int, str]]) -> list[tuple[int, str]]:
    # Happy eyeballs order (RFC 8305 section 4): alternate families,
    # starting with the family of the first result.
    first = results[0][0]
    same = [r for r in results if r[0] == first]
    other = [r for r in results if r[0] != first]
    out: list[tuple[int, str]] = []
    for i in range(max(len(same), len(other))):
        if i < len(same):
            out.append(same[i])
        if i < len(other):
            out.append(other[i])
    return out
