"""Turn the suite's results into docs/benchmarks.md and docs/benchmarks.png.

Input is the dict ``run.py`` builds (and keeps in benchmarks/build/results.json).
The chart needs matplotlib (the ``bench`` extra); without it the report is
written with a note instead of the picture.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks import baseline, chat_bench

# gnet's targets: (scenario, 'ge' or 'le', ratio to Node's figure).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ('pingpong-50', 'ge', 1.0),
    ('pipelined', 'ge', 1.0),
    ('connrate', 'ge', 1.0),
    ('bulk', 'ge', 1.0),
    ('idle-5000', 'le', 0.5),
    ('idle-10000', 'le', 0.5),
)
# The load generator must drive C or Node this much faster than any Python server.
HEADROOM = 2.0

COLORS = {'gnet': '#d62728', 'node': '#2ca02c', 'gevent': '#1f77b4', 'c': '#7f7f7f'}
BASELINE_COLOR = '#ff9896'
OTHER_COLOR = '#9ecae1'


# --------------------------------------------------------------------------
# Formatting

def fmt_value(value: float | None, unit: str = '') -> str:
    if value is None:
        return 'n/a'
    if 'KiB' in unit:
        return f'{value:,.2f}'
    if abs(value) >= 100:
        return f'{value:,.0f}'
    if abs(value) >= 10:
        return f'{value:,.1f}'
    return f'{value:,.2f}'


def fmt_ratio(ratio: float | None) -> str:
    return 'n/a' if ratio is None else f'{ratio:.2f}x'


def fmt_us(value: float | None) -> str:
    if value is None:
        return 'n/a'
    return f'{value:,.0f}' if value >= 10 else f'{value:.1f}'


def fmt_cpu(value: float | None, mode: str) -> str:
    """Server CPU microseconds per operation (one decimal for bulk's large reads)."""
    if value is None:
        return 'n/a'
    return f'{value:.1f}' if mode in ('bulk', 'idle') else f'{value:.2f}'


def fmt_range(stats: dict[str, float] | None, fmt: Any = fmt_ratio) -> str:
    """A median with the range of the rounds: ``1.02x (0.97x-1.05x)``."""
    if not stats:
        return 'n/a'
    return f'{fmt(stats["median"])} ({fmt(stats["min"])}-{fmt(stats["max"])})'


def _base_key(data: dict[str, Any]) -> str | None:
    info = data.get('baseline')
    return info['key'] if info else None


def _scenarios(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data['scenarios'])


def _labels(data: dict[str, Any]) -> dict[str, str]:
    return {s['key']: s['label'] for s in data['servers']}


def _python_keys(data: dict[str, Any]) -> list[str]:
    return [s['key'] for s in data['servers'] if s['kind'] == 'python']


# --------------------------------------------------------------------------
# Verdicts

def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each of gnet's targets, with the figures and the verdict."""
    out = []
    titles = {sc['key']: sc for sc in _scenarios(data)}
    for key, op, want in TARGETS:
        if key not in titles:
            continue
        sc = titles[key]
        per = data['summary'].get(key, {})
        gnet, node = per.get('gnet', {}), per.get('node', {})
        ratio = gnet.get('vs_node')
        row = {'key': key, 'what': f'{sc["title"]} ({sc["unit"]})', 'unit': sc['unit'],
               'gnet': gnet.get('value'), 'mode': sc['mode'],
               'gnet_cpu': gnet.get('cpu_us_per_op'), 'node_cpu': node.get('cpu_us_per_op'),
               'node': node.get('value'), 'ratio': ratio,
               'required': f'{"≥" if op == "ge" else "≤"} {want:.2f}x Node'}
        if ratio is None:
            row['met'] = None
            row['verdict'] = 'not measured'
        elif op == 'ge':
            row['met'] = ratio >= want
            row['verdict'] = ('met' if row['met'] else
                              f'missed by {(1 - ratio / want) * 100:.0f}%: gnet needs '
                              f'+{(want / ratio - 1) * 100:.0f}%')
        else:
            row['met'] = ratio <= want
            row['verdict'] = ('met' if row['met'] else
                              f'missed: gnet needs {(want / ratio - 1) * 100:.0f}% '
                              f'(to {want:.2f}x Node)')
        out.append(row)
    emit = data.get('emit') or {}
    one = next((r for r in emit.get('rows', []) if r.get('listeners') == 1), None)
    if one and one.get('pyee_ns'):
        ratio = one['gnet_ns'] / one['pyee_ns']
        out.append({
            'key': 'emit-1', 'what': 'EventEmitter emit, 1 listener (ns per emit)', 'unit': 'ns',
            'gnet': one['gnet_ns'], 'node': None, 'pyee': one['pyee_ns'], 'ratio': ratio,
            'required': '< 1.00x pyee', 'met': ratio < 1.0,
            'verdict': ('met' if ratio < 1.0 else
                        f'missed: gnet needs -{(1 - 1 / ratio) * 100:.0f}% time per emit'),
        })
    return out


def headroom(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per timed scenario: can the load generator drive C or Node 2x faster than Python?"""
    labels = _labels(data)
    rows = []
    for sc in _scenarios(data):
        if sc['mode'] == 'idle':
            continue
        per = data['summary'].get(sc['key'], {})
        py = [(k, per[k]) for k in _python_keys(data) if 'value' in per.get(k, {})]
        if not py:
            continue
        fast_key, fast = max(py, key=lambda kv: kv[1]['value'])
        refs = {k: per[k]['value'] for k in ('c', 'node') if 'value' in per.get(k, {})}
        best = max(refs.values()) if refs else None
        ratio = best / fast['value'] if best else None
        rows.append({
            'key': sc['key'], 'title': sc['title'], 'unit': sc['unit'], 'c': refs.get('c'),
            'node': refs.get('node'), 'fastest': labels[fast_key],
            'fastest_value': fast['value'], 'ratio': ratio,
            'met': None if ratio is None else ratio >= HEADROOM,
            'load_fastest': fast.get('server_load'),
            'busy': {k: per.get(k, {}).get('client_busy') for k in ('c', fast_key, 'gnet', 'node')},
            'fastest_key': fast_key,
        })
    return rows


# --------------------------------------------------------------------------
# Markdown

def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(':---' if a == 'l' else '---:' for a in align) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def baseline_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per scenario, gnet against the baseline peer: figures, per-round ratios, verdicts."""
    key = _base_key(data)
    rows: list[dict[str, Any]] = []
    if not key:
        return rows
    for sc in _scenarios(data):
        per = data['summary'].get(sc['key'], {})
        gnet, base, node = per.get('gnet', {}), per.get(key, {}), per.get('node', {})
        if 'value' not in gnet or 'value' not in base:
            rows.append({'sc': sc, 'missing': gnet.get('error') or base.get('error')
                         or 'not measured'})
            continue
        pair = gnet.get('paired', {}).get(key) or {}
        noise = max((baseline.relative_spread(e) or 0.0) for e in (gnet, base))
        cpu_noise = max((baseline.relative_spread(e, 'cpu') or 0.0) for e in (gnet, base))
        rows.append({
            'sc': sc, 'gnet': gnet, 'base': base, 'node': node, 'rounds': pair.get('rounds', 0),
            'ratio': pair.get('value'), 'cpu_ratio': pair.get('cpu'),
            'verdict': baseline.verdict(pair.get('value'), noise, sc['higher_is_better']),
            'cpu_verdict': baseline.verdict(pair.get('cpu'), cpu_noise, False),
            'gnet_vs_node': (gnet.get('paired', {}).get('node') or {}).get('value'),
            'base_vs_node': (base.get('paired', {}).get('node') or {}).get('value'),
        })
    return rows


def baseline_section(data: dict[str, Any]) -> list[str]:
    """The Markdown comparison of gnet with the baseline peer (``--baseline-ref``)."""
    info = data.get('baseline')
    if not info:
        return []
    key = info['key']
    out = [f'## gnet against {key} (regression check, same run)', '']
    out.append(
        f'{key} is gnet as of commit `{info["commit"][:12]}` ("{info["subject"]}"; '
        f'`--baseline-ref {info["ref"]}`), exported from git into a temporary directory and '
        'run with the same server script. In every round both ran each scenario one right '
        'after the other (the order alternating from round to round), so the ratios below '
        'are taken round by round: median (min-max over the rounds). A peer\'s figures are '
        'its median (min-max). A median ratio is called worse only when it is worse than '
        '1.00x by more than the larger run-to-run spread, (max - min) / median, of the two '
        'peers\' own figures (in brackets).')
    out.append('')

    def figure(entry: dict[str, Any], unit: str) -> str:
        return (f'{fmt_value(entry["value"], unit)} ({fmt_value(entry["min"], unit)}-'
                f'{fmt_value(entry["max"], unit)})')

    def cpu(entry: dict[str, Any], mode: str) -> str:
        if entry.get('cpu_us_per_op') is None:
            return 'n/a'
        return (f'{fmt_cpu(entry["cpu_us_per_op"], mode)} ({fmt_cpu(entry["cpu_min"], mode)}-'
                f'{fmt_cpu(entry["cpu_max"], mode)})')

    rows_in = baseline_rows(data)
    figures, cpus, nodes = [], [], []
    for r in rows_in:
        sc = r['sc']
        if 'missing' in r:
            figures.append([sc['title'], sc['unit'], 'failed: ' + r['missing'][:60].replace(
                '|', '/'), '', '', ''])
            continue
        figures.append([sc['title'], sc['unit'], figure(r['gnet'], sc['unit']),
                        figure(r['base'], sc['unit']), fmt_range(r['ratio']), r['verdict']])
        # For idle memory, CPU is counted while the connections were opened.
        cpu_title = (f'{sc["idle"]:,} idle connections: opening them (per connection)'
                     if sc['mode'] == 'idle' else sc['title'])
        cpus.append([cpu_title, cpu(r['gnet'], sc['mode']), cpu(r['base'], sc['mode']),
                     fmt_range(r['cpu_ratio']), r['cpu_verdict']])
        node = r['node']
        node_cpu = node.get('cpu_us_per_op')
        nodes.append([sc['title'] + (' (CPU: opening them)' if sc['mode'] == 'idle' else ''),
                      fmt_range(r['gnet_vs_node']), fmt_range(r['base_vs_node']),
                      fmt_cpu(node_cpu, sc['mode']) if node else 'n/a',
                      fmt_ratio(r['gnet'].get('cpu_us_per_op') / node_cpu
                                if node_cpu and r['gnet'].get('cpu_us_per_op') else None),
                      fmt_ratio(r['base'].get('cpu_us_per_op') / node_cpu
                                if node_cpu and r['base'].get('cpu_us_per_op') else None)])
    out += _table(['Scenario', 'unit', 'gnet', key, f'gnet / {key}', 'verdict'], figures,
                  'llrrrl')
    out.append('')
    out.append('Server CPU per operation (us; lower is better):')
    out.append('')
    out += _table(['Scenario', 'gnet', key, f'gnet / {key}', 'verdict'], cpus, 'lrrrl')
    out.append('')
    if any(r.get('node') for r in rows_in):
        out.append('Both against Node, round by round (figure ratio: median (min-max)), and '
                   'server CPU per operation as a multiple of Node\'s:')
        out.append('')
        out += _table(['Scenario', 'gnet x Node', f'{key} x Node', 'Node CPU us/op',
                       'gnet CPU x Node', f'{key} CPU x Node'], nodes, 'lrrrrr')
        out.append('')
    return out


def extra_sections(data: dict[str, Any]) -> list[str]:
    """The TLS and multi-process sections (``--scenarios tls,cluster``), as lines."""
    from benchmarks import cluster_bench, tls_bench

    out: list[str] = []
    if data.get('tls'):
        out += tls_bench.markdown(data['tls'])
    if data.get('cluster'):
        out += cluster_bench.markdown(data['cluster'])
    return out


def chat_only_markdown(data: dict[str, Any], png_name: str | None) -> str:
    """The report of a run that measured only the chat and latency scenarios."""
    meta = data['meta']
    out = ['# Benchmarks', '',
           f'Generated by `python -m benchmarks --scenarios chat,latency` on {meta["date"]} '
           f'(gnet {meta["gnet_commit"]}): the chat and latency scenarios only; '
           '`python -m benchmarks` runs every scenario.', '']
    if png_name:
        out += [f'![gnet benchmark chart]({png_name})', '']
    else:
        out += ["(No chart: matplotlib is not installed; `pip install -e '.[bench]'`.)", '']
    if data.get('chat'):
        out.append(chat_bench.report(data['chat']))
    out += extra_sections(data)
    out += ['## Machine', '', f'- CPU: {meta["cpu"]}, {meta["cores"]} cores; {meta["kernel"]}',
            f'- {meta["python"]}; Node {meta["node"] or "not installed"}; pinned: servers to '
            f'CPU {meta["server_cpu"]}, generator to CPU {meta["client_cpu"]}', '']
    return '\n'.join(out)


def markdown(data: dict[str, Any], png_name: str | None) -> str:
    if not _scenarios(data) and (data.get('chat') or data.get('tls') or data.get('cluster')):
        return chat_only_markdown(data, png_name)
    meta = data['meta']
    labels = _labels(data)
    out: list[str] = []
    add = out.append
    add('# Benchmarks')
    add('')
    add(f'Generated by `python -m benchmarks` on {meta["date"]} (gnet {meta["gnet_commit"]}); '
        'do not edit by hand: run the command again to refresh every figure. '
        '`python -m benchmarks --quick` is a shorter run; `--help` lists the options.')
    add('')
    add('Echo servers written with gnet, Node\'s `net`, raw gevent, asyncio (streams and '
        'Protocol, on asyncio\'s loop and on uvloop), Twisted and trio are driven one after '
        'another by the same load generator (C, epoll), on loopback, in one run. Each figure '
        f'is the median of {meta["repeats"]} rounds; each ratio compares two servers of this '
        'run. "x Node" and "x gevent" divide a server\'s figure by Node\'s and by raw '
        'gevent\'s; for memory and latency lower is better, everywhere else higher.')
    add('')

    add('## Targets for gnet')
    add('')
    rows = []
    for t in targets(data):
        ref = t.get('node') if t['key'] != 'emit-1' else t.get('pyee')
        status = '**met**' if t['met'] else t['verdict'] if t['met'] is not None else 'n/a'
        cpu = ''
        if t.get('gnet_cpu') is not None:
            cpu = f'{fmt_cpu(t["gnet_cpu"], t["mode"])} / {fmt_cpu(t.get("node_cpu"), t["mode"])}'
        rows.append([t['what'], fmt_value(t['gnet'], t['unit']),
                     ('pyee ' if t['key'] == 'emit-1' else '') + fmt_value(ref, t['unit']),
                     fmt_ratio(t['ratio']), t['required'], status, cpu])
    out += _table(['Target', 'gnet', 'Node', 'ratio', 'required', 'status',
                   'server CPU us/op, gnet / Node'], rows, 'lrrrllr')
    add('')
    add('Server CPU per operation is the server process\'s user + system time in the '
        'measured window divided by the operations done in it (per round trip, message, '
        'connection, MB echoed in bulk; per connection opened for idle memory); lower is '
        'better.')
    add('')
    checks = headroom(data)
    if checks:
        held = sum(1 for h in checks if h['met'])
        add(f'Load generator {HEADROOM:.0f}x over the fastest Python server: {held} of '
            f'{len(checks)} scenarios (see [below](#the-load-generator-is-not-the-bottleneck)).')
        add('')
    out += baseline_section(data)

    add('## Results')
    add('')
    if png_name:
        add(f'![gnet benchmark chart]({png_name})')
    else:
        add("(No chart: matplotlib is not installed; `pip install -e '.[bench]'`.)")
    add('')
    for sc in _scenarios(data):
        per = data['summary'].get(sc['key'], {})
        add(f'### {sc["title"]}')
        add('')
        idle = sc['mode'] == 'idle'
        header = ['Server', sc['unit'], 'x Node', 'x gevent']
        align = 'lrrr'
        if sc['latency']:
            header += ['p50 us', 'p99 us']
            align += 'rr'
        # Bulk's operation is an MB echoed (Scenario.per_mb; said in the method).
        header += ['server CPU us/conn' if idle else 'server CPU us/op']
        align += 'r'
        header += ['spread']
        align += 'r'
        rows = []
        for server in data['servers']:
            key = server['key']
            entry = per.get(key)
            name = labels[key]
            if server.get('skipped') or entry is None:
                continue
            if 'value' not in entry:
                rows.append([name, 'failed: ' + entry['error'][:80].replace('|', '/')]
                            + [''] * (len(header) - 2))
                continue
            spread = ((entry['max'] - entry['min']) / entry['value'] * 100
                      if entry['value'] else 0.0)
            row = [f'**{name}**' if key == 'gnet' else f'*{name}*' if server.get('baseline')
                   else name,
                   fmt_value(entry['value'], sc['unit']),
                   fmt_ratio(entry.get('vs_node')), fmt_ratio(entry.get('vs_gevent'))]
            if sc['latency']:
                row += [fmt_us(entry.get('p50_us')), fmt_us(entry.get('p99_us'))]
            row += [fmt_cpu(entry.get('cpu_us_per_op'), sc['mode'])]
            row += [f'±{spread / 2:.0f}%' + (f', {entry["failed"]} failed'
                                              if entry['failed'] else '')
                    + (f', {entry["disturbed"]} disturbed' if entry.get('disturbed') else '')
                    + (f', {entry["byte_errors"]} BYTE ERRORS' if entry['byte_errors'] else '')]
            rows.append(row)
        out += _table(header, rows, align)
        add('')

    add('## The load generator is not the bottleneck')
    add('')
    add(f'The load generator is required to drive a minimal C or a Node echo server at '
        f'least {HEADROOM:.0f}x faster than the fastest Python server. The C server here does '
        'nothing but the system calls and busy-polls, so it never pays for being woken up. '
        '"server core" is the share of its core the fastest Python server used; '
        '"generator busy" is the share of the measured time the load generator spent on work '
        'rather than on polls that found nothing, while it drove the C server, the fastest '
        'Python server, gnet and Node. Below 100%, the generator was waiting for the server.')
    add('')

    def pct(value: float | None) -> str:
        return 'n/a' if value is None else f'{value * 100:.0f}%'

    rows = []
    for h in headroom(data):
        verdict = 'n/a' if h['met'] is None else ('yes' if h['met'] else '**no**')
        busy = ' / '.join(pct(h['busy'][k]) for k in ('c', h['fastest_key'], 'gnet', 'node'))
        rows.append([h['title'], fmt_value(h['c']), fmt_value(h['node']),
                     f'{fmt_value(h["fastest_value"])} ({h["fastest"]})', fmt_ratio(h['ratio']),
                     verdict, pct(h['load_fastest']), busy])
    out += _table(['Scenario', 'C epoll, busy-poll', 'Node', 'fastest Python',
                   'best of C, Node / fastest Python', f'>= {HEADROOM:.0f}x',
                   'server core (fastest Python)',
                   'generator busy: C / fastest Python / gnet / Node'],
                  rows, 'lrrrrlrr')
    add('')
    misses = [h for h in headroom(data) if h['met'] is False]
    if misses:
        add(f'Where the ratio is under {HEADROOM:.0f}x, the kernel sets the ceiling, not the '
            'load generator: on loopback every message costs both cores their share of the '
            'TCP stack (the sender\'s core even runs the receiver\'s half), the same on the '
            'generator\'s side as on the server\'s, and the fastest Python servers add '
            'little of their own on top of it. A server cannot be driven faster than its core '
            'can run that kernel work, so no load generator on the other core could show a '
            f'{HEADROOM:.0f}x margin here. What the table does show is who waited: with the '
            'Python servers, gnet and Node, the server\'s core is (nearly) full while the '
            'generator still has idle time, so their figures are theirs, not the '
            'generator\'s.')
        add('')

    emit = data.get('emit')
    if emit:
        add('## EventEmitter.emit (benchmarks/emit_bench.py)')
        add('')
        if emit.get('rows'):
            rows = []
            for r in emit['rows']:
                rows.append([r['case'], fmt_value(r['gnet_ns']), fmt_value(r['pyee_ns']),
                             fmt_ratio(r['ratio']) if r['ratio'] is not None else ''])
            out += _table(['case', 'gnet ns', 'pyee ns', 'gnet / pyee'], rows, 'lrrr')
            add('')
            add('Nanoseconds per `emit(\'data\', chunk)` with 0, 1 and 3 listeners (median of '
                'the runs emit_bench.py makes), pinned to the server core; the plain call is '
                'the floor no emitter can beat.')
        else:
            add(f'emit_bench.py failed: {emit.get("error")}')
        add('')

    if data.get('chat'):
        add(chat_bench.report(data['chat']))
    out += extra_sections(data)
    add('## Machine and method')
    add('')
    versions = meta['versions']
    add(f'- CPU: {meta["cpu"]}, {meta["cores"]} cores; {meta["kernel"]}')
    add(f'- {meta["python"]}; gevent {versions.get("gevent")}, greenlet '
        f'{versions.get("greenlet")}; Node {meta["node"] or "not installed"}; uvloop '
        f'{versions.get("uvloop")}, trio {versions.get("trio")}, Twisted '
        f'{versions.get("twisted")}, pyee {versions.get("pyee")}; C compiler: {meta["cc"]}')
    pin = ('servers pinned to CPU {server_cpu}, load generator (and runner) to CPU '
           '{client_cpu}'.format(**meta) if meta['server_cpu'] is not None
           else 'nothing pinned (fewer than two cores available)')
    add(f'- {pin}; /dev/cpu_dma_latency held at 0: '
        f'{"yes (idle cores poll instead of halting)" if meta["pm_qos"] else "no"}')
    add(f'- {meta["repeats"]} rounds; each timed scenario {meta["duration"]} s measured after '
        f'{meta["warmup"]} s of warm-up; idle connections: '
        f'{", ".join(f"{n:,}" for n in meta["idle_counts"]) or "skipped"}')
    add('')
    add('Every round starts each server afresh and measures its memory per idle '
        'connection, then runs each timed scenario on every server in turn, one right after '
        'the other, in an order that rotates and reverses from round to round; a server waits '
        'for its turn stopped (SIGSTOP), so it takes no CPU time from the one measured. Every '
        'server sets TCP_NODELAY (asyncio, uvloop and trio do so by '
        'themselves) and applies backpressure: it stops reading while its writes are '
        'buffered. The gnet server is Node\'s code ported line for line: \'data\' -> '
        '`write()`, `pause()` when `write()` returns False, `resume()` on \'drain\' '
        '(benchmarks/servers/gnet_echo.py).')
    add('')
    add('- **Ping-pong**: each connection sends 64 B and waits for the echo before sending '
        'again; round trips per second, and the latency of each round trip.')
    add('- **Pipelined**: 16 messages of 64 B in flight on each of 50 connections; a new one '
        'is sent as each echo completes.')
    add('- **Bulk**: one connection; the load generator writes 64 KiB at a time as fast as '
        'the socket takes it and reads everything back; MB/s (10^6 bytes) echoed, and the '
        'server\'s CPU per MB. MB/s swings from run to run (gnet 0.9x-1.5x Node on one '
        'machine): on loopback the generator does as much kernel work per byte as the '
        'server, so the figure is often the generator\'s or the share of a core the server '
        'got; server CPU per MB barely moves with the machine\'s load and is the figure to '
        'compare (benchmarks/README.md, "Bulk: what made it swing").')
    add('- **Connection rate**: 8 connections at a time, each connects, echoes 64 B and is '
        'closed by the client (from 250 source addresses in 127.0.0.0/8, so TIME_WAIT '
        'entries never crowd the ephemeral ports).')
    add('- **Idle connections**: after a short warm-up, the load generator opens the '
        'connections (32 connects in flight), echoes 64 B once on each and holds them; '
        'memory per connection = (server RSS with N open - RSS before) / N, each read from '
        '/proc/PID/status once it stops moving.')
    add('- The load generator checks every byte it gets back against what it sent; any '
        'difference would be reported as byte errors. "server CPU us/op" is the server '
        'process\'s user + system CPU time in the measured window per operation (per MB '
        'echoed for bulk; for the busy-polling C server it includes the polling), '
        'as the scheduler counts it to the nanosecond (/proc/PID/task/*/schedstat). '
        '"spread" is half the range of the rounds around the median. For idle '
        'connections, "server CPU us/conn" is the server\'s CPU time while the connections '
        'were opened, per connection (accept and one 64 B echo).')
    add('- The load generator busy-polls its own core, so it never waits to be woken up; the '
        'servers sleep when idle, as they would in production. A measurement during which '
        'other processes used more than 5% of a core on the two cores is run again (up to '
        '4 times, once they have stopped, keeping the least disturbed); "disturbed" in the '
        'spread column counts rounds that never got a quiet run.')
    add('')
    if data.get('udp'):
        from benchmarks.udp_bench import report as udp_report

        add('## UDP (gnet.dgram)')
        add('')
        add('From `python -m benchmarks --udp` (the scenarios are described in '
            '`benchmarks/udp_bench.py`); "others on the cores" is CPU that other processes '
            'took on the two cores during the measurement.')
        add('')
        add(udp_report(data['udp']))
        add('')
    return '\n'.join(out)


# --------------------------------------------------------------------------
# Chart

def chart(data: dict[str, Any], path: Path) -> bool:
    """Draw every scenario as a bar chart into ``path``; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    labels = _labels(data)
    panels = [(sc, data['summary'][sc['key']]) for sc in _scenarios(data)
              if data['summary'].get(sc['key'])]
    if data.get('chat'):
        # The chat and latency figures, with their own servers.
        labels = {**{s['key']: s['label'] for s in data['chat']['servers']}, **labels}
        panels += chat_bench.chart_panels(data['chat'])
    order = list(dict.fromkeys([*(s['key'] for s in data['servers']),
                                *(s['key'] for s in (data.get('chat') or {}).get('servers', []))]))
    emit = data.get('emit') or {}
    emit_rows = [r for r in emit.get('rows', []) if r.get('listeners') is not None]
    count = len(panels) + (1 if emit_rows else 0)
    if not count:
        return False
    cols = 2 if count > 1 else 1
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 3.6 * rows), squeeze=False)
    flat = [ax for line in axes for ax in line]
    for ax, (sc, per) in zip(flat, panels, strict=False):
        keys = [k for k in order if 'value' in per.get(k, {})]
        values = [per[k]['value'] for k in keys]
        y = list(range(len(keys)))[::-1]
        colors = [BASELINE_COLOR if k == _base_key(data) else COLORS.get(k, OTHER_COLOR)
                  for k in keys]
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, [labels[k] for k in keys], fontsize=8)
        better = 'higher' if sc['higher_is_better'] else 'lower'
        ax.set_title(f'{sc["title"]}\n({sc["unit"]}, {better} is better)', fontsize=9)
        ax.tick_params(axis='x', labelsize=7)
        top = max(values) if values else 1
        # Shares of a core and KiB per member are small numbers: decimals then.
        tick = '{:,.0f}' if top >= 10 else '{:,.2f}'
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos, t=tick: t.format(v)))
        ax.set_xlim(0, top * 1.32)
        for yy, k, v in zip(y, keys, values, strict=True):
            ratio = per[k].get('vs_node')
            text = fmt_value(v, sc['unit']) + (f'  ({ratio:.2f}x Node)'
                                               if ratio is not None and k != 'node' else '')
            ax.text(v + top * 0.01, yy, text, va='center', fontsize=7)
        ax.grid(axis='x', alpha=0.3)
    if emit_rows:
        ax = flat[len(panels)]
        x = range(len(emit_rows))
        gnet = [r['gnet_ns'] for r in emit_rows]
        pyee = [r['pyee_ns'] or 0 for r in emit_rows]
        ax.bar([i - 0.2 for i in x], gnet, 0.4, label='gnet', color=COLORS['gnet'])
        ax.bar([i + 0.2 for i in x], pyee, 0.4, label='pyee', color=OTHER_COLOR)
        ax.set_xticks(list(x), [f'{r["listeners"]} listener(s)' for r in emit_rows], fontsize=8)
        ax.set_title('EventEmitter emit\n(ns per emit, lower is better)', fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(axis='y', alpha=0.3)
    for ax in flat[count:]:
        ax.axis('off')
    meta = data['meta']
    rounds = (f'{meta["repeats"]}' if _scenarios(data) else '')
    if data.get('chat'):
        chat_rounds = data['chat']['meta']['sizes']['rounds']
        rounds = f'{rounds} (chat, latency: {chat_rounds})' if rounds else f'{chat_rounds}'
    fig.suptitle(f'gnet benchmarks, {meta["date"]}: {meta["cpu"]}, {meta["python"]}, '
                 f'Node {meta["node"]}; median of {rounds} rounds', fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write(data: dict[str, Any], md_path: Path, png_path: Path) -> None:
    """Write the chart, then the Markdown report that shows it."""
    drew = chart(data, png_path)
    png_name = os.path.relpath(png_path, md_path.parent) if drew else None
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(markdown(data, png_name))


def console_summary(data: dict[str, Any]) -> str:
    """A plain-text version of the targets and the main figures, for the terminal."""
    labels = _labels(data)
    width = max([22] + [len(label) + 1 for label in labels.values()])
    lines = ['', 'median figures (range of the rounds), x Node, x gevent, server CPU us/op '
             '(range):']
    for sc in _scenarios(data):
        per = data['summary'].get(sc['key'], {})
        lines.append(f'  {sc["title"]} [{sc["unit"]}]')
        for server in data['servers']:
            entry = per.get(server['key'])
            if not entry:
                continue
            if 'value' not in entry:
                lines.append(f'    {labels[server["key"]]:<{width}} failed')
                continue
            unit = sc['unit']
            figure = (f'{fmt_value(entry["value"], unit)} ({fmt_value(entry["min"], unit)}-'
                      f'{fmt_value(entry["max"], unit)})')
            cpu = 'n/a'
            if entry.get('cpu_us_per_op') is not None:
                cpu = (f'{fmt_cpu(entry["cpu_us_per_op"], sc["mode"])} '
                       f'({fmt_cpu(entry.get("cpu_min"), sc["mode"])}-'
                       f'{fmt_cpu(entry.get("cpu_max"), sc["mode"])})')
            lines.append(f'    {labels[server["key"]]:<{width}} {figure:>30}'
                         f'  {fmt_ratio(entry.get("vs_node")):>7}'
                         f'  {fmt_ratio(entry.get("vs_gevent")):>7}  CPU {cpu}')
    pairs = [(sc, data['summary'].get(sc['key'], {}).get('gnet', {}).get('paired', {})
              .get('node')) for sc in _scenarios(data) if sc['mode'] != 'idle']
    if any(pair for _, pair in pairs):
        # The targets are judged on the worst round: each round's ratio, not
        # the ratio of medians.
        lines.append('')
        lines.append('gnet / Node, round by round: median (min-max) of the figure and of '
                     'server CPU per operation:')
        for sc, pair in pairs:
            if pair:
                lines.append(f'  {sc["key"]:<12} figure {fmt_range(pair.get("value")):<24} '
                             f'CPU {fmt_range(pair.get("cpu"))}  ({pair["rounds"]} rounds)')
    rows = baseline_rows(data)
    if rows:
        key = _base_key(data)
        lines.append('')
        lines.append(f'gnet / {key}, per round: median (min-max); verdict against the '
                     'run-to-run spread:')
        for r in rows:
            if 'missing' in r:
                lines.append(f'  {r["sc"]["key"]:<12} failed: {r["missing"][:70]}')
                continue
            lines.append(f'  {r["sc"]["key"]:<12} figure {fmt_range(r["ratio"]):<24} '
                         f'{r["verdict"].replace("**", "")}')
            lines.append(f'  {"":<12} CPU/op {fmt_range(r["cpu_ratio"]):<24} '
                         f'{r["cpu_verdict"].replace("**", "")}')
            if r['gnet_vs_node'] or r['base_vs_node']:
                lines.append(f'  {"":<12} x Node: gnet {fmt_range(r["gnet_vs_node"])}, '
                             f'{key} {fmt_range(r["base_vs_node"])}')
    lines.append('')
    lines.append('targets for gnet:')
    for t in targets(data):
        cpu = ''
        if t.get('gnet_cpu') is not None:
            cpu = (f'  CPU us/op gnet {fmt_cpu(t["gnet_cpu"], t["mode"])}, Node '
                   f'{fmt_cpu(t.get("node_cpu"), t["mode"])}')
        lines.append(f'  {t["what"]:<70} {fmt_ratio(t["ratio"]):>7}  {t["required"]:<14} '
                     f'{t["verdict"]}{cpu}')
    return '\n'.join(lines)
