"""The baseline peer: an older commit of gnet measured beside this one, in the same run.

``python -m benchmarks --baseline-ref 8fcb718`` exports that commit's
``gnet`` package (``git archive``, which leaves the repository and its
work tree alone) into a temporary directory and adds a peer
``gnet@<commit>``: the same server script (``servers/gnet_echo.py``) with
``PYTHONPATH`` pointing at the exported tree, so ``import gnet`` takes the
old code. The runner measures it in every round and scenario right beside
gnet, Node and the others (see ``run.py``), and deletes the tree when the
run ends.

Why in the same run: on a shared or virtual machine the same server's
figure moves by tens of percent between runs, so a figure compared with
last week's report says little. Measured a few seconds apart, in rounds
that alternate the order, both versions meet the same noise, and the
ratio of their figures *in each round* is far steadier than either
figure. ``paired()`` computes those per-round ratios; the report gives
their median and range beside each peer's own run-to-run spread.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import HERE, BenchError, ServerSpec, server_env

REPO = HERE.parent


def resolve(ref: str) -> tuple[str, str]:
    """The full commit hash a ref names, and that commit's subject line.

    Raises:
        BenchError: not a git checkout, or the ref names no commit.
    """
    proc = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--verify', '--quiet',
                           f'{ref}^{{commit}}'], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BenchError(f'--baseline-ref {ref!r}: no such commit in {REPO} '
                         f'({proc.stderr.strip() or "git rev-parse found nothing"})')
    sha = proc.stdout.strip()
    subject = subprocess.run(['git', '-C', str(REPO), 'log', '-1', '--format=%s', sha],
                             capture_output=True, text=True).stdout.strip()
    return sha, subject


def export(sha: str, dest: Path) -> None:
    """Write commit ``sha``'s ``gnet/`` package into ``dest`` (``git archive``).

    Raises:
        BenchError: git failed, or that commit has no ``gnet/__init__.py``.
    """
    with tempfile.TemporaryFile() as tar:
        proc = subprocess.run(['git', '-C', str(REPO), 'archive', '--format=tar', sha, 'gnet'],
                              stdout=tar, stderr=subprocess.PIPE, text=False)
        if proc.returncode != 0:
            raise BenchError(f'git archive {sha[:12]} gnet failed: '
                             f'{proc.stderr.decode(errors="replace").strip()}')
        tar.seek(0)
        with tarfile.open(fileobj=tar) as archive:
            archive.extractall(dest, filter='data')
    if not (dest / 'gnet' / '__init__.py').is_file():
        raise BenchError(f'commit {sha[:12]} has no gnet/__init__.py')


def check_import(spec: ServerSpec, python: str) -> str:
    """Prove that a server started for ``spec`` imports the exported gnet.

    Runs the interpreter with the server's environment and working
    directory and asks where ``gnet`` comes from: if anything (a
    ``PYTHONPATH`` of the caller's, an install) shadowed the exported tree,
    the comparison would measure the same code twice.

    Returns:
        The path of the ``gnet/__init__.py`` imported.

    Raises:
        BenchError: it came from elsewhere, or the import failed.
    """
    assert spec.pythonpath is not None
    proc = subprocess.run([python, '-c', 'import gnet; print(gnet.__file__)'],
                          capture_output=True, text=True, cwd=str(HERE), env=server_env(spec),
                          timeout=60)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ['(no output)']
        raise BenchError(f'{spec.label}: import gnet failed: {tail[0]}')
    where = Path(proc.stdout.strip()).resolve()
    if not where.is_relative_to(Path(spec.pythonpath).resolve()):
        raise BenchError(f'{spec.label}: import gnet took {where}, not the exported tree '
                         f'{spec.pythonpath}')
    return str(where)


def spec_for(sha: str, tree: Path) -> ServerSpec:
    """The baseline peer: gnet's echo server on the exported tree."""
    key = f'gnet@{sha[:7]}'
    return ServerSpec(key, key, 'python', ('gnet_echo.py',), ('gevent',),
                      pythonpath=str(tree), baseline=True)


@contextmanager
def baseline(ref: str, python: str) -> Iterator[tuple[ServerSpec, dict[str, Any]]]:
    """Export ``ref``'s gnet for the length of a run; yield its peer and what to report.

    The temporary tree is removed on the way out, whatever happened.
    """
    sha, subject = resolve(ref)
    tree = Path(tempfile.mkdtemp(prefix=f'gnet-{sha[:7]}-'))
    try:
        export(sha, tree)
        spec = spec_for(sha, tree)
        imported = check_import(spec, python)
        yield spec, {'ref': ref, 'commit': sha, 'subject': subject, 'key': spec.key,
                     'imported': imported}
    finally:
        shutil.rmtree(tree, ignore_errors=True)


# --------------------------------------------------------------------------
# Figures measured side by side

def cpu_us_per_op(run: dict[str, Any]) -> float | None:
    """The server's user + system CPU microseconds per operation in one measurement."""
    if not run.get('ops') or 'server_user_s' not in run:
        return None
    seconds = run.get('server_cpu_s')
    if seconds is None:  # measured in clock ticks only
        seconds = run['server_user_s'] + run['server_sys_s']
    return float(seconds / run['ops'] * 1e6)


def paired(runs: list[dict[str, Any]], scenario: str, key: str,
           ref_key: str) -> dict[str, Any] | None:
    """Per-round ratios of ``key``'s figures to ``ref_key``'s in one scenario.

    Only rounds where both measured (and the reference's figure is above
    zero) count. Returns the median, minimum and maximum of the ratios of
    the scenario's figure (``value``) and of server CPU per operation
    (``cpu``), with the number of rounds; None if no round had both.
    """
    def by_round(server: str) -> dict[int, dict[str, Any]]:
        return {r['round']: r for r in runs if r['scenario'] == scenario
                and r['server'] == server and 'error' not in r}

    mine, theirs = by_round(key), by_round(ref_key)
    value_ratios, cpu_ratios = [], []
    for rnd in sorted(set(mine) & set(theirs)):
        if theirs[rnd]['value']:
            value_ratios.append(mine[rnd]['value'] / theirs[rnd]['value'])
        a, b = cpu_us_per_op(mine[rnd]), cpu_us_per_op(theirs[rnd])
        if a is not None and b:
            cpu_ratios.append(a / b)
    if not value_ratios and not cpu_ratios:
        return None

    def stats(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}

    return {'rounds': max(len(value_ratios), len(cpu_ratios)),
            'value': stats(value_ratios), 'cpu': stats(cpu_ratios)}


def relative_spread(entry: dict[str, Any], what: str = 'value') -> float | None:
    """A peer's own run-to-run spread, (max - min) / median of its rounds.

    ``what`` is ``value`` (the scenario's figure) or ``cpu`` (server CPU
    per operation), as ``run.summarize`` keeps them.
    """
    median, low, high = ((entry.get('value'), entry.get('min'), entry.get('max'))
                         if what == 'value' else
                         (entry.get('cpu_us_per_op'), entry.get('cpu_min'), entry.get('cpu_max')))
    if not median or low is None or high is None:
        return None
    return float((high - low) / median)


def verdict(ratio: dict[str, float] | None, noise: float | None, higher_is_better: bool) -> str:
    """Whether a median ratio to the baseline lies within the run-to-run spread.

    ``noise`` is the larger of the two peers' own relative spreads (max -
    min over median of their rounds): a median ratio that is worse than 1
    by more than that is called worse; by less, within the spread. The
    per-round ratios' own range is in the report beside it.
    """
    if ratio is None:
        return 'n/a'
    noise = noise or 0.0
    median = ratio['median']
    worse = (1 - median) if higher_is_better else (median - 1)
    if worse > noise:
        return f'**worse** by {worse * 100:.0f}% (spread {noise * 100:.0f}%)'
    better = -worse
    if better > noise:
        return f'better by {better * 100:.0f}% (spread {noise * 100:.0f}%)'
    return f'within spread ({noise * 100:.0f}%)'
