"""The chat workload and the latency tails: gnet beside Node, gevent and asyncio.

```
python -m benchmarks --scenarios chat,latency            # these only, ~10 minutes
python -m benchmarks --scenarios chat,latency --quick    # ~2 minutes
python -m benchmarks.chat_bench --quick --servers gnet,node   # the same, without the echo suite
```

**Chat** (``servers/chat_*``: the same chat server written the usual way for
each peer: a set of members, each member's 'data' split into lines, every
line written to every other member, a new member greeted with
``welcome\\n``), driven by ``chatgen.c``, which checks every line delivered
(its sender, sequence number, length and padding; see its header):

* ``chat-memory``: 10,000 members join (each counted once greeted); server
  memory per member = (RSS with them all - RSS before) / members, and server
  CPU per member joined.
* ``chat-room``: then 1 % of those members each send one line per second, on
  a fixed schedule whatever the server does, for ``room_duration`` seconds:
  server CPU per second of that (a share of one core), and the delivery
  latency of every line to every member, p50/p99/p99.9.
* ``chat-fanout``: 1,000 members, one of them sending, 8 lines in flight (a
  line is done when all 999 others have it): deliveries per second, server
  CPU per delivery.

**Latency** (``latency``): ping-pong against the echo servers (gnet, Node,
gevent) at a fixed offered load: first Node's maximum is measured in the
same run (``loadgen pingpong``, 50 connections, closed loop), then each
server gets half of it, 64 B requests spread over 50 connections on a fixed
schedule (``chatgen paced``, open loop, latency counted from the time each
request was due); p50/p99/p99.9 round trip, server CPU per request.

Every round starts each server afresh and runs its scenarios one after the
other; the servers take turns in an order that reverses every round and
rotates every second round (gnet, Node, ..., then ..., Node, gnet), so a
slow stretch of the machine lands on neighbours alike. Each ratio to Node is
taken round by round, and the report gives its median, min and max: a
target holds only when its worst round does.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python benchmarks/chat_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness
from benchmarks.harness import BenchError, ServerProcess, ServerSpec, Settings

CHAT_SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec('node', 'Node net', 'node', ('chat_node.js',)),
    ServerSpec('gnet', 'gnet', 'python', ('chat_gnet.py',), ('gnet', 'gevent')),
    ServerSpec('gevent', 'gevent StreamServer', 'python', ('chat_gevent.py',), ('gevent',)),
    ServerSpec('asyncio-protocol', 'asyncio Protocol', 'python', ('chat_asyncio.py',)),
    ServerSpec('uvloop-protocol', 'uvloop Protocol', 'python',
               ('chat_asyncio.py', '--loop', 'uvloop'), ('uvloop',)),
)
# The latency scenario uses the suite's echo servers.
LATENCY_KEYS = ('node', 'gnet', 'gevent')
GROUPS = ('chat', 'latency')
SERVER_KEYS = tuple(s.key for s in CHAT_SERVERS)


@dataclass(frozen=True)
class ChatScenario:
    """One figure of this module, in the shape report.py's tables and chart read."""

    key: str
    title: str
    unit: str
    higher_is_better: bool
    cpu_unit: str  # what server CPU is counted per
    group: str


SCENARIOS: tuple[ChatScenario, ...] = (
    ChatScenario('chat-fanout', 'Chat fan-out: 1 sender, {fanout_members:,} members',
                 'deliveries/s', True, 'delivery', 'chat'),
    ChatScenario('chat-room', 'Chat room: {room_members:,} members, {room_senders:,} sending '
                 '1 line/s each', 'server CPU, share of a core', False, 'delivery', 'chat'),
    ChatScenario('chat-memory', 'Chat room: server memory per member, {room_members:,} members',
                 'KiB/member', False, 'member joined', 'chat'),
    ChatScenario('latency', 'Ping-pong at a fixed load: {latency_rate:,.0f} requests/s '
                 '(half of Node\'s maximum), 50 connections', 'p99 us', False, 'request',
                 'latency'),
)

# A server that delivers less than this share of what the schedule asks for
# is saturated: its latency is its backlog, growing for as long as the run lasts.
SATURATED = 0.9

# gnet's targets on these scenarios: (scenario, 'ge'/'le', ratio to Node), judged
# on the worst round.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ('chat-fanout', 'ge', 1.2),
    ('chat-room', 'le', 0.8),
    ('chat-memory', 'le', 0.3),
    ('latency', 'le', 1.0),
)


@dataclass
class Sizes:
    """How big and how long (the full run's figures; ``quick()`` for a short one)."""

    rounds: int = 5
    fanout_members: int = 1000
    fanout_window: int = 8
    fanout_duration: float = 2.0
    room_members: int = 10000
    room_percent: float = 1.0
    room_rate: float = 1.0
    room_duration: float = 10.0
    latency_conns: int = 50
    latency_duration: float = 3.0
    node_max_runs: int = 3
    warmup: float = 1.0
    drain: float = 5.0

    @property
    def room_senders(self) -> int:
        return max(1, round(self.room_members * self.room_percent / 100))


def quick_sizes() -> Sizes:
    """A run of a couple of minutes: fewer rounds, members and seconds."""
    return Sizes(rounds=2, fanout_members=1000, fanout_duration=0.5, room_members=2000,
                 room_duration=2.0, latency_duration=1.0, node_max_runs=1, warmup=0.3,
                 drain=3.0)


def override(sizes: Sizes, items: Sequence[str]) -> Sizes:
    """``sizes`` with ``NAME=VALUE`` items applied (``--chat-size room_members=2000``).

    Raises:
        ValueError: an unknown name or a value of the wrong type.
    """
    fields = {f.name: f.type for f in dataclasses.fields(Sizes)}
    changes: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition('=')
        name = name.strip().replace('-', '_')
        if not sep or name not in fields:
            raise ValueError(f'{item!r}: expected NAME=VALUE with NAME one of '
                             f'{", ".join(fields)}')
        kind = int if fields[name] in (int, 'int') else float
        try:
            changes[name] = kind(value)
        except ValueError:
            raise ValueError(f'{item!r}: {value!r} is not a{"n int" if kind is int else " number"}'
                             ) from None
    return replace(sizes, **changes)


def scale_to_descriptor_limit(sizes: Sizes, note: Callable[[str], None]) -> Sizes:
    """Fewer members if the hard descriptor limit cannot hold them.

    The server and the generator each hold one descriptor per member; each
    raises its soft limit to the hard limit (``harness.pinned``), which is
    what must leave room for them.
    """
    harness.raise_nofile_limit()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    room = hard - 200
    if hard != resource.RLIM_INFINITY and room < max(sizes.room_members, sizes.fanout_members):
        note(f'note: the descriptor limit is {hard} (ulimit -Hn): the chat scenarios run '
             f'with {room:,} members instead of {sizes.room_members:,} (fan-out: '
             f'{min(sizes.fanout_members, room):,}); raise it for the full figures')
        sizes = replace(sizes, room_members=min(sizes.room_members, room),
                        fanout_members=min(sizes.fanout_members, room))
    return sizes


# --------------------------------------------------------------------------
# Running chatgen

def _order(specs: Sequence[ServerSpec], rnd: int) -> list[ServerSpec]:
    """Round ``rnd``'s order: reversed every other round, rotated every second one."""
    items = list(specs)
    if not items:
        return []
    shift = (rnd // 2) % len(items)
    items = items[shift:] + items[:shift]
    return items[::-1] if rnd % 2 else items


def run_chatgen(chatgen: Path, server: ServerProcess, args: list[str], settings: Settings,
                timeout: float, on_joined: Callable[[dict[str, Any]], None] | None = None,
                ) -> dict[str, Any]:
    """Run one chatgen measurement against ``server``.

    The server's CPU time is read when the members have joined, when the
    generator starts measuring and when it stops, so CPU per member joined
    and CPU per delivery cover the right windows. ``on_joined`` runs while
    the members are held (``--hold 1``): the memory is read there.

    Returns:
        chatgen's result, plus ``joined`` (its joined line), ``server_cpu_s``
        (in the measured window), ``join_cpu_s``, ``interference``.

    Raises:
        BenchError: the generator failed or checked a line that was wrong.
    """
    hold = on_joined is not None
    argv = [str(chatgen), *args, '--hold', '1' if hold else '0']
    cpu_start = server.cpu_exact()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=harness.pinned(settings.client_cpu))
    assert proc.stdin is not None
    cores = ((settings.server_cpu, settings.client_cpu)
             if settings.server_cpu is not None and settings.client_cpu is not None else None)
    result: dict[str, Any] = {}
    try:
        joined = json.loads(harness._read_line(proc, timeout))
        result['joined'] = joined
        cpu_joined = server.cpu_exact()
        if cpu_start is not None and cpu_joined is not None:
            result['join_cpu_s'] = cpu_joined - cpu_start
        if joined.get('joined') != joined.get('members'):
            raise BenchError(f'only {joined.get("joined")} of {joined.get("members")} members '
                             f'joined ({joined.get("last_error")})')
        if hold:
            assert on_joined is not None
            on_joined(result)
            proc.stdin.write(b'\n')
            proc.stdin.flush()
        line = json.loads(harness._read_line(proc, timeout))
        if line.get('event') != 'measuring':
            raise BenchError(f'unexpected chatgen output {line!r}')
        cpu0 = server.cpu_exact()
        if cores:
            busy0 = harness.core_busy(cores[0]), harness.core_busy(cores[1])
            own0 = sum(os.times()[:2])
            srv0 = sum(server.cpu())
        line = json.loads(harness._read_line(proc, timeout))
        cpu1 = server.cpu_exact()
        if cores:
            busy1 = harness.core_busy(cores[0]), harness.core_busy(cores[1])
            own1 = sum(os.times()[:2])
            srv1 = sum(server.cpu())
        final = json.loads(harness._read_line(proc, timeout))
        proc.wait(timeout)
    except (BenchError, subprocess.TimeoutExpired, BrokenPipeError, ValueError) as exc:
        proc.kill()
        proc.wait()
        server.check_alive()
        err = proc.stderr.read().decode(errors='replace').strip() if proc.stderr else ''
        raise BenchError(f'chatgen: {exc} {err}'.strip()) from None
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream and not stream.closed:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass
    result.update(final)
    if cpu0 is not None and cpu1 is not None:
        result['server_cpu_s'] = cpu1 - cpu0
    if cores:
        client = final['client_cpu'] * final['elapsed'] + (own1 - own0)
        others = (max(0.0, busy1[0] - busy0[0] - (srv1 - srv0))
                  + max(0.0, busy1[1] - busy0[1] - client))
        result['interference'] = others / final['elapsed'] if final['elapsed'] else 0.0
    server.check_alive()
    # Overruns (lines not sent because the server left a sender's socket full
    # for thousands of lines) are a figure, not a failure: the report shows them.
    if final.get('line_errors') or final.get('errors'):
        raise BenchError(
            f'chatgen found {final.get("line_errors")} wrong lines, {final.get("errors")} '
            f'connection errors: {final.get("last_error")} {final.get("bad_line")}')
    return result


def wait_idle(server: ServerProcess, timeout: float = 60.0) -> bool:
    """Wait until the server stops using CPU (two 0.2 s looks under 10 % of a core).

    A server that fell behind may still be writing a finished scenario's lines
    after its members left; members of the next scenario joining meanwhile
    would get lines they never asked for.
    """
    deadline = time.monotonic() + timeout
    quiet = 0
    last = server.cpu_exact()
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(0.2)
        server.check_alive()
        now = server.cpu_exact()
        quiet = quiet + 1 if now is None or last is None or now - last < 0.02 else 0
        last = now
    return quiet >= 2


def _per_op_us(cpu_s: float | None, ops: float) -> float | None:
    return cpu_s / ops * 1e6 if cpu_s is not None and ops else None


def _warm_server(chatgen: Path, spec: ServerSpec, settings: Settings) -> ServerProcess:
    """Start a chat server and warm its code paths up (joining, splitting, writing).

    It is then left to see the closes and to go idle, so that what is
    measured next starts from a quiet server.
    """
    server = ServerProcess(spec, spec.command(0, settings.python, settings.node, None),
                           settings.server_cpu)
    try:
        base_fds = server.fd_count()
        run_chatgen(chatgen, server, ['fanout', str(server.port), '--members', '8',
                                      '--duration', '0.1', '--warmup', '0.05'], settings, 60)
        server.wait_fds(base_fds, 10)
        wait_idle(server)
    except BaseException:
        server.stop()
        raise
    return server


def measure_chat(chatgen: Path, spec: ServerSpec, settings: Settings, sizes: Sizes,
                 want: set[str]) -> list[dict[str, Any]]:
    """Run the chat scenarios in ``want`` on fresh servers of ``spec``.

    Memory and the room profile share one server and one set of members
    (memory is read once they have all joined, before any line is sent).
    Fan-out gets a server of its own: one that fell behind in the room may
    still be writing the room's lines long after its members left.
    """
    rows: list[dict[str, Any]] = []
    room = sorted(want & {'chat-room', 'chat-memory'})
    if room:
        try:
            rows += _room(chatgen, spec, settings, sizes, want)
        except (BenchError, OSError) as exc:  # OSError: /proc of a server that died
            rows += [{'scenario': key, 'error': str(exc)} for key in room]
    if 'chat-fanout' in want:
        try:
            rows.append(_fanout(chatgen, spec, settings, sizes))
        except (BenchError, OSError) as exc:
            rows.append({'scenario': 'chat-fanout', 'error': str(exc)})
    return rows


def _room(chatgen: Path, spec: ServerSpec, settings: Settings, sizes: Sizes,
          want: set[str]) -> list[dict[str, Any]]:
    """Memory per member and the room profile, on one server and one set of members."""
    rows: list[dict[str, Any]] = []
    server = _warm_server(chatgen, spec, settings)
    try:
        base_rss = server.settled_rss()
        members = sizes.room_members

        def read_memory(res: dict[str, Any]) -> None:
            res['base_rss_kib'] = base_rss
            res['rss_kib'] = server.settled_rss()
            res['server_fds'] = server.fd_count()

        timeout = sizes.warmup + sizes.room_duration + sizes.drain + 150
        res = run_chatgen(chatgen, server, [
            'room', str(server.port), '--members', str(members),
            '--senders', str(sizes.room_senders), '--rate', str(sizes.room_rate),
            '--duration', str(sizes.room_duration), '--warmup', str(sizes.warmup),
            '--drain', str(sizes.drain), '--join-timeout', '120'], settings, timeout,
            on_joined=read_memory)
    finally:
        server.stop()
    if 'chat-memory' in want:
        rows.append({
            'scenario': 'chat-memory', 'members': members,
            'value': (res['rss_kib'] - res['base_rss_kib']) / members,
            'cpu_us_per_op': _per_op_us(res.get('join_cpu_s'), members),
            'base_rss_kib': res['base_rss_kib'], 'rss_kib': res['rss_kib'],
            'server_fds': res['server_fds'], 'join_seconds': res['join_seconds'],
        })
    if 'chat-room' in want:
        asked = sizes.room_senders * sizes.room_rate * (members - 1)
        rows.append({
            'scenario': 'chat-room', **_strip(res),
            'value': res['server_cpu_s'] / res['elapsed'],
            'cpu_us_per_op': _per_op_us(res.get('server_cpu_s'), res['deliveries']),
            'asked_per_s': asked, 'saturated': res['rate'] < SATURATED * asked,
        })
    return rows


def _fanout(chatgen: Path, spec: ServerSpec, settings: Settings, sizes: Sizes
            ) -> dict[str, Any]:
    server = _warm_server(chatgen, spec, settings)
    try:
        res = run_chatgen(chatgen, server, [
            'fanout', str(server.port), '--members', str(sizes.fanout_members),
            '--window', str(sizes.fanout_window), '--duration', str(sizes.fanout_duration),
            '--warmup', str(sizes.warmup), '--drain', str(sizes.drain)], settings,
            sizes.warmup + sizes.fanout_duration + sizes.drain + 60)
    finally:
        server.stop()
    return {'scenario': 'chat-fanout', **_strip(res), 'value': res['rate'],
            'cpu_us_per_op': _per_op_us(res.get('server_cpu_s'), res['deliveries'])}


def _strip(res: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in res.items() if k not in ('joined', 'bad_line', 'last_error')}
    if not out.get('samples'):
        # No line due in the measured window arrived: no latency to give.
        for key in ('p50_us', 'p99_us', 'p999_us', 'max_us'):
            out[key] = None
    return out


def node_maximum(loadgen: Path, settings: Settings, sizes: Sizes) -> dict[str, Any]:
    """Node's ping-pong maximum (round trips/s, closed loop, 50 connections): the median."""
    spec = next(s for s in harness.SERVERS if s.key == 'node')
    scenario = harness.Scenario('node-max', 'Node ping-pong maximum', 'pingpong',
                                sizes.latency_conns, 64, unit='round trips/s')
    server = ServerProcess(spec, spec.command(0, settings.python, settings.node, None),
                           settings.server_cpu)
    try:
        timed = replace(settings, duration=max(settings.duration, 1.0), warmup=0.3)
        rates = [harness.run_loadgen_timed(loadgen, server, scenario, timed)['rate']
                 for _ in range(sizes.node_max_runs)]
    finally:
        server.stop()
    return {'rates': rates, 'max_rate': statistics.median(rates)}


def measure_latency(chatgen: Path, spec: ServerSpec, settings: Settings, sizes: Sizes,
                    rate: float) -> dict[str, Any]:
    """Ping-pong at ``rate`` requests/s against one echo server: latency tails, CPU."""
    server = ServerProcess(spec, spec.command(0, settings.python, settings.node, None),
                           settings.server_cpu)
    try:
        res = run_chatgen(chatgen, server, [
            'paced', str(server.port), '--conns', str(sizes.latency_conns), '--rate',
            f'{rate:.1f}', '--duration', str(sizes.latency_duration), '--warmup',
            str(sizes.warmup), '--drain', str(sizes.drain)], settings,
            sizes.warmup + sizes.latency_duration + sizes.drain + 60)
    finally:
        server.stop()
    return {'scenario': 'latency', **_strip(res), 'value': res['p99_us'],
            'cpu_us_per_op': _per_op_us(res.get('server_cpu_s'), res['deliveries']),
            'asked_per_s': rate, 'saturated': res['rate'] < SATURATED * rate}


# --------------------------------------------------------------------------
# The run

class _Printer:
    """Progress lines on stderr when no run.Progress is given."""

    def begin(self, text: str) -> None:
        pass

    def end(self, text: str, steps: int = 1) -> None:
        print(text, file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def steps(keys: Sequence[str], groups: set[str], sizes: Sizes) -> int:
    """How many progress steps ``run`` will report."""
    chat = sum(1 for s in CHAT_SERVERS if s.key in keys) if 'chat' in groups else 0
    lat = sum(1 for k in LATENCY_KEYS if k in keys) if 'latency' in groups else 0
    return sizes.rounds * (chat + lat) + (1 if lat else 0)


def run(keys: Sequence[str], groups: set[str], settings: Settings, sizes: Sizes,
        progress: Any = None, only: set[str] | None = None) -> dict[str, Any]:
    """Run the chat and/or latency scenarios for the servers in ``keys``.

    ``only`` narrows the chat scenarios (``chat-fanout``, ``chat-room``,
    ``chat-memory``) to those named.

    Returns:
        The results: ``meta`` (sizes, date), ``servers``, ``scenarios`` (with
        their titles filled in), ``runs`` (one row per round, server and
        scenario), ``summary`` (per scenario and server: median/min/max of
        the figure and of CPU per operation, and the per-round ratios to
        Node) and ``node_max`` (the latency scenario's reference).
    """
    progress = progress or _Printer()
    sizes = scale_to_descriptor_limit(sizes, progress.note)
    chatgen = harness.build('chatgen')
    skipped: dict[str, str] = {}
    chat_specs: list[ServerSpec] = []
    if 'chat' in groups:
        for spec in CHAT_SERVERS:
            if spec.key not in keys:
                continue
            reason = spec.missing(settings.node)
            if reason:
                skipped[spec.key] = reason
            else:
                chat_specs.append(spec)
    lat_specs: list[ServerSpec] = []
    if 'latency' in groups:
        for spec in harness.SERVERS:
            if spec.key in LATENCY_KEYS and spec.key in keys:
                reason = spec.missing(settings.node)
                if reason:
                    skipped[spec.key] = reason
                else:
                    lat_specs.append(spec)
    for key, reason in skipped.items():
        progress.note(f'chat/latency: skipping {key}: {reason}')
    want = {sc.key for sc in SCENARIOS if sc.group in groups
            and (sc.group != 'chat' or not only or sc.key in only)}
    runs: list[dict[str, Any]] = []
    node_max = None
    latency_rate = None
    if lat_specs:
        if settings.node:
            loadgen = harness.build('loadgen')
            progress.begin('latency: Node\'s ping-pong maximum')
            try:
                node_max = node_maximum(loadgen, settings, sizes)
                latency_rate = node_max['max_rate'] / 2
                progress.end(f'latency: Node\'s maximum {node_max["max_rate"]:,.0f} round '
                             f'trips/s (runs: {", ".join(f"{r:,.0f}" for r in node_max["rates"])})'
                             f'; offered load {latency_rate:,.0f} requests/s')
            except (BenchError, OSError) as exc:
                progress.end(f'latency: Node\'s maximum FAILED: {exc}')
        if latency_rate is None:
            progress.note('latency: no Node maximum, so no offered load: skipped')
            lat_specs = []

    for rnd in range(sizes.rounds):
        label = f'round {rnd + 1}/{sizes.rounds}'
        for spec in _order(chat_specs, rnd):
            progress.begin(f'{label}  chat  {spec.label}')
            try:
                rows = measure_chat(chatgen, spec, settings, sizes, want)
            except (BenchError, OSError) as exc:  # OSError: /proc of a server that died
                rows = [{'scenario': key, 'error': str(exc)} for key in sorted(want)
                        if key.startswith('chat-')]
            for row in rows:
                runs.append({'round': rnd, 'server': spec.key, **row})
            progress.end(f'{label}  chat  {spec.label:<20} ' + _describe(rows))
        for spec in _order(lat_specs, rnd):
            progress.begin(f'{label}  latency  {spec.label}')
            assert latency_rate is not None
            try:
                row = measure_latency(chatgen, spec, settings, sizes, latency_rate)
            except (BenchError, OSError) as exc:
                row = {'scenario': 'latency', 'error': str(exc)}
            runs.append({'round': rnd, 'server': spec.key, **row})
            progress.end(f'{label}  latency  {spec.label:<20} ' + _describe([row]))

    fill = {**asdict(sizes), 'room_senders': sizes.room_senders,
            'latency_rate': latency_rate or 0.0}
    scenarios = []
    for sc in SCENARIOS:
        if sc.key in want and (sc.key != 'latency' or lat_specs):
            scenarios.append({**asdict(sc), 'title': sc.title.format(**fill)})
    specs = chat_specs + [s for s in lat_specs if s.key not in {c.key for c in chat_specs}]
    return {
        'meta': {
            'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'sizes': {**asdict(sizes), 'room_senders': sizes.room_senders},
            'nofile_hard': resource.getrlimit(resource.RLIMIT_NOFILE)[1],
            'server_cpu': settings.server_cpu, 'client_cpu': settings.client_cpu,
        },
        'servers': [{'key': s.key, 'label': s.label} for s in specs],
        'skipped': skipped,
        'scenarios': scenarios,
        'runs': runs,
        'summary': summarize(runs, scenarios),
        'node_max': node_max,
        'latency_rate': latency_rate,
    }


def _describe(rows: list[dict[str, Any]]) -> str:
    parts = []
    for r in rows:
        if 'error' in r:
            parts.append(f'{r["scenario"]} FAILED: {r["error"][:100]}')
        elif r['scenario'] == 'chat-memory':
            parts.append(f'memory {r["value"]:.2f} KiB/member')
        elif r['scenario'] == 'chat-room':
            parts.append(f'room CPU {r["value"]:.2f} core, {r["rate"]:,.0f} deliveries/s'
                         f'{" (saturated)" if r["saturated"] else ""}, p50/p99/p99.9 '
                         f'{_pcts(r)} us')
        elif r['scenario'] == 'chat-fanout':
            parts.append(f'fan-out {r["value"]:,.0f} deliveries/s, CPU '
                         f'{_fmt(r.get("cpu_us_per_op"))} us/delivery')
        else:
            parts.append(f'p50/p99/p99.9 {_pcts(r)} us at {r["rate"]:,.0f}/s'
                         f'{" (saturated)" if r["saturated"] else ""}, CPU '
                         f'{_fmt(r.get("cpu_us_per_op"))} us/request')
    return '; '.join(parts)


def _pcts(r: dict[str, Any]) -> str:
    return '/'.join('n/a' if r.get(k) is None else f'{r[k]:,.0f}'
                    for k in ('p50_us', 'p99_us', 'p999_us'))


def _fmt(value: float | None) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


# --------------------------------------------------------------------------
# Summary

def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values),
            'n': len(values)}


def summarize(runs: list[dict[str, Any]], scenarios: list[dict[str, Any]]
              ) -> dict[str, dict[str, Any]]:
    """Per scenario and server: figure and CPU median (min-max), ratios to Node per round."""
    summary: dict[str, dict[str, Any]] = {}
    for sc in scenarios:
        per: dict[str, Any] = {}
        rows = [r for r in runs if r['scenario'] == sc['key']]
        for key in dict.fromkeys(r['server'] for r in rows):
            mine = [r for r in rows if r['server'] == key]
            good = [r for r in mine if 'error' not in r]
            if not good:
                per[key] = {'error': mine[-1]['error'], 'failed': len(mine)}
                continue
            entry: dict[str, Any] = {'failed': len(mine) - len(good)}
            good = [r for r in good if r['value'] is not None] or good
            if any(r['value'] is None for r in good):
                per[key] = {'error': 'no line due in the measured window arrived',
                            'failed': len(mine)}
                continue
            entry['figure'] = _stats([r['value'] for r in good])
            entry['value'] = entry['figure']['median']
            entry['min'], entry['max'] = entry['figure']['min'], entry['figure']['max']
            entry['cpu'] = _stats([r['cpu_us_per_op'] for r in good
                                   if r.get('cpu_us_per_op') is not None])
            entry['cpu_us_per_op'] = entry['cpu']['median'] if entry['cpu'] else None
            for pct in ('p50_us', 'p99_us', 'p999_us'):
                known = [r[pct] for r in good if r.get(pct) is not None]
                if known:
                    entry[pct] = statistics.median(known)
            entry['saturated'] = sum(1 for r in good if r.get('saturated'))
            if all('rate' in r for r in good) and sc['key'] != 'chat-fanout':
                entry['rate'] = statistics.median(r['rate'] for r in good)
            entry['undelivered'] = sum(r.get('undelivered', 0) for r in good)
            if all('client_busy' in r for r in good):
                entry['client_busy'] = statistics.median(r['client_busy'] for r in good)
            entry['late_sends'] = sum(r.get('late_sends', 0) for r in good)
            entry['overruns'] = sum(r.get('overruns', 0) for r in good)
            entry['disturbed'] = sum(1 for r in good if r.get('interference', 0) > 0.05)
            per[key] = entry
        # Ratios to Node, round by round: the comparison within one round is the
        # one both servers met the same machine in.
        node_rows = {r['round']: r for r in rows if r['server'] == 'node' and 'error' not in r
                     and r['value'] is not None}
        for key, entry in per.items():
            if 'value' not in entry:
                continue
            mine = [r for r in rows if r['server'] == key and 'error' not in r]
            ratios, cpu_ratios = [], []
            for r in mine:
                ref = node_rows.get(r['round'])
                if not ref:
                    continue
                if ref['value']:
                    ratios.append(r['value'] / ref['value'])
                if r['value'] is None or ref['value'] is None:
                    continue
                if r.get('cpu_us_per_op') and ref.get('cpu_us_per_op'):
                    cpu_ratios.append(r['cpu_us_per_op'] / ref['cpu_us_per_op'])
            entry['vs_node'] = _stats(ratios)
            entry['cpu_vs_node'] = _stats(cpu_ratios)
        summary[sc['key']] = per
    return summary


def targets(chat: dict[str, Any]) -> list[dict[str, Any]]:
    """gnet's targets on these scenarios, each judged on its worst round."""
    out = []
    titles = {sc['key']: sc for sc in chat['scenarios']}
    for key, op, want in TARGETS:
        if key not in titles:
            continue
        gnet = chat['summary'].get(key, {}).get('gnet', {})
        ratio = gnet.get('vs_node')
        row: dict[str, Any] = {'key': key, 'title': titles[key]['title'],
                               'unit': titles[key]['unit'], 'ratio': ratio,
                               'required': f'{"≥" if op == "ge" else "≤"} {want:.2f}x Node'}
        if not ratio:
            row['met'], row['verdict'] = None, 'not measured'
        else:
            worst = ratio['min'] if op == 'ge' else ratio['max']
            row['worst'] = worst
            row['met'] = worst >= want if op == 'ge' else worst <= want
            median_ok = ratio['median'] >= want if op == 'ge' else ratio['median'] <= want
            row['verdict'] = ('met in every round' if row['met'] else
                              'missed (held in the median round only)' if median_ok
                              else 'missed')
        out.append(row)
    return out


# --------------------------------------------------------------------------
# Report

def _fv(value: float | None, unit: str = '') -> str:
    if value is None:
        return 'n/a'
    if 'KiB' in unit or 'core' in unit:
        return f'{value:,.2f}'
    if abs(value) >= 100:
        return f'{value:,.0f}'
    if abs(value) >= 10:
        return f'{value:,.1f}'
    return f'{value:,.2f}'


def _fr(stats: dict[str, float] | None) -> str:
    if not stats:
        return 'n/a'
    return f'{stats["median"]:.2f}x ({stats["min"]:.2f}-{stats["max"]:.2f}x)'


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(':---' if a == 'l' else '---:' for a in align) + '|']
    return lines + ['| ' + ' | '.join(row) + ' |' for row in rows]


def report(chat: dict[str, Any], level: int = 2) -> str:
    """The Markdown sections for these results (``level``: heading depth)."""
    h = '#' * level
    meta, sizes = chat['meta'], chat['meta']['sizes']
    labels = {s['key']: s['label'] for s in chat['servers']}
    rounds = sizes['rounds']
    out = [f'{h} Chat and latency tails', '']
    out.append(
        f'From `python -m benchmarks --scenarios chat,latency` (or the full run) on '
        f'{meta["date"]}; {rounds} rounds, each server started afresh in every round, in an '
        'order that reverses every round and rotates every second one. Figures are the '
        'median (min-max) of the rounds; "x Node" is the ratio to Node taken round by round, '
        'median (min-max), so a slow stretch of the machine falls on both sides of a ratio. '
        'Server CPU is user + system time to the nanosecond (/proc/PID/task/*/schedstat) in '
        'the measured window. The generator (benchmarks/chatgen.c) checks every line every '
        'member gets: sender, sequence number, length and content; "undelivered" counts the '
        'lines a member never got (after up to '
        f'{sizes["drain"]:.0f} s of draining).')
    out.append('')
    rows = []
    for t in targets(chat):
        status = ('**met**' if t['met'] else t['verdict']) if t['met'] is not None else 'n/a'
        rows.append([t['title'] + f' ({t["unit"]})', _fr(t['ratio']), t['required'],
                     f'{t["worst"]:.2f}x' if 'worst' in t else 'n/a', status])
    if rows:
        out.append('Targets for gnet, each judged on its worst round:')
        out.append('')
        out += _table(['Target', 'gnet x Node, median (min-max)', 'required', 'worst round',
                       'status'], rows, 'lrlrl')
        out.append('')
    for sc in chat['scenarios']:
        per = chat['summary'].get(sc['key'], {})
        out.append(f'{h}# {sc["title"]}')
        out.append('')
        lat = sc['key'] in ('chat-room', 'latency')
        header = ['Server', sc['unit'], 'x Node (min-max)']
        align = 'lrr'
        room = sc['key'] == 'chat-room'
        if lat:
            header += ['p50 us', *(['p99 us'] if room else []), 'p99.9 us',
                       'delivered/s' if room else 'answered/s', 'undelivered']
            align += 'rrrrr' if room else 'rrrr'
        header += [f'server CPU us/{sc["cpu_unit"]}', 'CPU x Node (min-max)']
        align += 'rr'
        busy = sc['key'] != 'chat-memory'
        if busy:
            header.append('generator busy')
            align += 'r'
        table = []
        for s in chat['servers']:
            entry = per.get(s['key'])
            if entry is None:
                continue
            name = f'**{labels[s["key"]]}**' if s['key'] == 'gnet' else labels[s['key']]
            if 'value' not in entry:
                table.append([name, 'failed: ' + entry['error'][:80].replace('|', '/')]
                             + [''] * (len(header) - 2))
                continue
            fig = entry['figure']
            row = [name, f'{_fv(fig["median"], sc["unit"])} ({_fv(fig["min"], sc["unit"])}-'
                         f'{_fv(fig["max"], sc["unit"])})',
                   _fr(entry.get('vs_node')) if s['key'] != 'node' else '1.00x']
            if lat:
                row += [_fv(entry.get('p50_us')), *([_fv(entry.get('p99_us'))] if room else []),
                        _fv(entry.get('p999_us')), _fv(entry.get('rate')),
                        f'{entry["undelivered"]:,}']
            cpu = entry.get('cpu')
            row += [f'{cpu["median"]:.2f} ({cpu["min"]:.2f}-{cpu["max"]:.2f})' if cpu else 'n/a',
                    _fr(entry.get('cpu_vs_node')) if s['key'] != 'node' else '1.00x']
            if busy:
                cell = f'{entry["client_busy"]:.0%}' if 'client_busy' in entry else 'n/a'
                if lat and entry.get('late_sends'):
                    cell += f' ({entry["late_sends"]:,} sent late)'
                row.append(cell)
            if entry.get('failed'):
                row[0] += f' ({entry["failed"]} failed)'
            if entry.get('saturated'):
                row[0] += f' (saturated in {entry["saturated"]} of {fig["n"]} rounds)'
            if entry.get('disturbed'):
                row[0] += f' ({entry["disturbed"]} disturbed)'
            if entry.get('overruns'):
                row[0] += f' ({entry["overruns"]:,} lines never sent: the server stopped reading)'
            table.append(row)
        out += _table(header, table, align)
        out.append('')
    node_max = chat.get('node_max')
    if node_max:
        out.append(f'The latency scenario\'s load: Node\'s ping-pong maximum in this run was '
                   f'{node_max["max_rate"]:,.0f} round trips/s (median of '
                   f'{len(node_max["rates"])} runs of {sizes["latency_conns"]} connections, '
                   f'closed loop), so every server got {chat["latency_rate"]:,.0f} requests/s.')
        out.append('')
    out.append(
        f'- **Fan-out**: {sizes["fanout_members"]:,} members join (each counted once the '
        f'server has greeted it); one sends 64 B lines with {sizes["fanout_window"]} in '
        'flight: a new line goes out as soon as one has reached every other member. The '
        f'figure is lines delivered to members per second over {sizes["fanout_duration"]} s; '
        'server CPU per delivered line.')
    out.append(
        f'- **Room**: {sizes["room_members"]:,} members join; then '
        f'{sizes["room_senders"]:,} of them ({sizes["room_percent"]:g} %) each send '
        f'{sizes["room_rate"]:g} line(s) per second, on a schedule spread evenly over them and '
        'kept whatever the server does (open loop), for '
        f'{sizes["room_duration"]:g} s after {sizes["warmup"]:g} s of warm-up. The figure is '
        'the server\'s CPU time per second (1.00 = a whole core); latency is from the time a '
        'line was due to its arrival at each member. The room asks for '
        f'{sizes["room_senders"] * sizes["room_rate"] * (sizes["room_members"] - 1):,.0f} '
        'deliveries per second: a server that cannot keep up shows about 1.00 core, '
        '"delivered/s" below that, and a latency that grows with the backlog for as long '
        'as the run lasts: it is marked "saturated" (delivered under '
        f'{SATURATED:.0%} of what was asked), and CPU per delivery is then the figure to '
        'compare. `--chat-size room_rate=0.1` asks a tenth as much.')
    out.append(
        f'- **Memory**: the room\'s server RSS once all {sizes["room_members"]:,} members have '
        'joined, before any line is sent, less its RSS before they came, per member; server '
        'CPU per member joined (accept, greeting).')
    out.append(
        f'- **Latency at a fixed load**: the echo servers of the suite; '
        f'{sizes["latency_conns"]} connections, 64 B requests due at a fixed rate spread '
        'round robin over them (a request is sent when due even if the previous answer has '
        'not come back), for '
        f'{sizes["latency_duration"]:g} s after {sizes["warmup"]:g} s of warm-up; round-trip '
        'time from when each request was due, so a stalled server is charged for every '
        'request it delayed. The figure is the p99.')
    out.append(
        '- "disturbed" counts rounds in which other processes took more than 5 % of a core '
        'on the two cores while the figure was measured (they are not run again).')
    out.append(
        '- "generator busy" is the share of the measured time chatgen spent on work rather '
        'than on polls that found nothing (it busy-polls its own core): below 100 %, it was '
        'waiting for the server, so the figure is the server\'s. "sent late" counts the '
        'lines of the measured window (all rounds) that the generator itself sent more than '
        '1 ms after they were due: their latency is partly the generator\'s.')
    if meta.get('nofile_hard') is not None:
        out.append(f'- Descriptor limit (hard): {meta["nofile_hard"]}; each server and the '
                   'generator raise their soft limit to it.')
    if chat.get('skipped'):
        out.append('- Skipped: ' + '; '.join(f'{k} ({v})' for k, v in chat['skipped'].items()))
    out.append('')
    return '\n'.join(out)


def chart_panels(chat: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(scenario, per-server entries) for report.chart, with ``vs_node`` as a plain ratio."""
    panels = []
    for sc in chat.get('scenarios', []):
        per = {}
        for key, entry in chat['summary'].get(sc['key'], {}).items():
            if 'value' in entry:
                ratio = entry.get('vs_node')
                per[key] = {'value': entry['value'],
                            'vs_node': ratio['median'] if ratio else None}
        if per:
            panels.append((sc, per))
    return panels


def console_summary(chat: dict[str, Any]) -> str:
    lines = ['', 'chat and latency: median (min-max), x Node per round, server CPU per op:']
    labels = {s['key']: s['label'] for s in chat['servers']}
    for sc in chat['scenarios']:
        lines.append(f'  {sc["title"]} [{sc["unit"]}]')
        for key, entry in chat['summary'].get(sc['key'], {}).items():
            if 'value' not in entry:
                lines.append(f'    {labels[key]:<22} failed: {entry["error"][:80]}')
                continue
            extra = ''
            if 'p99_us' in entry:
                extra = f'  p50/p99/p99.9 {_pcts(entry)} us'
            if entry.get('saturated'):
                extra += f'  saturated in {entry["saturated"]} round(s)'
            lines.append(f'    {labels[key]:<22} {_fv(entry["value"], sc["unit"]):>12}  '
                         f'{_fr(entry.get("vs_node")):>22}  CPU {_fmt(entry["cpu_us_per_op"])} '
                         f'us/{sc["cpu_unit"]} ({_fr(entry.get("cpu_vs_node"))}){extra}')
    lines.append('')
    lines.append('targets for gnet (worst round):')
    for t in targets(chat):
        lines.append(f'  {t["key"]:<12} {_fr(t["ratio"]):<24} {t["required"]:<14} '
                     f'{t["verdict"]}')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m benchmarks.chat_bench',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true', help='2 rounds, 2,000 room members')
    p.add_argument('--rounds', type=int)
    p.add_argument('--servers', help=f'subset of {",".join(SERVER_KEYS)}')
    p.add_argument('--groups', default='chat,latency', help='chat, latency or both')
    p.add_argument('--json', type=Path, default=harness.BUILD_DIR / 'chat_results.json')
    args = p.parse_args(argv)
    settings = Settings()
    cpus = sorted(os.sched_getaffinity(0))
    if not {1, 0} <= set(cpus):
        settings.server_cpu = settings.client_cpu = None
    elif settings.client_cpu is not None:
        os.sched_setaffinity(0, {settings.client_cpu})
    sizes = quick_sizes() if args.quick else Sizes()
    if args.rounds:
        sizes.rounds = args.rounds
    keys = args.servers.split(',') if args.servers else list(SERVER_KEYS)
    data = run(keys, set(args.groups.split(',')), settings, sizes)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1))
    print(report(data))
    print(console_summary(data))
    return 1 if all('error' in r for r in data['runs']) and data['runs'] else 0


if __name__ == '__main__':
    sys.exit(main())
