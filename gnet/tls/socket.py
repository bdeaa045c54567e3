"""Node's ``tls.TLSSocket`` and ``tls.connect``: a gnet Socket whose transport is TLS.

Theory of operation
-------------------
A :class:`TLSSocket` is a :class:`gnet.Socket`; only its transport differs.
When the TCP (or Unix) connection is up, :meth:`TLSSocket._adopt` wraps the
plain transport in a :class:`~gnet.tls.transport.TLSTransport` and starts
the handshake (driven by the transport's read watcher; a server's waits
for the client's first bytes, and only a blocking ``SNICallback`` gets a
greenlet). Everything above the
transport is the plain socket's code, so backpressure, half-close,
timeouts, encodings and the byte counters (plaintext, as Node 20 counts
them) hold unchanged. Writes made before the handshake finished wait in the
socket's write queue, as writes made while connecting do.

The handshake's outcome comes to the hub; the checks and events run in a
worker, in the socket's own event sequence (the client's
``checkServerIdentity`` may be the user's):

* failure: a client socket is destroyed with Node's error ('error', then
  'close'); a server's socket is destroyed without one, and its server
  emits 'tlsClientError'(err, socket) (never 'error');
* success: the client checks the server's identity (``servername`` or
  ``host``, Node's rule); then the transport is marked secure (reads and
  queued writes start), and the events follow: 'secureConnect' (from
  :func:`connect` only) and 'secure' on a client (Node 20's order), or
  'secure' and the server's 'secureConnection' on a server.

Node's options, what the standard library allows of them, and the
differences are in :func:`connect` and :class:`gnet.tls.server.Server`.
"""

from __future__ import annotations

import errno
import ssl
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zope.interface import implementer

from gnet.arguments import check_connect, normalize_connect
from gnet.errors import (
    InvalidArgTypeError,
    InvalidArgValueError,
    InvalidHandleTypeError,
    TLSCertificateError,
    TLSSNIFromServerError,
    UnsupportedError,
    system_error,
)
from gnet.interfaces import ITLSSocket
from gnet.options import merge_options
from gnet.socket import _CONNECT_OPTIONS, _SOCKET_OPTIONS, _UNSUPPORTED_OPTIONS, Socket
from gnet.tls.certificate import certificate_object
from gnet.tls.ciphers import standard_name
from gnet.tls.context import _KNOWN as _CONTEXT_OPTIONS, SecureContext, createSecureContext
from gnet.tls.engine import EngineContext, engine_context, require, verify_failure
from gnet.tls.identity import checkServerIdentity
from gnet.tls.over_socket import SocketLower
from gnet.tls.transport import TLSTransport, tls_error
from gnet.tls.verify import authorization_error, verify_error_from_exception
from gnet.validate import validate_function

if TYPE_CHECKING:
    from gnet.tls.server import Server

__all__ = ("TLSSocket", "connect")

# tls.connect()'s own options (besides net.connect's and createSecureContext's).
_CLIENT_OPTIONS = (
    "servername", "rejectUnauthorized", "ALPNProtocols", "checkServerIdentity", "session",
    "secureContext", "socket", "minDHSize", "highWaterMark", "requestOCSP",
)
_CLIENT_UNSUPPORTED = {
    **_UNSUPPORTED_OPTIONS,
    "pskCallback": "TLS-PSK is not available in the standard library before Python 3.13",
    "enableTrace": "OpenSSL's trace output is not available from Python",
    "ALPNCallback": "a client has no ALPN selection; a tls.Server takes ALPNCallback",
}

# new TLSSocket(socket, options)'s own options.
_TLSSOCKET_OPTIONS = ("isServer", "server", "requestCert", "SNICallback", "handshakeTimeout")

_UNSUPPORTED_SOCKET_EVENTS: dict[str, str] = {}

_DER = ssl._ssl.ENCODING_DER  # type: ignore[attr-defined]


def _chain_der(sslobj: ssl.SSLObject) -> list[bytes]:
    # The certificates the peer sent, leaf first (CPython has this since
    # 3.10 on the C object; public from 3.13).
    inner = getattr(sslobj, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None) or getattr(
        sslobj, "get_unverified_chain", None)
    if getter is None:
        return []
    try:
        chain: list[Any] = getter() or []
    except (ValueError, ssl.SSLError):
        return []
    result = []
    for cert in chain:
        result.append(cert if isinstance(cert, bytes) else cert.public_bytes(_DER))
    if sslobj.server_side:
        # OpenSSL leaves the client's own certificate out of the chain a
        # server sees.
        try:
            leaf = sslobj.getpeercert(True)
        except ValueError:
            leaf = None
        if leaf is not None and (not result or result[0] != leaf):
            result.insert(0, leaf)
    return result


class _Config:
    """What one TLS connection needs, for either side."""

    __slots__ = (
        "alpn", "alpn_callback", "check_identity", "context", "cooperative",
        "emit_secure_connect", "handshake_timeout", "host", "reject", "request_cert", "server",
        "request_ocsp", "server_side", "servername", "session", "verify_mode",
    )

    def __init__(self) -> None:
        self.server_side = False
        self.context: SecureContext | None = None
        self.verify_mode = ssl.CERT_REQUIRED
        self.reject = True
        self.request_cert = False
        self.servername: str | None = None
        self.host = "localhost"
        self.alpn: list[str] | None = None
        self.alpn_callback: Callable[..., Any] | None = None
        self.request_ocsp = False
        self.check_identity: Callable[..., Any] = checkServerIdentity
        self.session: Any = None
        self.handshake_timeout: float | None = None
        # An OpenSSL callback of the handshake may block (an SNICallback).
        self.cooperative = False
        self.emit_secure_connect = False
        self.server: Any = None

    def ssl_context(self) -> ssl.SSLContext:
        context = self.context
        assert context is not None
        return context.ssl_context(self.server_side, self.verify_mode)

    def engine_context(self, sock: Any) -> EngineContext:
        # The standard library's context, or pyOpenSSL's when this
        # connection needs it (gnet.tls.engine).
        return engine_context(self, sock)


def alpn_list(value: Any, name: str = "options.ALPNProtocols") -> list[str] | None:
    """Node's ``ALPNProtocols`` (a list of str or bytes) as the standard library's list."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Node's wire form: length-prefixed names.
        raw = bytes(value)
        names, i = [], 0
        while i < len(raw):
            size = raw[i]
            names.append(raw[i + 1:i + 1 + size].decode("latin-1"))
            i += 1 + size
        return names
    if not isinstance(value, (list, tuple)):
        raise InvalidArgTypeError(name, ["list", "bytes"], value)
    names = []
    for item in value:
        if isinstance(item, (bytes, bytearray)):
            item = bytes(item).decode("latin-1")
        if not isinstance(item, str):
            raise InvalidArgTypeError(name, ["list", "bytes"], value)
        names.append(item)
    return names


@implementer(ITLSSocket)
class TLSSocket(Socket):
    """A TLS stream (Node's ``tls.TLSSocket``); made by :func:`connect` or a TLS server.

    Events, besides a Socket's: 'secureConnect' (client, from
    :func:`connect` only), 'secure' (every TLSSocket, once the handshake
    is done), 'session'(session) (client; an ``ssl.SSLSession``).

    Args:
        socket: A connected (or connecting) :class:`gnet.Socket` to
            upgrade (STARTTLS), or None for a TLSSocket that ``connect()``
            opens itself (no 'secureConnect' then, as in Node).
        options: Node's TLSSocket options: ``isServer`` (this end is the
            server: give ``key``/``cert`` or ``secureContext``,
            ``requestCert``, ``handshakeTimeout``), or a client's
            (``ca``, ``servername``, ``rejectUnauthorized``,
            ``ALPNProtocols``, ``session``...).

    Differences from Node: ``getSession()`` and the 'session' event give
    ``ssl.SSLSession`` objects, usable within this process only (Node's
    Buffer form cannot be made by the standard library); there is no
    ``renegotiate()``, ``exportKeyingMaterial()``, ``getFinished()`` or
    ``getTLSTicket()``; 'keylog'(line) needs the pyOpenSSL tier
    (``gnet-node[tls]``) and counts from the handshake's start.
    """

    #: True once the peer's certificate was verified (and, on a client, its name).
    authorized: bool = False
    #: Why not authorized: Node's code string ('DEPTH_ZERO_SELF_SIGNED_CERT'...), or None.
    authorizationError: str | None = None
    #: Always True (Node's marker of a TLS socket).
    encrypted: bool = True
    #: The protocol ALPN chose, or False.
    alpnProtocol: str | bool = False
    #: The SNI: sent (client; None when none), or received (server; False when none).
    servername: str | bool | None = None

    def __init__(self, socket: Any = None, options: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        opts = merge_options(options, kwargs, _SOCKET_OPTIONS + _CONNECT_OPTIONS
                             + _CLIENT_OPTIONS + _TLSSOCKET_OPTIONS
                             + tuple(_CONTEXT_OPTIONS),
                             unsupported=_CLIENT_UNSUPPORTED)
        Socket.__init__(self, {k: v for k, v in opts.items() if k in _SOCKET_OPTIONS})
        config = server_side_config(opts) if opts.get("isServer") else client_config(opts)
        self._tls_init(config)
        if socket is not None:
            self._upgrade(socket)

    def connect(self, *args: Any, **kwargs: Any) -> TLSSocket:
        """Connect, then handshake as a client (Node's ``tlsSocket.connect``); returns self.

        The overloads of :meth:`gnet.Socket.connect`. The server is verified
        as by :func:`connect` (chain, and name against ``servername`` or the
        host connected to); 'secure' follows, not 'secureConnect'.
        """
        call = normalize_connect(args, kwargs, _SOCKET_OPTIONS + _CONNECT_OPTIONS,
                                 _UNSUPPORTED_OPTIONS)
        target = check_connect(call)
        config = self._tls
        if config is not None and not config.server_side and target.path is None:
            config.host = target.host
        Socket.connect(self, *args, **kwargs)
        return self

    def _upgrade(self, plain: Any) -> None:
        # STARTTLS: TLS over an already connected (or connecting) gnet
        # Socket, through its public stream API (gnet.tls.over_socket).
        if not isinstance(plain, Socket) or isinstance(plain, TLSSocket):
            raise InvalidArgTypeError("socket", "gnet.Socket", plain)
        if plain.destroyed:
            raise InvalidArgValueError("socket", plain, "is destroyed")
        if plain.connecting or plain.pending:
            self._life = self._life.connect()
            self._sync_active()
            plain.once("connect", lambda: self._upgrade_now(plain))
            plain.once("close", lambda *_: self._upgrade_failed(plain))
            return
        self._upgrade_now(plain)

    def _upgrade_failed(self, plain: Any) -> None:
        if self._t is None and not self._life.teardown:
            self._destroy(self._hang_up(), True)

    def _upgrade_now(self, plain: Any) -> None:
        if self._life.teardown:
            plain.destroy()
            return
        config = self._tls
        assert config is not None
        lower = SocketLower(plain)
        self._life = self._life.open()
        if lower.is_tcp:
            self._remote = (plain.remoteAddress, plain.remotePort)
        self.servername = False if config.server_side else config.servername
        t = TLSTransport(lower, config.engine_context(self), config.server_side,
                         None if config.server_side else config.servername or None,
                         config.session, self)
        if not config.server_side:
            t.on_session = self._session_changed
        self._t = t  # type: ignore[assignment]
        t.start_handshake(self._handshake_done, config.handshake_timeout, config.cooperative)
        self._start_io()

    def _tls_init(self, config: _Config | None) -> None:
        self._tls = config
        self.authorized = False
        self.authorizationError = None
        self.alpnProtocol = False
        self.servername = None
        self._peer_der: bytes | None = None
        self._peer_chain: list[bytes] = []
        self._peer_object: dict[str, Any] | None = None
        self._sessions_seen = 0

    # ------------------------------------------------------------------
    # The connection: TCP up, then TLS

    def _adopt(self, sock: Any, peer: Any = None) -> None:
        # Hub. The plain transport is made and set up by the Socket, then
        # wrapped. A server's socket takes its config from the server.
        Socket._adopt(self, sock, peer)
        # Per connection (a destroyed TLSSocket may connect again).
        self._tls_init(getattr(self, "_tls", None))
        config = self._tls
        if config is None:
            server: Server | None = self.server  # type: ignore[assignment]
            assert server is not None
            config = self._tls = server._tls_config()
        lower = self._t
        assert lower is not None
        if config.server_side:
            self.servername = False
        else:
            self.servername = config.servername
        t = TLSTransport(lower, config.engine_context(self), config.server_side,
                         config.servername or None if not config.server_side else None,
                         config.session, self)
        if not config.server_side:
            t.on_session = self._session_changed
        self._t = t  # type: ignore[assignment]
        t.start_handshake(self._handshake_done, config.handshake_timeout, config.cooperative)

    def _handshake_done(self, err: BaseException | None) -> None:
        # Hub: the handshake greenlet's outcome; checks and events in a worker.
        if self._life.teardown:
            return
        if err is not None:
            self._tls_failed(self._handshake_error(err))
            return
        self._queue(self._secure)

    def _handshake_error(self, err: BaseException) -> BaseException:
        config = self._tls
        assert config is not None
        if isinstance(err, ssl.SSLCertVerificationError):
            t = self._t
            chain: list[bytes] = _chain_der(t.sslobj) if isinstance(t, TLSTransport) else []
            length = len(chain) or None
            if config.server_side and isinstance(t, TLSTransport):
                # A failed client's own certificate is not in what OpenSSL
                # gives a server: count it.
                length = len(chain) + 1 if chain or length is None else length
            code, message = verify_error_from_exception(err, length)
            return TLSCertificateError(code, message)
        if isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return self._hang_up()
        if isinstance(err, ssl.SSLError):
            sni_error = getattr(self, "_sni_error", None)
            if sni_error is not None:
                return sni_error
            return tls_error(err)
        if isinstance(err, OSError) and not hasattr(err, "code"):
            if err.errno == errno.ECONNRESET and not config.server_side:
                return self._hang_up()
            return system_error(err, "read")
        return err

    def _hang_up(self) -> OSError:
        # The peer closed before the handshake finished: Node's ECONNRESET.
        config = self._tls
        assert config is not None
        if config.server_side:
            message = "socket hang up"
        else:
            message = ("Client network socket disconnected before secure TLS connection "
                       "was established")
        err: Any = ConnectionResetError(errno.ECONNRESET, message)
        err.code = "ECONNRESET"
        err.message = message
        if not config.server_side and self.remoteAddress is not None:
            err.host = config.host
            err.port = self.remotePort
        return err

    def _tls_failed(self, err: BaseException) -> None:
        config = self._tls
        assert config is not None
        if config.server_side:
            # Node: the server hears of it ('tlsClientError'), never 'error'.
            server = config.server
            self._queue(server.emit, "tlsClientError", err, self)
            self._destroy(None, True)
        else:
            self._destroy(err, True)

    def _secure(self) -> None:
        # Worker, in the socket's event sequence: verify, then go.
        if self._life.teardown:
            return
        t = self._t
        config = self._tls
        if not isinstance(t, TLSTransport) or config is None:
            return
        sslobj = t.sslobj
        self._peer_der = sslobj.getpeercert(True)
        self._peer_chain = _chain_der(sslobj)
        self.alpnProtocol = sslobj.selected_alpn_protocol() or False
        if config.server_side:
            if config.request_cert:
                self.authorized = self._peer_der is not None
                failure = verify_failure(sslobj) if self.authorized \
                    else "UNABLE_TO_GET_ISSUER_CERT"
                if failure is not None:
                    # Only an engine that accepts unverified clients has one.
                    self.authorized = False
                    self.authorizationError = failure
        else:
            if not self._client_verified(sslobj):
                return
        t.secure()
        if config.server_side:
            self.emit("secure")
            server = config.server
            server.emit("secureConnection", self)
            if self._flowing is not False and not self._life.teardown:
                self._start_reading()
        else:
            if config.emit_secure_connect:
                self.emit("secureConnect")
            self.emit("secure")
            self._session_changed()

    def _client_verified(self, sslobj: ssl.SSLObject) -> bool:
        config = self._tls
        assert config is not None
        if config.verify_mode == ssl.CERT_REQUIRED:
            chain_ok = True
        else:
            result = offline_verify(self._peer_chain, config)
            chain_ok = result is None
            if result is not None:
                self.authorizationError = result[0]
        if chain_ok and self._peer_der is None:
            self.authorizationError = "UNABLE_TO_GET_ISSUER_CERT"
            chain_ok = False
        if chain_ok:
            host = config.servername or config.host or "localhost"
            err = config.check_identity(host, self.getPeerCertificate())
            if err is not None:
                if config.reject:
                    self._destroy(err, True)
                    return False
                self.authorizationError = getattr(err, "code", None) or str(err)
            else:
                self.authorized = True
        elif config.reject:
            # Only reached without OpenSSL's check (cannot happen while
            # rejecting), kept for safety: never go on unverified.
            code = self.authorizationError or "UNSPECIFIED"
            self._destroy(TLSCertificateError(code, authorization_error(0).message), True)
            return False
        return True

    def _session_changed(self, *_: Any) -> None:
        # Hub or worker: a new session (TLS 1.3 tickets come after the
        # handshake): one 'session' each, client side only.
        # Reading the session costs a copy of it in OpenSSL: only for
        # someone listening.
        t = self._t
        if not isinstance(t, TLSTransport) or t.server_side or not t._secure \
                or not self.listenerCount("session"):
            return
        session = t.sslobj.session
        if session is None:
            return
        key = (session.id, session.time, session.has_ticket, session.ticket_lifetime_hint)
        if key == getattr(self, "_session_key", None):
            return
        self._session_key = key
        self._sessions_seen += 1
        self._queue(self.emit, "session", session)

    # ------------------------------------------------------------------
    # Node's TLSSocket surface

    def _sslobj(self) -> ssl.SSLObject | None:
        # None also while a server waits for the client's first bytes (no
        # engine yet: asking does not make one).
        t = self._t
        return t._sslobj if isinstance(t, TLSTransport) else None

    def getPeerCertificate(self, detailed: bool = False) -> dict[str, Any] | None:
        """The peer's certificate as Node's object; ``{}`` when none, None once destroyed.

        ``detailed=True`` adds ``issuerCertificate`` links through the
        certificates the peer sent and this side's trusted ones.
        """
        if self._life.teardown:
            return None
        der = self._peer_der
        if der is None:
            sslobj = self._sslobj()
            if sslobj is None:
                return {}
            try:
                der = sslobj.getpeercert(True)
            except ValueError:
                return {}
            if der is None:
                return {}
        if not detailed:
            if self._peer_object is None or self._peer_object.get("raw") != der:
                self._peer_object = certificate_object(der)
            return dict(self._peer_object)
        pool = list(self._peer_chain)
        config = self._tls
        if config is not None:
            try:
                pool.extend(config.ssl_context().get_ca_certs(binary_form=True))
            except (ValueError, ssl.SSLError):
                pass
        return certificate_object(der, pool)

    def getCertificate(self) -> dict[str, Any] | None:
        """This side's certificate as Node's object (``{}`` when it has none)."""
        if self._life.teardown:
            return None
        config = self._tls
        context = config.context if config is not None else None
        identities = getattr(context, "_identities", None)
        if not identities:
            return {}
        pem = identities[0].chain.decode("latin-1")
        end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
        return certificate_object(ssl.PEM_cert_to_DER_cert(pem[:end]))

    def getProtocol(self) -> str | None:
        """The negotiated version (``'TLSv1.3'``), ``'unknown'`` before, None once closed."""
        if self._life.teardown:
            return None
        sslobj = self._sslobj()
        if sslobj is None:
            return "unknown"
        return sslobj.version() or "unknown"

    def getCipher(self) -> dict[str, str] | None:
        """``{'name', 'standardName', 'version'}`` of the negotiated suite, or None."""
        sslobj = self._sslobj()
        cipher = sslobj.cipher() if sslobj is not None else None
        if cipher is None:
            return None
        name, version = cipher[0], cipher[1]
        return {"name": name, "standardName": standard_name(name), "version": version}

    def getSession(self) -> Any:
        """The current session (an ``ssl.SSLSession``, this process only), or None."""
        sslobj = self._sslobj()
        return sslobj.session if sslobj is not None else None

    def isSessionReused(self) -> bool:
        """Whether the handshake resumed a session."""
        sslobj = self._sslobj()
        return bool(sslobj is not None and sslobj.session_reused)

    def setServername(self, name: Any) -> None:
        """Set the SNI to send; only before the handshake, only on a client."""
        if not isinstance(name, str):
            raise InvalidArgTypeError("name", "str", name)
        config = self._tls
        if config is not None and config.server_side:
            raise TLSSNIFromServerError()
        if config is not None:
            config.servername = name

    def getPeerX509Certificate(self) -> Any:
        """The peer's certificate as a ``cryptography`` ``x509.Certificate``, or None."""
        der = self._peer_der
        if der is None:
            return None
        from cryptography import x509

        return x509.load_der_x509_certificate(der)

    def renegotiate(self, options: Any = None, callback: Any = None) -> None:
        """Refused: the standard library cannot renegotiate (TLS 1.3, the default, never does).

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("renegotiate()", "the standard library cannot renegotiate; "
                               "TLS 1.3 has no renegotiation")

    def exportKeyingMaterial(self, length: Any = None, label: Any = None,
                             context: Any = None) -> bytes:
        """Refused: the standard library cannot export keying material (RFC 5705).

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("exportKeyingMaterial()",
                               "the standard library's ssl has no keying material exporter")

    def getFinished(self) -> bytes | None:
        """Refused: the standard library does not give the Finished message.

        Raises:
            UnsupportedError: always (``ssl.SSLObject.get_channel_binding('tls-unique')``
                is the nearest thing, for TLS 1.2).
        """
        raise UnsupportedError("getFinished()",
                               "the standard library does not give the Finished message")

    def getPeerFinished(self) -> bytes | None:
        """Refused: the standard library does not give the peer's Finished message.

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("getPeerFinished()",
                               "the standard library does not give the Finished message")

    def getTLSTicket(self) -> bytes | None:
        """Refused: sessions are ``ssl.SSLSession`` objects here, their ticket not readable.

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("getTLSTicket()",
                               "the standard library does not give a session's ticket")

    def resetAndDestroy(self) -> TLSSocket:
        """Refused, as in Node: a TLS socket cannot be closed with a TCP RST.

        Node 20 raises ERR_INVALID_HANDLE_TYPE from a TLS socket's
        ``resetAndDestroy()`` in every state but destroyed (its handle is
        not a TCP handle), as from a pipe's. Once destroyed, returns self.

        Raises:
            InvalidHandleTypeError: unless the socket is destroyed.
        """
        if self._life.teardown:
            return self
        raise InvalidHandleTypeError()

    def _add_listener(self, name: Any, listener: Any, prepend: bool, once: bool) -> None:
        if name in _UNSUPPORTED_SOCKET_EVENTS:
            raise UnsupportedError(f"the '{name}' event", _UNSUPPORTED_SOCKET_EVENTS[name])
        if name == "keylog":
            require("the 'keylog' event")
        Socket._add_listener(self, name, listener, prepend, once)

    def __repr__(self) -> str:
        return "<gnet.tls.TLSSocket " + Socket.__repr__(self)[len("<gnet.Socket "):]

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        authorization_error = authorizationError
        alpn_protocol = alpnProtocol
        get_peer_certificate = getPeerCertificate
        get_certificate = getCertificate
        get_protocol = getProtocol
        get_cipher = getCipher
        get_session = getSession
        is_session_reused = isSessionReused
        set_servername = setServername
        get_peer_x509_certificate = getPeerX509Certificate
        export_keying_material = exportKeyingMaterial
        get_finished = getFinished
        get_peer_finished = getPeerFinished
        get_tls_ticket = getTLSTicket
        reset_and_destroy = resetAndDestroy
    # --- end of PEP 8 twins ---


# ----------------------------------------------------------------------
# Verifying a chain outside the handshake (rejectUnauthorized: False)


def offline_verify(chain: list[bytes], config: _Config) -> tuple[str, str] | None:
    """Check a peer chain against the trust store after a ``CERT_NONE`` handshake.

    Returns None when it chains to a trusted certificate, else Node's
    ``(authorizationError, message)``: a self-signed leaf, a lone leaf of
    an unknown issuer, a chain ending in an untrusted root, a chain missing
    its issuer, an expired or not yet valid certificate, an issuer that is
    not a CA, a leaf not meant for servers (extended key usage). Not
    checked here, unlike OpenSSL: path length and name constraints (and
    revocation, refused with ``rejectUnauthorized: false`` beforehand).
    Signatures are checked with ``cryptography``.

    Raises:
        UnsupportedError: ``cryptography`` (``gnet-node[tls]``) is missing.
    """
    try:
        import datetime

        from cryptography import x509
    except ImportError:
        raise UnsupportedError("rejectUnauthorized: false without the cryptography package",
                               "install gnet-node[tls]") from None
    if not chain:
        return ("UNABLE_TO_GET_ISSUER_CERT", "unable to get issuer certificate")
    certs = [x509.load_der_x509_certificate(der) for der in chain]
    leaf = certs[0]
    roots = _roots(x509, config.ssl_context())
    now = datetime.datetime.now(datetime.timezone.utc)

    def issued(issuer: Any, subject: Any) -> bool:
        if issuer.subject != subject.issuer:
            return False
        try:
            subject.verify_directly_issued_by(issuer)
        except Exception:
            return False
        return True

    # Walk as OpenSSL does: through what the peer sent, then the store.
    path = [leaf]
    current = leaf
    trusted = False
    for _ in range(10):
        if any(r.fingerprint(_sha256()) == current.fingerprint(_sha256()) for r in roots):
            trusted = True
            break
        store_issuer = next((r for r in roots if issued(r, current)), None)
        if store_issuer is not None:
            path.append(store_issuer)
            trusted = True
            break
        if issued(current, current):
            break  # self-signed, untrusted
        sent_issuer = next((c for c in certs[1:] if issued(c, current)), None)
        if sent_issuer is None:
            break
        path.append(sent_issuer)
        current = sent_issuer
    if not trusted:
        top = path[-1]
        if issued(top, top):
            if len(path) == 1:
                return authorization_error(18)[:2]
            return authorization_error(19)[:2]
        if len(path) == 1:
            return authorization_error(21)[:2]
        return authorization_error(20)[:2]
    for cert in path:
        if cert.not_valid_after_utc < now:
            return authorization_error(10)[:2]
        if cert.not_valid_before_utc > now:
            return authorization_error(9)[:2]
    for issuer in path[1:]:
        # Every issuer must be a CA (OpenSSL: 24 INVALID_CA).
        try:
            is_ca = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = issuer == path[-1] and issued(issuer, issuer)  # a v1 root
        if not is_ca:
            return authorization_error(24)[:2]
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is not None and x509.oid.ExtendedKeyUsageOID.SERVER_AUTH not in usages \
            and x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        return authorization_error(26)[:2]  # INVALID_PURPOSE
    return None


_parsed_roots: weakref.WeakKeyDictionary[ssl.SSLContext, list[Any]] = \
    weakref.WeakKeyDictionary()


def _roots(x509: Any, context: ssl.SSLContext) -> list[Any]:
    # The trust store as cryptography objects, parsed once per context. A
    # root cryptography refuses (a zero serial, in old system stores) is
    # left out: it cannot be anybody's issuer here.
    roots = _parsed_roots.get(context)
    if roots is None:
        roots = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for der in context.get_ca_certs(binary_form=True):
                try:
                    roots.append(x509.load_der_x509_certificate(der))
                except ValueError:
                    pass
        _parsed_roots[context] = roots
    return roots


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


# ----------------------------------------------------------------------
# tls.connect()

_context_cache: dict[Any, SecureContext] = {}


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def _client_context(opts: dict[str, Any], alpn: list[str] | None) -> SecureContext:
    # Node makes a context per connection; the same options give the same
    # one here (loading the system's roots takes milliseconds). ALPN is set
    # on the standard library's context, so it is part of the key.
    from gnet.tls.defaults import current

    context_opts = {k: opts[k] for k in _CONTEXT_OPTIONS if opts.get(k) is not None}
    try:
        key = (_hashable(context_opts), tuple(alpn or ()),
               current("DEFAULT_MIN_VERSION"), current("DEFAULT_MAX_VERSION"))
        hash(key)
    except TypeError:
        key = None
    if key is not None:
        found = _context_cache.get(key)
        if found is not None:
            return found
    context = createSecureContext(context_opts)
    if alpn:
        for mode in (ssl.CERT_REQUIRED, ssl.CERT_NONE):
            context.ssl_context(False, mode).set_alpn_protocols(alpn)
    if key is not None:
        if len(_context_cache) >= 64:
            _context_cache.pop(next(iter(_context_cache)))
        _context_cache[key] = context
    return context


def client_config(opts: dict[str, Any]) -> _Config:
    """A client's TLS settings from Node's ``tls.connect`` options."""
    config = _Config()
    reject = opts.get("rejectUnauthorized")
    config.reject = reject is None or bool(reject)
    config.verify_mode = ssl.CERT_REQUIRED if config.reject else ssl.CERT_NONE
    if not config.reject and opts.get("crl") is not None:
        raise UnsupportedError("options.crl with rejectUnauthorized: false",
                               "revocation is checked only while verifying the handshake "
                               "(rejectUnauthorized: true)")
    servername = opts.get("servername")
    if servername is not None and not isinstance(servername, str):
        raise InvalidArgTypeError("options.servername", "str", servername)
    config.servername = servername or None
    config.alpn = alpn_list(opts.get("ALPNProtocols"))
    check = opts.get("checkServerIdentity")
    if check is not None:
        validate_function(check, "options.checkServerIdentity")
        config.check_identity = check
    session = opts.get("session")
    if session is not None and not isinstance(session, ssl.SSLSession):
        raise UnsupportedError("options.session as a Buffer",
                               "pass the ssl.SSLSession from getSession() or 'session' "
                               "(sessions are reusable within this process)")
    config.session = session
    if opts.get("requestOCSP"):
        require("options.requestOCSP")
        config.request_ocsp = True
    secure_context = opts.get("secureContext")
    if secure_context is not None:
        if not isinstance(secure_context, SecureContext):
            raise InvalidArgTypeError("options.secureContext", "SecureContext", secure_context)
        if config.alpn:
            for mode in (ssl.CERT_REQUIRED, ssl.CERT_NONE):
                secure_context.ssl_context(False, mode).set_alpn_protocols(config.alpn)
        config.context = secure_context
    else:
        config.context = _client_context(opts, config.alpn)
    host = opts.get("host")
    config.host = host if isinstance(host, str) and host else "localhost"
    return config


def server_side_config(opts: dict[str, Any]) -> _Config:
    """The server side of ``new TLSSocket(socket, {'isServer': True, ...})``."""
    config = _Config()
    config.server_side = True
    if opts.get("SNICallback") is not None:
        # Node's check first (ERR_INVALID_ARG_TYPE), then what gnet lacks.
        validate_function(opts["SNICallback"], "options.SNICallback")
        raise UnsupportedError("options.SNICallback of a TLSSocket",
                               "use a tls.Server's SNICallback or addContext()")
    request_cert = bool(opts.get("requestCert"))
    reject = opts.get("rejectUnauthorized")
    accept = request_cert and reject is not None and not reject
    if accept:
        require("options.requestCert with rejectUnauthorized: false")
    config.request_cert = request_cert
    # CERT_OPTIONAL: ask, accept any certificate, report (the pyOpenSSL tier).
    config.verify_mode = (ssl.CERT_OPTIONAL if accept else ssl.CERT_REQUIRED) if request_cert \
        else ssl.CERT_NONE
    config.alpn = alpn_list(opts.get("ALPNProtocols"))
    secure_context = opts.get("secureContext")
    if secure_context is None:
        secure_context = createSecureContext(
            {k: opts[k] for k in _CONTEXT_OPTIONS if opts.get(k) is not None})
    elif not isinstance(secure_context, SecureContext):
        raise InvalidArgTypeError("options.secureContext", "SecureContext", secure_context)
    config.context = secure_context
    if config.alpn:
        secure_context.ssl_context(True, config.verify_mode).set_alpn_protocols(config.alpn)
    config.server = _NoServer()
    timeout = opts.get("handshakeTimeout")
    if timeout:
        config.handshake_timeout = float(timeout) / 1000.0
    return config


class _NoServer:
    """The server of a server-side TLSSocket made without one: events go nowhere."""

    def emit(self, name: str, *args: Any) -> bool:
        return False


def connect(*args: Any, **kwargs: Any) -> TLSSocket:
    """Open a TLS connection (Node's ``tls.connect``); returns the TLSSocket.

    Every overload of ``net.connect``: ``connect(options[, callback])``,
    ``connect(port[, host][, options][, callback])``,
    ``connect(path[, options][, callback])``, or keyword arguments.
    ``callback`` is a 'secureConnect' listener.

    Options: every ``net.connect`` option, every ``createSecureContext``
    option (``ca``, ``cert``, ``key``, ``minVersion``...), and
    ``servername`` (the SNI to send: none unless given, as Node),
    ``rejectUnauthorized`` (default True), ``checkServerIdentity``
    (default :func:`gnet.tls.checkServerIdentity`; the name checked is
    ``servername`` or ``host``), ``ALPNProtocols``, ``session`` (an
    ``ssl.SSLSession`` from ``getSession()`` or 'session'),
    ``secureContext``.

    With ``rejectUnauthorized=False``, ``authorized`` and
    ``authorizationError`` come from ``cryptography``'s view of the chain
    (the handshake itself does not verify): Node's codes for a
    self-signed certificate, an unknown issuer, an untrusted root, an
    expired certificate and a name mismatch.

    ``socket`` (STARTTLS): a connected gnet Socket to put TLS on instead of
    connecting (see :mod:`gnet.tls.over_socket`).

    ``requestOCSP`` (pyOpenSSL tier, ``gnet-node[tls]``): ask for the
    server's stapled OCSP response; 'OCSPResponse'(response ``bytes``, or
    None when the server stapled none) comes before 'secureConnect'.

    Raises:
        UnsupportedError: ``requestOCSP`` without pyOpenSSL,
            ``pskCallback``, ``ALPNCallback``, ``enableTrace``, a Buffer
            ``session``.
    """
    positional = list(args)
    extra: dict[str, Any] = {}
    # (port, host, options) and (path, options): an options dict after the address.
    for index in (2, 1):
        if len(positional) > index and isinstance(positional[index], dict) and \
                not isinstance(positional[0], dict):
            extra = positional.pop(index)
            break
    known = _SOCKET_OPTIONS + _CONNECT_OPTIONS + _CLIENT_OPTIONS + tuple(_CONTEXT_OPTIONS)
    call = normalize_connect(tuple(positional), {**merge_options(extra, {}, known), **kwargs},
                             known, _CLIENT_UNSUPPORTED)
    opts = call.options
    plain = opts.get("socket")
    if plain is not None:
        # STARTTLS: no connecting; identity checked against servername or host.
        config = client_config(opts)
        config.emit_secure_connect = True
        sock = TLSSocket.__new__(TLSSocket)
        Socket.__init__(sock, {k: v for k, v in opts.items() if k in _SOCKET_OPTIONS})
        sock._tls_init(config)
        if call.callback is not None:
            sock.once("secureConnect", call.callback)
        sock._upgrade(plain)
        return sock
    target = check_connect(call)
    opts["host"] = target.host if target.path is None else opts.get("host")
    config = client_config(opts)
    config.emit_secure_connect = True
    sock = TLSSocket.__new__(TLSSocket)
    Socket.__init__(sock, {k: v for k, v in opts.items() if k in _SOCKET_OPTIONS})
    sock._tls_init(config)
    if target.callback is not None:
        sock.once("secureConnect", target.callback)
    timeout = opts.get("timeout")
    if timeout is not None:
        sock.setTimeout(timeout)
    net_options = {k: v for k, v in opts.items()
                   if k in _CONNECT_OPTIONS or k in _SOCKET_OPTIONS or k == "path"}
    if target.path is not None:
        net_options.pop("port", None)
        net_options.pop("host", None)
    net_options.pop("timeout", None)
    sock.connect(net_options)
    return sock
