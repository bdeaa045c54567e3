"""A real HAProxy in front of a gnet server with ``proxyProtocol``: v1 and v2, health checks on.

HAProxy (Debian's ``haproxy`` package; ``.ci/run`` installs it) runs from a
configuration written to a temporary directory: two frontends on loopback
ports, one relaying to the gnet server with ``send-proxy`` (v1), one with
``send-proxy-v2`` and the CRC32C, unique-id and authority TLVs, both
backends health-checked every 100 ms. Clients connect through HAProxy and
the server must see each client's own address and port (from the header),
the HAProxy side as ``proxyPeerAddress``, the checks must come and pass
(HAProxy's stats socket says so) without one 'connection' or 'proxyError'.

Without ``haproxy`` on PATH the test skips, except under CI (``CI`` set),
where it fails: a CI run cannot pass with it silently skipped.
"""

from __future__ import annotations

import os
import shutil
import socket as stdsocket
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.subprocess
import pytest
from gevent import socket as gsocket

from gnet.proxy_protocol import ProxyHeader
from helpers import HOST, WAIT_S, Harness, closed_port, settle, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]

CHECK_INTERVAL_MS = 100
CLIENTS = 20


@pytest.fixture
def figures(record_property: Any) -> Iterator[dict[str, Any]]:
    """This directory's figures fixture, without its need for Node.js."""
    found: dict[str, Any] = {}
    start = time.perf_counter()
    yield found
    found["wall_s"] = round(time.perf_counter() - start, 3)
    for key, value in found.items():
        record_property(key, value)


@pytest.fixture
def haproxy() -> str:
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.path.exists(p)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed; .ci/run installs it, and under CI "
                        f"(CI={os.environ['CI']!r}) this test may not be skipped", pytrace=False)
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    return found


CONFIG = """\
global
    maxconn 200
    stats socket {stats} level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe_v1
    bind {host}:{v1_port}
    default_backend be_v1
frontend fe_v2
    bind {host}:{v2_port}
    unique-id-format %{{+X}}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    default_backend be_v2
backend be_v1
    server gnet_v1 {host}:{gnet_port} send-proxy check inter {inter}ms
backend be_v2
    server gnet_v2 {host}:{gnet_port} send-proxy-v2 {v2_options} check inter {inter}ms
"""


def _stats(path: str) -> dict[str, dict[str, str]]:
    # HAProxy's `show stat` CSV, as {proxy/server: row}.
    with stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM) as admin:
        admin.settimeout(WAIT_S)
        admin.connect(path)
        admin.sendall(b"show stat\n")
        out = b""
        while chunk := admin.recv(65536):
            out += chunk
    lines = out.decode().splitlines()
    columns = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        if line:
            row = dict(zip(columns, line.split(","), strict=False))
            rows[f"{row['pxname']}/{row['svname']}"] = row
    return rows


def _echo_through(port: int, payload: bytes) -> tuple[bytes, tuple[str, int]]:
    with gsocket.create_connection((HOST, port), timeout=WAIT_S) as client:
        local = client.getsockname()[:2]
        client.sendall(payload)
        client.shutdown(gsocket.SHUT_WR)
        out = b""
        while chunk := client.recv(65536):
            out += chunk
    return out, local


def test_haproxy_send_proxy_v1_and_v2_with_health_checks(
        harness: Harness, haproxy: str, figures: dict[str, Any]) -> None:
    srv = harness.server({"proxyProtocol": True})
    seen: list[dict[str, Any]] = []
    errors: list[tuple[Any, Any]] = []

    def connection(sock: Any) -> None:
        seen.append({"remote": (sock.remoteAddress, sock.remotePort, sock.remoteFamily),
                     "peer": (sock.proxyPeerAddress, sock.proxyPeerPort),
                     "header": sock.proxyHeader, "tlvs": sock.proxyTlvs})
        sock.on("data", sock.write)
        sock.on("end", sock.end)

    srv.on("connection", connection)
    srv.on("proxyError", lambda err, info: errors.append((err, info)))
    harness.listen(srv, 0, HOST)
    directory = tempfile.mkdtemp(prefix="gnet-haproxy-", dir="/tmp")
    stats = os.path.join(directory, "admin.sock")
    v1_port = v2_port = closed_port()
    while v2_port == v1_port:
        v2_port = closed_port()
    config = os.path.join(directory, "haproxy.cfg")
    with open(config, "w") as f:
        f.write(CONFIG.format(stats=stats, host=HOST, v1_port=v1_port, v2_port=v2_port,
                              gnet_port=srv.address()["port"], inter=CHECK_INTERVAL_MS,
                              v2_options="proxy-v2-options crc32c,unique-id"))
    proc = gevent.subprocess.Popen([haproxy, "-db", "-f", config],
                                   stdout=gevent.subprocess.PIPE, stderr=gevent.subprocess.STDOUT)
    try:
        wait_until(lambda: os.path.exists(stats) and proc.poll() is None, 10,
                   "haproxy to start")

        def both_up() -> bool:
            try:
                rows = _stats(stats)
            except OSError:
                return False
            return all(rows.get(name, {}).get("status") == "UP"
                       and rows[name].get("check_status") in ("L4OK", "L7OK")
                       for name in ("be_v1/gnet_v1", "be_v2/gnet_v2"))

        wait_until(both_up, 10, "both backends UP by their health checks")
        # Let a few more rounds of checks come.
        gevent.sleep(CHECK_INTERVAL_MS * 5 / 1000)
        assert seen == [], "a health check reached 'connection'"
        assert errors == [], f"a health check gave a proxyError: {errors}"

        clients = []
        for i in range(CLIENTS):
            port = v1_port if i % 2 == 0 else v2_port
            clients.append((port, gevent.spawn(_echo_through, port, f"client {i}".encode())))
        gevent.joinall([g for _, g in clients], timeout=20, raise_error=True)
        by_port = {}
        for i, (port, g) in enumerate(clients):
            out, local = g.value
            assert out == f"client {i}".encode()
            by_port[local[1]] = port
        wait_until(lambda: len(seen) == CLIENTS)
        for conn in seen:
            address, port, family = conn["remote"]
            header: ProxyHeader = conn["header"]
            # Each client is seen as itself: the port it connected from.
            assert (address, family) == (HOST, "IPv4") and port in by_port, conn
            assert header.version == (1 if by_port[port] == v1_port else 2)
            # The real peer is HAProxy's own connection, from another port.
            assert conn["peer"][0] == HOST and conn["peer"][1] != port
            if header.version == 2:
                assert "crc32c" in conn["tlvs"] and conn["tlvs"]["uniqueId"]
        settle()
        rows = _stats(stats)
        checks = {name: rows[name].get("chkfail") for name in ("be_v1/gnet_v1", "be_v2/gnet_v2")}
        assert all(v in ("0", "") for v in checks.values()), checks
        assert errors == [], f"proxyError while serving: {errors}"
        figures.update(clients=CLIENTS, v1=sum(1 for c in seen if c["header"].version == 1),
                       v2=sum(1 for c in seen if c["header"].version == 2))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except gevent.subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)
    harness.finish()
