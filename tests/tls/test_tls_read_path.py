"""The TLS read path: one socket read per record, records split anywhere, and alert 120's code.

* Ping-pong over TLS reads the socket once per message (no read failing
  with EAGAIN after each record), on the standard library's engine and on
  the pyOpenSSL one; the byte counts stay plaintext counts.
* Records a raw peer sends cut anywhere (in the header, in the body, two
  and a half records in one write) arrive whole and in order.
* A TLS 1.3 session ticket arriving after the handshake with no data is
  processed (the client's 'session') and is not the end of the stream.
* A standard-library client refused with the no_application_protocol alert
  (120) reports Node 20's ``ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL``.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket, subprocess

from gnet.tls.engine import available
from gnet.tls.server import createServer
from gnet.tls.socket import TLSSocket, connect
from helpers import EVENTS, HOST, Recorder, wait_until

pytestmark = pytest.mark.timeout(30)

ROUND_TRIPS = 200
TLS_EVENTS = (*EVENTS, "secureConnect", "session")


def pem(blob: Any) -> str:
    return str(blob.bytes().decode())


def identity(leaf: Any) -> dict[str, str]:
    return {"key": pem(leaf.private_key_pem),
            "cert": "".join(pem(b) for b in leaf.cert_chain_pems)}


class CountingLower:
    """The lower transport as it is, with its reads counted (a real socket under it)."""

    def __init__(self, lower: Any) -> None:
        self.wrapped = lower
        self.reads = 0
        self.eagain = 0

    def recv(self, n: int) -> bytes:
        self.reads += 1
        try:
            data: bytes = self.wrapped.recv(n)
        except BlockingIOError:
            self.eagain += 1
            raise
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def count_reads(sock: TLSSocket) -> CountingLower:
    transport: Any = sock._t
    counter = CountingLower(transport.lower)
    transport.lower = counter
    return counter


ENGINES = ["stdlib"] + (["pyopenssl"] if available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_ping_pong_reads_the_socket_once_per_message(harness: Any, certs: Any,
                                                     engine: str) -> None:
    server_options: dict[str, Any] = {**identity(certs.leaf)}
    if engine == "pyopenssl":
        server_options["ALPNCallback"] = lambda info: info["protocols"][0]
    counters: list[CountingLower] = []
    accepted: list[TLSSocket] = []

    def on_secure(sock: TLSSocket) -> None:
        accepted.append(sock)
        counters.append(count_reads(sock))
        sock.on("data", sock.write)

    srv = harness.add(createServer(server_options, on_secure))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": pem(certs.ca.cert_pem), "servername": "localhost",
                               "ALPNProtocols": ["x"]}))
    sessions: list[Any] = []
    c.on("session", sessions.append)
    Recorder(c, TLS_EVENTS).wait("secureConnect")
    # The server's session tickets come after its handshake: let them in first.
    wait_until(lambda: sessions and accepted)
    client_counter = count_reads(c)
    left = [ROUND_TRIPS]
    message = b"m" * 64

    def on_data(chunk: bytes) -> None:
        assert chunk == message
        left[0] -= 1
        if left[0]:
            c.write(message)

    c.on("data", on_data)
    c.write(message)
    wait_until(lambda: not left[0], 20)
    server_counter = counters[0]
    # One read per message on each side, none failing with EAGAIN (the
    # former read path made two: the second always failed).
    assert server_counter.eagain == client_counter.eagain == 0
    assert server_counter.reads == ROUND_TRIPS
    # The client may also read the server's second session ticket alone.
    assert ROUND_TRIPS <= client_counter.reads <= ROUND_TRIPS + 1
    assert c.bytesRead == c.bytesWritten == 64 * ROUND_TRIPS
    assert accepted[0].bytesRead == accepted[0].bytesWritten == 64 * ROUND_TRIPS
    if engine == "pyopenssl":
        assert accepted[0].alpnProtocol == "x"
    c.end()
    Recorder(c).wait("close")
    harness.finish()


def raw_tls_client(port: int, ca: str) -> tuple[gsocket.socket, ssl.SSLObject, ssl.MemoryBIO]:
    """A TLS client made of a plain socket and an SSLObject, so its records can be cut at will."""
    ctx = ssl.create_default_context(cadata=ca)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    raw = gsocket.create_connection((HOST, port))
    raw.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                raw.sendall(pending)
            data = raw.recv(65536)
            assert data, "the server closed during the handshake"
            incoming.write(data)
    raw.sendall(outgoing.read())
    return raw, obj, outgoing


@pytest.mark.parametrize("engine", ENGINES)
def test_records_cut_anywhere_arrive_whole(harness: Any, certs: Any, engine: str) -> None:
    server_options: dict[str, Any] = {**identity(certs.leaf)}
    if engine == "pyopenssl":
        server_options["ALPNCallback"] = lambda info: None  # makes the pyOpenSSL engine
    got: list[bytes] = []
    accepted: list[TLSSocket] = []

    def on_secure(sock: TLSSocket) -> None:
        accepted.append(sock)
        sock.on("data", got.append)

    srv = harness.add(createServer(server_options, on_secure))
    harness.listen(srv, 0, HOST)
    raw, obj, outgoing = raw_tls_client(srv.address()["port"], pem(certs.ca.cert_pem))
    try:
        messages = [b"first record " * 8, b"second", b"third record, cut in two " * 20]
        records = []
        for message in messages:
            obj.write(message)
            records.append(outgoing.read())
        r1, r2, r3 = records
        # Cut in the record header, after it, in the body; then one write
        # with the end of a record, a whole one and the start of a third.
        pieces = [r1[:2], r1[2:5], r1[5:40], r1[40:] + r2 + r3[:10], r3[10:]]
        for piece in pieces:
            raw.sendall(piece)
            gevent.sleep(0.02)  # the server reads each piece on its own
        wait_until(lambda: sum(map(len, got)) == sum(map(len, messages)))
        assert b"".join(got) == b"".join(messages)
        assert accepted[0].bytesRead == sum(map(len, messages))
        assert not accepted[0].readableEnded
        # close_notify: the end, after every byte.
        try:
            obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        raw.sendall(outgoing.read())
        wait_until(lambda: accepted[0].readableEnded)
        assert b"".join(got) == b"".join(messages)
    finally:
        raw.close()
    harness.finish()


def test_session_ticket_alone_is_not_the_end(harness: Any, certs: Any) -> None:
    # TLS 1.3: the server's tickets arrive after the handshake, in reads
    # that give no application data. They make 'session'; the stream goes
    # on, and data written later arrives.
    accepted: list[TLSSocket] = []
    srv = harness.add(createServer({**identity(certs.leaf)}, accepted.append))
    harness.listen(srv, 0, HOST)
    c = harness.track(connect(srv.address()["port"], HOST,
                              {"ca": pem(certs.ca.cert_pem), "servername": "localhost"}))
    rec = Recorder(c, TLS_EVENTS)
    got: list[bytes] = []
    c.on("data", got.append)
    rec.wait("session")
    gevent.sleep(0.05)
    assert c.getProtocol() == "TLSv1.3"
    assert "end" not in rec.names and "close" not in rec.names
    accepted[0].write(b"later")
    wait_until(lambda: got == [b"later"])
    assert "end" not in rec.names
    c.end()
    rec.wait("close")
    harness.finish()


NODE_ALPN_SERVER = r"""
const tls = require('tls');
const opts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const srv = tls.createServer({key: opts.key, cert: opts.cert,
  ...(opts.callback ? {ALPNCallback: () => undefined} : {ALPNProtocols: ['h2']})});
let left = 2;
srv.on('tlsClientError', () => { if (--left === 0) srv.close(); });
srv.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({port: srv.address().port}));
  const c = tls.connect({port: srv.address().port, host: '127.0.0.1', ca: opts.ca,
                         servername: 'localhost', ALPNProtocols: ['http/1.1']});
  c.on('error', (e) => console.log(JSON.stringify({code: e.code, reason: e.reason})));
});
"""


@pytest.mark.once
@pytest.mark.parametrize("callback", [False, True], ids=["ALPNProtocols", "ALPNCallback"])
@pytest.mark.parametrize("max_version", ["TLSv1.3", "TLSv1.2"])
def test_alert_no_application_protocol_code_as_node(harness: Any, certs: Any, node_bin: str,
                                                    tmp_path: Any, callback: bool,
                                                    max_version: str) -> None:
    # A Node server refusing every protocol the client offers sends alert
    # 120; Node's own client and gnet's standard-library client report the
    # same code (CPython leaves the reason empty; gnet rebuilds it).
    script = tmp_path / "alpn.js"
    script.write_text(NODE_ALPN_SERVER)
    proc = subprocess.Popen([node_bin, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({**identity(certs.leaf), "ca": pem(certs.ca.cert_pem),
                                 "callback": callback}))
    proc.stdin.close()
    try:
        port = json.loads(proc.stdout.readline())["port"]
        node_error = json.loads(proc.stdout.readline())
        c = harness.track(connect(port, HOST, {"ca": pem(certs.ca.cert_pem),
                                               "servername": "localhost",
                                               "ALPNProtocols": ["http/1.1"],
                                               "maxVersion": max_version}))
        errors: list[Any] = []
        c.on("error", errors.append)
        Recorder(c).wait("close")
        proc.wait(timeout=10)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert node_error["code"] == "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL"
    assert [getattr(e, "code", None) for e in errors] == [node_error["code"]]
    assert errors[0].reason == node_error["reason"] == "tlsv1 alert no application protocol"
    harness.finish()
