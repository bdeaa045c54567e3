"""Tests for gnet.addresses: isIP*, validate_port, families."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

import pytest
from hypothesis import example, given, strategies as st

from gnet.addresses import (
    address_info,
    family_name,
    isIP,
    isIPv4,
    isIPv6,
    validate_port,
)
from gnet.errors import InvalidArgTypeError, InvalidArgValueError, SocketBadPortError

# --- isIP --------------------------------------------------------------------------

IP_CASES = [
    # IPv4
    ('127.0.0.1', 4),
    ('0.0.0.0', 4),
    ('255.255.255.255', 4),
    ('1.2.3.4', 4),
    ('256.0.0.1', 0),
    ('1.2.3', 0),
    ('1.2.3.4.5', 0),
    ('1..2.3', 0),
    ('x127.0.0.1', 0),
    ('127.0.0.1x', 0),
    (' 127.0.0.1', 0),
    ('127.0.0.1 ', 0),
    ('127.0.0.1\n', 0),
    ('127.000.000.001', 0),
    ('127.0.0.01', 0),
    ('01.2.3.4', 0),
    ('127.0.0.1/24', 0),
    ('0x7f.0.0.1', 0),
    ('+1.2.3.4', 0),
    ('\u0661.2.3.4', 0),  # ARABIC-INDIC DIGIT ONE: \d would match it
    ('example.com', 0),
    ('localhost', 0),
    ('0', 0),
    ('', 0),
    # IPv6, full and compressed
    ('::1', 6),
    ('::', 6),
    ('2001:db8::', 6),
    ('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6),
    ('0000:0000:0000:0000:0000:0000:0000:0000', 6),
    ('1050:0:0:0:5:600:300c:326b', 6),
    ('2001:252:0:1::2008:6', 6),
    ('2001:dead:beef:1::2008:6', 6),
    ('2001::', 6),
    ('2001:dead::', 6),
    ('2001:dead:beef::', 6),
    ('2001:dead:beef:1::', 6),
    ('FE80::ABCD', 6),
    ('1:2:3:4:5:6:7::', 6),
    ('::2:3:4:5:6:7:8', 6),
    ('1::8', 6),
    ('::2001:252:1:2008:6', 6),
    # embedded IPv4 tails
    ('::ffff:127.0.0.1', 6),
    ('::127.0.0.1', 6),
    ('::2001:252:1:1.1.1.1', 6),
    ('::2001:252:1:255.255.255.255', 6),
    ('1:2:3:4:5:6:1.2.3.4', 6),
    ('1:2:3:4:5::1.2.3.4', 6),
    ('1::2:3:4:5:1.2.3.4', 6),
    ('::2001:252:1:255.255.255.255.76', 0),
    ('::ffff:127.0.0.01', 0),
    ('::ffff:256.0.0.1', 0),
    ('1:2:3:4:5:6::1.2.3.4', 0),
    ('1:2:3:4:5:6:7:1.2.3.4', 0),
    ('1:2:3:4:5:1.2.3.4', 0),
    ('1.2.3.4::', 0),
    ('::1.2.3.4:1', 0),
    # zones
    ('fe80::2008%eth0', 6),
    ('fe80::2008%eth0.0', 6),
    ('fe80::1%1', 6),
    ('::1%lo-0:a', 6),
    ('fe80::2008%eth0@1', 0),
    ('fe80::2008%', 0),
    ('fe80::2008%eth0%1', 0),
    ('fe80::2008%eth 0', 0),
    ('127.0.0.1%eth0', 0),
    # malformed IPv6
    ('0000:0000:0000:0000:0000:0000:0000:0000::0000', 0),
    ('0000:0000:0000:0000:0000:0000:12345:0000', 0),
    ('1:2:3:4:5:6:7:8:9', 0),
    ('1:2:3:4:5:6:7', 0),
    ('1:2:3:4:5:6:7:8::', 0),
    ('1:2:3:4::5:6:7:8', 0),
    (':2001:252:0:1::2008:6:', 0),
    (':2001:252:0:1::2008:6', 0),
    ('2001:252:0:1::2008:6:', 0),
    ('2001:252::2008::6', 0),
    (':::', 0),
    (':1::', 0),
    ('1:', 0),
    (':', 0),
    ('::anything', 0),
    ('::g', 0),
    ('[::1]', 0),
    ('::1\n', 0),
    (' ::1', 0),
]


@pytest.mark.parametrize(('value', 'version'), IP_CASES)
def test_isIP_classifies_addresses(value: str, version: int) -> None:
    assert isIP(value) == version
    assert isIPv4(value) is (version == 4)
    assert isIPv6(value) is (version == 6)


@pytest.mark.parametrize(
    'value',
    [None, 127, 4, 6, True, False, 1.5, {}, [], ('127.0.0.1',), b'127.0.0.1', b'::1',
     ipaddress.ip_address('127.0.0.1'), object()],
)
def test_isIP_of_a_non_string_is_0(value: Any) -> None:
    assert isIP(value) == 0
    assert isIPv4(value) is False
    assert isIPv6(value) is False


def test_isIP_str_subclass() -> None:
    class Text(str):
        pass

    assert isIP(Text('::1')) == 6
    assert isIP(Text('10.0.0.1')) == 4


def _stdlib_ip(value: str, version: int) -> bool:
    """Python's own parser, which agrees with Node's without zones."""
    parse = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    try:
        parse(value)
    except ValueError:
        return False
    return True


_octets = st.one_of(st.integers(0, 300).map(str), st.text('0123456789', max_size=4))
_v4ish = st.lists(_octets, min_size=0, max_size=6).map('.'.join)
_v4 = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2 ** 32 - 1))
_hexes = st.one_of(st.text('0123456789abcdefABCDEF', min_size=0, max_size=5), _v4, _v4ish)
_v6ish = st.lists(_hexes, min_size=1, max_size=10).map(':'.join)


@given(st.one_of(_v4ish, _v4, st.text('0123456789.', max_size=18)))
@example('1.2.3.04')
def test_isIPv4_agrees_with_ipaddress(value: str) -> None:
    assert isIPv4(value) is _stdlib_ip(value, 4)


@given(st.one_of(_v6ish, st.text('0123456789abcdef:.', max_size=45)))
@example('1:2:3:4:5:6:7::')
@example('::1.2.3.4')
def test_isIPv6_agrees_with_ipaddress(value: str) -> None:
    assert isIPv6(value) is _stdlib_ip(value, 6)


@given(st.integers(0, 2 ** 128 - 1), st.text(
    st.characters(codec='ascii', exclude_characters='%'), min_size=0, max_size=8))
def test_isIPv6_zone_rule(number: int, zone: str) -> None:
    address = ipaddress.IPv6Address(number)
    zone_ok = zone != '' and all(c.isascii() and (c.isalnum() or c in '.:-') for c in zone)
    for text in (address.compressed, address.exploded):
        assert isIPv6(text)
        assert isIPv6(f'{text}%{zone}') is zone_ok
    if address.ipv4_mapped is not None:
        assert isIPv6(f'::ffff:{address.ipv4_mapped}')


@given(st.integers(0, 2 ** 32 - 1))
def test_every_ipv4_address_is_4(number: int) -> None:
    assert isIP(str(ipaddress.IPv4Address(number))) == 4


# --- validate_port --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        (0, 0), (1, 1), (80, 80), (65535, 65535),
        (80.0, 80), (-0.0, 0), (65535.0, 65535),
        ('0', 0), ('80', 80), ('65535', 65535), (' 80 ', 80), ('\t80\n', 80), ('\ufeff80', 80),
        ('0x50', 80), ('0X50', 80), ('0xffff', 65535), (' 0x1F ', 31),
        ('0o120', 80), ('0b1010000', 80),
        ('80.0', 80), ('8e1', 80), ('+80', 80), ('-0', 0), ('080', 80), ('80.', 80),
    ],
)
def test_port_spellings_node_accepts(value: Any, expected: int) -> None:
    result = validate_port(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    'value',
    [
        -1, 65536, 2 ** 32 - 1, 2 ** 64, 123.456, 0.5, float('nan'), float('inf'), float('-inf'),
        '', ' ', '\t\n', '0x', '-0x1', '+0x1', '0x10000', '-1', '65536', '1.5', 'abc', '80abc',
        'Infinity', '-Infinity', 'NaN', 'nan', 'inf', '1_000', '0x_1', '٨٠', '0o8', '1e', '.',
        '1e400',
    ],
)
def test_bad_port_values_are_refused(value: Any) -> None:
    with pytest.raises(SocketBadPortError) as info:
        validate_port(value)
    assert info.value.code == 'ERR_SOCKET_BAD_PORT'
    assert str(info.value).startswith('port should be >= 0 and < 65536. Received ')


@pytest.mark.parametrize('value', [True, False, None, [], {}, [80], b'80', bytearray(b'80'),
                                   1j, object()])
def test_port_of_another_type_is_refused(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError) as info:
        validate_port(value, 'options.port')
    assert str(info.value).startswith('The "options.port" property must be of type int or str.')


@pytest.mark.parametrize('value', [0, 0.0, '0', '0x0', ' 0 '])
def test_port_zero_when_not_allowed(value: Any) -> None:
    with pytest.raises(SocketBadPortError, match='should be > 0 and < 65536'):
        validate_port(value, allow_zero=False)
    assert validate_port(1, allow_zero=False) == 1


@given(st.integers(0, 65535))
def test_every_port_in_every_spelling(port: int) -> None:
    for spelling in (port, float(port), str(port), f' {port}\n', hex(port), f'{port}.0'):
        assert validate_port(spelling) == port


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
def test_every_port_out_of_range(port: int) -> None:
    for spelling in (port, str(port), float(port)):
        with pytest.raises(SocketBadPortError):
            validate_port(spelling)


# --- families ---------------------------------------------------------------------------


def test_family_name() -> None:
    assert family_name(socket.AF_INET) == 'IPv4'
    assert family_name(socket.AF_INET6) == 'IPv6'
    with pytest.raises(InvalidArgValueError):
        family_name(socket.AF_UNIX)


# --- address_info -----------------------------------------------------------------------


def test_address_info_shapes() -> None:
    assert address_info(('127.0.0.1', 80), socket.AF_INET) == {
        'address': '127.0.0.1', 'family': 'IPv4', 'port': 80}
    info = address_info(('fe80::1', 443, 5, 2), socket.AF_INET6)
    assert info == {'address': 'fe80::1', 'family': 'IPv6', 'port': 443}
    assert list(info) == ['address', 'family', 'port']
    assert address_info('/tmp/x.sock', socket.AF_UNIX) == '/tmp/x.sock'
    assert address_info(b'\0abstract', socket.AF_UNIX) == '\0abstract'
    assert address_info('', socket.AF_UNIX) == ''


def test_address_info_of_real_sockets(tmp_sock_path: str) -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        assert address_info(sock.getsockname(), sock.family) == {
            'address': '127.0.0.1', 'family': 'IPv4', 'port': port}
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(tmp_sock_path)
        assert address_info(sock.getsockname(), sock.family) == tmp_sock_path
    assert os.path.exists(tmp_sock_path)


@pytest.mark.skipif(not socket.has_ipv6, reason='no IPv6 in this Python')
def test_address_info_of_a_real_ipv6_socket() -> None:
    sock = socket.socket(socket.AF_INET6)
    try:
        try:
            sock.bind(('::1', 0))
        except OSError:
            pytest.skip('no IPv6 loopback here')
        port = sock.getsockname()[1]
        assert address_info(sock.getsockname(), sock.family) == {
            'address': '::1', 'family': 'IPv6', 'port': port}
    finally:
        sock.close()
