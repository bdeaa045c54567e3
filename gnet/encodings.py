"""Node's text encodings: Buffer.from(str, enc) and StringDecoder.

Node names its encodings ``utf8``, ``ascii``, ``latin1`` (``binary``),
``hex``, ``base64``, ``base64url`` and ``utf16le`` (``ucs2``), and each one
behaves in ways Python's codecs do not by default: encoding never fails
(``latin1`` keeps the low byte of each UTF-16 code unit, ``hex`` stops at the
first bad pair, ``base64`` skips what is not base64), and ``ascii`` decoding
clears the high bit instead of failing. :func:`encode` and :class:`Decoder`
reproduce that.

JavaScript strings are sequences of UTF-16 code units, Python's of code
points. Where Node works per code unit (``latin1`` / ``ascii`` encoding, and
base64 and hex input, where Node reads only the low byte of each unit), a
character above U+FFFF counts as its two surrogates, so the bytes match
Node's for the same text.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Callable

from gnet.errors import UnknownEncodingError

__all__ = ('normalize_encoding', 'encode', 'Decoder')

_NAMES = {
    'utf8': 'utf8', 'utf-8': 'utf8', '': 'utf8',
    'ascii': 'ascii',
    'latin1': 'latin1', 'binary': 'latin1',
    'hex': 'hex',
    'base64': 'base64',
    'base64url': 'base64url',
    'utf16le': 'utf16le', 'utf-16le': 'utf16le',
    'ucs2': 'utf16le', 'ucs-2': 'utf16le',
}


def normalize_encoding(name: str | None) -> str:
    """Give the canonical Node name of an encoding.

    Node's ``normalizeEncoding``: case-insensitive; ``None`` and ``''`` mean
    ``'utf8'``; ``'binary'`` is ``'latin1'``; ``'ucs2'``, ``'ucs-2'`` and
    ``'utf-16le'`` are ``'utf16le'``.

    Args:
        name: The encoding name given.

    Returns:
        One of ``'utf8'``, ``'ascii'``, ``'latin1'``, ``'hex'``,
        ``'base64'``, ``'base64url'``, ``'utf16le'``.

    Raises:
        UnknownEncodingError: ``name`` is not one of Node's encodings.
    """
    if name is None:
        return 'utf8'
    if isinstance(name, str):
        canonical = _NAMES.get(name)
        if canonical is None:
            canonical = _NAMES.get(name.lower())
        if canonical is not None:
            return canonical
    raise UnknownEncodingError(name)


def _code_unit_low_bytes(text: str) -> bytes:
    # The low byte of every UTF-16 code unit: the even bytes of UTF-16-LE.
    return text.encode('utf-16-le', 'surrogatepass')[::2]


def _encode_utf8(text: str) -> bytes:
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError:
        # Lone surrogates: Node writes U+FFFD for each, and a surrogate
        # pair stored as two code points is one character to JavaScript.
        # A round trip through UTF-16 does both.
        return (text.encode('utf-16-le', 'surrogatepass')
                .decode('utf-16-le', 'replace').encode('utf-8'))


def _encode_latin1(text: str) -> bytes:
    try:
        return text.encode('latin-1')
    except UnicodeEncodeError:
        return _code_unit_low_bytes(text)


_HEX_RUN = re.compile(r'[0-9A-Fa-f]*')


def _encode_hex(text: str) -> bytes:
    # Node decodes pairs of hex digits until the first pair that is not one;
    # an odd last digit is dropped.
    if not text.isascii():
        text = _code_unit_low_bytes(text).decode('latin-1')
    end = _HEX_RUN.match(text).end()  # type: ignore[union-attr]
    return bytes.fromhex(text[:end - end % 2])


_B64_ALPHABET = (b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
                 b'0123456789+/')
# Both alphabets are accepted: '-' and '_' become '+' and '/', and every
# other byte that is not base64 is deleted.
_B64_TABLE = bytes.maketrans(b'-_', b'+/')
_B64_JUNK = bytes(b for b in range(256) if b not in _B64_ALPHABET + b'-_')
_B64_STRICT = re.compile(r'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?')


def _encode_base64(text: str) -> bytes:
    """Node's lenient base64 reading, for both base64 and base64url.

    Characters outside both alphabets (whitespace included) are skipped, the
    first '=' ends the data, and a last group of 2 or 3 characters gives 1
    or 2 bytes (a single leftover character gives none).
    """
    if _B64_STRICT.fullmatch(text):
        return binascii.a2b_base64(text)
    data = text.encode('ascii') if text.isascii() else _code_unit_low_bytes(text)
    pad = data.find(b'=')
    if pad >= 0:
        data = data[:pad]
    data = data.translate(_B64_TABLE, _B64_JUNK)
    data = data[:len(data) - (len(data) % 4 == 1)]
    return binascii.a2b_base64(data + b'=' * (-len(data) % 4))


def _encode_utf16le(text: str) -> bytes:
    return text.encode('utf-16-le', 'surrogatepass')


_ENCODERS: dict[str, Callable[[str], bytes]] = {
    'utf8': _encode_utf8,
    'ascii': _encode_latin1,
    'latin1': _encode_latin1,
    'hex': _encode_hex,
    'base64': _encode_base64,
    'base64url': _encode_base64,
    'utf16le': _encode_utf16le,
}


def encode(text: str, encoding: str | None = 'utf8') -> bytes:
    """Encode text the way Node's ``Buffer.from(text, encoding)`` does.

    Never fails on the text: ``utf8`` writes U+FFFD for a lone surrogate;
    ``ascii`` and ``latin1`` keep the low byte of each UTF-16 code unit;
    ``hex`` reads pairs of hex digits up to the first bad pair; ``base64``
    and ``base64url`` both accept either alphabet, skip whitespace and other
    junk, stop at the first ``'='`` and need no padding; ``utf16le`` keeps
    lone surrogates.

    Args:
        text: The text.
        encoding: A Node encoding name (see :func:`normalize_encoding`).

    Returns:
        The bytes.

    Raises:
        UnknownEncodingError: ``encoding`` is not one of Node's encodings.
    """
    if encoding == 'utf8' or encoding is None:
        try:
            return text.encode('utf-8')
        except UnicodeEncodeError:
            return _encode_utf8(text)
    return _ENCODERS[normalize_encoding(encoding)](text)


# Node decodes 'ascii' as latin1 after clearing each byte's high bit.
_CLEAR_HIGH_BIT = bytes(b & 0x7F for b in range(256))


class _AsciiDecoder:
    __slots__ = ()

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            return str(data, 'ascii')
        except UnicodeDecodeError:
            return bytes(data).translate(_CLEAR_HIGH_BIT).decode('latin-1')


class _HexDecoder:
    __slots__ = ()

    def decode(self, data: bytes, final: bool = False) -> str:
        return memoryview(data).hex()


class _Base64Decoder:
    """Encodes whole 3-byte groups; holds the rest until more comes or end."""

    __slots__ = ('_rest', '_url')

    def __init__(self, url: bool) -> None:
        self._rest = b''
        self._url = url

    def decode(self, data: bytes, final: bool = False) -> str:
        data = self._rest + data if self._rest else bytes(data)
        cut = len(data) if final else len(data) - len(data) % 3
        self._rest = data[cut:]
        if not cut:
            return ''
        text = binascii.b2a_base64(data[:cut], newline=False)
        if self._url:
            text = text.translate(_URL_TABLE).rstrip(b'=')
        return text.decode('ascii')


_URL_TABLE = bytes.maketrans(b'+/', b'-_')


class _Utf16Decoder:
    """UTF-16-LE that keeps lone surrogates and drops an odd last byte.

    Python's incremental decoder already holds an odd byte and the first
    half of a surrogate pair between chunks; only the end differs, where
    Node drops the odd byte and gives a held high surrogate as it is.
    """

    __slots__ = ('_decoder',)

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder('utf-16-le')('surrogatepass')

    def decode(self, data: bytes, final: bool = False) -> str:
        text: str = self._decoder.decode(data)
        if final:
            held: bytes = self._decoder.getstate()[0]
            self._decoder.reset()
            if held:
                text += held[:len(held) & ~1].decode('utf-16-le', 'surrogatepass')
        return text


def _make_decoder(encoding: str) -> Callable[..., str]:
    if encoding == 'utf8':
        # Python's UTF-8 decoder replaces bad input the way V8 does (one
        # U+FFFD per maximal invalid subsequence).
        return codecs.getincrementaldecoder('utf-8')('replace').decode
    if encoding == 'latin1':
        return codecs.getincrementaldecoder('latin-1')().decode
    if encoding == 'ascii':
        return _AsciiDecoder().decode
    if encoding == 'hex':
        return _HexDecoder().decode
    if encoding == 'utf16le':
        return _Utf16Decoder().decode
    return _Base64Decoder(encoding == 'base64url').decode


class Decoder:
    """Bytes to text across chunk boundaries: Node's ``StringDecoder``.

    ``write()`` gives the text of the bytes so far and holds back whatever
    cannot be decoded yet: part of a UTF-8 character, an odd byte or half a
    surrogate pair in UTF-16, or the bytes after the last whole 3-byte group
    in base64. ``end()`` gives what was held, decoded as Node does (U+FFFD
    for a partial UTF-8 character, ``'='`` padding for base64, none for
    base64url) and resets the decoder for reuse.

    Differences from Node: ``write()`` takes only bytes-like data (Node also
    passes a ``str`` through); Node's ``lastChar`` / ``lastNeed`` /
    ``lastTotal`` are not provided.

    Args:
        encoding: A Node encoding name (see :func:`normalize_encoding`).

    Raises:
        UnknownEncodingError: ``encoding`` is not one of Node's encodings.

    Attributes:
        encoding: The canonical encoding name, e.g. ``'utf8'``.
    """

    __slots__ = ('_decode', 'encoding')

    def __init__(self, encoding: str | None = 'utf8') -> None:
        self.encoding = normalize_encoding(encoding)
        # One bound C method for utf8 and latin1: write() runs once per
        # 'data' event after setEncoding().
        self._decode = _make_decoder(self.encoding)

    def write(self, data: bytes | bytearray | memoryview) -> str:
        """Decode a chunk, holding back an incomplete tail.

        Args:
            data: The next chunk.

        Returns:
            The text of everything complete so far (possibly ``''``).
        """
        return self._decode(data)

    def end(self, data: bytes | bytearray | memoryview | None = None) -> str:
        """Flush what was held back, as Node's ``decoder.end([buffer])``.

        Args:
            data: A last chunk to decode first, if any.

        Returns:
            The remaining text.
        """
        if data:
            return self._decode(data) + self._decode(b'', True)
        return self._decode(b'', True)

    def __repr__(self) -> str:
        return f'<Decoder {self.encoding}>'
