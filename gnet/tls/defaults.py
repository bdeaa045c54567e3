"""Node's ``tls`` defaults and catalogues: versions, ciphers, curve, root certificates.

``DEFAULT_MIN_VERSION``, ``DEFAULT_MAX_VERSION``, ``DEFAULT_CIPHERS`` and
``DEFAULT_ECDH_CURVE`` hold Node 20's values. As in Node they are read when
a secure context is made, so assigning ``gnet.tls.DEFAULT_MIN_VERSION =
'TLSv1.3'`` changes every context made after it (the values live in the
``gnet.tls`` package; :func:`current` reads them from there).

``getCiphers()`` is Node's list: OpenSSL's default cipher list (what a new
``SSL_CTX`` enables) plus the five TLS 1.3 suite names, lower-cased, without
duplicates, sorted. With the same OpenSSL (3.0 here) it is Node's list name
for name.

``rootCertificates`` are the certificates a context trusts when no ``ca``
is given. Node's are the Mozilla bundle compiled into Node; gnet's are the
system's (``ssl.get_default_verify_paths()``, which follows
``SSL_CERT_FILE`` and ``SSL_CERT_DIR``), because that is what the standard
library loads. The PEM text has Node's layout (72-column base64, no newline
after the END line).
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
import sys
from typing import Any

__all__ = (
    'DEFAULT_CIPHERS',
    'DEFAULT_ECDH_CURVE',
    'DEFAULT_MAX_VERSION',
    'DEFAULT_MIN_VERSION',
    'current',
    'getCiphers',
    'root_certificates',
)

DEFAULT_MIN_VERSION = 'TLSv1.2'
DEFAULT_MAX_VERSION = 'TLSv1.3'
DEFAULT_ECDH_CURVE = 'auto'
DEFAULT_CIPHERS = (
    'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:'
    'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:'
    'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:'
    'DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:'
    'ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:'
    'DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA'
)

# The TLS 1.3 suites Node adds to getCiphers() by hand: OpenSSL does not list
# the ones a default context leaves disabled.
_TLS13_SUITES = (
    'tls_aes_256_gcm_sha384',
    'tls_chacha20_poly1305_sha256',
    'tls_aes_128_gcm_sha256',
    'tls_aes_128_ccm_8_sha256',
    'tls_aes_128_ccm_sha256',
)


def current(name: str) -> Any:
    """The value of one ``DEFAULT_*`` setting now, as the user may have changed it.

    Args:
        name: ``'DEFAULT_MIN_VERSION'``, ``'DEFAULT_CIPHERS'``, ...

    Returns:
        ``gnet.tls.<name>`` when the package is loaded, else this module's.
    """
    package = sys.modules.get('gnet.tls')
    if package is not None and name in vars(package):
        return vars(package)[name]
    return globals()[name]


@functools.cache
def _ciphers() -> tuple[str, ...]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # What a new SSL_CTX enables; CPython replaces it with its own list.
    context.set_ciphers('DEFAULT')
    names = {cipher['name'].lower() for cipher in context.get_ciphers()}
    names.update(_TLS13_SUITES)
    return tuple(sorted(names))


def getCiphers() -> list[str]:
    """The names of the TLS ciphers OpenSSL supports (Node's ``tls.getCiphers()``).

    Returns:
        A new list of lower-case OpenSSL names, sorted, e.g.
        ``['aes128-gcm-sha256', ..., 'tls_aes_256_gcm_sha384']``.
    """
    return list(_ciphers())


def _pem(der: bytes) -> str:
    # Node's bundle (node_root_certs.h) has 72-column lines, where OpenSSL
    # and Python write 64.
    text = base64.b64encode(der).decode('ascii')
    lines = [text[i:i + 72] for i in range(0, len(text), 72)]
    return '\n'.join(['-----BEGIN CERTIFICATE-----', *lines, '-----END CERTIFICATE-----'])


@functools.cache
def root_certificates() -> tuple[str, ...]:
    """The default trust store as Node's ``tls.rootCertificates`` (computed once).

    Returns:
        A tuple of PEM strings, in the order the system lists them, without
        duplicates.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs()
    ders: list[bytes] = list(context.get_ca_certs(binary_form=True))
    if not ders:
        # Only a hashed directory: OpenSSL reads it lazily, so get_ca_certs()
        # sees nothing until a handshake looks a certificate up.
        capath = ssl.get_default_verify_paths().capath
        if capath and os.path.isdir(capath):
            for entry in sorted(os.listdir(capath)):
                path = os.path.join(capath, entry)
                if os.path.isfile(path):
                    try:
                        context.load_verify_locations(cafile=path)
                    except (ssl.SSLError, OSError):
                        continue
            ders = list(context.get_ca_certs(binary_form=True))
    seen: set[bytes] = set()
    result = []
    for der in ders:
        if der not in seen:
            seen.add(der)
            result.append(_pem(der))
    return tuple(result)
