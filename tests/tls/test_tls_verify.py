"""OpenSSL verify results under Node's authorizationError codes (tls.md §1.2).

A table test of the mapping, then real (in-memory) handshakes that produce
each failure of the §1.2 table and must map to the code Node reports for the
same certificates.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from handshake import Failed, handshake

from gnet import tls
from gnet.tls.verify import authorization_error, verify_error_from_exception

# (verify code, peer chain length, Node's code, Node's message)
TABLE = [
    (2, None, 'UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'),
    (3, None, 'UNABLE_TO_GET_CRL', 'unable to get certificate CRL'),
    (7, None, 'CERT_SIGNATURE_FAILURE', 'certificate signature failure'),
    (9, None, 'CERT_NOT_YET_VALID', 'certificate is not yet valid'),
    (10, None, 'CERT_HAS_EXPIRED', 'certificate has expired'),
    (18, 1, 'DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
    (19, 3, 'SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    (20, 2, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
    (20, None, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
    # CPython stops at the first error where Node reads the last: a lone
    # leaf of an unknown issuer is 21 to Node.
    (20, 1, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
    (21, 1, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
    (22, None, 'CERT_CHAIN_TOO_LONG', 'certificate chain too long'),
    (23, None, 'CERT_REVOKED', 'certificate revoked'),
    (24, None, 'INVALID_CA', 'invalid CA certificate'),
    (25, None, 'PATH_LENGTH_EXCEEDED', 'path length constraint exceeded'),
    (26, None, 'INVALID_PURPOSE', 'unsupported certificate purpose'),
    (27, None, 'CERT_UNTRUSTED', 'certificate not trusted'),
    (28, None, 'CERT_REJECTED', 'certificate rejected'),
    # OpenSSL's own name check is never Node's: Node reports its own code.
    (62, None, 'ERR_TLS_CERT_ALTNAME_INVALID', 'hostname mismatch'),
    (64, None, 'ERR_TLS_CERT_ALTNAME_INVALID', 'hostname mismatch'),
    # A number Node does not list.
    (79, None, 'UNSPECIFIED', 'verify error 79'),
]


@pytest.mark.parametrize(('number', 'length', 'code', 'message'), TABLE)
def test_mapping(number: int, length: int | None, code: str, message: str) -> None:
    assert authorization_error(number, length) == (code, message)


def test_every_listed_code_is_distinct() -> None:
    names = [authorization_error(n).code for n in range(2, 29)]
    assert len(set(names)) == len(names) == 27
    assert 'UNSPECIFIED' not in names


def test_message_from_openssl_for_unlisted_numbers() -> None:
    assert authorization_error(50, None, 'proxy path length').message == 'proxy path length'


def _serving(leaf: Any, extra: list[Any] | None = None) -> tuple[ssl.SSLContext, int]:
    # A server presenting the leaf, its chain and any extra certificates;
    # with how many certificates it sends.
    blobs = list(leaf.cert_chain_pems) + list(extra or [])
    chain = ''.join(blob.bytes().decode() for blob in blobs)
    context = tls.createSecureContext(key=leaf.private_key_pem.bytes(), cert=chain)
    return context.ssl_context(True), len(blobs)


def _self_signed(ca: Any) -> tuple[ssl.SSLContext, int]:
    context = tls.createSecureContext(key=ca.private_key_pem.bytes(), cert=ca.cert_pem.bytes())
    return context.ssl_context(True), 1


def _fail(client_ca: Any, served: tuple[ssl.SSLContext, int]) -> tuple[str, str]:
    server, sent = served
    client = tls.createSecureContext(ca=client_ca.cert_pem.bytes()).ssl_context(False)
    with pytest.raises(Failed) as info:
        handshake(client, server)
    error = info.value.error
    assert info.value.side == 'client'
    assert isinstance(error, ssl.SSLCertVerificationError)
    return verify_error_from_exception(error, sent)


def test_handshake_failures_map_to_nodes_codes(certs: Any) -> None:
    # tls.md §1.2, row by row: what Node 20 reports for the same certificates.
    assert _fail(certs.ca, _self_signed(certs.other_ca)) == (
        'DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')
    assert _fail(certs.ca, _serving(certs.stranger)) == (
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate')
    assert _fail(certs.ca, _serving(certs.chained)) == (
        'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate')
    assert _fail(certs.ca, _serving(certs.chained, [certs.other_ca.cert_pem])) == (
        'SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain')
    assert _fail(certs.ca, _serving(certs.expired)) == (
        'CERT_HAS_EXPIRED', 'certificate has expired')


def test_trusted_chain_passes(certs: Any) -> None:
    client = tls.createSecureContext(ca=certs.ca.cert_pem.bytes()).ssl_context(False)
    c, _ = handshake(client, _serving(certs.leaf)[0])
    assert c.version() == 'TLSv1.3'
    # gnet checks names itself, as Node: OpenSSL's check is off.
    assert tls.checkServerIdentity('localhost', {'subjectaltname': 'DNS:localhost'}) is None
