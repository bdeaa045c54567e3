"""tls.getCiphers, tls.rootCertificates and the DEFAULT_* values, against Node's."""

from __future__ import annotations

import base64
import re
import ssl
from typing import Any

import pytest

from gnet import tls

_PEM = re.compile(r'-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{72}\n)*'
                  r'[A-Za-z0-9+/=]{1,72}\n-----END CERTIFICATE-----')


def test_defaults_are_nodes() -> None:
    assert tls.DEFAULT_MIN_VERSION == 'TLSv1.2'
    assert tls.DEFAULT_MAX_VERSION == 'TLSv1.3'
    assert tls.DEFAULT_ECDH_CURVE == 'auto'
    assert tls.DEFAULT_CIPHERS.startswith('TLS_AES_256_GCM_SHA384:')
    assert tls.DEFAULT_CIPHERS.endswith(':!SRP:!CAMELLIA')


def test_get_ciphers_shape() -> None:
    names = tls.getCiphers()
    assert names == sorted(set(names))
    assert all(name == name.lower() for name in names)
    assert {'tls_aes_256_gcm_sha384', 'tls_aes_128_ccm_8_sha256',
            'ecdhe-rsa-aes128-gcm-sha256', 'aes128-sha'} <= set(names)
    names.append('x')
    assert 'x' not in tls.getCiphers()
    assert tls.get_ciphers() == tls.getCiphers()


def test_root_certificates_shape() -> None:
    roots = tls.rootCertificates
    assert isinstance(roots, tuple)
    assert roots is tls.root_certificates
    assert len(set(roots)) == len(roots)
    for pem in roots:
        assert _PEM.fullmatch(pem), pem[:80]
        ssl.PEM_cert_to_DER_cert(pem)
    with pytest.raises(AttributeError):
        tls.rootCertificatez  # type: ignore[attr-defined]


def test_socket_parts_are_there() -> None:
    # The socket side of the module (gnet.tls.socket, gnet.tls.server).
    for name in ('connect', 'createServer', 'TLSSocket', 'Server'):
        assert callable(getattr(tls, name))


_NODE_DEFAULTS = r"""
const tls = require('tls');
console.log(JSON.stringify({
  ciphers: tls.getCiphers(),
  min: tls.DEFAULT_MIN_VERSION, max: tls.DEFAULT_MAX_VERSION,
  curve: tls.DEFAULT_ECDH_CURVE, defaultCiphers: tls.DEFAULT_CIPHERS,
  openssl: process.versions.openssl,
  root: tls.rootCertificates[0], roots: tls.rootCertificates.length,
}));
"""


@pytest.mark.once
@pytest.mark.node
def test_same_as_node(node_json: Any) -> None:
    node = node_json(_NODE_DEFAULTS)
    ours = (tls.DEFAULT_MIN_VERSION, tls.DEFAULT_MAX_VERSION, tls.DEFAULT_ECDH_CURVE,
            tls.DEFAULT_CIPHERS)
    assert ours == (node['min'], node['max'], node['curve'], node['defaultCiphers'])
    # The same OpenSSL major version lists the same ciphers.
    if node['openssl'].split('.')[0] == ssl.OPENSSL_VERSION.split()[1].split('.')[0]:
        assert tls.getCiphers() == node['ciphers']
    # Node's roots are its own bundle, gnet's the system's: the same layout.
    assert _PEM.fullmatch(node['root'])
    base64.b64decode(''.join(node['root'].splitlines()[1:-1]))


def test_root_certificates_feed_ca(certs: Any) -> None:
    # Node's idiom for "the defaults plus mine": ca: [...tls.rootCertificates, mine].
    roots = list(tls.rootCertificates)
    context = tls.createSecureContext(ca=[*roots, certs.ca.cert_pem.bytes()])
    assert context.ssl_context(False).cert_store_stats()['x509_ca'] == len(roots) + 1
