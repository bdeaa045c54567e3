"""Run gnet's benchmark suite: every server, every scenario, one command.

::

    python -m benchmarks            # the full run (a few minutes)
    python -m benchmarks --quick    # a short one
    python benchmarks/run.py --servers gnet,node,gevent --scenarios pingpong-50
    python -m benchmarks --baseline-ref 8fcb718   # also that commit's gnet
    python -m benchmarks --scenarios chat,latency # only the chat workload and latency tails
    python -m benchmarks --scenarios tls,cluster  # only TLS and the multi-process scenarios

Each round starts every server afresh and measures its memory per idle
connection, then runs each timed scenario on every server in turn, one
right after the other (those waiting are stopped), in an order that flips
and rotates from round to round; the report gives the median and range of
the rounds, and the per-round ratios that compare two servers measured
seconds apart (see baseline.py for ``--baseline-ref``, which adds an
older commit's gnet as one more server). Servers run pinned to one core, the
load generator (benchmarks/loadgen.c, compiled on first use) to the other.
The chat workload and the latency tails (benchmarks/chat_bench.py, their
own rounds, 5 by default) run after the echo rounds, then the TLS scenarios
(benchmarks/tls_bench.py: the same rounds with an OpenSSL load generator)
and the multi-process ones (benchmarks/cluster_bench.py), and the EventEmitter
micro-benchmark (benchmarks/emit_bench.py) runs last.

Results go to docs/benchmarks.md and docs/benchmarks.png (see report.py)
and, in full, to benchmarks/build/results.json; ``--report-only`` rewrites
the report from that file.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import baseline, chat_bench, cluster_bench, harness, report, tls_bench
from benchmarks.harness import (
    SERVERS,
    TIMED_SCENARIOS,
    BenchError,
    Scenario,
    ServerProcess,
    ServerSpec,
    Settings,
)

REPO = harness.HERE.parent
DEFAULT_MD = REPO / 'docs' / 'benchmarks.md'
DEFAULT_PNG = REPO / 'docs' / 'benchmarks.png'
DEFAULT_JSON = harness.BUILD_DIR / 'results.json'
# A kept measurement during which other processes used more of a core than
# this is flagged in the report.
MAX_INTERFERENCE_SHOWN = 0.05


class Progress:
    """One line per finished step on stderr, with a count and an ETA.

    On a terminal the step in progress is shown too, on a line that the
    finished step's line replaces.
    """

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.start = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def _prefix(self) -> str:
        elapsed = time.monotonic() - self.start
        if self.done:
            eta = elapsed / self.done * (self.total - self.done)
            eta_text = f'ETA {int(eta) // 60}:{int(eta) % 60:02d}'
        else:
            eta_text = 'ETA  ?  '
        pct = 100 * self.done // self.total
        return f'[{self.done:>3}/{self.total} {pct:>3}% {eta_text}]'

    def begin(self, text: str) -> None:
        if self.tty:
            self.stream.write(f'\r\033[K{self._prefix()} {text} ...')
            self.stream.flush()

    def end(self, text: str, steps: int = 1) -> None:
        self.done += steps
        self.stream.write(('\r\033[K' if self.tty else '') + f'{self._prefix()} {text}\n')
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(('\r\033[K' if self.tty else '') + text + '\n')
        self.stream.flush()


def format_figure(scenario: Scenario, result: dict[str, Any]) -> str:
    value = result['value']
    text = f'{value:,.1f} {scenario.unit}' if value < 100 else f'{value:,.0f} {scenario.unit}'
    if scenario.latency:
        text += f'  p50 {result["p50_us"]:.0f} us  p99 {result["p99_us"]:.0f} us'
    per = 'MB' if scenario.per_mb else 'op'
    text += f'  CPU {report.fmt_us(baseline.cpu_us_per_op(result))} us/{per}'
    if result.get('attempts', 1) > 1:
        text += f'  ({result["attempts"]} attempts, {result["interference"]:.0%} interference)'
    if result.get('byte_errors') or result.get('errors'):
        text += f'  ERRORS {result.get("errors")} (bytes: {result.get("byte_errors")})'
    return text


def run_emit(settings: Settings, number: int, repeat: int) -> dict[str, Any]:
    """Run emit_bench.py pinned to the server core and parse its table."""
    argv = [settings.python, str(harness.HERE / 'emit_bench.py'), '--number', str(number),
            '--repeat', str(repeat)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                          preexec_fn=harness.pinned(settings.server_cpu), cwd=str(REPO))
    result: dict[str, Any] = {'output': proc.stdout.strip(), 'rows': []}
    if proc.returncode != 0:
        result['error'] = proc.stderr.strip().splitlines()[-1] if proc.stderr else 'failed'
        return result
    number_re = r'([\d.]+|-)'
    for line in proc.stdout.splitlines():
        m = re.match(r'(plain call \(floor\)|emit, (\d+) listener\(s\))\s+' + number_re
                     + r'(?:\s+' + number_re + r'\s+' + number_re + ')?', line.strip())
        if not m:
            continue

        def num(text: str | None) -> float | None:
            return float(text) if text and text != '-' else None

        result['rows'].append({
            'case': m.group(1), 'listeners': int(m.group(2)) if m.group(2) else None,
            'gnet_ns': num(m.group(3)), 'pyee_ns': num(m.group(4)), 'ratio': num(m.group(5)),
        })
    if not result['rows']:
        result['error'] = 'could not read emit_bench.py output'
    return result


def machine_info(settings: Settings, qos: bool) -> dict[str, Any]:
    """What the report says about where and with what it ran."""
    gnet_commit = harness.command_output(['git', '-C', str(REPO), 'rev-parse', '--short',
                                          'HEAD'])
    dirty = harness.command_output(['git', '-C', str(REPO), 'status', '--porcelain', '--',
                                    'gnet'])
    versions = {name: harness.dist_version(name) for name in
                ('gnet', 'gevent', 'greenlet', 'uvloop', 'trio', 'twisted', 'pyee',
                 'matplotlib')}
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': harness.cpu_model(),
        'cores': os.cpu_count(),
        'kernel': f'{platform.system()} {platform.release()}',
        'python': f'{platform.python_implementation()} {platform.python_version()}',
        'node': harness.command_output([settings.node, '--version']) if settings.node else None,
        'cc': harness.command_output([os.environ.get('CC') or 'cc', '--version']),
        'versions': versions,
        'gnet_commit': (gnet_commit or '?') + (' (gnet/ modified)' if dirty else ''),
        'server_cpu': settings.server_cpu,
        'client_cpu': settings.client_cpu,
        'pm_qos': qos,
        'duration': settings.duration,
        'warmup': settings.warmup,
        'repeats': settings.repeats,
        'idle_counts': list(settings.idle_counts),
    }


def summarize(runs: list[dict[str, Any]], scenarios: list[Scenario],
              specs: list[ServerSpec]) -> dict[str, dict[str, Any]]:
    """Median (and spread) of each server's figures per scenario.

    Besides the medians, each entry has the range of the rounds (``min``,
    ``max``; ``cpu_min``, ``cpu_max`` for server CPU per operation) and,
    under ``paired``, the per-round ratios of its figures to Node's and, for
    gnet, to the baseline peer's (``baseline.paired``): the figures the
    regression check is judged on.
    """
    summary: dict[str, dict[str, Any]] = {}
    base_key = next((s.key for s in specs if s.baseline), None)
    for sc in scenarios:
        per_server: dict[str, Any] = {}
        for spec in specs:
            rows = [r for r in runs if r['scenario'] == sc.key and r['server'] == spec.key]
            good = [r for r in rows if 'error' not in r]
            if not good:
                if rows:
                    per_server[spec.key] = {'error': rows[-1]['error']}
                continue
            values = [r['value'] for r in good]
            entry: dict[str, Any] = {
                'value': statistics.median(values), 'min': min(values), 'max': max(values),
                'n': len(values), 'failed': len(rows) - len(good),
                'errors': sum(r.get('errors', 0) for r in good),
                'byte_errors': sum(r.get('byte_errors', 0) for r in good),
            }
            if sc.latency:
                entry['p50_us'] = statistics.median(r['p50_us'] for r in good)
                entry['p99_us'] = statistics.median(r['p99_us'] for r in good)
            cpu = [c for c in map(baseline.cpu_us_per_op, good) if c is not None]
            if cpu:
                entry['cpu_us_per_op'] = statistics.median(cpu)
                entry['cpu_min'], entry['cpu_max'] = min(cpu), max(cpu)
            if sc.mode != 'idle':
                entry['client_busy'] = statistics.median(r['client_busy'] for r in good)
                entry['server_load'] = statistics.median(
                    (r['server_user_s'] + r['server_sys_s']) / r['elapsed'] for r in good)
                entry['attempts'] = sum(r.get('attempts', 1) for r in good)
                entry['disturbed'] = sum(
                    1 for r in good if r.get('interference', 0.0) > MAX_INTERFERENCE_SHOWN)
            per_server[spec.key] = entry
        for ref in ('node', 'gevent'):
            base = per_server.get(ref, {}).get('value')
            for entry in per_server.values():
                if 'value' in entry:
                    entry[f'vs_{ref}'] = entry['value'] / base if base else None
        for key, entry in per_server.items():
            if 'value' not in entry:
                continue
            refs = ['node'] + ([base_key] if key == 'gnet' and base_key else [])
            paired = {ref: baseline.paired(runs, sc.key, key, ref) for ref in refs
                      if ref != key and 'value' in per_server.get(ref, {})}
            entry['paired'] = {ref: pair for ref, pair in paired.items() if pair}
        summary[sc.key] = per_server
    return summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    keys = [spec.key for spec in SERVERS]
    scenario_keys = [sc.key for sc in TIMED_SCENARIOS]
    p = argparse.ArgumentParser(
        prog='python -m benchmarks', description=__doc__.split('\n\n')[0],
        epilog=f'servers: {", ".join(keys)}; scenarios: {", ".join(scenario_keys)}, idle')
    p.add_argument('--quick', action='store_true',
                   help='short run: 0.4 s per measurement, 5,000 idle connections only')
    p.add_argument('--duration', type=float, help='seconds measured per scenario (default 1.0)')
    p.add_argument('--warmup', type=float, help='seconds of load before measuring (default 0.3)')
    p.add_argument('--repeats', type=int, help='rounds; the median is reported (default 3)')
    p.add_argument('--idle', help='idle connection counts, comma-separated (default '
                                  '5000,10000; 0 to skip)')
    p.add_argument('--servers', help='comma-separated subset of servers (default: all)')
    p.add_argument('--scenarios', help='comma-separated subset of timed scenarios, and '
                                       '"chat" (chat-fanout, chat-room, chat-memory) and '
                                       '"latency", "tls" (benchmarks/tls_bench.py) and '
                                       '"cluster" (benchmarks/cluster_bench.py) (default: '
                                       'all); naming only chat, latency, tls or cluster ones '
                                       'skips the echo suite, its idle stages and emit')
    p.add_argument('--chat-rounds', type=int,
                   help='rounds of the chat and latency scenarios (default 5; --quick 2)')
    p.add_argument('--chat-size', action='append', default=[], metavar='NAME=VALUE',
                   help='override one of the chat and latency sizes (room_members, '
                        'room_percent, fanout_members, room_duration... see Sizes in '
                        'benchmarks/chat_bench.py); may be repeated')
    p.add_argument('--server-cpu', type=int, default=1, help='core for the servers (default 1)')
    p.add_argument('--client-cpu', type=int, default=0,
                   help='core for the load generator (default 0)')
    p.add_argument('--attempts', type=int, default=4,
                   help='runs of a measurement that other processes disturbed, at most '
                        '(default 4)')
    p.add_argument('--max-interference', type=float, default=0.05,
                   help='share of a core other processes may use during a measurement '
                        'before it is run again (default 0.05)')
    p.add_argument('--quiet-wait', type=float, default=120.0,
                   help='seconds to wait, before running a disturbed measurement again, for '
                        'other processes to leave the cores alone (default 120)')
    p.add_argument('--no-pm-qos', action='store_true',
                   help='do not hold /dev/cpu_dma_latency at 0 during the run')
    p.add_argument('--emit-number', type=int, help='emit_bench.py --number (default 500000)')
    p.add_argument('--emit-repeat', type=int, help='emit_bench.py --repeat (default 7)')
    p.add_argument('--no-emit', action='store_true', help='skip the EventEmitter benchmark')
    p.add_argument('--baseline-ref', metavar='REF',
                   help='also measure the gnet of this git commit (tag, branch, HEAD~1...), '
                        'exported to a temporary directory, as the peer "gnet@<commit>" '
                        'beside every other server, and report gnet / gnet@<commit> per round '
                        '(see benchmarks/baseline.py)')
    p.add_argument('--udp', action='store_true',
                   help='also run the UDP scenarios (benchmarks/udp_bench.py) into the report')
    p.add_argument('--md', type=Path, default=DEFAULT_MD, help='report path')
    p.add_argument('--png', type=Path, default=DEFAULT_PNG, help='chart path')
    p.add_argument('--json', type=Path, default=DEFAULT_JSON, help='raw results path')
    p.add_argument('--report-only', action='store_true',
                   help='rewrite the report from the --json file; measure nothing')
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if args.quick:
        settings.duration, settings.warmup, settings.idle_counts = 0.4, 0.2, (5000,)
    if args.duration is not None:
        settings.duration = args.duration
    if args.warmup is not None:
        settings.warmup = args.warmup
    if args.repeats is not None:
        settings.repeats = max(1, args.repeats)
    if args.idle is not None:
        settings.idle_counts = tuple(sorted({int(n) for n in args.idle.split(',') if int(n)}))
    settings.attempts = max(1, args.attempts)
    settings.max_interference = args.max_interference
    settings.quiet_wait = args.quiet_wait
    cpus = sorted(os.sched_getaffinity(0))
    if args.server_cpu in cpus and args.client_cpu in cpus and args.server_cpu != args.client_cpu:
        settings.server_cpu, settings.client_cpu = args.server_cpu, args.client_cpu
    else:
        print(f'warning: cores {args.server_cpu} and {args.client_cpu} are not both available '
              f'(have {cpus}); nothing is pinned', file=sys.stderr)
        settings.server_cpu = settings.client_cpu = None
    return settings


def pick(names: str | None, known: list[str], what: str) -> list[str]:
    if not names:
        return known
    chosen = [n.strip() for n in names.split(',') if n.strip()]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise SystemExit(f'unknown {what}: {", ".join(unknown)} (known: {", ".join(known)})')
    return [k for k in known if k in chosen]


def main(argv: list[str] | None = None) -> int:
    """Run the suite (or rewrite the report) and return the exit status."""
    args = parse_args(argv)
    if args.report_only:
        data = json.loads(args.json.read_text())
        report.write(data, args.md, args.png)
        print(f'wrote {args.md} and {args.png}')
        return 0

    # Stop servers and load generators on SIGTERM too (their finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = settings_from(args)
    specs = [s for s in SERVERS if s.key in pick(args.servers, [s.key for s in SERVERS],
                                                  'servers')]
    chat_names = [*chat_bench.GROUPS, *(sc.key for sc in chat_bench.SCENARIOS
                                         if sc.key != 'latency')]
    chosen = pick(args.scenarios, [sc.key for sc in TIMED_SCENARIOS] + chat_names
                  + ['tls', 'cluster'], 'scenarios')
    args.tls, args.cluster = 'tls' in chosen, 'cluster' in chosen
    timed = [sc for sc in TIMED_SCENARIOS if sc.key in chosen]
    idle = [harness.idle_scenario(n) for n in settings.idle_counts]
    chat_only = bool(args.scenarios) and not timed
    if chat_only:
        # Only the chat or latency scenarios: no echo idle stages (unless asked) or emit.
        args.no_emit = True
        if args.idle is None:
            idle = []
    args.chat_groups = {g for g in chat_bench.GROUPS if g in chosen or (
        g == 'chat' and any(n.startswith('chat-') for n in chosen))}
    args.chat_scenarios = {n for n in chosen if n.startswith('chat-')} or None
    with contextlib.ExitStack() as stack:
        base_info = None
        if args.baseline_ref:
            try:
                base_spec, base_info = stack.enter_context(
                    baseline.baseline(args.baseline_ref, settings.python))
            except BenchError as exc:
                raise SystemExit(f'error: {exc}') from None
            # Right after gnet, so that the two take their turns side by side.
            at = next((i + 1 for i, s in enumerate(specs) if s.key == 'gnet'), len(specs))
            specs.insert(at, base_spec)
        return measure(args, settings, specs, timed, idle, base_info)


def measure(args: argparse.Namespace, settings: Settings, specs: list[ServerSpec],
            timed: list[Scenario], idle: list[Scenario],
            base_info: dict[str, Any] | None) -> int:
    """Run the rounds, write the results and the report; return the exit status."""
    emit_number = args.emit_number or (100_000 if args.quick else 500_000)
    emit_repeat = args.emit_repeat or (3 if args.quick else 7)

    limit = harness.raise_nofile_limit()
    if idle and limit < max(settings.idle_counts) + 100:
        print(f'warning: descriptor limit {limit} is below {max(settings.idle_counts)} '
              'idle connections; those will fail', file=sys.stderr)
    if settings.client_cpu is not None:
        # This process wakes only between steps; it shares the generator's core.
        os.sched_setaffinity(0, {settings.client_cpu})

    loadgen = harness.build('loadgen')
    echo_c = harness.build('echo_c') if any(s.kind == 'c' for s in specs) else None
    skipped = {}
    for spec in specs:
        reason = spec.missing(settings.node)
        if reason:
            skipped[spec.key] = reason
    active = [s for s in specs if s.key not in skipped]

    steps_per_server = len(timed) + (1 if idle else 0)
    chat_sizes = chat_bench.quick_sizes() if args.quick else chat_bench.Sizes()
    if args.chat_rounds is not None:
        chat_sizes.rounds = max(1, args.chat_rounds)
    try:
        chat_sizes = chat_bench.override(chat_sizes, args.chat_size)
    except ValueError as exc:
        raise SystemExit(f'error: --chat-size: {exc}') from None
    chat_keys = [s.key for s in specs]
    if not timed and not idle:
        active = []  # the echo servers have nothing to run
    progress = Progress(settings.repeats * len(active) * steps_per_server
                        + (0 if args.no_emit else 1)
                        + chat_bench.steps(chat_keys, args.chat_groups, chat_sizes)
                        + (tls_bench.steps(settings, tls_bench.server_keys(chat_keys))
                           if args.tls else 0))
    for key, reason in skipped.items():
        progress.note(f'skipping {key}: {reason}')
    if base_info:
        progress.note(f'{base_info["key"]}: gnet of {base_info["ref"]} = '
                      f'{base_info["commit"][:12]} "{base_info["subject"][:60]}", '
                      f'imported from {base_info["imported"]}')

    runs: list[dict[str, Any]] = []
    with harness.LatencyRequest(enabled=not args.no_pm_qos) as qos:
        meta = machine_info(settings, qos.active)
        if active:
            progress.note(f'{len(active)} servers x ({len(timed)} timed + {len(idle)} idle) '
                          f'scenarios x {settings.repeats} rounds; {settings.duration} s each '
                          f'after {settings.warmup} s warm-up; servers on cpu '
                          f'{settings.server_cpu}, load generator on cpu {settings.client_cpu}')
        if settings.server_cpu is not None and settings.client_cpu is not None:
            busy = harness.others_busy((settings.server_cpu, settings.client_cpu), [], 0.5)
            if busy > settings.max_interference:
                progress.note(f'other processes use {busy:.0%} of a core; waiting up to '
                              f'{settings.quiet_wait:.0f} s for them to stop')
                harness.wait_until_quiet((settings.server_cpu, settings.client_cpu), [],
                                         settings.max_interference, settings.quiet_wait)
        for rnd in range(settings.repeats if active else 0):
            runs.extend(run_round(round_order(active, rnd), rnd, settings, loadgen, echo_c,
                                  timed, idle, progress))
        chat = None
        if args.chat_groups:
            progress.note(f'chat and latency: {", ".join(sorted(args.chat_groups))}, '
                          f'{chat_sizes.rounds} rounds (chat_bench.py)')
            chat = chat_bench.run(chat_keys, args.chat_groups, settings, chat_sizes, progress,
                                  args.chat_scenarios)
        tls = cluster = None
        if args.tls:
            progress.note('TLS: gnet.tls, Node tls, gevent.ssl, asyncio and uvloop SSL '
                          '(tls_bench.py)')
            tls = tls_bench.run(settings, tls_bench.server_keys(chat_keys),
                                idle_count=tls_bench.IDLE_QUICK if args.quick
                                else tls_bench.IDLE_FULL, progress=progress)
        if args.cluster:
            progress.note('multi-process: gnet.cluster, Node cluster, one process, 1 and 2 '
                          'workers (cluster_bench.py)')
            cluster = cluster_bench.run(settings, cluster_bench.config_keys(chat_keys),
                                        log=progress.note)
        emit = None
        if not args.no_emit:
            progress.begin('EventEmitter emit: gnet vs pyee')
            emit = run_emit(settings, emit_number, emit_repeat)
            one = next((r for r in emit['rows'] if r['listeners'] == 1), None)
            progress.end('EventEmitter emit, 1 listener: ' + (
                f'gnet {one["gnet_ns"]} ns, pyee {one["pyee_ns"]} ns' if one
                else emit.get('error', '?')))

        udp = None
        if args.udp:
            from benchmarks import udp_bench

            progress.note('UDP: gnet.dgram, Node dgram, gevent, asyncio (udp_bench.py)')
            udp = udp_bench.run([s.key for s, _ in udp_bench.SERVERS],
                                [s.key for s, _ in udp_bench.SCENARIOS], settings)

    scenarios = idle + timed
    data = {
        'meta': meta,
        'servers': [{'key': s.key, 'label': s.label, 'kind': s.kind, 'reference': s.reference,
                     'baseline': s.baseline, 'skipped': skipped.get(s.key)} for s in specs],
        'scenarios': [dataclasses.asdict(sc) for sc in scenarios],
        'runs': runs,
        'summary': summarize(runs, scenarios, active),
        'baseline': base_info,
        'emit': emit,
        'udp': udp,
        'chat': chat,
        'tls': tls,
        'cluster': cluster,
    }
    if not runs and (chat or tls or cluster) and args.json.exists():
        # A chat/latency-only run keeps the echo figures of the results it
        # replaces, so the report still has every section.
        try:
            old = json.loads(args.json.read_text())
        except ValueError:
            old = {}
        if old.get('runs'):
            data = {**old, **{key: value for key, value in
                              (('chat', chat), ('tls', tls), ('cluster', cluster)) if value}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1))
    report.write(data, args.md, args.png)
    if runs or not (chat or tls or cluster):
        print(report.console_summary(data))
    if chat:
        print(chat_bench.console_summary(chat))
    if tls:
        print(tls_bench.console(tls))
    if cluster:
        print(cluster_bench.console(cluster))
    print(f'\nwrote {args.md}, {args.png} and {args.json}')
    failures = [r for r in runs if 'error' in r]
    bad_bytes = sum(r.get('byte_errors', 0) for r in [*runs, *(tls or {}).get('runs', []),
                                                       *(cluster or {}).get('runs', [])])
    if bad_bytes:
        print(f'{bad_bytes} byte errors: a server echoed something else than it got',
              file=sys.stderr)
    chat_runs = chat['runs'] if chat else []
    if chat_runs and all('error' in r for r in chat_runs):
        return 1
    return 1 if bad_bytes or (failures and len(failures) == len(runs)) else 0


def measure_undisturbed(loadgen: Path, server: ServerProcess, sc: Scenario, settings: Settings,
                        progress: Progress, label: str) -> dict[str, Any]:
    """Run a timed scenario, again if other processes took the cores meanwhile.

    Other work on the machine (a test suite, a build) steals time from the
    server or the load generator and makes a figure meaningless. Such a run
    is repeated, once the cores are quiet again (or ``settings.quiet_wait``
    seconds later), up to ``settings.attempts`` times; the least disturbed
    one is kept, with its ``interference`` and ``attempts`` recorded.
    """
    best: dict[str, Any] | None = None
    for attempt in range(1, settings.attempts + 1):
        result = harness.run_loadgen_timed(loadgen, server, sc, settings)
        result['attempts'] = attempt
        disturbed = result.get('interference', 0.0)
        if best is None or disturbed < best.get('interference', 0.0):
            best = result
        if disturbed <= settings.max_interference or attempt == settings.attempts:
            break
        progress.begin(f'{label} {sc.key}: other processes used {disturbed:.0%} of a core; '
                       'waiting for them to stop')
        if settings.server_cpu is not None and settings.client_cpu is not None:
            harness.wait_until_quiet((settings.server_cpu, settings.client_cpu), [server.pid],
                                     settings.max_interference, settings.quiet_wait)
    assert best is not None
    best['attempts'] = attempt
    return best


def round_order(active: list[ServerSpec], rnd: int) -> list[ServerSpec]:
    """The order servers take turns in round ``rnd``: reversed every other round, rotated.

    Each scenario runs every server in this order, one right after the
    other, so a slow stretch of the machine lands on neighbours alike.
    Reversing every other round makes each neighbouring pair (gnet and
    the baseline peer are neighbours) swap places from one round to the
    next: AB, BA, AB...; rotating by one every second round moves every
    server through every position.
    """
    if not active:
        return []
    shift = (rnd // 2) % len(active)
    order = active[shift:] + active[:shift]
    return order[::-1] if rnd % 2 else order


def run_round(order: list[ServerSpec], rnd: int, settings: Settings, loadgen: Path,
              echo_c: Path | None, timed: list[Scenario], idle: list[Scenario],
              progress: Progress) -> list[dict[str, Any]]:
    """One round: every server started afresh, then each scenario on each server in turn.

    Each server is started, its memory per idle connection measured, and
    it is paused (SIGSTOP) until its turn; then, scenario by scenario,
    each server is resumed, measured and paused again, in ``order``. So
    the figures that are compared (gnet, the baseline peer, Node) are
    taken seconds apart, not minutes, and a paused server takes nothing
    from the one measured. A server that dies is left out of the rest of
    the round, its missing figures recorded as errors.
    """
    runs: list[dict[str, Any]] = []
    servers: dict[str, ServerProcess] = {}
    dead: dict[str, str] = {}

    def label(spec: ServerSpec) -> str:
        return f'round {rnd + 1}/{settings.repeats}  {spec.label:<20}'

    def record(spec: ServerSpec, sc: Scenario, error: str) -> None:
        runs.append({'round': rnd, 'server': spec.key, 'scenario': sc.key, 'error': error})

    try:
        for spec in order:
            progress.begin(f'{label(spec)} starting')
            try:
                server = ServerProcess(spec, spec.command(0, settings.python, settings.node,
                                                          echo_c), settings.server_cpu)
            except BenchError as exc:
                for sc in idle + timed:
                    record(spec, sc, str(exc))
                dead[spec.key] = str(exc)
                progress.end(f'{label(spec)} FAILED to start: {exc}',
                             len(timed) + (1 if idle else 0))
                continue
            servers[spec.key] = server
            if idle:
                progress.begin(f'{label(spec)} '
                               f'{", ".join(f"{sc.idle:,}" for sc in idle)} idle connections')
                try:
                    results = harness.run_idle(loadgen, server, [sc.idle for sc in idle],
                                               settings)
                    for sc, result in zip(idle, results, strict=True):
                        runs.append({'round': rnd, 'server': spec.key, 'scenario': sc.key,
                                     **result})
                    progress.end(f'{label(spec)} idle: ' + ', '.join(
                        f'{sc.idle:,} conns {r["value"]:.2f} KiB/conn '
                        f'{report.fmt_us(baseline.cpu_us_per_op(r))} us CPU/conn'
                        for sc, r in zip(idle, results, strict=True)))
                except BenchError as exc:
                    for sc in idle:
                        record(spec, sc, str(exc))
                    progress.end(f'{label(spec)} idle: FAILED: {exc}')
            if not server.alive():
                dead[spec.key] = f'{spec.label} died: {server.log_tail()}'
            server.pause()

        for sc in timed:
            for spec in order:
                if spec.key in dead:
                    record(spec, sc, dead[spec.key])
                    progress.end(f'{label(spec)} {sc.key:<12} skipped: '
                                 f'{dead[spec.key][:80]}')
                    continue
                server = servers[spec.key]
                server.resume()
                progress.begin(f'{label(spec)} {sc.key}')
                try:
                    result = measure_undisturbed(loadgen, server, sc, settings, progress,
                                                 label(spec))
                    runs.append({'round': rnd, 'server': spec.key, 'scenario': sc.key,
                                 **result})
                    progress.end(f'{label(spec)} {sc.key:<12} {format_figure(sc, result)}')
                except BenchError as exc:
                    record(spec, sc, str(exc))
                    progress.end(f'{label(spec)} {sc.key:<12} FAILED: {exc}')
                    if not server.alive():
                        dead[spec.key] = f'{spec.label} died: {server.log_tail()}'
                server.pause()
    finally:
        for server in servers.values():
            server.stop()
    return runs


if __name__ == '__main__':
    sys.exit(main())
