"""OpenSSL's errors under Node's codes: ``ERR_SSL_*`` and ``ERR_OSSL_*``.

Node names an OpenSSL error from the library and reason OpenSSL gives:
``'ERR_SSL_' + REASON`` for the SSL library (``ERR_SSL_WRONG_VERSION_NUMBER``,
``ERR_SSL_HTTP_REQUEST``), ``'ERR_OSSL_' + LIB + '_' + REASON`` for the
libraries Node lists (``ERR_OSSL_PEM_NO_START_LINE``,
``ERR_OSSL_X509_KEY_VALUES_MISMATCH``) and ``'ERR_OSSL_' + REASON`` for the
others (``ERR_OSSL_UNSUPPORTED`` from OpenSSL 3's DECODER). Python's
``ssl.SSLError`` carries the same library and reason, so the mapping is
mechanical.

Except where CPython's table of reasons lacks OpenSSL's: an alert such as
no_application_protocol (120) comes as ``reason=None`` and the text
``[SSL] tlsv1 alert no application protocol (_ssl.c:1006)`` (CPython
3.10-3.13 with OpenSSL 3.0). Node derives its code from OpenSSL's reason
text (upper case, spaces as underscores), so the reason is rebuilt the same
way from that text: ``ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL``, as
Node 20 reports, rather than ``ERR_SSL_UNKNOWN``.
"""

from __future__ import annotations

import re
import ssl

from gnet.errors import OpenSSLError

__all__ = ('openssl_error',)

# OpenSSL libraries Node names in codes (ERR_OSSL_<LIB>_<REASON>); others
# give ERR_OSSL_<REASON>, and SSL gives ERR_SSL_<REASON>.
_NODE_LIBS = frozenset((
    'SYS', 'BN', 'RSA', 'DH', 'EVP', 'BUF', 'OBJ', 'PEM', 'DSA', 'X509', 'ASN1', 'CONF',
    'CRYPTO', 'EC', 'SSL', 'BIO', 'PKCS7', 'X509V3', 'PKCS12', 'RAND', 'DSO', 'ENGINE',
    'OCSP', 'UI', 'COMP', 'ECDSA', 'ECDH', 'OSSL_STORE', 'FIPS', 'CMS', 'TS', 'HMAC', 'CT',
    'ASYNC', 'KDF', 'SM2', 'USER',
))
# OpenSSL's text for each library (ERR_lib_error_string), as Node's err.library.
_LIB_TEXT = {
    'PEM': 'PEM routines', 'X509': 'x509 certificate routines', 'SSL': 'SSL routines',
    'DECODER': 'DECODER routines', 'PROV': 'Provider routines',
    'EVP': 'digital envelope routines', 'ASN1': 'asn1 encoding routines',
    'CRYPTO': 'common libcrypto routines', 'X509V3': 'X509 V3 routines',
    'BIO': 'BIO routines', 'PKCS12': 'PKCS12 routines', 'RSA': 'rsa routines',
    'EC': 'elliptic curve routines', 'DH': 'Diffie-Hellman routines',
    'UI': 'UI routines', 'SYS': 'system library',
}
_REASON_TEXT = re.compile(r'^\[[^\]]*\] (.*?)(?: \(_ssl\.c:\d+\))?$')
# CPython's text when it knows the library but not the reason: "[SSL] text".
_UNNAMED = re.compile(r'^\[([A-Z0-9_]+)\] ([a-z0-9 _-]+?)(?: \(_ssl\.c:\d+\))?$')


def openssl_error(err: ssl.SSLError) -> OpenSSLError:
    """Node's error for an ``ssl.SSLError`` (a failed load or handshake).

    ``[SSL: WRONG_VERSION_NUMBER] wrong version number`` becomes an
    :class:`~gnet.errors.OpenSSLError` with ``code``
    ``'ERR_SSL_WRONG_VERSION_NUMBER'``, ``library`` ``'SSL routines'`` and
    ``reason`` ``'wrong version number'``; the ``ssl.SSLError`` is its
    ``__cause__``.

    Args:
        err: The error the standard library raised.

    Returns:
        The new error; the caller raises or emits it.
    """
    library = getattr(err, 'library', None) or ''
    reason = getattr(err, 'reason', None)
    if not reason:
        unnamed = _UNNAMED.match(str(err.args[1]) if len(err.args) > 1 else str(err))
        if unnamed is not None and unnamed.group(1) == (library or unnamed.group(1)):
            library = unnamed.group(1)
            reason = unnamed.group(2).upper().replace(' ', '_')  # Node's rule: only spaces
        else:
            reason = 'UNKNOWN'
    if library == 'SSL':
        code = f'ERR_SSL_{reason}'
    elif library in _NODE_LIBS:
        code = f'ERR_OSSL_{library}_{reason}'
    else:
        code = f'ERR_OSSL_{reason}'
    match = _REASON_TEXT.match(str(err.args[1]) if len(err.args) > 1 else str(err))
    text = match.group(1) if match else reason.lower().replace('_', ' ')
    exc = OpenSSLError(code, _LIB_TEXT.get(library, f'{library} routines'), text)
    exc.__cause__ = err
    return exc
