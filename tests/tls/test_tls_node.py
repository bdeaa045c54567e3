"""TLS between gnet and Node 20, both ways: data, half-close, errors, event order.

Node runs as a child process (``gevent.subprocess``, so gnet's loop keeps
serving while it runs) with the same trustme PEMs as the gnet side.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from gevent import subprocess

from gnet.tls.server import createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import HOST, MIB, Recorder, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]


def pems(certs: Any, leaf: Any = None) -> dict[str, str]:
    leaf = leaf or certs.leaf
    return {"key": leaf.private_key_pem.bytes().decode(),
            "cert": b"".join(b.bytes() for b in leaf.cert_chain_pems).decode(),
            "ca": certs.ca.cert_pem.bytes().decode()}


def node(node_bin: str, tmp_path: Any, source: str, payload: Any) -> subprocess.Popen:
    script = tmp_path / "peer.js"
    script.write_text(source)
    proc = subprocess.Popen([node_bin, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    return proc


def result(proc: subprocess.Popen, timeout: float = 30) -> Any:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


NODE_CLIENT = r"""
const tls = require('tls'), crypto = require('crypto');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {events: []};
const c = tls.connect({port: opts.port, host: '127.0.0.1', ca: opts.ca,
                       servername: opts.servername, ALPNProtocols: opts.alpn,
                       maxVersion: opts.maxVersion, rejectUnauthorized: opts.reject !== false,
                       allowHalfOpen: !!opts.halfOpen});
const hash = crypto.createHash('sha256'); let got = 0;
for (const e of ['connect', 'secureConnect', 'secure', 'end', 'finish', 'close'])
  c.on(e, () => out.events.push(e));
c.on('secureConnect', () => {
  out.authorized = c.authorized; out.alpn = c.alpnProtocol; out.protocol = c.getProtocol();
  out.authorizationError = c.authorizationError || null;
  if (opts.reject === false && !opts.size && !opts.halfOpen) c.end();
  const seed = crypto.createHash('sha256').update('seed').digest('hex');
  if (opts.size) c.write(seed.repeat(opts.size / 64));
  if (opts.halfOpen) c.end('bye');
});
c.on('data', (d) => {
  hash.update(d); got += d.length;
  out.text = (out.text || '') + (opts.size ? '' : d);
  if (opts.size && got >= opts.size) c.end();
});
c.on('end', () => { if (opts.halfOpen) c.write(''); });
c.on('error', (e) => { out.error = {code: e.code, message: e.message, reason: e.reason}; });
c.on('close', () => { out.sha = hash.digest('hex'); out.bytesRead = c.bytesRead;
  out.bytesWritten = c.bytesWritten; console.log(JSON.stringify(out)); });
"""


def test_node_client_gnet_server_64_mib(harness: Any, certs: Any, node_bin: str,
                                         tmp_path: Any) -> None:
    seen: list[TLSSocket] = []

    def on_secure(sock: TLSSocket) -> None:
        seen.append(sock)
        sock.on("data", sock.write)

    p = pems(certs)
    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"],
                                    "ALPNProtocols": ["h2", "x"]}, on_secure))
    harness.listen(srv, 0, HOST)
    proc = node(node_bin, tmp_path, NODE_CLIENT,
                {"port": srv.address()["port"], "ca": p["ca"], "size": 64 * MIB,
                 "alpn": ["x", "h2"]})
    out = result(proc)
    expected = hashlib.sha256(
        hashlib.sha256(b"seed").hexdigest().encode() * (64 * MIB // 64)).hexdigest()
    assert out["sha"] == expected
    assert out["bytesRead"] == out["bytesWritten"] == 64 * MIB
    assert out["authorized"] is True and out["alpn"] == "h2" and out["protocol"] == "TLSv1.3"
    wait_until(lambda: seen and seen[0].destroyed)
    assert seen[0].bytesRead == seen[0].bytesWritten == 64 * MIB
    assert seen[0].alpnProtocol == "h2"
    harness.finish()


def test_node_client_half_close(harness: Any, certs: Any, node_bin: str,
                                tmp_path: Any) -> None:
    # Node ends its side with 'bye'; the gnet server (allowHalfOpen) answers
    # after 'end' and then ends: Node reads it all.
    def on_secure(sock: TLSSocket) -> None:
        got: list[bytes] = []
        sock.on("data", got.append)
        sock.on("end", lambda: sock.end(b"after end:" + b"".join(got)))

    p = pems(certs)
    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"],
                                    "allowHalfOpen": True}, on_secure))
    harness.listen(srv, 0, HOST)
    proc = node(node_bin, tmp_path, NODE_CLIENT,
                {"port": srv.address()["port"], "ca": p["ca"], "halfOpen": True})
    out = result(proc)
    assert out["text"] == "after end:bye"
    assert out["events"] == ["connect", "secureConnect", "secure", "finish", "end", "close"]
    harness.finish()


def test_node_client_wrong_name_same_error(harness: Any, certs: Any, node_bin: str,
                                           tmp_path: Any) -> None:
    p = pems(certs, certs.example)
    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"]}))
    harness.listen(srv, 0, HOST)
    proc = node(node_bin, tmp_path, NODE_CLIENT,
                {"port": srv.address()["port"], "ca": p["ca"], "servername": "localhost"})
    out = result(proc)
    c = harness.track(connect({"port": srv.address()["port"], "host": HOST, "ca": p["ca"],
                               "servername": "localhost"}))
    rec = Recorder(c, ("error", "close"))
    rec.wait("close")
    err = rec.args("error")[0][0]
    assert out["error"]["code"] == err.code == "ERR_TLS_CERT_ALTNAME_INVALID"
    assert out["error"]["reason"] == err.reason
    assert out["error"]["message"] == str(err)
    harness.finish()


NODE_SERVER = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const srv = tls.createServer({key: opts.key, cert: opts.cert, allowHalfOpen: !!opts.halfOpen,
                              ALPNProtocols: opts.alpn}, (s) => {
  const chunks = [];
  if (opts.halfOpen) {
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => s.end('after end:' + Buffer.concat(chunks)));
  } else s.pipe(s);
  s.on('close', () => srv.close());
});
srv.listen(0, '127.0.0.1', () => console.log(JSON.stringify({port: srv.address().port})));
"""


def node_server(node_bin: str, tmp_path: Any, payload: Any) -> tuple[Any, int]:
    proc = node(node_bin, tmp_path, NODE_SERVER, payload)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, json.loads(line)["port"]


def test_gnet_client_node_server_64_mib(harness: Any, certs: Any, node_bin: str,
                                         tmp_path: Any) -> None:
    p = pems(certs)
    proc, port = node_server(node_bin, tmp_path, {**p, "alpn": ["a", "b"]})
    try:
        c = harness.track(connect(port, HOST, {"ca": p["ca"], "ALPNProtocols": ["b", "a"]}))
        size = 64 * MIB
        payload = os.urandom(size)
        received = hashlib.sha256()
        got = [0]

        def on_data(chunk: bytes) -> None:
            received.update(chunk)
            got[0] += len(chunk)

        c.on("data", on_data)
        view = memoryview(payload)
        sent = [0]

        def pump() -> None:  # with backpressure: write until write() says wait
            while sent[0] < size:
                chunk = view[sent[0]:sent[0] + 65536]
                sent[0] += len(chunk)
                if not c.write(chunk):
                    return

        c.on("drain", pump)
        pump()
        wait_until(lambda: got[0] >= size, 40)
        assert received.digest() == hashlib.sha256(payload).digest()
        assert c.authorized and c.alpnProtocol == "a"
        assert c.bytesRead == c.bytesWritten == size
        c.end()
        wait_until(lambda: c.destroyed)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    harness.finish()


def test_gnet_client_node_server_half_close(harness: Any, certs: Any, node_bin: str,
                                            tmp_path: Any) -> None:
    p = pems(certs)
    proc, port = node_server(node_bin, tmp_path, {**p, "halfOpen": True})
    try:
        c = harness.track(connect(port, HOST, {"ca": p["ca"], "allowHalfOpen": True}))
        rec = Recorder(c)
        c.end(b"bye")
        rec.wait("close")
        assert rec.data() == b"after end:bye"
        assert rec.squeezed() == ["connect", "ready", "finish", "data", "end", "close"]
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    harness.finish()


NODE_ORDER = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const log = [];
const srv = tls.createServer({key: opts.key, cert: opts.cert});
srv.on('connection', () => {});
srv.on('secureConnection', (s) => {
  log.push('S secureConnection');
  for (const e of ['data', 'end', 'finish', 'close']) s.on(e, () => log.push('S ' + e));
  s.on('data', (d) => s.write(d));
});
srv.listen(0, '127.0.0.1', () => {
  const c = tls.connect({port: srv.address().port, host: '127.0.0.1', ca: opts.ca});
  for (const e of ['connect', 'ready', 'secureConnect', 'secure', 'data', 'end', 'finish', 'close'])
    c.on(e, () => log.push('C ' + e));
  c.on('data', () => c.end());
  c.write(Buffer.alloc(1000));
  c.on('close', () => setTimeout(() => { console.log(JSON.stringify(log)); srv.close(); }, 50));
});
"""


def test_event_order_is_nodes(harness: Any, certs: Any, node_bin: str, tmp_path: Any) -> None:
    # The same exchange in Node and in gnet: each side's order must match.
    p = pems(certs)
    node_log = result(node(node_bin, tmp_path, NODE_ORDER, p))
    log: list[str] = []

    def on_secure(sock: TLSSocket) -> None:
        log.append("S secureConnection")
        for name in ("data", "end", "finish", "close"):
            sock.on(name, lambda *_a, name=name: log.append("S " + name))
        sock.on("data", sock.write)

    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"]}, on_secure))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST, {"ca": p["ca"]}))
    for name in ("connect", "ready", "secureConnect", "secure", "data", "end", "finish",
                 "close"):
        c.on(name, lambda *_a, name=name: log.append("C " + name))
    c.on("data", lambda _d: c.end())
    c.write(b"\0" * 1000)
    wait_until(lambda: "C close" in log and "S close" in log)
    for side in ("C ", "S "):
        assert [e for e in log if e.startswith(side)] == \
            [e for e in node_log if e.startswith(side)]
    harness.finish()


@pytest.mark.parametrize(("server_options", "client_options"), [
    ({"minVersion": "TLSv1.3"}, {"maxVersion": "TLSv1.2"}),
    ({"requestCert": True}, {}),
])
def test_node_client_sees_the_same_refusals(harness: Any, certs: Any, node_bin: str,
                                            tmp_path: Any, server_options: dict[str, Any],
                                            client_options: dict[str, Any]) -> None:
    # The same gnet server refuses a Node client and a gnet client: both get
    # the same code, after the same events.
    p = pems(certs)
    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"], "ca": p["ca"],
                                    **server_options}))
    harness.listen(srv, 0, HOST)
    out = result(node(node_bin, tmp_path, NODE_CLIENT,
                      {"port": srv.address()["port"], "ca": p["ca"], **client_options}))
    c = harness.track(connect(srv.address()["port"], HOST, {"ca": p["ca"], **client_options}))
    rec = Recorder(c, ("connect", "secureConnect", "error", "close"))
    rec.wait("close")
    err = rec.args("error")[0][0]
    assert out["error"]["code"] == err.code
    node_events = [e for e in out["events"] if e in ("connect", "secureConnect", "close")]
    assert node_events == [e for e in rec.names if e != "error"]
    harness.finish()


NODE_REFUSING_SERVER = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const srv = tls.createServer({key: opts.key, cert: opts.cert, ca: opts.ca,
                              minVersion: opts.minVersion, requestCert: !!opts.requestCert});
srv.on('tlsClientError', (e) => {
  console.log(JSON.stringify({code: e.code})); srv.close();
});
srv.listen(0, '127.0.0.1', () => console.log(JSON.stringify({port: srv.address().port})));
"""


@pytest.mark.parametrize(("server_options", "client_options"), [
    ({"minVersion": "TLSv1.3"}, {"maxVersion": "TLSv1.2"}),
    ({"requestCert": True}, {}),
])
def test_gnet_server_reports_as_node(harness: Any, certs: Any, node_bin: str, tmp_path: Any,
                                     server_options: dict[str, Any],
                                     client_options: dict[str, Any]) -> None:
    # A gnet client refused by a Node server and by a gnet server: the two
    # servers' 'tlsClientError' codes match.
    p = pems(certs)
    proc = node(node_bin, tmp_path, NODE_REFUSING_SERVER, {**p, **server_options})
    assert proc.stdout is not None
    port = json.loads(proc.stdout.readline())["port"]
    c = harness.track(connect(port, HOST, {"ca": p["ca"], **client_options}))
    c.on("error", lambda _e: None)
    node_code = json.loads(proc.stdout.readline())["code"]
    proc.wait(timeout=10)
    srv = harness.add(createServer({"key": p["key"], "cert": p["cert"], "ca": p["ca"],
                                    **server_options}))
    codes: list[str] = []
    srv.on("tlsClientError", lambda err, _sock: codes.append(err.code))
    harness.listen(srv, 0, HOST)
    c2 = harness.track(connect(srv.address()["port"], HOST, {"ca": p["ca"], **client_options}))
    c2.on("error", lambda _e: None)
    wait_until(lambda: codes)
    assert codes == [node_code]
    harness.finish()


@pytest.mark.parametrize("leaf", ["self", "stranger", "expired", "example", "chained",
                                  "chained+root", "leaf"])
def test_authorization_error_as_node(harness: Any, certs: Any, node_bin: str, tmp_path: Any,
                                     leaf: str) -> None:
    # rejectUnauthorized: false: Node's authorizationError and gnet's for the
    # same server (gnet verifies after the handshake; see differences.md).
    ca: str | None = certs.ca.cert_pem.bytes().decode()
    if leaf == "self":
        key, cert, ca = (certs.ca.private_key_pem.bytes().decode(),
                         certs.ca.cert_pem.bytes().decode(), None)
    else:
        chosen = certs.chained if leaf == "chained+root" else getattr(certs, leaf)
        p = pems(certs, chosen)
        key, cert = p["key"], p["cert"]
        if leaf == "chained+root":
            cert += certs.other_ca.cert_pem.bytes().decode()
    srv = harness.add(createServer({"key": key, "cert": cert}))
    harness.listen(srv, 0, HOST)
    out = result(node(node_bin, tmp_path, NODE_CLIENT,
                      {"port": srv.address()["port"], "ca": ca, "reject": False}))
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": ca, "rejectUnauthorized": False}))
    wait_until(lambda: c.authorized or c.authorizationError is not None)
    assert (c.authorized, c.authorizationError) == \
        (out["authorized"], out["authorizationError"])
    harness.finish()


def client_only_leaf(certs: Any) -> tuple[str, str]:
    # A leaf for 127.0.0.1 whose extended key usage is clientAuth only.
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(certs.ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(certs.ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client only")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_wrong_purpose_as_node(harness: Any, certs: Any, node_bin: str, tmp_path: Any) -> None:
    key, cert = client_only_leaf(certs)
    ca = certs.ca.cert_pem.bytes().decode()
    srv = harness.add(createServer({"key": key, "cert": cert}))
    harness.listen(srv, 0, HOST)
    out = result(node(node_bin, tmp_path, NODE_CLIENT,
                      {"port": srv.address()["port"], "ca": ca, "reject": False}))
    c = harness.track(connect(srv.address()["port"], HOST, {"ca": ca, "rejectUnauthorized": False}))
    wait_until(lambda: c.authorized or c.authorizationError is not None)
    assert (c.authorized, c.authorizationError) == (False, "INVALID_PURPOSE")
    assert out["authorizationError"] == "INVALID_PURPOSE"
    rejected = harness.track(connect(srv.address()["port"], HOST, {"ca": ca}))
    rec = Recorder(rejected, ("error", "close"))
    rec.wait("close")
    assert rec.args("error")[0][0].code == "INVALID_PURPOSE"
    harness.finish()
