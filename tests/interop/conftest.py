"""Fixtures for the Node.js interop suite: the ``node`` binary, Node scripts, figures.

Every test here drives a real Node.js peer (a script from ``node/``) against
gnet over loopback or a Unix socket. Without ``node`` on PATH the tests skip,
with a reason that says so, except when the environment variable ``CI`` is
set: then each of them fails, so a CI run (``.ci/run``) can never pass with
this suite silently skipped.

A Node script prints at most one ``{"ready": port-or-path}`` line once it
listens, then one JSON line of results, and exits 0; on failure it prints
``{"failed": ...}`` and exits non-zero. :class:`NodeScript` runs one through
``gevent.subprocess``, so the test process's hub keeps serving gnet sockets
while the test waits for the script (with or without monkey patching).

Each test's wall time and the figures it records (bytes moved, hashes,
clients served) go to ``record_property`` and to a summary at the end of the
run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.subprocess
import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
# resetAndDestroy() came in Node 16.17 / 18.3; loopback-only Node 18+ is enough.
MIN_NODE = (18, 3)
# The bound on any single wait for a Node script (seconds); each test passes a
# tighter one where it can. pytest-timeout's 60 s stays the last resort.
SCRIPT_WAIT_S = 40.0


def _node_version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; node is required in CI (CI={os.environ['CI']!r}), "
                    "so the Node.js interop tests may not be skipped", pytrace=False)
    pytest.skip(f"{reason}: the Node.js interop tests need it")


@pytest.fixture(scope="session")
def node() -> str:
    """The path of a usable ``node`` binary; skips (fails under CI) without one."""
    path = shutil.which("node")
    if path is None:
        _missing("`node` is not on PATH")
    assert path is not None
    found = _node_version(path)
    if found is None:
        _missing(f"`{path} --version` did not answer")
    elif found < MIN_NODE:
        _missing(f"node {found[0]}.{found[1]} is older than "
                 f"{MIN_NODE[0]}.{MIN_NODE[1]} (no resetAndDestroy())")
    return path


class NodeScript:
    """One Node script from ``node/`` running in a subprocess.

    Started by the ``node_script`` fixture, which kills it at teardown if
    the test did not wait for it.
    """

    def __init__(self, node: str, script: str, *args: Any) -> None:
        self.script = script
        self.argv = [node, str(NODE_DIR / script), *(str(a) for a in args)]
        self.proc = gevent.subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=NODE_DIR,
        )
        self._done = False

    def __repr__(self) -> str:
        return f"<node {' '.join(self.argv[1:])}>"

    def ready(self, timeout: float = 10.0) -> Any:
        """Wait for the script's ``{"ready": ...}`` line; return its port or path."""
        assert self.proc.stdout is not None
        try:
            with gevent.Timeout(timeout):
                line = self.proc.stdout.readline()
        except gevent.Timeout:
            self.kill()
            pytest.fail(f"{self}: not ready within {timeout} s", pytrace=False)
        try:
            value = json.loads(line)["ready"]
        except (ValueError, KeyError, TypeError):
            out, err = self.kill()
            pytest.fail(f"{self}: expected a ready line, got {line!r}\n{out}{err}",
                        pytrace=False)
        return value

    def result(self, timeout: float = SCRIPT_WAIT_S) -> dict[str, Any]:
        """Wait for the script to exit; return its JSON result (fail the test if it failed)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            out, err = self.kill()
            pytest.fail(f"{self}: still running after {timeout} s; stdout:\n{out}\n"
                        f"stderr:\n{err}", pytrace=False)
        self._done = True
        text = out.decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            result: dict[str, Any] = json.loads(lines[-1])
        except (IndexError, ValueError):
            result = {}
        if self.proc.returncode != 0 or not result or "failed" in result:
            pytest.fail(f"{self} failed (exit {self.proc.returncode}): "
                        f"{json.dumps(result) if result else text!s}\n"
                        f"stderr:\n{err.decode(errors='replace')}", pytrace=False)
        return result

    def kill(self) -> tuple[str, str]:
        """Stop the script if it still runs; return what it printed."""
        if self._done:
            return "", ""
        self._done = True
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            return "", ""
        return out.decode(errors="replace"), err.decode(errors="replace")


@pytest.fixture
def node_script(node: str) -> Iterator[Any]:
    """``node_script(script, *args)`` starts ``node/<script>``; all are stopped at teardown."""
    started: list[NodeScript] = []

    def start(script: str, *args: Any) -> NodeScript:
        proc = NodeScript(node, script, *args)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()


# --- figures ----------------------------------------------------------------------

_figures: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture(autouse=True)
def figures(request: pytest.FixtureRequest, record_property: Any,
            node: str) -> Iterator[dict[str, Any]]:
    """A dict the test fills with figures worth quoting; the wall time is added.

    Autouse, and it needs ``node``: every test in this directory skips (or
    fails under CI) without Node.js.
    """
    found: dict[str, Any] = {}
    start = time.perf_counter()
    yield found
    found["wall_s"] = round(time.perf_counter() - start, 3)
    for key, value in found.items():
        record_property(key, value)
    _figures.append((request.node.nodeid, found))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _figures:
        return
    terminalreporter.section("Node.js interop figures")
    for nodeid, found in _figures:
        name = nodeid.rsplit("::", 1)[-1]
        terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in found.items()))
