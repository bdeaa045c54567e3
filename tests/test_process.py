"""gnet.process: stdin, stdout and stderr as cooperative streams, in real child processes.

Each test starts a Python child whose descriptors are real pipes, a real
pseudo-terminal (``pty.openpty()``) or a regular file, and checks what a
ported Node program relies on: the bytes, the events and their order,
backpressure both ways, EPIPE as an 'error' (not the death of the process),
a loop that keeps serving sockets while stdin or stdout waits, and a
terminal whose mode is left as it was. Every wait has a timeout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pty
import select
import socket
import subprocess
import sys
import termios
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gevent import get_hub

from gnet.errors import (
    ForeignThreadError,
    InvalidArgTypeError,
    StreamNullValuesError,
    StreamWriteAfterEndError,
)
from gnet.process import ReadStream, WriteStream
from helpers import settle, wait_until

WAIT_S = 15.0
MIB = 1024 * 1024

PRELUDE = """\
import os, sys, time
import gnet
from gnet import process
def say(*parts):
    # Straight to fd 2, so a test's own output never depends on the streams under test.
    os.write(2, (" ".join(str(p) for p in parts) + "\\n").encode())
"""


def child(script: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    code = PRELUDE + textwrap.dedent(script)
    return subprocess.Popen([sys.executable, "-X", "dev", "-c", code], **kwargs)


def finish(proc: subprocess.Popen[bytes], timeout: float = WAIT_S) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def read_line(fd: int, timeout: float = WAIT_S) -> bytes:
    """One line from a pipe or pty master, byte by byte, within ``timeout``."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no full line within {timeout} s: {line!r}")
        byte = os.read(fd, 1)
        if not byte:
            raise AssertionError(f"EOF after {line!r}")
        line += byte
    return line


def read_all(fd: int, timeout: float = WAIT_S) -> bytes:
    deadline = time.monotonic() + timeout
    out = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no EOF within {timeout} s ({len(out)} bytes read)")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return bytes(out)
        out += chunk


ECHO = """\
events = []
process.stdin.on("end", lambda: events.append("end"))
process.stdin.on("close", lambda: (events.append("close"), say(*events)))
process.stdin.pipe(process.stdout)
gnet.run()
"""


def test_importing_gnet_touches_no_standard_descriptor() -> None:
    proc = child("""\
        import fcntl
        before = [fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)]
        import gnet.process
        made = [name for name in ("stdin", "stdout", "stderr") if name in vars(gnet.process)]
        after = [fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)]
        say(made, before == after)
        """, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = proc.communicate(timeout=WAIT_S)
    assert err.decode() == "[] True\n"


@pytest.mark.once
def test_pipe_to_pipe_copies_every_byte_then_end_then_close(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB)
    proc = child(ECHO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(data, timeout=WAIT_S)
    assert proc.returncode == 0, err
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()
    assert err.decode() == "end close\n"


@pytest.mark.once
def test_stdin_at_eof_gives_end_then_close_and_no_data() -> None:
    proc = child(ECHO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=WAIT_S)
    assert (proc.returncode, out, err.decode()) == (0, b"", "end close\n")


@pytest.mark.once
def test_closed_stdin_is_an_empty_one_and_closed_stdout_drops_writes() -> None:
    proc = child(ECHO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 preexec_fn=lambda: (os.close(0), os.close(1)))
    _out, err = proc.communicate(timeout=WAIT_S)
    assert (proc.returncode, err.decode()) == (0, "end close\n")


@pytest.mark.once
def test_regular_files_both_ways(tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    data = os.urandom(5 * MIB + 123)
    src.write_bytes(data)
    with src.open("rb") as stdin, dst.open("wb") as stdout:
        proc = child(ECHO, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
        _out, err = proc.communicate(timeout=WAIT_S)
    assert (proc.returncode, err.decode()) == (0, "end close\n")
    assert dst.read_bytes() == data


@pytest.mark.once
def test_a_regular_file_is_read_without_freezing_the_loop(tmp_path: Path) -> None:
    # 128 MiB (sparse) from a file while a 1 ms interval ticks: the longest gap between
    # two ticks shows how long the loop was held.
    src = tmp_path / "big"
    with src.open("wb") as f:
        f.truncate(128 * MIB)
    with src.open("rb") as stdin:
        proc = child("""\
            ticks = []
            timer = gnet.setInterval(lambda: ticks.append(time.monotonic()), 1)
            total = 0
            def on_data(chunk):
                global total
                total += len(chunk)
            def on_end():
                timer.close()
                gaps = [b - a for a, b in zip(ticks, ticks[1:])]
                say(total, len(ticks), round(max(gaps) * 1000))
            process.stdin.on("data", on_data)
            process.stdin.on("end", on_end)
            gnet.run()
            """, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _out, err = proc.communicate(timeout=WAIT_S * 2)
    assert proc.returncode == 0, err
    total, ticks, worst_ms = map(int, err.split())
    assert total == 128 * MIB
    assert ticks >= 3
    assert worst_ms < 250, f"the loop was held {worst_ms} ms at once"


@pytest.mark.once
def test_a_pty_both_ways_and_its_mode_left_alone() -> None:
    master, slave = pty.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # only what the child writes comes back
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        flags = fcntl.fcntl(slave, fcntl.F_GETFL)
        proc = child("""\
            process.stdin.setEncoding("utf8")
            say("tty", process.stdin.isTTY, process.stdout.isTTY)
            def on_data(text):
                process.stdout.write(text.upper())
                if "bye" in text:
                    process.stdin.pause()
                    process.stdout.write("done\\n", lambda err: say("written", err))
            process.stdin.on("data", on_data)
            gnet.run()
            """, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        assert read_line(proc.stderr.fileno()) == b"tty True True\n"  # type: ignore[union-attr]
        # The child's own open file description: the one shared with us (and
        # with a shell, at a real terminal) stays blocking all along.
        assert fcntl.fcntl(slave, fcntl.F_GETFL) == flags
        os.write(master, "héllo\n".encode())
        assert read_line(master) == "HÉLLO\r\n".encode()
        assert fcntl.fcntl(slave, fcntl.F_GETFL) == flags
        os.write(master, b"bye\n")
        assert [read_line(master) for _ in range(2)] == [b"BYE\r\n", b"done\r\n"]
        assert read_line(proc.stderr.fileno()) == b"written None\n"  # type: ignore[union-attr]
        # Paused, nothing else keeps the loop: the child exits on its own.
        assert finish(proc) == 0
        assert fcntl.fcntl(slave, fcntl.F_GETFL) == flags
        proc.stderr.close()  # type: ignore[union-attr]
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.once
def test_stdout_to_a_reader_that_stops_reading() -> None:
    # The child fills stdout until write() returns False, then serves an
    # echo server while nobody reads; 'drain' comes once the reader resumes.
    proc = child("""\
        def on_connection(sock):
            sock.pipe(sock)
        server = gnet.createServer(on_connection)
        chunk = b"x" * 65536
        writes = 0
        def on_listening():
            global writes
            ok = True
            while ok:
                ok = process.stdout.write(chunk)
                writes += 1
            say("full", writes, server.address()["port"])
        def on_drain():
            say("drain", process.stdout.writableLength)
            process.stdout.end(b"END")
            server.close()
        process.stdout.once("drain", on_drain)
        server.listen(0, "127.0.0.1", on_listening)
        gnet.run()
        """, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        err_fd = proc.stderr.fileno()  # type: ignore[union-attr]
        word, writes, port = read_line(err_fd).split()
        assert word == b"full" and int(writes) >= 2
        # Other sockets are served while stdout is full.
        with socket.create_connection(("127.0.0.1", int(port)), timeout=WAIT_S) as peer:
            for i in range(50):
                line = f"ping {i}\n".encode()
                peer.sendall(line)
                got = b""
                while len(got) < len(line):
                    got += peer.recv(100)
                assert got == line
        assert not select.select([err_fd], [], [], 0.3)[0], "'drain' before anyone read"
        out = read_all(proc.stdout.fileno())  # type: ignore[union-attr]
        assert read_line(err_fd) == b"drain 0\n"
        assert out == b"x" * 65536 * int(writes) + b"END"
        assert finish(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.once
def test_stdout_whose_reader_is_gone_gives_epipe_not_death() -> None:
    proc = child("""\
        def on_error(err):
            say("error", err.code, err.syscall)
        process.stdout.on("error", on_error)
        process.stdout.on("close", lambda: say("close"))
        def more():
            if not process.stdout.destroyed:
                process.stdout.write(b"y" * 4096)
                gnet.setTimeout(more, 1)
        more()
        gnet.run()
        """, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b"y" * 10  # type: ignore[union-attr]
    proc.stdout.close()  # type: ignore[union-attr]
    err = read_all(proc.stderr.fileno())  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    assert (finish(proc), err.decode()) == (0, "error EPIPE write\nclose\n")


@pytest.mark.once
def test_stdin_piped_to_a_socket_with_backpressure() -> None:
    # Node's chat client, half of it: process.stdin.pipe(socket). A peer that
    # reads slowly pauses stdin instead of buffering the whole input.
    data = os.urandom(8 * MIB)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        proc = child(f"""\
            sock = gnet.connect({port}, "127.0.0.1")
            most = 0
            def on_data(_chunk):
                global most
                most = max(most, sock.writableLength)
            process.stdin.on("data", on_data)
            process.stdin.pipe(sock)
            sock.on("close", lambda _had_error: say("most", most))
            sock.resume()
            gnet.run()
            """, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        listener.settimeout(WAIT_S)
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(WAIT_S)
            def feed() -> None:
                proc.stdin.write(data)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]

            feeder = threading.Thread(target=feed)
            feeder.start()
            got = bytearray()
            while True:
                if len(got) < MIB:
                    time.sleep(0.001)  # a slow reader at first
                chunk = peer.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
            feeder.join(WAIT_S)
        err = read_all(proc.stderr.fileno())  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert finish(proc) == 0, err
    assert bytes(got) == data
    word, most = err.split()
    assert word == b"most" and int(most) < 2 * MIB, "stdin was not paused by the socket"


@pytest.mark.once
def test_a_socket_as_stdin_is_non_blocking_only_while_read() -> None:
    # A socket cannot be opened again through /proc: gnet sets O_NONBLOCK on
    # the description it shares with us, and clears it once stdin has ended.
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = child("""\
            def on_end():
                say("end", os.get_blocking(0))
            process.stdin.on("data", lambda chunk: say("data", chunk.decode(), os.get_blocking(0)))
            process.stdin.on("end", on_end)
            process.stdin.on("close", lambda: say("close", os.get_blocking(0)))
            gnet.run()
            """, stdin=theirs, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert os.get_blocking(theirs.fileno())
        ours.sendall(b"hi")
        err_fd = proc.stderr.fileno()  # type: ignore[union-attr]
        assert read_line(err_fd) == b"data hi False\n"
        assert not os.get_blocking(theirs.fileno())  # shared: the child's mode shows here
        ours.shutdown(socket.SHUT_WR)
        assert read_line(err_fd) == b"end False\n"
        assert read_line(err_fd) == b"close True\n"
        assert finish(proc) == 0
        proc.stderr.close()  # type: ignore[union-attr]
        assert os.get_blocking(theirs.fileno())


# -- in this process, over a pipe of its own -----------------------------------------------


@pytest.fixture
def pipe_fds() -> Any:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        try:
            os.close(fd)
        except OSError:
            pass


def test_write_checks_its_chunk_and_refuses_after_end(pipe_fds: tuple[int, int]) -> None:
    read_end, write_end = pipe_fds
    out = WriteStream(write_end)
    events: list[Any] = []
    for name in ("error", "finish", "close"):
        out.on(name, lambda *args, name=name: events.append((name, *args)))
    with pytest.raises(StreamNullValuesError):
        out.write(None)
    with pytest.raises(InvalidArgTypeError):
        out.write(3)
    written: list[Any] = []
    assert out.write("é", "utf8", written.append) is True
    out.end(b"!")
    assert out.write(b"late", written.append) is False
    wait_until(lambda: ("close",) in events, what="'close'")
    assert os.read(read_end, 10) == "é!".encode()
    assert written[0] is None and isinstance(written[1], StreamWriteAfterEndError)
    # Node's order: the write's callback, then 'error' and 'close', no 'finish'.
    assert [e[0] for e in events] == ["error", "close"]
    assert isinstance(events[0][1], StreamWriteAfterEndError)
    assert out.destroyed and not out.writableFinished
    # Our own description was closed with the stream; the descriptor we gave stays.
    os.fstat(write_end)


def test_data_decoded_whole_across_reads(pipe_fds: tuple[int, int]) -> None:
    read_end, write_end = pipe_fds
    stdin = ReadStream(read_end).setEncoding("utf8")
    got: list[str] = []
    stdin.on("data", got.append)
    stdin.on("end", lambda: got.append("<end>"))
    euro = "€".encode()
    os.write(write_end, euro[:1])
    settle()  # read alone: the decoder holds it
    assert got == []
    os.write(write_end, euro[1:] + b"!")
    os.close(write_end)
    wait_until(lambda: "<end>" in got, what="'end'")
    assert "".join(got) == "€!<end>"
    assert stdin.readableEnded and stdin.readableEncoding == "utf8"


def test_pause_stops_reading_and_resume_goes_on(pipe_fds: tuple[int, int]) -> None:
    read_end, write_end = pipe_fds
    stdin = ReadStream(read_end)
    got: list[bytes] = []
    stdin.on("data", got.append)
    os.write(write_end, b"one")
    wait_until(lambda: got == [b"one"], what="the first chunk")
    stdin.pause()
    os.write(write_end, b"two")
    settle()
    assert got == [b"one"] and stdin.isPaused() and stdin.readableLength == 0
    stdin.resume()
    wait_until(lambda: got == [b"one", b"two"], what="the second chunk")
    stdin.destroy()


def test_a_foreign_thread_cannot_write(pipe_fds: tuple[int, int]) -> None:
    _read_end, write_end = pipe_fds
    out = WriteStream(write_end)
    out.write(b"x")  # the dispatcher exists by now
    caught: list[BaseException] = []

    def write() -> None:
        try:
            out.write(b"y")
        except ForeignThreadError as err:
            caught.append(err)

    # A real OS thread, monkey-patched or not.
    get_hub().threadpool.spawn(write).get(timeout=WAIT_S)
    assert len(caught) == 1
    out.destroy()
