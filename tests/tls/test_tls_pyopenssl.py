"""The pyOpenSSL tier (``gnet-node[tls]``): both tiers, and the real behaviour against Node 20.

Each behaviour of the tier is checked in whichever tier the environment has:
without pyOpenSSL (tox's ``tls-stdlib`` env) the option or listener raises
``ERR_GNET_UNSUPPORTED`` naming the extra; with it (every other env) the
behaviour itself is checked. Nothing is skipped.

* ``requestCert`` with ``rejectUnauthorized: False``: the client is accepted
  and ``authorized``/``authorizationError`` are Node's (compared with a Node
  server on the same certificates);
* the server's ``ALPNCallback``: its choice, ``None`` (a fatal alert), a
  value the client did not offer (``ERR_TLS_ALPN_CALLBACK_INVALID_RESULT``);
* 'keylog': NSS key-log lines, a Buffer each with its newline, on the
  client and on the server (line, socket), the same secrets as Node's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from gevent import subprocess

from gnet.errors import TLSALPNCallbackWithProtocolsError, UnsupportedError
from gnet.tls.engine import EXTRA, available
from gnet.tls.server import createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import HOST, Recorder, wait_until

pytestmark = pytest.mark.timeout(30)

TIER = available()


def pem(blob: Any) -> str:
    return str(blob.bytes().decode())


def identity(leaf: Any) -> dict[str, str]:
    return {"key": pem(leaf.private_key_pem),
            "cert": "".join(pem(b) for b in leaf.cert_chain_pems)}


def client_identities(certs: Any) -> dict[str, dict[str, str] | None]:
    """The client certificates of the matrix, by name (None: no certificate)."""
    chained = identity(certs.chained)
    return {
        "trusted": identity(certs.leaf),
        "self": {"key": pem(certs.other_ca.private_key_pem), "cert": pem(certs.other_ca.cert_pem)},
        "stranger": identity(certs.stranger),
        "expired": identity(certs.expired),
        "chained": chained,
        "chained+root": {"key": chained["key"],
                         "cert": chained["cert"] + pem(certs.other_ca.cert_pem)},
        "none": None,
    }


def accepting_server(harness: Any, certs: Any, **options: Any) -> Any:
    srv = harness.add(createServer({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem),
                                    "requestCert": True, "rejectUnauthorized": False,
                                    **options}))
    harness.listen(srv, 0, HOST)
    return srv


def unsupported(call: Any) -> None:
    with pytest.raises(UnsupportedError) as info:
        call()
    assert info.value.code == "ERR_GNET_UNSUPPORTED"
    assert EXTRA in str(info.value)


# --- requestCert with rejectUnauthorized: False -----------------------------------


def test_request_cert_without_reject_tier(harness: Any, certs: Any) -> None:
    if not TIER:
        unsupported(lambda: createServer({**identity(certs.leaf), "requestCert": True,
                                          "rejectUnauthorized": False}))
        unsupported(lambda: TLSSocket(None, {"isServer": True, **identity(certs.leaf),
                                             "requestCert": True,
                                             "rejectUnauthorized": False}))
        return
    seen: list[tuple[Any, ...]] = []

    def on_secure(sock: TLSSocket) -> None:
        seen.append((sock.authorized, sock.authorizationError,
                     sock.getPeerCertificate().get("fingerprint256")))
        sock.end(b"welcome")

    srv = accepting_server(harness, certs)
    srv.on("secureConnection", on_secure)
    expected = {"trusted": (True, None), "stranger": (False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
                "self": (False, "DEPTH_ZERO_SELF_SIGNED_CERT"),
                "expired": (False, "CERT_HAS_EXPIRED"),
                "none": (False, "UNABLE_TO_GET_ISSUER_CERT")}
    for name, want in expected.items():
        chosen = client_identities(certs)[name] or {}
        c = harness.track(connect(srv.address()["port"], HOST,
                                  {"ca": pem(certs.ca.cert_pem), "servername": "localhost",
                                   **chosen}))
        rec = Recorder(c)
        rec.wait("close")
        assert rec.data() == b"welcome", name
        assert seen[-1][:2] == want, name
        # getPeerCertificate() works for an unverified client too.
        assert (seen[-1][2] is not None) == (name != "none"), name
    harness.finish()


def test_rejecting_server_still_refuses(harness: Any, certs: Any) -> None:
    # rejectUnauthorized stays True by default: the pyOpenSSL tier does not
    # change a verifying server (here with a 'keylog' listener, which picks it).
    srv = harness.add(createServer({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem),
                                    "requestCert": True}))
    if TIER:
        srv.on("keylog", lambda *_: None)
    codes: list[str] = []
    srv.on("tlsClientError", lambda err, _s: codes.append(err.code))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": pem(certs.ca.cert_pem), **identity(certs.stranger)}))
    c.on("error", lambda _e: None)
    wait_until(lambda: codes)
    assert codes == ["UNABLE_TO_VERIFY_LEAF_SIGNATURE"]
    harness.finish()


# --- ALPNCallback -------------------------------------------------------------------


def test_alpn_callback_and_protocols_exclusive(certs: Any) -> None:
    with pytest.raises(TLSALPNCallbackWithProtocolsError) as info:
        createServer({**identity(certs.leaf), "ALPNCallback": lambda _a: "a",
                      "ALPNProtocols": ["a"]})
    assert info.value.code == "ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS"
    assert str(info.value) == \
        "The ALPNCallback and ALPNProtocols TLS options are mutually exclusive"


def test_alpn_callback_tier(harness: Any, certs: Any) -> None:
    if not TIER:
        unsupported(lambda: createServer({**identity(certs.leaf),
                                          "ALPNCallback": lambda _a: None}))
        return
    calls: list[Any] = []

    def choose(args: dict[str, Any]) -> Any:
        calls.append(args)
        protocols = args["protocols"]
        if "pick" in protocols:
            return "b"
        if "bad" in protocols:
            return "zzz"
        return None

    srv = harness.add(createServer({**identity(certs.leaf), "ALPNCallback": choose}))
    chosen: list[Any] = []
    errors: list[Any] = []
    srv.on("secureConnection", lambda s: (chosen.append(s.alpnProtocol), s.end()))
    srv.on("tlsClientError", lambda err, _s: errors.append(err))
    harness.listen(srv, 0, HOST)

    def attempt(protocols: list[str] | None) -> tuple[Any, Any]:
        opts: dict[str, Any] = {"ca": pem(certs.ca.cert_pem), "servername": "localhost"}
        if protocols is not None:
            opts["ALPNProtocols"] = protocols
        c = harness.track(connect(srv.address()["port"], HOST, opts))
        got: list[Any] = []
        c.on("secureConnect", lambda: got.append(c.alpnProtocol))
        c.on("error", lambda e: got.append(e))
        c.resume()
        Recorder(c).wait("close")
        return got[0], got[-1]

    assert attempt(["a", "b", "pick"]) == ("b", "b")
    assert chosen == ["b"]
    assert calls == [{"servername": "localhost", "protocols": ["a", "b", "pick"]}]
    # None: the fatal no_application_protocol alert, as Node.
    first, _ = attempt(["x", "y"])
    # (The standard library client names this alert's reason only in its
    # text: its code is ERR_SSL_UNKNOWN on Python 3.11 with OpenSSL 3.0.)
    assert getattr(first, "code", None) == "ECONNRESET" or \
        "alert no application protocol" in str(first)
    wait_until(lambda: len(errors) == 1)
    assert errors[0].code == "ERR_SSL_NO_APPLICATION_PROTOCOL"
    # A protocol the client did not offer: Node's error; the client is reset.
    first, _ = attempt(["bad"])
    assert getattr(first, "code", None) == "ECONNRESET"
    wait_until(lambda: len(errors) == 2)
    assert errors[1].code == "ERR_TLS_ALPN_CALLBACK_INVALID_RESULT"
    assert str(errors[1]) == ("ALPN callback returned a value (zzz) that did not match any of "
                              "the client's offered protocols (bad)")
    # No ALPN from the client: the callback is not called.
    assert attempt(None) == (False, False)
    assert len(calls) == 3
    harness.finish()


# --- 'keylog' -----------------------------------------------------------------------

KEYLOG_LINE = re.compile(rb"^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+\n$")


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_keylog_tier(harness: Any, certs: Any, version: str) -> None:
    srv = harness.add(createServer({**identity(certs.leaf), "maxVersion": version}))
    if not TIER:
        unsupported(lambda: srv.on("keylog", lambda *_: None))
        c = TLSSocket()
        unsupported(lambda: c.on("keylog", lambda *_: None))
        return
    server_lines: list[tuple[bytes, Any]] = []
    srv.on("keylog", lambda line, sock: server_lines.append((line, sock)))
    accepted: list[TLSSocket] = []
    srv.on("secureConnection", lambda s: (accepted.append(s), s.end()))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": pem(certs.ca.cert_pem), "servername": "localhost"}))
    order: list[Any] = []
    c.on("keylog", lambda line: order.append(line))
    c.on("secureConnect", lambda: order.append("secureConnect"))
    c.resume()
    Recorder(c).wait("close")
    count = 5 if version == "TLSv1.3" else 1
    assert len(order) == count + 1 and order[-1] == "secureConnect"
    client_lines = order[:-1]
    assert all(isinstance(line, bytes) and KEYLOG_LINE.match(line) for line in client_lines)
    wait_until(lambda: len(server_lines) == count)
    assert {line for line, _ in server_lines} == set(client_lines)
    assert all(sock is accepted[0] for _, sock in server_lines)
    harness.finish()


# --- against Node 20 ----------------------------------------------------------------

NODE_PEER = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const results = [];
const srv = tls.createServer({key: opts.key, cert: opts.cert, ca: opts.ca, requestCert: true,
                              rejectUnauthorized: false}, (s) => {
  results.push([s.authorized, s.authorizationError || null]); s.end('welcome');
});
srv.on('keylog', (line) => { results.keylog = (results.keylog || []).concat([line.toString()]); });
function one(port, id) {
  return new Promise((res) => {
    const o = {port, host: '127.0.0.1', ca: opts.ca, servername: 'localhost'};
    if (id) { o.key = id.key; o.cert = id.cert; }
    const c = tls.connect(o);
    c.on('error', () => {}); c.on('close', res); c.resume();
  });
}
srv.listen(0, '127.0.0.1', async () => {
  // Node's own verdicts: Node clients against the Node server.
  for (const id of opts.clients) await one(srv.address().port, id);
  const own = results.splice(0);
  // Node clients against the gnet server.
  for (const id of opts.clients) await one(opts.gnetPort, id);
  console.log(JSON.stringify({own, port: srv.address().port}));
  setTimeout(() => { console.log(JSON.stringify({seen: results, keylog: results.keylog || []}));
                     srv.close(); process.exit(0); }, opts.waitMs);
});
"""


@pytest.mark.once
@pytest.mark.timeout(60)
def test_authorization_errors_as_node_both_ways(harness: Any, certs: Any, node_bin: str,
                                                tmp_path: Any) -> None:
    if not TIER:
        unsupported(lambda: createServer({**identity(certs.leaf), "requestCert": True,
                                          "rejectUnauthorized": False}))
        return
    ids = client_identities(certs)
    names = list(ids)
    seen: list[tuple[Any, Any]] = []

    def on_secure(sock: TLSSocket) -> None:
        seen.append((sock.authorized, sock.authorizationError))
        sock.end(b"welcome")

    srv = accepting_server(harness, certs)
    srv.on("secureConnection", on_secure)
    script = tmp_path / "peer.js"
    script.write_text(NODE_PEER)
    proc = subprocess.Popen([node_bin, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem),
                                 "clients": [ids[n] for n in names],
                                 "gnetPort": srv.address()["port"], "waitMs": 3000}))
    proc.stdin.close()
    first = json.loads(proc.stdout.readline())
    node_own = [tuple(x) for x in first["own"]]
    # Node clients, gnet server: the same verdicts as Node's server gave.
    node_verdicts = dict(zip(names, node_own, strict=True))
    assert dict(zip(names, seen, strict=True)) == node_verdicts
    assert node_verdicts["stranger"] == (False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    assert node_verdicts["self"] == (False, "DEPTH_ZERO_SELF_SIGNED_CERT")
    # gnet clients, Node server: Node's server sees what it saw from Node clients.
    keylog: list[bytes] = []
    for name in names:
        c = harness.track(connect(first["port"], HOST, {"ca": pem(certs.ca.cert_pem),
                                                        "servername": "localhost",
                                                        **(ids[name] or {})}))
        if name == "trusted":
            c.on("keylog", keylog.append)
        rec = Recorder(c)
        rec.wait("close")
        assert rec.data() == b"welcome", name
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    second = json.loads(out.strip().splitlines()[-1])
    assert [tuple(x) for x in second["seen"]] == node_own
    # The keylog lines of the gnet client are the Node server's, byte for byte.
    node_lines = {line.encode() for line in second["keylog"]}
    assert keylog and set(keylog) <= node_lines
    harness.finish()


# --- the pyOpenSSL tier with the rest of gnet.tls ---------------------------------------


def test_tier_with_sni_callback_and_alpn_protocols(harness: Any, certs: Any) -> None:
    # A blocking SNICallback chooses the certificate on a server that accepts
    # unverified clients; ALPNProtocols without overlap refuse the handshake
    # there, as in Node (the standard library tier goes on without ALPN).
    if not TIER:
        unsupported(lambda: createServer({**identity(certs.leaf), "requestCert": True,
                                          "rejectUnauthorized": False,
                                          "SNICallback": lambda _n, cb: cb(None, None)}))
        return
    import gevent

    from gnet.tls.context import createSecureContext

    def sni(name: str, cb: Any) -> None:
        gevent.sleep(0.02)
        cb(None, createSecureContext(identity(certs.example)) if name == "example.com"
           else None)

    seen: list[tuple[Any, ...]] = []
    errors: list[str] = []
    srv = accepting_server(harness, certs, SNICallback=sni, ALPNProtocols=["h2"])
    srv.on("secureConnection", lambda s: (seen.append(
        (s.servername, s.authorized, s.authorizationError, s.alpnProtocol)), s.end()))
    srv.on("tlsClientError", lambda err, _s: errors.append(err.code))
    sans = []
    for name, protocols in (("example.com", ["x", "h2"]), ("localhost", ["x"])):
        c = harness.track(connect(srv.address()["port"], HOST,
                                  {"ca": pem(certs.ca.cert_pem), "servername": name,
                                   "ALPNProtocols": protocols, **identity(certs.stranger)}))
        c.on("secureConnect", lambda c=c: sans.append(c.getPeerCertificate()["subjectaltname"]))
        c.on("error", lambda _e: None)
        c.resume()
        Recorder(c).wait("close")
    assert seen == [("example.com", False, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "h2")]
    assert sans == ["DNS:example.com"]
    wait_until(lambda: errors)
    assert errors == ["ERR_SSL_NO_APPLICATION_PROTOCOL"]
    harness.finish()


@pytest.mark.parametrize(("leaf", "code"), [("stranger", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
                                            ("expired", "CERT_HAS_EXPIRED")])
def test_tier_client_refuses_as_the_standard_library(harness: Any, certs: Any, leaf: str,
                                                     code: str) -> None:
    # A client on the pyOpenSSL tier (for its 'keylog' listener) still
    # verifies the server, with the same codes and texts.
    srv = harness.add(createServer(identity(getattr(certs, leaf))))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST, {"ca": pem(certs.ca.cert_pem),
                                                            "servername": "localhost"}))
    if TIER:
        c.on("keylog", lambda _line: None)
    rec = Recorder(c)
    err = rec.wait("error")[0]
    assert err.code == code
    assert "secureConnect" not in rec.names
    harness.finish()


# --- OCSP stapling --------------------------------------------------------------------


def ocsp_response(certs: Any) -> bytes:
    """A signed OCSP response ('good') for ``certs.leaf`` (the OpenSSL that
    pyOpenSSL brings staples only well-formed responses)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    leaf = x509.load_pem_x509_certificate(certs.leaf.cert_chain_pems[0].bytes())
    ca = x509.load_pem_x509_certificate(certs.ca.cert_pem.bytes())
    key: Any = serialization.load_pem_private_key(certs.ca.private_key_pem.bytes(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=ca, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now, next_update=now + datetime.timedelta(days=1), revocation_time=None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_ocsp_tier(harness: Any, certs: Any) -> None:
    srv = harness.add(createServer({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem)}))
    if not TIER:
        unsupported(lambda: srv.on("OCSPRequest", lambda *_: None))
        unsupported(lambda: connect({"port": 1, "requestOCSP": True}))
        return
    import gevent

    response = ocsp_response(certs)
    requests: list[tuple[bytes, Any]] = []
    errors: list[Any] = []
    mode: list[str] = []

    def on_request(cert: bytes, issuer: Any, cb: Any) -> None:
        requests.append((cert, issuer))
        if mode[-1] == "staple":
            gevent.spawn_later(0.02, cb, None, response)  # answered later, as from a responder
        elif mode[-1] == "none":
            cb(None, None)
        else:
            cb(ValueError("no responder"))

    srv.on("OCSPRequest", on_request)
    srv.on("secureConnection", lambda s: s.end())
    srv.on("tlsClientError", lambda err, _s: errors.append(err))
    harness.listen(srv, 0, HOST)

    def attempt(how: str, request: bool) -> list[Any]:
        mode.append(how)
        c = harness.track(connect(srv.address()["port"], HOST,
                                  {"ca": pem(certs.ca.cert_pem), "servername": "localhost",
                                   "requestOCSP": request}))
        events: list[Any] = []
        c.on("OCSPResponse", lambda r: events.append(("OCSPResponse", r)))
        c.on("secureConnect", lambda: events.append("secureConnect"))
        c.on("error", lambda e: events.append(("error", e.code)))
        c.resume()
        Recorder(c).wait("close")
        return events

    assert attempt("staple", True) == [("OCSPResponse", response), "secureConnect"]
    leaf_der = certs.der(certs.leaf.cert_chain_pems[0])
    assert requests == [(leaf_der, certs.der(certs.ca.cert_pem))]
    assert attempt("none", True) == [("OCSPResponse", None), "secureConnect"]
    assert attempt("staple", False) == ["secureConnect"]
    assert len(requests) == 2  # not asked: no 'OCSPRequest'
    assert attempt("fail", True) == [("error", "ECONNRESET")]
    wait_until(lambda: errors)
    assert str(errors[0]) == "no responder"
    harness.finish()


NODE_OCSP = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
const srv = tls.createServer({key: opts.key, cert: opts.cert, ca: opts.ca});
srv.on('OCSPRequest', (cert, issuer, cb) => {
  out.request = [cert.toString('base64'), issuer && issuer.toString('base64')];
  setTimeout(() => cb(null, Buffer.from(opts.response, 'base64')), 20);
});
srv.on('secureConnection', (s) => s.end());
srv.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({port: srv.address().port}));
  const c = tls.connect({port: opts.gnetPort, host: '127.0.0.1', ca: opts.ca,
                         servername: 'localhost', requestOCSP: true});
  c.on('OCSPResponse', (r) => { out.response = r && r.toString('base64'); });
  c.on('error', (e) => { out.error = e.code; });
  c.resume();
  c.on('close', () => setTimeout(() => { console.log(JSON.stringify(out)); srv.close(); }, 1500));
});
"""


@pytest.mark.once
@pytest.mark.timeout(60)
def test_ocsp_as_node_both_ways(harness: Any, certs: Any, node_bin: str, tmp_path: Any) -> None:
    import base64

    if not TIER:
        unsupported(lambda: connect({"port": 1, "requestOCSP": True}))
        return
    response = ocsp_response(certs)
    srv = harness.add(createServer({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem)}))
    gnet_requests: list[tuple[bytes, Any]] = []

    def on_request(cert: bytes, issuer: Any, cb: Any) -> None:
        gnet_requests.append((cert, issuer))
        cb(None, response)

    srv.on("OCSPRequest", on_request)
    srv.on("secureConnection", lambda s: s.end())
    harness.listen(srv, 0, HOST)
    script = tmp_path / "ocsp.js"
    script.write_text(NODE_OCSP)
    proc = subprocess.Popen([node_bin, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem),
                                 "gnetPort": srv.address()["port"],
                                 "response": base64.b64encode(response).decode()}))
    proc.stdin.close()
    port = json.loads(proc.stdout.readline())["port"]
    # gnet client, Node server.
    c = harness.track(connect(port, HOST, {"ca": pem(certs.ca.cert_pem),
                                           "servername": "localhost", "requestOCSP": True}))
    got: list[Any] = []
    c.on("OCSPResponse", got.append)
    c.resume()
    Recorder(c).wait("close")
    assert got == [response]
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    node = json.loads(out.strip().splitlines()[-1])
    # Node client, gnet server: the staple arrives; both servers were asked
    # about the same certificate and issuer.
    assert "error" not in node
    assert base64.b64decode(node["response"]) == response
    assert [tuple(base64.b64decode(x) for x in node["request"])] == gnet_requests
    harness.finish()


def test_tier_carries_data_and_half_close(harness: Any, certs: Any) -> None:
    # 1 MiB each way, then a half-close, with both ends on the pyOpenSSL
    # tier (the standard library's where it is missing).
    import hashlib

    from helpers import MIB

    srv = harness.add(createServer({**identity(certs.leaf), "allowHalfOpen": True}))
    if TIER:
        srv.on("keylog", lambda *_: None)
    accepted: list[TLSSocket] = []

    def on_secure(sock: TLSSocket) -> None:
        accepted.append(sock)
        sock.on("data", sock.write)
        sock.on("end", lambda: sock.end(b"bye"))

    srv.on("secureConnection", on_secure)
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": pem(certs.ca.cert_pem), "servername": "localhost"}))
    if TIER:
        c.on("keylog", lambda _line: None)
    engines: list[str] = []
    c.on("secureConnect", lambda: engines.append(type(c._t.sslobj).__name__))
    payload = hashlib.sha256(b"seed").digest() * (MIB // 32)
    rec = Recorder(c)
    c.write(payload)
    wait_until(lambda: len(rec.data()) >= len(payload), 20)
    c.end()
    rec.wait("close")
    assert rec.data() == payload + b"bye"
    assert c.bytesWritten == len(payload) and c.bytesRead == len(payload) + 3
    assert accepted[0].bytesRead == len(payload)
    assert engines == ["PyOpenSSLObject" if TIER else "SSLObject"]
    harness.finish()
