"""gnet.dgram against Node's dgram, both ways, over loopback (node/dgram_peer.js).

* Streams of 10,000 datagrams of random sizes up to 65,507 bytes, Node to gnet
  and gnet to Node, udp4 and udp6; every datagram is SHA-256 checked against
  the one both sides derive from the stream's seed. The receiver acks every
  16 datagrams, so at most 32 are in flight and loopback must lose none; any
  loss is reported together with the kernel's UDP drop counters
  (/proc/net/snmp, /proc/net/snmp6).
* Connected mode: a Node echo socket that connects to its first peer, pinged
  by a connected gnet socket; and gnet's connected echo pinged by Node.
* Multicast to a group on the loopback interface, a Node and a gnet receiver
  on one port (reuseAddr), every datagram reaching both.
* EMSGSIZE for 65,508 bytes over IPv4, in both.
"""

from __future__ import annotations

import hashlib
import os
import socket as stdsocket
import struct
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from gevent.event import Event

import gnet
from gnet import dgram
from helpers import has_ipv6_loopback, wait_until

pytestmark = [pytest.mark.node]

COUNT = 10_000
WINDOW = 32
LOOPBACK = {"udp4": "127.0.0.1", "udp6": "::1"}
KINDS = ["udp4", pytest.param("udp6", marks=pytest.mark.skipif(
    not has_ipv6_loopback(), reason="no IPv6 loopback here"))]


def size_of(seed: str, i: int) -> int:
    digest = hashlib.sha256(f"size:{seed}:{i}".encode()).digest()
    return 4 + int.from_bytes(digest[:4], "big") % 65504


def datagram(seed: str, i: int) -> bytes:
    size = size_of(seed, i)
    return struct.pack(">I", i) + hashlib.shake_256(f"{seed}:{i}".encode()).digest(size - 4)


def drop_counters() -> dict[str, int]:
    """The kernel's UDP receive-side drop counters (Linux), summed over IPv4 and IPv6."""
    found: dict[str, int] = {}
    try:
        with open("/proc/net/snmp") as f:
            lines = [line.split() for line in f if line.startswith("Udp:")]
        if len(lines) == 2:
            for key, value in zip(lines[0][1:], lines[1][1:], strict=True):
                if key in ("RcvbufErrors", "InErrors", "MemErrors"):
                    found[key] = int(value)
        with open("/proc/net/snmp6") as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key in ("Udp6RcvbufErrors", "Udp6InErrors"):
                    found[key[4:]] = found.get(key[4:], 0) + int(value)
    except OSError:
        pass
    return found


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


@pytest.fixture
def sockets() -> Iterator[list[dgram.Socket]]:
    made: list[dgram.Socket] = []
    yield made
    for sock in made:
        if not sock._closed:
            sock._pending = None
            sock.close()
    gevent.sleep(0.01)


def _bound(sockets: list[dgram.Socket], spec: Any, host: str | None = None,
           port: int = 0) -> dgram.Socket:
    sock = dgram.createSocket(spec)
    sockets.append(sock)
    kind = spec if isinstance(spec, str) else spec["type"]
    sock.bind(port, host if host is not None else LOOPBACK[kind])
    gnet.events.once(sock, "listening", 3000)
    return sock


# --- streams ----------------------------------------------------------------------------


@pytest.mark.once
@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", KINDS)
def test_node_sends_gnet_receives(kind: str, node_script: Any, figures: dict[str, Any],
                                  sockets: list[dgram.Socket]) -> None:
    seed = f"n2g-{kind}-{os.getpid()}"
    sock = _bound(sockets, {"type": kind, "recvBufferSize": 4 << 20})
    state = {"received": 0, "bad": 0, "dup": 0, "bytes": 0}
    seen: set[int] = set()
    finished = Event()
    idle: list[Any] = [None]

    def ack(rinfo: dict[str, Any]) -> None:
        sock.send(struct.pack(">I", state["received"]), rinfo["port"], rinfo["address"])

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        if msg == b"END":
            sock.send(b"DONE" + struct.pack(">I", state["received"]),
                      rinfo["port"], rinfo["address"])
            finished.set()
            return
        (i,) = struct.unpack_from(">I", msg)
        if i in seen:
            state["dup"] += 1
        seen.add(i)
        if (len(msg) != rinfo["size"] or hashlib.sha256(msg).digest()
                != hashlib.sha256(datagram(seed, i)).digest()):
            state["bad"] += 1
        state["received"] += 1
        state["bytes"] += len(msg)
        if state["received"] % 16 == 0:
            ack(rinfo)
        gnet.clearTimeout(idle[0])
        idle[0] = gnet.setTimeout(ack, 50, rinfo)

    sock.on("message", on_message)
    before = drop_counters()
    peer = node_script("dgram_peer.js", "send", kind, sock.address()["port"], seed, COUNT)
    assert finished.wait(100), f"no END from Node; {state}"
    result = peer.result()
    gnet.clearTimeout(idle[0])
    drops = _delta(before, drop_counters())
    figures.update(datagrams=state["received"], mb=round(state["bytes"] / 1e6, 1),
                   kernel_drops=drops)
    assert state["bad"] == 0 and state["dup"] == 0
    assert result["sent"] == COUNT and result["bytes"] == state["bytes"] + sum(
        size_of(seed, i) for i in range(COUNT) if i not in seen)
    assert state["received"] == COUNT, f"lost {COUNT - state['received']}; kernel: {drops}"


@pytest.mark.once
@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", KINDS)
def test_gnet_sends_node_receives(kind: str, node_script: Any, figures: dict[str, Any],
                                  sockets: list[dgram.Socket]) -> None:
    seed = f"g2n-{kind}-{os.getpid()}"
    peer = node_script("dgram_peer.js", "recv", kind, seed)
    port = peer.ready()
    sock = _bound(sockets, kind)
    progress = Event()
    state = {"acked": 0, "done": -1}

    def on_message(msg: bytes, _rinfo: dict[str, Any]) -> None:
        if len(msg) == 8 and msg[:4] == b"DONE":
            state["done"] = struct.unpack_from(">I", msg, 4)[0]
        else:
            state["acked"] = max(state["acked"], struct.unpack(">I", msg)[0])
        progress.set()

    sock.on("message", on_message)
    before = drop_counters()
    host = LOOPBACK[kind]
    errors: list[Any] = []
    sent = sent_bytes = 0
    while sent < COUNT:
        if sent - state["acked"] < WINDOW:
            payload = datagram(seed, sent)
            sock.send(payload, port, host, lambda err, *_: err and errors.append(err))
            sent += 1
            sent_bytes += len(payload)
            continue
        progress.clear()
        if sent - state["acked"] >= WINDOW and not progress.wait(0.3):
            state["acked"] = sent  # a lost datagram is never acked: move on, count it below
    for _ in range(50):
        progress.clear()
        sock.send(b"END", port, host)
        progress.wait(0.2)
        if state["done"] >= 0:
            break
    result = peer.result()
    drops = _delta(before, drop_counters())
    figures.update(datagrams=result["received"], mb=round(result["bytes"] / 1e6, 1),
                   kernel_drops=drops)
    assert not errors
    assert result["bad"] == 0 and result["dup"] == 0
    assert result["family"] == ("IPv6" if kind == "udp6" else "IPv4")
    assert result["received"] == COUNT, f"lost {COUNT - result['received']}; kernel: {drops}"
    assert result["bytes"] == sent_bytes


# --- connected mode -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_connected_gnet_pings_node_echo(kind: str, node_script: Any, figures: dict[str, Any],
                                        sockets: list[dgram.Socket]) -> None:
    peer = node_script("dgram_peer.js", "echo", kind)
    port = peer.ready()
    sock = dgram.createSocket(kind)
    sockets.append(sock)
    got: list[bytes] = []
    done = Event()

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        assert rinfo["port"] == port
        got.append(msg)
        if len(got) == 200:
            done.set()
        else:
            sock.send(b"ping %d" % len(got))

    sock.on("message", on_message)
    sock.connect(port, LOOPBACK[kind], lambda: sock.send(b"ping 0"))
    assert done.wait(20)
    assert got == [b"ping %d" % i for i in range(200)]
    local = sock.address()
    sock.send(b"bye")
    result = peer.result()
    assert result["echoed"] == 200
    assert result["remote"]["port"] == local["port"]
    assert sock.remoteAddress() == {"address": LOOPBACK[kind],
                                    "family": "IPv6" if kind == "udp6" else "IPv4",
                                    "port": port}
    figures.update(round_trips=200)


@pytest.mark.parametrize("kind", KINDS)
def test_node_pings_connected_gnet_echo(kind: str, node_script: Any,
                                        sockets: list[dgram.Socket]) -> None:
    sock = _bound(sockets, kind)
    echoed = [0]

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        if sock._connect_state == dgram.DISCONNECTED:
            sock.connect(rinfo["port"], rinfo["address"], lambda: sock.send(msg))
        elif msg != b"bye":
            sock.send(msg)
        echoed[0] += 1

    sock.on("message", on_message)
    peer = node_script("dgram_peer.js", "ping", kind, sock.address()["port"], 200)
    result = peer.result()
    assert result["pongs"] == 200
    assert result["remote"]["port"] == sock.address()["port"]
    assert sock.remoteAddress()["address"] == LOOPBACK[kind]


# --- multicast -----------------------------------------------------------------------------


def _loopback_multicast_works() -> str | None:
    """None if a datagram sent to a group via 127.0.0.1 comes back; else why not."""
    group = "239.255.77.1"
    rx = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    tx = stdsocket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    try:
        rx.bind(("0.0.0.0", 0))
        rx.setsockopt(stdsocket.IPPROTO_IP, stdsocket.IP_ADD_MEMBERSHIP,
                      stdsocket.inet_aton(group) + stdsocket.inet_aton("127.0.0.1"))
        tx.setsockopt(stdsocket.IPPROTO_IP, stdsocket.IP_MULTICAST_IF,
                      stdsocket.inet_aton("127.0.0.1"))
        tx.sendto(b"probe", (group, rx.getsockname()[1]))
        rx.settimeout(1.0)
        rx.recvfrom(16)
    except OSError as exc:
        return f"loopback refuses multicast here ({exc})"
    finally:
        rx.close()
        tx.close()
    return None


@pytest.mark.timeout(60)
def test_multicast_on_loopback_reaches_node_and_gnet(node_script: Any, figures: dict[str, Any],
                                                     sockets: list[dgram.Socket]) -> None:
    why = _loopback_multicast_works()
    if why:
        pytest.skip(why)
    group = "239.255.77.2"
    count = 500
    receiver = _bound(sockets, {"type": "udp4", "reuseAddr": True}, host="0.0.0.0")
    receiver.setRecvBufferSize(4 << 20)
    receiver.addMembership(group, "127.0.0.1")
    port = receiver.address()["port"]
    hashes: list[str] = []
    receiver.on("message", lambda msg, _r: msg != b"END" and hashes.append(
        hashlib.sha256(msg).hexdigest()))
    peer = node_script("dgram_peer.js", "mcast", group, port, count)
    assert peer.ready() == port
    sender = _bound(sockets, "udp4", host="127.0.0.1")
    sender.setMulticastInterface("127.0.0.1")
    sender.setMulticastTTL(1)
    sender.setMulticastLoopback(True)
    sent: list[str] = []
    for i in range(count):
        payload = os.urandom(1 + i * 7 % 1400)
        sent.append(hashlib.sha256(payload).hexdigest())
        sender.send(payload, port, group)
        if i % 32 == 31:
            gevent.sleep(0.002)
    gevent.sleep(0.05)
    sender.send(b"END", port, group)
    result = peer.result(30)
    wait_until(lambda: len(hashes) >= count, 5.0, interval_s=0.01, fail=False)
    figures.update(node=result["received"], gnet=len(hashes))
    assert hashes == sent
    assert result["received"] == count
    assert result["sha256"] == hashlib.sha256(",".join(sent).encode()).hexdigest()
    receiver.dropMembership(group, "127.0.0.1")


# --- EMSGSIZE -------------------------------------------------------------------------------


def test_emsgsize_for_65508_bytes_in_both(node_script: Any,
                                          sockets: list[dgram.Socket]) -> None:
    result = node_script("dgram_peer.js", "msgsize").result()
    sock = dgram.createSocket("udp4")
    sockets.append(sock)
    got: list[Any] = []
    sock.send(bytes(65508), 9, "127.0.0.1", lambda err, *_: got.append(err))
    ok: list[Any] = []
    sock.send(bytes(65507), 9, "127.0.0.1", lambda err, *rest: ok.append((err, rest)))
    wait_until(lambda: got and ok, 3.0, interval_s=0.01, fail=False)
    err = got[0]
    assert (err.code, err.syscall, err.message) == (result["code"], result["syscall"],
                                                    result["message"])
    assert result["message"] == "send EMSGSIZE 127.0.0.1:9"
    assert ok == [(None, (65507,))]

