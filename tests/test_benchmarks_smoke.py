"""Smoke run of the benchmark suite (benchmarks/), so that it does not rot.

One tiny run of ``python -m benchmarks`` (a few milliseconds per scenario,
a few dozen idle connections, a handful of servers, two rounds) into a
temporary directory, with ``--baseline-ref HEAD`` when this is a git
checkout, so the baseline peer (``gnet@<commit>``, HEAD's gnet exported to a
temporary directory) runs beside the others; the tests check only that it
produced well-formed results, that every echoed byte was right, that every
peer has its server CPU per operation in every scenario, that the baseline
peer imported the exported code, took turns with gnet (one order in one
round, the other in the next) and left no tree behind, and that the report
was written. No figure is compared with anything: timings on a loaded
machine prove nothing. One more test runs a round in which a stand-in server
dies between two scenarios: that is its failure alone, and the round goes on.
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
    # The module's one run (about 30 s; longer on a busy machine) counts
    # against the first test's time.
    pytest.mark.timeout(240),
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
REPEATS = 2
# The baseline peer needs the repository's history (not there in an sdist).
GIT = shutil.which("git") is not None and (REPO / ".git").exists()
needs_git = pytest.mark.skipif(not GIT, reason="not a git checkout: no --baseline-ref")


def _bench(*args: str | Path, timeout: float = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    proc = _bench(
        "--duration", "0.05", "--warmup", "0.02", "--repeats", str(REPEATS),
        "--idle", ",".join(map(str, IDLE)), "--servers", ",".join(SERVERS),
        # The echo scenarios only: the chat and latency ones have their own
        # smoke test (test_chat_bench_smoke.py).
        "--scenarios", ",".join(TIMED),
        *(["--baseline-ref", "HEAD"] if GIT else []),
        "--emit-number", "2000", "--emit-repeat", "1", "--attempts", "1", "--no-pm-qos",
        # A smoke run measures nothing: never wait for the machine to be quiet.
        "--quiet-wait", "0", "--max-interference", "1",
        "--json", out / "results.json", "--md", out / "benchmarks.md",
        "--png", out / "benchmarks.png",
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    peers = SERVERS + ([data["baseline"]["key"]] if GIT else [])
    return {"out": out, "proc": proc, "data": data, "peers": peers}


def test_every_server_ran_every_scenario(run: dict[str, Any]) -> None:
    data = run["data"]
    assert sorted(s["key"] for s in data["servers"]) == sorted(run["peers"])
    assert not [s for s in data["servers"] if s["skipped"]]
    scenario_keys = [sc["key"] for sc in data["scenarios"]]
    assert scenario_keys == [f"idle-{n}" for n in IDLE] + TIMED
    runs = {(r["round"], r["server"], r["scenario"]): r for r in data["runs"]}
    assert len(runs) == len(data["runs"]) == REPEATS * len(run["peers"]) * len(scenario_keys)
    for (_, server, scenario), r in runs.items():
        assert "error" not in r, (server, scenario, r.get("error"))


def test_server_cpu_per_operation_for_every_peer_and_scenario(run: dict[str, Any]) -> None:
    data = run["data"]
    for r in data["runs"]:
        # Counted by the scheduler, to the nanosecond, in every measurement.
        assert r["ops"] > 0 and r["server_cpu_s"] >= 0, r
    for scenario, per in data["summary"].items():
        for key in run["peers"]:
            entry = per[key]
            assert entry["cpu_min"] <= entry["cpu_us_per_op"] <= entry["cpu_max"], (scenario, key)
            assert math.isfinite(entry["cpu_us_per_op"])
    text = (run["out"] / "benchmarks.md").read_text()
    tables = text.split("## Results", 1)[1].split("\n### ")[1:]
    assert len(tables) == len(data["scenarios"])
    for table in tables:
        assert "| server CPU us/op |" in table or "| server CPU us/conn |" in table, table
    assert "server CPU us/op, gnet / Node" in text
    stdout = run["proc"].stdout
    assert stdout.count("  CPU ") >= len(run["peers"]) * len(data["scenarios"])


@needs_git
def test_baseline_peer_ran_the_exported_code_and_left_nothing(run: dict[str, Any]) -> None:
    data = run["data"]
    info = data["baseline"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", info["commit"]],
                          capture_output=True, text=True)
    assert head.returncode == 0 and head.stdout.strip() == info["commit"]
    assert info["ref"] == "HEAD" and info["key"] == f"gnet@{info['commit'][:7]}"
    [peer] = [s for s in data["servers"] if s["baseline"]]
    assert peer["key"] == info["key"] and peer["kind"] == "python"
    imported = Path(info["imported"])
    # It imported gnet from the exported tree, not from this checkout...
    assert imported.name == "__init__.py" and imported.parent.name == "gnet"
    assert not imported.is_relative_to(REPO)
    # ...and the tree is gone.
    assert not imported.parent.parent.exists()
    assert info["key"] in run["proc"].stderr


@needs_git
def test_gnet_and_the_baseline_take_turns(run: dict[str, Any]) -> None:
    """Within a round each scenario runs every peer in turn; the order flips between rounds."""
    key = run["data"]["baseline"]["key"]
    firsts = []
    for rnd in range(REPEATS):
        rows = [r for r in run["data"]["runs"] if r["round"] == rnd]
        timed = [(r["scenario"], r["server"]) for r in rows
                 if not r["scenario"].startswith("idle-")]
        # Scenario-major: all peers did pingpong-1 before any did pingpong-50 (ABAB...).
        assert [sc for sc, _ in timed] == [sc for sc in TIMED for _ in run["peers"]]
        per_scenario = {tuple(srv for sc, srv in timed if sc == s) for s in TIMED}
        assert len(per_scenario) == 1  # the same order for every scenario of a round
        order = per_scenario.pop()
        firsts.append(order.index("gnet") < order.index(key))
    assert firsts[0] != firsts[1]


@needs_git
def test_report_compares_gnet_with_the_baseline(run: dict[str, Any]) -> None:
    data = run["data"]
    key = data["baseline"]["key"]
    for scenario, per in data["summary"].items():
        pair = per["gnet"]["paired"].get(key)
        assert pair is not None and pair["rounds"] == REPEATS, scenario
        for what in ("value", "cpu"):
            stats = pair[what]
            if stats is None:
                # A few dozen idle connections can read as no memory at all:
                # no ratio then, rather than a wrong one.
                assert what == "value" and scenario.startswith("idle-"), scenario
                continue
            assert stats["min"] <= stats["median"] <= stats["max"], (scenario, what)
    text = (run["out"] / "benchmarks.md").read_text()
    assert f"## gnet against {key} (regression check, same run)" in text
    assert f"| Scenario | gnet | {key} | gnet / {key} | verdict |" in text
    assert f"| *{key}* |" in text  # in every results table
    assert f"gnet / {key}, per round" in run["proc"].stdout


@needs_git
def test_an_unknown_baseline_ref_is_refused(tmp_path: Path) -> None:
    proc = _bench("--baseline-ref", "no-such-ref-for-gnet", "--json", tmp_path / "r.json",
                  "--md", tmp_path / "b.md", "--png", tmp_path / "b.png", timeout=60)
    assert proc.returncode != 0
    assert "--baseline-ref 'no-such-ref-for-gnet': no such commit" in proc.stderr
    assert not (tmp_path / "r.json").exists()


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
        assert set(per) == set(run["peers"]), scenario
        for entry in per.values():
            assert entry["n"] == REPEATS and entry["min"] <= entry["value"] <= entry["max"]
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


# A stand-in server that dies while the runner has it paused between two
# scenarios: it echoes until its first client goes away, then a watcher
# process it forks waits for it to be stopped (SIGSTOP: paused until its next
# turn) and kills it, so the runner finds it already gone when it reads its
# CPU time in the next scenario.
_DYING_SERVER = """
import os, selectors, signal, socket, sys, time

srv = socket.socket()
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)
print("PORT", srv.getsockname()[1], flush=True)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
watched = False
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            conn, _ = srv.accept()
            sel.register(conn, selectors.EVENT_READ)
            continue
        try:
            data = key.fileobj.recv(65536)
        except OSError:  # the load generator may reset a connection it is done with
            data = b""
        if data:
            key.fileobj.sendall(data)
            continue
        pid = os.getpid()
        # Once its first scenario is over, a watcher kills it the next time
        # the runner pauses it (SIGSTOP) between two scenarios.
        if not watched and os.fork() == 0:
            srv.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "T":
                        break
                time.sleep(0.002)
            sys.stderr.write("dying server: killed while paused\\n")
            sys.stderr.flush()
            os.kill(pid, signal.SIGKILL)
            os._exit(0)
        watched = True
        sel.unregister(key.fileobj)
        key.fileobj.close()
"""


@pytest.mark.timeout(30)
def test_a_server_that_dies_mid_round_is_that_servers_failure(tmp_path: Path) -> None:
    """A server gone between two scenarios fails the rest of its round; the others go on."""
    import dataclasses
    import io

    sys.path.insert(0, str(REPO))
    try:
        from benchmarks import harness, run
    finally:
        sys.path.remove(str(REPO))

    script = tmp_path / "dying_server.py"
    script.write_text(_DYING_SERVER)
    dying = harness.ServerSpec("smoke-dying", "dying server", "python", (str(script),))
    # The C reference without --spin: nothing is pinned here, it need not take a core.
    c = dataclasses.replace(next(s for s in harness.SERVERS if s.key == "c"), args=())
    timed = [harness.Scenario(f"pingpong-{i}", f"Ping-pong {i}", "pingpong", 1, 64,
                              unit="round trips/s") for i in (1, 2, 3, 4)]
    settings = harness.Settings(duration=0.05, warmup=0.05, repeats=1, server_cpu=None,
                                client_cpu=None, attempts=1, quiet_wait=0)
    log = io.StringIO()
    runs = run.run_round([dying, c], 0, settings, harness.build("loadgen"),
                         harness.build("echo_c"), timed, [], run.Progress(8, log))

    results = {(r["server"], r["scenario"]): r for r in runs}
    assert len(results) == len(runs) == 8, log.getvalue()
    # Before it died: measured as usual (at least its first scenario; on a
    # busy machine the watcher may miss the first pause and take the next).
    mine = [results[("smoke-dying", sc.key)] for sc in timed]
    died = next((i for i, r in enumerate(mine) if "error" in r), None)
    assert died is not None and died >= 1, log.getvalue()
    assert all(r["ops"] > 0 for r in mine[:died]), log.getvalue()
    # The scenario it died in: its failure, with how it ended and its log's tail...
    error = mine[died]["error"]
    assert "dying server exited with status -9" in error, log.getvalue()
    assert "killed while paused" in error
    # ...and the rest of its round skipped as dead.
    assert all(r["error"].startswith("dying server died: ") for r in mine[died + 1:]), \
        log.getvalue()
    # The other server ran every scenario.
    for sc in timed:
        assert "error" not in results[("c", sc.key)], results[("c", sc.key)]
        assert results[("c", sc.key)]["ops"] > 0
