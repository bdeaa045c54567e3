"""Node's ``net.BlockList`` and ``net.SocketAddress``: IP rules, and the check against them.

Theory of operation
-------------------

A :class:`BlockList` holds three kinds of rule, as Node's: single addresses,
inclusive ranges and subnets, each IPv4 or IPv6. ``rules`` lists them newest
first, in Node's words (``'Address: IPv4 1.1.1.1'``,
``'Range: IPv4 10.0.0.1-10.0.0.10'``, ``'Subnet: IPv6 8592:757c:efae:4e45::/64'``);
an identical rule added twice is kept once, as in current Node.

Every address is parsed once, when it enters (``inet_pton``, the same
parser libuv uses, so ``'01.1.1.1'`` is refused as Node refuses it), into
one 128-bit number space in which an IPv4 address ``a.b.c.d`` is its
IPv4-mapped IPv6 form ``::ffff:a.b.c.d``. That one mapping gives Node's
cross-family matching: an IPv4 rule matches ``'::ffff:1.1.1.1'`` checked as
``'ipv6'``, an IPv6 rule written ``'::ffff:1.1.1.2'`` matches ``'1.1.1.2'``,
an IPv4 subnet ``a/p`` is the IPv6 subnet ``::ffff:a/(96 + p)`` (so
``'0.0.0.0/0'`` covers no plain IPv6 address) and ``'::/0'`` covers every
IPv4 address. One rule of Node's is not a plain interval: a range compares
its ends with the checked address, and Node finds an IPv4 address and an
IPv6 address that is not IPv4-mapped *not comparable*, so such a pair never
matches. Hence three interval lists, built on the first check after a change:

* for IPv4 addresses: addresses, subnets, and ranges whose two ends are both
  IPv4 or IPv4-mapped;
* for IPv4-mapped IPv6 addresses: every rule;
* for other IPv6 addresses: addresses, subnets, and ranges whose two ends
  were both given as IPv6.

Each list is merged and sorted, so :meth:`BlockList.check` is one
``inet_pton`` and one binary search, whatever the number of rules: cheap
enough for a server's accept path (which, with no ``blockList``, pays only
an ``is None`` test).

A :class:`SocketAddress` is Node's value object: ``address``, ``port``,
``family`` (``'ipv4'``/``'ipv6'``, lower case), ``flowlabel``. Every
``BlockList`` method takes one wherever it takes an address string.

Versions: the class and its four methods are Node 15.0 / 14.18;
``BlockList.isBlockList`` and ``SocketAddress.parse`` Node 23.4 / 22.13;
``toJSON``/``fromJSON`` Node 24.5 / 22.19. gnet has them all.
"""

from __future__ import annotations

import _socket
import json
from bisect import bisect_right
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zope.interface import implementer

from gnet.addresses import validate_port
from gnet.errors import (
    InvalidAddressError,
    InvalidArgTypeError,
    InvalidArgValueError,
    OutOfRangeError,
)
from gnet.interfaces import IBlockList, ISocketAddress
from gnet.naming import add_aliases
from gnet.validate import validate_int, validate_string

__all__ = ("BlockList", "SocketAddress", "block_list_option")

_AF = {"ipv4": _socket.AF_INET, "ipv6": _socket.AF_INET6}
# ::ffff:0:0/96, where IPv4 addresses live in the shared number space.
_MAPPED = 0xFFFF << 32
_MAPPED_MAX = _MAPPED | 0xFFFFFFFF
_ALL_V6 = (1 << 128) - 1
# The IPv6 flow label is 20 bits.
_FLOWLABEL_MAX = 0xFFFFF
_UINT32_MAX = 0xFFFFFFFF


def _parse(address: str, family: str) -> tuple[int, bytes] | None:
    """``(number in the shared space, packed bytes)``, or None if not an address."""
    if family == "ipv6":
        # libuv drops a zone index ('fe80::1%eth0'), and so does Node.
        cut = address.find("%")
        if cut >= 0:
            address = address[:cut]
        try:
            packed = _socket.inet_pton(_socket.AF_INET6, address)
        except (OSError, ValueError):
            return None
        return int.from_bytes(packed, "big"), packed
    try:
        packed = _socket.inet_pton(_socket.AF_INET, address)
    except (OSError, ValueError):
        return None
    return _MAPPED | int.from_bytes(packed, "big"), packed


def _family(value: object, name: str = "options.family") -> str:
    # Node lower-cases a family string ('IPV6', 'IpV6' work) and refuses the rest.
    family = value.lower() if isinstance(value, str) else None
    if family is None or family not in _AF:
        raise InvalidArgValueError(name, value)
    return family


@implementer(ISocketAddress)
class SocketAddress:
    """An IP address with port, family and flow label (Node's ``net.SocketAddress``).

    Args:
        options: a dict with ``address`` (default ``'127.0.0.1'``, or
            ``'::'`` for IPv6), ``family`` (``'ipv4'``, the default, or
            ``'ipv6'``, any case), ``port`` (0-65535, default 0) and
            ``flowlabel`` (default 0; kept for IPv6 only, as in Node).
        **kwargs: the same keys as keyword arguments.

    Raises:
        InvalidArgTypeError: ``options`` is not a dict, ``address`` not a
            ``str``, ``flowlabel`` not a number.
        InvalidArgValueError: ``family`` is neither ``'ipv4'`` nor ``'ipv6'``.
        SocketBadPortError: a bad ``port``.
        OutOfRangeError: ``flowlabel`` is negative, not an integer, or more
            than 20 bits for IPv6 (where Node aborts the process).
        InvalidAddressError: ``address`` is not an address of ``family``
            (``ERR_INVALID_ADDRESS``).

    Node's ``address`` is the address as ``inet_ntop`` writes it
    (``'0:0::1'`` reads back ``'::1'``); so is gnet's.
    """

    __slots__ = ("_address", "_family", "_flowlabel", "_number", "_port")

    def __init__(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if options is None:
            options = {}
        elif not isinstance(options, Mapping):
            raise InvalidArgTypeError("options", "dict", options)
        if kwargs:
            options = {**options, **kwargs}
        family = _family(options.get("family", "ipv4"))
        address = options.get("address")
        if address is None:
            address = "127.0.0.1" if family == "ipv4" else "::"
        validate_string(address, "options.address")
        port = options.get("port")
        port = 0 if port is None else validate_port(port, "options.port")
        flowlabel = options.get("flowlabel")
        if flowlabel is None:
            flowlabel = 0
        else:
            flowlabel = validate_int(flowlabel, "options.flowlabel", 0, _UINT32_MAX)
        parsed = _parse(address, family)
        if parsed is None:
            raise InvalidAddressError()
        if family == "ipv4":
            flowlabel = 0  # Node keeps no flow label for IPv4
        elif flowlabel > _FLOWLABEL_MAX:
            raise OutOfRangeError("options.flowlabel", f">= 0 && <= {_FLOWLABEL_MAX}", flowlabel)
        self._number = parsed[0]
        self._address = _socket.inet_ntop(_AF[family], parsed[1])
        self._family = family
        self._port = port
        self._flowlabel = flowlabel

    @staticmethod
    def isSocketAddress(value: object) -> bool:
        """True if ``value`` is a :class:`SocketAddress` (Node 15.14)."""
        return isinstance(value, SocketAddress)

    @classmethod
    def parse(cls, input: object) -> SocketAddress | None:
        """Read ``'1.2.3.4:80'`` or ``'[::1]:80'`` (Node 23.4 / 22.13).

        As Node, which reads the text as the host and port of a URL: a port
        is optional (0), user information before ``@`` is skipped, and IPv4
        takes the URL forms (``'256'`` is ``0.0.1.0``, ``'0xffffffff'``,
        ``'192.168.257'``). Returns None for anything that is not an IP
        address with an optional port.

        Raises:
            InvalidArgTypeError: ``input`` is not a ``str``.
        """
        validate_string(input, "input")
        assert isinstance(input, str)
        text = input.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
                           "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
                           "\x1e\x1f ").replace("\t", "").replace("\n", "").replace("\r", "")
        for stop in "/?#\\":
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        text = text.rpartition("@")[2]
        if text.startswith("["):
            host, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                return None
            family = "ipv6"
            port_text = rest[1:]
        else:
            host, _, port_text = text.partition(":")
            address = _url_ipv4(host)
            if address is None:
                return None
            host, family = address, "ipv4"
        if port_text:
            if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 0xFFFF:
                return None
            port = int(port_text)
        else:
            port = 0
        try:
            return cls({"address": host, "port": port, "family": family})
        except (TypeError, ValueError):
            return None

    @property
    def address(self) -> str:
        """The address, as ``inet_ntop`` writes it."""
        return self._address

    @property
    def port(self) -> int:
        """The port, 0-65535."""
        return self._port

    @property
    def family(self) -> str:
        """``'ipv4'`` or ``'ipv6'`` (lower case, unlike ``server.address()``)."""
        return self._family

    @property
    def flowlabel(self) -> int:
        """The IPv6 flow label (always 0 for IPv4)."""
        return self._flowlabel

    def toJSON(self) -> dict[str, Any]:
        """``{'address', 'port', 'family', 'flowlabel'}``, as Node's."""
        return {"address": self._address, "port": self._port,
                "family": self._family, "flowlabel": self._flowlabel}

    def __repr__(self) -> str:
        return (f"SocketAddress(address={self._address!r}, port={self._port}, "
                f"family={self._family!r}, flowlabel={self._flowlabel})")

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        is_socket_address = isSocketAddress
        to_json = toJSON
    # --- end of PEP 8 twins ---


def _url_ipv4(host: str) -> str | None:
    """A URL host's IPv4 address in dotted form (the WHATWG URL IPv4 parser), or None."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        text, base = part, 10
        if text[:2] in ("0x", "0X"):
            text, base = text[2:], 16
        elif len(text) > 1 and text[0] == "0":
            text, base = text[1:], 8
        if text == "":
            if base == 10:
                return None
            numbers.append(0)
            continue
        try:
            numbers.append(int(text, base) if text.isascii() and text.isalnum() else -1)
        except ValueError:
            return None
        if numbers[-1] < 0:
            return None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return _socket.inet_ntoa(value.to_bytes(4, "big"))


def _address_of(value: object, family: object, name: str) -> SocketAddress:
    # Node's way in every BlockList method: a SocketAddress as it is, else
    # a string and a family string, made into a SocketAddress.
    if isinstance(value, SocketAddress):
        return value
    validate_string(value, name)
    if family is None:  # not given: Node's default
        family = "ipv4"
    validate_string(family, "family")
    return SocketAddress({"address": value, "family": family})


def _label(family: str) -> str:
    return "IPv6" if family == "ipv6" else "IPv4"


def _merge(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Sorted, disjoint ``(starts, ends)`` covering the same numbers."""
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in sorted(intervals):
        if ends and lo <= ends[-1] + 1:
            if hi > ends[-1]:
                ends[-1] = hi
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends


def _within(table: tuple[list[int], list[int]], number: int) -> bool:
    starts, ends = table
    i = bisect_right(starts, number) - 1
    return i >= 0 and number <= ends[i]


@implementer(IBlockList)
class BlockList:
    """A set of IP rules to check addresses against (Node's ``net.BlockList``).

    Pass one as ``blockList`` to :func:`gnet.createServer` (a blocked peer
    is closed as soon as it is accepted, with no 'connection') or to
    :func:`gnet.connect` / :class:`gnet.Socket` (a blocked destination
    fails with ``ERR_IP_BLOCKED`` before any connect()). Family arguments
    are ``'ipv4'`` (the default) or ``'ipv6'``, in any case.
    """

    __slots__ = ("_rules", "_seen", "_tables")

    def __init__(self) -> None:
        # (text, kind, lo, hi, lo is IPv6, hi is IPv6), newest last.
        self._rules: list[tuple[str, str, int, int, bool, bool]] = []
        self._seen: set[str] = set()  # the rules' texts, to keep each rule once
        self._tables: tuple[Any, Any, Any] | None = None

    @staticmethod
    def isBlockList(value: object) -> bool:
        """True if ``value`` is a :class:`BlockList` (Node 23.4 / 22.13)."""
        return isinstance(value, BlockList)

    def _add(self, text: str, kind: str, lo: int, hi: int, lo6: bool, hi6: bool) -> None:
        if text not in self._seen:
            self._seen.add(text)
            self._rules.append((text, kind, lo, hi, lo6, hi6))
            self._tables = None

    def addAddress(self, address: str | SocketAddress, family: str | None = "ipv4") -> None:
        """Block one address (Node's ``blockList.addAddress``).

        Raises:
            InvalidArgTypeError: ``address`` or ``family`` is not a ``str``.
            InvalidArgValueError: an unknown ``family``.
            InvalidAddressError: ``address`` is not an address of ``family``.
        """
        sa = _address_of(address, family, "address")
        six = sa._family == "ipv6"
        self._add(f"Address: {_label(sa._family)} {sa._address}", "address",
                  sa._number, sa._number, six, six)

    def addRange(self, start: str | SocketAddress, end: str | SocketAddress | None = None,
                 family: str | None = "ipv4") -> None:
        """Block ``start`` to ``end``, both included (Node's ``blockList.addRange``).

        Raises:
            InvalidArgTypeError / InvalidArgValueError / InvalidAddressError:
                as :meth:`addAddress`; InvalidArgValueError also when
                ``start`` comes after ``end``.
        """
        first = _address_of(start, family, "start")
        last = _address_of(end, family, "end")
        lo6, hi6 = first._family == "ipv6", last._family == "ipv6"
        lo, hi = first._number, last._number
        # Node refuses start > end only when the two are comparable (an
        # IPv4 address and a plain IPv6 one are not): such a range is
        # kept and matches nothing.
        comparable = lo6 == hi6 or (_MAPPED <= lo <= _MAPPED_MAX and _MAPPED <= hi <= _MAPPED_MAX)
        if comparable and lo > hi:
            raise InvalidArgValueError("start", first, "must come before end")
        self._add(f"Range: {_label(first._family)} {first._address}-{last._address}", "range",
                  lo, hi, lo6, hi6)

    def addSubnet(self, net: str | SocketAddress, prefix: int | None = None,
                  family: str | None = "ipv4") -> None:
        """Block a subnet, ``net/prefix`` (Node's ``blockList.addSubnet``).

        Host bits in ``net`` are allowed (``'1.1.1.7'``, 24) and kept in
        ``rules``, as Node keeps them.

        Raises:
            InvalidArgTypeError: ``net``, ``family`` not a ``str``, or
                ``prefix`` not a number.
            InvalidArgValueError / InvalidAddressError: as :meth:`addAddress`.
            OutOfRangeError: ``prefix`` is not an integer in 0-32 (IPv4) or
                0-128 (IPv6).
        """
        network = _address_of(net, family, "network")
        six = network._family == "ipv6"
        bits = validate_int(prefix, "prefix", 0, 128 if six else 32)
        host_bits = (128 if six else 32) - bits
        lo = network._number >> host_bits << host_bits
        hi = lo | ((1 << host_bits) - 1)
        self._add(f"Subnet: {_label(network._family)} {network._address}/{bits}", "subnet",
                  lo, hi, six, six)

    def check(self, address: str | SocketAddress, family: str | None = "ipv4") -> bool:
        """True if a rule covers ``address`` (Node's ``blockList.check``).

        A string that is not an address of ``family`` (or an unknown
        family) is not blocked: False, as in Node.

        Raises:
            InvalidArgTypeError: ``address`` or ``family`` is not a ``str``.
        """
        if isinstance(address, SocketAddress):
            return self._check(address._number, address._family == "ipv6")
        validate_string(address, "address")
        if family is None:
            family = "ipv4"
        validate_string(family, "family")
        family = family.lower()
        if family not in _AF:
            return False
        parsed = _parse(address, family)
        if parsed is None:
            return False
        return self._check(parsed[0], family == "ipv6")

    def _blocked(self, ip: str, six: bool) -> bool:
        """:meth:`check` for an address the kernel gave (accept, connect paths)."""
        parsed = _parse(ip, "ipv6" if six else "ipv4")
        return parsed is not None and self._check(parsed[0], six)

    def _check(self, number: int, six: bool) -> bool:
        tables = self._tables
        if tables is None:
            tables = self._tables = self._build()
        if not six:
            return _within(tables[0], number)
        if _MAPPED <= number <= _MAPPED_MAX:
            return _within(tables[1], number)
        return _within(tables[2], number)

    def _build(self) -> tuple[Any, Any, Any]:
        v4: list[tuple[int, int]] = []
        mapped: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for _text, kind, lo, hi, lo6, hi6 in self._rules:
            if lo > hi:
                continue  # a range between incomparable ends
            mapped.append((lo, hi))
            if kind != "range":
                v4.append((lo, hi))
                v6.append((lo, hi))
                continue
            if _MAPPED <= lo <= _MAPPED_MAX and _MAPPED <= hi <= _MAPPED_MAX:
                v4.append((lo, hi))
            if lo6 and hi6:
                v6.append((lo, hi))
        return _merge(v4), _merge(mapped), _merge(v6)

    @property
    def rules(self) -> list[str]:
        """The rules in Node's words, newest first (a new list each time)."""
        return [rule[0] for rule in reversed(self._rules)]

    def toJSON(self) -> list[str]:
        """The rules, as :attr:`rules` (Node 24.5 / 22.19)."""
        return self.rules

    def fromJSON(self, data: str | list[str]) -> None:
        """Add the rules listed in ``data`` (Node 24.5 / 22.19).

        ``data`` is a list of rule strings as :attr:`rules` gives them, or
        that list as JSON text. Each rule is added in the order listed, as
        Node does (so a round trip lists them in the reverse order; the
        rules match the same addresses). An item that is not a rule is
        skipped, as in Node; unlike Node, IPv6 rules written with a dotted
        tail (``'Address: IPv6 ::ffff:1.2.3.4'``) are read too.

        Raises:
            InvalidArgTypeError: ``data`` is not a list of ``str`` or JSON
                text holding one.
            json.JSONDecodeError: ``data`` is text but not JSON (Node's
                ``SyntaxError``).
        """
        items: object = data
        if isinstance(data, str):
            items = json.loads(data)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise InvalidArgTypeError("data", ["str", "list[str]"], data)
        for item in items:
            kind, _, rest = item.partition(": ")
            label, _, body = rest.strip().partition(" ")
            family = label.lower()
            if family not in _AF:
                continue
            body = body.strip()
            try:
                if kind == "Address":
                    self.addAddress(body, family)
                elif kind == "Range":
                    start, dash, end = body.partition("-")
                    if dash:
                        self.addRange(start, end, family)
                elif kind == "Subnet":
                    net, slash, bits = body.rpartition("/")
                    if slash and bits.isascii() and bits.isdigit():
                        self.addSubnet(net, int(bits), family)
            except (TypeError, ValueError):
                continue

    def __repr__(self) -> str:
        return f"BlockList(rules={self.rules!r})"

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        is_block_list = isBlockList
        add_address = addAddress
        add_range = addRange
        add_subnet = addSubnet
        to_json = toJSON
        from_json = fromJSON
    # --- end of PEP 8 twins ---


def block_list_option(value: object, name: str = "options.blockList") -> BlockList | None:
    """Check a ``blockList`` option (servers, sockets, dgram) and return it.

    As Node, a falsy value (None) means no block list.

    Raises:
        InvalidArgTypeError: ``value`` is not a :class:`BlockList`.
    """
    if value is None or isinstance(value, BlockList):
        return value
    raise InvalidArgTypeError(name, "an instance of BlockList", value)


add_aliases(SocketAddress)
add_aliases(BlockList)
