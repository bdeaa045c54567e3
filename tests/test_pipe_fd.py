"""Socket({'fd': n}) over a pipe or FIFO: Node's Pipe handle (gnet.transport.PipeTransport).

What Node 20 did with the same descriptors (a Python parent made each pipe
and ran ``node`` with the end inherited; the script is in the comments):

* the read end, ``writable: false``: 'data' for each write, 'end' when the
  writer closes, then 'close' (hadError false); ``readyState`` 'readOnly',
  ``remoteAddress`` undefined, ``address()`` ``{}``;
* the read end with the default options: 'data', 'end', 'finish', 'close';
  a ``write()`` there: its callback gets EPIPE, then 'error' EPIPE, then
  'close' (hadError true);
* the write end, ``readable: false``: a 1 MiB ``write()`` returns false,
  ``end()`` gives 'finish' then 'close', and the reader gets every byte;
  with the default options ``readable`` the read start fails: 'error'
  ENOTCONN, then 'close';
* a terminal: ERR_INVALID_FD_TYPE 'TTY'; a regular file or /dev/null:
  ERR_INVALID_FD_TYPE 'FILE'.
"""

from __future__ import annotations

import errno
import os
import pty
import socket
from collections.abc import Iterator

import gevent
import gevent.os
import pytest

import gnet as net
from gnet.errors import InvalidFdTypeError
from helpers import MIB, WAIT_S, Harness, Recorder, wait_until

# Node 20, for reference (node pipe.js <fd>, the end inherited):
#   const s = new net.Socket({fd, writable: false});
#   for (const e of ['data','end','finish','close','error']) s.on(e, a => console.log(e, a));
#   console.log(s.readyState, s.remoteAddress, s.address());

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass  # the socket took it over and closed it


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        return exc.errno == errno.EBADF
    return False


def test_the_read_end_gets_data_then_end_then_close(harness: Harness,
                                                    pipe: tuple[int, int]) -> None:
    r, w = pipe
    shared = os.dup(r)  # shares r's open file description
    try:
        sock = harness.socket({"fd": r, "writable": False})
        assert os.get_blocking(shared), "the shared description was made non-blocking"
        rec = Recorder(sock)
        assert sock.readyState == "readOnly"
        assert sock.remoteAddress is None
        assert sock.address() == {}
        os.write(w, b"hello ")
        wait_until(lambda: rec.data() == b"hello ")
        os.write(w, b"world")
        wait_until(lambda: rec.data() == b"hello world")
        os.close(w)
        rec.wait("close")
        assert rec.squeezed() == ["data", "end", "close"]
        assert rec.args("close") == [(False,)]
        assert sock.bytesRead == 11
        assert _closed(r), "the socket owns its descriptor and closes it"
    finally:
        os.close(shared)


def test_the_read_end_with_default_options_finishes_too(harness: Harness,
                                                        pipe: tuple[int, int]) -> None:
    r, w = pipe
    sock = harness.socket({"fd": r})
    rec = Recorder(sock)
    assert sock.readyState == "open"
    os.write(w, b"abc")
    os.close(w)
    rec.wait("close")
    assert rec.squeezed() == ["data", "end", "finish", "close"]
    assert rec.data() == b"abc"


def test_writing_to_the_read_end_fails_with_epipe(harness: Harness,
                                                  pipe: tuple[int, int]) -> None:
    r, _w = pipe
    sock = harness.socket({"fd": r})
    rec = Recorder(sock)
    results: list[object] = []
    assert sock.write(b"x", results.append) is False
    rec.wait("close")
    assert [getattr(e, "code", e) for e in results] == ["EPIPE"]
    assert rec.names == ["error", "close"]
    assert rec.args("error")[0][0].code == "EPIPE"
    assert rec.args("close") == [(True,)]


def test_the_write_end_with_default_options_fails_to_read(harness: Harness,
                                                          pipe: tuple[int, int]) -> None:
    _r, w = pipe
    sock = harness.socket({"fd": w})
    rec = Recorder(sock)
    rec.wait("close")
    assert rec.names == ["error", "close"]
    err = rec.args("error")[0][0]
    assert (err.code, err.syscall) == ("ENOTCONN", "read")


@pytest.mark.timeout(60)
def test_the_write_end_sends_a_mebibyte_with_backpressure(harness: Harness,
                                                          pipe: tuple[int, int]) -> None:
    r, w = pipe
    sock = harness.socket({"fd": w, "readable": False})
    rec = Recorder(sock)
    assert sock.readyState == "writeOnly"
    payload = bytes(range(256)) * (MIB // 256)
    assert sock.write(payload) is False, "1 MiB is past the high-water mark"
    gevent.sleep(0.2)  # a slow reader: the pipe stays full meanwhile
    assert "drain" not in rec.names
    assert sock.writableLength > 0
    os.set_blocking(r, False)  # the test's own description, shared with nobody
    got = bytearray()

    def read_all() -> None:
        while True:
            chunk = gevent.os.nb_read(r, 65536)
            if not chunk:
                return
            got.extend(chunk)

    reader = gevent.spawn(read_all)
    try:
        rec.wait("drain")
        assert sock.writableLength == 0
        sock.end(b"!")
        reader.join(WAIT_S * 4)
        assert reader.dead, "the reader saw no EOF"
    finally:
        reader.kill()
    assert bytes(got) == payload + b"!"
    rec.wait("close")
    # Node: no 'drain' once end() was called; here end() came after it.
    assert rec.names == ["drain", "finish", "close"]
    assert rec.args("close") == [(False,)]
    assert _closed(w)


def test_a_fifo_works_like_a_pipe(harness: Harness, tmp_path) -> None:
    path = str(tmp_path / "fifo")
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR)  # reader and writer at once: opens without waiting
    writer = os.open(path, os.O_WRONLY)
    try:
        sock = harness.socket({"fd": fd})
        rec = Recorder(sock)
        os.write(writer, b"through the fifo")
        wait_until(lambda: rec.data() == b"through the fifo")
        sock.write(b" and back")
        wait_until(lambda: rec.data() == b"through the fifo and back")
        sock.destroy()
        rec.wait("close")
        assert _closed(fd)
    finally:
        os.close(writer)


def test_a_socketpair_still_half_closes(harness: Harness) -> None:
    a, b = socket.socketpair()
    try:
        sock = harness.socket({"fd": a.detach(), "allowHalfOpen": True})
        rec = Recorder(sock)
        sock.end(b"bye")
        b.settimeout(WAIT_S)
        got = b""
        while True:
            chunk = b.recv(100)
            if not chunk:
                break
            got += chunk
        assert got == b"bye", "a socket's end() sends FIN while it still reads"
        b.sendall(b"still here")
        wait_until(lambda: rec.data() == b"still here")
        b.close()
        rec.wait("close")
    finally:
        b.close()


def test_a_terminal_is_refused(pipe: tuple[int, int]) -> None:
    master, slave = pty.openpty()
    try:
        with pytest.raises(InvalidFdTypeError) as info:
            net.Socket({"fd": slave})
        assert info.value.code == "ERR_INVALID_FD_TYPE"
        assert "TTY" in str(info.value)
        assert not _closed(slave)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("what", ["file", "devnull"])
def test_files_and_devices_are_refused(tmp_path, what: str) -> None:
    if what == "file":
        path = str(tmp_path / "f")
        open(path, "wb").close()
    else:
        path = os.devnull
    fd = os.open(path, os.O_RDWR)
    try:
        with pytest.raises(InvalidFdTypeError) as info:
            net.Socket({"fd": fd})
        assert "FILE" in str(info.value)
        assert not _closed(fd)
    finally:
        os.close(fd)


def test_a_closed_descriptor_is_an_error() -> None:
    # A number far above any this process opens (a just-closed one may be reused at once).
    fd = int(os.sysconf("SC_OPEN_MAX")) - 1
    assert _closed(fd)
    with pytest.raises(OSError) as info:
        net.Socket({"fd": fd})
    assert info.value.errno == errno.EBADF
