"""The moving parts of the benchmark suite: build, servers, load, memory.

Everything here is mechanism; ``run.py`` decides what to run and
``report.py`` what to write. Only the standard library is used, so the
smoke test runs wherever gnet's tests run.

Servers are subprocesses pinned to one core (``server_cpu``), the load
generator (``loadgen.c``, compiled on first use) to the other. A server
prints ``PORT n`` once it listens; the runner then points the load
generator at it and reads the server's CPU time and memory from /proc.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import importlib.util
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
SERVERS_DIR = HERE / 'servers'
BUILD_DIR = HERE / 'build'

# How long a server may take to print its port: twisted and trio import a lot.
START_TIMEOUT = 30.0
# /proc/PID/stat counts CPU time in clock ticks.
CLK_TCK = os.sysconf('SC_CLK_TCK')


_T = TypeVar('_T')


class BenchError(RuntimeError):
    """A benchmark step failed (server did not start, load generator failed...)."""


# --------------------------------------------------------------------------
# Building the C programs

def build(name: str, cc: str | None = None, libs: Sequence[str] = ()) -> Path:
    """Compile ``benchmarks/<name>.c`` once, into the git-ignored build dir.

    The binary's name carries a hash of the source and the compiler, so an
    edited source is rebuilt and concurrent runs never see a half-written
    file (each compiles to a temporary name and renames).

    Args:
        name: ``loadgen`` or ``echo_c``.
        cc: The C compiler (default: ``$CC`` or ``cc``).
        libs: Linker flags after the source (``tlsgen`` needs ``-lssl -lcrypto``).

    Returns:
        The path of the executable.

    Raises:
        BenchError: no compiler, or the compile failed.
    """
    cc = cc or os.environ.get('CC') or 'cc'
    source = HERE / f'{name}.c'
    # The generators include gen_common.h: an edit to it rebuilds them too.
    digest = hashlib.sha256(source.read_bytes() + (HERE / 'gen_common.h').read_bytes()
                            + cc.encode() + ' '.join(libs).encode()).hexdigest()[:12]
    target = BUILD_DIR / f'{name}-{digest}'
    if target.exists():
        return target
    if shutil.which(cc) is None:
        raise BenchError(f'no C compiler: {cc!r} not found (set $CC)')
    BUILD_DIR.mkdir(exist_ok=True)
    tmp = target.with_name(f'{target.name}.{os.getpid()}.tmp')
    cmd = [cc, '-O2', '-Wall', '-o', str(tmp), str(source), *libs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f'compiling {source.name} failed:\n{proc.stderr}')
    os.replace(tmp, target)
    return target


# --------------------------------------------------------------------------
# Pinning and limits

def raise_nofile_limit() -> int:
    """Raise this process's descriptor limit to its hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A server or load generator must not outlive an interrupted runner.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def pinned(cpu: int | None) -> Callable[[], None]:
    """A ``preexec_fn``: pin the child to ``cpu``, raise its fd limit, tie it to us."""

    def setup() -> None:
        _die_with_parent()
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        raise_nofile_limit()

    return setup


def others_busy(cores: tuple[int, int], pids: Sequence[int], seconds: float) -> float:
    """Share of a core that processes other than ``pids`` and this one used, over ``seconds``."""

    def cpu(pid: int) -> float:
        try:
            return sum(proc_stat_cpu(pid))
        except OSError:
            return 0.0  # gone: whoever waits on it finds out

    def sample() -> float:
        own = sum(os.times()[:2])
        theirs = sum(cpu(pid) for pid in pids)
        return sum(core_busy(c) for c in cores) - own - theirs

    before = sample()
    time.sleep(seconds)
    return max(0.0, sample() - before) / seconds


def wait_until_quiet(cores: tuple[int, int], pids: Sequence[int], limit: float,
                     timeout: float) -> float:
    """Wait (up to ``timeout`` s) until other processes leave the two cores alone.

    Returns:
        The share of a core they used in the last half-second looked at.
    """
    deadline = time.monotonic() + timeout
    while True:
        busy = others_busy(cores, pids, 0.5)
        if busy <= limit or time.monotonic() >= deadline:
            return busy


class LatencyRequest:
    """Hold /dev/cpu_dma_latency at 0 while the suite runs (Linux PM QoS).

    An idle core then polls instead of halting, so waking a server costs
    about the same on every run. On a virtual machine a halted core takes
    tens of microseconds to wake, which would otherwise land, at random, on
    the latency of whichever server happened to sleep. This is what tuned's
    latency-performance profile does; the request ends when the file is
    closed. Needs root; without it the suite runs as the machine is.
    """

    PATH = '/dev/cpu_dma_latency'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.fd: int | None = None

    def __enter__(self) -> LatencyRequest:
        if not self.enabled:
            return self
        try:
            self.fd = os.open(self.PATH, os.O_WRONLY)
            os.write(self.fd, (0).to_bytes(4, sys.byteorder))
        except OSError:
            self.close()
        return self

    @property
    def active(self) -> bool:
        return self.fd is not None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------
# Servers

@dataclass(frozen=True)
class ServerSpec:
    """One echo server of the suite.

    Attributes:
        key: Short name used on the command line and in results.
        label: Name shown in the report.
        kind: ``c``, ``node`` or ``python``.
        args: Script (or nothing, for C) and its options; the port follows.
        needs: Python modules the server imports (it is skipped without them).
        reference: True for the C server: it calibrates the load generator
            and is not compared with the others.
        pythonpath: The directory whose ``gnet`` package a Python server
            imports: None for this checkout, an exported older commit for
            the baseline peer (``--baseline-ref``, see ``baseline.py``).
        baseline: True for that peer.
    """

    key: str
    label: str
    kind: str
    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    reference: bool = False
    pythonpath: str | None = None
    baseline: bool = False

    def missing(self, node: str | None) -> str | None:
        """Why this server cannot run here, or None if it can."""
        if self.kind == 'node' and not node:
            return 'node not found'
        for module in self.needs:
            if importlib.util.find_spec(module) is None:
                return f'Python module {module!r} not installed (pip install gnet[bench])'
        return None

    def command(self, port: int, python: str, node: str | None, echo_c: Path | None) -> list[str]:
        """The argv that starts this server on ``port`` (0: any free port)."""
        if self.kind == 'c':
            assert echo_c is not None
            return [str(echo_c), str(port), *self.args]
        if self.kind == 'node':
            assert node is not None
            return [node, str(SERVERS_DIR / self.args[0]), str(port)]
        return [python, str(SERVERS_DIR / self.args[0]), str(port), *self.args[1:]]


SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec('c', 'C epoll, busy-poll', 'c', ('--spin',), reference=True),
    ServerSpec('node', 'Node net', 'node', ('node_echo.js',)),
    ServerSpec('gnet', 'gnet', 'python', ('gnet_echo.py',), ('gnet', 'gevent')),
    ServerSpec('gevent', 'gevent StreamServer', 'python', ('gevent_echo.py',), ('gevent',)),
    ServerSpec('asyncio-streams', 'asyncio streams', 'python', ('asyncio_echo.py',)),
    ServerSpec('asyncio-protocol', 'asyncio Protocol', 'python',
               ('asyncio_echo.py', '--api', 'protocol')),
    ServerSpec('uvloop-streams', 'uvloop streams', 'python',
               ('asyncio_echo.py', '--loop', 'uvloop'), ('uvloop',)),
    ServerSpec('uvloop-protocol', 'uvloop Protocol', 'python',
               ('asyncio_echo.py', '--api', 'protocol', '--loop', 'uvloop'), ('uvloop',)),
    ServerSpec('twisted', 'Twisted', 'python', ('twisted_echo.py',), ('twisted',)),
    ServerSpec('trio', 'trio', 'python', ('trio_echo.py',), ('trio',)),
)
SERVER_KEYS = tuple(spec.key for spec in SERVERS)


def proc_stat_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (its threads included)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # utime and stime are fields 14 and 15; the split starts at field 3.
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_exact(pid: int) -> float | None:
    """CPU seconds a process's live threads have run, to the nanosecond, or None.

    /proc/PID/stat counts in clock ticks (10 ms): a 0.4 s measurement at
    full load is only 40 of them, too coarse to compare two servers' CPU per
    operation within a few percent. The scheduler's own count
    (/proc/PID/task/TID/schedstat, first field, in ns) has no such step; it
    leaves out threads that have exited, which the echo servers' do not.
    """
    total = 0
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            continue  # the thread has just exited
        except (OSError, ValueError, IndexError):
            return None
    return total / 1e9


def core_busy(cpu: int) -> float:
    """CPU seconds a core spent running tasks (user, nice, system), from /proc/stat.

    Interrupt and softirq time is left out: on loopback much of it is the
    benchmark's own packet processing.
    """
    prefix = f'cpu{cpu} '
    with open('/proc/stat') as f:
        for line in f:
            if line.startswith(prefix):
                user, nice, system = (int(v) for v in line.split()[1:4])
                return (user + nice + system) / CLK_TCK
    raise BenchError(f'cpu{cpu} not in /proc/stat')


def proc_rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB (VmRSS in /proc/PID/status)."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise BenchError(f'no VmRSS for pid {pid}')


def proc_fd_count(pid: int) -> int:
    """How many descriptors a process holds."""
    return len(os.listdir(f'/proc/{pid}/fd'))


class ServerProcess:
    """A running echo server: started, asked for its port, stopped.

    Its stderr goes to ``build/logs/<key>.log`` (the last lines are quoted
    when it fails).
    """

    def __init__(self, spec: ServerSpec, argv: list[str], cpu: int | None) -> None:
        self.spec = spec
        log_dir = BUILD_DIR / 'logs'
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f'{spec.key}.log'
        self._log = open(self.log_path, 'wb')  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
            preexec_fn=pinned(cpu), cwd=str(HERE), env=server_env(spec),
        )
        self.pid = self.proc.pid
        self.paused = False
        try:
            line = _read_line(self.proc, START_TIMEOUT)
        except BenchError:
            self.stop()
            raise BenchError(f'{spec.label} did not start: {self.log_tail()}') from None
        if not line.startswith('PORT '):
            self.stop()
            raise BenchError(f'{spec.label} printed {line!r} instead of its port: '
                             f'{self.log_tail()}')
        self.port = int(line.split()[1])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def pause(self) -> None:
        """Stop the process (SIGSTOP) while other servers are measured.

        The servers of a round all stay up so that each scenario can run
        them one after the other; a stopped one takes no CPU time at all
        (the C server busy-polls, an idle event loop may still wake up),
        so it cannot disturb the one being measured.
        """
        if self.alive() and not self.paused:
            os.kill(self.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        if self.paused:
            self.paused = False
            if self.alive():
                os.kill(self.pid, signal.SIGCONT)

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f'{self.spec.label} exited with status {self.proc.returncode}: '
                             f'{self.log_tail()}')

    def log_tail(self, lines: int = 5) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors='replace').strip().splitlines()
        except OSError:
            return '(no log)'
        return ' | '.join(text[-lines:]) or '(nothing on stderr)'

    def _proc(self, read: Callable[[int], _T]) -> _T:
        """``read(pid)`` of the server's /proc entries.

        Raises:
            BenchError: the server is gone (its exit status and log tail, as
                ``check_alive`` says), or /proc could not be read.
        """
        try:
            return read(self.pid)
        except OSError as exc:
            # Once a dead server is reaped (any poll() does it), its /proc
            # entry is gone: that is the server's failure, not the runner's.
            self.check_alive()
            raise BenchError(f'{self.spec.label}: reading /proc/{self.pid}: {exc}') from None

    def cpu(self) -> tuple[float, float]:
        return self._proc(proc_stat_cpu)

    def cpu_exact(self) -> float | None:
        return proc_cpu_exact(self.pid)

    def rss_kib(self) -> int:
        return self._proc(proc_rss_kib)

    def fd_count(self) -> int:
        return self._proc(proc_fd_count)

    def wait_fds(self, at_most: int, timeout: float) -> bool:
        """Wait until the server holds at most ``at_most`` descriptors."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.fd_count() <= at_most:
                return True
            time.sleep(0.05)
        return False

    def settled_rss(self, minimum: float = 0.3, maximum: float = 3.0) -> int:
        """RSS once it stops moving (two reads 100 ms apart within 0.5%)."""
        time.sleep(minimum)
        deadline = time.monotonic() + maximum
        last = self.rss_kib()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.rss_kib()
            if abs(now - last) <= max(8, last * 0.005):
                return now
            last = now
        return last

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            # A stopped process acts on SIGTERM only once it runs again.
            self.resume()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def server_env(spec: ServerSpec) -> dict[str, str]:
    """The environment a server runs in: which ``gnet`` it imports.

    The checkout's gnet comes first, as it does for the runner (python -m
    benchmarks): what is measured is the code in this tree. The baseline
    peer puts its exported tree there instead, ahead of the checkout that
    the editable install adds to ``sys.path``.
    """
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (spec.pythonpath or str(HERE.parent), env.get('PYTHONPATH')) if p)
    return env


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line of a child's stdout, or BenchError after ``timeout`` s or EOF."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b''
    deadline = time.monotonic() + timeout
    # Byte by byte (the pipe is unbuffered here) so nothing past the line is
    # taken from the pipe and lost.
    while not buf.endswith(b'\n'):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise BenchError(f'timed out after {timeout:.0f} s waiting for output')
        byte = os.read(fd, 1)
        if not byte:
            raise BenchError('exited before printing a line')
        buf += byte
    return buf.decode().strip()


# --------------------------------------------------------------------------
# Scenarios

@dataclass(frozen=True)
class Scenario:
    """One measurement, as run by the load generator.

    Attributes:
        key: Short name (command line, results).
        title: Heading in the report.
        mode: The load generator's mode.
        conns: Connections (for ``connrate``: connections in flight).
        size: Bytes per message or write.
        depth: Messages in flight per connection (``pipeline``).
        metric: Field of the load generator's result that is the figure.
        unit: Unit of the figure.
        higher_is_better: False for memory.
        idle: For idle scenarios, the number of open connections.
        per_mb: Count server CPU per MB echoed rather than per operation of
            the load generator (bulk: its reads vary in size from run to
            run, see benchmarks/README.md, "Bulk: what made it swing").
    """

    key: str
    title: str
    mode: str
    conns: int = 1
    size: int = 64
    depth: int = 1
    metric: str = 'rate'
    unit: str = ''
    higher_is_better: bool = True
    latency: bool = False
    idle: int = 0
    per_mb: bool = False

    def loadgen_args(self) -> list[str]:
        return ['--conns', str(self.conns), '--size', str(self.size), '--depth', str(self.depth)]


TIMED_SCENARIOS: tuple[Scenario, ...] = (
    Scenario('pingpong-1', 'Ping-pong, 64 B, 1 connection', 'pingpong', 1, 64,
             unit='round trips/s', latency=True),
    Scenario('pingpong-50', 'Ping-pong, 64 B, 50 connections', 'pingpong', 50, 64,
             unit='round trips/s', latency=True),
    Scenario('pipelined', 'Pipelined, 64 B, 50 connections, depth 16', 'pipeline', 50, 64, 16,
             unit='messages/s'),
    Scenario('bulk', 'Bulk echo, 1 connection, 64 KiB writes', 'bulk', 1, 65536,
             metric='mb_per_s_rx', unit='MB/s each way', per_mb=True),
    Scenario('connrate', 'Connection rate: connect, 64 B echo, close; 8 in parallel',
             'connrate', 8, 64, unit='connections/s'),
)


def idle_scenario(count: int) -> Scenario:
    """The memory scenario for ``count`` idle connections."""
    return Scenario(f'idle-{count}', f'{count:,} idle connections: server memory per connection',
                    'idle', metric='kib_per_conn', unit='KiB/connection',
                    higher_is_better=False, idle=count)


@dataclass
class Settings:
    """What a run measures and how long (see ``run.py`` for the defaults)."""

    duration: float = 1.0
    warmup: float = 0.3
    repeats: int = 3
    idle_counts: Sequence[int] = (5000, 10000)
    server_cpu: int | None = 1
    client_cpu: int | None = 0
    attempts: int = 4
    max_interference: float = 0.05
    quiet_wait: float = 120.0
    python: str = sys.executable
    node: str | None = field(default_factory=lambda: shutil.which('node'))


def add_settings_options(parser: argparse.ArgumentParser, quick_help: str) -> None:
    """Add the options a stand-alone scenario runner takes for its ``Settings``.

    ``python -m benchmarks.tls_bench`` and ``python -m benchmarks.cluster_bench``
    take the same ones: ``--quick`` (whose help is ``quick_help``),
    ``--duration``, ``--warmup``, ``--repeats``, ``--attempts`` and
    ``--quiet-wait``; ``settings_from_options`` reads them back.
    """
    parser.add_argument('--quick', action='store_true', help=quick_help)
    parser.add_argument('--duration', type=float)
    parser.add_argument('--warmup', type=float)
    parser.add_argument('--repeats', type=int)
    parser.add_argument('--attempts', type=int, help='runs of a measurement that other '
                        'processes disturbed, at most (default 4; --quick 2)')
    parser.add_argument('--quiet-wait', type=float, help='seconds to wait for quiet cores '
                        'before running a disturbed measurement again (default 120; '
                        '--quick 10)')


def settings_from_options(args: argparse.Namespace) -> Settings:
    """The ``Settings`` the options of ``add_settings_options`` ask for.

    ``--quick``: 0.4 s per measurement after 0.2 s of warm-up, 1 round, at
    most 2 attempts and 10 s of waiting for quiet cores; the other options
    override that or the defaults.
    """
    settings = Settings()
    if args.quick:
        settings.duration, settings.warmup, settings.repeats = 0.4, 0.2, 1
        settings.attempts, settings.quiet_wait = 2, 10.0
    settings.duration = args.duration or settings.duration
    settings.warmup = args.warmup if args.warmup is not None else settings.warmup
    settings.repeats = args.repeats or settings.repeats
    if args.attempts is not None:
        settings.attempts = max(1, args.attempts)
    if args.quiet_wait is not None:
        settings.quiet_wait = args.quiet_wait
    return settings


def run_loadgen_timed(loadgen: Path, server: ServerProcess, scenario: Scenario,
                      settings: Settings) -> dict[str, Any]:
    """Run one timed scenario against a running server.

    The server's CPU time is read when the load generator starts measuring
    and when it is done, so "server CPU per operation" covers the same
    window as the figure.

    Returns:
        The load generator's result plus ``server_user_s``/``server_sys_s``
        (CPU seconds in the window, in clock ticks), ``server_cpu_s`` (their
        sum, to the nanosecond, where the kernel tells) and ``value`` (the
        scenario's figure).

    Raises:
        BenchError: the load generator failed, or no operation completed.
    """
    argv = [str(loadgen), scenario.mode, str(server.port), *scenario.loadgen_args(),
            '--duration', str(settings.duration), '--warmup', str(settings.warmup)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=pinned(settings.client_cpu))
    timeout = settings.warmup + settings.duration + 30
    cores = ((settings.server_cpu, settings.client_cpu)
             if settings.server_cpu is not None and settings.client_cpu is not None else None)
    try:
        first = _read_line(proc, timeout)
        cpu0, exact0 = server.cpu(), server.cpu_exact()
        if cores:
            busy0 = core_busy(cores[0]), core_busy(cores[1])
            own0 = sum(os.times()[:2])
        if json.loads(first).get('event') != 'measuring':
            raise BenchError(f'unexpected load generator output {first!r}')
        last = _read_line(proc, timeout)
        cpu1, exact1 = server.cpu(), server.cpu_exact()
        if cores:
            busy1 = core_busy(cores[0]), core_busy(cores[1])
            own1 = sum(os.times()[:2])
        proc.wait(timeout)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        proc.kill()
        proc.wait()
        server.check_alive()
        err = proc.stderr.read().decode(errors='replace').strip() if proc.stderr else ''
        raise BenchError(f'load generator: {exc} {err}') from None
    finally:
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    result: dict[str, Any] = json.loads(last)
    result['server_user_s'] = cpu1[0] - cpu0[0]
    result['server_sys_s'] = cpu1[1] - cpu0[1]
    if exact0 is not None and exact1 is not None:
        result['server_cpu_s'] = exact1 - exact0
    result['value'] = result[scenario.metric]
    if scenario.per_mb and result.get('ops'):
        # CPU per MB echoed, not per generator read: a read takes whatever
        # sits in the generator's socket (37 to 222 KiB a read measured
        # from one run to the next), so CPU per read moved with it.
        result['reads'] = result['ops']
        result['ops'] = result['bytes_rx'] / 1e6
    if 'ops' in result and not result['ops']:
        # A server that accepts and then answers nothing is broken, not slow.
        # (The UDP generator counts datagrams under names of its own.)
        server.check_alive()
        raise BenchError(f'no operation completed in {result.get("elapsed", 0):.2f} s '
                         f'(errors: {result.get("errors")}); see {server.log_path}')
    if cores:
        # Whatever else ran on the two cores in the window: other processes
        # on the machine take time from the server or the load generator.
        server_cpu = result['server_user_s'] + result['server_sys_s']
        client_cpu = result['client_cpu'] * result['elapsed'] + (own1 - own0)
        others = max(0.0, busy1[0] - busy0[0] - server_cpu) + max(
            0.0, busy1[1] - busy0[1] - client_cpu)
        result['interference'] = others / result['elapsed']
    server.check_alive()
    return result


def run_idle(loadgen: Path, server: ServerProcess, counts: Sequence[int],
             settings: Settings) -> list[dict[str, Any]]:
    """Measure the server's memory per idle connection at each of ``counts``.

    The server is warmed up first (a short connection-rate run, so the code
    paths and their caches exist), then the load generator opens
    connections in stages (each connection echoes 64 B once, which also
    proves the server accepted it), holding all of them open while the
    server's RSS is read. Per-connection memory is (RSS with N open - RSS
    before) / N, both read once RSS stops moving.

    Returns:
        One result per count, with ``value`` in KiB per connection, and the
        server's CPU time (``server_user_s``, ``server_sys_s``) spent on the
        ``ops`` connections that stage opened.
    """
    warm = subprocess.run(
        [str(loadgen), 'connrate', str(server.port), '--conns', '8', '--duration', '0.2',
         '--warmup', '0'],
        capture_output=True, text=True, preexec_fn=pinned(settings.client_cpu), timeout=60)
    if warm.returncode != 0:
        server.check_alive()
        raise BenchError(f'warm-up failed: {warm.stderr.strip()}')
    base_fds = server.fd_count()
    server.wait_fds(base_fds, 10)
    base_rss = server.settled_rss()

    stages = ','.join(str(n) for n in counts)
    cpu_before, exact_before, opened_before = server.cpu(), server.cpu_exact(), 0
    proc = subprocess.Popen(
        [str(loadgen), 'idle', str(server.port), '--stages', stages, '--timeout', '120'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=pinned(settings.client_cpu))
    assert proc.stdin is not None
    results = []
    try:
        for count in counts:
            ready = json.loads(_read_line(proc, 150))
            cpu_now, exact_now = server.cpu(), server.cpu_exact()
            server.check_alive()
            if ready.get('timed_out') or ready.get('open') != count:
                raise BenchError(f'only {ready.get("open")} of {count} connections opened '
                                 f'({ready.get("last_error")})')
            rss = server.settled_rss()
            ready.update(
                base_rss_kib=base_rss, rss_kib=rss, base_fds=base_fds,
                server_fds=server.fd_count(), value=(rss - base_rss) / count,
                kib_per_conn=(rss - base_rss) / count,
                # Server CPU per connection of this stage: accepting it and
                # echoing its 64 B (the server is idle while RSS is read).
                ops=count - opened_before, server_user_s=cpu_now[0] - cpu_before[0],
                server_sys_s=cpu_now[1] - cpu_before[1],
            )
            if exact_now is not None and exact_before is not None:
                ready['server_cpu_s'] = exact_now - exact_before
            cpu_before, exact_before, opened_before = server.cpu(), server.cpu_exact(), count
            results.append(ready)
            proc.stdin.write(b'\n')
            proc.stdin.flush()
        proc.stdin.close()
        proc.wait(60)
    except (BenchError, subprocess.TimeoutExpired, BrokenPipeError) as exc:
        proc.kill()
        proc.wait()
        server.check_alive()
        raise BenchError(f'idle connections: {exc}') from None
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    # Let the server see every close before the next scenario starts.
    server.wait_fds(base_fds + 2, 30)
    return results


# --------------------------------------------------------------------------
# Versions and the machine

def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or 'unknown'


def dist_version(name: str) -> str | None:
    """An installed distribution's version, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def command_output(argv: list[str]) -> str | None:
    """First line of a command's output, or None if it cannot run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None
