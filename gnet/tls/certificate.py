"""A certificate as Node's ``getPeerCertificate([detailed])`` shows it.

:func:`certificate_object` turns DER bytes into the dict Node 20 builds
(``X509ToObject`` in Node's ``crypto_common.cc`` and
``translatePeerCertificate`` in ``_tls_common.js``), key for key and in
Node's key order:

* ``subject``, ``issuer``: OpenSSL's short names (``CN``, ``O``, ``OU``,
  ``emailAddress``; a dotted OID when OpenSSL has no name), a list where a
  name repeats;
* ``subjectaltname``: Node's string (``'DNS:a.com, IP Address:127.0.0.1,
  IP Address:0:0:0:0:0:0:0:1'``), with Node's JSON-style quoting of names
  holding commas, quotes or control characters;
* ``infoAccess``: ``{'OCSP - URI': [...], 'CA Issuers - URI': [...]}``;
* ``ca``; for RSA keys ``modulus`` (upper-case hex), ``bits``,
  ``exponent`` (``'0x10001'``), ``pubkey`` (DER SubjectPublicKeyInfo); for
  EC keys ``bits``, ``pubkey`` (the uncompressed point), ``asn1Curve``,
  ``nistCurve``;
* ``valid_from``/``valid_to`` (``'Jan  1 00:00:00 2000 GMT'``),
  ``fingerprint``/``fingerprint256``/``fingerprint512`` (colon-separated
  upper-case hex of SHA-1/256/512 of the DER), ``ext_key_usage`` (OIDs),
  ``serialNumber`` (upper-case hex, whole bytes), ``raw`` (the DER bytes);
* with ``chain``: ``issuerCertificate``, the issuer's object, found in
  ``chain`` by name and key identifier as OpenSSL's ``X509_check_issued``
  does, up to a self-issued root, whose ``issuerCertificate`` is itself
  (the dict refers to itself, as Node's object does). A certificate whose
  issuer is not in ``chain`` has no ``issuerCertificate``.

Parsing DER needs the ``cryptography`` package (``pip install
gnet-node[tls]``); without it :func:`certificate_object` raises
``UnsupportedError`` naming the extra. OpenSSL's names for object
identifiers come from the standard library's ``ssl`` module, so they are
the names of the OpenSSL Python is linked with.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

from gnet.errors import InvalidArgTypeError, UnsupportedError

__all__ = ('certificate_object',)

_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')

# cryptography's curve names -> (OpenSSL's short name, NIST name or None).
_CURVES = {
    'secp192r1': ('prime192v1', 'P-192'),
    'secp224r1': ('secp224r1', 'P-224'),
    'secp256r1': ('prime256v1', 'P-256'),
    'secp384r1': ('secp384r1', 'P-384'),
    'secp521r1': ('secp521r1', 'P-521'),
    'secp256k1': ('secp256k1', None),
    'brainpoolP256r1': ('brainpoolP256r1', None),
    'brainpoolP384r1': ('brainpoolP384r1', None),
    'brainpoolP512r1': ('brainpoolP512r1', None),
}

# Other-name types Node prints (OpenSSL 3's GENERAL_NAME_print), with the
# ASN.1 string tag each must carry: 0x0c UTF8String, 0x16 IA5String.
_OTHER_NAMES = {
    '1.3.6.1.5.5.7.8.9': ('SmtpUTF8Mailbox', 0x0C),
    '1.3.6.1.5.5.7.8.5': ('XmppAddr', 0x0C),
    '1.3.6.1.5.5.7.8.7': ('SRVName', 0x16),
    '1.3.6.1.4.1.311.20.2.3': ('UPN', 0x0C),
    '1.3.6.1.5.5.7.8.8': ('NAIRealm', 0x0C),
}


def _x509() -> Any:
    try:
        from cryptography import x509
    except ImportError:
        raise UnsupportedError(
            'getPeerCertificate() fields without the cryptography package',
            'install gnet-node[tls]') from None
    return x509


def _short_name(oid: str) -> str:
    try:
        return str(ssl._ASN1Object(oid).shortname)
    except ValueError:
        return oid


def _long_name(oid: str) -> str:
    try:
        return str(ssl._ASN1Object(oid).longname)
    except ValueError:
        return oid


def _value(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode('latin-1')


def _name_object(name: Any) -> dict[str, Any]:
    # Node's GetX509NameObject: one key per attribute type in order of first
    # appearance; a repeated type becomes a list.
    result: dict[str, Any] = {}
    for attribute in name:
        key = _short_name(attribute.oid.dotted_string)
        value = _value(attribute.value)
        if key not in result:
            result[key] = value
        elif isinstance(result[key], list):
            result[key].append(value)
        else:
            result[key] = [result[key], value]
    return result


def _safe(text: str, utf8: bool) -> bool:
    # Node's IsSafeAltName.
    for char in text:
        if char in '"\\,\'':
            return False
        code = ord(char)
        if utf8:
            if code < 0x20 or code == 0x7F:
                return False
        elif code < 0x20 or code > 0x7E:
            return False
    return True


def _alt_name(text: str, utf8: bool, prefix: str | None = None) -> str:
    # Node's PrintAltName: safe text as is, else a JSON-style quoted string
    # (',' and controls as \\u00XX; bytes above 0x7E too unless UTF-8).
    if _safe(text, utf8):
        return f'{prefix}:{text}' if prefix else text
    out = ['"', f'{prefix}:' if prefix else '']
    raw = text.encode('utf-8') if utf8 else text.encode('latin-1')
    for byte in raw:
        char = chr(byte)
        if char in '"\\':
            out.append('\\' + char)
        elif (0x20 <= byte <= 0x7E and char != ',') or (utf8 and byte & 0x80):
            out.append(char)
        else:
            out.append(f'\\u{byte:04x}')
    out.append('"')
    text = ''.join(out)
    # Bytes of a UTF-8 sequence were kept one by one: put them back together.
    return text.encode('latin-1').decode('utf-8', 'replace') if utf8 else text


_RFC2253_SPECIAL = ',+"\\<>;'


def _rfc2253(name: Any) -> str:
    # X509_NAME_print_ex with RFC 2253 flags, less escaping of non-ASCII and
    # control bytes (Node's kX509NameFlagsRFC2253WithinUtf8JSON): last RDN
    # first, short names, special characters escaped with a backslash.
    parts = []
    for rdn in reversed(list(name.rdns)):
        pieces = []
        for attribute in rdn:
            value = _value(attribute.value)
            escaped = ''.join('\\' + c if c in _RFC2253_SPECIAL else c for c in value)
            if escaped.startswith(('#', ' ')):
                escaped = '\\' + escaped
            if escaped.endswith(' ') and not escaped.endswith('\\ '):
                escaped = escaped[:-1] + '\\ '
            pieces.append(f'{_short_name(attribute.oid.dotted_string)}={escaped}')
        parts.append('+'.join(pieces))
    return ','.join(parts)


def _der_string(data: bytes, tag: int) -> str | None:
    # The content of one DER string of the given tag, or None.
    if len(data) < 2 or data[0] != tag:
        return None
    length = data[1]
    offset = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[2:2 + count], 'big')
        offset = 2 + count
    body = data[offset:offset + length]
    return body.decode('utf-8' if tag == 0x0C else 'latin-1', 'replace')


def _general_name(x509: Any, general: Any) -> str:
    # Node's PrintGeneralName.
    if isinstance(general, x509.DNSName):
        return 'DNS:' + _alt_name(general.value, False)
    if isinstance(general, x509.RFC822Name):
        return 'email:' + _alt_name(general.value, False)
    if isinstance(general, x509.UniformResourceIdentifier):
        return 'URI:' + _alt_name(general.value, False)
    if isinstance(general, x509.DirectoryName):
        return 'DirName:' + _alt_name(_rfc2253(general.value), True)
    if isinstance(general, x509.IPAddress):
        address = general.value
        if isinstance(address, ipaddress.IPv4Address):
            return f'IP Address:{address}'
        if isinstance(address, ipaddress.IPv6Address):
            packed = address.packed
            groups = (int.from_bytes(packed[i:i + 2], 'big') for i in range(0, 16, 2))
            return 'IP Address:' + ':'.join(f'{g:X}' for g in groups)
        # A network (name constraints style): OpenSSL prints its length.
        return f'IP Address:<invalid length={len(address.network_address.packed) * 2}>'
    if isinstance(general, x509.RegisteredID):
        return 'Registered ID:' + general.value.dotted_string
    if isinstance(general, x509.OtherName):
        known = _OTHER_NAMES.get(general.type_id.dotted_string)
        if known is not None:
            prefix, tag = known
            text = _der_string(general.value, tag)
            if text is not None:
                return 'othername:' + _alt_name(text, tag == 0x0C, prefix)
        return 'othername:<unsupported>'
    return f'{type(general).__name__}:<unsupported>'


def _alt_names(x509: Any, certificate: Any) -> str | None:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return ', '.join(_general_name(x509, name) for name in extension.value)


def _info_access(x509: Any, certificate: Any) -> dict[str, list[str]] | None:
    try:
        extension = certificate.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        return None
    result: dict[str, list[str]] = {}
    for description in extension.value:
        method = _long_name(description.access_method.dotted_string)
        printed = _general_name(x509, description.access_location)
        # Node splits each "<method> - <type>:<value>" line at its first
        # colon, and unquotes a JSON-quoted value.
        line = f'{method} - {printed}'
        key, _, value = line.partition(':')
        if value.startswith('"'):
            value = json.loads(value)
        result.setdefault(key, []).append(value)
    return result


def _is_ca(x509: Any, certificate: Any) -> bool:
    # Node's X509_check_ca(cert) == 1: a key usage, if present, allows
    # certificate signing, and basic constraints say CA.
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        pass
    else:
        if not usage.value.key_cert_sign:
            return False
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.value.ca)


def _time(moment: Any) -> str:
    # ASN1_TIME_print: 'Mon DD HH:MM:SS YYYY GMT', the day padded with a blank.
    return (f'{_MONTHS[moment.month - 1]} {moment.day:2d} '
            f'{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {moment.year} GMT')


def _fingerprint(der: bytes, algorithm: str) -> str:
    return ':'.join(f'{b:02X}' for b in hashlib.new(algorithm, der).digest())


def _serial(number: int) -> str:
    # BN_bn2hex: whole bytes, upper case, no leading zero byte.
    if number == 0:
        return '0'
    sign = '-' if number < 0 else ''
    text = f'{abs(number):X}'
    if len(text) % 2:
        text = '0' + text
    return sign + text


def _key_fields(certificate: Any, result: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = certificate.public_key()
    except (ValueError, TypeError):
        return
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        result['modulus'] = f'{numbers.n:X}'
        result['bits'] = key.key_size
        result['exponent'] = f'0x{numbers.e:x}'
        result['pubkey'] = key.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        result['bits'] = key.curve.key_size
        result['pubkey'] = key.public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
        short, nist = _CURVES.get(key.curve.name, (key.curve.name, None))
        result['asn1Curve'] = short
        if nist is not None:
            result['nistCurve'] = nist


def _object(x509: Any, certificate: Any, der: bytes) -> dict[str, Any]:
    result: dict[str, Any] = {
        'subject': _name_object(certificate.subject),
        'issuer': _name_object(certificate.issuer),
    }
    alt = _alt_names(x509, certificate)
    if alt is not None:
        result['subjectaltname'] = alt
    info = _info_access(x509, certificate)
    if info is not None:
        result['infoAccess'] = info
    result['ca'] = _is_ca(x509, certificate)
    _key_fields(certificate, result)
    before = getattr(certificate, 'not_valid_before_utc', None) or certificate.not_valid_before
    after = getattr(certificate, 'not_valid_after_utc', None) or certificate.not_valid_after
    result['valid_from'] = _time(before)
    result['valid_to'] = _time(after)
    result['fingerprint'] = _fingerprint(der, 'sha1')
    result['fingerprint256'] = _fingerprint(der, 'sha256')
    result['fingerprint512'] = _fingerprint(der, 'sha512')
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        pass
    else:
        result['ext_key_usage'] = [oid.dotted_string for oid in usage.value]
    result['serialNumber'] = _serial(certificate.serial_number)
    result['raw'] = der
    return result


def _key_id(x509: Any, certificate: Any, kind: Any) -> bytes | None:
    try:
        value = certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    return value.key_identifier if kind is x509.AuthorityKeyIdentifier else value.digest


def _issued(x509: Any, issuer: Any, subject: Any) -> bool:
    # X509_check_issued's main tests: the names agree and, where both sides
    # carry one, the authority key identifier names the issuer's key.
    if issuer.subject != subject.issuer:
        return False
    authority = _key_id(x509, subject, x509.AuthorityKeyIdentifier)
    own = _key_id(x509, issuer, x509.SubjectKeyIdentifier)
    return authority is None or own is None or authority == own


def _load(x509: Any, der: object, name: str) -> Any:
    if not isinstance(der, (bytes, bytearray, memoryview)):
        raise InvalidArgTypeError(name, 'bytes', der)
    return x509.load_der_x509_certificate(bytes(der))


def certificate_object(der: bytes, chain: Iterable[bytes] | None = None) -> dict[str, Any]:
    """Node's certificate object for a DER certificate.

    What ``tlsSocket.getPeerCertificate()`` returns (``detailed=True``:
    pass ``chain``). The fields are in this module's docstring.

    Args:
        der: The certificate, DER-encoded (``SSLObject.getpeercert(True)``).
        chain: Certificates to look issuers up in (what the peer sent and
            the trust store); when given, ``issuerCertificate`` links are
            added as Node's ``getPeerCertificate(true)`` adds them.

    Returns:
        A new dict; ``raw`` and ``pubkey`` are ``bytes``.

    Raises:
        InvalidArgTypeError: ``der`` or a chain entry is not bytes.
        ValueError: ``der`` is not a DER certificate.
        UnsupportedError: ``cryptography`` is not installed.
    """
    x509 = _x509()
    certificate = _load(x509, der, 'der')
    result = _object(x509, certificate, bytes(der))
    if chain is None:
        return result
    pool: list[tuple[Any, bytes]] = []
    for index, item in enumerate(chain):
        pool.append((_load(x509, item, f'chain[{index}]'), bytes(item)))
    _link(x509, certificate, result, pool)
    return result


def _link(x509: Any, certificate: Any, result: dict[str, Any],
          pool: Sequence[tuple[Any, bytes]]) -> None:
    seen = {result['fingerprint256']}
    current, current_object = certificate, result
    while True:
        if _issued(x509, current, current):
            current_object['issuerCertificate'] = current_object
            return
        found = next(((c, raw) for c, raw in pool if _issued(x509, c, current)), None)
        if found is None:
            return
        candidate, raw = found
        issuer_object = _object(x509, candidate, raw)
        if issuer_object['fingerprint256'] in seen:
            return
        seen.add(issuer_object['fingerprint256'])
        current_object['issuerCertificate'] = issuer_object
        current, current_object = candidate, issuer_object
