"""The pyOpenSSL engine (``gnet-node[tls]``): what the standard library's ``ssl`` cannot do.

Theory of operation
-------------------
:class:`PyOpenSSLObject` presents the interface of ``ssl.SSLObject`` (it
is a subclass, so the transport and the socket use it unchanged) over an
``OpenSSL.SSL.Connection`` in memory-BIO mode. The transport's two
``ssl.MemoryBIO`` s stay the transport's: before each call the object
moves the ciphertext the incoming BIO holds into the connection
(``bio_write``; the incoming BIO's EOF becomes ``bio_shutdown``), and
after it moves what OpenSSL wrote out to the outgoing BIO (``bio_read``).
pyOpenSSL's exceptions become the standard library's
(``WantReadError`` → ``ssl.SSLWantReadError``, ``ZeroReturnError`` → EOF,
``SysCallError`` → ``ssl.SSLEOFError``, ``Error`` → ``ssl.SSLError`` with
``library`` and ``reason`` as CPython sets them), so
:func:`gnet.tls.openssl.openssl_error` names them as Node does.

:class:`PyOpenSSLContext` is the engine context: an ``OpenSSL.SSL.Context``
made from a :class:`~gnet.tls.context.SecureContext`'s validated options
(keys, certificates, ``ca``, ``crl``, ciphers, versions, curve, DH
parameters; no file left on disk: PEM goes through
:mod:`gnet.tls.memfile`), one per side, verify mode and ALPN setting,
cached on the ``SecureContext``. Its callbacks, set once per context,
find their connection through ``Connection.get_app_data()`` and its
TLSSocket through ``_gnet_socket``:

* **verify**: OpenSSL's verdict, and the first failure kept for
  ``SSLCertVerificationError`` (as the standard library reports it); in the
  server's "request but accept" mode (``ssl.CERT_OPTIONAL``:
  ``requestCert`` with ``rejectUnauthorized: false``) every certificate is
  accepted, as Node's callback does, and the *last* failure (the one
  Node's ``SSL_get_verify_result`` reads) gives ``authorizationError``;
* **ALPN** (server): ``ALPNCallback({servername, protocols})`` or the
  server's ``ALPNProtocols`` in its own order; no protocol is a fatal
  ``no_application_protocol`` alert, as in Node;
* **keylog**: each NSS key-log line, with its newline, is the socket's
  'keylog'(line) and its server's 'keylog'(line, socket), queued in the
  socket's event sequence;
* **SNI** (server): the server's ``SNICallback`` or ``addContext``
  entries (which may block cooperatively), switching the connection to the
  chosen context's engine;
* **OCSP stapling**: a server's 'OCSPRequest'(certificate, issuer,
  callback(err, response)) listeners (which may answer later: the
  handshake then runs in a greenlet), and a client's ``requestOCSP``,
  whose 'OCSPResponse'(response or None) comes before 'secureConnect'.

The handshake runs in the transport's handshake greenlet, so the callbacks
do too.
"""

from __future__ import annotations

import ssl
import warnings
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from OpenSSL._util import ffi as _ffi, lib as _lib

from gnet.errors import TLSConnectionError
from gnet.tls.memfile import memory_path
from gnet.tls.openssl import _LIB_TEXT

__all__ = ("PyOpenSSLContext", "PyOpenSSLObject", "engine_context_for")

_CHUNK = 64 * 1024
_LIB_NAMES = {text: name for name, text in _LIB_TEXT.items()}
_DER = serialization.Encoding.DER
_VERSIONS = {
    ssl.TLSVersion.TLSv1: SSL.TLS1_VERSION,
    ssl.TLSVersion.TLSv1_1: SSL.TLS1_1_VERSION,
    ssl.TLSVersion.TLSv1_2: SSL.TLS1_2_VERSION,
    ssl.TLSVersion.TLSv1_3: SSL.TLS1_3_VERSION,
}


# ----------------------------------------------------------------------
# Errors


def ssl_error(err: Exception) -> ssl.SSLError:
    """The standard library's exception for a pyOpenSSL one (see the module docstring)."""
    if isinstance(err, SSL.WantReadError):
        return ssl.SSLWantReadError(2, "The operation did not complete (read)")
    if isinstance(err, SSL.WantWriteError):
        return ssl.SSLWantWriteError(3, "The operation did not complete (write)")
    if isinstance(err, SSL.ZeroReturnError):
        return ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF)")
    if isinstance(err, SSL.SysCallError):
        return ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    entries = err.args[0] if err.args and isinstance(err.args[0], list) else []
    if entries:
        # OpenSSL's queue, oldest first: Node names an error from the first.
        lib_text, _function, reason_text = entries[0]
    else:
        lib_text, reason_text = "SSL routines", str(err) or "unknown error"
    library = _LIB_NAMES.get(lib_text, lib_text.split(" ")[0].upper())
    reason = reason_text.upper().replace(" ", "_")
    exc = ssl.SSLError(1, f"[{library}: {reason}] {reason_text}")
    exc.library = library
    exc.reason = reason
    return exc


def _verify_message(code: int) -> str:
    return str(_ffi.string(_lib.X509_verify_cert_error_string(code)).decode("ascii"))


class _NoProtocol(Exception):
    """Raised in the ALPN callback: OpenSSL sends the fatal no_application_protocol alert."""


# ----------------------------------------------------------------------
# Building an OpenSSL.SSL.Context from a SecureContext


def _load_pem_certs(text: str | bytes) -> list[x509.Certificate]:
    data = text.encode("latin-1") if isinstance(text, str) else text
    return list(x509.load_pem_x509_certificates(data))


def _build(secure: Any, server_side: bool, verify_mode: ssl.VerifyMode) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD if server_side else SSL.TLS_CLIENT_METHOD)
    low = _VERSIONS.get(secure._min, 0)
    high = _VERSIONS.get(secure._max, 0)
    ctx.set_min_proto_version(low)
    ctx.set_max_proto_version(high)
    options = SSL.OP_NO_COMPRESSION | int(secure._options or 0)
    if secure._prefer_server:
        options |= SSL.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_options(options)
    ctx.set_cipher_list(secure._cipher_list.encode("ascii"))
    store: Any = ctx.get_cert_store()
    if secure._ca is None:
        paths = ssl.get_default_verify_paths()
        ctx.load_verify_locations(paths.cafile, paths.capath)
    else:
        for text in secure._ca:
            for cert in _load_pem_certs(text):
                store.add_cert(crypto.X509.from_cryptography(cert))
                if server_side:
                    # Node names its CAs in the server's certificate request.
                    ctx.add_client_ca(cert)
    for text in secure._extra_ca:
        for cert in _load_pem_certs(text):
            store.add_cert(crypto.X509.from_cryptography(cert))
    flags = 0
    if secure._crl is not None:
        for crl in _load_crls(secure._crl):
            store.add_crl(crl)
        flags |= crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
    if secure._partial_chain:
        flags |= crypto.X509StoreFlags.PARTIAL_CHAIN
    if flags:
        store.set_flags(flags)
    for identity in secure._identities:
        with memory_path(identity.chain) as path:
            ctx.use_certificate_chain_file(path)
        password = identity.passphrase.encode("utf-8") if identity.passphrase is not None \
            else None
        key: Any = serialization.load_pem_private_key(identity.key, password)
        ctx.use_privatekey(key)
    if secure._curve is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.set_tmp_ecdh(crypto.get_elliptic_curve(secure._curve))
    if secure._dhparam is not None:
        with memory_path(secure._dhparam) as path:
            ctx.load_tmp_dh(path)
    if server_side:
        # Resumption with client certificates needs a session ID context.
        ctx.set_session_id(b"gnet-node")
    return ctx


def _load_crls(pem: bytes) -> list[x509.CertificateRevocationList]:
    blocks = pem.split(b"-----END X509 CRL-----")
    return [x509.load_pem_x509_crl(block + b"-----END X509 CRL-----\n")
            for block in blocks if b"-----BEGIN X509 CRL-----" in block]


class PyOpenSSLContext:
    """Makes :class:`PyOpenSSLObject` s: one ``SecureContext``, side, verify mode, ALPN.

    Args:
        secure: The :class:`~gnet.tls.context.SecureContext`.
        server_side: True for servers' connections.
        verify_mode: ``CERT_NONE``, ``CERT_REQUIRED``, or ``CERT_OPTIONAL``
            (a server's ``requestCert`` with ``rejectUnauthorized: false``:
            ask for a certificate, accept any, report what was wrong).
        alpn: ``ALPNProtocols`` (client: offered; server: chosen from, in
            this order), or None.
        alpn_callback: A server's ``ALPNCallback``, or None.
        request_ocsp: A client's ``requestOCSP``: ask for the server's
            stapled OCSP response.
    """

    def __init__(self, secure: Any, server_side: bool, verify_mode: ssl.VerifyMode,
                 alpn: list[str] | None, alpn_callback: Any,
                 request_ocsp: bool = False) -> None:
        self.secure = secure
        self.server_side = server_side
        self.verify_mode = verify_mode
        self.alpn = alpn
        self.alpn_callback = alpn_callback
        self.request_ocsp = request_ocsp
        ctx = self.ctx = _build(secure, server_side, verify_mode)
        if verify_mode == ssl.CERT_NONE:
            ctx.set_verify(SSL.VERIFY_NONE, None)
        else:
            mode = SSL.VERIFY_PEER
            if verify_mode == ssl.CERT_REQUIRED and server_side:
                mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
            ctx.set_verify(mode, _on_verify)
        ctx.set_keylog_callback(_on_keylog)
        if server_side:
            if alpn or alpn_callback is not None:
                ctx.set_alpn_select_callback(self._on_alpn)
            ctx.set_tlsext_servername_callback(_on_servername)
            ctx.set_ocsp_server_callback(_on_ocsp_request)
        else:
            if alpn:
                ctx.set_alpn_protos([name.encode("latin-1") for name in alpn])
            if request_ocsp:
                ctx.set_ocsp_client_callback(_on_ocsp_response)

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 server_side: bool = False, server_hostname: str | None = None,
                 session: Any = None) -> ssl.SSLObject:
        """A new engine for one connection (as ``ssl.SSLContext.wrap_bio``)."""
        return PyOpenSSLObject(self, incoming, outgoing, server_side, server_hostname, session)

    def _on_alpn(self, conn: SSL.Connection, offered: list[bytes]) -> bytes:
        protocols = [p.decode("latin-1") for p in offered]
        callback = self.alpn_callback
        if callback is not None:
            name = conn.get_servername()
            chosen = callback({"servername": name.decode("latin-1") if name else None,
                               "protocols": protocols})
            if chosen is None:
                raise _NoProtocol()
            if not isinstance(chosen, str) or chosen not in protocols:
                obj = conn.get_app_data()
                obj._drop_output = True  # Node closes without an alert
                raise TLSConnectionError(
                    "ERR_TLS_ALPN_CALLBACK_INVALID_RESULT",
                    f"ALPN callback returned a value ({chosen}) that did not match any of "
                    f"the client's offered protocols ({', '.join(protocols)})")
            return chosen.encode("latin-1")
        for mine in self.alpn or ():
            if mine in protocols:
                return mine.encode("latin-1")
        raise _NoProtocol()


def engine_context_for(secure: Any, server_side: bool, verify_mode: ssl.VerifyMode,
                       alpn: list[str] | None, alpn_callback: Any,
                       request_ocsp: bool = False) -> PyOpenSSLContext:
    """The engine context for these settings, made once per ``SecureContext`` and cached there."""
    cache: dict[Any, Any] = secure._engines
    key = (bool(server_side), ssl.VerifyMode(verify_mode), tuple(alpn or ()), alpn_callback,
           bool(request_ocsp))
    found = cache.get(key)
    if found is None:
        found = cache[key] = PyOpenSSLContext(secure, server_side, verify_mode, alpn,
                                              alpn_callback, bool(request_ocsp))
    made: PyOpenSSLContext = found
    return made


# ----------------------------------------------------------------------
# Callbacks (in the handshake's greenlet)


def _on_verify(conn: SSL.Connection, _cert: Any, errnum: int, _depth: int, ok: int) -> bool:
    obj: PyOpenSSLObject = conn.get_app_data()
    if not ok:
        if not obj._verify_code:
            obj._verify_code = errnum
        # pyOpenSSL clears the store's error when this accepts, so
        # SSL_get_verify_result() stays 0: the last failure is kept here
        # (Node reads the last one).
        obj._last_verify_code = errnum
    if obj._engine.verify_mode == ssl.CERT_OPTIONAL:
        return True  # Node's callback: go on, read the verdict afterwards
    return bool(ok)


def _on_keylog(conn: SSL.Connection, line: bytes) -> None:
    obj: PyOpenSSLObject = conn.get_app_data()
    sock = obj._gnet_socket
    if sock is None:
        return
    data = bytes(line) + b"\n"
    if sock.listenerCount("keylog"):
        sock._queue(sock.emit, "keylog", data)
    config = getattr(sock, "_tls", None)
    server: Any = getattr(config, "server", None) if obj._server_side else None
    count = getattr(server, "listenerCount", None)
    if count is not None and count("keylog"):
        sock._queue(server.emit, "keylog", data, sock)


def _on_servername(conn: SSL.Connection) -> None:
    # The server's choice of context; an error is kept and raised from
    # do_handshake (pyOpenSSL would print an exception raised here).
    obj: PyOpenSSLObject = conn.get_app_data()
    sock = obj._gnet_socket
    raw = conn.get_servername()
    name = raw.decode("latin-1") if raw else None
    if sock is None:
        return
    sock.servername = name or False
    server = getattr(getattr(sock, "_tls", None), "server", None)
    choose = getattr(server, "_choose_context", None)
    if choose is None:
        return
    try:
        chosen = choose(name)
    except BaseException as exc:
        obj._abort = exc
        obj._drop_output = True
        return
    engine = obj._engine
    if chosen is not None and chosen is not engine.secure:
        other = engine_context_for(chosen, True, engine.verify_mode, engine.alpn,
                                   engine.alpn_callback)
        conn.set_context(other.ctx)
        obj._engine = other


def _issuer_der(leaf: Any, secure: Any) -> bytes | None:
    # Node's issuer for 'OCSPRequest': from the certificates sent with the
    # leaf, else from the trusted ones (``ca``); None when neither has it.
    candidates: list[x509.Certificate] = []
    for identity in secure._identities:
        candidates.extend(_load_pem_certs(identity.chain)[1:])
    for text in (secure._ca or []) + list(secure._extra_ca):
        candidates.extend(_load_pem_certs(text))
    for cert in candidates:
        if cert.subject == leaf.issuer:
            return cert.public_bytes(_DER)
    return None


def _on_ocsp_request(conn: SSL.Connection, _data: Any) -> bytes:
    # Server: the client asked for a stapled OCSP response. The server's
    # 'OCSPRequest'(certificate, issuer, callback) listeners answer; with
    # one, the handshake runs in a greenlet, so the answer may come later.
    obj: PyOpenSSLObject = conn.get_app_data()
    sock = obj._gnet_socket
    server: Any = getattr(getattr(sock, "_tls", None), "server", None)
    count = getattr(server, "listenerCount", None)
    if count is None or not count("OCSPRequest"):
        return b""
    from gevent.event import AsyncResult

    leaf = conn.get_certificate(as_cryptography=True)
    if leaf is None:
        return b""
    answer: AsyncResult = AsyncResult()

    def callback(err: Any = None, response: Any = None) -> None:
        if not answer.ready():
            answer.set((err, response))

    server.emit("OCSPRequest", leaf.public_bytes(_DER), _issuer_der(leaf, obj._engine.secure),
                callback)
    err, response = answer.get()
    if err is not None:
        obj._drop_output = True  # Node closes without an alert
        raise err
    return bytes(response) if response else b""


def _on_ocsp_response(conn: SSL.Connection, response: bytes, _data: Any) -> bool:
    # Client (requestOCSP): the server's stapled response, or b'' for none.
    obj: PyOpenSSLObject = conn.get_app_data()
    sock = obj._gnet_socket
    if sock is not None:
        sock._queue(sock.emit, "OCSPResponse", bytes(response) if response else None)
    return True


# ----------------------------------------------------------------------
# The engine


class EngineSession:
    """A pyOpenSSL session, with the attributes gnet reads of an ``ssl.SSLSession``."""

    __slots__ = ("_session", "id", "time", "has_ticket", "ticket_lifetime_hint")

    def __init__(self, session: SSL.Session) -> None:
        self._session = session
        pointer = int(_ffi.cast("uintptr_t", session._session))
        self.id = pointer.to_bytes(8, "little")
        self.time = 0
        self.has_ticket = True
        self.ticket_lifetime_hint = 0


class PyOpenSSLObject(ssl.SSLObject):
    """``ssl.SSLObject``'s interface over a pyOpenSSL connection (see the module docstring).

    Made by :meth:`PyOpenSSLContext.wrap_bio`, never directly.
    """

    def __init__(self, engine: PyOpenSSLContext, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO, server_side: bool, server_hostname: str | None,
                 session: Any) -> None:
        # ssl.SSLObject.__init__ refuses to run (it is made by wrap_bio);
        # none of its state is used here.
        self._engine = engine
        self._incoming = incoming
        self._outgoing = outgoing
        self._server_side = server_side
        self._server_hostname = server_hostname
        self._in_eof = False
        self._done = False
        self._verify_code = 0
        self._last_verify_code = 0
        self._abort: BaseException | None = None
        self._drop_output = False
        self._gnet_socket: Any = None
        conn = self._conn = SSL.Connection(engine.ctx, None)
        conn.set_app_data(self)
        if server_side:
            conn.set_accept_state()
        else:
            conn.set_connect_state()
            if server_hostname:
                conn.set_tlsext_host_name(server_hostname.encode("idna"))
            if isinstance(session, EngineSession):
                conn.set_session(session._session)
            if engine.request_ocsp:
                conn.request_ocsp()

    # -- moving ciphertext between the transport's BIOs and OpenSSL's

    def _feed(self) -> None:
        data = self._incoming.read()
        if data:
            self._conn.bio_write(data)
        if self._incoming.eof and not self._in_eof:
            self._in_eof = True
            self._conn.bio_shutdown()

    def _drain(self) -> None:
        conn = self._conn
        out = self._outgoing
        while True:
            try:
                data = conn.bio_read(_CHUNK)
            except SSL.WantReadError:
                return
            if not data:
                return
            if not self._drop_output:
                out.write(data)

    # -- ssl.SSLObject's interface

    def do_handshake(self) -> None:
        """Advance the handshake; ``ssl.SSLWantReadError`` while it waits for the peer."""
        self._feed()
        try:
            self._conn.do_handshake()
        except _NoProtocol:
            raise ssl_error(SSL.Error([("SSL routines", "", "no application protocol")])) \
                from None
        except SSL.Error as err:
            if self._abort is not None:
                raise self._abort from None
            code = self._verify_code
            if code and self._engine.verify_mode != ssl.CERT_OPTIONAL \
                    and not isinstance(err, (SSL.WantReadError, SSL.WantWriteError)):
                exc = ssl.SSLCertVerificationError(
                    1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                       f"{_verify_message(code)}")
                exc.library = "SSL"
                exc.reason = "CERTIFICATE_VERIFY_FAILED"
                exc.verify_code = code
                exc.verify_message = _verify_message(code)
                raise exc from None
            raise ssl_error(err) from None
        finally:
            self._drain()
        if self._abort is not None:
            raise self._abort
        self._done = True

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Up to ``len`` plaintext bytes (``b''`` at close_notify)."""
        self._feed()
        try:
            if buffer is not None:
                return self._conn.recv_into(buffer, len)
            return self._conn.recv(len)
        except SSL.ZeroReturnError:
            return 0 if buffer is not None else b""
        except SSL.Error as err:
            raise ssl_error(err) from None
        finally:
            self._drain()

    def write(self, data: Any) -> int:
        """Encrypt ``data``; how many bytes were taken."""
        self._feed()
        try:
            return self._conn.send(data)
        except SSL.Error as err:
            raise ssl_error(err) from None
        finally:
            self._drain()

    def unwrap(self) -> None:
        """Send close_notify (the peer's may come later)."""
        self._feed()
        try:
            self._conn.shutdown()
        except SSL.Error as err:
            raise ssl_error(err) from None
        finally:
            self._drain()

    def pending(self) -> int:
        """Bytes a ``read()`` may turn into plaintext: decrypted, or still ciphertext.

        The standard library's engine reads the transport's incoming BIO
        itself, so the transport sees its ciphertext there; this one moves
        that BIO's bytes into the connection's own on every call, so the
        ciphertext not decrypted yet is counted here, with the plaintext
        OpenSSL holds. The transport only asks whether a read is worth
        making, and sizes it from the answer (plaintext is never longer
        than its records).
        """
        conn = self._conn
        return int(conn.pending()) + int(_lib.BIO_get_mem_data(conn._into_ssl, _ffi.NULL))

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate: DER with ``binary_form``, else the standard library's dict."""
        if not self._done:
            raise ValueError("handshake not done yet")
        cert = self._conn.get_peer_certificate(as_cryptography=True)
        if cert is None:
            return None
        der = cert.public_bytes(_DER)
        if binary_form:
            return der
        pem = ssl.DER_cert_to_PEM_cert(der).encode("ascii")
        with memory_path(pem) as path:
            return ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]

    def get_unverified_chain(self) -> list[bytes]:
        """The certificates the peer sent, as DER (a server's leaves out the client's own)."""
        chain = self._conn.get_peer_cert_chain(as_cryptography=True) or []
        return [cert.public_bytes(_DER) for cert in chain]

    def verify_failure(self) -> str | None:
        """Node's ``authorizationError`` for a certificate accepted unverified, or None."""
        if self._engine.verify_mode != ssl.CERT_OPTIONAL:
            return None
        code = self._last_verify_code
        if code == 0:
            return None
        from gnet.tls.verify import authorization_error

        return authorization_error(code, None, _verify_message(code)).code

    def version(self) -> str | None:
        """The negotiated protocol (``'TLSv1.3'``), None before the handshake."""
        return self._conn.get_protocol_version_name() if self._done else None

    def cipher(self) -> tuple[str, str, int] | None:
        """``(name, protocol, secret bits)`` of the negotiated suite, None before."""
        if not self._done:
            return None
        name = self._conn.get_cipher_name()
        if name is None:
            return None
        return (name, self._conn.get_cipher_version() or "", self._conn.get_cipher_bits() or 0)

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """Not available from pyOpenSSL: None."""
        return None

    def compression(self) -> str | None:
        """Never compressed."""
        return None

    def selected_alpn_protocol(self) -> str | None:
        """The protocol ALPN chose, or None."""
        chosen = self._conn.get_alpn_proto_negotiated()
        return chosen.decode("latin-1") if chosen else None

    def selected_npn_protocol(self) -> str | None:
        """NPN is not supported: None."""
        return None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        """Not available from this engine: None."""
        return None

    @property
    def context(self) -> Any:
        """The engine context (a :class:`PyOpenSSLContext`)."""
        return self._engine

    @context.setter
    def context(self, value: Any) -> None:
        if not isinstance(value, PyOpenSSLContext):
            raise TypeError("a PyOpenSSLContext is needed")
        self._conn.set_context(value.ctx)
        self._engine = value

    @property
    def server_side(self) -> bool:
        """True for the server's end."""
        return self._server_side

    @property
    def server_hostname(self) -> str | None:
        """The SNI sent (client), or None."""
        return self._server_hostname

    @property
    def session(self) -> Any:
        """The current session (an :class:`EngineSession`, this engine and process only)."""
        session = self._conn.get_session()
        return EngineSession(session) if session is not None else None

    @session.setter
    def session(self, value: Any) -> None:
        if isinstance(value, EngineSession):
            self._conn.set_session(value._session)

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed a session."""
        return bool(_lib.SSL_session_reused(self._conn._ssl))
