"""Tests for gnet.encodings: Node's encoding names, Buffer.from and StringDecoder."""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, strategies as st

from gnet.encodings import Decoder, encode, normalize_encoding
from gnet.errors import UnknownEncodingError

ENCODINGS = ['utf8', 'ascii', 'latin1', 'hex', 'base64', 'base64url', 'utf16le']

# --- normalize_encoding -------------------------------------------------------------


@pytest.mark.parametrize(
    ('name', 'canonical'),
    [
        (None, 'utf8'), ('', 'utf8'),
        ('utf8', 'utf8'), ('utf-8', 'utf8'), ('UTF8', 'utf8'), ('UTF-8', 'utf8'), ('Utf-8', 'utf8'),
        ('ascii', 'ascii'), ('ASCII', 'ascii'),
        ('latin1', 'latin1'), ('LATIN1', 'latin1'), ('binary', 'latin1'), ('BINARY', 'latin1'),
        ('hex', 'hex'), ('HEX', 'hex'),
        ('base64', 'base64'), ('BASE64', 'base64'),
        ('base64url', 'base64url'), ('Base64URL', 'base64url'),
        ('utf16le', 'utf16le'), ('utf-16le', 'utf16le'), ('UTF-16LE', 'utf16le'),
        ('ucs2', 'utf16le'), ('ucs-2', 'utf16le'), ('UCS2', 'utf16le'), ('UCS-2', 'utf16le'),
    ],
)
def test_normalize_encoding(name: str | None, canonical: str) -> None:
    assert normalize_encoding(name) == canonical


@pytest.mark.parametrize(
    'name',
    ['utf9', 'utf 8', 'utf_8', 'latin-1', 'iso-8859-1', 'utf16', 'utf-16', 'utf-16be',
     'base-64', 'b64', ' utf8', 'utf8 ', 'buffer', 'ucs', 1, b'utf8', True, ['utf8']],
)
def test_normalize_encoding_unknown(name: Any) -> None:
    with pytest.raises(UnknownEncodingError, match=f'^{re.escape(f"Unknown encoding: {name}")}$'):
        normalize_encoding(name)


# --- encode (Buffer.from(str, enc)) ----------------------------------------------------------

ENCODE_CASES: list[tuple[str, str, bytes]] = [
    # utf8: lone surrogates become U+FFFD, a surrogate pair is one character
    ('utf8', '', b''),
    ('utf8', 'abc', b'abc'),
    ('utf8', 'é€😀', 'é€😀'.encode()),
    ('utf8', '\ud800', b'\xef\xbf\xbd'),
    ('utf8', '\udc00', b'\xef\xbf\xbd'),
    ('utf8', 'a\ud800b', b'a\xef\xbf\xbdb'),
    ('utf8', '\ud83d\ude00', b'\xf0\x9f\x98\x80'),
    ('utf8', '\ude00\ud83d', b'\xef\xbf\xbd\xef\xbf\xbd'),
    # latin1 and ascii: the low byte of each UTF-16 code unit
    ('latin1', 'abc\xe9\xff', b'abc\xe9\xff'),
    ('latin1', '\u20ac', b'\xac'),
    ('latin1', '\u0100', b'\x00'),
    ('latin1', '😀', b'\x3d\x00'),  # U+D83D U+DE00
    ('latin1', 'a😀b', b'a\x3d\x00b'),
    ('binary', '\xe9', b'\xe9'),
    ('ascii', 'abc', b'abc'),
    ('ascii', '\xe9', b'\xe9'),
    ('ascii', '\u20ac', b'\xac'),
    # hex: pairs up to the first bad pair; an odd last digit is dropped
    ('hex', '', b''),
    ('hex', 'abcd', b'\xab\xcd'),
    ('hex', 'ABCD', b'\xab\xcd'),
    ('hex', '00ff', b'\x00\xff'),
    ('hex', 'abc', b'\xab'),
    ('hex', 'a', b''),
    ('hex', 'abz1', b'\xab'),
    ('hex', 'zz', b''),
    ('hex', 'ab cd', b'\xab'),
    ('hex', 'ab\ncd', b'\xab'),
    ('hex', '0g12', b''),
    ('hex', '\u01411', b'\xa1'),  # Node reads the low byte of U+0141: 'A'
    ('hex', '\u0661\u0662', b'\xab'),  # low bytes 'a' and 'b'
    ('hex', '\u00e1b', b''),
    # base64 / base64url: lenient
    ('base64', '', b''),
    ('base64', 'QUJD', b'ABC'),
    ('base64', 'QUJDRA==', b'ABCD'),
    ('base64', 'QUJDRA=', b'ABCD'),
    ('base64', 'QUJDRA', b'ABCD'),
    ('base64', 'QUJDREU=', b'ABCDE'),
    ('base64', 'QUJDREU', b'ABCDE'),
    ('base64', 'QUJDR', b'ABC'),
    ('base64', 'Q', b''),
    ('base64', 'QQ', b'A'),
    ('base64', 'QR==', b'A'),
    ('base64', 'QU JD\nRA==\n', b'ABCD'),
    ('base64', ' Q!U@J#D$', b'ABC'),
    ('base64', 'QQ==QUJD', b'A'),
    ('base64', 'QUJD=QUJD', b'ABC'),
    ('base64', '=QUJD', b''),
    ('base64', '====', b''),
    ('base64', '!!!!', b''),
    ('base64', '+/+/', b'\xfb\xff\xbf'),
    ('base64', '-_-_', b'\xfb\xff\xbf'),
    ('base64', '-/+_', b'\xfb\xff\xbf'),
    ('base64', 'QUJD\u00e9', b'ABC'),
    ('base64', '\u0151\u0155\u014a\u0144', b'ABC'),  # low bytes 'QUJD'
    ('base64url', 'QUJD', b'ABC'),
    ('base64url', 'QUJDRA', b'ABCD'),
    ('base64url', 'QUJDRA==', b'ABCD'),
    ('base64url', '-_-_', b'\xfb\xff\xbf'),
    ('base64url', '+/+/', b'\xfb\xff\xbf'),
    ('base64url', 'Q U\tJ D', b'ABC'),
    # utf16le keeps lone surrogates
    ('utf16le', 'a', b'a\x00'),
    ('utf16le', '😀', b'\x3d\xd8\x00\xde'),
    ('utf16le', '\ud800', b'\x00\xd8'),
    ('ucs2', 'ab', b'a\x00b\x00'),
]


@pytest.mark.parametrize(('encoding', 'text', 'data'), ENCODE_CASES)
def test_encode(encoding: str, text: str, data: bytes) -> None:
    assert encode(text, encoding) == data


def test_encode_default_and_aliases() -> None:
    assert encode('é') == b'\xc3\xa9'
    assert encode('é', None) == b'\xc3\xa9'
    assert encode('é', 'UTF-8') == b'\xc3\xa9'
    assert encode('é', '') == b'\xc3\xa9'
    with pytest.raises(UnknownEncodingError):
        encode('x', 'utf9')


@given(st.binary())
def test_base64_encode_reads_every_spelling(data: bytes) -> None:
    standard = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    spaced = '\n'.join(standard[i:i + 5] for i in range(0, len(standard), 5))
    for text in (standard, url, standard.rstrip('='), url.rstrip('='), spaced):
        assert encode(text, 'base64') == data
        assert encode(text, 'base64url') == data


@given(st.binary())
def test_hex_encode_reads_both_cases(data: bytes) -> None:
    assert encode(data.hex(), 'hex') == data
    assert encode(data.hex().upper(), 'hex') == data
    assert encode(data.hex() + 'x' + data.hex(), 'hex') == data


# --- Decoder: fixed cases ------------------------------------------------------------------

# Invalid UTF-8, each decoded whole and split at every point (Node's string
# decoder tests): one U+FFFD per maximal invalid sequence.
UTF8_CASES = [
    ('24', '$'),
    ('c2a2', '¢'),
    ('e282ac', '€'),
    ('f0a4ada2', '𤭢'),
    ('cba464e18ba430e38185', '\u02e4\u0064\u12e4\u0030\u3045'),
    ('c9b5a941', '\u0275\ufffdA'),
    ('e2', '\ufffd'),
    ('e241', '\ufffdA'),
    ('ccccb8', '\ufffd\u0338'),
    ('f0b841', '\ufffdA'),
    ('f1ccb8', '\ufffd\u0338'),
    ('f0fb00', '\ufffd\ufffd\0'),
    ('cce2b8b8', '\ufffd\u2e38'),
    ('e2b8ccb8', '\ufffd\u0338'),
    ('e2fbcc01', '\ufffd\ufffd\ufffd\u0001'),
    ('ccb8cdb9', '\u0338\u0379'),
    ('eda0b5edb08d', '\ufffd' * 6),  # CESU-8 of U+1D40D
    ('c0af', '\ufffd\ufffd'),  # overlong '/'
    ('f4908080', '\ufffd' * 4),  # above U+10FFFF
    ('ff', '\ufffd'),
    ('efbfbd', '\ufffd'),
]


def _every_split(data: bytes) -> list[list[bytes]]:
    splits = [[data]]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            splits.append([data[:i], data[i:j], data[j:]])
    return splits


def _run(decoder: Decoder, chunks: Sequence[bytes | bytearray | memoryview]) -> str:
    return ''.join(decoder.write(c) for c in chunks) + decoder.end()


@pytest.mark.parametrize(('hexdata', 'text'), UTF8_CASES)
def test_utf8_decoding_every_split(hexdata: str, text: str) -> None:
    data = bytes.fromhex(hexdata)
    for chunks in _every_split(data):
        assert _run(Decoder('utf8'), chunks) == text, chunks


@pytest.mark.parametrize(
    ('encoding', 'steps'),
    [
        # (chunk to write, or None for end(); what comes out)
        ('utf8', [(b'\xe1\x8b', ''), (None, '\ufffd')]),
        ('utf8', [(b'\xef\xbf\xbd\xe2', '\ufffd'), (None, '\ufffd')]),
        ('utf8', [(b'\xf1', ''), (b'\x41\xf2', '\ufffdA'), (None, '\ufffd')]),
        ('utf8', [(b'\xe3', ''), (b'\x81', ''), (b'\x82', 'あ'), (None, '')]),
        ('utf16le', [(b'\x3d\xd8', ''), (b'\x4d', ''), (b'\xdc', '\U0001f44d'), (None, '')]),
        ('utf16le', [(b'\x3d\xd8', ''), (None, '\ud83d')]),
        ('utf16le', [(b'\x3d\xd8', ''), (b'\x4d', ''), (None, '\ud83d')]),
        ('utf16le', [(b'a', ''), (None, '')]),
        ('utf16le', [(b'a\x00b', 'a'), (b'\x00', 'b'), (None, '')]),
        ('utf16le', [(b'\x3d\xd8A\x00', '\ud83dA'), (None, '')]),
        ('utf16le', [(b'\x00\xdc', '\udc00'), (None, '')]),
        ('base64', [(b'a', ''), (None, 'YQ==')]),
        ('base64', [(b'ab', ''), (None, 'YWI=')]),
        ('base64', [(b'ab', ''), (b'c', 'YWJj'), (b'd', ''), (None, 'ZA==')]),
        ('base64', [(b'abcd', 'YWJj'), (b'ef', 'ZGVm'), (None, '')]),
        ('base64url', [(b'\xfb\xff', ''), (b'\xbfa', '-_-_'), (None, 'YQ')]),
        ('base64url', [(b'ab', ''), (None, 'YWI')]),
        ('hex', [(b'\x00\xff', '00ff'), (b'', ''), (None, '')]),
        ('latin1', [(b'\xe9', 'é'), (None, '')]),
        ('ascii', [(b'\xe9a\x80\xff', 'ia\x00\x7f'), (None, '')]),
    ],
)
def test_decoder_steps(encoding: str, steps: list[tuple[bytes | None, str]]) -> None:
    decoder = Decoder(encoding)
    for chunk, expected in steps:
        assert (decoder.end() if chunk is None else decoder.write(chunk)) == expected


def test_decoder_end_takes_a_last_chunk() -> None:
    decoder = Decoder('utf8')
    assert decoder.write(b'\xe1') == ''
    assert decoder.end(b'\x41') == '\ufffdA'
    assert Decoder('base64').end(b'ab') == 'YWI='
    assert Decoder('utf8').end(b'') == ''


@pytest.mark.parametrize('encoding', ENCODINGS)
def test_decoder_is_reusable_after_end(encoding: str) -> None:
    data = encode('\u00e9\u00e9', 'latin1') if encoding in ('latin1', 'ascii') else 'é😀'.encode()
    decoder = Decoder(encoding)
    first = _run(decoder, [data[:1], data[1:]])
    decoder.write(data[:1])
    decoder.end()
    assert _run(decoder, [data[:1], data[1:]]) == first


@pytest.mark.parametrize('encoding', ENCODINGS)
def test_decoder_takes_any_bytes_like(encoding: str) -> None:
    data = b'\xc3\xa9abc'
    expected = _run(Decoder(encoding), [data])
    for kind in (bytes, bytearray, memoryview):
        assert _run(Decoder(encoding), [kind(data[:1]), kind(data[1:])]) == expected


def test_decoder_attributes() -> None:
    assert Decoder().encoding == 'utf8'
    assert Decoder('UTF-8').encoding == 'utf8'
    assert Decoder('binary').encoding == 'latin1'
    assert Decoder('ucs-2').encoding == 'utf16le'
    assert repr(Decoder('hex')) == '<Decoder hex>'
    assert not hasattr(Decoder(), '__dict__')
    with pytest.raises(UnknownEncodingError):
        Decoder('utf9')


def test_utf8_text_across_two_writes() -> None:
    first = encode("L'État, c'est ")
    decoder = Decoder('utf8')
    assert decoder.write(first) + decoder.write(encode('moi')) + decoder.end() == (
        "L'État, c'est moi")


def test_large_string_split_at_every_chunk_size() -> None:
    data = encode('あ' * 40960)
    assert len(data) == 122880
    for size in (1, 2, 4, 5, 7, 1000, 65536):
        decoder = Decoder('UTF-8')
        parts = [decoder.write(data[i:i + size]) for i in range(0, len(data), size)]
        parts.append(decoder.end())
        assert sum(len(p) for p in parts) == 40960
        assert ''.join(parts) == 'あ' * 40960


def test_all_256_bytes_as_latin1() -> None:
    data = bytes(range(256))
    text = Decoder('binary').write(data)
    assert len(text) == 256
    assert [ord(c) for c in text] == list(range(256))
    assert encode(text, 'binary') == data
    assert encode(text[::-1], 'latin1') == data[::-1]


def test_ascii_gives_one_character_per_byte() -> None:
    data = bytes(range(256)) * 3
    text = Decoder('ascii').write(data)
    assert len(text) == len(data)
    assert text == ''.join(chr(b & 0x7F) for b in data)


# --- Decoder: any split of any input ------------------------------------------------------


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


_cuts = st.lists(st.integers(0, 400), max_size=12)
_TEXT_FOR = {
    'utf8': st.text(),
    'utf16le': st.text(),
    'latin1': st.text(st.characters(max_codepoint=0xFF)),
    'ascii': st.text(st.characters(max_codepoint=0x7F)),
}


@pytest.mark.parametrize('encoding', ['utf8', 'utf16le', 'latin1', 'ascii'])
@given(data=st.data(), cuts=_cuts)
def test_any_split_of_encoded_text_decodes_to_the_text(
        encoding: str, data: st.DataObject, cuts: list[int]) -> None:
    text = data.draw(_TEXT_FOR[encoding])
    assert _run(Decoder(encoding), _split(encode(text, encoding), cuts)) == text


def _one_shot(encoding: str, data: bytes) -> str:
    if encoding == 'utf8':
        return data.decode('utf-8', 'replace')
    if encoding == 'utf16le':
        return data[:len(data) & ~1].decode('utf-16-le', 'surrogatepass')
    if encoding == 'latin1':
        return data.decode('latin-1')
    if encoding == 'ascii':
        return ''.join(chr(b & 0x7F) for b in data)
    if encoding == 'hex':
        return data.hex()
    if encoding == 'base64':
        return base64.b64encode(data).decode()
    return base64.urlsafe_b64encode(data).decode().rstrip('=')


@pytest.mark.parametrize('encoding', ENCODINGS)
@given(payload=st.binary(max_size=300), cuts=_cuts)
def test_any_split_of_any_bytes_decodes_like_one_shot(
        encoding: str, payload: bytes, cuts: list[int]) -> None:
    assert _run(Decoder(encoding), _split(payload, cuts)) == _one_shot(encoding, payload)


@pytest.mark.parametrize('encoding', ['hex', 'base64', 'base64url', 'latin1'])
@given(payload=st.binary(max_size=300), cuts=_cuts)
def test_decoded_text_encodes_back_to_the_bytes(
        encoding: str, payload: bytes, cuts: list[int]) -> None:
    assert encode(_run(Decoder(encoding), _split(payload, cuts)), encoding) == payload
