"""Smoke run of the benchmark suite (benchmarks/), so that it does not rot.

One tiny run of ``python -m benchmarks`` (a few milliseconds per scenario,
a few dozen idle connections, a handful of servers) into a temporary
directory; the tests check only that it produced well-formed results, that
every echoed byte was right, and that the report was written. No figure is
compared with anything: timings on a loaded machine prove nothing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.once,
    pytest.mark.skipif(not (BENCH / "run.py").exists(), reason="no benchmarks/ in this tree"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the suite uses epoll and /proc"),
    pytest.mark.skipif(shutil.which(os.environ.get("CC") or "cc") is None,
                       reason="no C compiler for the load generator"),
]

# The C reference, gnet, both baselines gnet is compared with, and one
# stdlib-only asyncio server: the optional ones (uvloop, trio, Twisted) may
# not be installed where the tests run.
SERVERS = ["c", "gnet", "gevent", "asyncio-protocol", *(["node"] if NODE else [])]
TIMED = ["pingpong-1", "pingpong-50", "pipelined", "bulk", "connrate"]
IDLE = [20, 40]


def _bench(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    proc = _bench(
        "--duration", "0.05", "--warmup", "0.02", "--repeats", "1",
        "--idle", ",".join(map(str, IDLE)), "--servers", ",".join(SERVERS),
        "--emit-number", "2000", "--emit-repeat", "1", "--attempts", "1", "--no-pm-qos",
        # A smoke run measures nothing: never wait for the machine to be quiet.
        "--quiet-wait", "0", "--max-interference", "1",
        "--json", out / "results.json", "--md", out / "benchmarks.md",
        "--png", out / "benchmarks.png",
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return {"out": out, "proc": proc, "data": json.loads((out / "results.json").read_text())}


def test_every_server_ran_every_scenario(run: dict[str, Any]) -> None:
    data = run["data"]
    assert sorted(s["key"] for s in data["servers"]) == sorted(SERVERS)
    assert not [s for s in data["servers"] if s["skipped"]]
    scenario_keys = [sc["key"] for sc in data["scenarios"]]
    assert scenario_keys == [f"idle-{n}" for n in IDLE] + TIMED
    runs = {(r["server"], r["scenario"]): r for r in data["runs"]}
    assert len(runs) == len(data["runs"]) == len(SERVERS) * len(scenario_keys)
    for (server, scenario), r in runs.items():
        assert "error" not in r, (server, scenario, r.get("error"))


def test_no_byte_or_connection_errors(run: dict[str, Any]) -> None:
    for r in run["data"]["runs"]:
        assert r["byte_errors"] == 0, r
        assert r["errors"] == 0, r


def test_timed_results_are_well_formed(run: dict[str, Any]) -> None:
    for r in run["data"]["runs"]:
        if r["scenario"].startswith("idle-"):
            continue
        assert r["mode"] in ("pingpong", "pipeline", "bulk", "connrate")
        assert r["elapsed"] > 0
        assert r["ops"] > 0, r
        assert r["bytes_rx"] > 0 and r["bytes_tx"] > 0
        assert math.isfinite(r["value"]) and r["value"] > 0
        assert r["server_user_s"] >= 0 and r["server_sys_s"] >= 0
        assert 0 <= r["client_busy"] <= 1.01
        if r["mode"] == "pingpong":
            assert r["samples"] == r["ops"]
            assert 0 < r["p50_us"] <= r["p99_us"]


def test_idle_results_are_well_formed(run: dict[str, Any]) -> None:
    for r in run["data"]["runs"]:
        if not r["scenario"].startswith("idle-"):
            continue
        count = int(r["scenario"].split("-")[1])
        assert r["open"] == r["conns"] == count
        assert r["rss_kib"] > 0 and r["base_rss_kib"] > 0
        assert r["server_fds"] >= count  # the server really held them
        assert math.isfinite(r["value"])


def test_summary_has_medians_and_ratios(run: dict[str, Any]) -> None:
    summary = run["data"]["summary"]
    for scenario, per in summary.items():
        assert set(per) == set(SERVERS), scenario
        for entry in per.values():
            assert entry["n"] == 1 and entry["min"] <= entry["value"] <= entry["max"]
        # A ratio needs a reference above zero (a tiny smoke measurement on a
        # busy machine can read 0); then it is None, never a wrong number.
        assert per["gevent"]["vs_gevent"] == (pytest.approx(1.0) if per["gevent"]["value"]
                                              else None)
        if NODE:
            assert per["node"]["vs_node"] == (pytest.approx(1.0) if per["node"]["value"]
                                              else None)
            assert (per["gnet"]["vs_node"] is not None) == bool(per["node"]["value"])
        if scenario.startswith("pingpong"):
            assert per["gnet"]["p50_us"] <= per["gnet"]["p99_us"]


def test_emit_figures_were_read(run: dict[str, Any]) -> None:
    emit = run["data"]["emit"]
    assert "error" not in emit, emit
    listeners = [row["listeners"] for row in emit["rows"] if row["listeners"] is not None]
    assert listeners == [0, 1, 3]
    assert all(row["gnet_ns"] > 0 for row in emit["rows"])


def test_report_written(run: dict[str, Any]) -> None:
    out: Path = run["out"]
    text = (out / "benchmarks.md").read_text()
    for heading in ("# Benchmarks", "## Targets for gnet", "## Results",
                    "## The load generator is not the bottleneck", "## Machine and method"):
        assert heading in text
    for server in run["data"]["servers"]:
        assert f"| {server['label']} |" in text or f"| **{server['label']}** |" in text
    png = out / "benchmarks.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "No chart" in text and not png.exists()
    else:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "](benchmarks.png)" in text


def test_report_only_rewrites_the_same_report(run: dict[str, Any], tmp_path: Path) -> None:
    out: Path = run["out"]
    proc = _bench("--report-only", "--json", out / "results.json", "--md", tmp_path / "b.md",
                  "--png", tmp_path / "benchmarks.png")
    assert proc.returncode == 0, proc.stderr
    first = (out / "benchmarks.md").read_text()
    assert (tmp_path / "b.md").read_text() == first
