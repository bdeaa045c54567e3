"""The deployment configurations the real-engine tests run, and docs/deploying.md shows.

Each configuration lives once, as a template in ``configs/`` (``@NAME@``
placeholders). A test renders it with the ports and paths of its run; the
documentation shows it rendered with :data:`DOCS_VALUES`, and
test_deploying_docs.py checks that the code blocks of docs/deploying.md are
exactly those renderings. So every configuration the docs show is one a
test ran, with only the placeholders' values changed.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parent / "configs"
HERE = Path(__file__).resolve().parent

_PLACEHOLDER = re.compile(r"@([A-Z0-9_]+)@")

#: What docs/deploying.md shows in place of each template's placeholders.
DOCS_VALUES: dict[str, dict[str, str]] = {
    "haproxy-cluster.cfg.in": {
        "STATS_SOCKET": "/run/haproxy/gnet-admin.sock",
        "LISTEN": ":7000",
        "SERVER": "127.0.0.1:8000",
        "CHECK_INTERVAL": "2s",
    },
    "nginx-stream.conf.in": {
        "MODULES": "/usr/lib/nginx/modules",
        "PID_FILE": "/run/nginx-gnet.pid",
        "ERROR_LOG": "/var/log/nginx/gnet-error.log",
        "SERVER": "127.0.0.1:8000",
        "LISTEN": "0.0.0.0:7000",
        "LISTEN6": "[::]:7000",
    },
    "gnet-app.socket.in": {
        "ADDRESS": "8000",
    },
    "gnet-app.service.in": {
        "PYTHON": "/srv/app/.venv/bin/python",
        "SCRIPT": "/srv/app/server.py",
    },
    "activated_server.py": {},
    "cluster_proxy_echo.py": {},
    "kubernetes-deployment.yaml": {},
}


def render(name: str, values: dict[str, str]) -> str:
    """The template ``configs/<name>`` (or a script beside this file) with its placeholders filled.

    Raises AssertionError if a placeholder has no value or a value names no
    placeholder (a template and its users out of step).
    """
    path = CONFIGS / name if (CONFIGS / name).exists() else HERE / name
    text = path.read_text(encoding="utf-8")
    wanted = set(_PLACEHOLDER.findall(text))
    assert wanted == set(values), f"{name}: placeholders {sorted(wanted)}, values {sorted(values)}"
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def shown(name: str) -> str:
    """What docs/deploying.md shows for ``name``: rendered with :data:`DOCS_VALUES`.

    A Python program is shown without its module docstring (the page says
    the same in prose).
    """
    text = render(name, DOCS_VALUES[name])
    if name.endswith(".py"):
        first = ast.parse(text).body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            assert first.end_lineno is not None
            text = "\n".join(text.splitlines()[first.end_lineno:]).lstrip("\n") + "\n"
    return text


def tool(name: str, *places: str, install: str) -> str:
    """The path of a program the test needs; skips without it, fails under CI.

    ``places`` are looked at after PATH (Debian puts daemons in /usr/sbin,
    which a user's PATH may lack). Under CI (``CI`` set) a missing program
    fails the test: a CI run cannot pass with a real-engine test skipped.
    """
    found = shutil.which(name) or next((p for p in places if os.access(p, os.X_OK)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs it ({install}), and under "
                        f"CI (CI={os.environ['CI']!r}) this test may not be skipped",
                        pytrace=False)
        pytest.skip(f"{name} is not installed ({install})")
    return found


def accept_queue(port: int) -> int | None:
    """Connections waiting in the accept queue of the IPv4 listener on ``port``.

    Read from /proc/net/tcp, where a listening socket's ``rx_queue`` is its
    accept queue's length; None when nothing listens on ``port``.
    """
    with open("/proc/net/tcp", encoding="ascii") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                return int(queues.split(":")[1], 16)
    return None
