"""gnet beside monkey-patched stdlib networking, and examples/legacy_app.py.

The scenarios run in a subprocess (tests/legacy/scenarios.py) that calls
``gevent.monkey.patch_all()`` before anything else, so no patching leaks into
this process or other tests. It prints one JSON line, and the tests here
assert on it:

- every load is N clients whose requests each wait DELAY seconds on the
  server side (N x DELAY = 4 s if they ran one after another). They must
  finish in under ``SERIAL / 2``: loose enough for a loaded 2-core machine,
  still impossible unless the requests overlap;
- a stdlib client pings a gnet echo server all along; its worst delay must
  stay well under DELAY, so no scenario ever stalls the loop or gnet. A
  control scenario blocks the process on purpose and must show up in the
  same probe, so the probe can fail.

The example runs as a real program (``python examples/legacy_app.py``),
talked to over both its parts and stopped with SIGINT.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "legacy" / "scenarios.py"
GNET_FIRST = HERE / "legacy" / "gnet_first.py"
LEGACY_APP = HERE.parent / "examples" / "legacy_app.py"

SCRIPT_TIMEOUT_S = 45.0
WAIT_S = 10.0  # a fresh interpreter importing gevent can take a moment on a busy box
# The worst ping delay allowed while a load runs: half a request's server-side wait.
PING_LIMIT_S = 0.1


def run_script(path: Path) -> dict[str, Any]:
    """Run a helper script with this interpreter; its one JSON line, parsed."""
    # -X dev: a ResourceWarning or a warning at exit shows on stderr.
    proc = subprocess.run(
        [sys.executable, "-X", "dev", str(path)],
        capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        pytest.fail(f"{path.name} exited {proc.returncode}; stderr:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


@pytest.fixture(scope="module")
def legacy() -> dict[str, Any]:
    return run_script(SCENARIOS)


def serial_s(result: dict[str, Any]) -> float:
    return float(result["n"] * result["delay_s"])


# --- the patched process --------------------------------------------------------------


def test_scenario_process_is_patched_and_ends_clean(legacy: dict[str, Any]) -> None:
    patched = legacy["patched"]
    assert patched["socket"] and patched["thread"] and patched["select"] and patched["ssl"]
    assert patched["socket_class"] == "gevent._socket3.socket"
    assert patched["create_connection"] == "gevent.socket"
    assert patched["time_sleep_is_gevent"]
    assert patched["thread_is_greenlet"], "a threading.Thread should run as a greenlet"
    # aggressive patching removes what would block: select.epoll, EpollSelector.
    assert not patched["select_has_epoll"]
    assert patched["default_selector"] == "GeventSelector"
    assert legacy["settled"], "gnet handles were left open after the scenarios"
    assert legacy["stderr"] == "", legacy["stderr"]


# --- blocking loads overlap, and gnet keeps answering -------------------------------------

LOADS = {
    # (1) a gnet server whose 'data' listener calls the patched time.sleep,
    #     hit by stdlib socket.create_connection clients in threads
    "gnet_server_sleep": "gnet server, listener sleeps; stdlib create_connection clients",
    # (1') the same with the reply delayed by a gnet timer
    "gnet_server_timer": "gnet server, reply on a gnet timer; stdlib clients",
    # (2) a patched ThreadingHTTPServer, urllib.request + http.client clients
    "http_server": "ThreadingHTTPServer handler sleeps; urllib.request and http.client",
    # (3) a patched socketserver.ThreadingTCPServer, stdlib clients
    "socketserver": "ThreadingTCPServer handler sleeps; stdlib clients",
    # (4) gnet clients calling the patched ThreadingHTTPServer
    "gnet_clients": "gnet createConnection clients calling ThreadingHTTPServer",
}


@pytest.mark.parametrize("load", list(LOADS))
def test_blocking_requests_overlap(legacy: dict[str, Any], load: str) -> None:
    result = legacy[load]
    assert result["errors"] == []
    assert result["ok"] == legacy["n"]
    # Each request really waited on the server side...
    assert result["elapsed_s"] >= legacy["delay_s"] * 0.95, result
    # ...and they waited together: one after another would take N x DELAY.
    assert result["elapsed_s"] < serial_s(legacy) / 2, (
        f"{LOADS[load]}: {legacy['n']} requests of {legacy['delay_s']} s took "
        f"{result['elapsed_s']} s (serial: {serial_s(legacy)} s)"
    )


@pytest.mark.parametrize("load", [*LOADS, "threadpool"])
def test_gnet_keeps_answering_during_the_load(legacy: dict[str, Any], load: str) -> None:
    result = legacy[load]
    # The probe was running throughout (a dead probe has no samples).
    assert result["pings"] >= 5, result
    assert result["ping_max_s"] < PING_LIMIT_S, (
        f"{load}: a gnet ping waited {result['ping_max_s']} s while the load ran"
    )


def test_ping_probe_sees_a_blocked_loop(legacy: dict[str, Any]) -> None:
    # The control: the unpatched time.sleep(DELAY) blocks the whole process.
    control = legacy["control"]
    assert control["ping_max_s"] >= legacy["delay_s"] * 0.75, control


def test_real_blocking_calls_run_in_the_hub_threadpool(legacy: dict[str, Any]) -> None:
    result = legacy["threadpool"]
    assert result["ok"] == result["calls"] == 10
    serial = result["calls"] * legacy["delay_s"]
    assert legacy["delay_s"] * 0.95 <= result["elapsed_s"] < serial / 2, result


def test_one_stdlib_socket_refuses_a_second_waiter_gnet_queues(legacy: dict[str, Any]) -> None:
    shared = legacy["shared_socket"]
    # gevent's socket: a second greenlet waiting to read the same socket fails.
    assert shared["stdlib_errors"] == ["ConcurrentObjectUseError"]
    # gnet: ten greenlets writing 10 MiB to one socket whose peer is not
    # reading; write() queued instead of waiting, and nothing was mixed up.
    assert shared["gnet_errors"] == []
    assert shared["buffered_bytes"] > 0, "the kernel took it all: the test proved nothing"
    assert shared["gnet_bytes"] == 40 * 262144 + 40 * 3
    assert shared["gnet_in_order"]


def test_gnet_imported_before_patch_all_still_cooperates() -> None:
    result = run_script(GNET_FIRST)
    assert result["warnings"] == []
    assert result["socket_patched"]
    assert result["ok"] == result["n"]
    assert result["delay_s"] * 0.95 <= result["elapsed_s"] < serial_s(result) / 2, result
    assert result["settled"]
    assert result["stderr"] == "", result["stderr"]


# --- examples/legacy_app.py -------------------------------------------------------------

needs_example = pytest.mark.skipif(not LEGACY_APP.is_file(), reason="examples/ is not here")


class App:
    """examples/legacy_app.py in a subprocess, its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-X", "dev", str(LEGACY_APP), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._buffer = b""

    def read_line(self, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                pytest.fail(f"legacy_app: no line within {timeout} s ({self._buffer!r})")
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                pytest.fail(f"legacy_app closed stdout; stderr:\n{err}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def ports(self) -> dict[str, int]:
        """Read the two start lines: {'http': port, 'gnet': port}."""
        found = {}
        for _ in range(2):
            line = self.read_line()
            match = re.fullmatch(r"(legacy http\.server|gnet server) listening on "
                                 r"127\.0\.0\.1:(\d+)", line)
            assert match, f"unexpected start line {line!r}"
            found["http" if match.group(1).startswith("legacy") else "gnet"] = int(match[2])
        return found

    def wait(self, timeout: float = WAIT_S) -> tuple[int, str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"legacy_app did not exit within {timeout} s; stderr:\n"
                        f"{err.decode(errors='replace')}")
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def app() -> Iterator[Any]:
    started: list[App] = []

    def start(*args: str) -> App:
        started.append(App(*args))
        return started[-1]

    yield start
    for a in started:
        a.kill()


def http_get(port: int, path: str) -> tuple[int, str]:
    # No proxy from the environment for a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=WAIT_S) as resp:
        return resp.status, resp.read().decode()


def read_until(sock: socket.socket, ending: bytes) -> bytes:
    data = b""
    while not data.endswith(ending):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@needs_example
def test_legacy_app_serves_both_parts_and_stops_on_ctrl_c(app: Any) -> None:
    legacy_app = app("0", "0")
    ports = legacy_app.ports()
    with socket.create_connection(("127.0.0.1", ports["gnet"]), timeout=WAIT_S) as client:
        # The gnet part, straight.
        client.sendall(b"hello\nwor")
        client.sendall(b"ld\n")
        assert read_until(client, b"WORLD\n") == b"HELLO\nWORLD\n"
        # The legacy part calls the gnet part with a blocking stdlib socket.
        assert http_get(ports["http"], "/shout?text=from%20http") == (200, "FROM HTTP\n")
        status, body = http_get(ports["http"], "/")
        assert status == 200
        assert json.loads(body) == {"connections": 2, "lines": 3}
        # Ctrl-C with a gnet client still connected: it is hung up on, and
        # the program exits cleanly.
        legacy_app.proc.send_signal(signal.SIGINT)
        code, out, err = legacy_app.wait()
        assert read_until(client, b"\n") == b""
    assert "Traceback" not in err, err
    assert "Warning" not in err, err
    assert (code, out, err) == (0, "", "")


@needs_example
def test_legacy_app_ctrl_c_when_idle(app: Any) -> None:
    legacy_app = app("0", "0")
    legacy_app.ports()
    legacy_app.proc.send_signal(signal.SIGINT)
    assert legacy_app.wait() == (0, "", "")


@needs_example
def test_legacy_app_http_port_in_use_is_one_line(app: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        legacy_app = app(str(taken.getsockname()[1]), "0")
        code, out, err = legacy_app.wait()
    assert code == 1
    assert out == ""
    assert err == "legacy_app: http.server: Address already in use\n"
