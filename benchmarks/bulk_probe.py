"""Bulk echo, gnet and Node side by side in many short rounds: what makes it swing.

::

    python -m benchmarks.bulk_probe                      # 5 rounds x 3 s, gnet and Node
    python -m benchmarks.bulk_probe --rounds 10 --duration 3 --ss
    python -m benchmarks.bulk_probe --loadgen-opt=--sndbuf=262144 ...

Each round runs the bulk scenario (1 connection, 64 KiB writes) against
each server in turn, the order flipping every round, so both meet the same
noise. Servers are started once (``--fresh``: afresh every round), pinned
to one core, the load generator to the other, as in the suite. Per run it
records MB/s, the server's CPU per MB (user + system from schedstat), its
wakeups per MB (voluntary context switches), the generator's busy share,
and with ``--ss`` the kernel's view of both ends of the connection half-way
through the window (socket buffer sizes, what sits in them). The summary
gives each figure's min/median/max and the per-round ratio gnet / Node.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness
from benchmarks.harness import SERVERS, Scenario, ServerProcess, Settings

BULK = next(sc for sc in harness.TIMED_SCENARIOS if sc.key == 'bulk')


def proc_status(pid: int) -> dict[str, str]:
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            out[key] = value.strip()
    return out


def ctx_switches(pid: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches of all of a process's threads."""
    vol = invol = 0
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/status') as f:
                for line in f:
                    if line.startswith('voluntary_ctxt_switches'):
                        vol += int(line.split()[1])
                    elif line.startswith('nonvoluntary_ctxt_switches'):
                        invol += int(line.split()[1])
        except FileNotFoundError:
            continue
    return vol, invol


def ss_snapshot(port: int) -> dict[str, Any]:
    """Both ends of the connection to ``port``, as ``ss -tmi`` shows them."""
    out = subprocess.run(['ss', '-tmiHn', 'state', 'established'], capture_output=True,
                         text=True, timeout=5).stdout
    ends: dict[str, Any] = {}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        fields = line.split()
        if len(fields) < 4:
            continue
        local, peer = fields[2], fields[3]
        side = 'server' if local.endswith(f':{port}') else (
            'client' if peer.endswith(f':{port}') else None)
        if side is None:
            continue
        detail = ' '.join(lines[i + 1:i + 2]) if i + 1 < len(lines) else ''
        text = line + ' ' + detail
        info: dict[str, Any] = {'recvq': int(fields[0]), 'sendq': int(fields[1])}
        m = re.search(r'skmem:\(([^)]*)\)', text)
        if m:
            for part in m.group(1).split(','):
                k = re.match(r'([a-z]+)(\d+)', part)
                if k:
                    info[k.group(1)] = int(k.group(2))
        for key in ('rcv_space', 'rcv_ssthresh', 'cwnd', 'notsent', 'unacked', 'snd_wnd',
                    'rcv_wnd'):
            m = re.search(rf'\b{key}:(\d+)', text)
            if m:
                info[key] = int(m.group(1))
        ends[side] = info
    return ends


def one_run(loadgen: Path, server: ServerProcess, sc: Scenario, settings: Settings,
            sample_ss: bool, extra: list[str]) -> dict[str, Any]:
    vol0, invol0 = ctx_switches(server.pid)
    snap: dict[str, Any] = {}

    def sampler() -> None:
        time.sleep(settings.warmup + settings.duration / 2)
        try:
            snap.update(ss_snapshot(server.port))
        except (OSError, subprocess.SubprocessError):
            pass

    thread = None
    if sample_ss:
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
    if extra:
        sc = Scenario(sc.key, sc.title, sc.mode, sc.conns, sc.size, sc.depth, sc.metric,
                      sc.unit)
        orig = sc.loadgen_args
        object.__setattr__(sc, 'loadgen_args', lambda: [*orig(), *extra])
    result = harness.run_loadgen_timed(loadgen, server, sc, settings)
    vol1, invol1 = ctx_switches(server.pid)
    if thread:
        thread.join(5)
    mb = result['bytes_rx'] / 1e6
    reads = result.get('reads', result['ops'])
    cpu = result.get('server_cpu_s', result['server_user_s'] + result['server_sys_s'])
    result.update(
        mb=mb, cpu_us_per_mb=cpu / mb * 1e6 if mb else None,
        server_core=cpu / result['elapsed'],
        wakeups_per_mb=(vol1 - vol0) / mb if mb else None,
        invol_per_mb=(invol1 - invol0) / mb if mb else None,
        kib_per_read=(result['bytes_rx'] / reads / 1024) if reads else None,
        ss=snap,
    )
    return result


def spread(values: list[float]) -> str:
    if not values:
        return '-'
    return (f'{min(values):8.2f} {statistics.median(values):8.2f} {max(values):8.2f}')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--servers', default='gnet,node')
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--duration', type=float, default=3.0)
    p.add_argument('--warmup', type=float, default=0.5)
    p.add_argument('--size', type=int, default=65536, help="the generator's write size")
    p.add_argument('--fresh', action='store_true', help='start every server afresh each round')
    p.add_argument('--ss', action='store_true', help='sample both sockets half-way (ss -tmi)')
    p.add_argument('--loadgen-opt', action='append', default=[],
                   help='extra load generator option, e.g. --loadgen-opt=--window=1048576')
    p.add_argument('--variant', action='append', default=[], metavar='NAME:OPTS',
                   help='a load generator variant run in every round beside the others, '
                        'e.g. --variant "w1m:--window 1048576" (default: one, as given); '
                        'a NAME starting with "hog" also runs a busy loop on the server core, '
                        '"hoggen" on the generator\'s')
    p.add_argument('--server-env', action='append', default=[], metavar='NAME=VALUE',
                   help='environment for the servers (e.g. GNET_BENCH_SOCKBUF=262144)')
    p.add_argument('--server-cpu', type=int, default=1)
    p.add_argument('--client-cpu', type=int, default=0)
    p.add_argument('--json', type=Path, help='write every run here')
    args = p.parse_args(argv)

    settings = Settings(duration=args.duration, warmup=args.warmup,
                        server_cpu=args.server_cpu, client_cpu=args.client_cpu)
    extra = [x for opt in args.loadgen_opt for x in opt.split('=', 1)]
    variants = [(v.split(':', 1)[0], extra + v.split(':', 1)[1].split()) for v in args.variant] \
        or [('', extra)]
    for item in args.server_env:
        name, _, value = item.partition('=')
        os.environ[name] = value
    sc = Scenario(BULK.key, BULK.title, BULK.mode, BULK.conns, args.size, BULK.depth,
                  BULK.metric, BULK.unit)
    names = args.servers.split(',')
    specs = [s for k in names for s in SERVERS if s.key == k]
    keys = [k + (f'/{v}' if v else '') for v, _ in variants for k in names]
    loadgen = harness.build('loadgen')
    os.sched_setaffinity(0, {args.client_cpu})
    runs: list[dict[str, Any]] = []
    servers: dict[str, ServerProcess] = {}

    def start(spec: Any) -> ServerProcess:
        srv = ServerProcess(spec, spec.command(0, settings.python, settings.node, None),
                            settings.server_cpu)
        st = proc_status(srv.pid)
        print(f'# {spec.key} pid {srv.pid} Cpus_allowed_list {st["Cpus_allowed_list"]}',
              file=sys.stderr)
        srv.pause()
        return srv

    try:
        with harness.LatencyRequest():
            for rnd in range(args.rounds):
                pairs = [(spec, v) for v in variants for spec in specs]
                order = pairs if rnd % 2 == 0 else pairs[::-1]
                for spec, (vname, vopts) in order:
                    key = spec.key + (f'/{vname}' if vname else '')
                    if args.fresh or spec.key not in servers:
                        if spec.key in servers:
                            servers.pop(spec.key).stop()
                        servers[spec.key] = start(spec)
                    srv = servers[spec.key]
                    hog = None
                    if vname.startswith('hog'):
                        # One more busy process on the server's core: how the
                        # figures move when the machine gets busier.
                        hog = subprocess.Popen(
                            [sys.executable, '-c', 'while True: pass'],
                            preexec_fn=harness.pinned(settings.client_cpu
                                                      if vname.startswith('hoggen')
                                                      else settings.server_cpu))
                    srv.resume()
                    try:
                        r = one_run(loadgen, srv, sc, settings, args.ss, vopts)
                    finally:
                        srv.pause()
                        if hog is not None:
                            hog.kill()
                            hog.wait()
                    r.update(round=rnd, server=key)
                    runs.append(r)
                    ss = r['ss']
                    ss_text = ''
                    if ss:
                        s, c = ss.get('server', {}), ss.get('client', {})
                        ss_text = ''.join(
                            f' {who} rb {e.get("rb", 0) // 1024}K r {e.get("r", 0) // 1024}K'
                            f' t {e.get("t", 0) // 1024}K' for who, e in (('srv', s), ('gen', c)))
                    print(f'{rnd:2d} {key:10s} {r["value"]:7.0f} MB/s  '
                          f'cpu {r["cpu_us_per_mb"]:6.1f} us/MB  '
                          f'core {r["server_core"]:4.0%}  '
                          f'wake {r["wakeups_per_mb"]:5.2f}/MB  '
                          f'gen busy {r["client_busy"]:4.0%}  '
                          f'gen read {r["kib_per_read"]:5.0f}K  '
                          f'others {r.get("interference", 0):4.0%}' + ss_text, flush=True)
    finally:
        for srv in servers.values():
            srv.stop()

    print(f'\n{"":30s} {"min":>8s} {"median":>8s} {"max":>8s}')
    for key in keys:
        rows = [r for r in runs if r['server'] == key]
        print(f'{key + " MB/s":30s} {spread([r["value"] for r in rows])}')
        print(f'{key + " CPU us/MB":30s} {spread([r["cpu_us_per_mb"] for r in rows])}')
        print(f'{key + " generator busy":30s} {spread([r["client_busy"] for r in rows])}')
    by = {(r['round'], r['server']): r for r in runs}
    for vname, _ in variants:
        suffix = f'/{vname}' if vname else ''
        if 'gnet' in names and 'node' in names:
            g, n = 'gnet' + suffix, 'node' + suffix
            ratio = [by[(i, g)]['value'] / by[(i, n)]['value'] for i in range(args.rounds)]
            cpu = [by[(i, g)]['cpu_us_per_mb'] / by[(i, n)]['cpu_us_per_mb']
                   for i in range(args.rounds)]
            print(f'{"ratio MB/s gnet/node" + suffix:30s} {spread(ratio)}')
            print(f'{"ratio CPU/MB gnet/node" + suffix:30s} {spread(cpu)}')
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
