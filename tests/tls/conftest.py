"""Fixtures for gnet.tls's tests: certificates made per run, and the ``node`` binary.

Certificates come from trustme, made once per test session (never committed
keys). ``node_json`` runs a Node script and returns the JSON it prints;
without ``node`` on PATH the tests that use it skip, except under CI, where
they fail, so a CI run cannot pass with the Node comparisons skipped.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import trustme


class Certs:
    """The test PKI: a CA, leaves, a chain, a self-signed and an expired leaf."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.leaf = self.ca.issue_cert('localhost', '127.0.0.1', '::1')
        self.rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
        self.rsa_leaf = self.rsa_ca.issue_cert('localhost', key_type=trustme.KeyType.RSA)
        self.example = self.ca.issue_cert('example.com')
        self.expired = self.ca.issue_cert(
            'localhost', not_after=datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc))
        self.stranger = self.other_ca.issue_cert('localhost')
        self.intermediate = self.other_ca.create_child_ca()
        self.chained = self.intermediate.issue_cert('localhost')

    @staticmethod
    def pem(blob: Any) -> str:
        return blob.bytes().decode('ascii')

    @staticmethod
    def der(blob: Any) -> bytes:
        return ssl.PEM_cert_to_DER_cert(blob.bytes().decode('ascii'))


@pytest.fixture(scope='session')
def certs() -> Certs:
    return Certs()


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
