"""Node's ``tls.Server`` and ``tls.createServer``: a gnet Server whose sockets speak TLS.

Theory of operation
-------------------
A :class:`Server` is a :class:`gnet.Server` that overrides the two steps
of a new connection: :meth:`Server._make_socket` (hub) makes a server-side
:class:`~gnet.tls.socket.TLSSocket`, whose adoption of the descriptor
starts the handshake, and :meth:`Server._start_connection` (worker) emits
'connection' with it. The socket's own event sequence then brings 'secure'
and the server's 'secureConnection' once the handshake is done (reading
starts after those listeners ran), or the server's
'tlsClientError'(err, socket) when it fails: never 'error', never a crash,
and no other connection notices.

The handshake starts when the client's first bytes arrive, driven by the
connection's read watcher in the hub (see :mod:`gnet.tls.transport`): a
client that connects and stays silent costs its socket and a timer, no
``SSLObject`` (made when the first bytes arrive) and no greenlet. With an
``SNICallback`` (or an 'OCSPRequest' listener) the handshake moves into a
greenlet of its own when the ClientHello arrives, so the callback may
block cooperatively (a database lookup, a ``gevent.sleep``). The server's
``handshakeTimeout`` (120 s by default, as Node) bounds the handshake from
the accept, silent clients and callback included.

Differences from Node: 'connection' gets the TLSSocket itself (Node's gets
the raw TCP socket, before TLS); ``requestCert`` with
``rejectUnauthorized: false`` (accept an unverified client and report
``authorized=False``), ``ALPNCallback``, per-line 'keylog' and OCSP
stapling ('OCSPRequest') need the pyOpenSSL tier (``gnet-node[tls]``,
:mod:`gnet.tls.engine`) and raise ``UnsupportedError`` naming it without;
``pskCallback`` and the session-cache events ('newSession',
'resumeSession') raise ``UnsupportedError`` in both tiers; when ``ALPNProtocols`` share nothing
with the client's, the standard library goes on without ALPN
(``alpnProtocol`` is False) where Node (and the pyOpenSSL tier) refuses
the handshake.
"""

from __future__ import annotations

import _ssl
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gevent.event import AsyncResult
from zope.interface import implementer

from gnet.errors import InvalidArgTypeError, TLSALPNCallbackWithProtocolsError, UnsupportedError
from gnet.interfaces import ITLSServer
from gnet.options import merge_options
from gnet.server import _SERVER_OPTIONS, Server as NetServer
from gnet.socket import accept
from gnet.tls.context import _KNOWN as _CONTEXT_OPTIONS, SecureContext, createSecureContext
from gnet.tls.engine import require
from gnet.tls.socket import TLSSocket, _Config, alpn_list
from gnet.validate import validate_function, validate_number

__all__ = ("Server", "createServer")

V = TypeVar("V", bound="Server")

_TLS_SERVER_OPTIONS = (
    "requestCert", "rejectUnauthorized", "ALPNProtocols", "SNICallback", "handshakeTimeout",
    "secureContext", "ALPNCallback",
)
_TLS_SERVER_UNSUPPORTED = {
    "pskCallback": "TLS-PSK is not available in the standard library before Python 3.13",
    "pskIdentityHint": "TLS-PSK is not available in the standard library before Python 3.13",
    "enableTrace": "OpenSSL's trace output is not available from Python",
}
_UNSUPPORTED_EVENTS = {
    "newSession": "the standard library has no session cache callbacks (tickets work)",
    "resumeSession": "the standard library has no session cache callbacks (tickets work)",
}

_DEFAULT_HANDSHAKE_TIMEOUT_MS = 120000


class InvalidSNIContextError(Exception):
    """What an ``SNICallback`` answering something other than a context causes."""

    code = None

    def __init__(self) -> None:
        super().__init__("Invalid SNI context")
        self.message = "Invalid SNI context"


def _as_context(value: Any) -> SecureContext:
    if isinstance(value, SecureContext):
        return value
    if isinstance(value, dict):
        return createSecureContext(value)
    raise InvalidArgTypeError("context", ["SecureContext", "dict"], value)


@implementer(ITLSServer)
class Server(NetServer):
    """A TLS server (Node's ``tls.Server``); make it with :func:`createServer`.

    Events: 'secureConnection'(socket), 'tlsClientError'(err, socket),
    'connection'(socket: the TLSSocket, before its handshake),
    'keylog'(line, socket) and 'OCSPRequest'(certificate, issuer,
    callback) (pyOpenSSL tier), and a net Server's
    'listening', 'error', 'close', 'drop'.

    Args:
        options: ``createSecureContext``'s options (``key``, ``cert``,
            ``ca``, ``pfx``, ``passphrase``, ``minVersion``...), a net
            Server's (``allowHalfOpen``, ``pauseOnConnect``...), and
            ``secureContext``, ``requestCert`` (with
            ``rejectUnauthorized``, default True: a client without a
            certificate the ``ca`` trusts is refused), ``ALPNProtocols``
            (the server's order wins), ``SNICallback(servername, cb)``
            (may block cooperatively; ``cb(err, context)``),
            ``handshakeTimeout`` (ms, default 120000; 0 for none);
            with the pyOpenSSL tier, ``rejectUnauthorized=False`` (accept
            any client, report ``authorizationError``) and
            ``ALPNCallback({'servername', 'protocols'})``.
        secureConnectionListener: added as a 'secureConnection' listener.
    """

    def __init__(self, options: Any = None,
                 secureConnectionListener: Callable[..., Any] | None = None,
                 **kwargs: Any) -> None:
        if callable(options) and secureConnectionListener is None:
            options, secureConnectionListener = None, options
        if options is not None and not isinstance(options, dict):
            raise InvalidArgTypeError("options", "dict", options)
        opts = merge_options(options, kwargs,
                             _SERVER_OPTIONS + _TLS_SERVER_OPTIONS + tuple(_CONTEXT_OPTIONS),
                             unsupported=_TLS_SERVER_UNSUPPORTED)
        request_cert = bool(opts.get("requestCert"))
        reject = opts.get("rejectUnauthorized")
        reject = True if reject is None else bool(reject)
        if request_cert and not reject:
            require("options.requestCert with rejectUnauthorized: false")
        alpn_callback = opts.get("ALPNCallback")
        if alpn_callback is not None:
            validate_function(alpn_callback, "options.ALPNCallback")
            if opts.get("ALPNProtocols") is not None:
                raise TLSALPNCallbackWithProtocolsError()
            require("options.ALPNCallback")
        sni = opts.get("SNICallback")
        if sni is not None:
            validate_function(sni, "options.SNICallback")
        timeout = opts.get("handshakeTimeout")
        if timeout is None:
            timeout = _DEFAULT_HANDSHAKE_TIMEOUT_MS
        timeout = validate_number(timeout, "options.handshakeTimeout")
        if secureConnectionListener is not None:
            validate_function(secureConnectionListener, "listener")
        NetServer.__init__(self, {k: v for k, v in opts.items() if k in _SERVER_OPTIONS})
        self._request_cert = request_cert
        # CERT_OPTIONAL: ask, accept any certificate, report (the pyOpenSSL tier).
        self._verify_mode = (ssl.CERT_REQUIRED if reject else ssl.CERT_OPTIONAL) \
            if request_cert else ssl.CERT_NONE
        self._alpn_callback: Callable[..., Any] | None = alpn_callback
        self._alpn = alpn_list(opts.get("ALPNProtocols"))
        self._sni_callback: Callable[..., Any] | None = sni
        self._handshake_timeout = timeout / 1000.0 if timeout > 0 else None
        self._sni_contexts: list[tuple[str, SecureContext]] = []
        self._secure_context = self._context_from(opts)
        if secureConnectionListener is not None:
            self.on("secureConnection", secureConnectionListener)

    def _context_from(self, opts: dict[str, Any]) -> SecureContext:
        given = opts.get("secureContext")
        if given is not None:
            if not isinstance(given, SecureContext):
                raise InvalidArgTypeError("options.secureContext", "SecureContext", given)
            context = given
        else:
            context = createSecureContext(
                {k: opts[k] for k in _CONTEXT_OPTIONS if opts.get(k) is not None})
        self._prepare(context)
        return context

    def _prepare(self, context: SecureContext) -> ssl.SSLContext:
        # The server's per-connection settings live on the standard
        # library's context: ALPN and the SNI hook.
        ssl_context = context.ssl_context(True, self._verify_mode)
        if self._alpn:
            ssl_context.set_alpn_protocols(self._alpn)
        # Set through the C type's own descriptor: under monkey patching the
        # context is gevent's SSLContext, whose sni_callback wraps the
        # callback for its SSLSocket (and breaks an SSLObject's).
        descriptor: Any = vars(_ssl._SSLContext)["sni_callback"]
        descriptor.__set__(ssl_context, self._on_sni)
        return ssl_context

    # ------------------------------------------------------------------
    # The two steps of a connection (gnet.Server's seam)

    def _make_socket(self, raw: Any, address: Any) -> TLSSocket:
        """Hub: a server-side TLSSocket; its handshake starts now."""
        return accept(TLSSocket, self, self._owner, raw, address, self._socket_setup,
                      self.pauseOnConnect)

    def _start_connection(self, sock: Any) -> None:
        """Worker: 'connection'; reading starts after 'secureConnection'."""
        try:
            self.emit("connection", sock)
        except Exception as exc:
            sock._listener_failed(exc)

    def _tls_config(self) -> _Config:
        """What a new server-side TLSSocket needs (see TLSSocket._adopt)."""
        config = _Config()
        config.server_side = True
        config.context = self._secure_context
        config.verify_mode = self._verify_mode
        config.request_cert = self._request_cert
        config.reject = True
        config.server = self
        config.alpn = self._alpn
        config.alpn_callback = self._alpn_callback
        config.handshake_timeout = self._handshake_timeout
        # An SNICallback, or an 'OCSPRequest' listener, may answer later.
        config.cooperative = self._sni_callback is not None or \
            bool(self.listenerCount("OCSPRequest"))
        return config

    # ------------------------------------------------------------------
    # SNI (with an SNICallback, in the handshake's greenlet: may block
    # cooperatively; without one, in the hub)

    def _on_sni(self, sslobj: Any, name: str | None, _context: Any) -> int | None:
        sock = getattr(sslobj, "_gnet_socket", None)
        if sock is not None:
            sock.servername = name or False
        try:
            chosen = self._choose_context(name)
        except BaseException as exc:
            if sock is not None:
                sock._sni_error = exc
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        if chosen is not None and chosen is not self._secure_context:
            sslobj.context = self._prepare(chosen)
        return None

    def _choose_context(self, name: str | None) -> SecureContext | None:
        callback = self._sni_callback
        if callback is not None:
            result: AsyncResult = AsyncResult()

            def answer(err: Any = None, context: Any = None) -> None:
                if not result.ready():
                    result.set((err, context))

            callback(name or "", answer)
            err, context = result.get()
            if err is not None:
                raise err
            if context is None:
                return None
            if not isinstance(context, SecureContext):
                raise InvalidSNIContextError()
            return context
        if not name:
            return None
        host = name.lower().rstrip(".")
        for pattern, context in reversed(self._sni_contexts):
            if _sni_matches(pattern, host):
                return context
        return None

    def getTicketKeys(self) -> bytes:
        """Refused: the standard library cannot read the session ticket keys.

        Raises:
            UnsupportedError: always. To share tickets among processes,
                make the server's context before they fork.
        """
        raise UnsupportedError("getTicketKeys()", "the standard library cannot read or set "
                               "ticket keys; make the context before fork() to share them")

    def setTicketKeys(self, keys: Any) -> None:
        """Refused: the standard library cannot set the session ticket keys.

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("setTicketKeys()", "the standard library cannot read or set "
                               "ticket keys; make the context before fork() to share them")

    def addContext(self, hostname: str, context: Any) -> None:
        """Serve ``context`` to clients asking for ``hostname`` (may be ``'*.example.com'``).

        ``context`` is a SecureContext or ``createSecureContext`` options;
        the most recently added match wins, as in Node.
        """
        if not isinstance(hostname, str):
            raise InvalidArgTypeError("hostname", "str", hostname)
        secure = _as_context(context)
        self._prepare(secure)
        self._sni_contexts.append((hostname.lower().rstrip("."), secure))

    def setSecureContext(self, options: Any) -> None:
        """Replace the credentials for connections from now on (open ones keep theirs)."""
        if not isinstance(options, dict):
            raise InvalidArgTypeError("options", "dict", options)
        self._secure_context = self._context_from(options)

    def _add_listener(self, name: Any, listener: Any, prepend: bool, once: bool) -> None:
        if name in _UNSUPPORTED_EVENTS:
            raise UnsupportedError(f"the '{name}' event", _UNSUPPORTED_EVENTS[name])
        if name in ("keylog", "OCSPRequest"):
            require(f"the '{name}' event")
        NetServer._add_listener(self, name, listener, prepend, once)

    def __repr__(self) -> str:
        return "<gnet.tls.Server " + NetServer.__repr__(self)[len("<gnet.Server "):]

    __str__ = __repr__

    # --- PEP 8 twins (generated by python -m gnet._twins; do not edit) ---
    if TYPE_CHECKING:
        get_ticket_keys = getTicketKeys
        set_ticket_keys = setTicketKeys
        add_context = addContext
        set_secure_context = setSecureContext
    # --- end of PEP 8 twins ---


def _sni_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def createServer(options: Any = None,
                 secureConnectionListener: Callable[..., Any] | None = None,
                 **kwargs: Any) -> Server:
    """Make a TLS server (Node's ``tls.createServer([options][, secureConnectionListener])``).

    The options are :class:`Server`'s.
    """
    return Server(options, secureConnectionListener, **kwargs)

