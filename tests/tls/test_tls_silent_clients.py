"""Clients that connect and say nothing: cheap for the server, and still timed out.

A TLS server starts a connection's handshake, and makes its OpenSSL
connection, only when the client's first bytes arrive, driven by the
connection's read watcher in the hub; a greenlet
is made only for a handshake whose ``SNICallback`` may block, and only once
the ClientHello arrives. ``handshakeTimeout`` still bounds every handshake
from the accept: silent clients, half a ClientHello and a callback that
blocks too long each end in one 'tlsClientError' ERR_TLS_HANDSHAKE_TIMEOUT.

The greenlets are counted by what they run (a TLSTransport's method), so the
count is exact whatever else the process runs (monkey-patched or not).
"""

from __future__ import annotations

import gc
import ssl
from typing import Any

import gevent
import gevent.event
import pytest

from gnet.tls import createSecureContext
from gnet.tls.server import Server, createServer
from gnet.tls.socket import TLSSocket, connect
from gnet.tls.transport import TLSTransport
from helpers import HOST, wait_until

pytestmark = pytest.mark.timeout(30)

SILENT = 20


def identity(certs: Any, leaf: Any = None) -> dict[str, Any]:
    leaf = leaf or certs.leaf
    return {"key": leaf.private_key_pem.bytes(),
            "cert": b"".join(blob.bytes() for blob in leaf.cert_chain_pems)}


def tls_server(harness: Any, certs: Any, **options: Any) -> tuple[Server, list[Any],
                                                                   list[TLSSocket]]:
    srv = createServer({**identity(certs), **options})
    harness.add(srv)
    harness.listen(srv, 0, HOST)
    outcomes: list[Any] = []
    accepted: list[TLSSocket] = []
    srv.on("connection", accepted.append)
    srv.on("tlsClientError", lambda err, sock: outcomes.append((err, sock)))
    srv.on("secureConnection", lambda sock: outcomes.append(("secureConnection", sock)))
    return srv, outcomes, accepted


def handshake_greenlets() -> list[Any]:
    """Live greenlets running a TLSTransport's handshake."""
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, gevent.Greenlet) and not obj.dead:
            owner = getattr(getattr(obj, "_run", None), "__self__", None)
            if isinstance(owner, TLSTransport):
                found.append(obj)
    return found


def test_silent_clients_have_no_greenlet_and_time_out(harness: Any, certs: Any) -> None:
    srv, outcomes, accepted = tls_server(harness, certs, handshakeTimeout=400)
    port = srv.address()["port"]
    raws = [harness.raw_client(port) for _ in range(SILENT)]
    wait_until(lambda: len(accepted) == SILENT)
    assert not outcomes
    assert handshake_greenlets() == []
    for sock in accepted:
        t = sock._t
        assert isinstance(t, TLSTransport)
        assert t._greenlet is None and t.handshaking
        assert t._sslobj is None  # no OpenSSL connection before the client speaks
        assert sock.getProtocol() == "unknown" and sock.getCipher() is None
        assert t._sslobj is None  # asking does not make one
    wait_until(lambda: len(outcomes) == SILENT, timeout_s=10)
    gevent.sleep(0.05)
    assert len(outcomes) == SILENT  # one each, never 'secureConnection'
    for err, sock in outcomes:
        assert err.code == "ERR_TLS_HANDSHAKE_TIMEOUT" and str(err) == "TLS handshake timeout"
        assert isinstance(sock, TLSSocket) and sock in accepted
    for raw in raws:
        wait_until(lambda raw=raw: raw.recv(10) == b"")  # the server closed it
    harness.finish()


def test_half_a_client_hello_still_times_out(harness: Any, certs: Any) -> None:
    srv, outcomes, _accepted = tls_server(harness, certs, handshakeTimeout=300)
    raw = harness.raw_client(srv.address()["port"])
    # A record header announcing 512 bytes, and only 5 of them.
    raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc")
    wait_until(lambda: len(outcomes) == 1, timeout_s=10)
    gevent.sleep(0.05)
    assert len(outcomes) == 1
    assert outcomes[0][0].code == "ERR_TLS_HANDSHAKE_TIMEOUT"
    assert handshake_greenlets() == []
    harness.finish()


def test_a_late_client_hello_completes(harness: Any, certs: Any) -> None:
    """A client that waits before speaking (STARTTLS-like) is served normally."""
    import gnet

    srv, outcomes, _accepted = tls_server(harness, certs, handshakeTimeout=5000)
    plain = harness.track(gnet.connect(srv.address()["port"], HOST))
    wait_until(lambda: not plain.connecting)
    gevent.sleep(0.2)
    assert not outcomes
    c = harness.track(connect({"socket": plain, "ca": certs.ca.cert_pem.bytes(),
                               "host": "localhost"}))
    wait_until(lambda: c.authorized and outcomes)
    assert outcomes[0][0] == "secureConnection"
    harness.finish()


def test_sni_callback_gets_a_greenlet_only_once_the_client_speaks(harness: Any,
                                                                  certs: Any) -> None:
    example = createSecureContext(identity(certs, certs.example))
    release = gevent.event.Event()
    calls: list[str] = []

    def sni(name: str, cb: Any) -> None:
        calls.append(name)
        release.wait()  # a cooperative lookup, held open by the test
        cb(None, example)

    srv, outcomes, accepted = tls_server(harness, certs, SNICallback=sni)
    raws = [harness.raw_client(srv.address()["port"]) for _ in range(3)]
    wait_until(lambda: len(accepted) == 3)
    assert handshake_greenlets() == []  # silent: no greenlet yet
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST,
                               "servername": "example.com", "ca": certs.ca.cert_pem.bytes()}))
    wait_until(lambda: calls)
    assert len(handshake_greenlets()) == 1  # the one that speaks, blocked in the callback
    release.set()
    wait_until(lambda: c.authorized)
    assert c.getPeerCertificate()["subjectaltname"] == "DNS:example.com"
    wait_until(lambda: not handshake_greenlets())
    assert [o[0] for o in outcomes] == ["secureConnection"]
    for raw in raws:
        raw.close()
    harness.finish()


def test_timeout_while_the_sni_callback_blocks(harness: Any, certs: Any) -> None:
    def sni(name: str, cb: Any) -> None:
        gevent.sleep(5)  # longer than handshakeTimeout

    srv, outcomes, _accepted = tls_server(harness, certs, SNICallback=sni,
                                          handshakeTimeout=200)
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST,
                               "servername": "example.com", "ca": certs.ca.cert_pem.bytes()}))
    client_errors: list[Any] = []
    c.on("error", client_errors.append)
    wait_until(lambda: outcomes and client_errors, timeout_s=10)
    gevent.sleep(0.05)
    assert len(outcomes) == 1
    assert outcomes[0][0].code == "ERR_TLS_HANDSHAKE_TIMEOUT"
    assert client_errors[0].code == "ECONNRESET"
    wait_until(lambda: not handshake_greenlets())
    harness.finish()


def test_stdlib_client_after_a_pause(harness: Any, certs: Any) -> None:
    """gevent's own SSL client over a socket that connected 100 ms earlier."""
    srv, outcomes, accepted = tls_server(harness, certs)
    raw = harness.raw_client(srv.address()["port"])
    wait_until(lambda: accepted)
    gevent.sleep(0.1)
    from gevent import socket as gsocket, ssl as gssl

    gcontext = gssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    gcontext.load_verify_locations(cadata=certs.ca.cert_pem.bytes().decode())
    wrapped = gcontext.wrap_socket(gsocket.socket(fileno=raw.detach()),
                                   server_hostname="localhost")
    assert wrapped.version() in ("TLSv1.2", "TLSv1.3")
    wait_until(lambda: outcomes)
    assert outcomes[0][0] == "secureConnection"
    wrapped.close()
    harness.finish()
