"""Smoke run of the UDP benchmarks (benchmarks/udp_bench.py), so that they do not rot.

A few hundred milliseconds per scenario against gnet and the raw gevent loop
(and Node when it is here); the test checks only that every scenario produced
a figure, that no echoed datagram came back wrong, and that the report was
written. No figure is compared with anything: timings on a loaded machine
prove nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.once,
    pytest.mark.skipif(not (BENCH / "udp_bench.py").exists(), reason="no benchmarks/ here"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc"),
    pytest.mark.skipif(shutil.which(os.environ.get("CC") or "cc") is None,
                       reason="no C compiler for the load generator"),
]


@pytest.mark.timeout(120)
def test_udp_bench_smoke(tmp_path: Path) -> None:
    servers = ["gnet", "gevent", *(["node"] if shutil.which("node") else [])]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.udp_bench", "--servers", ",".join(servers),
         "--duration", "0.15", "--warmup", "0.05", "--repeats", "1", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "udp_results.json").read_text())
    for key in servers:
        run = results["runs"][key]
        for scenario in ("udp-echo-50", "udp-stream-1200", "udp-paced-1200", "udp-large-60000"):
            cell = run[scenario]
            assert "error" not in cell, (key, scenario, cell)
            assert cell["value"] > 0, (key, scenario)
        assert run["udp-echo-50"]["raw"]["bad"] == 0
    assert "UDP echo, 64 B, 50 clients" in (tmp_path / "udp_report.md").read_text()
