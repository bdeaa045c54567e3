"""``openssl s_client`` / ``s_server`` as a third real peer: versions and ciphers pinned both ways.

A gnet server is met by ``openssl s_client -tls1_2 -cipher X`` or ``-tls1_3
-ciphersuites X``; a gnet client by ``openssl s_server`` pinned the same way.
``getProtocol()`` and ``getCipher()`` (name, standardName, version) must
agree with what openssl printed and with ``openssl ciphers -stdname``; data
goes both ways. A version the peers do not share fails with Node 20's codes,
measured with Node against the same ``s_server`` / ``s_client``:

* a client refused by a server of another version: 'error'
  ``ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`` (the server's alert 70);
* a server meeting a client of another version: 'tlsClientError'
  ``ERR_SSL_UNSUPPORTED_PROTOCOL``.

The openssl binary reads its keys from files: the trustme PEMs are written
to the test's temporary directory (removed by pytest).
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import gevent
import pytest
from gevent import subprocess

from gnet.tls.server import createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import HOST, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def openssl_bin() -> str:
    found = shutil.which("openssl")
    if found is None:
        pytest.skip("the openssl command is not on PATH")
    return found


@pytest.fixture
def files(certs: Any, tmp_path: Any) -> dict[str, Any]:
    """The trustme PEMs as files (ECDSA and RSA identities), and as bytes for gnet."""
    out: dict[str, Any] = {"dir": tmp_path}
    for kind, ca, leaf in (("ec", certs.ca, certs.leaf), ("rsa", certs.rsa_ca, certs.rsa_leaf)):
        key = leaf.private_key_pem.bytes()
        cert = b"".join(b.bytes() for b in leaf.cert_chain_pems)
        (tmp_path / f"{kind}-key.pem").write_bytes(key)
        (tmp_path / f"{kind}-cert.pem").write_bytes(cert)
        (tmp_path / f"{kind}-ca.pem").write_bytes(ca.cert_pem.bytes())
        out[kind] = {"key": key, "cert": cert, "ca": ca.cert_pem.bytes(),
                     "key_file": str(tmp_path / f"{kind}-key.pem"),
                     "cert_file": str(tmp_path / f"{kind}-cert.pem"),
                     "ca_file": str(tmp_path / f"{kind}-ca.pem")}
    return out


def stdname(openssl_bin: str, name: str) -> str:
    """OpenSSL's IANA name for a suite (``openssl ciphers -stdname``)."""
    spec = ["-ciphersuites", name, "-s", "-tls1_3"] if name.startswith("TLS_") else \
        ["-s", "-tls1_2", name]
    done = subprocess.run([openssl_bin, "ciphers", "-stdname", *spec], capture_output=True,
                          text=True, timeout=10, check=True)
    for line in done.stdout.splitlines():
        std, _, ossl = line.partition(" - ")
        if ossl.split()[0] == name:
            return std.strip()
    raise AssertionError(f"openssl ciphers does not know {name}: {done.stdout}")


# (flag, cipher option, cipher, protocol, key kind)
PINNED = [
    ("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", "ec"),
    ("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", "ec"),
    ("-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2", "rsa"),
    ("-tls1_2", "-cipher", "AES128-SHA256", "TLSv1.2", "rsa"),
    ("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "TLSv1.3", "ec"),
    ("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", "ec"),
    ("-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "TLSv1.3", "rsa"),
]


# --- gnet server, openssl s_client ------------------------------------------------


def s_client(openssl_bin: str, port: int, ca_file: str, *args: str,
             stdin: str = "ping from openssl\n", timeout: float = 20) -> tuple[int, str]:
    proc = subprocess.Popen(
        [openssl_bin, "s_client", "-connect", f"{HOST}:{port}", "-servername", "localhost",
         "-CAfile", ca_file, "-verify_return_error", "-ign_eof", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(stdin, timeout=timeout)
    return proc.returncode, out


@pytest.mark.parametrize(("flag", "option", "cipher", "protocol", "kind"), PINNED,
                         ids=[p[2] for p in PINNED])
def test_gnet_server_openssl_client(harness: Any, files: Any, openssl_bin: str, flag: str,
                                    option: str, cipher: str, protocol: str,
                                    kind: str) -> None:
    seen: dict[str, Any] = {"data": b""}

    def on_secure(sock: TLSSocket) -> None:
        seen["protocol"] = sock.getProtocol()
        seen["cipher"] = sock.getCipher()
        sock.write(b"hello from gnet\n")

        def on_data(data: bytes) -> None:
            seen["data"] += data
            if b"\n" in seen["data"]:
                sock.end()

        sock.on("data", on_data)

    ident = files[kind]
    srv = harness.add(createServer({"key": ident["key"], "cert": ident["cert"]}, on_secure))
    errors: list[Any] = []
    srv.on("tlsClientError", lambda err, sock: errors.append(err))
    harness.listen(srv, 0, HOST)
    code, out = s_client(openssl_bin, srv.address()["port"], ident["ca_file"], flag,
                         option, cipher)
    assert code == 0, out
    assert not errors
    printed = re.search(r"^New, (\S+), Cipher is (\S+)$", out, re.M)
    assert printed is not None, out
    assert printed.groups() == (protocol, cipher)
    assert re.search(rf"^\s*Protocol\s*: {re.escape(protocol)}$", out, re.M), out
    assert "Verify return code: 0 (ok)" in out
    assert "hello from gnet" in out
    assert seen["data"] == b"ping from openssl\n"
    assert seen["protocol"] == protocol
    assert seen["cipher"] == {"name": cipher, "standardName": stdname(openssl_bin, cipher),
                              "version": "TLSv1.3" if cipher.startswith("TLS_") else
                              "TLSv1.2"}
    harness.finish()


# --- gnet client, openssl s_server ------------------------------------------------


class SServer:
    """``openssl s_server`` for one connection; its stdout read line by line."""

    def __init__(self, openssl_bin: str, ident: dict[str, Any], *args: str) -> None:
        self.proc = subprocess.Popen(
            [openssl_bin, "s_server", "-accept", f"{HOST}:0", "-cert", ident["cert_file"],
             "-key", ident["key_file"], "-naccept", "1", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        line = self.read_until(lambda text: text.startswith("ACCEPT "))
        self.port = int(line.rsplit(":", 1)[1])

    def read_until(self, want: Any, timeout_s: float = 15) -> str:
        stdout = self.proc.stdout
        assert stdout is not None
        with gevent.Timeout(timeout_s, AssertionError(f"s_server said: {self.lines}")):
            while True:
                line = stdout.readline()
                if not line:
                    raise AssertionError(f"s_server ended: {self.lines}")
                self.lines.append(line.rstrip("\n"))
                if want(self.lines[-1]):
                    return self.lines[-1]

    def send(self, text: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(text)
        stdin.flush()

    def close(self) -> str:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return "\n".join(self.lines) + "\n" + (out or "")


@pytest.mark.parametrize(("flag", "option", "cipher", "protocol", "kind"), PINNED,
                         ids=[p[2] for p in PINNED])
def test_gnet_client_openssl_server(harness: Any, files: Any, openssl_bin: str, flag: str,
                                    option: str, cipher: str, protocol: str,
                                    kind: str) -> None:
    ident = files[kind]
    server = SServer(openssl_bin, ident, flag, option, cipher)
    try:
        got: list[bytes] = []
        c = harness.track(connect({"port": server.port, "host": HOST, "servername": "localhost",
                                   "ca": ident["ca"]}))
        c.on("data", got.append)
        c.once("secureConnect", lambda: c.write(b"ping from gnet\n"))
        printed = server.read_until(lambda line: line.startswith("CIPHER is "))
        server.read_until(lambda line: line == "ping from gnet")
        server.send("pong from openssl\n")
        wait_until(lambda: b"".join(got) == b"pong from openssl\n")
        assert c.authorized
        assert printed == f"CIPHER is {cipher}"
        assert c.getProtocol() == protocol
        assert c.getCipher() == {"name": cipher, "standardName": stdname(openssl_bin, cipher),
                                 "version": "TLSv1.3" if protocol == "TLSv1.3" else "TLSv1.2"}
        c.end()
        wait_until(lambda: c.destroyed)
    finally:
        server.close()
    harness.finish()


# --- versions the peers do not share ------------------------------------------------


@pytest.mark.parametrize(("flag", "client_options"), [
    ("-tls1_3", {"maxVersion": "TLSv1.2"}),
    ("-tls1_2", {"minVersion": "TLSv1.3"}),
], ids=["server-1.3-client-1.2", "server-1.2-client-1.3"])
def test_gnet_client_version_mismatch(harness: Any, files: Any, openssl_bin: str, flag: str,
                                      client_options: dict[str, str]) -> None:
    ident = files["ec"]
    server = SServer(openssl_bin, ident, flag)
    try:
        errors: list[Any] = []
        events: list[str] = []
        c = harness.track(connect({"port": server.port, "host": HOST, "servername": "localhost",
                                   "ca": ident["ca"], **client_options}))
        c.on("error", errors.append)
        c.on("secureConnect", lambda: events.append("secureConnect"))
        c.on("close", lambda *_: events.append("close"))
        wait_until(lambda: "close" in events, timeout_s=15)
        assert events == ["close"]
        assert [e.code for e in errors] == ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"]
        assert "alert protocol version" in str(errors[0])
    finally:
        out = server.close()
    assert "unsupported protocol" in out
    harness.finish()


@pytest.mark.parametrize(("flag", "server_options"), [
    ("-tls1_2", {"minVersion": "TLSv1.3"}),
    ("-tls1_3", {"maxVersion": "TLSv1.2"}),
], ids=["client-1.2-server-1.3", "client-1.3-server-1.2"])
def test_gnet_server_version_mismatch(harness: Any, files: Any, openssl_bin: str, flag: str,
                                      server_options: dict[str, str]) -> None:
    ident = files["ec"]
    srv = harness.add(createServer({"key": ident["key"], "cert": ident["cert"],
                                    **server_options}))
    outcomes: list[Any] = []
    srv.on("tlsClientError", lambda err, sock: outcomes.append(err))
    srv.on("secureConnection", lambda sock: outcomes.append("secureConnection"))
    harness.listen(srv, 0, HOST)
    code, out = s_client(openssl_bin, srv.address()["port"], ident["ca_file"], flag, stdin="")
    assert code != 0
    assert "alert protocol version" in out, out
    wait_until(lambda: outcomes)
    assert [getattr(e, "code", e) for e in outcomes] == ["ERR_SSL_UNSUPPORTED_PROTOCOL"]
    harness.finish()


NODE_VERSIONS = r"""
const tls = require('tls'), fs = require('fs');
const opts = JSON.parse(fs.readFileSync(0, 'utf8'));
const c = tls.connect({port: opts.port, host: '127.0.0.1', servername: 'localhost',
                       ca: opts.ca, minVersion: opts.minVersion, maxVersion: opts.maxVersion});
c.on('secureConnect', () => { console.log(JSON.stringify({ok: c.getProtocol()})); c.end(); });
c.on('error', (e) => console.log(JSON.stringify({code: e.code})));
"""


@pytest.mark.parametrize(("flag", "client_options"), [
    ("-tls1_3", {"maxVersion": "TLSv1.2"}),
    ("-tls1_2", {"minVersion": "TLSv1.3"}),
], ids=["server-1.3-client-1.2", "server-1.2-client-1.3"])
def test_node_client_says_the_same(files: Any, openssl_bin: str, node_bin: str, tmp_path: Any,
                                   flag: str, client_options: dict[str, str]) -> None:
    """The codes the gnet client gives above are Node's against the same s_server."""
    import json

    ident = files["ec"]
    server = SServer(openssl_bin, ident, flag)
    try:
        script = tmp_path / "versions.js"
        script.write_text(NODE_VERSIONS)
        done = subprocess.run([node_bin, str(script)], capture_output=True, text=True,
                              timeout=20, check=True,
                              input=json.dumps({"port": server.port,
                                                "ca": ident["ca"].decode(), **client_options}))
    finally:
        server.close()
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "code": "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"}
