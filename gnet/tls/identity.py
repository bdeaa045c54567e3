"""Node's ``tls.checkServerIdentity``: does a certificate name this host?

Node's rules, kept exactly because a port's security rests on them
(``lib/tls.js`` of Node 20; the cases are those of Node's
test-tls-check-server-identity.js):

* The host is an IP address (``net.isIP``): only ``IP Address:`` subject
  alternative names count, compared after canonicalisation (so ``::1``
  matches ``0:0:0:0:0:0:0:1``). A CIDR entry, a ``DNS:`` entry spelling an IP
  and the common name never match an IP.
* Otherwise, ``DNS:`` names are tried if the certificate has any; the
  subject's common name (CN) only if it has none. ``URI:`` names never count
  (CVE-2021-44531).
* A pattern matches when it has as many labels as the host, all labels but
  the first equal (ASCII case-insensitively, one trailing dot ignored), and
  the first label equal or, if it holds one ``*``, matched by the text
  around it. No wildcard on a two-label pattern (``*.com``), none inside an
  IDNA A-label (``xn--*``), no empty labels, and a pattern with a byte
  outside ``!``..``DEL`` never matches.

The function returns the error rather than raising it, as Node's does, so a
caller can pass it on (``'error'`` or ``authorizationError``).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from typing import Any

from gnet.addresses import isIP
from gnet.errors import (
    InvalidArgTypeError,
    TLSCertAltnameFormatError,
    TLSCertAltnameInvalidError,
)

__all__ = ('checkServerIdentity',)

# Node lower-cases only A-Z: String#toLowerCase() would fold other letters too.
_ASCII_LOWER = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')

# Node's test for a label it refuses to match: anything outside U+0021..U+007F
# (blanks, controls, U-labels).
_BAD_LABEL = re.compile('[^\u0021-\u007f]')

# Any valid JSON string literal, as Node's jsonStringPattern: a quoted
# alternative name in a subjectaltname string (Node quotes names that hold
# commas, quotes or control characters).
_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')


def _js_string(value: object) -> str:
    # JavaScript's String(value) for what a Python caller may pass where Node
    # takes any value: Node builds its messages with '' + value.
    if isinstance(value, str):
        return value
    if value is None:
        return 'undefined'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ','.join('' if item is None else _js_string(item) for item in value)
    return str(value)


def _unfqdn(host: str) -> str:
    return host[:-1] if host.endswith('.') else host


def _split_host(host: str) -> list[str]:
    return _unfqdn(host).translate(_ASCII_LOWER).split('.')


def _matches(host_parts: list[str], pattern: object) -> bool:
    if not pattern:
        return False
    if not isinstance(pattern, str):
        raise InvalidArgTypeError('cert.subject.CN', 'str or list of str', pattern)
    pattern_parts = _split_host(pattern)
    if len(host_parts) != len(pattern_parts):
        return False
    if '' in pattern_parts:
        return False
    if any(_BAD_LABEL.search(part) for part in pattern_parts):
        return False
    # Every label right of the first must be equal.
    for i in range(len(host_parts) - 1, 0, -1):
        if host_parts[i] != pattern_parts[i]:
            return False
    host_first = host_parts[0]
    pattern_first = pattern_parts[0]
    pieces = pattern_first.split('*')
    # No wildcard, or one inside an A-label (RFC 6125 6.4.3): verbatim only.
    if len(pieces) == 1 or 'xn--' in pattern_first:
        return host_first == pattern_first
    if len(pieces) > 2:
        return False
    # No '*.tld'.
    if len(pattern_parts) <= 2:
        return False
    prefix, suffix = pieces
    if len(prefix) + len(suffix) > len(host_first):
        return False
    return host_first.startswith(prefix) and host_first.endswith(suffix)


def _split_escaped(alt_names: str) -> list[str]:
    # Node 20's splitEscapedAltNames: a separator is ',' (and the blank after
    # it); a quoted stretch is a JSON string literal whose value is kept.
    result: list[str] = []
    token = ''
    offset = 0
    while offset != len(alt_names):
        next_sep = alt_names.find(',', offset)
        next_quote = alt_names.find('"', offset)
        if next_quote != -1 and (next_sep == -1 or next_quote < next_sep):
            token += alt_names[offset:next_quote]
            match = _JSON_STRING.match(alt_names, next_quote)
            if match is None:
                raise TLSCertAltnameFormatError()
            token += json.loads(match.group(0))
            offset = match.end()
        elif next_sep != -1:
            token += alt_names[offset:next_sep]
            result.append(token)
            token = ''
            offset = next_sep + 2
        else:
            token += alt_names[offset:]
            offset = len(alt_names)
    result.append(token)
    return result


def _canonical_ip(text: str) -> str | None:
    # Node's canonicalizeIP (uv_inet_pton, then uv_inet_ntop): None when the
    # text is no address, as for a CIDR entry. libuv drops an IPv6 zone.
    try:
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text.partition('%')[0])
    except (OSError, ValueError):
        return None
    return socket.inet_ntop(socket.AF_INET6, packed)


def checkServerIdentity(hostname: object,
                        cert: Mapping[str, Any]) -> TLSCertAltnameInvalidError | None:
    """Check that ``cert`` names ``hostname`` (Node's ``tls.checkServerIdentity``).

    ``cert`` is a peer-certificate object as ``getPeerCertificate()`` gives
    it: only its ``subject`` (a dict whose ``'CN'`` is a str or a list of
    them) and ``subjectaltname`` (Node's string, ``'DNS:a.com, IP
    Address:127.0.0.1'``) are read. The rules are in this module's docstring.

    Node turns ``hostname`` into a string with JavaScript's ``String()``;
    here ``False`` reads ``'false'`` and ``None`` reads ``'undefined'`` (an
    omitted argument in Node), so the messages match Node's for the same
    input.

    Args:
        hostname: The name or IP address the client meant to reach.
        cert: The certificate object.

    Returns:
        ``None`` when the certificate names the host, else the error (not
        raised): ``code`` ``'ERR_TLS_CERT_ALTNAME_INVALID'``, Node's
        ``reason`` string, ``host`` and ``cert``.

    Raises:
        InvalidArgTypeError: ``cert`` is not a mapping, or a CN is not a str.
        TLSCertAltnameFormatError: ``subjectaltname`` holds a broken quoted
            name (``ERR_TLS_CERT_ALTNAME_FORMAT``).
    """
    if not isinstance(cert, Mapping):
        raise InvalidArgTypeError('cert', 'dict', cert)
    subject = cert.get('subject')
    alt_names = cert.get('subjectaltname')
    dns_names: list[str] = []
    ips: list[str | None] = []
    host = _js_string(hostname)

    if alt_names:
        if not isinstance(alt_names, str):
            raise InvalidArgTypeError('cert.subjectaltname', 'str', alt_names)
        names = _split_escaped(alt_names) if '"' in alt_names else alt_names.split(', ')
        for name in names:
            if name.startswith('DNS:'):
                dns_names.append(name[4:])
            elif name.startswith('IP Address:'):
                ips.append(_canonical_ip(name[11:]))

    valid = False
    reason = 'Unknown reason'
    host = _unfqdn(host)
    cn = subject.get('CN') if isinstance(subject, Mapping) else None
    # JavaScript truthiness: any list counts, an empty string does not.
    has_cn = isinstance(cn, (list, tuple)) or bool(cn)

    if isIP(host):
        valid = _canonical_ip(host) in ips
        if not valid:
            listed = ', '.join('' if ip is None else ip for ip in ips)
            reason = f"IP: {host} is not in the cert's list: {listed}"
    elif dns_names or has_cn:
        host_parts = _split_host(host)
        if dns_names:
            valid = any(_matches(host_parts, name) for name in dns_names)
            if not valid:
                reason = f"Host: {host}. is not in the cert's altnames: {alt_names}"
        else:
            if isinstance(cn, (list, tuple)):
                valid = any(_matches(host_parts, name) for name in cn)
            else:
                valid = _matches(host_parts, cn)
            if not valid:
                reason = f"Host: {host}. is not cert's CN: {_js_string(cn)}"
    else:
        reason = 'Cert does not contain a DNS name'

    if not valid:
        return TLSCertAltnameInvalidError(reason, host, cert)
    return None
