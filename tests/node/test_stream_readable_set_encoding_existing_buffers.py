"""Port of Node's test/parallel/test-stream-readable-setEncoding-existing-buffers.js.

Node's test pushes bytes into a ``Readable``; here a peer writes them to a
socket, one write at a time, each waited for until it is in the socket's
buffer (so each is a chunk of its own, as each push() was). The case with a
custom ``_read()`` becomes a ``read(0)`` on the socket before anything came.
"""

import pytest
from common import run

import gnet as net
from helpers import HOST, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _socket_with(pieces, *, eof=False, before=None):
    # A connected client whose buffer holds `pieces` as separate chunks
    # (and the peer's FIN after them when eof), nothing consumed yet.
    peers = []
    server = net.createServer(peers.append)
    server.listen(0, HOST)
    wait_until(lambda: server.listening, what="listening")
    r = net.connect(server.address()["port"], HOST)
    if before is not None:
        before(r)
    wait_until(lambda: peers and not r.connecting, what="the connection")
    server.close()
    peer = peers[0]
    for piece in pieces:
        expected = r.bytesRead + len(piece)
        peer.write(bytes(piece))
        wait_until(lambda expected=expected: r.bytesRead == expected, what="the piece")
    if eof:
        peer.end()
    else:
        peer.on("end", lambda: peer.end())
    return r, peer


def _data(r, expected):
    chunks = []
    r.on("data", chunks.append)
    wait_until(lambda: "".join(chunks) == "".join(expected), what=repr(expected))
    return chunks


def test_set_encoding_while_bytes_are_buffered():
    r, _peer = _socket_with([b"a", b"b"])
    r.setEncoding("utf8")
    assert _data(r, ["ab"]) == ["ab"]
    r.destroy()
    run()


def test_set_encoding_while_the_buffer_holds_a_complete_but_chunked_character():
    r, _peer = _socket_with([[0xF0], [0x9F], [0x8E], [0x89]])
    r.setEncoding("utf8")
    assert _data(r, ["🎉"]) == ["🎉"]
    r.destroy()
    run()


def test_set_encoding_with_an_incomplete_character_finished_later():
    r, peer = _socket_with([[0xF0], [0x9F]])
    r.setEncoding("utf8")
    peer.write(bytes([0x8E]))
    peer.write(bytes([0x89]))
    assert _data(r, ["🎉"]) == ["🎉"]
    r.destroy()
    run()


def test_set_encoding_after_read_zero_buffered_half_a_character():
    r, peer = _socket_with([[0xF0, 0x9F]], before=lambda r: r.read(0))
    assert r.readableFlowing is None
    assert r.readableLength == 2
    r.setEncoding("utf8")
    received = []
    r.on("data", received.append)
    peer.end(bytes([0x8E, 0x89]))
    wait_until(lambda: r.readableEnded, what="'end'")
    assert received == ["🎉"]
    run()


def test_set_encoding_after_eof_with_an_incomplete_character():
    r, _peer = _socket_with([[0xF0], [0x9F]], eof=True)
    wait_until(lambda: r.readableLength == 2 and r.bytesRead == 2, what="the bytes")
    r.setEncoding("utf8")
    assert _data(r, ["\ufffd"]) == ["\ufffd"]
    wait_until(lambda: r.readableEnded, what="'end'")
    run()
