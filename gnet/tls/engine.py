"""The TLS engine seam: which OpenSSL binding drives a connection, and the two tiers.

gnet's TLS transport (:mod:`gnet.tls.transport`) drives an object with the
interface of the standard library's ``ssl.SSLObject`` over two
``ssl.MemoryBIO`` s: ``do_handshake``, ``read``, ``write``, ``unwrap``,
``pending``, ``getpeercert``, ``version``, ``cipher``,
``selected_alpn_protocol``, ``session``/``session_reused``. Whatever makes
that object is an :class:`EngineContext`: something with
``wrap_bio(incoming, outgoing, server_side, server_hostname, session)``.

The transport reads only while there is something to decrypt: ``pending()``
plus the incoming BIO's ``pending`` is never 0 while a ``read()`` could
return plaintext (an engine that moves the incoming BIO's bytes into a
buffer of its own counts them in ``pending()``), and never less than the
plaintext the next ``read()`` gives, which the transport sizes from it.

Two tiers:

* **The standard library** (the default): ``ssl.SSLContext`` is the engine
  context and ``ssl.SSLObject`` the engine, unwrapped; nothing sits on the
  hot path.
* **pyOpenSSL** (the optional extra ``gnet-node[tls]``, in
  :mod:`gnet.tls.pyopenssl`): used only for a connection that needs what
  the standard library cannot do: a server's ``requestCert`` with
  ``rejectUnauthorized: false`` (accept an unverified client, report
  ``authorized=False`` with Node's ``authorizationError``), the server's
  ``ALPNCallback``, the per-line 'keylog' event, and OCSP stapling (a
  server's 'OCSPRequest', a client's ``requestOCSP`` and
  'OCSPResponse'). Without the extra,
  asking for one of them raises ``UnsupportedError``
  (``ERR_GNET_UNSUPPORTED``) naming the extra, where the option or
  listener is given.

:func:`engine_context` makes the choice for one connection, from its
settings and the 'keylog' (and server 'OCSPRequest') listeners present
when its handshake starts.
"""

from __future__ import annotations

import ssl
from typing import Any, Protocol

from gnet.errors import UnsupportedError

__all__ = ("EXTRA", "EngineContext", "available", "engine_context", "require",
           "verify_failure")

#: The extra that brings the pyOpenSSL tier.
EXTRA = "gnet-node[tls]"

_available: list[bool] = []


class EngineContext(Protocol):
    """What makes a connection's engine (``ssl.SSLContext`` is one)."""

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 server_side: bool = False, server_hostname: str | None = None,
                 session: Any = None) -> ssl.SSLObject: ...


def available() -> bool:
    """True when pyOpenSSL (the ``gnet-node[tls]`` extra) can be imported."""
    if not _available:
        try:
            import OpenSSL.SSL  # noqa: F401
        except ImportError:
            _available.append(False)
        else:
            _available.append(True)
    return _available[0]


def require(what: str) -> None:
    """Raise ``UnsupportedError`` naming the extra unless pyOpenSSL is installed.

    Args:
        what: The option or event that needs it (``"options.ALPNCallback"``).

    Raises:
        UnsupportedError: pyOpenSSL is missing.
    """
    if not available():
        raise UnsupportedError(
            what, f"the standard library cannot do it; install {EXTRA} (pyOpenSSL) for it")


def _listened(sock: Any, config: Any) -> bool:
    # 'keylog' on the socket or its server, 'OCSPRequest' on its server.
    if sock is not None and sock.listenerCount("keylog"):
        return True
    server = getattr(config, "server", None)
    count = getattr(server, "listenerCount", None)
    return bool(config.server_side and count is not None
                and (count("keylog") or count("OCSPRequest")))


def engine_context(config: Any, sock: Any = None) -> EngineContext:
    """The engine context for one connection: the standard library's unless it cannot do it.

    Args:
        config: The connection's settings (``gnet.tls.socket._Config``).
        sock: The TLSSocket, whose 'keylog' listeners (and its server's)
            count when the handshake starts.

    Returns:
        An ``ssl.SSLContext``, or a pyOpenSSL engine context.
    """
    if (config.verify_mode == ssl.CERT_OPTIONAL or config.alpn_callback is not None
            or config.request_ocsp or _listened(sock, config)) and available():
        from gnet.tls.pyopenssl import engine_context_for

        return engine_context_for(config.context, config.server_side, config.verify_mode,
                                  config.alpn, config.alpn_callback, config.request_ocsp)
    ctx: ssl.SSLContext = config.ssl_context()
    return ctx


def verify_failure(sslobj: Any) -> str | None:
    """Node's ``authorizationError`` of a peer accepted without verification, or None.

    Only the pyOpenSSL engine accepts a certificate that does not verify
    (a server's ``requestCert`` with ``rejectUnauthorized: false``); the
    standard library's engine fails the handshake instead, so it has none.
    """
    getter = getattr(sslobj, "verify_failure", None)
    return getter() if getter is not None else None
