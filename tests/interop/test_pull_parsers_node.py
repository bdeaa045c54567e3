"""Pull-mode parsers ported from Node programs, run against a Node server.

node/pull_parsers.js serves length-prefixed frames (cut into pieces that
straddle frame boundaries, some frames larger than the highWaterMark) and an
HTTP-upgrade-style head with body bytes right behind it. Its two readers,
run under ``node`` against the same server, give the expected results; the
readers below are the same code line by line in Python, run with gnet:

* the amqplib-style frame reader: on 'readable', ``read(4)`` for the
  length, then ``read(length)`` (which raises the highWaterMark for a large
  frame, as in Node), keeping the length while the body is incomplete;
* the ws-style upgrade reader: on 'readable', ``read()`` until
  ``\\r\\n\\r\\n``, ``unshift()`` what follows the head, remove the 'readable'
  listener and take the rest with 'data'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

import gnet
from helpers import HOST

pytestmark = [pytest.mark.node, pytest.mark.once]


def sha(buf: bytes) -> str:
    return hashlib.sha256(buf).hexdigest()


def read_frames(socket: gnet.Socket, done: Callable[[list[list[Any]]], None]) -> None:
    frames: list[list[Any]] = []
    length = -1  # the length read from a header whose body is not all there yet

    def on_readable() -> None:
        nonlocal length
        while True:
            if length < 0:
                header = socket.read(4)
                if header is None:
                    return
                length = int.from_bytes(header, "big")
            body = socket.read(length)
            if body is None:
                return
            frames.append([len(body), sha(body)])
            length = -1

    socket.on("readable", on_readable)
    socket.on("end", lambda: done(frames))


def read_upgrade(socket: gnet.Socket, done: Callable[[str, list[Any]], None]) -> None:
    head = b""

    def on_readable() -> None:
        nonlocal head
        while (chunk := socket.read()) is not None:
            head += chunk
            i = head.find(b"\r\n\r\n")
            if i != -1:
                rest = head[i + 4:]
                head = head[:i + 4]
                socket.removeListener("readable", on_readable)
                if rest:
                    socket.unshift(rest)
                body: list[bytes] = []
                socket.on("data", body.append)

                def on_end(head: bytes = head, body: list[bytes] = body) -> None:
                    everything = b"".join(body)
                    done(head.decode("latin1"), [len(everything), sha(everything)])

                socket.on("end", on_end)
                return

    socket.on("readable", on_readable)


def _run_gnet(port: int, mode: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    socket = gnet.connect(port, HOST)
    socket.on("error", lambda err: result.setdefault("failed", str(err)))
    if mode == "frames":
        socket.write("F")
        read_frames(socket, lambda frames: result.update(frames=frames))
    else:
        socket.write("U")
        read_upgrade(socket, lambda head, body: result.update(head=head, body=body))
    assert gnet.run(timeout=20_000)
    return result


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["frames", "upgrade"])
def test_pull_parser_as_under_node(node_script: Any, figures: dict[str, Any], mode: str) -> None:
    server = node_script("pull_parsers.js", "server", "connections=2")
    port = server.ready()
    under_node = node_script("pull_parsers.js", mode, f"port={port}").result()
    under_gnet = _run_gnet(port, mode)
    assert server.result() == {"served": 2}
    assert "failed" not in under_gnet
    assert under_gnet == under_node
    if mode == "frames":
        assert len(under_gnet["frames"]) == 40
        assert max(length for length, _ in under_gnet["frames"]) > 64 * 1024
        figures.update(frames=len(under_gnet["frames"]))
    else:
        assert under_gnet["head"].endswith("\r\n\r\n")
        assert under_gnet["body"][0] == 300_000
        figures.update(body_bytes=under_gnet["body"][0])
