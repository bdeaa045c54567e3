"""The multi-process benchmarks: gnet.cluster beside Node's ``cluster`` and one process.

```
python -m benchmarks.cluster_bench                 # every configuration, both scenarios
python -m benchmarks.cluster_bench --quick
python -m benchmarks --scenarios cluster       # the same, into the suite's report
```

Configurations: a single gnet process (``gnet_echo.py``) and a single Node
process (``node_echo.js``) as the baselines; gnet.cluster with 1 and 2
workers under each scheduling policy it has (``shared``: one listening
socket in every worker; ``reusePort``: a socket per worker; ``rr``: the
primary accepts and hands connections round-robin, where this gnet has
it); Node's cluster with 1 and 2 workers under ``rr`` (its default) and
``none`` (the shared socket). Scenarios: the connection rate (8 at a time:
connect, 64 B echo, close) and 64 B ping-pong on 50 connections, driven by
``loadgen.c``.

Pinning, on the suite's two cores: with one worker, the worker and the
primary run on core 1 and the load generator on core 0, as in the TCP
suite; with two, the workers run on cores 0 and 1 (the primary with the
second) and the load generator shares core 0 with the first. The load
generator therefore sleeps in epoll_wait (``--spin 0``) in every
configuration here, so that it does not take a core a worker needs. Each
process's threads are pinned once every worker listens.

Server CPU per operation counts every process of the server (primary and
workers). Scaling efficiency is rate(2 workers) / (2 x rate(1 worker)): 1.0
would be perfect; on two cores shared with the load generator it cannot
be, so the CPU per operation (which stays flat when nothing is lost to
contention) is the figure that tells how the design would scale on more
cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness
from benchmarks.harness import BenchError, Scenario, ServerProcess, ServerSpec, Settings


@dataclass(frozen=True)
class NoSpinScenario(Scenario):
    """A loadgen scenario whose generator sleeps in epoll_wait instead of busy-polling."""

    def loadgen_args(self) -> list[str]:
        return [*super().loadgen_args(), '--spin', '0']


SCENARIOS: tuple[Scenario, ...] = (
    NoSpinScenario('cluster-connrate', 'Connection rate: connect, 64 B echo, close; '
                   '8 in parallel', 'connrate', 8, 64, unit='connections/s'),
    NoSpinScenario('cluster-pingpong-50', 'Ping-pong, 64 B, 50 connections', 'pingpong',
                   50, 64, unit='round trips/s', latency=True),
)


@dataclass(frozen=True)
class Config:
    """One server set-up: which script, how many workers, which policy."""

    key: str
    label: str
    kind: str            # 'python' or 'node'
    script: str
    workers: int         # 0: a single process (no cluster)
    policy: str = ''
    family: str = ''     # 'gnet' or 'node': what it is compared with

    def argv(self, port: int, settings: Settings) -> list[str]:
        exe = settings.python if self.kind == 'python' else (settings.node or 'node')
        args = [exe, str(harness.SERVERS_DIR / self.script), str(port)]
        if self.workers:
            args += [str(self.workers), self.policy]
        return args

    def spec(self) -> ServerSpec:
        needs = ('gnet', 'gevent') if self.kind == 'python' else ()
        return ServerSpec(f'cluster-{self.key}', self.label, self.kind, (self.script,), needs)


CONFIGS: tuple[Config, ...] = (
    Config('gnet-single', 'gnet, one process', 'python', 'gnet_echo.py', 0, family='gnet'),
    Config('gnet-shared-1', 'gnet.cluster shared, 1 worker', 'python', 'cluster_gnet_echo.py',
           1, 'shared', 'gnet'),
    Config('gnet-shared-2', 'gnet.cluster shared, 2 workers', 'python',
           'cluster_gnet_echo.py', 2, 'shared', 'gnet'),
    Config('gnet-reuseport-1', 'gnet.cluster reusePort, 1 worker', 'python',
           'cluster_gnet_echo.py', 1, 'reusePort', 'gnet'),
    Config('gnet-reuseport-2', 'gnet.cluster reusePort, 2 workers', 'python',
           'cluster_gnet_echo.py', 2, 'reusePort', 'gnet'),
    Config('gnet-rr-1', 'gnet.cluster rr, 1 worker', 'python', 'cluster_gnet_echo.py', 1,
           'rr', 'gnet'),
    Config('gnet-rr-2', 'gnet.cluster rr, 2 workers', 'python', 'cluster_gnet_echo.py', 2,
           'rr', 'gnet'),
    Config('node-single', 'Node, one process', 'node', 'node_echo.js', 0, family='node'),
    Config('node-rr-1', 'Node cluster rr, 1 worker', 'node', 'cluster_node_echo.js', 1, 'rr',
           'node'),
    Config('node-rr-2', 'Node cluster rr, 2 workers', 'node', 'cluster_node_echo.js', 2, 'rr',
           'node'),
    Config('node-none-1', 'Node cluster none (shared), 1 worker', 'node',
           'cluster_node_echo.js', 1, 'none', 'node'),
    Config('node-none-2', 'Node cluster none (shared), 2 workers', 'node',
           'cluster_node_echo.js', 2, 'none', 'node'),
)


def config_keys(suite_keys: list[str]) -> list[str]:
    """The configurations matching the TCP suite's ``--servers`` (gnet, node)."""
    return [c.key for c in CONFIGS if c.family in suite_keys]


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/*/stat."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children first, each level sorted by pid)."""
    kids = _children()
    out, level = [], [pid]
    while level:
        nxt = sorted(c for p in level for c in kids.get(p, []))
        out += nxt
        level = nxt
    return out


def pin_process(pid: int, cpus: set[int]) -> None:
    """Pin every thread of ``pid`` to ``cpus`` (threads made later inherit it)."""
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


class ClusterProcess(ServerProcess):
    """A server made of several processes: CPU time is the sum over the tree."""

    def __init__(self, config: Config, port: int, settings: Settings) -> None:
        super().__init__(config.spec(), config.argv(port, settings), None)
        self.config = config
        self.workers = [p for p in descendants(self.pid)
                        if p in _children().get(self.pid, [])]
        if config.workers and len(self.workers) < config.workers:
            self.stop()
            raise BenchError(f'{config.label}: {len(self.workers)} of {config.workers} '
                             'workers found')
        server_cpu = settings.server_cpu if settings.server_cpu is not None else 1
        client_cpu = settings.client_cpu if settings.client_cpu is not None else 0
        if settings.server_cpu is None:
            return
        pin_process(self.pid, {server_cpu})
        if config.workers == 2:
            cpus = [client_cpu, server_cpu]
        else:
            cpus = [server_cpu] * max(1, config.workers)
        for i, pid in enumerate(self.workers[:len(cpus)]):
            pin_process(pid, {cpus[i]})
            for sub in descendants(pid):
                pin_process(sub, {cpus[i]})

    def _tree(self) -> list[int]:
        return [self.pid, *descendants(self.pid)]

    def cpu(self) -> tuple[float, float]:
        user = system = 0.0
        for pid in self._tree():
            try:
                u, s = harness.proc_stat_cpu(pid)
            except OSError:
                continue
            user += u
            system += s
        return user, system

    def cpu_exact(self) -> float | None:
        total = 0.0
        for pid in self._tree():
            value = harness.proc_cpu_exact(pid)
            if value is None:
                return None
            total += value
        return total

    def stop(self) -> None:
        tree = descendants(self.pid) if self.alive() else []
        super().stop()
        deadline = time.monotonic() + 3
        for pid in tree:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def run(settings: Settings, config_keys: list[str] | None = None,
        scenario_keys: list[str] | None = None, log: Any = None) -> dict[str, Any]:
    """Run every configuration through every scenario, ``settings.repeats`` times.

    Returns:
        ``configs`` (what ran or why not), ``scenarios``, ``runs`` (raw) and
        ``summary``: per scenario and configuration the median figure, the
        server CPU per operation (all processes) and, for 2 workers, the
        scaling efficiency against 1 worker of the same policy.
    """
    from benchmarks import run as suite

    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    progress = suite.Progress(1)
    loadgen = harness.build('loadgen')
    configs = [c for c in CONFIGS if config_keys is None or c.key in config_keys]
    scenarios = [sc for sc in SCENARIOS if scenario_keys is None or sc.key in scenario_keys]
    skipped: dict[str, str] = {}
    for c in configs:
        why = c.spec().missing(settings.node)
        if why:
            skipped[c.key] = why
    runs: list[dict[str, Any]] = []
    for rnd in range(settings.repeats):
        order = configs if rnd % 2 == 0 else configs[::-1]
        for c in order:
            if c.key in skipped:
                continue
            try:
                server = ClusterProcess(c, free_port(), settings)
            except BenchError as exc:
                if c.policy == 'rr' and c.family == 'gnet':
                    skipped[c.key] = f'not available in this gnet: {str(exc)[-120:]}'
                    log(f'cluster: {c.label}: skipped ({skipped[c.key]})')
                else:
                    for sc in scenarios:
                        runs.append({'round': rnd, 'config': c.key, 'scenario': sc.key,
                                     'error': str(exc)})
                    log(f'cluster: {c.label}: FAILED to start: {exc}')
                continue
            try:
                time.sleep(0.2)  # let the workers finish starting before the load
                for sc in scenarios:
                    try:
                        result = suite.measure_undisturbed(loadgen, server, sc, settings,
                                                           progress, c.label)
                        cpu = result.get('server_cpu_s', result['server_user_s']
                                         + result['server_sys_s'])
                        result['cpu_us_per_op'] = cpu / result['ops'] * 1e6
                        runs.append({'round': rnd, 'config': c.key, 'scenario': sc.key,
                                     **result})
                        log(f'cluster round {rnd + 1}/{settings.repeats} {c.label:<40} '
                            f'{sc.key:<20} {result["value"]:>10,.0f} {sc.unit}  CPU '
                            f'{result["cpu_us_per_op"]:.1f} us/op  others on the cores '
                            f'{result.get("interference", 0):.0%}'
                            + (f' ({result["attempts"]} attempts)'
                               if result.get('attempts', 1) > 1 else ''))
                    except BenchError as exc:
                        runs.append({'round': rnd, 'config': c.key, 'scenario': sc.key,
                                     'error': str(exc)})
                        log(f'cluster: {c.label} {sc.key}: FAILED: {exc}')
            finally:
                server.stop()
    return {
        'configs': [{'key': c.key, 'label': c.label, 'workers': c.workers,
                     'policy': c.policy, 'family': c.family, 'skipped': skipped.get(c.key)}
                    for c in configs],
        'scenarios': [{'key': sc.key, 'title': sc.title, 'unit': sc.unit} for sc in scenarios],
        'runs': runs,
        'summary': summarize(runs, configs, scenarios),
    }


def summarize(runs: list[dict[str, Any]], configs: list[Config],
              scenarios: list[Scenario]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for sc in scenarios:
        per: dict[str, Any] = {}
        for c in configs:
            rows = [r for r in runs if r['scenario'] == sc.key and r['config'] == c.key]
            good = [r for r in rows if 'error' not in r]
            if not good:
                if rows:
                    per[c.key] = {'error': rows[-1]['error']}
                continue
            values = [r['value'] for r in good]
            per[c.key] = {
                'value': statistics.median(values), 'min': min(values), 'max': max(values),
                'cpu_us_per_op': statistics.median(r['cpu_us_per_op'] for r in good),
                'server_cores': statistics.median(
                    (r['server_user_s'] + r['server_sys_s']) / r['elapsed'] for r in good),
                'interference': statistics.median(r.get('interference', 0.0) for r in good),
                'errors': sum(r.get('errors', 0) for r in good),
                'byte_errors': sum(r.get('byte_errors', 0) for r in good),
            }
            if sc.latency:
                per[c.key]['p99_us'] = statistics.median(r['p99_us'] for r in good)
        for c in configs:
            entry = per.get(c.key)
            if not entry or 'value' not in entry:
                continue
            single = per.get(f'{c.family}-single', {}).get('value')
            entry['vs_single'] = entry['value'] / single if single else None
            node_twin = ('node-' + c.key.split('-', 1)[1]).replace('shared', 'none').replace(
                'reuseport', 'none')
            node = per.get(node_twin, {}).get('value') if c.family == 'gnet' else None
            entry['vs_node'] = entry['value'] / node if node else None
            if c.workers == 2:
                one = per.get(c.key[:-1] + '1', {}).get('value')
                entry['efficiency'] = entry['value'] / (2 * one) if one else None
        summary[sc.key] = per
    return summary


# --------------------------------------------------------------------------
# Report

SCALING_TEXT = """\
### How the design scales past two cores

What the figures above rest on, and what they say about machines with more
cores than these two:

- **Shared socket (gnet's default, Node's `SCHED_NONE`)**: one listening
  socket, one accept queue, every worker waiting on it in its own epoll
  set. gevent's loop (libev) registers the socket without EPOLLEXCLUSIVE,
  so each new connection wakes every idle worker and all but one find
  accept() empty (EAGAIN): the wasted wake-ups grow with the number of
  workers, and the queue's lock is taken by every accept. On a
  connection-rate load this is the cost that grows as cores are added
  (the CPU per connection of 2 workers against 1 below is its measure on
  two cores); on long connections (ping-pong, bulk) accepts are rare and it
  costs nothing. The balance is the kernel's and the workers' own: a busy
  worker is not waiting, so the idle ones take the queue, and a worker
  that dies loses nothing queued.
- **reusePort**: a socket and an accept queue per worker; the kernel hashes
  each new connection (source address and port) to one queue, so there is
  no shared lock and accepts scale with cores. The hash ignores load: a
  worker stuck on a slow request keeps receiving its share, and connections
  queued on a worker that exits are reset (unless
  `net.ipv4.tcp_migrate_req=1`), which a rolling restart must allow for.
- **Round-robin (Node's default, `SCHED_RR`)**: the primary alone accepts
  and passes every descriptor to a worker over its channel (SCM_RIGHTS).
  The spread is exactly even and a worker that dies loses nothing queued,
  but every connection costs the primary an accept, a sendmsg and the
  worker a recvmsg and a channel message; the primary is one process on one
  core, so the connection rate of the whole cluster is capped by what that
  one process can hand off, however many cores there are. For long-lived
  connections that cap is far away; for a connection-per-request load it is
  the first limit reached.

"""


def markdown(cl: dict[str, Any]) -> list[str]:
    """The multi-process section of docs/benchmarks.md, as lines."""
    from benchmarks.report import _table, fmt_ratio, fmt_value

    out = ['## Multi-process (gnet.cluster)', '',
           'From `python -m benchmarks --scenarios cluster` (`benchmarks/cluster_bench.py`, whose '
           'docstring says how the processes are pinned). With one worker, the server (primary '
           'and worker) has core 1 and the load generator core 0; with two, the workers have '
           'one core each and the load generator shares core 0 with the first, so two workers '
           'can never show twice the rate here. "x one process" compares with the single '
           'process of the same library; "x Node" with Node\'s cluster of the same worker '
           'count (Node\'s `none` for gnet\'s shared and reusePort, `rr` for rr; one process '
           'with Node\'s one process); '
           '"efficiency" is rate(2 workers) / (2 x rate(1 worker)); "server CPU us/op" sums '
           'every process of the server (primary included), and "server cores" is the CPU '
           'they used per second.', '']
    labels = {c['key']: c['label'] for c in cl['configs']}
    for sc in cl['scenarios']:
        per = cl['summary'].get(sc['key'], {})
        out += [f'### {sc["title"]}', '']
        rows = []
        for c in cl['configs']:
            entry = per.get(c['key'])
            if c['skipped'] or entry is None:
                continue
            if 'value' not in entry:
                rows.append([labels[c['key']], 'failed: ' + entry['error'][:60].replace(
                    '|', '/'), '', '', '', '', '', ''])
                continue
            name = labels[c['key']]
            rows.append([f'**{name}**' if c['family'] == 'gnet' else name,
                         fmt_value(entry['value'], sc['unit']),
                         fmt_ratio(entry.get('vs_single')), fmt_ratio(entry.get('vs_node')),
                         fmt_ratio(entry.get('efficiency')) if 'efficiency' in entry else '',
                         f'{entry["cpu_us_per_op"]:.1f}', f'{entry["server_cores"]:.2f}',
                         f'{entry["interference"]:.0%}'])
        out += _table(['Server', sc['unit'], 'x one process', 'x Node', 'efficiency',
                       'server CPU us/op', 'server cores', 'others on the cores'], rows,
                      'lrrrrrrr')
        out.append('')
    skipped = [f'{labels[c["key"]]} ({c["skipped"]})' for c in cl['configs'] if c['skipped']]
    if skipped:
        out += ['Skipped: ' + '; '.join(skipped) + '.', '']
    out += SCALING_TEXT.splitlines()
    out += scaling_figures(cl)
    out.append('')
    return out


def scaling_figures(cl: dict[str, Any]) -> list[str]:
    """The measured figures the scaling notes rest on, one sentence each."""
    out = []
    summary = cl['summary']
    conn = summary.get('cluster-connrate', {})

    def fig(key: str, field: str = 'value') -> float | None:
        return conn.get(key, {}).get(field)

    lines = []
    for policy, label in (('shared', 'shared socket'), ('reuseport', 'reusePort'),
                          ('rr', 'round-robin')):
        one, two = fig(f'gnet-{policy}-1', 'cpu_us_per_op'), fig(f'gnet-{policy}-2',
                                                                 'cpu_us_per_op')
        eff = conn.get(f'gnet-{policy}-2', {}).get('efficiency')
        if one and two:
            lines.append(f'gnet {label}: server CPU per connection {one:.1f} us with 1 worker, '
                         f'{two:.1f} us with 2 ({(two / one - 1) * 100:+.0f}%); 2-worker '
                         f'efficiency {fmt(eff)}.')
    for policy, label in (('rr', 'rr'), ('none', 'none (shared socket)')):
        n1, n2 = fig(f'node-{policy}-1', 'cpu_us_per_op'), fig(f'node-{policy}-2',
                                                              'cpu_us_per_op')
        if n1 and n2:
            lines.append(f'Node {label}: {n1:.1f} us per connection with 1 worker, {n2:.1f} us '
                         f'with 2 (primary included); 2-worker efficiency '
                         f'{fmt(conn.get(f"node-{policy}-2", {}).get("efficiency"))}.')
    rr, shared = fig('gnet-rr-1', 'cpu_us_per_op'), fig('gnet-shared-1', 'cpu_us_per_op')
    if rr and shared:
        lines.append(f'gnet round-robin costs {rr / shared:.1f}x the shared socket\'s CPU per '
                     'connection with 1 worker (the hand-off through the primary).')
    single = fig('gnet-single', 'cpu_us_per_op')
    if single and shared:
        lines.append(f'One gnet process: {single:.1f} us per connection; the one worker of a '
                     f'shared-socket cluster, running the same code: {shared:.1f} us '
                     f'({(shared / single - 1) * 100:+.0f}%).')
    if lines:
        out += ['Measured in this run (connection-rate scenario):', '']
        out += [f'- {line}' for line in lines]
    return out


def fmt(value: float | None) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def console(cl: dict[str, Any]) -> str:
    lines = ['', 'multi-process: median figure, x one process, x Node, efficiency, CPU us/op:']
    labels = {c['key']: c['label'] for c in cl['configs']}
    for sc in cl['scenarios']:
        lines.append(f'  {sc["title"]} [{sc["unit"]}]')
        for key, e in cl['summary'].get(sc['key'], {}).items():
            if 'value' not in e:
                lines.append(f'    {labels[key]:<42} failed')
                continue
            lines.append(f'    {labels[key]:<42} {e["value"]:>10,.0f}  '
                         f'{fmt(e.get("vs_single")):>5}  {fmt(e.get("vs_node")):>5}  '
                         f'{fmt(e.get("efficiency")) if "efficiency" in e else "":>5}  '
                         f'{e["cpu_us_per_op"]:.1f}')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m benchmarks.cluster_bench',
                                description=__doc__.split('\n')[0])
    p.add_argument('--configs', help='comma-separated subset of: '
                   + ', '.join(c.key for c in CONFIGS))
    p.add_argument('--scenarios', help='comma-separated subset of: '
                   + ', '.join(sc.key for sc in SCENARIOS))
    harness.add_settings_options(p, '0.4 s per measurement, 1 round')
    p.add_argument('--json', type=Path, default=harness.BUILD_DIR / 'cluster_results.json')
    p.add_argument('--md', type=Path, default=harness.BUILD_DIR / 'cluster_report.md')
    args = p.parse_args(argv)
    settings = harness.settings_from_options(args)
    harness.raise_nofile_limit()
    if len(os.sched_getaffinity(0)) < 2:
        settings.server_cpu = settings.client_cpu = None
    configs = args.configs.split(',') if args.configs else None
    scenarios = args.scenarios.split(',') if args.scenarios else None
    cl = run(settings, configs, scenarios)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(cl, indent=1))
    args.md.write_text('\n'.join(markdown(cl)))
    print(console(cl))
    print(f'\nwrote {args.json} and {args.md}')
    return 1 if any(r.get('byte_errors') for r in cl['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())

