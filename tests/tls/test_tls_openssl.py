"""OpenSSL errors under Node's codes, from real (in-memory) handshakes.

The codes are those Node 20 gives for the same failures (tls.md §1.2,
T3, T35, T37): garbage and an HTTP request to a TLS server, and versions
that do not meet.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from gnet import errors, tls
from gnet.tls.openssl import openssl_error


def _server(certs: Any, **options: Any) -> ssl.SSLContext:
    leaf = certs.leaf
    return tls.createSecureContext(key=leaf.private_key_pem.bytes(),
                                   cert=leaf.cert_chain_pems[0].bytes(),
                                   **options).ssl_context(True)


@pytest.mark.parametrize(('data', 'code', 'reason'), [
    (b'\x2a' * 1024, 'ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'),
    (b'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', 'ERR_SSL_HTTP_REQUEST', 'http request'),
])
def test_bytes_that_are_not_tls(certs: Any, data: bytes, code: str, reason: str) -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = _server(certs).wrap_bio(incoming, outgoing, server_side=True)
    incoming.write(data)
    with pytest.raises(ssl.SSLError) as info:
        server.do_handshake()
    err = openssl_error(info.value)
    assert isinstance(err, errors.OpenSSLError)
    assert (err.code, err.library, err.reason) == (code, 'SSL routines', reason)
    assert reason in str(err)
    assert err.__cause__ is info.value


def test_versions_that_do_not_meet(certs: Any) -> None:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = tls.createSecureContext(maxVersion='TLSv1.2').ssl_context(False, ssl.CERT_NONE)
    c = client.wrap_bio(c_in, c_out, server_side=False)
    s = _server(certs, minVersion='TLSv1.3').wrap_bio(s_in, s_out, server_side=True)
    with pytest.raises(ssl.SSLWantReadError):
        c.do_handshake()
    s_in.write(c_out.read())
    with pytest.raises(ssl.SSLError) as on_server:
        s.do_handshake()
    c_in.write(s_out.read())
    with pytest.raises(ssl.SSLError) as on_client:
        c.do_handshake()
    assert openssl_error(on_server.value).code == 'ERR_SSL_UNSUPPORTED_PROTOCOL'
    assert openssl_error(on_client.value).code == 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'


def test_codes_by_library() -> None:
    # Libraries Node lists keep their name in the code; others do not.
    pem = ssl.SSLError(1, '[PEM: NO_START_LINE] no start line (_ssl.c:1)')
    pem.library, pem.reason = 'PEM', 'NO_START_LINE'
    assert openssl_error(pem).code == 'ERR_OSSL_PEM_NO_START_LINE'
    assert openssl_error(pem).library == 'PEM routines'
    decoder = ssl.SSLError(1, '[DECODER: UNSUPPORTED] unsupported (_ssl.c:1)')
    decoder.library, decoder.reason = 'DECODER', 'UNSUPPORTED'
    assert openssl_error(decoder).code == 'ERR_OSSL_UNSUPPORTED'
    assert str(openssl_error(decoder)) == 'error:DECODER routines::unsupported'
