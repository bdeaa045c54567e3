"""A real nginx (stream module, ``proxy_protocol on``) in front of a gnet server.

nginx 1.22 (Debian's ``nginx`` and ``libnginx-mod-stream``; ``.ci/run``
installs them) runs ``configs/nginx-stream.conf.in``, the configuration
docs/deploying.md shows: a ``stream`` server listening on an IPv4 and an
IPv6 loopback port, relaying to a gnet server with ``proxyProtocol`` on.
nginx sends a PROXY v1 line (``TCP4``/``TCP6``) before the client's bytes.
Each client must read back its own address, port and family as the gnet
server saw them, the server must see nginx as ``proxyPeerAddress``, and no
'proxyError' may come.

Without nginx or its stream module the test skips, except under CI, where
it fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.subprocess
import pytest
from deploy_configs import render, tool
from gevent import socket as gsocket

from helpers import HOST, Harness, closed_port, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(60)]

MODULES = "/usr/lib/nginx/modules"
HOST6 = "::1"
CLIENTS = 20


@pytest.fixture
def figures(record_property: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Figures worth quoting: printed, and recorded as the test's properties."""
    found: dict[str, Any] = {}
    start = time.perf_counter()
    yield found
    found["wall_s"] = round(time.perf_counter() - start, 3)
    print(f"\n{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in found.items()))
    for key, value in found.items():
        record_property(key, value)


@pytest.fixture
def nginx() -> str:
    found = tool("nginx", "/usr/sbin/nginx", install="apt-get install nginx libnginx-mod-stream")
    if not os.path.exists(os.path.join(MODULES, "ngx_stream_module.so")):
        tool("ngx_stream_module.so", install="apt-get install libnginx-mod-stream")
    return found


def _pid_written(path: str) -> bool:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip().isdigit()
    except OSError:
        return False


def _ask(address: tuple[str, int], family: int) -> tuple[tuple[str, int], list[str]]:
    with gsocket.socket(family, gsocket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(address)
        local = client.getsockname()[:2]
        data = b""
        while chunk := client.recv(256):
            data += chunk
    return local, data.decode().split()


def test_nginx_proxy_protocol_names_each_client(harness: Harness, nginx: str,
                                                figures: dict[str, Any]) -> None:
    seen: list[Any] = []
    errors: list[Any] = []

    def connection(sock: Any) -> None:
        seen.append((sock.proxyHeader.version, sock.proxyPeerAddress))
        sock.end(f"{sock.remoteAddress} {sock.remotePort} {sock.remoteFamily}\n".encode())

    srv = harness.server({"proxyProtocol": True}, connection)
    srv.on("proxyError", lambda err, info: errors.append((err, info)))
    harness.listen(srv, 0, HOST)
    port4, port6 = closed_port(), closed_port(HOST6)
    directory = tempfile.mkdtemp(prefix="gnet-nginx-", dir="/tmp")
    config = os.path.join(directory, "nginx.conf")
    pid_file = os.path.join(directory, "nginx.pid")
    with open(config, "w", encoding="utf-8") as f:
        f.write(render("nginx-stream.conf.in", {
            "MODULES": MODULES, "PID_FILE": pid_file,
            "ERROR_LOG": os.path.join(directory, "error.log"),
            "SERVER": f"{HOST}:{srv.address()['port']}",
            "LISTEN": f"{HOST}:{port4}", "LISTEN6": f"[{HOST6}]:{port6}"}))
    # -p: no file of the system's nginx is touched; -e: errors before the
    # configuration is read go to stderr, not /var/log/nginx.
    base = [nginx, "-p", directory, "-e", "stderr", "-c", config]
    check = gevent.subprocess.run([*base, "-t", "-q"], capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr.decode(errors="replace")
    if os.path.exists(pid_file):  # nginx -t makes an empty one
        os.remove(pid_file)
    proc = gevent.subprocess.Popen([*base, "-g", "daemon off;"],
                                   stdout=gevent.subprocess.DEVNULL,
                                   stderr=gevent.subprocess.PIPE)
    try:
        # nginx writes its pid file once its sockets listen.
        wait_until(lambda: _pid_written(pid_file) or proc.poll() is not None, 10,
                   "nginx to start")
        assert proc.poll() is None, "nginx exited"
        jobs = [gevent.spawn(_ask, (HOST, port4), gsocket.AF_INET) if i % 2 == 0
                else gevent.spawn(_ask, (HOST6, port6), gsocket.AF_INET6)
                for i in range(CLIENTS)]
        gevent.joinall(jobs, timeout=30, raise_error=True)
        for job in jobs:
            local, answer = job.value
            family = "IPv6" if ":" in local[0] else "IPv4"
            assert answer == [local[0], str(local[1]), family], (local, answer)
        wait_until(lambda: len(seen) == CLIENTS)
        assert all(version == 1 for version, _peer in seen), seen
        assert {peer for _version, peer in seen} == {HOST}, seen
        assert errors == []
        figures.update(clients=CLIENTS, ipv4=sum(1 for j in jobs if "." in j.value[0][0]),
                       ipv6=sum(1 for j in jobs if ":" in j.value[0][0]), proxy_errors=0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except gevent.subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read() if proc.stderr is not None else b""
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(directory, ignore_errors=True)
    assert b"[emerg]" not in err and b"[crit]" not in err, err.decode(errors="replace")
    harness.finish()
