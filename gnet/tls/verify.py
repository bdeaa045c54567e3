"""OpenSSL's certificate verify results under Node's names (``authorizationError``).

Node reports a failed chain check as a code string: ``authorizationError``
on the socket, ``err.code`` of the client's ``'error'``
(``'DEPTH_ZERO_SELF_SIGNED_CERT'``, ``'CERT_HAS_EXPIRED'``, ...). Each is
the name of OpenSSL's ``X509_V_ERR_*`` number without the prefix, for the
28 numbers Node lists (``X509ErrorCode`` in Node's ``crypto_common.cc``);
any other number is ``'UNSPECIFIED'``. The message is OpenSSL's text for the
number.

Two places where the number Python sees differs from Node's:

* Node lets OpenSSL finish the walk and reads the *last* error, CPython
  stops at the first. A peer that sends a lone leaf whose issuer is unknown
  is error 20 (``UNABLE_TO_GET_ISSUER_CERT_LOCALLY``) to CPython and 21
  (``UNABLE_TO_VERIFY_LEAF_SIGNATURE``, "unable to verify the first
  certificate") to Node. So 20 with a peer chain of one certificate maps to
  21's name and text.
* OpenSSL's own host check (62 ``HOSTNAME_MISMATCH``, 64
  ``IP_ADDRESS_MISMATCH``) is never Node's: Node checks names itself with
  ``checkServerIdentity`` and reports ``'ERR_TLS_CERT_ALTNAME_INVALID'``, so
  both map to that code.
"""

from __future__ import annotations

import ssl
from typing import NamedTuple

__all__ = ('VerifyResult', 'authorization_error', 'verify_error_from_exception')

UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
HOSTNAME_MISMATCH = 62
IP_ADDRESS_MISMATCH = 64
ALTNAME_INVALID = 'ERR_TLS_CERT_ALTNAME_INVALID'

# X509_V_ERR_* number -> (Node's code, OpenSSL 3's text for it).
_CODES: dict[int, tuple[str, str]] = {
    2: ('UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'),
    3: ('UNABLE_TO_GET_CRL', 'unable to get certificate CRL'),
    4: ('UNABLE_TO_DECRYPT_CERT_SIGNATURE', "unable to decrypt certificate's signature"),
    5: ('UNABLE_TO_DECRYPT_CRL_SIGNATURE', "unable to decrypt CRL's signature"),
    6: ('UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'unable to decode issuer public key'),
    7: ('CERT_SIGNATURE_FAILURE', 'certificate signature failure'),
    8: ('CRL_SIGNATURE_FAILURE', 'CRL signature failure'),
    9: ('CERT_NOT_YET_VALID', 'certificate is not yet valid'),
    10: ('CERT_HAS_EXPIRED', 'certificate has expired'),
    11: ('CRL_NOT_YET_VALID', 'CRL is not yet valid'),
    12: ('CRL_HAS_EXPIRED', 'CRL has expired'),
    13: ('ERROR_IN_CERT_NOT_BEFORE_FIELD', "format error in certificate's notBefore field"),
    14: ('ERROR_IN_CERT_NOT_AFTER_FIELD', "format error in certificate's notAfter field"),
    15: ('ERROR_IN_CRL_LAST_UPDATE_FIELD', "format error in CRL's lastUpdate field"),
    16: ('ERROR_IN_CRL_NEXT_UPDATE_FIELD', "format error in CRL's nextUpdate field"),
    17: ('OUT_OF_MEM', 'out of memory'),
    18: ('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
    19: ('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    20: ('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
    21: ('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
    22: ('CERT_CHAIN_TOO_LONG', 'certificate chain too long'),
    23: ('CERT_REVOKED', 'certificate revoked'),
    24: ('INVALID_CA', 'invalid CA certificate'),
    25: ('PATH_LENGTH_EXCEEDED', 'path length constraint exceeded'),
    26: ('INVALID_PURPOSE', 'unsupported certificate purpose'),
    27: ('CERT_UNTRUSTED', 'certificate not trusted'),
    28: ('CERT_REJECTED', 'certificate rejected'),
}


class VerifyResult(NamedTuple):
    """Node's view of one verify failure: ``code`` and ``message``."""

    code: str
    message: str


def authorization_error(verify_code: int, peer_chain_length: int | None = None,
                       verify_message: str | None = None) -> VerifyResult:
    """Name an OpenSSL verify result as Node does.

    Args:
        verify_code: OpenSSL's ``X509_V_ERR_*`` number
            (``SSLCertVerificationError.verify_code``); not 0.
        peer_chain_length: How many certificates the peer sent, when known.
            With 1, error 20 is reported as Node reports it (21).
        verify_message: OpenSSL's text for the number
            (``SSLCertVerificationError.verify_message``), used for numbers
            outside Node's list; those have no text of their own here.

    Returns:
        ``(code, message)``: the ``authorizationError`` string and the
        message of the client's error.
    """
    if verify_code in (HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH):
        return VerifyResult(ALTNAME_INVALID, verify_message or 'hostname mismatch')
    if verify_code == UNABLE_TO_GET_ISSUER_CERT_LOCALLY and peer_chain_length == 1:
        verify_code = UNABLE_TO_VERIFY_LEAF_SIGNATURE
    known = _CODES.get(verify_code)
    if known is not None:
        return VerifyResult(*known)
    return VerifyResult('UNSPECIFIED', verify_message or f'verify error {verify_code}')


def verify_error_from_exception(exc: ssl.SSLCertVerificationError,
                             peer_chain_length: int | None = None) -> VerifyResult:
    """:func:`authorization_error` for the error a failed handshake raised.

    Args:
        exc: The ``ssl.SSLCertVerificationError``.
        peer_chain_length: How many certificates the peer sent, when known.

    Returns:
        ``(code, message)`` as :func:`authorization_error`.
    """
    return authorization_error(exc.verify_code, peer_chain_length, exc.verify_message)
