"""docs/deploying.md shows the configurations the tests run, and nothing else.

Each code block of the page that follows a ``% shown: <name>`` comment must
be exactly :func:`deploy_configs.shown` of that name: the file the
real-engine tests run (``configs/`` or a program beside this file),
rendered with the documentation's values. Every configuration file is
shown. The Kubernetes manifest, which no test can run here, must agree
with the program it runs: the grace period covers the preStop sleep and
the program's ``graceful`` time, and the probe looks at the program's port.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_configs import CONFIGS, DOCS_VALUES, HERE, shown, tool

PAGE = Path(__file__).resolve().parents[2] / "docs" / "deploying.md"
_SHOWN = re.compile(r"^% shown: (\S+)\n\n```[a-z]*\n(.*?)^```$", re.M | re.S)


@pytest.fixture
def figures() -> Iterator[dict[str, Any]]:
    """This module needs no Node.js: no figures either."""
    yield {}


def _blocks() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for name, body in _SHOWN.findall(text):
        assert name not in found, f"{name} is shown twice"
        found[name] = body
    # Every marker has its block right after it.
    assert len(found) == text.count("\n% shown: "), "a '% shown:' comment without its code block"
    return found


def test_each_block_is_the_file_a_test_runs() -> None:
    blocks = _blocks()
    for name, body in blocks.items():
        assert name in DOCS_VALUES, f"docs/deploying.md shows {name}, which no test runs"
        assert body == shown(name), f"docs/deploying.md's {name} differs from the file"


def test_every_configuration_is_shown() -> None:
    blocks = _blocks()
    files = {path.name for path in CONFIGS.iterdir()}
    assert files <= set(blocks), f"not in docs/deploying.md: {sorted(files - set(blocks))}"
    assert set(DOCS_VALUES) == set(blocks)


def _graceful_ms_and_port(program: str) -> tuple[float, int]:
    # The program's run(graceful=...) and its listen(<port>) when systemd gives no socket.
    graceful = port = None
    for node in ast.walk(ast.parse(program)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "run":
                graceful = next(k.value.value for k in node.keywords  # type: ignore[attr-defined]
                                if k.arg == "graceful")
            elif node.func.attr == "listen" and isinstance(node.args[0], ast.Constant):
                port = node.args[0].value
    assert isinstance(graceful, (int, float)) and isinstance(port, int)
    return graceful, port


def test_the_kubernetes_numbers_agree_with_the_program() -> None:
    manifest = shown("kubernetes-deployment.yaml")
    graceful_ms, port = _graceful_ms_and_port((HERE / "activated_server.py").read_text())
    grace = int(re.search(r"terminationGracePeriodSeconds: (\d+)", manifest)[1])  # type: ignore[index]
    sleep = int(re.search(r'command: \["sleep", "(\d+)"\]', manifest)[1])  # type: ignore[index]
    # The manifest runs the program the systemd section shows as server.py.
    assert '"/srv/app/server.py"' in manifest
    assert DOCS_VALUES["gnet-app.service.in"]["SCRIPT"] == "/srv/app/server.py"
    assert grace > sleep + graceful_ms / 1000, (grace, sleep, graceful_ms)
    assert re.search(rf"containerPort: {port}\n", manifest)
    assert re.search(rf"tcpSocket:\n\s+port: {port}\n", manifest)


def test_haproxy_accepts_the_page_s_configuration(tmp_path: Path) -> None:
    # The page's values (bind :7000, inter 2s) parse as the test's do.
    haproxy = tool("haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy",
                   install="apt-get install haproxy")
    config = tmp_path / "haproxy.cfg"
    config.write_text(shown("haproxy-cluster.cfg.in"), encoding="utf-8")
    done = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
