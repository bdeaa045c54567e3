"""``--proxy-protocol`` on ``gnet echo`` and ``gnet chat``: behind HAProxy's send-proxy(-v2).

The commands run as real subprocesses (the helpers of test_cli.py); the
test plays the balancer with stdlib sockets on loopback (a trusted peer by
default), sending PROXY v1 lines and v2 headers built here from the
specification (HAProxy's doc/proxy-protocol.txt), whole or one byte per
packet. Chat's join lines must name the advertised client; a connection
without a header is dropped with one line on stderr; a v2 LOCAL health
check is dropped quietly.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import ssl
import struct
import time
from typing import Any

import pytest

import test_cli
from helpers import LinePeer
from test_cli import WELCOME

gnet = test_cli.gnet  # the fixture that starts gnet commands and kills them at teardown

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(source: str, port: int, dest: str = "127.0.0.1", dest_port: int = 8124) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    return f"PROXY {family} {source} {dest} {port} {dest_port}\r\n".encode()


def v2(source: str, port: int, dest: str = "::1", dest_port: int = 8124) -> bytes:
    """A v2 PROXY header for a TCP connection (IPv4 or IPv6, by ``source``)."""
    src, dst = ipaddress.ip_address(source), ipaddress.ip_address(dest)
    if src.version == 4:
        family = 0x11
        dst = ipaddress.ip_address("127.0.0.1") if dst.version == 6 else dst
    else:
        family = 0x21
    body = src.packed + dst.packed + struct.pack("!HH", port, dest_port)
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


def v2_local() -> bytes:
    """HAProxy's health check: command LOCAL, no addresses."""
    return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)


def trickle(peer: LinePeer, data: bytes) -> None:
    """One byte per packet (TCP_NODELAY and a pause between sends)."""
    peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        peer.send(data[i:i + 1])
        time.sleep(0.005)


def hung_up(peer: LinePeer) -> bytes:
    """What came before the server hung up (it may reset: our bytes were left unread)."""
    try:
        return peer.rest()
    except ConnectionResetError:
        return b""


def member(peers: Any, port: int, header: bytes, name: str, here: str,
           one_byte_at_a_time: bool = False) -> LinePeer:
    peer = peers(port)
    if one_byte_at_a_time:
        trickle(peer, header)
    else:
        peer.send(header)
    assert peer.line() == WELCOME
    peer.send(name.encode() + b"\n")
    assert peer.line() == f"Hello {name}! Here now: {here}."
    return peer


def test_chat_join_lines_name_the_advertised_client(gnet: Any, peers: Any) -> None:
    server = gnet("chat", "--proxy-protocol", "--port", "0")
    port = server.listening_port()
    alice = member(peers, port, v1("203.0.113.7", 51000), "alice", "nobody else")
    assert server.line() == "alice joined from 203.0.113.7:51000"
    bob = member(peers, port, v2("2001:db8::1", 443), "bob", "alice", one_byte_at_a_time=True)
    assert server.line() == "bob joined from [2001:db8::1]:443"
    assert alice.line() == "* bob joined"
    bob.send(b"hi alice\n")
    assert alice.line() == "bob: hi alice"
    alice.send(b"hi bob\n")
    assert bob.line() == "alice: hi bob"
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")
    log = out.decode().splitlines()
    assert log[0] == "shutting down"
    assert sorted(log[1:]) == ["alice left", "bob left"]


def test_chat_drops_a_client_without_header_with_one_line(gnet: Any, peers: Any) -> None:
    server = gnet("chat", "--proxy-protocol", "--port", "0")
    port = server.listening_port()
    sneaky = peers(port)
    sneaky.send(b"alice\n")
    assert hung_up(sneaky) == b""
    line = server.err_line()
    assert line == (f"gnet: 127.0.0.1:{sneaky.sock.getsockname()[1]}: not a PROXY protocol "
                    "header (ERR_GNET_PROXY_PROTOCOL)"), line

    # A health check (v2 LOCAL) is closed quietly: no line anywhere.
    check = peers(port)
    check.send(v2_local())
    assert hung_up(check) == b""  # closed, never welcomed

    # The room goes on for a client behind the balancer.
    member(peers, port, v1("198.51.100.2", 40000), "carol", "nobody else")
    assert server.line() == "carol joined from 198.51.100.2:40000"
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")  # nothing more on stderr: the health check said nothing
    assert out.decode().splitlines() == ["shutting down", "carol left"]


def test_echo_sends_back_the_payload_not_the_header(gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--proxy-protocol", "--port", "0")
    port = server.listening_port()
    whole = peers(port)
    whole.send(v1("192.0.2.1", 1234) + b"payload in the same packet\n")
    assert whole.line() == "payload in the same packet"
    slow = peers(port)
    trickle(slow, v2("192.0.2.2", 4321))
    slow.send(b"after a header sent one byte per packet\n")
    assert slow.line() == "after a header sent one byte per packet"
    plain = peers(port)
    plain.send(b"no header\n")
    assert hung_up(plain) == b""
    assert server.err_line().endswith(": not a PROXY protocol header (ERR_GNET_PROXY_PROTOCOL)")
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")


def test_echo_proxy_header_comes_before_tls(gnet: Any, peers: Any, tmp_path: Any) -> None:
    from helpers import tls_pki

    certs = tls_pki()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(certs.leaf.cert_chain_pems[0].bytes())
    key.write_bytes(certs.leaf.private_key_pem.bytes())
    server = gnet("echo", "--proxy-protocol", "--tls", "--cert", str(cert), "--key", str(key),
                  "--port", "0")
    port = server.listening_port()
    peer = peers(port)
    peer.send(v1("203.0.113.9", 5555))
    ctx = ssl.create_default_context()
    certs.ca.configure_trust(ctx)
    peer.sock = ctx.wrap_socket(peer.sock, server_hostname="localhost")
    peer.send(b"secure behind a balancer\n")
    assert peer.line() == "secure behind a balancer"
    peer.close()
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")


def test_chat_proxy_protocol_with_workers(gnet: Any, peers: Any) -> None:
    server = gnet("chat", "--proxy-protocol", "--workers", "2", "--port", "0")
    port = server.listening_port()
    assert server.line().startswith("2 workers: ")
    member(peers, port, v1("203.0.113.7", 51000), "alice", "nobody else")
    line = server.line()
    assert line in ("[worker 1] alice joined from 203.0.113.7:51000",
                    "[worker 2] alice joined from 203.0.113.7:51000"), line
    code, _out, err = server.signal(signal.SIGTERM)
    assert (code, err) == (0, "")
