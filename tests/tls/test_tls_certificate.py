"""Node's certificate objects (getPeerCertificate) from DER.

The unit tests check the formats; the Node tests compare whole objects with
what Node 20 prints for the same certificates: ``getPeerCertificate(true)``
over a real TLS connection on 127.0.0.1 (issuer chain included), and
``X509Certificate.toLegacyObject()`` for a certificate with every kind of
field.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier

from gnet import errors, tls
from gnet.tls.certificate import certificate_object


@pytest.fixture(scope='module')
def crafted() -> bytes:
    """An RSA certificate with every field Node prints, and names needing quotes."""
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, 'US'),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Ex, "Inc"'),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, 'A'),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, 'B'),
        x509.NameAttribute(NameOID.COMMON_NAME, 'crafted.example'),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, 'x@example.com'),
        x509.NameAttribute(ObjectIdentifier('1.2.3.4.5'), 'custom'),
    ])
    sans = [
        x509.DNSName('a.example'), x509.DNSName('we,ird'),
        x509.IPAddress(ipaddress.ip_address('10.0.0.1')),
        x509.IPAddress(ipaddress.ip_address('2001:db8::1')),
        x509.UniformResourceIdentifier('http://u.example/'), x509.RFC822Name('m@example.com'),
        x509.RegisteredID(ObjectIdentifier('1.2.3.4')),
        x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'dir'),
                                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'O1')])),
    ]
    aia = [
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                               x509.UniformResourceIdentifier('http://ocsp.example/')),
        x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                               x509.UniformResourceIdentifier('http://ca.example/ca.crt')),
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                               x509.UniformResourceIdentifier('http://ocsp2.example/')),
    ]
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(0x0123456789ABCDEF)
        .not_valid_before(datetime.datetime(2020, 3, 5, 1, 2, 3))
        .not_valid_after(datetime.datetime(2040, 12, 25, 23, 59, 59))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityInformationAccess(aia), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                              ObjectIdentifier('1.2.3.9')]), critical=False)
        .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope='module')
def odd_ones() -> list[bytes]:
    """Certificates at the edges: CA flags, other key types, a bare v3 certificate."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    def make(key: Any, *extensions: tuple[Any, bool]) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'edge')])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(0x0ABC)
                   .not_valid_before(datetime.datetime(2021, 1, 9))
                   .not_valid_after(datetime.datetime(2031, 10, 10)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)

    def usage(cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=True, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=cert_sign, crl_sign=False,
                             encipher_only=False, decipher_only=False)

    p384 = ec.generate_private_key(ec.SECP384R1())
    return [
        make(p384),
        make(p384, (x509.BasicConstraints(ca=True, path_length=None), True),
             (usage(False), True)),
        make(p384, (x509.BasicConstraints(ca=True, path_length=0), True), (usage(True), True)),
        make(ec.generate_private_key(ec.SECP521R1())),
        make(ed25519.Ed25519PrivateKey.generate()),
    ]


def test_fields_at_the_edges(odd_ones: list[bytes]) -> None:
    bare, not_signing_ca, ca, p521, edwards = (certificate_object(d) for d in odd_ones)
    assert (bare['ca'], not_signing_ca['ca'], ca['ca']) == (False, False, True)
    assert (bare['bits'], bare['asn1Curve'], bare['nistCurve']) == (384, 'secp384r1', 'P-384')
    assert (p521['bits'], p521['asn1Curve'], p521['nistCurve']) == (521, 'secp521r1', 'P-521')
    assert 'bits' not in edwards and 'pubkey' not in edwards
    assert bare['serialNumber'] == '0ABC'
    assert bare['valid_from'] == 'Jan  9 00:00:00 2021 GMT'
    assert 'subjectaltname' not in bare and 'ext_key_usage' not in bare


def test_fields_of_a_trustme_leaf(certs: Any) -> None:
    der = certs.der(certs.leaf.cert_chain_pems[0])
    got = certificate_object(der)
    assert list(got) == ['subject', 'issuer', 'subjectaltname', 'ca', 'bits', 'pubkey',
                         'asn1Curve', 'nistCurve', 'valid_from', 'valid_to', 'fingerprint',
                         'fingerprint256', 'fingerprint512', 'ext_key_usage', 'serialNumber',
                         'raw']
    assert got['raw'] == der
    assert got['subjectaltname'] == (
        'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    assert got['ca'] is False
    assert (got['bits'], got['asn1Curve'], got['nistCurve']) == (256, 'prime256v1', 'P-256')
    assert got['pubkey'][:1] == b'\x04' and len(got['pubkey']) == 65
    assert got['valid_from'] == 'Jan  1 00:00:00 2000 GMT'
    assert got['valid_to'] == 'Jan  1 00:00:00 3000 GMT'
    assert got['fingerprint256'] == ':'.join(
        f'{b:02X}' for b in hashlib.sha256(der).digest())
    assert len(got['fingerprint'].split(':')) == 20
    assert len(got['fingerprint512'].split(':')) == 64
    serial = x509.load_der_x509_certificate(der).serial_number
    assert int(got['serialNumber'], 16) == serial
    assert got['serialNumber'] == got['serialNumber'].upper()
    assert len(got['serialNumber']) % 2 == 0
    assert got['subject']['O'].startswith('trustme')
    assert 'issuerCertificate' not in got


def test_fields_of_a_crafted_certificate(crafted: bytes) -> None:
    got = certificate_object(crafted)
    assert got['subject'] == {'C': 'US', 'O': 'Ex, "Inc"', 'OU': ['A', 'B'],
                              'CN': 'crafted.example', 'emailAddress': 'x@example.com',
                              '1.2.3.4.5': 'custom'}
    # Node's quoting of names that hold a comma; IPv6 in full upper-case groups.
    assert got['subjectaltname'] == (
        'DNS:a.example, DNS:"we\\u002cird", IP Address:10.0.0.1, '
        'IP Address:2001:DB8:0:0:0:0:0:1, URI:http://u.example/, email:m@example.com, '
        'Registered ID:1.2.3.4, DirName:"O=O1\\u002cCN=dir"')
    assert got['infoAccess'] == {'OCSP - URI': ['http://ocsp.example/', 'http://ocsp2.example/'],
                                 'CA Issuers - URI': ['http://ca.example/ca.crt']}
    assert got['exponent'] == '0x10001'
    assert got['bits'] == 2048
    assert got['modulus'] == got['modulus'].upper()
    assert got['pubkey'][:2] == b'\x30\x82'
    assert got['serialNumber'] == '0123456789ABCDEF'
    assert got['valid_from'] == 'Mar  5 01:02:03 2020 GMT'
    assert got['valid_to'] == 'Dec 25 23:59:59 2040 GMT'
    assert got['ext_key_usage'] == ['1.3.6.1.5.5.7.3.1', '1.2.3.9']


def test_issuer_chain(certs: Any) -> None:
    leaf = certs.der(certs.chained.cert_chain_pems[0])
    intermediate = certs.der(certs.intermediate.cert_pem)
    root = certs.der(certs.other_ca.cert_pem)
    got = certificate_object(leaf, [root, intermediate])
    middle = got['issuerCertificate']
    assert middle['raw'] == intermediate
    top = middle['issuerCertificate']
    assert top['raw'] == root
    # The root names itself as its issuer: the same object, as in Node.
    assert top['issuerCertificate'] is top
    assert top['ca'] is True
    # An issuer not in the chain: no link.
    assert 'issuerCertificate' not in certificate_object(leaf, [root])
    assert 'issuerCertificate' not in certificate_object(leaf, [])
    # A self-signed certificate is its own issuer.
    alone = certificate_object(root, [])
    assert alone['issuerCertificate'] is alone


def test_identity_check_reads_the_certificate_object(certs: Any) -> None:
    leaf = certificate_object(certs.der(certs.leaf.cert_chain_pems[0]))
    for host in ('localhost', 'LOCALHOST.', '127.0.0.1', '::1', '0:0::1'):
        assert tls.checkServerIdentity(host, leaf) is None
    err = tls.checkServerIdentity('example.com', leaf)
    assert err is not None
    assert err.reason == ("Host: example.com. is not in the cert's altnames: "
                          'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    assert err.cert is leaf


def test_bad_input() -> None:
    with pytest.raises(errors.InvalidArgTypeError, match=r'"der" argument'):
        certificate_object('not bytes')  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        certificate_object(b'not a certificate')


def _node_shape(value: Any, seen: dict[int, str] | None = None, path: str = '$') -> Any:
    # The JSON form both sides are compared in: bytes as hex, a reference
    # back to an enclosing certificate as '<ref $...>'.
    seen = {} if seen is None else seen
    if isinstance(value, (bytes, bytearray)):
        return {'hex': bytes(value).hex()}
    if isinstance(value, dict):
        if id(value) in seen:
            return f'<ref {seen[id(value)]}>'
        seen = {**seen, id(value): path}
        return {k: _node_shape(v, seen, f'{path}.{k}') for k, v in value.items()}
    if isinstance(value, list):
        return [_node_shape(v, seen, path) for v in value]
    return value


_NODE_SHAPE = r"""
function shape(value, seen = new Map(), path = '$') {
  if (Buffer.isBuffer(value)) return {hex: value.toString('hex')};
  if (Array.isArray(value)) return value.map((v) => shape(v, seen, path));
  if (value !== null && typeof value === 'object') {
    if (seen.has(value)) return '<ref ' + seen.get(value) + '>';
    const inner = new Map(seen); inner.set(value, path);
    const out = {};
    for (const k of Object.keys(value)) out[k] = shape(value[k], inner, path + '.' + k);
    return out;
  }
  return value;
}
"""

_NODE_PEER = _NODE_SHAPE + r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const server = tls.createServer({key: opts.key, cert: opts.cert}, (s) => s.end());
server.listen(0, '127.0.0.1', () => {
  const c = tls.connect({port: server.address().port, host: '127.0.0.1',
                         servername: 'localhost', ca: opts.ca}, () => {
    const out = {detailed: shape(c.getPeerCertificate(true)),
                 plain: shape(c.getPeerCertificate())};
    c.destroy(); server.close();
    console.log(JSON.stringify(out));
  });
  c.on('error', (e) => { console.error(e); process.exit(1); });
});
"""

_NODE_LEGACY = _NODE_SHAPE + r"""
const {X509Certificate} = require('crypto');
const ders = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(ders.map(
  (hex) => shape(new X509Certificate(Buffer.from(hex, 'hex')).toLegacyObject()))));
"""


@pytest.mark.once
@pytest.mark.node
@pytest.mark.timeout(60)
@pytest.mark.parametrize('which', ['chained', 'rsa_leaf', 'leaf'])
def test_same_as_nodes_get_peer_certificate(certs: Any, node_json: Any, which: str) -> None:
    leaf = getattr(certs, which)
    ca = {'chained': certs.other_ca, 'rsa_leaf': certs.rsa_ca, 'leaf': certs.ca}[which]
    chain_pems = [blob.bytes().decode() for blob in leaf.cert_chain_pems]
    node = node_json(_NODE_PEER, {'key': leaf.private_key_pem.bytes().decode(),
                                  'cert': ''.join(chain_pems),
                                  'ca': ca.cert_pem.bytes().decode()})
    ders = [certs.der(blob) for blob in leaf.cert_chain_pems]
    # What the peer sent after its leaf, then the client's trust store.
    pool = [*ders[1:], certs.der(ca.cert_pem)]
    assert _node_shape(certificate_object(ders[0], pool)) == node['detailed']
    assert _node_shape(certificate_object(ders[0])) == node['plain']


@pytest.mark.once
@pytest.mark.node
def test_same_as_nodes_legacy_object(certs: Any, node_json: Any, crafted: bytes,
                                     odd_ones: list[bytes]) -> None:
    ders = [crafted, certs.der(certs.ca.cert_pem), certs.der(certs.rsa_ca.cert_pem),
            certs.der(certs.expired.cert_chain_pems[0]), *odd_ones]
    node = node_json(_NODE_LEGACY, [der.hex() for der in ders])
    for der, expected in zip(ders, node, strict=True):
        assert _node_shape(certificate_object(der)) == expected
