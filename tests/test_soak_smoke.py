"""Smoke run of the soak tool (benchmarks/soak.py), so that it stays runnable and honest.

``python benchmarks/soak.py --smoke`` runs about ten seconds of mixed
traffic, faults and bad calls against one gnet server and prints one
summary line. The test runs it as a subprocess (with ``--monkey`` when this
session itself runs under ``patch_all()``, so both modes are covered) and
checks the line's shape, that every kind of fault was injected, and that
nothing was lost, corrupted, left open or logged: zero verification errors,
zero lost transfers, zero unexpected errors, no descriptor more at the end
than at the start, and nothing on stderr (ResourceWarnings are shown there,
so an unclosed socket would fail the test too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOAK = REPO / "benchmarks" / "soak.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.once,
    pytest.mark.skipif(not SOAK.exists(), reason="no benchmarks/soak.py in this tree"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the soak reads /proc"),
]

FAULT_KINDS = ("abort", "badcall", "drop", "kill", "pause", "reset", "timeout")

# The summary line, field by field, in order.
LINE = re.compile(
    r"^SOAK"
    r" seconds=(?P<seconds>\d+\.\d)"
    r" connections=(?P<connections>\d+)"
    r" transfers=(?P<transfers>\d+)"
    r" bytes_verified=(?P<bytes_verified>\d+)"
    r" verify_errors=(?P<verify_errors>\d+)"
    r" lost=(?P<lost>\d+)"
    r" unexpected=(?P<unexpected>\d+)"
    r" faults=(?P<faults>\d+)"
    r" faults_by_kind=(?P<faults_by_kind>[\w:,-]+)"
    r" errors_by_code=(?P<errors_by_code>[\w:,-]+)"
    r" badcall_codes=(?P<badcall_codes>[\w:,-]+)"
    r" unexpected_by_kind=(?P<unexpected_by_kind>[\w:,.-]+)"
    r" max_loop_lag_ms=(?P<max_loop_lag_ms>\d+)"
    r" fds_start=(?P<fds_start>\d+)"
    r" fds_end=(?P<fds_end>\d+)"
    r" rss_start_kb=(?P<rss_start_kb>\d+)"
    r" rss_end_kb=(?P<rss_end_kb>\d+)"
    r" result=(?P<result>ok|FAIL)$"
)


def _pairs(text: str) -> dict[str, int]:
    if text == "-":
        return {}
    return {key: int(value) for key, value in (item.split(":") for item in text.split(","))}


@pytest.fixture(scope="module")
def soak(monkey_patched: bool) -> tuple[subprocess.CompletedProcess[str], re.Match[str] | None]:
    args = [sys.executable, "-W", "default::ResourceWarning", str(SOAK), "--smoke"]
    if monkey_patched:
        args.append("--monkey")
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=50)
    return proc, LINE.match(proc.stdout.strip())


def test_prints_one_well_formed_summary_line(
    soak: tuple[subprocess.CompletedProcess[str], re.Match[str] | None],
) -> None:
    proc, match = soak
    assert proc.stdout.count("\n") == 1, proc.stdout
    assert match is not None, f"not a soak summary line: {proc.stdout!r}\n{proc.stderr}"
    assert sum(_pairs(match["faults_by_kind"]).values()) == int(match["faults"])
    assert 5.0 <= float(match["seconds"]) <= 30.0


def test_nothing_lost_corrupted_or_leaked(
    soak: tuple[subprocess.CompletedProcess[str], re.Match[str] | None],
) -> None:
    proc, match = soak
    assert match is not None, proc.stdout
    assert proc.stderr == "", proc.stderr
    assert int(match["verify_errors"]) == 0
    assert int(match["lost"]) == 0
    assert int(match["unexpected"]) == 0, match["unexpected_by_kind"]
    assert int(match["fds_end"]) <= int(match["fds_start"])
    assert match["result"] == "ok"
    assert proc.returncode == 0


def test_load_and_every_kind_of_fault_happened(
    soak: tuple[subprocess.CompletedProcess[str], re.Match[str] | None],
) -> None:
    proc, match = soak
    assert match is not None, proc.stdout
    assert int(match["connections"]) >= 100
    assert int(match["transfers"]) >= 50
    assert int(match["bytes_verified"]) >= 1_000_000
    faults = _pairs(match["faults_by_kind"])
    assert sorted(faults) == sorted(FAULT_KINDS)
    assert all(count > 0 for count in faults.values()), faults
    # Resets and SIGKILLed peers show up on the server as ECONNRESET.
    assert _pairs(match["errors_by_code"]).get("ECONNRESET", 0) > 0
    assert sum(_pairs(match["badcall_codes"]).values()) > 0
