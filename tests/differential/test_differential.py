"""gnet against Node.js on random operation sequences: the same trace, per socket.

A fixed set of seeds names a few hundred cases (runner.generate); each case
runs on a fresh connected loopback pair in Node (driver.js) and in gnet
(driver.py), and the two traces of each socket are compared after the
normalisation of README.md. Then:

* a case that diverges is run again, and also with the triggers of every
  known divergence that applies removed (known.py). A divergence that does
  not come back in the rerun is timing noise (counted, and bounded); one
  that stays after the known triggers were removed is a new divergence and
  fails the test with both traces;
* every known divergence's minimal case runs too: one that no longer
  diverges has been fixed, and the test fails until its entry is removed.

Both drivers run their cases side by side (``PARALLEL`` at a time), one
process each, so Node's and Python's start-up is paid once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import pytest
from known import KNOWN, Known, explain, masks
from runner import compare, generate, run_both, show

pytestmark = [pytest.mark.once, pytest.mark.node]

SEEDS = range(400)
PARALLEL = 10
# Divergences that vanish on a rerun, as a share of the cases: more than this
# means the waits no longer cover the machine's latency.
MAX_NOISE = 0.02


def _diff(node_res: dict[str, Any], py_res: dict[str, Any], key: str,
          used: Sequence[Known] = ()) -> dict[str, list[str]]:
    return compare(node_res[key], py_res[key], masks(list(used)))


@pytest.mark.timeout(300)
def test_gnet_traces_match_node(node: str, record_property: Any) -> None:
    start = time.monotonic()
    cases = [generate(seed) for seed in SEEDS]
    minimal = [{**known.minimal, "id": f"known:{known.name}:{run}"}
               for known in KNOWN for run in range(2)]
    node_res, py_res = run_both(cases + minimal, node=node, python=sys.executable,
                                parallel=PARALLEL)

    fixed = [known.name for known in KNOWN
             if not any(_diff(node_res, py_res, f"known:{known.name}:{run}") for run in range(2))]

    diverged = [case for case in cases if _diff(node_res, py_res, case["id"])]
    second: list[dict[str, Any]] = []
    cleared: dict[str, tuple[dict[str, Any], list[Any]]] = {}
    for case in diverged:
        second.append({**case, "id": f"again:{case['id']}"})
        clear, used = explain(case)
        cleared[case["id"]] = (clear, used)
        second.append({**clear, "id": f"clear:{case['id']}"})
    node2, py2 = run_both(second, node=node, python=sys.executable, parallel=PARALLEL)

    noise: list[str] = []
    explained: dict[str, int] = {known.name: 0 for known in KNOWN}
    new: list[str] = []
    for case in diverged:
        key = case["id"]
        if not _diff(node2, py2, f"again:{key}"):
            noise.append(key)
            continue
        clear, used = cleared[key]
        left = _diff(node2, py2, f"clear:{key}", used)
        if not used or left:
            new.append(
                f"case {key} (reproduce and shrink: python tests/differential/runner.py "
                f"--seeds {key} --shrink) diverges in {_diff(node_res, py_res, key)}"
                + (f"; without the known triggers ({', '.join(k.name for k in used)}) "
                   f"still in {left}" if used else "")
                + "\n" + show(case, node_res[key], py_res[key])
                + ("\n-- without the known triggers:\n"
                   + show(clear, node2[f'clear:{key}'], py2[f'clear:{key}']) if used else "")
            )
            continue
        for known in used:
            explained[known.name] += 1

    took = round(time.monotonic() - start, 1)
    figures = {"cases": len(cases), "diverged": len(diverged), "noise": len(noise),
               "new": len(new), "seconds": took,
               **{f"applied:{name}": n for name, n in explained.items()}}
    for key, value in figures.items():
        record_property(key, value)
    print(f"\ndifferential: {figures}")

    problems = []
    if fixed:
        problems.append("known divergences that no longer diverge (remove them from "
                        f"tests/differential/known.py and docs/differences.md): {fixed}")
    if len(noise) > MAX_NOISE * len(cases):
        problems.append(f"{len(noise)} divergences vanished on a rerun (timing noise): "
                        f"{noise}")
    problems += new
    assert not problems, "\n\n".join(problems)
