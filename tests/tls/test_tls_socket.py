"""TLS sockets, gnet to gnet: data, backpressure, half-close, byte counts, events, errors.

Every test runs a gnet TLS server and a client (gnet, or a raw socket for a
hostile peer) on loopback, with certificates made per run by trustme.
"""

from __future__ import annotations

import hashlib
import socket as stdsocket
import ssl
from typing import Any

import gevent
import pytest

from gnet.tls.ciphers import standard_name
from gnet.tls.server import Server, createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import HOST, MIB, Recorder, wait_until

pytestmark = pytest.mark.timeout(30)


def identity(certs: Any, leaf: Any = None) -> dict[str, Any]:
    leaf = leaf or certs.leaf
    return {"key": leaf.private_key_pem.bytes(),
            "cert": b"".join(blob.bytes() for blob in leaf.cert_chain_pems)}


def tls_server(harness: Any, certs: Any, listener: Any = None, **options: Any) -> Server:
    srv = createServer({**identity(certs), **options}, listener)
    harness.add(srv)
    harness.listen(srv, 0, HOST)
    return srv


def client(harness: Any, certs: Any, srv: Server, **options: Any) -> TLSSocket:
    options.setdefault("ca", certs.ca.cert_pem.bytes())
    return harness.track(connect({"port": srv.address()["port"], "host": HOST, **options}))


def echo(sock: TLSSocket) -> None:
    sock.on("data", sock.write)


def test_echo_one_mib_both_ways(harness: Any, certs: Any) -> None:
    server_side: list[TLSSocket] = []

    def on_secure(sock: TLSSocket) -> None:
        server_side.append(sock)
        echo(sock)

    srv = tls_server(harness, certs, on_secure)
    payload = hashlib.sha256(b"seed").digest() * (MIB // 32)
    c = client(harness, certs, srv)
    got: list[bytes] = []
    c.on("data", got.append)
    c.write(payload)
    wait_until(lambda: sum(map(len, got)) >= len(payload), 20)
    data = b"".join(got)
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert c.bytesWritten == c.bytesRead == len(payload)
    s = server_side[0]
    assert s.bytesRead == s.bytesWritten == len(payload)
    harness.finish()


def test_byte_counts_are_plaintext(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    c = client(harness, certs, srv)
    rec = Recorder(c)
    c.end(b"x" * 1000)
    wait_until(lambda: seen and seen[0].bytesRead == 1000)
    assert c.bytesWritten == 1000
    seen[0].end()
    rec.wait("close")
    assert c.bytesRead == 0 and seen[0].bytesWritten == 0
    harness.finish()


def test_event_order_matches_node(harness: Any, certs: Any) -> None:
    # Recorded from Node 20 (tls.connect to tls.createServer, the client
    # writes 1000 bytes, the server echoes, the client ends on the echo):
    # C connect, ready, secureConnect, secure; S secure, secureConnection,
    # data; C data, finish; S end, finish, close; C end, close.
    log: list[str] = []

    def on_secure(sock: TLSSocket) -> None:
        log.append("S secureConnection")
        for name in ("data", "end", "finish", "close"):
            sock.on(name, lambda *_a, name=name: log.append("S " + name))
        sock.on("data", sock.write)

    srv = createServer(identity(certs))
    harness.add(srv)
    srv.on("connection", lambda sock: sock.on("secure", lambda: log.append("S secure")))
    srv.on("secureConnection", on_secure)
    harness.listen(srv, 0, HOST)
    c = client(harness, certs, srv)
    for name in ("connect", "ready", "secureConnect", "secure", "data", "end", "finish",
                 "close"):
        c.on(name, lambda *_a, name=name: log.append("C " + name))
    c.on("data", lambda _d: c.end())
    c.write(b"\0" * 1000)
    wait_until(lambda: "C close" in log and "S close" in log)
    client_events = [e for e in log if e.startswith("C ")]
    server_events = [e for e in log if e.startswith("S ")]
    assert client_events == ["C connect", "C ready", "C secureConnect", "C secure", "C data",
                             "C finish", "C end", "C close"]
    assert server_events == ["S secure", "S secureConnection", "S data", "S end", "S finish",
                             "S close"]
    harness.finish()


def test_backpressure_drain_every_byte(harness: Any, certs: Any) -> None:
    results: dict[str, Any] = {}

    def on_secure(sock: TLSSocket) -> None:
        chunk = b"z" * 65536
        for _ in range(64):  # 4 MiB, far more than the kernel buffers
            if not sock.write(chunk):
                results["false"] = True
                break
        results["written"] = sock.bytesWritten
        sock.on("drain", lambda: results.setdefault("drain", True))

    srv = tls_server(harness, certs, on_secure)
    c = client(harness, certs, srv)
    c.pause()
    c.on("secureConnect", lambda: None)
    wait_until(lambda: "written" in results)
    assert results.get("false") is True
    gevent.sleep(0.1)
    assert "drain" not in results
    got: list[int] = []
    c.on("data", lambda d: got.append(len(d)))
    c.resume()
    wait_until(lambda: sum(got) >= results["written"], 10)
    wait_until(lambda: "drain" in results)
    assert sum(got) == results["written"]
    harness.finish()


@pytest.mark.parametrize("first", ["client", "server"])
def test_half_close_allow_half_open(harness: Any, certs: Any, first: str) -> None:
    server_side: list[TLSSocket] = []
    srv = tls_server(harness, certs, server_side.append, allowHalfOpen=True)
    c = client(harness, certs, srv, allowHalfOpen=True)
    crec = Recorder(c)
    wait_until(lambda: server_side)
    s = server_side[0]
    srec = Recorder(s)
    closer, other = (c, s) if first == "client" else (s, c)
    closer_rec, other_rec = (crec, srec) if first == "client" else (srec, crec)
    closer.end(b"bye")
    other_rec.wait("end")
    assert other_rec.data() == b"bye"
    assert "close" not in other_rec.names
    other.write(b"after end")
    wait_until(lambda: closer_rec.data() == b"after end")
    other.end()
    closer_rec.wait("close")
    other_rec.wait("close")
    assert closer_rec.names.count("end") == 1
    harness.finish()


def test_protocol_and_cipher(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    c = client(harness, certs, srv)
    assert c.getProtocol() == "unknown"
    Recorder(c, ("secureConnect",)).wait("secureConnect")
    assert c.getProtocol() == "TLSv1.3"
    cipher = c.getCipher()
    assert cipher == {"name": "TLS_AES_256_GCM_SHA384",
                      "standardName": "TLS_AES_256_GCM_SHA384", "version": "TLSv1.3"}
    wait_until(lambda: seen)
    s = seen[0]
    assert s.getProtocol() == "TLSv1.3"
    assert s.authorized is False and s.authorizationError is None
    assert s.encrypted is True and c.encrypted is True
    assert c.authorized is True and c.alpnProtocol is False
    assert c.getPeerCertificate()["subjectaltname"].startswith("DNS:localhost")
    assert s.getPeerCertificate() == {}
    detailed = c.getPeerCertificate(True)
    issuer = detailed["issuerCertificate"]  # the CA, from the trust store
    assert issuer["ca"] is True and issuer["issuerCertificate"] is issuer
    assert detailed["fingerprint256"] == c.getPeerCertificate()["fingerprint256"]
    assert s.getCertificate()["subjectaltname"].startswith("DNS:localhost")
    c.destroy()
    assert c.getProtocol() is None and c.getPeerCertificate() is None
    harness.finish()


def test_tls12_cipher_names(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, maxVersion="TLSv1.2")
    c = client(harness, certs, srv, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    Recorder(c, ("secureConnect",)).wait("secureConnect")
    assert c.getProtocol() == "TLSv1.2"
    assert c.getCipher() == {"name": "ECDHE-ECDSA-AES128-GCM-SHA256",
                             "standardName": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                             "version": "TLSv1.2"}
    assert standard_name("AES128-SHA256") == "TLS_RSA_WITH_AES_128_CBC_SHA256"
    assert standard_name("ECDHE-RSA-CHACHA20-POLY1305") == \
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    harness.finish()


def test_standard_names_are_openssls() -> None:
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to compare with")
    out = subprocess.run([openssl, "ciphers", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) > 50
    for row in rows:
        assert standard_name(row[2]) == row[0], row


# --- handshake failures on the server: 'tlsClientError', never 'error' ------


def client_errors(srv: Server) -> list[tuple[Any, Any]]:
    errors: list[tuple[Any, Any]] = []
    srv.on("tlsClientError", lambda err, sock: errors.append((err, sock)))
    srv.on("secureConnection", lambda sock: errors.append(("secureConnection", sock)))
    return errors


def test_handshake_timeout(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, handshakeTimeout=50)
    errors = client_errors(srv)
    raw = harness.raw_client(srv.address()["port"])
    wait_until(lambda: errors)
    gevent.sleep(0.1)
    assert len(errors) == 1
    err, sock = errors[0]
    assert err.code == "ERR_TLS_HANDSHAKE_TIMEOUT" and str(err) == "TLS handshake timeout"
    assert isinstance(sock, TLSSocket)
    wait_until(lambda: raw.recv(10) == b"")
    harness.finish()


@pytest.mark.parametrize(("garbage", "code"), [
    (b"\x2a" * 1024, "ERR_SSL_WRONG_VERSION_NUMBER"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "ERR_SSL_HTTP_REQUEST"),
])
def test_garbage_is_a_client_error(harness: Any, certs: Any, garbage: bytes,
                                   code: str) -> None:
    srv = tls_server(harness, certs)
    errors = client_errors(srv)
    raw = harness.raw_client(srv.address()["port"])
    raw.sendall(garbage)
    wait_until(lambda: errors)
    err, _sock = errors[0]
    assert err.code == code
    harness.finish()


def test_peer_closes_before_handshake(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs)
    errors = client_errors(srv)
    raw = stdsocket.create_connection((HOST, srv.address()["port"]))
    raw.close()
    wait_until(lambda: errors)
    err, sock = errors[0]
    assert err.code == "ECONNRESET" and "socket hang up" in str(err)
    assert sock.destroyed
    harness.finish()


def test_client_to_a_plain_server_that_ends(harness: Any, certs: Any) -> None:
    import gnet

    plain = harness.add(gnet.createServer(lambda sock: sock.end()))
    harness.listen(plain, 0, HOST)
    c = harness.track(connect(plain.address()["port"], HOST, {"ca": certs.ca.cert_pem.bytes()}))
    rec = Recorder(c, ("connect", "secureConnect", "error", "close"))
    rec.wait("close")
    assert rec.names == ["connect", "error", "close"]
    err = rec.args("error")[0][0]
    assert err.code == "ECONNRESET"
    assert str(err).endswith("Client network socket disconnected before secure TLS "
                             "connection was established")
    assert err.host == HOST and err.port == plain.address()["port"]
    harness.finish()


def test_hostile_clients_do_not_hurt_others(harness: Any, certs: Any) -> None:
    def on_secure(sock: TLSSocket) -> None:
        sock.on("data", lambda d: (_ for _ in ()).throw(RuntimeError("boom"))
                if d == b"raise" else sock.write(d))

    srv = tls_server(harness, certs, on_secure)
    errors = client_errors(srv)
    good = client(harness, certs, srv)
    got: list[bytes] = []
    good.on("data", got.append)
    bad = client(harness, certs, srv)
    bad_rec = Recorder(bad)
    raws = [harness.raw_client(srv.address()["port"]) for _ in range(3)]
    for raw in raws:
        raw.sendall(b"\x16\x03\x01\x00\x05hello garbage")
    good.write(b"ping")
    wait_until(lambda: got)
    bad.write(b"raise")
    bad_rec.wait("close")
    good.write(b"pong")
    wait_until(lambda: b"".join(got) == b"pingpong")
    assert not good.destroyed
    assert len([e for e in errors if e[0] != "secureConnection"]) == 3
    harness.close()


# --- the client's checks --------------------------------------------------------


def test_self_signed_rejected_by_default(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, key=certs.ca.private_key_pem.bytes(),
                     cert=certs.ca.cert_pem.bytes())
    errors = client_errors(srv)
    c = harness.track(connect(srv.address()["port"], HOST))
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("close")
    err = rec.args("error")[0][0]
    assert err.code == "DEPTH_ZERO_SELF_SIGNED_CERT"
    assert str(err) == "self-signed certificate"
    assert rec.names == ["error", "close"]
    wait_until(lambda: errors)
    assert errors[0][0].code == "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"
    harness.finish()


@pytest.mark.parametrize(("leaf", "code"), [
    ("self", "DEPTH_ZERO_SELF_SIGNED_CERT"),
    ("stranger", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    ("expired", "CERT_HAS_EXPIRED"),
    ("example", "ERR_TLS_CERT_ALTNAME_INVALID"),
    ("chained", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
    ("chained+root", "SELF_SIGNED_CERT_IN_CHAIN"),
])
def test_reject_unauthorized_false_reports(harness: Any, certs: Any, leaf: str,
                                           code: str) -> None:
    trust: dict[str, Any] = {}
    if leaf == "self":
        # Its own CA, not trusted (the default store): self-signed.
        options = {"key": certs.ca.private_key_pem.bytes(), "cert": certs.ca.cert_pem.bytes()}
        trust = {"ca": None}
    elif leaf == "chained+root":
        # Leaf, intermediate and the (untrusted) root, all sent.
        options = identity(certs, certs.chained)
        options["cert"] += certs.other_ca.cert_pem.bytes()
    else:
        options = identity(certs, getattr(certs, leaf))
    srv = tls_server(harness, certs, **options)
    c = client(harness, certs, srv, rejectUnauthorized=False, **trust)
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("secureConnect")
    assert c.authorized is False
    assert c.authorizationError == code
    # The same peer, rejected: the same code as the error.
    c2 = client(harness, certs, srv, **trust)
    rec2 = Recorder(c2, ("secureConnect", "error", "close"))
    rec2.wait("close")
    assert rec2.args("error")[0][0].code == code
    harness.finish()


def test_authorized_with_ca_and_reject_false(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs)
    c = client(harness, certs, srv, rejectUnauthorized=False)
    wait_until(lambda: c.authorized)
    assert c.authorizationError is None
    harness.finish()


def test_wrong_host_name(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, **identity(certs, certs.example))
    c = client(harness, certs, srv, host="localhost")
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("close")
    err = rec.args("error")[0][0]
    assert err.code == "ERR_TLS_CERT_ALTNAME_INVALID"
    assert err.reason == "Host: localhost. is not in the cert's altnames: DNS:example.com"
    # servername wins over host for the check (and is sent as SNI).
    c2 = client(harness, certs, srv, servername="example.com")
    wait_until(lambda: c2.authorized)
    harness.finish()


# --- ALPN, SNI, client certificates, sessions ------------------------------------


@pytest.mark.parametrize(("server", "client_list", "chosen"), [
    (["a", "b", "c"], ["c", "b", "e"], "b"),
    (["foo", "h2"], ["h2", "foo"], "foo"),
    (None, None, False),
])
def test_alpn(harness: Any, certs: Any, server: Any, client_list: Any, chosen: Any) -> None:
    seen: list[TLSSocket] = []
    options = {"ALPNProtocols": server} if server else {}
    srv = tls_server(harness, certs, seen.append, **options)
    c = client(harness, certs, srv, **({"ALPNProtocols": client_list} if client_list else {}))
    wait_until(lambda: seen and c.authorized)
    assert c.alpnProtocol == chosen
    assert seen[0].alpnProtocol == chosen
    harness.finish()


def test_sni_add_context_and_servername(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    srv.addContext("example.com", identity(certs, certs.example))
    c = client(harness, certs, srv, servername="example.com")
    wait_until(lambda: c.authorized and seen)
    assert c.getPeerCertificate()["subjectaltname"] == "DNS:example.com"
    assert seen[0].servername == "example.com"
    plain = client(harness, certs, srv)
    wait_until(lambda: plain.authorized and len(seen) == 2)
    assert seen[1].servername is False  # no SNI unless servername is given
    harness.finish()


def test_sni_callback_may_block(harness: Any, certs: Any) -> None:
    from gnet.tls import createSecureContext

    example = createSecureContext(identity(certs, certs.example))
    ticks: list[int] = []

    def sni(name: str, cb: Any) -> None:
        gevent.sleep(0.1)  # a cooperative lookup
        cb(None, example if name == "example.com" else None)

    srv = tls_server(harness, certs, SNICallback=sni)
    ticker = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0.01) for _ in range(100)])
    c = client(harness, certs, srv, servername="example.com")
    wait_until(lambda: c.authorized)
    assert c.getPeerCertificate()["subjectaltname"] == "DNS:example.com"
    assert len(ticks) >= 5  # the loop ran while the callback waited
    ticker.kill()
    harness.finish()


def test_sni_callback_invalid_context(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, SNICallback=lambda name, cb: cb(None, {}))
    errors = client_errors(srv)
    c = client(harness, certs, srv, servername="x.example")
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("close")
    wait_until(lambda: errors)
    assert str(errors[0][0]) == "Invalid SNI context"
    harness.finish()


def test_client_certificates(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append, requestCert=True,
                     ca=certs.ca.cert_pem.bytes())
    errors = client_errors(srv)
    good = client(harness, certs, srv, **identity(certs))
    wait_until(lambda: seen)
    assert seen[0].authorized is True
    assert seen[0].getPeerCertificate()["subjectaltname"].startswith("DNS:localhost")
    assert good.authorized
    stranger = client(harness, certs, srv, **identity(certs, certs.stranger))
    rec = Recorder(stranger, ("secureConnect", "error", "close"))
    rec.wait("close")
    wait_until(lambda: len(errors) > 1)
    codes = [getattr(e[0], "code", None) for e in errors if e[0] != "secureConnection"]
    assert codes == ["UNABLE_TO_VERIFY_LEAF_SIGNATURE"]
    assert rec.args("error")[0][0].code == "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"
    harness.finish()


def test_session_resumption(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, lambda sock: sock.end(b"hi"))
    sessions: list[ssl.SSLSession] = []
    first = client(harness, certs, srv)
    first.on("session", sessions.append)
    first_reused_at_connect: list[bool] = []
    first.on("secureConnect", lambda: first_reused_at_connect.append(first.isSessionReused()))
    rec = Recorder(first)
    rec.wait("close")
    assert sessions and all(isinstance(s, ssl.SSLSession) for s in sessions)
    reused: list[bool] = []
    second = client(harness, certs, srv, session=sessions[-1])
    second.on("secureConnect", lambda: reused.append(second.isSessionReused()))
    rec2 = Recorder(second)
    rec2.wait("close")
    assert reused == [True]
    assert first_reused_at_connect == [False]
    harness.finish()


def test_unsupported_options_raise(harness: Any, certs: Any) -> None:
    # requestCert with rejectUnauthorized: False, ALPNCallback, 'keylog' and
    # OCSP stapling are the pyOpenSSL tier's: test_tls_pyopenssl.py checks
    # both tiers.
    from gnet.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="pskCallback"):
        connect({"port": 1, "pskCallback": lambda *a: None})
    srv = createServer(identity(certs))
    with pytest.raises(UnsupportedError, match="newSession"):
        srv.on("newSession", lambda *a: None)
    harness.finish()


# --- close_notify, ragged EOF, timeouts, Unix sockets, new TLSSocket() -------


def gevent_tls_client(certs: Any, port: int) -> Any:
    # A cooperative stdlib-style TLS client (gevent.ssl): a peer that is not gnet.
    import gevent.socket
    import gevent.ssl

    context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=certs.ca.cert_pem.bytes().decode())
    raw = gevent.socket.create_connection((HOST, port), timeout=5)
    return context.wrap_socket(raw, server_hostname="localhost")


def test_close_notify_without_fin_is_end(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    peer = gevent_tls_client(certs, srv.address()["port"])
    peer.sendall(b"hello")
    wait_until(lambda: seen)
    rec = Recorder(seen[0])
    seen[0].resume()
    raw = peer.unwrap()  # close_notify, then the server's close_notify; no FIN from here
    rec.wait("end")
    assert rec.data() == b"hello"
    assert raw.recv(10) == b""  # the server ended its side too (allowHalfOpen false)
    raw.close()
    rec.wait("close")
    harness.finish()


def test_fin_without_close_notify_is_end(harness: Any, certs: Any) -> None:
    # A "ragged" EOF after the handshake: Node 20 emits 'end'; so does gnet.
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    peer = gevent_tls_client(certs, srv.address()["port"])
    peer.sendall(b"hello")
    wait_until(lambda: seen)
    rec = Recorder(seen[0])
    seen[0].resume()
    import socket as _stdsocket

    raw = _stdsocket.socket(fileno=peer.detach())
    raw.shutdown(_stdsocket.SHUT_WR)
    rec.wait("end")
    assert rec.data() == b"hello" and "error" not in rec.names
    rec.wait("close")
    raw.close()
    harness.finish()


def test_timeout_over_tls(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, lambda sock: (seen.append(sock), sock.setTimeout(50)))
    c = client(harness, certs, srv)
    wait_until(lambda: seen)
    rec = Recorder(seen[0])
    rec.wait("timeout")
    assert not seen[0].destroyed and not c.destroyed
    harness.finish()


def test_unix_socket(harness: Any, certs: Any) -> None:
    srv = createServer(identity(certs), lambda sock: sock.end(b"over unix"))
    harness.add(srv)
    harness.listen(srv, harness.path("tls.sock"))
    c = harness.track(connect({"path": harness.path("tls.sock"),
                               "ca": certs.ca.cert_pem.bytes()}))
    rec = Recorder(c)
    rec.wait("close")
    assert rec.data() == b"over unix" and c.authorized  # checked as 'localhost'
    harness.finish()


def test_new_tlssocket_connect_emits_secure_not_secure_connect(harness: Any,
                                                                 certs: Any) -> None:
    srv = tls_server(harness, certs, lambda sock: sock.end(b"hi"))
    sock = harness.track(TLSSocket(None, {"ca": certs.ca.cert_pem.bytes()}))
    rec = Recorder(sock, ("connect", "secure", "secureConnect", "data", "close"))
    sock.connect(srv.address()["port"], HOST)
    rec.wait("close")
    assert rec.names == ["connect", "secure", "data", "close"]
    # The name checked is the host connected to.
    srv2 = tls_server(harness, certs, **identity(certs, certs.example))
    other = harness.track(TLSSocket(None, {"ca": certs.ca.cert_pem.bytes()}))
    rec2 = Recorder(other, ("secure", "error", "close"))
    other.connect(srv2.address()["port"], HOST)
    rec2.wait("close")
    err = rec2.args("error")[0][0]
    assert err.code == "ERR_TLS_CERT_ALTNAME_INVALID" and err.host == HOST
    harness.finish()


def test_writes_and_end_before_the_handshake(harness: Any, certs: Any) -> None:
    got: list[bytes] = []
    srv = tls_server(harness, certs, lambda sock: sock.on("data", got.append))
    c = client(harness, certs, srv)
    rec = Recorder(c)
    assert c.write(b"early ") is True
    c.end(b"bird")
    assert c.bytesWritten == 10
    rec.wait("finish")
    assert c.authorized  # 'finish' came after the handshake
    wait_until(lambda: b"".join(got) == b"early bird")
    harness.finish()


def test_pause_on_connect(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append, pauseOnConnect=True)
    c = client(harness, certs, srv)
    c.write(b"data")
    wait_until(lambda: seen)
    rec = Recorder(seen[0])
    gevent.sleep(0.1)
    assert rec.data() == b"" and seen[0].bytesRead == 0
    seen[0].resume()
    wait_until(lambda: rec.data() == b"data")
    harness.finish()


def test_certificate_required_tls13(harness: Any, certs: Any) -> None:
    # T12: the TLS 1.3 client finishes first ('secureConnect'), then learns
    # of the server's refusal; the server reports the missing certificate.
    srv = tls_server(harness, certs, requestCert=True, ca=certs.ca.cert_pem.bytes())
    errors = client_errors(srv)
    c = client(harness, certs, srv)
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("close")
    assert rec.names == ["secureConnect", "error", "close"]
    assert rec.args("error")[0][0].code == "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"
    wait_until(lambda: errors)
    assert errors[0][0].code == "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"
    harness.finish()


def test_versions_that_do_not_meet(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, minVersion="TLSv1.3")
    errors = client_errors(srv)
    c = client(harness, certs, srv, maxVersion="TLSv1.2")
    rec = Recorder(c, ("secureConnect", "error", "close"))
    rec.wait("close")
    assert rec.args("error")[0][0].code == "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"
    wait_until(lambda: errors)
    assert errors[0][0].code == "ERR_SSL_UNSUPPORTED_PROTOCOL"
    harness.finish()


def test_set_secure_context_for_new_connections(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, lambda sock: (seen.append(sock), echo(sock)))
    first = client(harness, certs, srv)
    wait_until(lambda: first.authorized)
    srv.setSecureContext(identity(certs, certs.example))
    second = client(harness, certs, srv, servername="example.com")
    wait_until(lambda: second.authorized)
    assert second.getPeerCertificate()["subjectaltname"] == "DNS:example.com"
    got: list[bytes] = []
    first.on("data", got.append)
    first.write(b"still here")
    wait_until(lambda: b"".join(got) == b"still here")
    harness.finish()


def test_argument_errors(harness: Any, certs: Any) -> None:
    from gnet.errors import InvalidArgTypeError, TLSSNIFromServerError

    with pytest.raises(InvalidArgTypeError):
        createServer({**identity(certs), "SNICallback": "not a function"})
    sock = TLSSocket()
    with pytest.raises(InvalidArgTypeError):
        sock.setServername(42)
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    client(harness, certs, srv)
    wait_until(lambda: seen)
    with pytest.raises(TLSSNIFromServerError):
        seen[0].setServername("x")
    harness.finish()


# --- STARTTLS: TLS over an already connected socket -----------------------------


def test_starttls_both_sides(harness: Any, certs: Any) -> None:
    # A plaintext greeting, then both sides upgrade the same connection.
    import gnet
    from gnet.tls import TLSSocket as TLSSocketClass

    upgraded: list[TLSSocket] = []

    def on_plain(sock: Any) -> None:
        def on_line(data: bytes) -> None:
            assert data == b"STARTTLS\r\n"
            sock.removeListener("data", on_line)
            sock.pause()
            sock.write(b"220 go ahead\r\n")
            secure = TLSSocketClass(sock, {"isServer": True, **identity(certs)})
            secure.on("data", secure.write)
            upgraded.append(secure)

        sock.on("data", on_line)

    plain_srv = harness.add(gnet.createServer(on_plain))
    harness.listen(plain_srv, 0, HOST)
    plain = harness.track(gnet.createConnection(plain_srv.address()["port"], HOST))
    results: dict[str, Any] = {}

    def on_reply(data: bytes) -> None:
        assert data == b"220 go ahead\r\n"
        plain.removeListener("data", on_reply)
        plain.pause()
        secure = harness.track(connect({"socket": plain, "ca": certs.ca.cert_pem.bytes()}))
        results["secure"] = secure
        secure.on("secureConnect", lambda: results.setdefault("authorized", secure.authorized))
        got: list[bytes] = []
        secure.on("data", got.append)
        secure.on("data", lambda _d: b"".join(got) == b"x" * 100000 and secure.end())
        secure.on("close", lambda *_: results.setdefault("echo", b"".join(got)))
        secure.write(b"x" * 100000)

    plain.on("data", on_reply)
    plain.write(b"STARTTLS\r\n")
    wait_until(lambda: "echo" in results)
    assert results["authorized"] is True
    assert results["echo"] == b"x" * 100000
    secure = results["secure"]
    assert secure.bytesRead == secure.bytesWritten == 100000
    assert secure.remotePort == plain_srv.address()["port"]
    wait_until(lambda: upgraded and upgraded[0].destroyed)
    assert upgraded[0].bytesRead == 100000
    harness.finish()


def test_connect_overloads(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, lambda sock: sock.end(b"ok"))
    port = srv.address()["port"]
    ca = certs.ca.cert_pem.bytes()
    done: list[str] = []
    made = [
        connect(port, HOST, {"ca": ca}, lambda: done.append("port, host, options, cb")),
        connect({"port": port, "host": HOST, "ca": ca}, lambda: done.append("options, cb")),
        connect(port=port, host=HOST, ca=ca),
    ]
    made[2].on("secureConnect", lambda: done.append("keywords"))
    for sock in made:
        harness.track(sock)
    wait_until(lambda: len(done) == 3)
    assert sorted(done) == ["keywords", "options, cb", "port, host, options, cb"]
    harness.finish()


def test_transports_keep_the_seam(harness: Any, certs: Any) -> None:
    from zope.interface.verify import verifyObject

    from gnet.interfaces import ITransport
    from gnet.tls.over_socket import SocketLower
    from gnet.tls.transport import TLSTransport

    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    c = client(harness, certs, srv)
    wait_until(lambda: seen and c.authorized)
    for sock in (c, seen[0]):
        transport = sock._t
        assert isinstance(transport, TLSTransport)
        assert verifyObject(ITransport, transport)
    methods = {name for name in ITransport.names() if callable(ITransport[name])}
    assert methods <= set(dir(SocketLower))
    from gnet.interfaces import ITLSServer, ITLSSocket

    assert verifyObject(ITLSSocket, c) and verifyObject(ITLSSocket, seen[0])
    assert verifyObject(ITLSServer, srv)
    harness.finish()


def test_reset_before_handshake(harness: Any, certs: Any) -> None:
    # T34: a client that resets mid-handshake: 'tlsClientError' "read ECONNRESET".
    import struct

    srv = tls_server(harness, certs)
    errors = client_errors(srv)
    raw = stdsocket.create_connection((HOST, srv.address()["port"]))
    raw.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello
    gevent.sleep(0.05)
    raw.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    wait_until(lambda: errors)
    err, _sock = errors[0]
    assert err.code == "ECONNRESET" and str(err).endswith("read ECONNRESET")
    harness.finish()


def test_add_context_wildcard_latest_wins(harness: Any, certs: Any) -> None:
    # T20: '*.example.com' matches one label only; the most recent match wins.
    wild = certs.ca.issue_cert("*.example.com")
    exact = certs.ca.issue_cert("a.example.com")
    srv = tls_server(harness, certs)
    srv.addContext("a.example.com", identity(certs, exact))
    srv.addContext("*.example.com", identity(certs, wild))
    names = {}
    for host in ("a.example.com", "b.example.com", "c.b.example.com"):
        c = client(harness, certs, srv, servername=host, rejectUnauthorized=False)
        wait_until(lambda c=c: c.authorized or c.authorizationError is not None)
        names[host] = c.getPeerCertificate()["subjectaltname"]
    assert names == {"a.example.com": "DNS:*.example.com", "b.example.com": "DNS:*.example.com",
                     "c.b.example.com": "DNS:localhost, IP Address:127.0.0.1, "
                                        "IP Address:0:0:0:0:0:0:0:1"}
    harness.finish()


def test_session_is_a_client_event(harness: Any, certs: Any) -> None:
    # T38: server sockets never emit 'session'.
    server_sessions: list[Any] = []
    srv = tls_server(harness, certs, lambda sock: (sock.on("session", server_sessions.append),
                                                   sock.end(b"x")))
    c = client(harness, certs, srv)
    client_sessions: list[Any] = []
    c.on("session", client_sessions.append)
    Recorder(c).wait("close")
    # Node 20 emits one per TLS 1.3 ticket (two); gnet sees the newest
    # session after each read, so tickets read together count once.
    assert 1 <= len(client_sessions) <= 2
    assert server_sessions == []
    harness.finish()
