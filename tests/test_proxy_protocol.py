"""PROXY protocol v1/v2 (gnet.proxy_protocol): the parser, then servers that require the header.

The parser is checked against the exact bytes HAProxy 2.6 and nginx 1.22
send (recorded in the project's scale-out reference), at every truncation
point, and against random input; the servers on loopback with a client that
sends the header whole, one byte per packet, too slowly, wrongly, or not at
all.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from hypothesis import given, strategies as st

import gnet as net
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    ProxyProtocolError,
    ProxyProtocolTimeoutError,
    ProxyProtocolUntrustedError,
)
from gnet.proxy_protocol import (
    LOCAL,
    PROXY,
    SIGNATURE,
    V1_MAX,
    Need,
    ProxyHeader,
    crc32c,
    decode_tlvs,
    parse,
    proxy_config,
)
from helpers import HOST, WAIT_S, Harness, has_ipv6_loopback, settle, wait_until

pytestmark = pytest.mark.timeout(30)

# --- the bytes on the wire ------------------------------------------------------------

# HAProxy 2.6.12, `send-proxy-v2 proxy-v2-options crc32c,unique-id`, a client
# connection: PROXY, TCP4, length 0x44, the addresses, CRC32C, UNIQUE_ID.
UNIQUE_ID = b"7F000001:B5D6_7F000001:B860_6B06E9B2_0000:6ED1"
HAPROXY_V2_TLVS = (
    bytes.fromhex("0d0a0d0a000d0a515549540a" "21" "11" "0044"
                  "7f000001" "7f000001" "b5d6" "b860"
                  "03" "0004" "a9a7ece2"
                  "05" "002e") + UNIQUE_ID
)
# Plain `send-proxy-v2`: 28 bytes.
HAPROXY_V2 = bytes.fromhex("0d0a0d0a000d0a515549540a" "21" "11" "000c"
                           "7f000001" "7f000001" "b5d6" "b860")
# Health check with send-proxy-v2: LOCAL, UNSPEC, length 0.
HAPROXY_LOCAL = bytes.fromhex("0d0a0d0a000d0a515549540a" "20" "00" "0000")
# nginx 1.22 `proxy_protocol on;`: v1 only.
NGINX_TCP4 = b"PROXY TCP4 127.0.0.1 127.0.0.1 56390 47300\r\n"
NGINX_TCP6 = b"PROXY TCP6 ::1 ::1 33840 47300\r\n"
V1_UNKNOWN = b"PROXY UNKNOWN\r\n"


def v2(command: int, fam: int, body: bytes, crc: bool = False) -> bytes:
    """A v2 header with ``body`` (addresses then TLVs); ``crc`` appends a correct CRC32C TLV."""
    if crc:
        body += b"\x03\x00\x04" + bytes(4)
    head = SIGNATURE + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body
    if crc:
        head = head[:-4] + struct.pack("!I", crc32c(head))
    return head


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def v4_block(src: str, dst: str, sport: int, dport: int) -> bytes:
    return (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
            + struct.pack("!HH", sport, dport))


def v6_block(src: str, dst: str, sport: int, dport: int) -> bytes:
    return (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
            + struct.pack("!HH", sport, dport))


# --- the parser: recorded bytes ----------------------------------------------------------


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283


def test_haproxy_v2_with_crc32c_and_unique_id() -> None:
    header = parse(HAPROXY_V2_TLVS + b"client bytes")
    assert header == ProxyHeader(
        2, PROXY, "IPv4", "stream", ("127.0.0.1", 0xB5D6), ("127.0.0.1", 0xB860),
        ((0x03, bytes.fromhex("a9a7ece2")), (0x05, UNIQUE_ID)), 84)
    tlvs = decode_tlvs(header.tlvs)
    assert tlvs["crc32c"] == 0xA9A7ECE2
    assert tlvs["uniqueId"] == UNIQUE_ID
    assert tlvs["raw"] == list(header.tlvs)


def test_haproxy_crc32c_is_checked() -> None:
    # HAProxy's own checksum verifies (above); one bit changed anywhere fails it.
    for at in (13, 17, 27, 40, 83):
        broken = bytearray(HAPROXY_V2_TLVS)
        broken[at] ^= 0x01
        with pytest.raises(ProxyProtocolError):
            parse(bytes(broken))


def test_haproxy_v2_plain() -> None:
    header = parse(HAPROXY_V2)
    assert isinstance(header, ProxyHeader)
    assert (header.version, header.command, header.family, header.length) == (2, PROXY, "IPv4", 28)
    assert header.source == ("127.0.0.1", 46550) and header.destination == ("127.0.0.1", 47200)
    assert header.tlvs == ()


def test_haproxy_local_health_check() -> None:
    header = parse(HAPROXY_LOCAL)
    assert isinstance(header, ProxyHeader)
    assert (header.command, header.family, header.source, header.length) == (LOCAL, None, None, 16)
    with_crc = v2(0, 0x00, b"", crc=True)
    assert len(with_crc) == 23 and with_crc[12:16] == bytes.fromhex("20000007")
    local = parse(with_crc)
    assert isinstance(local, ProxyHeader) and local.command == LOCAL and local.length == 23


def test_nginx_v1() -> None:
    four = parse(NGINX_TCP4 + b"GET / HTTP/1.1\r\n")
    assert four == ProxyHeader(1, PROXY, "IPv4", "stream", ("127.0.0.1", 56390),
                               ("127.0.0.1", 47300), (), len(NGINX_TCP4))
    six = parse(NGINX_TCP6)
    assert six == ProxyHeader(1, PROXY, "IPv6", "stream", ("::1", 33840), ("::1", 47300), (),
                              len(NGINX_TCP6))


def test_v1_unknown() -> None:
    assert parse(V1_UNKNOWN) == ProxyHeader(1, PROXY, None, None, None, None, (), 15)
    # The receiver ignores whatever follows UNKNOWN on the line.
    line = b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"
    header = parse(line + b"x")
    assert isinstance(header, ProxyHeader) and header.length == len(line)


def test_v1_longest_lines() -> None:
    src = dst = ":".join(["ffff"] * 8)
    line = f"PROXY TCP6 {src} {dst} 65535 65535\r\n".encode()
    assert len(line) == 104
    header = parse(line)
    assert isinstance(header, ProxyHeader) and header.source == (src, 65535)
    # The spec's worst case, 107 bytes: UNKNOWN followed by the longest TCP6 line.
    longest = f"PROXY UNKNOWN {src} {dst} 65535 65535\r\n".encode()
    assert len(longest) == V1_MAX
    assert isinstance(parse(longest), ProxyHeader)


def test_v2_ipv6_and_tlvs() -> None:
    ssl_value = bytes([0x07]) + struct.pack("!I", 0) + tlv(0x21, b"TLSv1.3") + tlv(
        0x22, b"client.example") + tlv(0x23, b"TLS_AES_256_GCM_SHA384") + tlv(
        0x24, b"RSA-SHA256") + tlv(0x25, b"RSA2048") + tlv(0x29, b"?")
    body = (v6_block("2001:db8::1", "2001:db8::2", 443, 8443) + tlv(0x01, b"h2")
            + tlv(0x02, b"example.com") + tlv(0x04, b"\0\0") + tlv(0x05, b"id-1")
            + tlv(0x20, ssl_value) + tlv(0x30, b"blue") + tlv(0xE0, b"custom"))
    data = v2(1, 0x21, body, crc=True)
    header = parse(data)
    assert isinstance(header, ProxyHeader)
    assert header.family == "IPv6" and header.source == ("2001:db8::1", 443)
    assert header.destination == ("2001:db8::2", 8443)
    tlvs = decode_tlvs(header.tlvs)
    assert tlvs["alpn"] == "h2" and tlvs["authority"] == "example.com"
    assert tlvs["uniqueId"] == b"id-1" and tlvs["netns"] == "blue"
    assert tlvs["ssl"] == {
        "client": 7, "verify": 0, "ssl": True, "certConnection": True, "certSession": True,
        "version": "TLSv1.3", "cn": "client.example", "cipher": "TLS_AES_256_GCM_SHA384",
        "sigAlg": "RSA-SHA256", "keyAlg": "RSA2048", "raw": [(0x29, b"?")],
    }
    assert (0xE0, b"custom") in tlvs["raw"] and (0x04, b"\0\0") in tlvs["raw"]


def test_v2_unix_and_unspec_and_dgram() -> None:
    block = b"/run/a.sock".ljust(108, b"\0") + b"/run/b.sock".ljust(108, b"\0")
    header = parse(v2(1, 0x31, block))
    assert isinstance(header, ProxyHeader)
    assert header.family == "unix" and header.source == ("/run/a.sock", None)
    assert header.destination == ("/run/b.sock", None)
    unspec = parse(v2(1, 0x00, b""))
    assert isinstance(unspec, ProxyHeader) and unspec.family is None and unspec.source is None
    dgram = parse(v2(1, 0x12, v4_block("1.2.3.4", "5.6.7.8", 1, 2)))
    assert isinstance(dgram, ProxyHeader) and dgram.transport == "dgram"


# --- the parser: every truncation point, and never a byte too far -------------------------

RECORDED = [HAPROXY_V2_TLVS, HAPROXY_V2, HAPROXY_LOCAL, NGINX_TCP4, NGINX_TCP6, V1_UNKNOWN,
            v2(0, 0x00, b"", crc=True)]


@pytest.mark.parametrize("header", RECORDED)
def test_every_truncation_needs_more(header: bytes) -> None:
    for cut in range(len(header)):
        result = parse(header[:cut])
        assert isinstance(result, Need), (cut, result)
        assert result.at_most >= 1
        if header[:1] == b"\r" and cut >= 16:
            assert result.at_most == len(header) - cut  # v2: the exact rest
    assert isinstance(parse(header), ProxyHeader)


def consume(stream: bytes, sizes: list[int]) -> tuple[ProxyHeader, int]:
    """What the server's reader does: peek at what arrived, take only header bytes.

    ``sizes`` are the sizes of the packets the bytes arrive in.
    """
    arrived = 0
    taken = b""
    packets = iter(sizes)
    while True:
        need = parse(taken)
        assert isinstance(need, Need)
        if arrived == len(taken):
            arrived = min(len(stream), arrived + next(packets, len(stream)))
        ahead = stream[len(taken):arrived][:need.at_most]
        result = parse(taken + ahead)
        if isinstance(result, ProxyHeader):
            assert result.length - len(taken) <= len(ahead)
            return result, result.length
        taken += ahead


@pytest.mark.parametrize("header", RECORDED)
def test_the_reader_never_takes_a_payload_byte(header: bytes) -> None:
    for sizes in ([1] * len(header), [2] * len(header), [5, 7, 100], [len(header) + 5]):
        _result, taken = consume(header + b"PAYLOAD", sizes)
        assert taken == len(header)


# --- the parser: what it refuses ---------------------------------------------------------

BAD = {
    "not a header": b"GET / HTTP/1.1\r\n",
    "wrong signature": b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x00",
    "v1 lowercase": b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "v1 no CRLF in 107": b"PROXY TCP4 " + b"1" * 96,
    "v1 lone LF": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    "v1 lone CR": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\r\n",
    "v1 double space": b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
    "v1 missing port": b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    "v1 TCP5": b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
    "v1 v6 in TCP4": b"PROXY TCP4 ::1 ::1 1 2\r\n",
    "v1 v4 in TCP6": b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
    "v1 bad octet": b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
    "v1 port too big": b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    "v1 negative port": b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
    "v1 scoped v6": b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "v1 not ascii": "PROXY TCP4 1.2.3.4 5.6.7.8 1 ٢\r\n".encode(),
    "v2 version 1": SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),
    "v2 version 3": SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12),
    "v2 command 2": SIGNATURE + b"\x22\x11\x00\x0c" + bytes(12),
    "v2 family 4": SIGNATURE + b"\x21\x41\x00\x0c" + bytes(12),
    "v2 transport 3": SIGNATURE + b"\x21\x13\x00\x0c" + bytes(12),
    "v2 short block": SIGNATURE + b"\x21\x11\x00\x0b" + bytes(11),
    "v2 short v6 block": SIGNATURE + b"\x21\x21\x00\x0c" + bytes(12),
    "v2 cut TLV": v2(1, 0x11, v4_block("1.2.3.4", "5.6.7.8", 1, 2) + b"\x01\x00\x05ab"),
    "v2 TLV no length": v2(1, 0x11, v4_block("1.2.3.4", "5.6.7.8", 1, 2) + b"\x01\x00"),
    "v2 bad CRC": v2(1, 0x11, v4_block("1.2.3.4", "5.6.7.8", 1, 2) + tlv(3, b"\0\0\0\0")),
    "v2 CRC of 3 bytes": v2(1, 0x11, v4_block("1.2.3.4", "5.6.7.8", 1, 2) + tlv(3, b"\0\0\0")),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_headers_are_refused(name: str) -> None:
    with pytest.raises(ProxyProtocolError) as info:
        parse(BAD[name])
    assert info.value.code == "ERR_GNET_PROXY_PROTOCOL"


def test_versions_can_be_restricted() -> None:
    with pytest.raises(ProxyProtocolError, match="version 2 is not accepted"):
        parse(HAPROXY_V2, versions=(1,))
    with pytest.raises(ProxyProtocolError, match="version 1 is not accepted"):
        parse(NGINX_TCP4, versions=(2,))
    assert isinstance(parse(NGINX_TCP4, versions=(1,)), ProxyHeader)


def test_a_cut_header_is_refused_as_soon_as_it_is_wrong() -> None:
    # The first wrong byte decides; nothing waits for more.
    for bad in (b"X", b"PROXX", b"\r\n\r\n\x01", SIGNATURE + b"\x10"):
        with pytest.raises(ProxyProtocolError):
            parse(bad)


# --- the parser: random input ---------------------------------------------------------------


@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    try:
        result = parse(data)
    except ProxyProtocolError:
        return
    if isinstance(result, ProxyHeader):
        assert 0 < result.length <= len(data)
    else:
        assert result.at_most >= 1


@given(st.sampled_from(RECORDED), st.binary(min_size=1, max_size=40), st.integers(0, 100))
def test_random_garbage_inside_a_header(header: bytes, junk: bytes, at: int) -> None:
    at = at % len(header)
    data = header[:at] + junk + header[at + len(junk):]
    try:
        result = parse(data)
    except ProxyProtocolError:
        return
    assert isinstance(result, (ProxyHeader, Need))


addresses4 = st.ip_addresses(v=4).map(str)
addresses6 = st.ip_addresses(v=6).map(lambda a: str(a))
ports = st.integers(0, 65535)
tlv_lists = st.lists(st.tuples(st.sampled_from([0x01, 0x02, 0x04, 0x05, 0x30, 0xE1, 0xF0]),
                               st.binary(max_size=20)), max_size=5)


@given(st.booleans(), addresses4, addresses4, addresses6, addresses6, ports, ports, tlv_lists,
       st.booleans())
def test_v2_round_trip(six: bool, s4: str, d4: str, s6: str, d6: str, sport: int, dport: int,
                       tlvs: list[tuple[int, bytes]], crc: bool) -> None:
    src, dst = (s6, d6) if six else (s4, d4)
    block = (v6_block if six else v4_block)(src, dst, sport, dport)
    data = v2(1, 0x21 if six else 0x11, block + b"".join(tlv(k, v) for k, v in tlvs), crc=crc)
    header = parse(data + b"tail")
    assert isinstance(header, ProxyHeader)
    assert header.length == len(data)
    assert header.source == (src, sport) and header.destination == (dst, dport)
    assert list(header.tlvs[:len(tlvs)]) == tlvs


@given(st.booleans(), addresses4, addresses4, addresses6, addresses6, ports, ports)
def test_v1_round_trip(six: bool, s4: str, d4: str, s6: str, d6: str, sport: int,
                       dport: int) -> None:
    src, dst = (s6, d6) if six else (s4, d4)
    line = f"PROXY {'TCP6' if six else 'TCP4'} {src} {dst} {sport} {dport}\r\n".encode()
    header = parse(line + b"\r\n")
    assert isinstance(header, ProxyHeader)
    assert header.length == len(line) <= V1_MAX
    assert header.source == (src, sport) and header.destination == (dst, dport)


# --- the option -------------------------------------------------------------------------------


def test_option_shapes() -> None:
    assert proxy_config(None) is None and proxy_config(False) is None
    config = proxy_config(True)
    assert config is not None
    assert config.timeout == 3.0 and config.versions == (1, 2)
    assert config.trusted.check("127.0.0.1") and config.trusted.check("127.9.9.9")
    assert config.trusted.check("::1", "ipv6") and config.trusted.check("::ffff:127.0.0.1", "ipv6")
    assert not config.trusted.check("10.0.0.1")
    config = proxy_config({"trusted": ["10.0.0.0/8", "fd00::/8", "192.0.2.7"], "timeout": 500,
                           "versions": [2]})
    assert config is not None
    assert config.trusted.check("10.1.2.3") and config.trusted.check("192.0.2.7")
    assert config.trusted.check("fd00::5", "ipv6") and not config.trusted.check("127.0.0.1")
    assert config.timeout == 0.5 and config.versions == (2,)
    block = net.BlockList()
    config = proxy_config({"trusted": block})
    assert config is not None and config.trusted is block


@pytest.mark.parametrize(("value", "error"), [
    ("yes", InvalidArgTypeError),
    ({"trusted": "127.0.0.1"}, InvalidArgTypeError),
    ({"trusted": [1]}, InvalidArgTypeError),
    ({"trusted": ["not an address"]}, InvalidArgValueError),
    ({"timeout": -1}, ValueError),
    ({"versions": [3]}, InvalidArgValueError),
    ({"versions": []}, InvalidArgValueError),
    ({"trusts": []}, InvalidArgValueError),
])
def test_option_errors(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        net.createServer({"proxyProtocol": value})


# --- servers on loopback ---------------------------------------------------------------------


class Seen:
    """A PROXY server's 'connection' sockets (their addresses, then an echo) and 'proxyError's."""

    def __init__(self, srv: net.Server) -> None:
        self.connections: list[dict[str, Any]] = []
        self.errors: list[tuple[BaseException, Any]] = []
        srv.on("connection", self.connection)
        srv.on("proxyError", lambda err, info: self.errors.append((err, info)))

    def connection(self, sock: net.Socket) -> None:
        self.connections.append({
            "remote": (sock.remoteAddress, sock.remotePort, sock.remoteFamily),
            "peer": (sock.proxyPeerAddress, sock.proxyPeerPort, sock.proxyPeerFamily),
            "header": sock.proxyHeader, "tlvs": sock.proxyTlvs, "local": sock.localAddress,
        })
        sock.on("data", sock.write)
        sock.on("end", sock.end)


def proxy_server(harness: Harness, options: Any = True, host: str = HOST,
                 **more: Any) -> tuple[net.Server, Seen, int]:
    srv = harness.server({"proxyProtocol": options, **more})
    seen = Seen(srv)
    harness.listen(srv, 0, host)
    return srv, seen, srv.address()["port"]


def send(port: int, data: bytes, per_byte: bool = False, host: str = HOST,
         then: bytes = b"", read: bool = True) -> bytes:
    """Connect with a cooperative socket, send ``data`` (one byte per packet if asked), then
    ``then``, shut down the write side and read everything back."""
    family = gsocket.AF_INET6 if ":" in host else gsocket.AF_INET
    with gsocket.socket(family, gsocket.SOCK_STREAM) as client:
        client.settimeout(WAIT_S)
        client.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        client.connect((host, port))
        if per_byte:
            for byte in data:
                client.sendall(bytes([byte]))
                gevent.sleep(0.001)
        else:
            client.sendall(data)
        client.sendall(then)
        if not read:
            return b""
        client.shutdown(gsocket.SHUT_WR)
        out = b""
        try:
            while chunk := client.recv(65536):
                out += chunk
        except ConnectionResetError:
            out += b"<reset>"
        return out


def test_v1_header_then_payload(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness)
    assert send(port, b"PROXY TCP4 203.0.113.9 198.51.100.1 40000 443\r\n", then=b"hello") \
        == b"hello"
    (conn,) = seen.connections
    assert conn["remote"] == ("203.0.113.9", 40000, "IPv4")
    assert conn["peer"][0] == "127.0.0.1" and conn["peer"][2] == "IPv4"
    assert conn["header"].destination == ("198.51.100.1", 443)
    assert conn["tlvs"] == {"raw": []}
    assert conn["local"] == "127.0.0.1"  # the real local end
    assert not seen.errors
    harness.finish()


def test_v2_header_with_tlvs(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness)
    body = (v6_block("2001:db8::7", "2001:db8::1", 5555, 443) + tlv(0x01, b"h2")
            + tlv(0x02, b"example.com") + tlv(0x05, b"abc")
            + tlv(0x20, b"\x01" + bytes(4) + tlv(0x21, b"TLSv1.3")))
    assert send(port, v2(1, 0x21, body, crc=True), then=b"x" * 10000) == b"x" * 10000
    (conn,) = seen.connections
    assert conn["remote"] == ("2001:db8::7", 5555, "IPv6")
    tlvs = conn["tlvs"]
    assert tlvs["alpn"] == "h2" and tlvs["authority"] == "example.com"
    assert tlvs["uniqueId"] == b"abc" and tlvs["ssl"]["version"] == "TLSv1.3"
    assert "crc32c" in tlvs
    harness.finish()


@pytest.mark.parametrize("header", [NGINX_TCP4, NGINX_TCP6, HAPROXY_V2_TLVS,
                                    v2(1, 0x11, v4_block("192.0.2.1", "192.0.2.2", 1, 2),
                                       crc=True)])
def test_header_one_byte_per_packet(harness: Harness, header: bytes) -> None:
    _srv, seen, port = proxy_server(harness)
    assert send(port, header, per_byte=True, then=b"after") == b"after"
    (conn,) = seen.connections
    assert conn["header"] == parse(header)
    assert conn["remote"][:2] == parse(header).source  # type: ignore[union-attr]
    assert not seen.errors
    harness.finish()


def test_unknown_keeps_the_real_addresses(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness)
    assert send(port, V1_UNKNOWN, then=b"hi") == b"hi"
    (conn,) = seen.connections
    assert conn["remote"][0] == "127.0.0.1" and conn["remote"] == conn["peer"]
    harness.finish()


def test_local_health_check_is_quiet(harness: Harness) -> None:
    srv, seen, port = proxy_server(harness)
    assert send(port, HAPROXY_LOCAL) == b""
    assert send(port, v2(0, 0x00, b"", crc=True)) == b""
    # HAProxy ends its checks with a reset: header, then RST.
    with gsocket.socket() as client:
        client.connect((HOST, port))
        client.sendall(HAPROXY_LOCAL)
        client.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_LINGER, struct.pack("ii", 1, 0))
    # and a probe that sends nothing at all
    with gsocket.socket() as client:
        client.connect((HOST, port))
        client.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_LINGER, struct.pack("ii", 1, 0))
    wait_until(lambda: srv.getConnections() == 0)
    settle()
    assert seen.connections == [] and seen.errors == []
    harness.finish()


def test_header_naming_its_own_connection_is_a_health_check(harness: Harness) -> None:
    # What HAProxy sends a `send-proxy` (v1) server to check it: a header
    # whose source and destination are the check connection's own ends.
    srv, seen, port = proxy_server(harness)
    with gsocket.socket() as client:
        client.settimeout(WAIT_S)
        client.connect((HOST, port))
        me = client.getsockname()
        client.sendall(f"PROXY TCP4 {me[0]} {HOST} {me[1]} {port}\r\n".encode())
        assert client.recv(10) == b""
    # The same source toward another destination is a relayed client.
    with gsocket.socket() as client:
        client.settimeout(WAIT_S)
        client.connect((HOST, port))
        me = client.getsockname()
        client.sendall(f"PROXY TCP4 {me[0]} {HOST} {me[1]} {port + 1}\r\nz".encode())
        client.shutdown(gsocket.SHUT_WR)
        assert client.recv(10) == b"z"
    wait_until(lambda: srv.getConnections() == 0)
    assert [c["remote"][1] for c in seen.connections] == [me[1]]
    assert seen.errors == []
    harness.finish()


@pytest.mark.parametrize(("data", "fragment"), [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a PROXY protocol header"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "lone LF"),
    (b"PROXY TCP4 " + b"9" * 120, "no CRLF within 107 bytes"),
    (SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12), "version 3"),
    (v2(1, 0x11, v4_block("1.2.3.4", "5.6.7.8", 1, 2) + tlv(3, b"\0\0\0\1")), "CRC32C"),
])
def test_malformed_header_is_dropped_with_proxy_error(harness: Harness, data: bytes,
                                                      fragment: str) -> None:
    srv, seen, port = proxy_server(harness)
    reply = send(port, data)
    assert reply in (b"", b"<reset>")
    wait_until(lambda: seen.errors)
    err, info = seen.errors[0]
    assert isinstance(err, ProxyProtocolError) and err.code == "ERR_GNET_PROXY_PROTOCOL"
    assert fragment in str(err)
    assert info["remoteAddress"] == "127.0.0.1" and info["localPort"] == port
    assert seen.connections == []
    assert srv.getConnections() == 0
    harness.finish()


def test_header_cut_short_by_close(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness)
    assert send(port, NGINX_TCP4[:20]) == b""
    wait_until(lambda: seen.errors)
    assert "closed before the end" in str(seen.errors[0][0])
    harness.finish()


def test_missing_header_times_out(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness, {"timeout": 150})
    with gsocket.socket() as client:
        client.settimeout(WAIT_S)
        client.connect((HOST, port))
        client.sendall(b"PROXY TCP4 ")  # and then nothing
        assert client.recv(10) == b""  # the server closed it
    wait_until(lambda: seen.errors)
    err, _info = seen.errors[0]
    assert isinstance(err, ProxyProtocolTimeoutError)
    assert err.code == "ERR_GNET_PROXY_PROTOCOL_TIMEOUT" and "150 ms" in str(err)
    assert seen.connections == []
    harness.finish()


def test_untrusted_peer_is_dropped_unread(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness, {"trusted": ["192.0.2.0/24"]})
    assert send(port, NGINX_TCP4, then=b"hello") in (b"", b"<reset>")
    wait_until(lambda: seen.errors)
    err, info = seen.errors[0]
    assert isinstance(err, ProxyProtocolUntrustedError)
    assert err.code == "ERR_GNET_PROXY_PROTOCOL_UNTRUSTED" and "127.0.0.1" in str(err)
    assert info["remoteAddress"] == "127.0.0.1"
    assert seen.connections == []
    harness.finish()


def test_versions_option_refuses_the_other_version(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness, {"versions": [2]})
    send(port, NGINX_TCP4)
    wait_until(lambda: seen.errors)
    assert "version 1 is not accepted" in str(seen.errors[0][0])
    assert send(port, HAPROXY_V2, then=b"ok") == b"ok"
    harness.finish()


def test_block_list_applies_to_the_advertised_client(harness: Harness) -> None:
    blocked = net.BlockList()
    blocked.addAddress("203.0.113.66")
    _srv, seen, port = proxy_server(harness, True, blockList=blocked)
    assert send(port, b"PROXY TCP4 203.0.113.66 127.0.0.1 1 2\r\n", then=b"x") \
        in (b"", b"<reset>")
    assert send(port, b"PROXY TCP4 203.0.113.67 127.0.0.1 1 2\r\n", then=b"y") == b"y"
    assert [c["remote"][0] for c in seen.connections] == ["203.0.113.67"]
    assert seen.errors == []
    harness.finish()


def test_pending_headers_count_and_are_closed_with_the_server(harness: Harness) -> None:
    srv, seen, port = proxy_server(harness, {"timeout": 0})
    clients = []
    for _ in range(3):
        client = gsocket.create_connection((HOST, port))
        client.sendall(b"PROXY TCP4 1.2")
        clients.append(client)
    wait_until(lambda: srv.getConnections() == 3)
    closed: list[bool] = []
    srv.close(lambda *_: closed.append(True))
    settle()
    assert closed == []  # they are still open
    srv.closeAllConnections()
    wait_until(lambda: closed == [True])
    for client in clients:
        client.settimeout(WAIT_S)
        assert client.recv(10) in (b"",)
        client.close()
    assert seen.connections == [] and seen.errors == []
    harness.finish()


def test_run_waits_for_a_header_still_coming(harness: Harness) -> None:
    srv, seen, port = proxy_server(harness)
    client = gsocket.create_connection((HOST, port))
    client.sendall(NGINX_TCP4[:10])
    wait_until(lambda: srv.getConnections() == 1)
    srv.close()

    def rest() -> None:
        gevent.sleep(0.1)
        client.sendall(NGINX_TCP4[10:] + b"late")
        client.shutdown(gsocket.SHUT_WR)

    sender = gevent.spawn(rest)
    assert net.run(timeout=int(WAIT_S * 1000))  # drained
    # run() waited for the header, then for the connection it became.
    assert [c["remote"][1] for c in seen.connections] == [56390]
    sender.join()
    assert client.recv(10) == b"late"
    client.close()
    harness.finish()


def test_max_connections_counts_pending_headers(harness: Harness) -> None:
    srv, seen, port = proxy_server(harness, {"timeout": 0})
    srv.maxConnections = 1
    drops: list[Any] = []
    srv.on("drop", drops.append)
    first = gsocket.create_connection((HOST, port))
    first.sendall(b"PROXY ")
    wait_until(lambda: srv.getConnections() == 1)
    assert send(port, NGINX_TCP4, then=b"x") in (b"", b"<reset>")
    wait_until(lambda: drops)
    first.sendall(NGINX_TCP4[6:] + b"done")
    first.shutdown(gsocket.SHUT_WR)
    first.settimeout(WAIT_S)
    assert first.recv(10) == b"done"
    first.close()
    assert len(seen.connections) == 1
    harness.finish()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_listener_reports_an_advertised_ipv4_client(harness: Harness) -> None:
    _srv, seen, port = proxy_server(harness, True, host="::1")
    assert send(port, NGINX_TCP4, host="::1", then=b"a") == b"a"
    (conn,) = seen.connections
    assert conn["remote"] == ("127.0.0.1", 56390, "IPv4")
    assert conn["peer"][0] == "::1" and conn["peer"][2] == "IPv6"
    harness.finish()


def test_unix_socket_listener(harness: Harness) -> None:
    srv = harness.server({"proxyProtocol": True})
    seen = Seen(srv)
    path = harness.path()
    harness.listen(srv, path)
    with gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) as client:
        client.settimeout(WAIT_S)
        client.connect(path)
        client.sendall(HAPROXY_V2 + b"unix")
        client.shutdown(gsocket.SHUT_WR)
        assert client.recv(10) == b"unix"
    (conn,) = seen.connections
    assert conn["remote"] == ("127.0.0.1", 46550, "IPv4")
    assert conn["peer"] == (None, None, None)
    harness.finish()


def test_plain_sockets_have_no_proxy_fields(harness: Harness) -> None:
    srv = harness.listening_server(lambda sock: sock.end())
    client = harness.client(srv.address()["port"])
    wait_until(lambda: harness.accepted)
    sock = harness.accepted[0]
    for s in (sock, client):
        assert s.proxyPeerAddress is None and s.proxy_peer_port is None
        assert s.proxyPeerFamily is None and s.proxyHeader is None and s.proxy_tlvs is None
    assert sock.remoteAddress == "127.0.0.1" and sock.remoteFamily == "IPv4"


def test_tls_server_reads_the_header_before_the_handshake(harness: Harness) -> None:
    import trustme
    from gevent import ssl as gssl

    from gnet import tls

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    seen: list[tuple[Any, ...]] = []

    def secure(sock: Any) -> None:
        seen.append((sock.remoteAddress, sock.remotePort, sock.proxyPeerAddress))
        sock.on("data", sock.write)

    srv = harness.add(tls.createServer({
        "key": leaf.private_key_pem.bytes(), "cert": leaf.cert_chain_pems[0].bytes(),
        "proxyProtocol": True}, secure))
    harness.listen(srv, 0, HOST)
    context = gssl.SSLContext(gssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca.cert_pem.bytes().decode())
    raw = gsocket.create_connection((HOST, srv.address()["port"]))
    raw.sendall(b"PROXY TCP4 198.51.100.20 127.0.0.1 4242 443\r\n")  # before the ClientHello
    with context.wrap_socket(raw, server_hostname="localhost") as client:
        client.settimeout(WAIT_S)
        client.sendall(b"over tls")
        assert client.recv(100) == b"over tls"
    assert seen == [("198.51.100.20", 4242, "127.0.0.1")]
    harness.finish()
