"""Behaviours of the TLS catalogue (T1-T42 of the reference notes) that no other test covered.

docs/tls.md ("Behaviours and their tests") maps every T-number to its test;
this module holds the ones written for that audit: a client meeting a
plaintext server (T5), the client's ``ca`` list matrix (T7), a server's
``requestCert`` matrix with ``openssl s_client`` clients and a CRL (T10),
the standard library's ALPN without overlap (T15), an ``SNICallback``
answering no context (T17), ``SNICallback`` argument checks (T18), resumption
seen from both sides (T24), STARTTLS's plain socket destroyed under the
TLS socket (T31), ``getCertificate()`` without a certificate (T32), what the
standard library cannot do raising ERR_GNET_UNSUPPORTED (T25, T39, T41), and
a server that never emits 'error' for a client's failure (T40). Node 20's
answers were taken from Node runs of the same exchanges.
"""

from __future__ import annotations

import datetime
import shutil
import socket as stdsocket
from typing import Any

import gevent
import pytest
from gevent import subprocess

import gnet
from gnet.errors import InvalidArgTypeError, UnsupportedError
from gnet.tls import TLSSocket as TLSSocketClass
from gnet.tls.server import Server, createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import HOST, Recorder, wait_until

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


def outcomes(srv: Server) -> list[Any]:
    seen: list[Any] = []
    srv.on("tlsClientError", lambda err, sock: seen.append(err))
    srv.on("secureConnection", lambda sock: seen.append(sock))
    return seen


# --- T5: a client meeting a server that answers in plaintext -------------------------


def test_plaintext_server_is_wrong_version_number(harness: Any, certs: Any) -> None:
    # Node 20: 'connect', 'error' ERR_SSL_WRONG_VERSION_NUMBER ("wrong version
    # number" in the message), 'close'.
    plain = harness.add(gnet.createServer(
        lambda sock: (sock.on("data", lambda _d: None),
                      sock.write(b"HTTP/1.1 400 Bad Request\r\n\r\nhello world\n"))))
    harness.listen(plain, 0, HOST)
    c = harness.track(connect(plain.address()["port"], HOST, {"ca": certs.ca.cert_pem.bytes()}))
    rec = Recorder(c, ("connect", "secureConnect", "error", "close"))
    rec.wait("close")
    assert rec.names == ["connect", "error", "close"]
    err = rec.args("error")[0][0]
    assert err.code == "ERR_SSL_WRONG_VERSION_NUMBER"
    assert "wrong version number" in str(err)
    harness.finish()


# --- T7: the client's ca list ------------------------------------------------------


@pytest.mark.parametrize(("cas", "leaf", "authorized", "error"), [
    (["ca"], "leaf", True, None),
    (["other_ca"], "leaf", False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    (["other_ca", "ca"], "leaf", True, None),
    (["rsa_ca", "other_ca"], "leaf", False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    (["ca"], "example", False, "ERR_TLS_CERT_ALTNAME_INVALID"),  # chain fine, name not
])
def test_client_ca_list(harness: Any, certs: Any, cas: list[str], leaf: str, authorized: bool,
                        error: str | None) -> None:
    srv = tls_server(harness, certs, **identity(certs, getattr(certs, leaf)))
    ca = [getattr(certs, name).cert_pem.bytes() for name in cas]
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST, "ca": ca,
                               "rejectUnauthorized": False}))
    wait_until(lambda: c.authorized or c.authorizationError is not None)
    assert (c.authorized, c.authorizationError) == (authorized, error)
    strict = harness.track(connect({"port": srv.address()["port"], "host": HOST, "ca": ca}))
    rec = Recorder(strict, ("secureConnect", "error", "close"))
    if authorized:
        rec.wait("secureConnect")
    else:
        rec.wait("close")
        assert rec.args("error")[0][0].code == error
    harness.finish()


# --- T10: requestCert with openssl s_client clients, and a CRL ------------------------


@pytest.fixture
def pem_files(certs: Any, tmp_path: Any) -> dict[str, tuple[str, str]]:
    """Client identities as files for openssl: CA-signed, self-signed, another CA's."""
    out = {}
    for name, key, cert in (
            ("agent1", certs.leaf.private_key_pem.bytes(),
             b"".join(b.bytes() for b in certs.leaf.cert_chain_pems)),
            ("agent2", certs.other_ca.private_key_pem.bytes(), certs.other_ca.cert_pem.bytes()),
            ("agent3", certs.stranger.private_key_pem.bytes(),
             b"".join(b.bytes() for b in certs.stranger.cert_chain_pems))):
        (tmp_path / f"{name}.key").write_bytes(key)
        (tmp_path / f"{name}.pem").write_bytes(cert)
        out[name] = (str(tmp_path / f"{name}.key"), str(tmp_path / f"{name}.pem"))
    (tmp_path / "ca.pem").write_bytes(certs.ca.cert_pem.bytes())
    out["ca"] = (str(tmp_path / "ca.pem"), "")
    return out


def _crl(ca: Any, revoked: list[Any]) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

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


@pytest.mark.once
@pytest.mark.parametrize(("agent", "crl", "expected"), [
    ("agent1", False, "authorized"),
    ("agent2", False, "DEPTH_ZERO_SELF_SIGNED_CERT"),
    ("agent3", False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
    ("nocert", False, "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    ("agent1", True, "CERT_REVOKED"),
])
def test_request_cert_with_openssl_clients(harness: Any, certs: Any, pem_files: Any,
                                           agent: str, crl: bool, expected: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not on PATH")
    options: dict[str, Any] = {"requestCert": True, "ca": certs.ca.cert_pem.bytes()}
    if crl:
        options["crl"] = _crl(certs.ca, [certs.leaf])
    srv = tls_server(harness, certs, lambda sock: sock.end(b"welcome\n"), **options)
    seen = outcomes(srv)
    args = [openssl, "s_client", "-connect", f"{HOST}:{srv.address()['port']}",
            "-servername", "localhost", "-CAfile", pem_files["ca"][0], "-ign_eof"]
    if agent != "nocert":
        args += ["-key", pem_files[agent][0], "-cert", pem_files[agent][1]]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate("", timeout=20)
    wait_until(lambda: seen)
    if expected == "authorized":
        sock = seen[0]
        assert isinstance(sock, TLSSocket) and sock.authorized is True
        assert sock.authorizationError is None
        assert "welcome" in out
    else:
        assert getattr(seen[0], "code", None) in expected.split("|"), seen[0]
        assert "welcome" not in out
    harness.finish()


# --- T15: ALPN without a protocol in common (standard library tier) -------------------


def test_alpn_without_overlap_goes_on_without_alpn(harness: Any, certs: Any) -> None:
    # The standard library's server answers NOACK: no protocol on either side,
    # the handshake goes on (Node fails it with alert 120; differences.md).
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append, ALPNProtocols=["h2"])
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST,
                               "ca": certs.ca.cert_pem.bytes(), "ALPNProtocols": ["x-other"]}))
    wait_until(lambda: seen and c.authorized)
    assert c.alpnProtocol is False and seen[0].alpnProtocol is False
    harness.finish()


# --- T17, T32: an SNICallback that answers no context; getCertificate() ----------------


def test_sni_callback_null_context_serves_the_default(harness: Any, certs: Any) -> None:
    names: list[str] = []

    def sni(name: str, cb: Any) -> None:
        names.append(name)
        gevent.sleep(0.05)  # Node's test answers from a 100 ms timer
        cb(None, None)

    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append, SNICallback=sni)
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST,
                               "servername": "localhost", "ca": certs.ca.cert_pem.bytes()}))
    wait_until(lambda: c.authorized and seen)
    assert names == ["localhost"]
    assert seen[0].servername == "localhost"  # the SNI the client sent
    assert c.getPeerCertificate()["subjectaltname"].startswith("DNS:localhost")
    assert c.getCertificate() == {}  # the client has no certificate of its own
    harness.finish()


# --- T18: SNICallback's type -------------------------------------------------------------


def test_sni_callback_must_be_a_function(certs: Any) -> None:
    with pytest.raises(InvalidArgTypeError) as info:
        createServer({**identity(certs), "SNICallback": "x"})
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    # Node 20: new TLSSocket(s, {isServer: true, SNICallback: 'x'}) throws
    # ERR_INVALID_ARG_TYPE; gnet then refuses a function too (use a Server).
    with pytest.raises(InvalidArgTypeError):
        TLSSocketClass(None, {"isServer": True, **identity(certs), "SNICallback": "x"})
    with pytest.raises(UnsupportedError) as unsupported:
        TLSSocketClass(None, {"isServer": True, **identity(certs),
                              "SNICallback": lambda name, cb: cb(None, None)})
    assert unsupported.value.code == "ERR_GNET_UNSUPPORTED"


# --- T24: resumption seen from both sides ---------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_resumption_on_both_sides(harness: Any, certs: Any, version: str) -> None:
    server_side: list[bool] = []  # isSessionReused() at 'secureConnection'
    srv = tls_server(harness, certs,
                     lambda sock: (server_side.append(sock.isSessionReused()), sock.end(b"hi")))
    ca = certs.ca.cert_pem.bytes()
    port = srv.address()["port"]
    sessions: list[Any] = []
    first = harness.track(connect({"port": port, "host": HOST, "ca": ca,
                                   "maxVersion": version}))
    first.on("session", sessions.append)
    Recorder(first).wait("close")
    assert sessions
    assert server_side == [False]
    second = harness.track(connect({"port": port, "host": HOST, "ca": ca, "maxVersion": version,
                                    "session": sessions[-1]}))
    reused: list[bool] = []
    second.on("secureConnect", lambda: reused.append(second.isSessionReused()))
    Recorder(second).wait("close")
    wait_until(lambda: len(server_side) == 2)
    assert reused == [True]
    assert server_side == [False, True]
    assert second.getProtocol() is None  # closed
    harness.finish()


# --- T31: the plain socket under a STARTTLS TLSSocket is destroyed --------------------


def test_destroying_the_plain_socket_closes_the_tls_socket(harness: Any, certs: Any) -> None:
    secure_sides: list[TLSSocket] = []
    plains: list[Any] = []

    def on_plain(sock: Any) -> None:
        plains.append(sock)
        secure = TLSSocketClass(sock, {"isServer": True, **identity(certs)})
        secure.on("error", lambda _e: None)
        secure_sides.append(secure)

    plain_srv = harness.add(gnet.createServer(on_plain))
    harness.listen(plain_srv, 0, HOST)
    c = harness.track(connect(plain_srv.address()["port"], HOST,
                              {"ca": certs.ca.cert_pem.bytes()}))
    c.on("error", lambda _e: None)
    wait_until(lambda: c.authorized and secure_sides)
    rec = Recorder(secure_sides[0], ("end", "close"))
    plains[0].destroy()
    rec.wait("close")
    assert secure_sides[0].destroyed
    wait_until(lambda: c.destroyed)  # the client saw the connection go
    harness.finish()


# --- T25, T39, T41: what the standard library cannot do ------------------------------


def test_what_the_standard_library_cannot_do_says_so(harness: Any, certs: Any) -> None:
    seen: list[TLSSocket] = []
    srv = tls_server(harness, certs, seen.append)
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST,
                               "ca": certs.ca.cert_pem.bytes()}))
    wait_until(lambda: c.authorized and seen)
    calls = [
        ("renegotiate()", lambda: c.renegotiate({}, lambda *_: None)),
        ("exportKeyingMaterial()", lambda: c.exportKeyingMaterial(32, "label")),
        ("getFinished()", c.getFinished),
        ("getPeerFinished()", seen[0].getPeerFinished),
        ("getTLSTicket()", c.getTLSTicket),
        ("getTicketKeys()", srv.getTicketKeys),
        ("setTicketKeys()", lambda: srv.setTicketKeys(b"\0" * 48)),
        ("ticketKeys", lambda: createServer({**identity(certs), "ticketKeys": b"\0" * 48})),
    ]
    for name, call in calls:
        with pytest.raises(UnsupportedError) as info:
            call()
        assert info.value.code == "ERR_GNET_UNSUPPORTED"
        assert name in str(info.value)
    # The PEP 8 twins say the same.
    with pytest.raises(UnsupportedError):
        c.export_keying_material(32, "label")
    harness.finish()


# --- T40: a client's failure is never the server's 'error' ---------------------------


def test_server_never_emits_error_for_a_client(harness: Any, certs: Any) -> None:
    srv = tls_server(harness, certs, handshakeTimeout=300)
    errors: list[Any] = []
    client_errors: list[Any] = []
    srv.on("error", errors.append)
    srv.on("clientError", errors.append)  # HTTP's event: never a TLS server's
    srv.on("tlsClientError", lambda err, sock: client_errors.append(err.code))
    port = srv.address()["port"]
    garbage = harness.raw_client(port)
    garbage.sendall(b"\x2a" * 1024)
    http = harness.raw_client(port)
    http.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    harness.raw_client(port)  # silent: times out
    stdsocket.create_connection((HOST, port)).close()  # hangs up
    wait_until(lambda: len(client_errors) == 4, timeout_s=10)
    assert sorted(client_errors) == ["ECONNRESET", "ERR_SSL_HTTP_REQUEST",
                                     "ERR_SSL_WRONG_VERSION_NUMBER",
                                     "ERR_TLS_HANDSHAKE_TIMEOUT"]
    assert errors == []
    assert srv.listening
    harness.finish()
