"""Node's ``tls.createSecureContext``: keys, certificates and policy in one object.

A :class:`SecureContext` is what Node's is: the credentials and TLS policy
a connection uses, made once from Node's options and shared by many
connections. It is built on the standard library's ``ssl.SSLContext``.
An ``SSLContext`` is made for one side (client or server) and one peer
verification mode, where Node's context serves both, so a
``SecureContext`` keeps the validated options and makes (and caches) the
``SSLContext`` each use asks for through :meth:`SecureContext.ssl_context`.
The first one is made at once, so bad input fails in
``createSecureContext``, as in Node.

Options, in Node's names (``snake_case`` spellings work too):

* ``key``, ``cert``, ``passphrase``: PEM ``str`` or ``bytes``, or lists of
  them; ``key`` entries may be ``{'pem': ..., 'passphrase': ...}``; a
  ``cert`` may carry its chain after the leaf. Several pairs (an RSA and an
  ECDSA identity) are matched key to certificate. They reach OpenSSL
  through :mod:`gnet.tls.memfile`: never a file left on disk.
* ``ca``: PEM ``str``/``bytes`` or a list; replaces the default roots
  (``rootCertificates``). ``crl``: PEM CRLs; turns on CRL checks for the
  whole chain, as Node does.
* ``ciphers`` (OpenSSL's syntax; ``TLS_`` names are TLS 1.3 suites),
  ``honorCipherOrder``, ``ecdhCurve``, ``minVersion``/``maxVersion``
  (``'TLSv1'`` .. ``'TLSv1.3'``), ``secureProtocol``, ``secureOptions``,
  ``dhparam`` (PEM), ``allowPartialTrustChain``.
* ``pfx`` (PKCS#12 ``bytes``, or ``{'buf': ..., 'passphrase': ...}``
  entries): read with the ``cryptography`` package (``gnet-node[tls]``);
  its extra certificates are sent with the certificate and trusted, as in
  Node.

What the standard library cannot do raises ``UnsupportedError``
(``ERR_GNET_UNSUPPORTED``) naming the option, never ignored: a choice or
order of TLS 1.3 suites other than OpenSSL's default, more than one
``ecdhCurve``, ``sigalgs``, ``sessionIdContext``, ``sessionTimeout``,
``ticketKeys``, ``dhparam: 'auto'``, the engine options, ``pfx``
without ``cryptography`` installed, and a
``cert`` without its ``key`` (or the reverse).

Differences from Node: a ``ca`` that holds no certificate, and a
``dhparam`` OpenSSL cannot read, are errors (Node goes on silently);
parameters under 2048 bits fail with OpenSSL's ``ERR_SSL_DH_KEY_TOO_SMALL``
where Node refuses under 1024 and warns under 2048; a PFX that does not open
is ``ERR_CRYPTO_OPERATION_FAILED`` with Node's message (Node's error has no
code); OpenSSL errors carry Node's ``code``, ``library`` and ``reason`` but
no packed error number in the message.
"""

from __future__ import annotations

import re
import ssl
import warnings
from collections.abc import Callable
from typing import Any

from gnet.errors import (
    CryptoOperationFailedError,
    InvalidArgTypeError,
    InvalidArgValueError,
    OpenSSLError,
    TLSInvalidProtocolMethodError,
    TLSInvalidProtocolVersionError,
    TLSProtocolVersionConflictError,
    UnsupportedError,
)
from gnet.options import merge_options
from gnet.tls.defaults import current
from gnet.tls.memfile import memory_path
from gnet.tls.openssl import openssl_error
from gnet.validate import validate_int, validate_string

__all__ = ('SecureContext', 'createSecureContext')

_KNOWN = (
    'allowPartialTrustChain', 'ca', 'cert', 'ciphers', 'clientCertEngine', 'crl',
    'dhparam', 'ecdhCurve', 'honorCipherOrder', 'key', 'maxVersion', 'minVersion',
    'passphrase', 'pfx', 'privateKeyEngine', 'privateKeyIdentifier', 'secureOptions',
    'secureProtocol', 'sessionIdContext', 'sessionTimeout', 'sigalgs', 'ticketKeys',
)

# Options of Node's createSecureContext the standard library has no call for.
_UNSUPPORTED = {
    'sigalgs': 'the standard library cannot choose signature algorithms',
    'sessionIdContext': 'the standard library sets the session ID context itself',
    'sessionTimeout': 'the standard library cannot set the session lifetime',
    'ticketKeys': 'the standard library cannot set ticket keys '
                  '(make the context before fork() to share tickets among workers)',
    'clientCertEngine': 'OpenSSL engines are not available from Python',
    'privateKeyEngine': 'OpenSSL engines are not available from Python',
    'privateKeyIdentifier': 'OpenSSL engines are not available from Python',
}

_VERSIONS = {
    'TLSv1': ssl.TLSVersion.TLSv1,
    'TLSv1.1': ssl.TLSVersion.TLSv1_1,
    'TLSv1.2': ssl.TLSVersion.TLSv1_2,
    'TLSv1.3': ssl.TLSVersion.TLSv1_3,
}

_ANY = ssl.TLSVersion.MINIMUM_SUPPORTED
_TOP = ssl.TLSVersion.TLSv1_3
# secureProtocol -> (minimum, maximum); None keeps the one from minVersion /
# maxVersion defaults, as Node's SecureContext::Init does.
_METHODS: dict[str, tuple[ssl.TLSVersion | None, ssl.TLSVersion | None]] = {}
for _side in ('', '_client', '_server'):
    _METHODS[f'SSLv23{_side}_method'] = (None, ssl.TLSVersion.TLSv1_2)
    _METHODS[f'TLS{_side}_method'] = (_ANY, _TOP)
    _METHODS[f'TLSv1{_side}_method'] = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)
    _METHODS[f'TLSv1_1{_side}_method'] = (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    _METHODS[f'TLSv1_2{_side}_method'] = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
del _side
_DISABLED_METHODS = {
    f'SSLv{n}{side}_method': f'SSLv{n} methods disabled'
    for n in (2, 3) for side in ('', '_client', '_server')
}

# NIST names Node (SSL_CTX_set1_curves_list) accepts; CPython looks names up
# as OpenSSL short names only.
_NIST_CURVES = {
    'P-192': 'prime192v1', 'P-224': 'secp224r1', 'P-256': 'prime256v1',
    'P-384': 'secp384r1', 'P-521': 'secp521r1',
}

_PEM_CRL = re.compile(r'-----BEGIN X509 CRL-----.+?-----END X509 CRL-----', re.S)
_PEM_CERT = '-----BEGIN CERTIFICATE-----'
_PEM_CERT_BLOCK = re.compile(r'-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----')
_PEM_KEY_BLOCK = re.compile(r'-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----')
_ENCRYPTED_KEY = re.compile(r'-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED')


def _mismatch() -> OpenSSLError:
    return OpenSSLError('ERR_OSSL_X509_KEY_VALUES_MISMATCH', 'x509 certificate routines',
                        'key values mismatch')


def _bad_decrypt() -> OpenSSLError:
    return OpenSSLError('ERR_OSSL_BAD_DECRYPT', 'Provider routines', 'bad decrypt')


def _truthy(value: object) -> bool:
    # JavaScript truthiness for option values: '' and None are false, a list
    # or a Buffer (even empty) is true.
    if isinstance(value, (list, tuple, bytes, bytearray, memoryview)):
        return True
    return bool(value)


def _pem_text(value: object, name: str) -> str:
    # Node's validateKeyOrCertOption: a string or a Buffer/TypedArray/DataView.
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode('latin-1')
    raise InvalidArgTypeError(name, ['str', 'bytes', 'bytearray', 'memoryview'], value)


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _to_version(which: str, value: object, default: str) -> ssl.TLSVersion:
    if value is None:
        value = default
    if isinstance(value, str) and value in _VERSIONS:
        return _VERSIONS[value]
    raise TLSInvalidProtocolVersionError(value, which)


def _split_ciphers(ciphers: str, name: str) -> tuple[str, list[str]]:
    # Node's processCiphers: 'TLS_' and '!TLS_' names are TLS 1.3 suites,
    # the rest is an OpenSSL cipher list for TLS 1.2 and older.
    parts = ciphers.split(':')
    suites = [p for p in parts if p.startswith(('TLS_', '!TLS_'))]
    rest = [p for p in parts if p and not p.startswith(('TLS_', '!TLS_'))]
    if not suites and not rest:
        raise InvalidArgValueError(name, parts)
    return ':'.join(rest), suites


def _default_suites() -> list[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return [c['name'] for c in context.get_ciphers() if c['protocol'] == 'TLSv1.3']


_TLS13_NAMES = frozenset({
    'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
    'TLS_AES_128_CCM_8_SHA256', 'TLS_AES_128_CCM_SHA256',
})


class _Identity:
    """One certificate chain and its private key, as PEM bytes."""

    __slots__ = ('chain', 'key', 'passphrase')

    def __init__(self, chain: bytes, key: bytes, passphrase: str | None) -> None:
        self.chain = chain
        self.key = key
        self.passphrase = passphrase


def _no_passphrase() -> bytes:
    # OpenSSL's default would prompt on the terminal for an encrypted key.
    return b''


def _load_identity(context: ssl.SSLContext, identity: _Identity) -> None:
    password: str | Callable[[], bytes] = (
        identity.passphrase if identity.passphrase is not None else _no_passphrase)
    try:
        with memory_path(identity.chain) as chain_path, memory_path(identity.key) as key_path:
            context.load_cert_chain(chain_path, key_path, password)
    except ssl.SSLError as err:
        raise _identity_error(identity, err) from None


def _identity_error(identity: _Identity, err: ssl.SSLError) -> OpenSSLError:
    # CPython reports only the last error OpenSSL queued, which for a bad
    # PEM is the generic 'PEM lib' of SSL_CTX_use_*_file. Node reports the
    # first (the cause), so the cause is found again here, in Node's order:
    # the certificate is loaded before the key.
    if getattr(err, 'reason', None) == 'NO_CERTIFICATE_ASSIGNED':
        # A key of another type than the certificate's (RSA key, ECDSA
        # certificate): OpenSSL finds no certificate in the key's slot. The
        # key does not match the certificate, so say so as for a same-type
        # mismatch.
        return _mismatch()
    if getattr(err, 'library', None) != 'SSL' or 'PEM lib' not in str(err):
        return openssl_error(err)
    if not _PEM_CERT_BLOCK.search(identity.chain.decode('latin-1')):
        return OpenSSLError('ERR_OSSL_PEM_NO_START_LINE', 'PEM routines', 'no start line')
    key = identity.key.decode('latin-1')
    if not _PEM_KEY_BLOCK.search(key):
        return OpenSSLError('ERR_OSSL_UNSUPPORTED', 'DECODER routines', 'unsupported')
    if _ENCRYPTED_KEY.search(key):
        return _bad_decrypt()
    return openssl_error(err)


def _pair(certs: list[str], keys: list[tuple[str, str | None]]) -> list[_Identity]:
    # Match each key with the certificate it belongs to. OpenSSL keeps one
    # identity per key type in a context; the standard library loads a
    # certificate and its key together, so the pairs are found first, on a
    # scratch context, and loaded in order afterwards.
    if len(certs) == 1 and len(keys) == 1:
        return [_Identity(certs[0].encode('latin-1'), keys[0][0].encode('latin-1'), keys[0][1])]
    left = list(range(len(certs)))
    pairs = []
    for k, (key, passphrase) in enumerate(keys):
        mismatch: OpenSSLError | None = None
        for c in left:
            candidate = _Identity(certs[c].encode('latin-1'), key.encode('latin-1'), passphrase)
            try:
                _load_identity(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), candidate)
            except OpenSSLError as err:
                if err.code != 'ERR_OSSL_X509_KEY_VALUES_MISMATCH':
                    raise
                mismatch = err
                continue
            left.remove(c)
            pairs.append(candidate)
            break
        else:
            if mismatch is not None:
                raise mismatch
            raise UnsupportedError(f'options.key[{k}] without a certificate',
                                   'give each key its cert')
    if left:
        raise UnsupportedError(f'options.cert[{left[0]}] without its private key',
                               'give each cert its key')
    return pairs


def _from_pkcs12(raw: object, passphrase: str | None) -> tuple[_Identity, list[str]]:
    # A PKCS#12 (PFX) bundle as Node's loadPKCS12 reads it: the key, its
    # certificate, and the other certificates, which go out with it and are
    # trusted too. The standard library cannot read PKCS#12; cryptography can.
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        raise UnsupportedError('options.pfx without the cryptography package',
                               'install gnet-node[tls], or pass key and cert as PEM') from None
    if isinstance(raw, str):
        raw = raw.encode('utf-8')
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise CryptoOperationFailedError('Unable to load PFX certificate')
    data = bytes(raw)
    password = passphrase.encode('utf-8') if passphrase is not None else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError):
        # OpenSSL's words, as Node shows them: a DER structure that fails
        # its MAC (a wrong or missing passphrase), or no structure at all.
        reason = 'mac verify failure' if data[:1] == b'\x30' else 'not enough data'
        raise CryptoOperationFailedError(reason) from None
    if key is None or cert is None:
        raise CryptoOperationFailedError('Unable to load PFX certificate')
    pem = serialization.Encoding.PEM
    chain = cert.public_bytes(pem) + b''.join(c.public_bytes(pem) for c in extra)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (_Identity(chain, key_pem, None),
            [c.public_bytes(pem).decode('ascii') for c in extra])


class SecureContext:
    """Credentials and TLS policy for connections (Node's ``tls.SecureContext``).

    Made by :func:`createSecureContext`; pass it as the ``secureContext``
    option of a TLS socket or server. It holds no connection state and may
    be shared by any number of connections.

    Difference from Node: Node's ``context`` property (a native handle) is
    not there; :meth:`ssl_context` gives the standard library's
    ``ssl.SSLContext`` for one side instead.
    """

    __slots__ = (
        '_ca', '_cipher_list', '_crl', '_curve', '_dhparam', '_extra_ca', '_identities', '_max',
        '_min', '_options', '_partial_chain', '_prefer_server', '_contexts', '_engines',
    )

    def __init__(self, options: dict[str, Any]) -> None:
        self._contexts: dict[tuple[bool, ssl.VerifyMode], ssl.SSLContext] = {}
        # The pyOpenSSL tier's engine contexts (gnet.tls.pyopenssl), made on use.
        self._engines: dict[Any, Any] = {}
        self._configure(options)
        # Fail now, as Node does, rather than at the first connection. The
        # default roots cannot fail and take most of the time (about 20 ms
        # for 150 certificates), so this trial leaves them out; the contexts
        # connections use are made on first use, each for its side.
        self._build(False, ssl.CERT_NONE, roots=False)

    def _configure(self, options: dict[str, Any]) -> None:
        name = 'options'
        secure_protocol = options.get('secureProtocol')
        min_version = options.get('minVersion')
        max_version = options.get('maxVersion')
        if secure_protocol:
            if min_version is not None:
                raise TLSProtocolVersionConflictError(min_version, secure_protocol)
            if max_version is not None:
                raise TLSProtocolVersionConflictError(max_version, secure_protocol)
        low = _to_version('minimum', min_version, current('DEFAULT_MIN_VERSION'))
        high = _to_version('maximum', max_version, current('DEFAULT_MAX_VERSION'))
        if secure_protocol:
            if not isinstance(secure_protocol, str):
                raise InvalidArgTypeError(f'{name}.secureProtocol', 'str', secure_protocol)
            if secure_protocol in _DISABLED_METHODS:
                raise TLSInvalidProtocolMethodError(secure_protocol,
                                                    _DISABLED_METHODS[secure_protocol])
            if secure_protocol not in _METHODS:
                raise TLSInvalidProtocolMethodError(secure_protocol)
            method_low, method_high = _METHODS[secure_protocol]
            low = method_low if method_low is not None else low
            high = method_high if method_high is not None else high

        secure_options = options.get('secureOptions')
        self._options = 0
        if secure_options:
            self._options = validate_int(secure_options, 'secureOptions', 0)
        self._prefer_server = bool(options.get('honorCipherOrder'))

        ciphers = options.get('ciphers')
        if ciphers is not None:
            validate_string(ciphers, f'{name}.ciphers')
        cipher_list, suites = _split_ciphers(ciphers or current('DEFAULT_CIPHERS'),
                                             f'{name}.ciphers')
        if suites:
            unknown = [s for s in suites if s.lstrip('!') not in _TLS13_NAMES]
            if unknown:
                raise OpenSSLError('ERR_SSL_NO_CIPHER_MATCH', 'SSL routines', 'no cipher match')
            if suites != _default_suites():
                raise UnsupportedError(
                    f'{name}.ciphers choosing TLS 1.3 suites ({":".join(suites)})',
                    'the standard library uses OpenSSL\'s default TLS 1.3 suites ('
                    + ':'.join(_default_suites()) + '); name exactly those, or none')
        if not cipher_list and low < ssl.TLSVersion.TLSv1_3 and high > ssl.TLSVersion.TLSv1_2:
            # Node: TLS 1.2 ciphers cleared means TLS 1.3 only.
            low = ssl.TLSVersion.TLSv1_3
        # '' keeps OpenSSL's default list, as Node's setCiphers('') does.
        self._cipher_list = cipher_list or 'DEFAULT'
        self._min, self._max = low, high

        for option, instead in _UNSUPPORTED.items():
            value = options.get(option)
            if value is not None and value is not False:
                if option in ('sigalgs', 'sessionIdContext'):
                    validate_string(value, f'{name}.{option}')
                raise UnsupportedError(f'{name}.{option}', instead)

        ca = options.get('ca')
        self._ca: list[str] | None = None
        if _truthy(ca):
            self._ca = []
            for item in _as_list(ca):
                text = _pem_text(item, f'{name}.ca')
                if _PEM_CERT not in text:
                    raise InvalidArgValueError(f'{name}.ca', item, 'holds no PEM certificate')
                self._ca.append(text)

        cert = options.get('cert')
        certs = ([_pem_text(item, f'{name}.cert') for item in _as_list(cert)]
                 if _truthy(cert) else [])
        key = options.get('key')
        passphrase = options.get('passphrase')
        if passphrase is not None:
            validate_string(passphrase, f'{name}.passphrase')
        keys: list[tuple[str, str | None]] = []
        if _truthy(key):
            for item in _as_list(key):
                pem, pass_ = item, passphrase
                if isinstance(item, dict):
                    pem = item.get('pem', item)
                    pass_ = item.get('passphrase', passphrase)
                    if pass_ is not None:
                        validate_string(pass_, f'{name}.passphrase')
                keys.append((_pem_text(pem, f'{name}.key'), pass_))
        if certs and not keys:
            raise UnsupportedError(f'{name}.cert without {name}.key',
                                   'the standard library loads a certificate with its key')
        if keys and not certs:
            raise UnsupportedError(f'{name}.key without {name}.cert',
                                   'the standard library loads a key with its certificate')
        self._identities = _pair(certs, keys) if certs else []
        self._extra_ca: list[str] = []
        pfx = options.get('pfx')
        if pfx is not None:
            for item in _as_list(pfx):
                raw, pass_ = item, passphrase
                if isinstance(item, dict):
                    raw = item.get('buf') or item
                    pass_ = item.get('passphrase') or passphrase
                identity, extra = _from_pkcs12(raw, pass_)
                self._identities.append(identity)
                self._extra_ca.extend(extra)

        curve = options.get('ecdhCurve')
        if curve is None:
            curve = current('DEFAULT_ECDH_CURVE') or 'auto'
        validate_string(curve, f'{name}.ecdhCurve')
        if curve != 'auto' and ':' in curve:
            raise UnsupportedError(f'{name}.ecdhCurve with several curves ({curve!r})',
                                   "the standard library sets one curve; give one, or 'auto'")
        self._curve = None if curve == 'auto' else _NIST_CURVES.get(curve, curve)

        dhparam = options.get('dhparam')
        self._dhparam: bytes | None = None
        if dhparam is not None:
            text = _pem_text(dhparam, f'{name}.dhparam')
            if text == 'auto':
                raise UnsupportedError(f"{name}.dhparam 'auto'",
                                       'the standard library cannot turn on automatic DH '
                                       'parameters; give PEM parameters')
            self._dhparam = text.encode('latin-1')

        crl = options.get('crl')
        self._crl: bytes | None = None
        if crl is not None:
            blocks = []
            for item in _as_list(crl):
                found = _PEM_CRL.findall(_pem_text(item, f'{name}.crl'))
                if not found:
                    raise CryptoOperationFailedError('Failed to parse CRL')
                blocks.extend(found)
            self._crl = ('\n'.join(blocks) + '\n').encode('ascii')
        self._partial_chain = bool(options.get('allowPartialTrustChain'))

    def _build(self, server_side: bool, verify_mode: ssl.VerifyMode,
               roots: bool = True) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side
                                 else ssl.PROTOCOL_TLS_CLIENT)
        # Names are checked by gnet (checkServerIdentity), as Node checks them.
        context.check_hostname = False
        context.verify_mode = verify_mode
        with warnings.catch_warnings():
            # TLSv1 and TLSv1.1 are deprecated in Python; Node still lets
            # minVersion name them.
            warnings.simplefilter('ignore', DeprecationWarning)
            context.minimum_version = self._min
            context.maximum_version = self._max
        if self._prefer_server:
            context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:
            context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        if self._options:
            context.options |= self._options
        try:
            context.set_ciphers(self._cipher_list)
        except ssl.SSLError:
            raise OpenSSLError('ERR_SSL_NO_CIPHER_MATCH', 'SSL routines',
                               'no cipher match') from None
        if self._ca is None:
            if roots:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH if not server_side
                                           else ssl.Purpose.CLIENT_AUTH)
        else:
            for text in self._ca:
                try:
                    context.load_verify_locations(cadata=text)
                except ssl.SSLError as err:
                    raise openssl_error(err) from None
        for text in self._extra_ca:
            # Node trusts the CA certificates a PFX carries, as well as
            # sending them with its certificate.
            context.load_verify_locations(cadata=text)
        if self._crl is not None:
            with memory_path(self._crl) as path:
                try:
                    context.load_verify_locations(cafile=path)
                except ssl.SSLError:
                    raise CryptoOperationFailedError('Failed to parse CRL') from None
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
        if self._partial_chain:
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        for identity in self._identities:
            _load_identity(context, identity)
        if self._curve is not None:
            try:
                context.set_ecdh_curve(self._curve)
            except (ValueError, ssl.SSLError):
                raise CryptoOperationFailedError('Failed to set ECDH curve') from None
        if self._dhparam is not None:
            with memory_path(self._dhparam) as path:
                try:
                    context.load_dh_params(path)
                except ssl.SSLError as err:
                    raise openssl_error(err) from None
        return context

    def ssl_context(self, server_side: bool,
                   verify_mode: ssl.VerifyMode | None = None) -> ssl.SSLContext:
        """The standard library's context for one side, made once and cached.

        Both sides carry the same credentials, trust store and policy.
        OpenSSL's own host-name check is off: gnet checks names as Node does,
        with :func:`gnet.tls.checkServerIdentity`.

        Args:
            server_side: ``True`` for the server's side of a connection.
            verify_mode: How to treat the peer's certificate; by default
                ``CERT_REQUIRED`` for a client and ``CERT_NONE`` for a server
                (Node's ``requestCert: false``).

        Returns:
            An ``ssl.SSLContext``; do not change it, it is shared.
        """
        if verify_mode is None:
            verify_mode = ssl.CERT_NONE if server_side else ssl.CERT_REQUIRED
        key = (bool(server_side), ssl.VerifyMode(verify_mode))
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = self._build(*key)
        return context

    def __repr__(self) -> str:
        return f'<SecureContext identities={len(self._identities)}>'


def createSecureContext(options: object = None, **kwargs: Any) -> SecureContext:
    """Make a :class:`SecureContext` (Node's ``tls.createSecureContext([options])``).

    ``createSecureContext({'key': key_pem, 'cert': cert_pem})`` or
    ``createSecureContext(key=key_pem, cert=cert_pem)``. The options are in
    this module's docstring.

    Args:
        options: Node's options dict, or ``None``.
        **kwargs: The same options as keywords (camelCase or snake_case).

    Returns:
        The new context.

    Raises:
        InvalidArgTypeError: An option of the wrong type
            (``ERR_INVALID_ARG_TYPE``, naming ``options.<name>``).
        InvalidArgValueError: ``ciphers`` names nothing; ``ca`` holds no
            certificate.
        TLSInvalidProtocolVersionError: A bad ``minVersion``/``maxVersion``.
        TLSProtocolVersionConflictError: ``secureProtocol`` with a version.
        TLSInvalidProtocolMethodError: An unknown ``secureProtocol``.
        OpenSSLError: OpenSSL refused a key, certificate or cipher list
            (``ERR_OSSL_PEM_NO_START_LINE``,
            ``ERR_OSSL_X509_KEY_VALUES_MISMATCH``, ``ERR_OSSL_BAD_DECRYPT``,
            ``ERR_SSL_NO_CIPHER_MATCH``, ...).
        CryptoOperationFailedError: A bad ``ecdhCurve`` or ``crl``.
        UnsupportedError: An option the standard library cannot honour.
    """
    merged = merge_options(options, kwargs, _KNOWN)
    return SecureContext(merged)
