"""The TLS benchmarks: gnet.tls beside Node's ``tls``, gevent.ssl and asyncio SSL.

```
python -m benchmarks.tls_bench                     # every TLS server and scenario
python -m benchmarks.tls_bench --quick --servers gnet,node
python -m benchmarks --scenarios tls           # the same, into the suite's report
```

Scenarios (``tlsgen.c``, the TLS twin of ``loadgen.c``, drives them all):

* ``tls-handshake``: 8 connections at a time, each: TCP connect, a full TLS
  1.3 handshake (never resumed), one 64 B round trip, close_notify, close;
  handshakes/s and the latency of the whole connection.
* ``tls-pingpong-50``: 64 B ping-pong on 50 TLS connections; round trips/s.
* ``tls-bulk``: one TLS connection, 64 KiB writes each way; MB/s echoed.
* ``tls-idle-N``: N TLS connections held open (each handshaken and echoing
  64 B once); server memory per connection (KiB).

The server's certificate is an ECDSA P-256 one, made at run time with the
``cryptography`` package into a temporary directory whose paths the servers
get in ``$GNET_BENCH_TLS_CERT`` / ``$GNET_BENCH_TLS_KEY``. Every peer uses
its library's default server settings; the client offers one cipher suite
(TLS_AES_128_GCM_SHA256) and X25519 first, so every server does the same
cryptography. The rounds, pauses, medians and CPU counting are the TCP
suite's (``run.run_round``, ``run.summarize``): every server pinned to one
core, the generator to the other, each scenario run on every server in
turn within a round.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness
from benchmarks.harness import Scenario, ServerSpec, Settings

SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec('node', 'Node tls', 'node', ('tls_node_echo.js',)),
    ServerSpec('gnet', 'gnet.tls', 'python', ('tls_gnet_echo.py',), ('gnet', 'gevent')),
    ServerSpec('gevent', 'gevent.ssl StreamServer', 'python', ('tls_gevent_echo.py',),
               ('gevent',)),
    ServerSpec('asyncio', 'asyncio SSL Protocol', 'python', ('tls_asyncio_echo.py',)),
    ServerSpec('uvloop', 'uvloop SSL Protocol', 'python',
               ('tls_asyncio_echo.py', '--loop', 'uvloop'), ('uvloop',)),
)

TIMED: tuple[Scenario, ...] = (
    Scenario('tls-handshake', 'TLS handshakes: connect, handshake, 64 B echo, close; '
             '8 in parallel', 'connrate', 8, 64, unit='handshakes/s', latency=True),
    Scenario('tls-pingpong-50', 'TLS ping-pong, 64 B, 50 connections', 'pingpong', 50, 64,
             unit='round trips/s', latency=True),
    Scenario('tls-bulk', 'TLS bulk echo, 1 connection, 64 KiB writes', 'bulk', 1, 65536,
             metric='mb_per_s_rx', unit='MB/s each way'),
)

# gnet's targets (issue 12): (scenario, 'ge' or 'le', ratio to Node's figure).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ('tls-handshake', 'ge', 1.0),
    ('tls-pingpong-50', 'ge', 1.0),
    ('tls-bulk', 'ge', 0.9),
    ('tls-idle', 'le', 1.0),
)

IDLE_FULL, IDLE_QUICK = 2000, 500


def idle_scenario(count: int) -> Scenario:
    """Memory per idle TLS connection with ``count`` open."""
    return Scenario(f'tls-idle-{count}', f'{count:,} idle TLS connections: server memory '
                    'per connection', 'idle', metric='kib_per_conn', unit='KiB/connection',
                    higher_is_better=False, idle=count)


@contextlib.contextmanager
def certificate() -> Iterator[tuple[Path, Path]]:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, in a temp dir.

    Yields:
        The certificate and key PEM paths; both are deleted afterwards.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory(prefix='gnet-tls-bench-') as tmp:
        cert_path, key_path = Path(tmp) / 'cert.pem', Path(tmp) / 'key.pem'
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        yield cert_path, key_path


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def server_keys(suite_keys: list[str]) -> list[str]:
    """The TLS servers matching the TCP suite's ``--servers`` (asyncio-protocol -> asyncio)."""
    return [s.key for s in SERVERS if any(k.split('-')[0] == s.key for k in suite_keys)]


def steps(settings: Settings, keys: list[str] | None = None) -> int:
    """How many progress steps ``run`` takes with these servers (default all)."""
    active = [s for s in SERVERS if s.missing(settings.node) is None
              and (keys is None or s.key in keys)]
    return settings.repeats * len(active) * (len(TIMED) + 1)


def run(settings: Settings, server_keys: list[str] | None = None,
        scenario_keys: list[str] | None = None, idle_count: int = IDLE_FULL,
        progress: Any = None) -> dict[str, Any]:
    """Run the TLS rounds; return the results (servers, scenarios, runs, summary).

    Args:
        settings: The suite's settings (duration, warm-up, rounds, cores).
        server_keys: Subset of ``SERVERS`` (default all).
        scenario_keys: Subset of the timed scenarios' keys and ``tls-idle``
            (default all).
        idle_count: Idle TLS connections to hold (0: skip).
        progress: A ``run.Progress`` (one is made if None).
    """
    from benchmarks import run as suite

    specs = [s for s in SERVERS if server_keys is None or s.key in server_keys]
    timed = [sc for sc in TIMED if scenario_keys is None or sc.key in scenario_keys]
    want_idle = idle_count > 0 and (scenario_keys is None or 'tls-idle' in scenario_keys)
    idle = [idle_scenario(idle_count)] if want_idle else []
    skipped = {s.key: why for s in specs if (why := s.missing(settings.node))}
    active = [s for s in specs if s.key not in skipped]
    tlsgen = harness.build('tlsgen', libs=('-lssl', '-lcrypto'))
    if progress is None:
        progress = suite.Progress(settings.repeats * len(active)
                                  * (len(timed) + (1 if idle else 0)))
    for key, why in skipped.items():
        progress.note(f'TLS: skipping {key}: {why}')
    runs: list[dict[str, Any]] = []
    # Log files are named after the server key: keep the TCP suite's apart.
    tagged = [dataclasses.replace(s, key=f'tls-{s.key}') for s in active]
    untag = {t.key: s.key for t, s in zip(tagged, active, strict=True)}
    with certificate() as (cert_path, key_path), _env(GNET_BENCH_TLS_CERT=str(cert_path),
                                                       GNET_BENCH_TLS_KEY=str(key_path)):
        for rnd in range(settings.repeats):
            for r in suite.run_round(suite.round_order(tagged, rnd), rnd, settings, tlsgen,
                                     None, timed, idle, progress):
                r['server'] = untag[r['server']]
                runs.append(r)
    scenarios = idle + timed
    return {
        'servers': [{'key': s.key, 'label': s.label, 'kind': s.kind, 'reference': False,
                     'baseline': False, 'skipped': skipped.get(s.key)} for s in specs],
        'scenarios': [dataclasses.asdict(sc) for sc in scenarios],
        'runs': runs,
        'summary': suite.summarize(runs, scenarios, active),
        'certificate': 'ECDSA P-256, self-signed, made at run time',
        'client': 'benchmarks/tlsgen.c (OpenSSL, one thread, epoll, busy-polling), '
                  'TLS 1.3, TLS_AES_128_GCM_SHA256, no session resumption',
    }


# --------------------------------------------------------------------------
# Report

def targets(tls: dict[str, Any]) -> list[dict[str, Any]]:
    """gnet.tls against Node for each target of issue 12."""
    out = []
    titles = {sc['key']: sc for sc in tls['scenarios']}
    for key, op, want in TARGETS:
        sc_key = key if key in titles else next(
            (k for k in titles if k.startswith(key + '-')), None)
        if sc_key is None:
            continue
        sc = titles[sc_key]
        per = tls['summary'].get(sc_key, {})
        gnet, node = per.get('gnet', {}), per.get('node', {})
        ratio = gnet.get('vs_node')
        met = None if ratio is None else (ratio >= want if op == 'ge' else ratio <= want)
        out.append({'key': sc_key, 'title': sc['title'], 'unit': sc['unit'], 'mode': sc['mode'],
                    'gnet': gnet.get('value'), 'node': node.get('value'), 'ratio': ratio,
                    'required': f'{"≥" if op == "ge" else "≤"} {want:.2f}x Node', 'met': met,
                    'gnet_cpu': gnet.get('cpu_us_per_op'),
                    'node_cpu': node.get('cpu_us_per_op')})
    return out


def markdown(tls: dict[str, Any]) -> list[str]:
    """The TLS section of docs/benchmarks.md, as lines."""
    from benchmarks.report import _table, fmt_cpu, fmt_ratio, fmt_us, fmt_value

    out = ['## TLS (gnet.tls)', '',
           'From `python -m benchmarks --scenarios tls` (`benchmarks/tls_bench.py`). Each '
           'server is the TCP echo server of its library behind its TLS layer, with an ECDSA P-256 '
           f'certificate made at run time; the client is {tls["client"]}. The same rounds, '
           'pinning and CPU counting as the TCP scenarios above. "CPU us/op" is the server\'s '
           'CPU time per handshake (with its round trip and close), per round trip, per '
           'bulk read, or per connection opened.', '']
    rows = []
    for t in targets(tls):
        status = 'n/a' if t['met'] is None else '**met**' if t['met'] else 'missed'
        rows.append([t['title'], fmt_value(t['gnet'], t['unit']), fmt_value(t['node'], t['unit']),
                     fmt_ratio(t['ratio']), t['required'], status,
                     f'{fmt_cpu(t["gnet_cpu"], t["mode"])} / {fmt_cpu(t["node_cpu"], t["mode"])}'])
    out += _table(['Target', 'gnet', 'Node', 'ratio', 'required', 'status',
                   'server CPU us/op, gnet / Node'], rows, 'lrrrllr')
    out.append('')
    labels = {s['key']: s['label'] for s in tls['servers']}
    for sc in tls['scenarios']:
        per = tls['summary'].get(sc['key'], {})
        out += [f'### {sc["title"]}', '']
        header = ['Server', sc['unit'], 'x Node']
        align = 'lrr'
        if sc['latency']:
            header += ['p50 us', 'p99 us']
            align += 'rr'
        header += ['server CPU us/op', 'CPU x Node', 'generator busy', 'spread']
        align += 'rrrr'
        node_cpu = per.get('node', {}).get('cpu_us_per_op')
        rows = []
        for server in tls['servers']:
            entry = per.get(server['key'])
            if server.get('skipped') or entry is None:
                continue
            name = labels[server['key']]
            if 'value' not in entry:
                rows.append([name, 'failed: ' + entry['error'][:80].replace('|', '/')]
                            + [''] * (len(header) - 2))
                continue
            cpu = entry.get('cpu_us_per_op')
            spread = ((entry['max'] - entry['min']) / entry['value'] * 100
                      if entry['value'] else 0.0)
            row = [f'**{name}**' if server['key'] == 'gnet' else name,
                   fmt_value(entry['value'], sc['unit']), fmt_ratio(entry.get('vs_node'))]
            if sc['latency']:
                row += [fmt_us(entry.get('p50_us')), fmt_us(entry.get('p99_us'))]
            busy = entry.get('client_busy')
            row += [fmt_cpu(cpu, sc['mode']),
                    fmt_ratio(cpu / node_cpu if cpu and node_cpu else None),
                    'n/a' if busy is None else f'{busy * 100:.0f}%',
                    f'±{spread / 2:.0f}%' + (f', {entry["failed"]} failed'
                                             if entry['failed'] else '')
                    + (f', {entry["byte_errors"]} BYTE ERRORS' if entry['byte_errors'] else '')]
            rows.append(row)
        out += _table(header, rows, align)
        out.append('')
    out.append('"generator busy" is the share of the measured time tlsgen spent working rather '
               'than polling an empty epoll set: under 100% it was waiting for the server, so '
               'the figure is the server\'s. In the handshake scenario tlsgen\'s OpenSSL 3 '
               'client spends about as much CPU on a full handshake as a server does (0.75-0.9 '
               'ms measured on the machine these scenarios were written on), so read the '
               'server CPU per handshake first: where "generator busy" nears 100%, every server '
               'meets the same ceiling and the ratios are squeezed towards 1.00x.')
    skipped = [f'{labels[s["key"]]} ({s["skipped"]})' for s in tls['servers'] if s['skipped']]
    if skipped:
        out.append('')
        out.append('Skipped: ' + ', '.join(skipped) + '.')
    if tls.get('profile'):
        out += ['', tls['profile']]
    out.append('')
    return out


def console(tls: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    lines = ['', 'TLS: median figures, x Node, server CPU us/op, generator busy:']
    labels = {s['key']: s['label'] for s in tls['servers']}
    for sc in tls['scenarios']:
        per = tls['summary'].get(sc['key'], {})
        lines.append(f'  {sc["title"]} [{sc["unit"]}]')
        for key, entry in per.items():
            if 'value' not in entry:
                lines.append(f'    {labels[key]:<26} failed: {entry.get("error", "")[:60]}')
                continue
            ratio = entry.get('vs_node')
            cpu = entry.get('cpu_us_per_op')
            busy = entry.get('client_busy')
            lines.append(f'    {labels[key]:<26} {entry["value"]:>12,.2f}  '
                         f'{"" if ratio is None else f"{ratio:.2f}x":>6}  CPU '
                         f'{"n/a" if cpu is None else f"{cpu:.1f}":>7} us'
                         + ('' if busy is None else f'  gen {busy * 100:.0f}%'))
    lines.append('TLS targets for gnet:')
    for t in targets(tls):
        verdict = 'n/a' if t['met'] is None else 'met' if t['met'] else 'MISSED'
        ratio = 'n/a' if t['ratio'] is None else f'{t["ratio"]:.2f}x'
        lines.append(f'  {t["key"]:<18} {ratio:>6} {t["required"]:<14} {verdict}')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m benchmarks.tls_bench',
                                description=__doc__.split('\n')[0])
    p.add_argument('--servers', help='comma-separated subset of: '
                   + ', '.join(s.key for s in SERVERS))
    p.add_argument('--scenarios', help='comma-separated subset of: '
                   + ', '.join([sc.key for sc in TIMED] + ['tls-idle']))
    harness.add_settings_options(
        p, f'0.4 s per measurement, {IDLE_QUICK} idle connections, 1 round')
    p.add_argument('--idle', type=int, help=f'idle TLS connections (default {IDLE_FULL}; 0 '
                                            'skips)')
    p.add_argument('--json', type=Path, default=harness.BUILD_DIR / 'tls_results.json')
    p.add_argument('--md', type=Path, default=harness.BUILD_DIR / 'tls_report.md')
    args = p.parse_args(argv)
    settings = harness.settings_from_options(args)
    idle = args.idle if args.idle is not None else IDLE_QUICK if args.quick else IDLE_FULL
    harness.raise_nofile_limit()
    if settings.client_cpu is not None and len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {settings.client_cpu})
    else:
        settings.server_cpu = settings.client_cpu = None
    servers = args.servers.split(',') if args.servers else None
    scenarios = args.scenarios.split(',') if args.scenarios else None
    tls = run(settings, servers, scenarios, idle)
    tls['meta'] = {'duration': settings.duration, 'warmup': settings.warmup,
                   'repeats': settings.repeats, 'cpu': harness.cpu_model()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(tls, indent=1))
    args.md.write_text('\n'.join(markdown(tls)))
    print(console(tls))
    print(f'\nwrote {args.json} and {args.md}')
    bad = sum(r.get('byte_errors', 0) for r in tls['runs'])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

