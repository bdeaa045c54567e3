"""The UDP benchmarks: gnet.dgram beside Node's dgram, a raw gevent loop and asyncio.

```
python -m benchmarks.udp_bench                 # every UDP server and scenario, ~1 minute
python -m benchmarks.udp_bench --servers gnet,node --scenarios udp-echo-50 --repeats 1
```

Scenarios (``udpgen.c`` drives them; see its header):

* ``udp-echo-50``: request/response, 64 B datagrams, 50 client sockets with
  one request in flight each; round trips/s.
* ``udp-stream-1200``: one-way stream of 1,200 B datagrams at full speed to a
  counting sink; datagrams/s received, and the share the kernel dropped.
* ``udp-paced-1200``: the same at 40,000 datagrams/s, a rate Node takes
  without loss here: the loss is the figure to read.
* ``udp-large-60000``: the same with 60,000 B datagrams; MB/s received.

Every figure is the median of ``--repeats`` runs; the server's CPU time over
the measured window gives CPU per datagram (µs). Servers run pinned to one
core and the generator to the other, as in the TCP suite (``harness.py``).
Results go to ``build/udp_results.json`` and a Markdown table to
``build/udp_report.md`` (and stdout).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    BUILD_DIR,
    SERVERS_DIR,
    BenchError,
    Scenario,
    ServerProcess,
    ServerSpec,
    Settings,
    build,
    cpu_model,
    run_loadgen_timed,
)


@dataclass(frozen=True)
class PacedScenario(Scenario):
    """A stream sent at ``rate`` datagrams/s rather than as fast as possible."""

    rate: float = 0.0

    def loadgen_args(self) -> list[str]:
        return [*super().loadgen_args(), '--rate', str(self.rate)]


SCENARIOS: tuple[tuple[Scenario, str], ...] = (
    (Scenario('udp-echo-50', 'UDP echo, 64 B, 50 clients', 'echo', 50, 64,
              unit='round trips/s'), 'echo'),
    (Scenario('udp-stream-1200', 'UDP one-way stream, 1,200 B datagrams', 'stream', 1, 1200,
              unit='datagrams/s received'), 'sink'),
    (PacedScenario('udp-paced-1200', 'UDP stream, 1,200 B at 40,000 datagrams/s (loss)',
                   'stream', 1, 1200, unit='datagrams/s received', rate=40000), 'sink'),
    (Scenario('udp-large-60000', 'UDP one-way stream, 60,000 B datagrams', 'stream', 1, 60000,
              metric='mb_per_s', unit='MB/s received'), 'sink'),
)

SERVERS: tuple[tuple[ServerSpec, tuple[str, ...]], ...] = (
    (ServerSpec('node', 'Node dgram', 'node', ('udp_node.js',)), ()),
    (ServerSpec('gnet', 'gnet.dgram', 'python', ('udp_gnet.py',), ('gnet', 'gevent')), ()),
    (ServerSpec('gevent', 'gevent socket loop', 'python', ('udp_gevent.py',), ('gevent',)), ()),
    (ServerSpec('asyncio', 'asyncio DatagramProtocol', 'python', ('udp_asyncio.py',)), ()),
    (ServerSpec('uvloop', 'uvloop DatagramProtocol', 'python', ('udp_asyncio.py',),
                ('uvloop',)), ('--loop', 'uvloop')),
)


def _argv(spec: ServerSpec, extra: tuple[str, ...], mode: str, settings: Settings) -> list[str]:
    script = str(SERVERS_DIR / spec.args[0])
    if spec.kind == 'node':
        assert settings.node is not None
        return [settings.node, script, '0', mode]
    return [settings.python, script, '0', mode, *extra]


def run(server_keys: list[str], scenario_keys: list[str], settings: Settings) -> dict[str, Any]:
    udpgen = build('udpgen')
    results: dict[str, Any] = {'machine': cpu_model(), 'started': time.time(), 'runs': {}}
    for spec, extra in SERVERS:
        if spec.key not in server_keys:
            continue
        why = spec.missing(settings.node)
        if why is None and spec.key == 'uvloop' and importlib.util.find_spec('uvloop') is None:
            why = 'uvloop not installed'
        if why:
            print(f'{spec.label}: skipped ({why})', file=sys.stderr)
            results['runs'][spec.key] = {'skipped': why, 'label': spec.label}
            continue
        per: dict[str, Any] = {'label': spec.label}
        for scenario, mode in SCENARIOS:
            if scenario.key not in scenario_keys:
                continue
            samples = []
            for _ in range(settings.repeats):
                server = ServerProcess(spec, _argv(spec, extra, mode, settings),
                                       settings.server_cpu)
                try:
                    result = run_loadgen_timed(udpgen, server, scenario, settings)
                except BenchError as exc:
                    result = {'error': str(exc)}
                finally:
                    server.stop()
                if 'error' not in result:
                    handled = (result.get('round_trips') if scenario.mode == 'echo'
                               else result.get('received')) or 0
                    cpu = result['server_user_s'] + result['server_sys_s']
                    result['cpu_us_per_datagram'] = (cpu / handled * 1e6) if handled else None
                samples.append(result)
                print(f'{spec.label:28} {scenario.key:18} '
                      + (f"{result['value']:>12,.1f} {scenario.unit}"
                         if 'error' not in result else result['error']),
                      file=sys.stderr)
            good = [s for s in samples if 'error' not in s]
            if not good:
                per[scenario.key] = {'error': samples[-1].get('error')}
                continue
            median = statistics.median(s['value'] for s in good)
            best = min(good, key=lambda s: abs(s['value'] - median))
            per[scenario.key] = {
                'value': median, 'samples': [s['value'] for s in good],
                'cpu_us_per_datagram': best.get('cpu_us_per_datagram'),
                'loss_pct': best.get('loss_pct'), 'lost': best.get('lost'),
                'interference': best.get('interference'), 'raw': best,
            }
        results['runs'][spec.key] = per
    return results


def report(results: dict[str, Any]) -> str:
    runs = results['runs']
    lines = [f"Machine: {results['machine']}; server and generator pinned to one core each.",
             '']
    for scenario, _mode in SCENARIOS:
        rows = [(key, run) for key, run in runs.items() if scenario.key in run]
        if not rows:
            continue
        node = runs.get('node', {}).get(scenario.key, {}).get('value')
        lines += [f'**{scenario.title}** ({scenario.unit})', '',
                  '| server | figure | vs Node | CPU µs/datagram | loss | others on the cores |',
                  '|---|---:|---:|---:|---:|---:|']
        for _key, run in rows:
            cell = run[scenario.key]
            if 'error' in cell:
                lines.append(f"| {run['label']} | failed: {cell['error'][:60]} | | | | |")
                continue
            ratio = f"{cell['value'] / node:.2f}x" if node else ''
            cpu = cell.get('cpu_us_per_datagram')
            loss = (f"{cell['loss_pct']:.1f} %" if cell.get('loss_pct') is not None
                    else f"{cell.get('lost') or 0} lost")
            busy = cell.get('interference')
            lines.append(f"| {run['label']} | {cell['value']:,.1f} | {ratio} | "
                         f"{cpu:.1f} | {loss} | "
                         f"{'' if busy is None else f'{busy:.2f} core'} |"
                         if cpu is not None else
                         f"| {run['label']} | {cell['value']:,.1f} | {ratio} | | {loss} | |")
        lines.append('')
    skipped = [f"{run['label']} ({run['skipped']})" for run in runs.values() if 'skipped' in run]
    if skipped:
        lines.append('Skipped: ' + ', '.join(skipped) + '.')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.udp_bench',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--servers', default=','.join(s.key for s, _ in SERVERS))
    parser.add_argument('--scenarios', default=','.join(s.key for s, _ in SCENARIOS))
    parser.add_argument('--duration', type=float, default=1.5)
    parser.add_argument('--warmup', type=float, default=0.5)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--out', default=str(BUILD_DIR),
                        help='directory for udp_results.json and udp_report.md')
    args = parser.parse_args(argv)
    settings = Settings(duration=args.duration, warmup=args.warmup, repeats=args.repeats,
                        node=shutil.which('node'))
    results = run(args.servers.split(','), args.scenarios.split(','), settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'udp_results.json').write_text(json.dumps(results, indent=1))
    text = report(results)
    (out / 'udp_report.md').write_text(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
