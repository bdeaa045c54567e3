"""The ``node`` fixture of the differential tester.

Without a usable ``node`` on PATH the test skips, with a reason that says
so, except when the environment variable ``CI`` is set: then it fails, so a
CI run can never pass with the tester silently skipped (as tests/interop).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

# resetAndDestroy() came in Node 16.17 / 18.3; the server's highWaterMark
# option in 18.17 / 20.1.
MIN_NODE = (18, 17)


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; node is required in CI (CI={os.environ['CI']!r}), "
                    "so the differential tester may not be skipped", pytrace=False)
    pytest.skip(f"{reason}: the differential tester needs it")


@pytest.fixture(scope="session")
def node() -> str:
    """The path of a usable ``node`` binary; skips (fails under CI) without one."""
    path = shutil.which("node")
    if path is None:
        _missing("`node` is not on PATH")
    assert path is not None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    if match is None:
        _missing(f"`{path} --version` did not answer")
    elif (int(match.group(1)), int(match.group(2))) < MIN_NODE:
        _missing(f"node {match.group(1)}.{match.group(2)} is older than "
                 f"{MIN_NODE[0]}.{MIN_NODE[1]}")
    return path
