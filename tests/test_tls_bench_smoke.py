"""Smoke run of the TLS and multi-process benchmarks, so that they do not rot.

One tiny run of ``python -m benchmarks.tls_bench`` (gnet.tls only, every
scenario: handshakes, ping-pong, bulk, a few dozen idle TLS connections)
and one of ``python -m benchmarks.cluster_bench`` (one gnet process and
gnet.cluster with 1 and 2 shared-socket workers), each into a temporary
directory. The tests check that the OpenSSL load generator built, that
every scenario completed operations with every echoed byte right, that
server CPU per operation is there, and that the reports were written. No
figure is compared with anything: timings on a loaded machine prove
nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"

pytestmark = [
    pytest.mark.once,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (BENCH / "tls_bench.py").exists(), reason="no benchmarks/ here"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the benchmarks use epoll and /proc"),
    pytest.mark.skipif(shutil.which(os.environ.get("CC") or "cc") is None,
                       reason="no C compiler for the load generators"),
]

# The warm-up covers 50 TLS handshakes even on a slow, busy machine.
TINY = ["--duration", "0.2", "--warmup", "0.5", "--repeats", "1", "--attempts", "1"]


def _run(module: str, tmp: Path, *args: str) -> dict[str, Any]:
    out = tmp / module
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *TINY, *args,
         "--json", str(out.with_suffix(".json")), "--md", str(out.with_suffix(".md"))],
        cwd=str(REPO), capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.with_suffix(".md").read_text().startswith("## ")
    data: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    return data


@pytest.fixture(scope="module")
def tls_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        pytest.skip("no OpenSSL headers (libssl-dev) for benchmarks/tlsgen.c")
    pytest.importorskip("cryptography")
    return _run("tls_bench", tmp_path_factory.mktemp("tls"), "--servers", "gnet",
                "--idle", "30")


def test_tls_every_scenario_ran_for_gnet(tls_results: dict[str, Any]) -> None:
    keys = {sc["key"] for sc in tls_results["scenarios"]}
    assert keys == {"tls-handshake", "tls-pingpong-50", "tls-bulk", "tls-idle-30"}
    for key in keys:
        entry = tls_results["summary"][key]["gnet"]
        assert "value" in entry, entry
        assert entry["value"] > 0
        assert entry["byte_errors"] == 0
        assert entry["cpu_us_per_op"] is not None and entry["cpu_us_per_op"] > 0


def test_tls_handshakes_are_full_handshakes(tls_results: dict[str, Any]) -> None:
    run = next(r for r in tls_results["runs"] if r["scenario"] == "tls-handshake")
    # One handshake per connection the generator counted (none resumed or
    # lost): the 8 in flight when measuring began had theirs before it.
    assert run["tls"] is True
    assert run["ops"] > 0
    # tlsgen counts a resumed session as an error.
    assert run["errors"] == 0, run["last_error"]
    assert run["handshakes"] >= run["ops"] - run["conns"]


@pytest.fixture(scope="module")
def cluster_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run("cluster_bench", tmp_path_factory.mktemp("cluster"), "--configs",
                "gnet-single,gnet-shared-1,gnet-shared-2")


def test_cluster_every_configuration_ran(cluster_results: dict[str, Any]) -> None:
    for sc in ("cluster-connrate", "cluster-pingpong-50"):
        per = cluster_results["summary"][sc]
        for key in ("gnet-single", "gnet-shared-1", "gnet-shared-2"):
            assert per[key]["value"] > 0, per[key]
            assert per[key]["byte_errors"] == 0
            assert per[key]["cpu_us_per_op"] > 0
        assert per["gnet-shared-2"]["efficiency"] is not None
        assert per["gnet-shared-1"]["vs_single"] is not None


def test_cluster_workers_left_nothing_behind(cluster_results: dict[str, Any]) -> None:
    # Every server process (primary and workers) was stopped: no worker of
    # this run still holds the ports it listened on.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "cluster_gnet_echo.py" not in ps
