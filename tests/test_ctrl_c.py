"""Ctrl-C in a script blocked in ``gnet.run()``: the README's own example, run as a user would.

Node prints nothing on Ctrl-C and dies of SIGINT. A Python script dies of
SIGINT too, after the interpreter's short KeyboardInterrupt traceback; gnet
keeps that (docs/differences.md) but makes the traceback the user's: their
``run()`` line (and a listener it cut short), never a page of gevent's hub.
A script that catches the KeyboardInterrupt around ``run()`` goes on.
"""

from __future__ import annotations

import re
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import default_sigint

README = Path(__file__).resolve().parent.parent / "README.md"
WAIT_S = 10.0


def readme_echo_server() -> str:
    """The first Python snippet under "What it is" in README.md, on a free port."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## What it is"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no Python snippet under 'What it is'"
    code = match.group(1)
    assert "net.run()" in code and "createServer" in code, code
    return code.replace("listen(1337,", "listen(0,")


def interrupt(tmp_path: Path, code: str, send: bytes | None = None) -> tuple[int, str, str, str]:
    """Run ``code`` as a script; once it listens, maybe send ``send``; then SIGINT.

    Returns the status, stdout, stderr and the script's path.
    """
    script = tmp_path / "script.py"
    script.write_text(code, encoding="utf-8")
    with subprocess.Popen([sys.executable, "-u", str(script)], preexec_fn=default_sigint,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert select.select([proc.stdout], [], [], WAIT_S)[0], "the script never listened"
            first = proc.stdout.readline()
            match = re.search(r"'port': (\d+)", first)
            if match is None:
                proc.kill()
                pytest.fail(f"not listening: {first!r}; stderr: {proc.communicate()[1]}")
            with socket.create_connection(("127.0.0.1", int(match.group(1))),
                                          timeout=WAIT_S) as client:
                greeting = client.recv(100)
                if send is not None:
                    client.sendall(send)
                    # Wait until the listener runs (and blocks): it answers first.
                    assert client.recv(100) == b"sleeping\n"
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:  # failed, or still running long after Ctrl-C
                proc.kill()
    return proc.returncode, first + greeting.decode() + out, err, str(script)


def frames(err: str) -> list[tuple[str, str]]:
    return re.findall(r'^  File "([^"]+)", line \d+, in (\S+)$', err, re.M)


def test_readme_example_ctrl_c_is_a_short_traceback_from_the_users_run_line(
        tmp_path: Path) -> None:
    code, out, err, script = interrupt(tmp_path, readme_echo_server())
    assert "Echo server" in out
    assert code == -signal.SIGINT, err  # died of SIGINT, as Node does (a shell says 130)
    assert "gevent" not in err, err
    assert err.splitlines()[0] == "Traceback (most recent call last):"
    assert err.splitlines()[-1] == "KeyboardInterrupt"
    assert "    net.run()" in err.splitlines()[2], err
    (user, _), (gnet_run, function), *cut_short = frames(err)
    assert user == script
    assert (Path(gnet_run).name, function) == ("loop.py", "run")
    # Ctrl-C may land while the 'connection' listener still runs: its lines, and only those.
    assert all(path == script for path, _ in cut_short), err


BLOCKED_LISTENER = """\
import time
import gnet as net

def on_data(socket, data):
    socket.write('sleeping\\n')
    time.sleep(60)  # not monkey-patched: the whole process waits here

def on_connection(socket):
    socket.write('hello\\n')
    socket.on('data', lambda data: on_data(socket, data))

server = net.createServer(on_connection)
server.listen(0, '127.0.0.1', lambda: print('listening on', server.address()))
{run}
"""


def test_ctrl_c_in_a_blocked_listener_shows_where_it_was_stuck(tmp_path: Path) -> None:
    code, _, err, script = interrupt(tmp_path, BLOCKED_LISTENER.format(run="net.run()"), b"x")
    assert code == -signal.SIGINT, err
    assert "gevent" not in err, err
    assert err.splitlines()[-1] == "KeyboardInterrupt"
    # The user's run() line, gnet's re-raise, then the listener: nothing of the dispatch.
    assert [(Path(path).name, function) for path, function in frames(err)] == [
        ("script.py", "<module>"), ("loop.py", "run"), ("script.py", "<lambda>"),
        ("script.py", "on_data")]
    assert script in err


@pytest.mark.parametrize("send", [None, b"x"], ids=["idle", "in-a-listener"])
def test_ctrl_c_caught_around_run_goes_on_quietly(tmp_path: Path, send: bytes | None) -> None:
    body = BLOCKED_LISTENER.format(run=(
        "try:\n"
        "    net.run()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "server.close()\n"
        "server.closeAllConnections()\n"
        "print('finished', net.run(timeout=5000))\n"))
    code, out, err, _ = interrupt(tmp_path, body, send)
    assert (code, err) == (0, "")
    assert out.splitlines()[-2:] == ["interrupted", "finished True"]


SIGNAL_WHILE_WAITING = """\
import _thread
import os
import signal
import time

import gnet as net

server = net.createServer().listen(0, '127.0.0.1')


def interrupt_later():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)


# The main thread blocks SIGINT, so the kernel hands it to the other thread
# and the main thread's epoll_wait goes on: only the Python handler,
# pending, can tell run(). Nothing else happens in this process.
_thread.start_new_thread(interrupt_later, ())
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
try:
    net.run()
except KeyboardInterrupt:
    print('interrupted')
"""


def test_ctrl_c_noticed_while_the_loop_is_quiet(tmp_path: Path) -> None:
    # A SIGINT that does not wake epoll_wait (here: taken by another thread;
    # in real life: arriving just as the hub goes back to waiting) still
    # ends run() within a moment, not at the next network event.
    script = tmp_path / "script.py"
    script.write_text(SIGNAL_WHILE_WAITING, encoding="utf-8")
    try:
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                timeout=WAIT_S, preexec_fn=default_sigint)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Ctrl-C not noticed within {WAIT_S} s")
    assert (result.returncode, result.stdout, result.stderr) == (0, "interrupted\n", "")


@pytest.mark.once
def test_ctrl_c_never_leaves_the_loop_half_done(tmp_path: Path) -> None:
    # Python raises KeyboardInterrupt wherever the main thread is; landing in
    # the hub or the dispatcher's hand-off it used to leave a task or a
    # worker behind, so the run() after it waited for ever. Repeated, since
    # where the signal lands is luck.
    body = BLOCKED_LISTENER.format(run=(
        "try:\n"
        "    net.run()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "server.close()\n"
        "server.closeAllConnections()\n"
        "print('finished', net.run(timeout=5000), net.refCount())\n"))
    for _ in range(15):
        code, out, err, _ = interrupt(tmp_path, body, None)
        assert (code, err) == (0, "")
        assert out.splitlines()[-2:] == ["interrupted", "finished True 0"]
