"""Generate op lists, run them through both drivers, compare and shrink the traces.

The differential tester's engine, used by test_differential.py and from the
command line (``python tests/differential/runner.py --help``):

* :func:`generate` makes a case from a seed (``random.Random(seed)``, so a
  seed names the same case on every machine and Python version);
* :func:`run_both` runs a batch of cases through driver.js (Node) and
  driver.py (gnet) at once, each driver in one process that runs
  ``parallel`` cases side by side;
* :func:`compare` says where two traces of one socket differ, after the
  normalisation described in README.md (what timing may move is not compared);
* :func:`shrink` removes ops and options while the divergence stays, and
  returns a minimal case.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVER_JS = HERE / "driver.js"
DRIVER_PY = HERE / "driver.py"

# Between two segments. Long enough for every consequence of a segment's ops
# (a FIN crossing loopback and the 'end', 'finish', 'close' it causes, a
# megabyte moving) to have happened on a loaded 2-core machine.
WAIT_MS = 150
# An idle timeout fires this long after the last activity: well inside a
# segment, so 'timeout' is counted in the segment it belongs to.
TIMEOUT_MS = 50
HIGH_WATER_MARKS = [0, 1, 1024, 16384, 65536]
# Write sizes, weighted towards the small. A loopback connection's kernel
# buffers hold about 4 MB, and each direction carries at most MAX_TOTAL, so
# the kernel takes every write whole, paused peer or not: what the sender sees
# never depends on how fast the peer reads.
SIZES = [0, 1, 5, 100, 1000, 1023, 1024, 1025, 4000, 16384, 65536, 65537, 300_000, 1 << 20]
SIZE_WEIGHTS = [4, 6, 6, 6, 5, 2, 2, 2, 4, 3, 3, 2, 2, 1]
MAX_TOTAL = 1_500_000
KINDS = ["buf", "str", "utf8", "latin1", "hex"]
KIND_WEIGHTS = [5, 2, 1, 1, 1]
ENCODINGS = ["utf8", "hex", "latin1", "base64"]
OPS = {
    "write": 30, "end": 7, "cork": 4, "uncork": 4, "pause": 5, "resume": 6,
    "setEncoding": 3, "setTimeout": 3, "destroy": 3, "destroySoon": 2,
    "resetAndDestroy": 2, "wait": 22,
}


def generate(seed: int) -> dict[str, Any]:
    """The case that ``seed`` names: options for both ends and an op list."""
    rnd = random.Random(seed)
    opts = {
        "server": {
            "allowHalfOpen": rnd.random() < 0.4,
            "pauseOnConnect": rnd.random() < 0.15,
            "highWaterMark": rnd.choice(HIGH_WATER_MARKS[1:]) if rnd.random() > 0.05 else 0,
        },
        "client": {
            "allowHalfOpen": rnd.random() < 0.4,
            "highWaterMark": rnd.choice(HIGH_WATER_MARKS[1:]) if rnd.random() > 0.05 else 0,
        },
    }
    names = list(OPS)
    weights = list(OPS.values())
    total = {"c": 0, "s": 0}
    ops: list[list[Any]] = []
    for _ in range(rnd.randint(3, 12)):
        name = rnd.choices(names, weights)[0]
        side = rnd.choice("cs")
        if name == "wait":
            if ops and ops[-1][0] != "wait":
                ops.append(["wait", WAIT_MS])
            continue
        if name in ("write", "end"):
            data = name == "write" or rnd.random() < 0.4
            n: int | None = None
            if data:
                n = rnd.choices(SIZES, SIZE_WEIGHTS)[0]
                if total[side] + n > MAX_TOTAL:
                    n = rnd.choice(SIZES[:5])
                total[side] += n
            kind = rnd.choices(KINDS, KIND_WEIGHTS)[0]
            ops.append([name, side, n, kind, rnd.random() < 0.7])
        elif name == "setEncoding":
            ops.append([name, side, rnd.choice(ENCODINGS)])
        elif name == "setTimeout":
            ops.append([name, side, rnd.choice([0, TIMEOUT_MS, TIMEOUT_MS])])
        elif name == "destroy":
            ops.append([name, side, rnd.random() < 0.5])
        else:
            ops.append([name, side])
    while ops and ops[-1][0] == "wait":
        ops.pop()
    return {"id": str(seed), "opts": opts, "ops": ops}


# --- running ---------------------------------------------------------------------


def _start(argv: list[str], cases: list[dict[str, Any]], parallel: int,
           cwd: Path) -> tuple[subprocess.Popen[bytes], Any, Any]:
    # Files, not pipes: a driver's output can exceed a pipe's buffer while the
    # other driver is being waited for. _collect() closes them.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    err = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=cwd)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"cases": cases, "parallel": parallel}).encode())
    proc.stdin.close()
    return proc, out, err


def _collect(name: str, started: tuple[subprocess.Popen[bytes], Any, Any],
             deadline: float) -> dict[str, Any]:
    proc, out, err = started
    try:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{name} driver still running at the deadline") from None
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        errors = err.read().decode(errors="replace")
    finally:
        out.close()
        err.close()
    results: dict[str, Any] = {}
    for line in text.splitlines():
        if line.strip():
            result = json.loads(line)
            results[result["id"]] = result
    if proc.returncode != 0:
        raise RuntimeError(f"{name} driver exited {proc.returncode} after "
                           f"{len(results)} cases; stderr:\n{errors[-4000:]}")
    return results


def run_both(cases: list[dict[str, Any]], *, node: str = "node", python: str = sys.executable,
             parallel: int = 10, timeout: float = 240.0
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``cases`` through both drivers at once; return (node results, gnet results) by id."""
    deadline = time.monotonic() + timeout
    node_run = _start([node, str(DRIVER_JS)], cases, parallel, HERE)
    try:
        py_run = _start([python, str(DRIVER_PY)], cases, parallel, HERE)
    except BaseException:
        node_run[0].kill()
        node_run[0].wait()
        node_run[1].close()
        node_run[2].close()
        raise
    try:
        node_results = _collect("node", node_run, deadline)
    finally:
        py_results = _collect("gnet", py_run, deadline)
    return node_results, py_results


# --- comparing ----------------------------------------------------------------------


def normalise(trace: dict[str, Any]) -> dict[str, Any]:
    """What of one socket's trace is compared (see README.md).

    bytesRead of a socket still paused at the end is not compared. 'timeout'
    leaves the segments and is counted over the whole case: when it fires
    depends on the last activity, which a loaded machine may push by a few
    milliseconds past a segment's end, but how many idle periods there were
    does not move.
    """
    tx = [[event for event in seg if event[0] != "timeout"] for seg in trace["tx"]]
    timeouts = sum(1 for seg in trace["tx"] for event in seg if event[0] == "timeout")
    final = dict(trace["final"])
    if final.get("paused"):
        # A paused socket reads until its buffer reaches highWaterMark: how far
        # past the mark the last read went depends on how the kernel cut the
        # stream (Nagle, timing), not on the implementation.
        final["bytesRead"] = None
    return {"ops": trace["ops"], "tx": tx, "timeouts": timeouts, "rx": trace["rx"],
            "final": final}


def compare(node: dict[str, Any], gnet: dict[str, Any],
            masks: Iterable[Callable[[dict[str, Any]], None]] = ()) -> dict[str, list[str]]:
    """For each side ('c', 's') whose traces differ, the fields that differ.

    Each of ``masks`` blanks, in place, a part of a normalised trace that a
    known divergence makes incomparable (known.py); it is applied to both.
    """
    diffs: dict[str, list[str]] = {}
    if "failed" in node or "failed" in gnet:
        return {"setup": [f"node: {node.get('failed')}, gnet: {gnet.get('failed')}"]}
    for side in ("c", "s"):
        a, b = normalise(node[side]), normalise(gnet[side])
        for mask in masks:
            mask(a)
            mask(b)
        fields = []
        for key in a:
            if key == "final":
                fields += [f"final.{k}" for k in a[key] if a[key][k] != b[key].get(k)]
            elif a[key] != b[key]:
                fields.append(key)
        if fields:
            diffs[side] = fields
    return diffs


def show(case: dict[str, Any], node: dict[str, Any] | None = None,
         gnet: dict[str, Any] | None = None) -> str:
    """A case and (when given) both traces, side by side per socket, for a report."""
    lines = [f"opts: {json.dumps(case['opts'])}", f"ops:  {json.dumps(case['ops'])}"]
    if node is not None and gnet is not None:
        if "failed" in node or "failed" in gnet:
            lines.append(f"node: {node.get('failed')}  gnet: {gnet.get('failed')}")
            return "\n".join(lines)
        for side in ("c", "s"):
            a, b = normalise(node[side]), normalise(gnet[side])
            for key in a:
                mark = "  " if a[key] == b[key] else "!="
                lines.append(f"{mark} {side}.{key:<8} node: {json.dumps(a[key])}")
                if a[key] != b[key]:
                    lines.append(f"   {side}.{key:<8} gnet: {json.dumps(b[key])}")
    return "\n".join(lines)


# --- shrinking ----------------------------------------------------------------------


def _candidates(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Each case one step simpler than ``case``: an op fewer, an option at its default."""
    out = []
    ops = case["ops"]
    for i in range(len(ops)):
        rest = ops[:i] + ops[i + 1:]
        out.append({**case, "ops": rest})
    for i, op in enumerate(ops):
        if op[0] in ("write", "end") and op[2] not in (None, 0, 1):
            out.append({**case, "ops": [*ops[:i], [*op[:2], 1, *op[3:]], *ops[i + 1:]]})
        if op[0] in ("write", "end") and op[3] != "buf":
            out.append({**case, "ops": [*ops[:i], [*op[:3], "buf", op[4]], *ops[i + 1:]]})
    defaults = {"allowHalfOpen": False, "pauseOnConnect": False, "highWaterMark": 65536}
    for end in ("server", "client"):
        for key, value in case["opts"][end].items():
            if value != defaults[key]:
                opts = {**case["opts"], end: {**case["opts"][end], key: defaults[key]}}
                out.append({**case, "opts": opts})
    return out


def shrink(case: dict[str, Any], *, node: str = "node", python: str = sys.executable,
           keep: set[str] | None = None, rounds: int = 40) -> dict[str, Any]:
    """A minimal case that still diverges like ``case`` (in the fields of ``keep``).

    Every candidate of a round runs in one batch; a candidate counts only if
    it diverges in all three runs of it, so timing noise cannot shrink
    towards a case that diverges only by luck.
    """
    for _ in range(rounds):
        candidates = _candidates(case)
        if not candidates:
            break
        batch = []
        for j, cand in enumerate(candidates):
            for run in range(3):
                batch.append({**cand, "id": f"{j}.{run}"})
        node_res, py_res = run_both(batch, node=node, python=python, parallel=12)
        for j, cand in enumerate(candidates):
            verdicts = []
            for run in range(3):
                key = f"{j}.{run}"
                diff = compare(node_res[key], py_res[key])
                fields = {f"{side}.{f}" for side, fs in diff.items() for f in fs}
                verdicts.append(bool(fields) and (keep is None or bool(fields & keep)))
            if all(verdicts):
                case = {**cand, "id": case["id"]}
                break
        else:
            break
    return case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-99", help="a range a-b or a list a,b,c")
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--shrink", action="store_true", help="shrink every divergence")
    parser.add_argument("--case", help="a JSON case (opts and ops) to run instead of seeds")
    parser.add_argument("--repeat", type=int, default=1, help="run each case this many times")
    parser.add_argument("--new", action="store_true",
                        help="print only divergences that known.py does not explain")
    args = parser.parse_args(argv)
    if args.case:
        cases = [{"id": "case", **json.loads(args.case)}]
    elif "-" in args.seeds:
        low, high = (int(x) for x in args.seeds.split("-"))
        cases = [generate(seed) for seed in range(low, high + 1)]
    else:
        cases = [generate(int(x)) for x in args.seeds.split(",")]
    batch = [{**case, "id": f"{case['id']}#{r}"} for case in cases for r in range(args.repeat)]
    start = time.monotonic()
    node_res, py_res = run_both(batch, parallel=args.parallel)
    took = time.monotonic() - start
    diverged = 0
    if args.new:
        from known import explain, masks  # known.py imports nothing from here

        cleared = {case["id"]: explain(case) for case in batch
                   if compare(node_res[case["id"]], py_res[case["id"]])}
        diverged = len(cleared)
        again = [{**clear, "id": key} for key, (clear, _used) in cleared.items()]
        node_res, py_res = run_both(again, parallel=args.parallel)
        batch = [case for case in again
                 if compare(node_res[case["id"]], py_res[case["id"]],
                            masks(cleared[case["id"]][1]))]
    for case in batch:
        diff = compare(node_res[case["id"]], py_res[case["id"]])
        if not diff and not args.case:
            continue
        diverged += bool(diff) and not args.new
        print(f"== case {case['id']}: {diff}")
        print(show(case, node_res[case["id"]], py_res[case["id"]]))
        if args.shrink and diff:
            keep = {f"{side}.{f}" for side, fs in diff.items() for f in fs}
            small = shrink({**case, "id": "shrunk"}, keep=keep)
            again = run_both([small])
            print("-- shrunk to:")
            print(show(small, again[0]["shrunk"], again[1]["shrunk"]))
    print(f"{len(cases) * args.repeat} cases, {diverged} diverged"
          + (f", {len(batch)} not explained by known.py" if args.new else "")
          + f", {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
