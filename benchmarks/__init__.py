"""gnet's benchmark suite: gnet against Node, gevent, asyncio, uvloop, Twisted and trio.

Run it with ``python -m benchmarks`` (see ``run.py``); it writes
docs/benchmarks.md and docs/benchmarks.png.
"""
