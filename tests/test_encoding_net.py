"""Encodings over real sockets: setEncoding() and write(str, encoding).

Every Node encoding name is exercised end to end: the receiver decodes with
setEncoding() while the sender delivers one byte per read, so every
multi-byte character (and every base64 group) is split across chunks; and
write(str, encoding) puts Node's bytes on the wire and counts them in
bytesWritten. Expected bytes come from Node 20 (``Buffer.from(str, enc)``).
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest
from gevent.event import Event

import gnet as net
from gnet.errors import UnknownEncodingError
from helpers import KIB, Harness, wait_until


def receiver(harness: Harness, encoding: str | None) -> tuple[int, list[Any], Event]:
    """A server whose sockets setEncoding(encoding): (port, chunks, ended)."""
    chunks: list[Any] = []
    ended = Event()

    def on_connection(sock: net.Socket) -> None:
        assert sock.setEncoding(encoding) is sock
        sock.on("data", chunks.append)
        sock.on("end", ended.set)

    _srv, port = harness.server_and_port(on_connection)
    return port, chunks, ended


def send_bytewise(client: net.Socket, peer: net.Socket, data: bytes) -> None:
    """Send ``data`` so that the peer reads it one byte per recv()."""
    client.setNoDelay(True)
    for i in range(len(data)):
        client.write(data[i:i + 1])
        # The next byte leaves only once this one was read on its own.
        wait_until(lambda n=i + 1: peer.bytesRead == n, what=f"byte {i} to be read")


# -- setEncoding() on every Node name, chunks split everywhere ---------------------------------

# Raw bytes per canonical encoding, chosen so that one-byte reads split
# characters (UTF-8 2/3/4-byte sequences, a UTF-16 surrogate pair) and
# base64 groups; the expected text is what Node's StringDecoder yields in
# total, which equals Buffer.toString(enc) of the whole input.
_RAW: dict[str, bytes] = {
    "utf8": "aé€😀zあ".encode(),
    "ascii": b"hi \xe9\x80\xff!",
    "latin1": bytes(range(0xF0, 0x100)) + b"A",
    "hex": b"\xde\xad\xbe\xef\x00\x7f",
    "base64": bytes([250, 251, 252, 253, 254, 255, 0, 0xFF]),
    "base64url": bytes([250, 251, 252, 253, 254, 255, 0, 0xFF]),
    "utf16le": "hi€😀".encode("utf-16-le"),
}


def _node_decode(data: bytes, canonical: str) -> str:
    if canonical == "utf8":
        return data.decode("utf-8")
    if canonical == "ascii":
        return bytes(b & 0x7F for b in data).decode("ascii")  # Node clears the high bit
    if canonical == "latin1":
        return data.decode("latin-1")
    if canonical == "hex":
        return data.hex()
    if canonical == "base64":
        return base64.b64encode(data).decode()
    if canonical == "base64url":
        return base64.urlsafe_b64encode(data).decode().rstrip("=")
    return data.decode("utf-16-le")


_NAMES = [
    ("utf8", "utf8"), ("utf-8", "utf8"), ("UTF-8", "utf8"), ("ascii", "ascii"),
    ("latin1", "latin1"), ("binary", "latin1"), ("hex", "hex"), ("base64", "base64"),
    ("base64url", "base64url"), ("utf16le", "utf16le"), ("ucs2", "utf16le"),
]


def test_node_decode_reference_values() -> None:
    # The helper above against values printed by Node 20.
    assert _node_decode(b"\xe9A", "ascii") == "iA"
    assert _node_decode(bytes(range(4)), "base64") == "AAECAw=="
    assert _node_decode(bytes([0xFB, 0xEF]), "base64url") == "--8"
    assert _node_decode("hi€😀".encode("utf-16-le"), "utf16le") == "hi€😀"


@pytest.mark.parametrize(("name", "canonical"), _NAMES, ids=[n for n, _c in _NAMES])
def test_set_encoding_reassembles_split_chunks(harness: Harness, name: str, canonical: str) -> None:
    port, chunks, ended = receiver(harness, name)
    data = _RAW[canonical]
    client = harness.client(port)
    peer = harness.accepted_socket()
    send_bytewise(client, peer, data)
    client.end()
    assert ended.wait(3)
    assert all(isinstance(c, str) and c for c in chunks)
    assert "".join(chunks) == _node_decode(data, canonical)
    if canonical in ("utf8", "utf16le"):
        assert not any("\ufffd" in c for c in chunks)  # no character was broken
        # Characters were held back until whole: fewer events than bytes.
        assert len(chunks) < len(data)


def test_set_encoding_default_is_utf8(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, None)
    client = harness.client(port)
    data = "€ and あ".encode()
    send_bytewise(client, harness.accepted_socket(), data)
    client.end()
    assert ended.wait(3)
    assert "".join(chunks) == "€ and あ"


def test_set_encoding_rejects_an_unknown_name() -> None:
    sock = net.Socket()
    with pytest.raises(UnknownEncodingError) as info:
        sock.setEncoding("utf9")
    assert info.value.code == "ERR_UNKNOWN_ENCODING"
    with pytest.raises(UnknownEncodingError):
        sock.write("x", "utf9")
    sock.destroy()


def test_utf8_text_written_then_ended(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, "utf8")
    client = harness.client(port)
    client.write("L'État, c'est ")
    client.end("moi")
    assert ended.wait(3)
    assert "".join(chunks) == "L'État, c'est moi"


def test_large_string_of_three_byte_characters(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, "UTF-8")
    client = harness.client(port)
    text = "あ" * 40960  # 122 880 bytes: read boundaries fall inside characters
    client.end(text)
    assert ended.wait(5)
    assert sum(len(c) for c in chunks) == 40960
    assert "".join(chunks) == text
    assert harness.accepted[0].bytesRead == 122_880


def test_four_byte_characters_split_at_odd_offsets(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, "utf-8")
    client = harness.client(port)
    client.setNoDelay(True)
    peer = harness.accepted_socket()
    data = ("x" + "😀" * 200).encode()  # a one-byte lead puts every 4-byte character off-grid
    sizes = itertools.cycle((3, 5, 7, 2, 6, 1))
    sent = 0
    while sent < len(data):
        # Pieces of 1-7 bytes, each read on its own before the next leaves.
        piece = data[sent:sent + next(sizes)]
        client.write(piece)
        sent += len(piece)
        wait_until(lambda n=sent: peer.bytesRead == n, what="the piece to be read")
    client.end()
    assert ended.wait(3)
    assert "".join(chunks) == "x" + "😀" * 200


def test_all_byte_values_round_trip_as_latin1(harness: Harness) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.setEncoding("latin1")
        sock.on("data", lambda chunk: sock.write(chunk, "latin1"))

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    client.setEncoding("binary")
    binary = "".join(chr(i) for i in range(255, -1, -1))
    received: list[str] = []
    resent = [0]

    def on_data(chunk: str) -> None:
        received.append(chunk)
        # Send back what came, one character per write, until 256 went back.
        for char in chunk:
            if resent[0] < 256:
                client.write(char, "binary")
                resent[0] += 1

    client.on("data", on_data)
    client.write(binary, "binary")
    wait_until(lambda: sum(len(c) for c in received) == 512, what="512 characters")
    recv = "".join(received)
    assert recv[:256] == binary
    assert recv[256:] == binary
    assert harness.accepted[0].bytesRead == 512


def test_ascii_counts_one_character_per_byte(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, "ascii")
    client = harness.client(port)
    data = bytes(range(256)) * (4 * KIB)  # 1 MiB, high bytes included
    client.end(data)
    assert ended.wait(5)
    assert sum(len(c) for c in chunks) == len(data)
    assert "".join(chunks) == _node_decode(data, "ascii")


# -- write(str, encoding): Node's bytes on the wire -------------------------------------------

# (encoding, text, bytes from Node 20's Buffer.from(text, encoding).toString('hex'))
_WRITES = [
    (None, "aé€😀", "61c3a9e282acf09f9880"),
    ("utf8", "aé€😀", "61c3a9e282acf09f9880"),
    ("utf-8", "hi é€", "686920c3a9e282ac"),
    ("UTF-8", "ÿé€A", "c3bfc3a9e282ac41"),
    ("ascii", "aé€😀", "61e9ac3d00"),
    ("ascii", "hi é€", "686920e9ac"),
    ("latin1", "ÿé€A", "ffe9ac41"),
    ("binary", "aé€😀", "61e9ac3d00"),
    ("hex", "deadBEEF0", "deadbeef"),
    ("hex", "0001fe", "0001fe"),
    ("base64", "aGVsbG8gd29ybGQ=", "68656c6c6f20776f726c64"),
    ("base64", "aGk_-w", "68693ffb"),
    ("base64", "deadBEEF0", "75e69d044105"),
    ("base64url", "aGk_-w", "68693ffb"),
    ("base64url", "aGVsbG8gd29ybGQ=", "68656c6c6f20776f726c64"),
    ("utf16le", "hi€😀", "68006900ac203dd800de"),
    ("ucs2", "ÿé€A", "ff00e900ac204100"),
]


@pytest.mark.parametrize(("encoding", "text", "hexbytes"), _WRITES,
                         ids=[f"{e}-{t}" for e, t, _h in _WRITES])
def test_write_str_with_encoding_sends_nodes_bytes(
    harness: Harness, encoding: str | None, text: str, hexbytes: str
) -> None:
    port, chunks, ended = receiver(harness, "hex")
    client = harness.client(port)
    expected = bytes.fromhex(hexbytes)
    if encoding is None:
        assert client.write(text) is True
    else:
        assert client.write(text, encoding) is True
    # bytesWritten counts encoded bytes, at once, even while connecting.
    assert client.bytesWritten == len(expected)
    client.end(text, encoding)
    assert client.bytesWritten == 2 * len(expected)
    assert ended.wait(3)
    assert bytes.fromhex("".join(chunks)) == expected * 2


def test_bytes_written_counts_encoded_bytes_across_writes(harness: Harness) -> None:
    port, chunks, ended = receiver(harness, "hex")
    client = harness.client(port)
    client.write("あ")  # 3 bytes
    client.write("deadbeef", "hex")  # 4
    client.write("aGVsbG8=", "base64")  # 5
    client.write("hi", "utf16le")  # 4
    client.write(b"\x00\x01")  # 2
    assert client.bytesWritten == 18
    calls: list[Any] = []
    client.end("é", "latin1", lambda *args: calls.append(client.bytesWritten))  # 1
    assert client.bytesWritten == 19
    assert ended.wait(3)
    wait_until(lambda: calls, what="the end() callback")
    assert calls == [19]
    assert len(bytes.fromhex("".join(chunks))) == 19
    assert harness.accepted[0].bytesRead == 19
