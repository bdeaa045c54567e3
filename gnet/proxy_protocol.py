"""The PROXY protocol (v1 and v2) in front of a gnet server: a gnet extension.

A load balancer (HAProxy, nginx, a cloud balancer) that relays TCP hides the
client: the server sees the balancer's address. With the PROXY protocol the
balancer sends one header before the client's bytes, naming the client.
``createServer({'proxyProtocol': ...})`` reads that header on every
connection, before the Socket is made, before TLS and before 'connection'.

Theory of operation
-------------------
Two parts, each its own section below:

* **The parser** (pure functions, no I/O): :func:`parse` takes the bytes
  read so far from the start of a connection and answers either a
  :class:`ProxyHeader` (whose ``length`` says how many of them it took), or
  a :class:`Need` (no whole header yet: every byte given belongs to the
  header, and it may still be up to ``at_most`` bytes longer), or raises
  :class:`~gnet.errors.ProxyProtocolError`. v1 is one ASCII line ending in
  CRLF within 107 bytes; v2 a 16-byte binary header (signature, version and
  command, family and transport, a big-endian length) then addresses and
  TLVs. A CRC32C TLV is checked (:func:`crc32c`, a table in pure Python:
  headers are a few hundred bytes).
* **The header phase** (:class:`HeaderReader`, hub only, never blocks): a
  server with the option hands each accepted descriptor to a reader first.
  It watches the descriptor with its own io watcher, peeks (``MSG_PEEK``)
  at what the kernel holds, asks the parser how much of it is header, and
  takes exactly that much with ``recv``. The kernel keeps the client's bytes
  after the header for the Socket. Since a :class:`Need` means every peeked
  byte is header, each wakeup consumes at least one byte or finishes: no
  busy loop on a level-triggered watcher, and a header sent one byte per
  packet works. A timer bounds the wait (``timeout``, 3 s by default, so
  one lost SYN-ACK or first segment retransmitted still fits).

The rules, from HAProxy's ``doc/proxy-protocol.txt``: the header is
required (a server never "detects" it, or any client could claim any
address), and accepted only from trusted peers (loopback by default, a
:class:`~gnet.BlockList` or a list of addresses and subnets otherwise). A
Unix socket peer is always trusted: the socket file's permissions decide who
connects. A v2 ``LOCAL`` header (HAProxy's health checks) closes the
connection quietly: no 'connection', no error. So does a header that names
this very connection (its source is the real peer and its destination the
server's own end): it relays no client, and it is what HAProxy's health
checks send to a ``send-proxy`` (v1) server. A missing, malformed or
untrusted header closes it and emits ``'proxyError'(err, info)`` on the
server; ``info`` names the real peer as 'drop' does. A peer that closes
before sending any byte is closed quietly too (a port probe, or a health
check whose reset arrived first).

On success the Socket's ``remoteAddress``/``remotePort``/``remoteFamily``
are the advertised client's, ``proxyPeerAddress``/``proxyPeerPort``/
``proxyPeerFamily`` the balancer's, ``proxyHeader`` the parsed header and
``proxyTlvs`` its TLVs decoded (see :func:`decode_tlvs`). v1 ``UNKNOWN``,
v2 ``UNSPEC`` and v2 ``UNIX`` addresses leave the real addresses in place.
The server's ``blockList`` applies to the advertised client.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gnet.addresses import address_info
from gnet.blocklist import BlockList
from gnet.dispatch import get_loop
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    ProxyProtocolError,
    ProxyProtocolTimeoutError,
)
from gnet.loop import Handle
from gnet.validate import validate_number

__all__ = (
    "LOCAL",
    "PROXY",
    "SIGNATURE",
    "V1_MAX",
    "HeaderReader",
    "Need",
    "ProxyConfig",
    "ProxyHeader",
    "ProxyPeer",
    "connection_info",
    "crc32c",
    "decode_tlvs",
    "parse",
    "proxy_config",
    "trusted",
)

# --- the parser ----------------------------------------------------------------

#: The 12 bytes every v2 header starts with.
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
#: The longest v1 line, CRLF included.
V1_MAX = 107
#: The commands.
PROXY, LOCAL = "PROXY", "LOCAL"

_V1_PREFIX = b"PROXY "
_V2_FIXED = 16

# v2 family (high nibble of byte 13) -> (name, address block length).
_V2_FAMILIES = {0x0: (None, 0), 0x1: ("IPv4", 12), 0x2: ("IPv6", 36), 0x3: ("unix", 216)}
_V2_TRANSPORTS = {0x0: None, 0x1: "stream", 0x2: "dgram"}

# Registered TLV types.
TLV_ALPN = 0x01
TLV_AUTHORITY = 0x02
TLV_CRC32C = 0x03
TLV_NOOP = 0x04
TLV_UNIQUE_ID = 0x05
TLV_SSL = 0x20
TLV_NETNS = 0x30
# Sub-TLVs of TLV_SSL.
_SSL_SUBTYPES = {0x21: "version", 0x22: "cn", 0x23: "cipher", 0x24: "sigAlg", 0x25: "keyAlg"}


@dataclass(frozen=True)
class Need:
    """No whole header yet: every byte given is header.

    ``at_most``: how many more bytes to look at next (a v2 header's exact
    rest once its length is known; before that a bound for the peek).
    """

    at_most: int


@dataclass(frozen=True)
class ProxyHeader:
    """One parsed PROXY header.

    Attributes:
        version: 1 or 2.
        command: ``'PROXY'`` (a relayed connection) or ``'LOCAL'`` (v2: the
            balancer's own connection, a health check).
        family: ``'IPv4'``, ``'IPv6'``, ``'unix'``, or None (v1 ``UNKNOWN``,
            v2 ``UNSPEC``).
        transport: ``'stream'``, ``'dgram'`` or None (v2 ``UNSPEC``).
        source: the client's ``(address, port)`` (a path and None for
            ``'unix'``), or None.
        destination: the address the client connected to, the same way.
        tlvs: v2's TLVs as ``(type, value)`` pairs, in order.
        length: how many bytes the header took.
    """

    version: int
    command: str
    family: str | None
    transport: str | None
    source: tuple[str, int | None] | None
    destination: tuple[str, int | None] | None
    tlvs: tuple[tuple[int, bytes], ...]
    length: int


def parse(data: bytes, versions: Iterable[int] = (1, 2)) -> ProxyHeader | Need:
    """Parse the PROXY header at the start of ``data``.

    Args:
        data: the bytes read so far from the start of a connection; bytes
            after the header are allowed and left alone.
        versions: the versions accepted (1, 2 or both).

    Returns:
        A :class:`ProxyHeader` (its ``length`` is the header's size), or a
        :class:`Need` when ``data`` holds only the start of a header.

    Raises:
        ProxyProtocolError: ``data`` cannot start a header of an accepted version.
    """
    data = bytes(data)
    have = len(data)
    if have == 0:
        return Need(V1_MAX)
    if data[0] == SIGNATURE[0]:
        if not SIGNATURE.startswith(data[:12]):
            raise ProxyProtocolError("not a PROXY protocol header")
        if 2 not in versions:
            raise ProxyProtocolError("PROXY protocol version 2 is not accepted here")
        return _parse_v2(data)
    if data[0] == _V1_PREFIX[0]:
        if not _V1_PREFIX.startswith(data[:6]):
            raise ProxyProtocolError("not a PROXY protocol header")
        if 1 not in versions:
            raise ProxyProtocolError("PROXY protocol version 1 is not accepted here")
        return _parse_v1(data)
    raise ProxyProtocolError("not a PROXY protocol header")


def _parse_v1(data: bytes) -> ProxyHeader | Need:
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        lf = data.find(b"\n", 0, V1_MAX)
        if lf >= 0:
            raise ProxyProtocolError("PROXY v1 line ends in a lone LF")
        cr = data.find(b"\r", 0, V1_MAX - 1)
        if 0 <= cr < len(data) - 1:
            raise ProxyProtocolError("PROXY v1 line holds a lone CR")
        if len(data) >= V1_MAX:
            raise ProxyProtocolError(f"PROXY v1 line has no CRLF within {V1_MAX} bytes")
        return Need(V1_MAX - len(data))
    line = data[:end]
    if b"\r" in line or b"\n" in line:
        raise ProxyProtocolError("PROXY v1 line holds a lone CR or LF")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ProxyProtocolError("PROXY v1 line is not ASCII") from None
    length = end + 2
    parts = text.split(" ")
    if len(parts) >= 2 and parts[0] == "PROXY" and parts[1] == "UNKNOWN":
        # The sender may add anything after UNKNOWN; the receiver ignores it.
        return ProxyHeader(1, PROXY, None, None, None, None, (), length)
    if len(parts) != 6 or parts[0] != "PROXY":
        raise ProxyProtocolError("PROXY v1 line is not 'PROXY <proto> <src> <dst> <sport> <dport>'")
    proto, src, dst, sport, dport = parts[1:]
    if proto == "TCP4":
        family, kind = "IPv4", ipaddress.IPv4Address
    elif proto == "TCP6":
        family, kind = "IPv6", ipaddress.IPv6Address  # type: ignore[assignment]
    else:
        raise ProxyProtocolError(f"PROXY v1 protocol {proto!r} is not TCP4, TCP6 or UNKNOWN")
    source = (_v1_address(src, kind, proto), _v1_port(sport))
    destination = (_v1_address(dst, kind, proto), _v1_port(dport))
    return ProxyHeader(1, PROXY, family, "stream", source, destination, (), length)


def _v1_address(text: str, kind: type, proto: str) -> str:
    if "%" in text:
        raise ProxyProtocolError(f"PROXY v1 address {text!r} has a scope")
    try:
        return str(kind(text))
    except ValueError:
        raise ProxyProtocolError(f"PROXY v1 address {text!r} is not a {proto} address") from None


def _v1_port(text: str) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 5 or int(text) > 65535:
        raise ProxyProtocolError(f"PROXY v1 port {text!r} is not a port (0-65535)")
    return int(text)


def _parse_v2(data: bytes) -> ProxyHeader | Need:
    have = len(data)
    if have < _V2_FIXED:
        if have > 12:
            _v2_fixed(data[12:] + bytes(16 - have))
        return Need(_V2_FIXED - have)
    command, family, block, transport = _v2_fixed(data[12:14])
    (size,) = struct.unpack_from("!H", data, 14)
    length = _V2_FIXED + size
    if have < length:
        return Need(length - have)
    body = data[_V2_FIXED:length]
    source = destination = None
    if command == PROXY and family is not None:
        if len(body) < block:
            raise ProxyProtocolError(f"PROXY v2 length {size} is too short for a {family} "
                                     f"address block ({block} bytes)")
        source, destination = _v2_addresses(family, body[:block])
    elif len(body) < block:
        block = len(body)  # LOCAL: the block is discarded, whatever it holds
    tlvs = _v2_tlvs(body[block:])
    if any(kind == TLV_CRC32C for kind, _value in tlvs):
        _check_crc(data[:length], _V2_FIXED + block, tlvs)
    if command == LOCAL:
        # The balancer's own connection: the endpoints are the real ones.
        family = transport = None
    return ProxyHeader(2, command, family, transport, source, destination, tlvs, length)


def _v2_fixed(two: bytes) -> tuple[str, str | None, int, str | None]:
    version, cmd = two[0] >> 4, two[0] & 0xF
    if version != 2:
        raise ProxyProtocolError(f"PROXY v2 header has version {version}, not 2")
    if cmd not in (0, 1):
        raise ProxyProtocolError(f"PROXY v2 command {cmd} is neither LOCAL (0) nor PROXY (1)")
    fam, proto = two[1] >> 4, two[1] & 0xF
    if fam not in _V2_FAMILIES or proto not in _V2_TRANSPORTS:
        raise ProxyProtocolError(f"PROXY v2 family/transport byte 0x{two[1]:02x} is invalid")
    family, block = _V2_FAMILIES[fam]
    return (PROXY if cmd else LOCAL), family, block, _V2_TRANSPORTS[proto]


def _v2_addresses(family: str, block: bytes) -> tuple[Any, Any]:
    if family == "IPv4":
        src, dst, sport, dport = struct.unpack("!4s4sHH", block)
        return ((str(ipaddress.IPv4Address(src)), sport), (str(ipaddress.IPv4Address(dst)), dport))
    if family == "IPv6":
        src, dst, sport, dport = struct.unpack("!16s16sHH", block)
        return ((str(ipaddress.IPv6Address(src)), sport), (str(ipaddress.IPv6Address(dst)), dport))
    return (_unix_path(block[:108]), None), (_unix_path(block[108:]), None)


def _unix_path(raw: bytes) -> str:
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("utf-8", "surrogateescape")


def _v2_tlvs(data: bytes) -> tuple[tuple[int, bytes], ...]:
    tlvs = []
    at = 0
    while at < len(data):
        if len(data) - at < 3:
            raise ProxyProtocolError("PROXY v2 TLV is cut short (type and length)")
        kind, size = data[at], struct.unpack_from("!H", data, at + 1)[0]
        at += 3
        if len(data) - at < size:
            raise ProxyProtocolError(f"PROXY v2 TLV 0x{kind:02x} is cut short ({size} bytes said)")
        tlvs.append((kind, data[at:at + size]))
        at += size
    return tuple(tlvs)


def _check_crc(header: bytes, at: int, tlvs: tuple[tuple[int, bytes], ...]) -> None:
    # The checksum covers the whole header with its own value zeroed; ``at``
    # is where the TLVs start.
    for kind, value in tlvs:
        if kind == TLV_CRC32C:
            break
        at += 3 + len(value)
    if len(value) != 4:
        raise ProxyProtocolError("PROXY v2 CRC32C TLV is not 4 bytes")
    zeroed = header[:at + 3] + bytes(4) + header[at + 7:]
    if crc32c(zeroed) != struct.unpack("!I", value)[0]:
        raise ProxyProtocolError("PROXY v2 CRC32C does not match the header")


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C (Castagnoli), as the PROXY v2 CRC32C TLV carries it; ``crc`` continues one."""
    table = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for byte in data:
        c = table[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def decode_tlvs(tlvs: Iterable[tuple[int, bytes]]) -> dict[str, Any]:
    """The TLVs of a v2 header as a dict (what ``socket.proxyTlvs`` returns).

    Keys, each present only when its TLV was sent: ``'alpn'`` (str),
    ``'authority'`` (str: the SNI host name), ``'crc32c'`` (int),
    ``'uniqueId'`` (bytes), ``'netns'`` (str), ``'ssl'`` (a dict:
    ``'client'`` flags byte, ``'verify'`` (0: the client certificate
    verified), ``'ssl'``, ``'certConnection'``, ``'certSession'`` (bools
    from the flags), and the sub-TLVs ``'version'``, ``'cn'``, ``'cipher'``,
    ``'sigAlg'``, ``'keyAlg'`` as str, unknown ones under ``'raw'``). Always
    ``'raw'``: every TLV as ``(type, bytes)``, in order, known ones included.
    Text is decoded as UTF-8 with undecodable bytes kept as surrogate escapes.
    """
    out: dict[str, Any] = {}
    raw = []
    for kind, value in tlvs:
        raw.append((kind, value))
        if kind == TLV_ALPN:
            out["alpn"] = _text(value)
        elif kind == TLV_AUTHORITY:
            out["authority"] = _text(value)
        elif kind == TLV_CRC32C and len(value) == 4:
            out["crc32c"] = struct.unpack("!I", value)[0]
        elif kind == TLV_UNIQUE_ID:
            out["uniqueId"] = value
        elif kind == TLV_NETNS:
            out["netns"] = _text(value)
        elif kind == TLV_SSL and len(value) >= 5:
            out["ssl"] = _decode_ssl(value)
    out["raw"] = raw
    return out


def _decode_ssl(value: bytes) -> dict[str, Any]:
    client, verify = value[0], struct.unpack_from("!I", value, 1)[0]
    ssl: dict[str, Any] = {
        "client": client, "verify": verify, "ssl": bool(client & 0x01),
        "certConnection": bool(client & 0x02), "certSession": bool(client & 0x04),
    }
    sub: list[tuple[int, bytes]] = []
    try:
        items = _v2_tlvs(value[5:])
    except ProxyProtocolError:
        items = ()
    for kind, body in items:
        name = _SSL_SUBTYPES.get(kind)
        if name is not None:
            ssl[name] = _text(body)
        else:
            sub.append((kind, body))
    ssl["raw"] = sub
    return ssl


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


# --- the option ------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyConfig:
    """A server's checked ``proxyProtocol`` option."""

    trusted: BlockList
    timeout: float  # seconds
    versions: tuple[int, ...]


#: The default header timeout, in ms.
DEFAULT_TIMEOUT_MS = 3000


def _loopback() -> BlockList:
    trusted = BlockList()
    trusted.addSubnet("127.0.0.0", 8, "ipv4")
    trusted.addAddress("::1", "ipv6")
    return trusted


def proxy_config(value: Any, name: str = "options.proxyProtocol") -> ProxyConfig | None:
    """Check a server's ``proxyProtocol`` option.

    ``None``/``False``: off. ``True``: on, with the defaults. A dict:
    ``trusted`` (a :class:`~gnet.BlockList` of the peers allowed to send the
    header, or a list of addresses and ``'addr/prefix'`` subnets; default
    loopback: ``127.0.0.0/8`` and ``::1``), ``timeout`` (ms to wait for the
    whole header, default 3000; 0 for none), ``versions`` (``[1]``, ``[2]``
    or ``[1, 2]``, the default).

    Raises:
        InvalidArgTypeError / InvalidArgValueError: naming what was wrong.
    """
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise InvalidArgTypeError(name, "bool or dict", value)
    unknown = set(value) - {"trusted", "timeout", "versions"}
    if unknown:
        raise InvalidArgValueError(f"{name}.{sorted(unknown)[0]}", value[sorted(unknown)[0]],
                                   "is not an option (trusted, timeout, versions)")
    trusted = _trusted(value.get("trusted"), f"{name}.trusted")
    timeout = value.get("timeout")
    timeout = DEFAULT_TIMEOUT_MS if timeout is None else validate_number(
        timeout, f"{name}.timeout", 0)
    versions = value.get("versions", (1, 2))
    if isinstance(versions, int) and not isinstance(versions, bool):
        versions = (versions,)
    if not isinstance(versions, (list, tuple)) or not versions \
            or any(v not in (1, 2) or isinstance(v, bool) for v in versions):
        raise InvalidArgValueError(f"{name}.versions", versions, "must be [1], [2] or [1, 2]")
    return ProxyConfig(trusted, timeout / 1000.0, tuple(sorted(set(versions))))


def _trusted(value: Any, name: str) -> BlockList:
    if value is None:
        return _loopback()
    if isinstance(value, BlockList):
        return value
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InvalidArgTypeError(name, "BlockList or list of addresses and subnets", value)
    trusted = BlockList()
    for item in value:
        if not isinstance(item, str):
            raise InvalidArgTypeError(name, "BlockList or list of addresses and subnets", item)
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InvalidArgValueError(name, item, "is not an address or subnet") from None
        family = "ipv6" if network.version == 6 else "ipv4"
        trusted.addSubnet(str(network.network_address), network.prefixlen, family)
    return trusted


# --- the header phase (hub) ----------------------------------------------------------


class ProxyPeer:
    """What a Socket keeps of its PROXY header (``socket.proxyHeader`` and friends).

    ``remote`` is the advertised client ``(address, port, family)`` (or the
    real peer's, when the header names none); ``peer`` the real one's.
    """

    __slots__ = ("header", "peer", "remote")

    def __init__(self, header: ProxyHeader, peer: tuple[Any, Any, Any],
                 remote: tuple[Any, Any, Any]) -> None:
        self.header = header
        self.peer = peer
        self.remote = remote

    def tlvs(self) -> dict[str, Any]:
        """The header's TLVs decoded (:func:`decode_tlvs`); a new dict each call."""
        return decode_tlvs(self.header.tlvs)


def _peer_info(address: Any, family: int) -> tuple[Any, Any, Any]:
    if address is None or family == _socket.AF_UNIX:
        return (None, None, None)
    info = address_info(address, family)
    return (info["address"], info["port"], info["family"])


def connection_info(raw: Any) -> dict[str, Any] | None:
    """The real endpoints of an accepted descriptor, as a server's 'drop' info (None: Unix)."""
    if raw.family not in (_socket.AF_INET, _socket.AF_INET6):
        return None
    try:
        local = address_info(raw.getsockname(), raw.family)
        remote = address_info(raw.getpeername(), raw.family)
    except OSError:
        return None
    return {
        "localAddress": local["address"], "localPort": local["port"],
        "localFamily": local["family"], "remoteAddress": remote["address"],
        "remotePort": remote["port"], "remoteFamily": remote["family"],
    }


def trusted(config: ProxyConfig, raw: Any, address: Any) -> bool:
    """Whether the real peer may send a header (a Unix socket peer always may)."""
    if raw.family not in (_socket.AF_INET, _socket.AF_INET6) or address is None:
        return True
    return config.trusted._blocked(address[0], raw.family == _socket.AF_INET6)


def _same_ip(a: str, b: str) -> bool:
    try:
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    x = getattr(x, "ipv4_mapped", None) or x
    y = getattr(y, "ipv4_mapped", None) or y
    return x == y


def _names_itself(header: ProxyHeader, raw: Any, address: Any) -> bool:
    # A header whose source and destination are this very connection's two
    # ends relays no client: it is the balancer speaking for itself, what v2
    # says with LOCAL. HAProxy's health checks on a `send-proxy` (v1) server
    # send exactly that, then a reset.
    if header.source is None or header.destination is None or address is None \
            or raw.family not in (_socket.AF_INET, _socket.AF_INET6):
        return False
    try:
        local = raw.getsockname()
    except OSError:
        return False
    return (header.source[1] == address[1] and header.destination[1] == local[1]
            and _same_ip(header.source[0], address[0])
            and _same_ip(header.destination[0], local[0]))


_QUIET_ERRNOS = frozenset((errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT))


class HeaderReader(Handle):
    """One connection's header phase, in the hub (see the module's theory of operation).

    A :class:`~gnet.loop.Handle`: while it waits, ``gnet.run()`` waits too,
    as it does for a socket.

    ``done(reader, header_or_None)``: a PROXY header was read (the Socket
    may be made now), or None for a LOCAL one or a quiet close (the
    descriptor is closed already). ``failed(reader, err, info)``: the
    descriptor is closed; report ``err``. Exactly one of them is called,
    once (:meth:`destroy` calls ``done(reader, None)``).
    """

    __slots__ = ("_active", "_refed", "raw", "address", "config", "_done", "_failed", "_buf",
                 "_watcher", "_timer")

    def __init__(self, raw: Any, address: Any, config: ProxyConfig,
                 done: Callable[[HeaderReader, ProxyPeer | None], Any],
                 failed: Callable[[HeaderReader, BaseException, Any], Any]) -> None:
        self.raw = raw
        self.address = address
        self.config = config
        self._done = done
        self._failed = failed
        self._buf = b""
        self._watcher: Any = None
        self._timer: Any = None
        self._init_handle()

    def start(self) -> None:
        """Start watching the descriptor, and the timer."""
        raw = self.raw
        raw.setblocking(False)
        self._set_active(True)
        loop = get_loop()
        self._watcher = loop.io(raw.fileno(), 1)
        self._watcher.start(self._on_readable)
        if self.config.timeout > 0:
            self._timer = loop.timer(self.config.timeout)
            self._timer.start(self._on_timeout)
        # The header usually came with the connection: try at once.
        self._on_readable()

    def _stop(self) -> None:
        self._set_active(False)
        for watcher in (self._watcher, self._timer):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self._watcher = self._timer = None

    def destroy(self) -> None:
        """Give up (the server's ``closeAllConnections()``): close, report no error.

        ``done(reader, None)`` follows, as for a quiet close.
        """
        if self._done is not None:
            self._quiet()

    def _on_timeout(self) -> None:
        if self._done is None:
            return
        if self._buf:
            why = f"no whole PROXY header within {self.config.timeout * 1000:g} ms"
        else:
            why = f"no PROXY header within {self.config.timeout * 1000:g} ms"
        self._fail(ProxyProtocolTimeoutError(why))

    def _fail(self, err: BaseException) -> None:
        failed = self._failed
        info = connection_info(self.raw)
        self._stop()
        self._done = self._failed = None  # type: ignore[assignment]
        self.raw.close()
        failed(self, err, info)

    def _quiet(self) -> None:
        done = self._done
        self._stop()
        self._done = self._failed = None  # type: ignore[assignment]
        self.raw.close()
        done(self, None)

    def _on_readable(self) -> None:
        # Each step consumes header bytes or finishes; stop when the kernel
        # has nothing more for now.
        while self._done is not None and self._step():
            pass

    def _step(self) -> bool:
        raw = self.raw
        buf = self._buf
        result = parse(buf, self.config.versions)
        assert isinstance(result, Need)
        try:
            ahead = raw.recv(result.at_most, _socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in _QUIET_ERRNOS and not buf:
                self._quiet()  # reset before a byte came: a probe, or a health check
            else:
                self._fail(ProxyProtocolError(
                    f"the connection failed before the end of the PROXY header ({exc.strerror})"))
            return False
        if not ahead:
            if buf:
                self._fail(ProxyProtocolError(
                    "the connection closed before the end of the PROXY header"))
            else:
                self._quiet()  # a probe: connected, sent nothing, closed
            return False
        try:
            result = parse(buf + ahead, self.config.versions)
        except ProxyProtocolError as err:
            self._fail(err)
            return False
        # A Need means every peeked byte is header; a header says its length.
        take = len(ahead) if isinstance(result, Need) else result.length - len(buf)
        try:
            got = raw.recv(take)
        except OSError as exc:
            self._fail(ProxyProtocolError(
                f"the connection failed before the end of the PROXY header ({exc.strerror})"))
            return False
        if len(got) != take:  # nobody else reads this descriptor: cannot happen
            self._fail(ProxyProtocolError("the PROXY header could not be read whole"))
            return False
        self._buf = buf + got
        if isinstance(result, Need):
            return True
        self._finish(result)
        return False

    def _finish(self, header: ProxyHeader) -> None:
        if header.command == LOCAL or _names_itself(header, self.raw, self.address):
            self._quiet()
            return
        done = self._done
        self._stop()
        self._done = self._failed = None  # type: ignore[assignment]
        raw = self.raw
        peer = _peer_info(self.address, raw.family)
        remote = peer
        if header.family in ("IPv4", "IPv6") and header.source is not None:
            remote = (header.source[0], header.source[1], header.family)
        done(self, ProxyPeer(header, peer, remote))
