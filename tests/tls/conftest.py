"""Fixtures for gnet.tls's tests: certificates made per run, and the ``node`` binary.

Certificates come from trustme, made once per test session (never committed
keys): ``certs`` is :func:`helpers.tls_pki`, which the TLS transport of
test_conformance.py shares. ``node_json`` runs a Node script and returns the
JSON it prints; without ``node`` on PATH the tests that use it skip, except
under CI, where they fail, so a CI run cannot pass with the Node comparisons
skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from helpers import Certs, tls_pki


@pytest.fixture(scope='session')
def certs() -> Certs:
    return tls_pki()


@pytest.fixture(scope='session')
def node_bin() -> str:
    node = shutil.which('node')
    if node is None:
        if os.environ.get('CI'):
            pytest.fail('node is not on PATH; the Node comparisons may not be skipped in CI',
                        pytrace=False)
        pytest.skip('node is not on PATH: the Node comparisons need it')
    return node


@pytest.fixture
def node_json(node_bin: str, tmp_path: Any) -> Callable[..., Any]:
    """Run a Node script (source text) with JSON on stdin; return its JSON output."""

    def run(source: str, payload: Any = None, timeout: float = 30.0) -> Any:
        script = tmp_path / 'script.js'
        script.write_text(source)
        done = subprocess.run([node_bin, str(script)], input=json.dumps(payload),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            pytest.fail(f'node failed ({done.returncode}): {done.stderr[-2000:]}')
        return json.loads(done.stdout)

    return run
