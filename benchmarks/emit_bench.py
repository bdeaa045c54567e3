"""How much one emit() costs: gnet's EventEmitter against pyee's.

Every 'data' event of every gnet socket goes through ``EventEmitter.emit``,
so its cost is paid once per chunk read. This script measures nanoseconds per
``emit('data', chunk)`` with 0, 1 and 3 listeners, for gnet and for pyee's
``EventEmitter`` (the usual Python choice), with a plain function call as the
floor no emitter can beat.

Run::

    python benchmarks/emit_bench.py [--number N] [--repeat R]

pyee comes with the ``bench`` extra (``pip install gnet[bench]``); without it
the pyee columns are skipped. Each figure is the median of R runs of N emits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import timeit
from typing import Any

try:
    import gnet.events
except ImportError:  # run from a source checkout without installing gnet
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import gnet.events

pyee: Any
try:
    pyee = importlib.import_module('pyee')
except ImportError:
    pyee = None

LISTENER_COUNTS = (0, 1, 3)
CHUNK = b'x' * 1024


def listener(chunk: bytes) -> None:
    """A listener that does nothing, so only dispatch is measured."""


def _ns_per_call(stmt: str, namespace: dict[str, Any], number: int, repeat: int) -> float:
    timer = timeit.Timer(stmt, globals=namespace)
    timer.timeit(number // 10 or 1)  # warm up caches and specialisation
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e9


def _emitter_ns(factory: Any, count: int, number: int, repeat: int) -> float:
    emitter = factory()
    # Distinct functions: pyee keys listeners by function, so the same one
    # registered three times would be a single listener there.
    for _ in range(count):
        emitter.on('data', lambda chunk: None)
    return _ns_per_call("em.emit('data', chunk)", {'em': emitter, 'chunk': CHUNK}, number, repeat)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--number', type=int, default=500_000, help='emits per run (default 500000)'
    )
    parser.add_argument(
        '--repeat', type=int, default=7, help='runs per figure; the median is shown (default 7)'
    )
    args = parser.parse_args(argv)

    print(f'Python {platform.python_version()} ({platform.python_implementation()}), '
          f'{args.repeat} runs x {args.number} calls, median ns per call')
    if pyee is None:
        print('note: pyee is not installed (pip install gnet[bench]); pyee columns skipped')
    else:
        print(f'pyee {getattr(pyee, "__version__", None) or _dist_version("pyee")}')
    print()

    floor = _ns_per_call('fn(chunk)', {'fn': listener, 'chunk': CHUNK}, args.number, args.repeat)
    header = f'{"case":<22}{"gnet ns":>10}{"pyee ns":>10}{"gnet/pyee":>11}'
    print(header)
    print('-' * len(header))
    print(f'{"plain call (floor)":<22}{floor:>10.1f}{"":>10}{"":>11}')
    for count in LISTENER_COUNTS:
        ours = _emitter_ns(gnet.events.EventEmitter, count, args.number, args.repeat)
        if pyee is None:
            print(f'{f"emit, {count} listener(s)":<22}{ours:>10.1f}{"-":>10}{"-":>11}')
            continue
        theirs = _emitter_ns(pyee.EventEmitter, count, args.number, args.repeat)
        ratio = ours / theirs
        print(f'{f"emit, {count} listener(s)":<22}{ours:>10.1f}{theirs:>10.1f}{ratio:>11.2f}')
    return 0


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return '(version unknown)'


if __name__ == '__main__':
    sys.exit(main())
