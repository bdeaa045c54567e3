"""tls.createSecureContext: Node's options on ssl.SSLContext, proved by handshakes.

Each option is checked by what it does to a real (in-memory) handshake
between the contexts it makes, and each bad input by the error Node gives
for it (codes measured with Node 20: ERR_OSSL_X509_KEY_VALUES_MISMATCH,
ERR_OSSL_PEM_NO_START_LINE, ERR_OSSL_UNSUPPORTED, ERR_OSSL_BAD_DECRYPT,
ERR_SSL_NO_CIPHER_MATCH, ERR_TLS_INVALID_PROTOCOL_VERSION, ...).
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
import warnings
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from handshake import Failed, handshake

from gnet import errors, tls
from gnet.tls import memfile
from gnet.tls.verify import verify_error_from_exception


def _key(leaf: Any) -> bytes:
    return bytes(leaf.private_key_pem.bytes())


def _chain(leaf: Any) -> str:
    return ''.join(blob.bytes().decode() for blob in leaf.cert_chain_pems)


def _server(leaf: Any, **options: Any) -> ssl.SSLContext:
    return tls.createSecureContext(key=_key(leaf), cert=_chain(leaf), **options).ssl_context(True)


def _client(ca: Any, **options: Any) -> ssl.SSLContext:
    return tls.createSecureContext(ca=ca.cert_pem.bytes(), **options).ssl_context(False)


def _encrypted(leaf: Any, passphrase: bytes) -> bytes:
    key = serialization.load_pem_private_key(_key(leaf), None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase))


# --- keys and certificates -----------------------------------------------------


def test_key_and_cert_as_str_and_bytes(certs: Any) -> None:
    for key, cert in ((_key(certs.leaf), _chain(certs.leaf)),
                      (_key(certs.leaf).decode(), _chain(certs.leaf).encode()),
                      ([bytearray(_key(certs.leaf))], [memoryview(_chain(certs.leaf).encode())])):
        server = tls.createSecureContext(key=key, cert=cert).ssl_context(True)
        c, _ = handshake(_client(certs.ca), server)
        assert c.getpeercert(True) == certs.der(certs.leaf.cert_chain_pems[0])


def test_passphrase(certs: Any) -> None:
    locked = _encrypted(certs.leaf, b'secret')
    server = tls.createSecureContext(key=locked, cert=_chain(certs.leaf), passphrase='secret')
    handshake(_client(certs.ca), server.ssl_context(True))
    # Per key, as {'pem', 'passphrase'}, overriding options.passphrase.
    tls.createSecureContext(key=[{'pem': locked, 'passphrase': 'secret'}],
                            cert=_chain(certs.leaf), passphrase='other')
    for options in ({}, {'passphrase': 'wrong'}):
        # Never a prompt on the terminal: Node's error at once.
        with pytest.raises(errors.OpenSSLError) as info:
            tls.createSecureContext(key=locked, cert=_chain(certs.leaf), **options)
        assert info.value.code == 'ERR_OSSL_BAD_DECRYPT'
        assert 'bad decrypt' in str(info.value)
    with pytest.raises(errors.InvalidArgTypeError, match=r'options.passphrase'):
        tls.createSecureContext(key=locked, cert=_chain(certs.leaf), passphrase=5)


def test_two_identities_rsa_and_ecdsa(certs: Any) -> None:
    # Node keeps one identity per key type; the cipher decides which is served.
    context = tls.createSecureContext(
        key=[_key(certs.rsa_leaf), _key(certs.leaf)],
        cert=[_chain(certs.leaf), _chain(certs.rsa_leaf)])
    server = context.ssl_context(True)
    for cipher, leaf, ca in (('ECDHE-RSA-AES128-GCM-SHA256', certs.rsa_leaf, certs.rsa_ca),
                             ('ECDHE-ECDSA-AES128-GCM-SHA256', certs.leaf, certs.ca)):
        client = _client(ca, ciphers=cipher, maxVersion='TLSv1.2')
        c, _ = handshake(client, server)
        assert c.cipher()[0] == cipher
        assert c.getpeercert(True) == certs.der(leaf.cert_chain_pems[0])


@pytest.mark.parametrize(('case', 'code', 'reason'), [
    ('mismatch', 'ERR_OSSL_X509_KEY_VALUES_MISMATCH', 'key values mismatch'),
    ('key-as-cert', 'ERR_OSSL_PEM_NO_START_LINE', 'no start line'),
    ('cert-garbage', 'ERR_OSSL_PEM_NO_START_LINE', 'no start line'),
    ('cert-as-key', 'ERR_OSSL_UNSUPPORTED', 'unsupported'),
    ('key-garbage', 'ERR_OSSL_UNSUPPORTED', 'unsupported'),
])
def test_bad_key_or_cert_gives_nodes_error(certs: Any, case: str, code: str,
                                           reason: str) -> None:
    key, cert = _key(certs.leaf), _chain(certs.leaf)
    options = {
        'mismatch': {'key': key, 'cert': _chain(certs.example)},
        'key-as-cert': {'key': key, 'cert': key},
        'cert-garbage': {'key': key, 'cert': 'garbage'},
        'cert-as-key': {'key': cert, 'cert': cert},
        'key-garbage': {'key': 'garbage', 'cert': cert},
    }[case]
    with pytest.raises(errors.OpenSSLError) as info:
        tls.createSecureContext(options)
    assert info.value.code == code
    assert info.value.reason == reason
    assert str(info.value).endswith('::' + reason)


def test_key_and_cert_types(certs: Any) -> None:
    for name, options in (('options.key', {'key': 5}), ('options.cert', {'cert': 5}),
                          ('options.ca', {'ca': [5]}), ('options.crl', {'crl': 5}),
                          ('options.key', {'key': [{'pem': 5}]})):
        with pytest.raises(errors.InvalidArgTypeError, match=f'"{name}" property'):
            tls.createSecureContext(options)


def test_cert_without_key_and_key_without_cert_are_refused(certs: Any) -> None:
    with pytest.raises(errors.UnsupportedError, match=r'options.cert without options.key'):
        tls.createSecureContext(cert=_chain(certs.leaf))
    with pytest.raises(errors.UnsupportedError, match=r'options.key without options.cert'):
        tls.createSecureContext(key=_key(certs.leaf))
    with pytest.raises(errors.UnsupportedError, match=r'options.cert\[1\] without its'):
        tls.createSecureContext(key=[_key(certs.leaf)],
                                cert=[_chain(certs.leaf), _chain(certs.rsa_leaf)])


# --- trust ---------------------------------------------------------------------


def test_ca_replaces_the_default_roots(certs: Any) -> None:
    default = tls.createSecureContext().ssl_context(False)
    assert default.cert_store_stats()['x509_ca'] == len(tls.rootCertificates)
    own = tls.createSecureContext(ca=[certs.ca.cert_pem.bytes().decode(),
                                      certs.other_ca.cert_pem.bytes()]).ssl_context(False)
    assert own.cert_store_stats()['x509_ca'] == 2
    handshake(own, _server(certs.leaf))
    handshake(own, _server(certs.stranger))
    # An empty string is no ca (Node: falsy), an empty list trusts nothing.
    assert (tls.createSecureContext(ca='').ssl_context(False).cert_store_stats()['x509_ca']
            == len(tls.rootCertificates))
    assert tls.createSecureContext(ca=[]).ssl_context(False).cert_store_stats()['x509_ca'] == 0
    with pytest.raises(errors.InvalidArgValueError, match=r"'options.ca' holds no PEM"):
        tls.createSecureContext(ca='garbage')


def _crl(ca: Any, revoked: list[Any]) -> bytes:
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(now - datetime.timedelta(days=1))
               .next_update(now + datetime.timedelta(days=30)))
    for leaf in revoked:
        serial = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_crl_revokes(certs: Any) -> None:
    handshake(_client(certs.ca, crl=_crl(certs.ca, [])), _server(certs.leaf))
    client = _client(certs.ca, crl=[_crl(certs.ca, [certs.leaf])])
    with pytest.raises(Failed) as info:
        handshake(client, _server(certs.leaf))
    assert isinstance(info.value.error, ssl.SSLCertVerificationError)
    assert verify_error_from_exception(info.value.error, 1).code == 'CERT_REVOKED'
    handshake(client, _server(certs.example))
    for bad in ('garbage', certs.ca.cert_pem.bytes()):
        with pytest.raises(errors.CryptoOperationFailedError, match=r'Failed to parse CRL') as e:
            tls.createSecureContext(crl=bad)
        assert e.value.code == 'ERR_CRYPTO_OPERATION_FAILED'


def test_allow_partial_trust_chain(certs: Any) -> None:
    server = _server(certs.chained)
    intermediate = certs.intermediate.cert_pem.bytes()
    with pytest.raises(Failed):
        handshake(tls.createSecureContext(ca=intermediate).ssl_context(False), server)
    partial = tls.createSecureContext(ca=intermediate, allowPartialTrustChain=True)
    handshake(partial.ssl_context(False), server)


# --- protocol versions -------------------------------------------------------------


def test_versions(certs: Any) -> None:
    c, _ = handshake(_client(certs.ca), _server(certs.leaf))
    assert c.version() == 'TLSv1.3'
    c, _ = handshake(_client(certs.ca, maxVersion='TLSv1.2'), _server(certs.leaf))
    assert c.version() == 'TLSv1.2'
    c, _ = handshake(_client(certs.ca, secureProtocol='TLSv1_2_method'), _server(certs.leaf))
    assert c.version() == 'TLSv1.2'
    with pytest.raises(Failed):
        handshake(_client(certs.ca, maxVersion='TLSv1.2'),
                  _server(certs.leaf, minVersion='TLSv1.3'))
    context = tls.createSecureContext(min_version='TLSv1', max_version='TLSv1.1')
    assert context.ssl_context(False).minimum_version == ssl.TLSVersion.TLSv1
    assert context.ssl_context(False).maximum_version == ssl.TLSVersion.TLSv1_1


def test_default_versions_are_read_when_a_context_is_made() -> None:
    assert (tls.DEFAULT_MIN_VERSION, tls.DEFAULT_MAX_VERSION) == ('TLSv1.2', 'TLSv1.3')
    assert tls.createSecureContext().ssl_context(False).minimum_version == ssl.TLSVersion.TLSv1_2
    tls.DEFAULT_MIN_VERSION = 'TLSv1.3'
    try:
        context = tls.createSecureContext()
        assert context.ssl_context(False).minimum_version == ssl.TLSVersion.TLSv1_3
    finally:
        tls.DEFAULT_MIN_VERSION = 'TLSv1.2'


def test_version_errors() -> None:
    with pytest.raises(errors.TLSInvalidProtocolVersionError) as info:
        tls.createSecureContext(minVersion='foo')
    assert info.value.code == 'ERR_TLS_INVALID_PROTOCOL_VERSION'
    assert str(info.value) == '"foo" is not a valid minimum TLS protocol version'
    with pytest.raises(errors.TLSInvalidProtocolVersionError,
                       match=r'^5 is not a valid maximum TLS protocol version$'):
        tls.createSecureContext(maxVersion=5)
    with pytest.raises(errors.TLSProtocolVersionConflictError) as conflict:
        tls.createSecureContext(secureProtocol='TLSv1_2_method', minVersion='TLSv1.2')
    assert str(conflict.value) == ('TLS protocol version "TLSv1.2" conflicts with '
                                   'secureProtocol "TLSv1_2_method"')
    with pytest.raises(errors.TLSInvalidProtocolMethodError, match=r'^Unknown method: foo$'):
        tls.createSecureContext(secureProtocol='foo')
    with pytest.raises(errors.TLSInvalidProtocolMethodError, match=r'^SSLv3 methods disabled$'):
        tls.createSecureContext(secureProtocol='SSLv3_method')


# --- ciphers and key exchange ----------------------------------------------------------


def test_ciphers(certs: Any) -> None:
    client = _client(certs.ca, ciphers='ECDHE-ECDSA-AES256-GCM-SHA384', maxVersion='TLSv1.2')
    c, _ = handshake(client, _server(certs.leaf))
    assert c.cipher()[0] == 'ECDHE-ECDSA-AES256-GCM-SHA384'
    # A list without TLS 1.3 suites leaves TLS 1.3 and its default suites on.
    c, _ = handshake(_client(certs.ca, ciphers='ECDHE-ECDSA-AES256-GCM-SHA384'),
                     _server(certs.leaf))
    assert c.version() == 'TLSv1.3'
    # Only TLS 1.3 suites: TLS 1.3 only, as Node.
    only13 = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256'
    assert (tls.createSecureContext(ciphers=only13).ssl_context(False).minimum_version
            == ssl.TLSVersion.TLSv1_3)
    tls.createSecureContext(ciphers=tls.DEFAULT_CIPHERS)


def test_cipher_errors() -> None:
    for bad in ('nonsense', 'TLS_FOO'):
        with pytest.raises(errors.OpenSSLError) as info:
            tls.createSecureContext(ciphers=bad)
        assert info.value.code == 'ERR_SSL_NO_CIPHER_MATCH'
    with pytest.raises(errors.InvalidArgValueError, match=r"'options.ciphers' is invalid"):
        tls.createSecureContext(ciphers=':')
    with pytest.raises(errors.InvalidArgTypeError, match=r'"options.ciphers" property'):
        tls.createSecureContext(ciphers=5)
    # Choosing TLS 1.3 suites is beyond the standard library: said, not ignored.
    with pytest.raises(errors.UnsupportedError, match=r'options.ciphers choosing TLS 1.3'):
        tls.createSecureContext(ciphers='TLS_AES_128_GCM_SHA256:HIGH')


def test_honor_cipher_order(certs: Any) -> None:
    server = tls.createSecureContext(honorCipherOrder=True).ssl_context(True)
    assert server.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    # The standard library sets it by default; Node does not.
    assert not tls.createSecureContext().ssl_context(True).options & ssl.OP_CIPHER_SERVER_PREFERENCE
    context = tls.createSecureContext(secureOptions=int(ssl.OP_NO_TICKET))
    assert context.ssl_context(True).options & ssl.OP_NO_TICKET
    with pytest.raises(errors.InvalidArgTypeError, match=r'"secureOptions" argument'):
        tls.createSecureContext(secureOptions='x')


def test_ecdh_curve(certs: Any) -> None:
    handshake(_client(certs.ca, ecdhCurve='P-384'), _server(certs.leaf, ecdhCurve='secp384r1'))
    with pytest.raises(Failed):
        handshake(_client(certs.ca, ecdhCurve='P-256'), _server(certs.leaf, ecdhCurve='P-384'))
    with pytest.raises(errors.CryptoOperationFailedError, match=r'^Failed to set ECDH curve$'):
        tls.createSecureContext(ecdhCurve='foo')
    with pytest.raises(errors.InvalidArgTypeError, match=r'"options.ecdhCurve" property'):
        tls.createSecureContext(ecdhCurve=5)
    with pytest.raises(errors.UnsupportedError, match=r'several curves'):
        tls.createSecureContext(ecdhCurve='P-256:P-384')


def test_dhparam() -> None:
    from cryptography.hazmat.primitives.asymmetric import dh

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        small = dh.generate_parameters(2, 512).parameter_bytes(
            serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3)
    # OpenSSL read the parameters from memory and judged them.
    with pytest.raises(errors.OpenSSLError) as info:
        tls.createSecureContext(dhparam=small)
    assert info.value.code == 'ERR_SSL_DH_KEY_TOO_SMALL'
    with pytest.raises(errors.UnsupportedError, match=r"dhparam 'auto'"):
        tls.createSecureContext(dhparam='auto')


def _pkcs12(leaf: Any, passphrase: bytes | None) -> bytes:
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(_key(leaf), None)
    chain = [x509.load_pem_x509_certificate(blob.bytes()) for blob in leaf.cert_chain_pems]
    protection = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(b'id', key, chain[0], chain[1:], protection)


def test_pfx(certs: Any) -> None:
    # Leaf and intermediate in one PKCS#12 file; the client trusts the root.
    locked = _pkcs12(certs.chained, b'pw')
    for options in ({'pfx': locked, 'passphrase': 'pw'},
                    {'pfx': [{'buf': locked, 'passphrase': 'pw'}]},
                    {'pfx': _pkcs12(certs.chained, None)}):
        server = tls.createSecureContext(options)
        c, _ = handshake(_client(certs.other_ca), server.ssl_context(True))
        assert c.getpeercert(True) == certs.der(certs.chained.cert_chain_pems[0])
    # The intermediate it carries is trusted too, as in Node.
    assert (server.ssl_context(False).cert_store_stats()['x509_ca']
            == len(tls.rootCertificates) + 1)
    for options, message in (({'pfx': locked, 'passphrase': 'no'}, 'mac verify failure'),
                             ({'pfx': locked}, 'mac verify failure'),
                             ({'pfx': b'garbage'}, 'not enough data'),
                             ({'pfx': 5}, 'Unable to load PFX certificate')):
        with pytest.raises(errors.CryptoOperationFailedError, match=f'^{message}$'):
            tls.createSecureContext(options)


@pytest.mark.parametrize('option', ['sigalgs', 'sessionIdContext', 'sessionTimeout',
                                    'ticketKeys', 'clientCertEngine',
                                    'privateKeyEngine', 'privateKeyIdentifier'])
def test_options_the_standard_library_cannot_honour(option: str) -> None:
    value: Any = {'sessionTimeout': 300, 'ticketKeys': bytes(48)}.get(option, 'x')
    with pytest.raises(errors.UnsupportedError, match=f'options.{option}') as info:
        tls.createSecureContext({option: value})
    assert info.value.code == 'ERR_GNET_UNSUPPORTED'


def test_option_spellings() -> None:
    with pytest.raises(errors.InvalidArgTypeError, match=r'"options.sessionIdContext"'):
        tls.createSecureContext(session_id_context=5)
    with pytest.raises(errors.InvalidArgValueError, match=r"'minversion' is not a known"):
        tls.createSecureContext(minversion='TLSv1.2')
    with pytest.raises(errors.InvalidArgTypeError, match=r'"options" argument'):
        tls.createSecureContext(5)
    assert tls.create_secure_context is tls.createSecureContext
    assert isinstance(tls.createSecureContext(), tls.SecureContext)


def test_ssl_context_is_cached_per_side_and_mode(certs: Any) -> None:
    context = tls.createSecureContext()
    assert context.ssl_context(False) is context.ssl_context(False, ssl.CERT_REQUIRED)
    assert context.ssl_context(True) is not context.ssl_context(False)
    assert context.ssl_context(True).verify_mode == ssl.CERT_NONE
    assert context.ssl_context(True, ssl.CERT_REQUIRED).verify_mode == ssl.CERT_REQUIRED
    assert context.ssl_context(False).check_hostname is False


# --- no files left ----------------------------------------------------------------------


def _our_memfds() -> list[str]:
    # Descriptors of gnet's anonymous memory files still open in this process.
    found = []
    for fd in os.listdir('/proc/self/fd') if os.path.isdir('/proc/self/fd') else ():
        try:
            target = os.readlink(f'/proc/self/fd/{fd}')
        except OSError:
            continue
        if 'gnet-tls' in target:
            found.append(target)
    return found


@pytest.fixture
def private_tmp(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The shared temporary directory sees other processes' files; a private
    # one shows exactly what gnet left.
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    return tmp_path


def test_keys_leave_no_file_and_no_descriptor(certs: Any, private_tmp: Any) -> None:
    for _ in range(20):
        tls.createSecureContext(key=_key(certs.leaf), cert=_chain(certs.leaf),
                                crl=_crl(certs.ca, []))
    assert os.listdir(private_tmp) == []
    assert _our_memfds() == []


@pytest.mark.parametrize('how', ['memfd', 'tempfile'])
def test_memory_path_both_ways(how: str, private_tmp: Any) -> None:
    if how == 'memfd' and memfile.strategy() != 'memfd':
        pytest.skip('no memfd_create here')
    with memfile.memory_path(b'secret key', how) as path:
        with open(path, 'rb') as first, open(path, 'rb') as second:
            assert first.read() == second.read() == b'secret key'
        if how == 'memfd':
            assert path.startswith('/proc/self/fd/')
            assert os.listdir(private_tmp) == []
            assert len(_our_memfds()) == 1
        else:
            assert os.listdir(private_tmp) == [os.path.basename(path)]
            assert os.stat(path).st_mode & 0o077 == 0
    if how == 'tempfile':
        assert not os.path.exists(path)
    assert os.listdir(private_tmp) == []
    assert _our_memfds() == []


def test_memory_path_cleans_up_when_the_loader_fails(private_tmp: Any) -> None:
    for how in ('tempfile', memfile.strategy()):
        with pytest.raises(RuntimeError), memfile.memory_path(b'x', how) as path:
            raise RuntimeError('loader failed')
        if how == 'tempfile':
            assert not os.path.exists(path)
    assert os.listdir(private_tmp) == []
    assert _our_memfds() == []


def test_this_platform_uses_memfd() -> None:
    if not hasattr(os, 'memfd_create'):
        pytest.skip('no memfd_create on this platform')
    assert memfile.strategy() == 'memfd'


# --- the same bad input, judged by Node ------------------------------------------------

_NODE_ERRORS = r"""
const tls = require('tls');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const [name, options] of Object.entries(cases)) {
  for (const k of ['pfx']) if (options[k] && options[k].hex !== undefined)
    options[k] = Buffer.from(options[k].hex, 'hex');
  try { tls.createSecureContext(options); out[name] = null; }
  catch (e) { out[name] = {code: e.code === undefined ? null : e.code,
                           message: e.message, reason: e.reason === undefined ? null : e.reason}; }
}
console.log(JSON.stringify(out));
"""


@pytest.mark.once
@pytest.mark.node
def test_same_errors_as_node(certs: Any, node_json: Any) -> None:
    key, cert = _key(certs.leaf).decode(), _chain(certs.leaf)
    locked = _encrypted(certs.leaf, b'secret').decode()
    cases: dict[str, dict[str, Any]] = {
        'mismatch': {'key': key, 'cert': _chain(certs.example)},
        'encrypted, no passphrase': {'key': locked, 'cert': cert},
        'encrypted, wrong passphrase': {'key': locked, 'cert': cert, 'passphrase': 'x'},
        'encrypted, passphrase': {'key': locked, 'cert': cert, 'passphrase': 'secret'},
        'key as cert': {'key': key, 'cert': key},
        'cert as key': {'key': cert, 'cert': cert},
        'garbage key': {'key': 'garbage', 'cert': cert},
        'garbage cert': {'key': key, 'cert': 'garbage'},
        'minVersion': {'minVersion': 'foo'},
        'maxVersion': {'maxVersion': 5},
        'key type': {'key': 5},
        'ca type': {'ca': [5]},
        'ciphers type': {'ciphers': 5},
        'no cipher': {'ciphers': 'nonsense'},
        'no cipher 1.3': {'ciphers': 'TLS_FOO'},
        'empty ciphers': {'ciphers': ':'},
        'curve': {'ecdhCurve': 'foo'},
        'curve type': {'ecdhCurve': 5},
        'crl': {'crl': 'garbage'},
        'method': {'secureProtocol': 'foo'},
        'SSLv3': {'secureProtocol': 'SSLv3_method'},
        'conflict': {'secureProtocol': 'TLSv1_2_method', 'maxVersion': 'TLSv1.3'},
        'pfx passphrase': {'pfx': {'hex': _pkcs12(certs.leaf, b'pw').hex()}, 'passphrase': 'no'},
        'pfx garbage': {'pfx': {'hex': b'garbage'.hex()}},
        'good': {'key': key, 'cert': cert, 'ca': certs.ca.cert_pem.bytes().decode(),
                 'ciphers': 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ecdhCurve': 'P-256',
                 'minVersion': 'TLSv1.2', 'honorCipherOrder': True},
    }
    node = node_json(_NODE_ERRORS, cases)
    for name, options in cases.items():
        if 'pfx' in options:
            options = {**options, 'pfx': bytes.fromhex(options['pfx']['hex'])}
        try:
            tls.createSecureContext(options)
        except errors.NodeError as err:
            expected = node[name]
            assert expected is not None, f'{name}: Node accepts it, gnet raised {err!r}'
            if expected['code'] is not None:
                assert err.code == expected['code'], name
            if isinstance(err, errors.OpenSSLError):
                assert err.reason == expected['reason'], name
                assert expected['message'].endswith(str(err).split(':', 1)[1]), name
            elif isinstance(err, errors.InvalidArgValueError):
                # The value shown is Python's repr, not util.inspect's.
                assert (str(err).split(' Received')[0]
                        == expected['message'].split(' Received')[0]), name
            elif not isinstance(err, errors.InvalidArgTypeError):
                # Type errors name Python types; the rest is Node's text.
                assert str(err) == expected['message'], name
        else:
            assert node[name] is None, f'{name}: Node raises {node[name]}, gnet does not'
