"""The rest of the Duplex surface, each property compared with Node 20.

The Node script that gave the expected rows (shortened)::

    const P = ['errored','closed','writableCorked','readableEncoding',
               'readableAborted','readableDidRead','readableObjectMode',
               'writableObjectMode','readableEnded','writableEnded',
               'writableFinished','destroyed'];
    const s = new net.Socket(); show('new', s);
    s.cork(); s.cork(); show('corked2', s); s.uncork(); ...
    s.setEncoding('hex'); ...; s.connect(port, () => { show('open', s); s.end(); ... })
    // then: destroy() while open, ECONNREFUSED, destroy(new Error('x'))

``writableAborted`` is not on Node 20's sockets (``'writableAborted' in
net.Socket.prototype`` is false), so gnet has none either.
"""

from __future__ import annotations

from typing import Any

import pytest

import gnet as net
from gnet.errors import UnknownEncodingError
from helpers import HOST, Harness, closed_port, wait_until

PROPS = ("errored", "closed", "writableCorked", "readableEncoding", "readableAborted",
         "readableDidRead", "readableObjectMode", "writableObjectMode", "readableEnded",
         "writableEnded", "writableFinished", "destroyed")


def _row(s: net.Socket) -> dict[str, Any]:
    row = {name: getattr(s, name) for name in PROPS}
    if row["errored"] is not None:
        row["errored"] = "E:" + str(getattr(row["errored"], "code", None))
    return row


def _expect(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "errored": None, "closed": False, "writableCorked": 0, "readableEncoding": None,
        "readableAborted": False, "readableDidRead": False, "readableObjectMode": False,
        "writableObjectMode": False, "readableEnded": False, "writableEnded": False,
        "writableFinished": False, "destroyed": False,
    }
    row.update(changes)
    return row


def test_before_connect_cork_and_encoding(harness: Harness) -> None:
    s = harness.socket()
    assert _row(s) == _expect()
    s.cork()
    s.cork()
    assert _row(s) == _expect(writableCorked=2)
    s.uncork()
    assert _row(s) == _expect(writableCorked=1)
    s.uncork()
    s.setEncoding("hex")
    assert _row(s) == _expect(readableEncoding="hex")
    s.setEncoding(None)
    assert _row(s) == _expect(readableEncoding="utf8")
    assert (s.writable_corked, s.readable_encoding, s.readable_object_mode) == (0, "utf8", False)


def test_set_default_encoding(harness: Harness) -> None:
    """Node: setDefaultEncoding('latin1') returns the socket; write('é') then sends
    one byte 0xe9; an unknown name or a non-string is ERR_UNKNOWN_ENCODING."""
    got: list[bytes] = []

    def serve(c: net.Socket) -> None:
        c.on("data", got.append)

    _srv, port = harness.server_and_port(serve)
    s = harness.client(port)
    assert s.setDefaultEncoding("latin1") is s
    s.write("é")
    s.write("é", "utf8")  # an explicit encoding still wins
    s.end("é")
    wait_until(lambda: b"".join(got) == b"\xe9\xc3\xa9\xe9", what="the bytes")
    for bad in ("bogus", 5, None):
        with pytest.raises(UnknownEncodingError) as info:
            harness.socket().setDefaultEncoding(bad)  # type: ignore[arg-type]
        assert info.value.code == "ERR_UNKNOWN_ENCODING"
        assert str(info.value) == f"Unknown encoding: {bad}"


def test_open_finish_end_and_close(harness: Harness) -> None:
    rows: dict[str, dict[str, Any]] = {}

    def serve(c: net.Socket) -> None:
        c.on("data", lambda d: None)
        c.on("end", lambda: c.end())

    _srv, port = harness.server_and_port(serve)
    s = harness.socket()
    s.setEncoding(None)

    def on_connect() -> None:
        rows["open"] = _row(s)
        s.on("data", lambda d: None)
        s.end()

    s.on("end", lambda: rows.__setitem__("end", _row(s)))
    s.on("finish", lambda: rows.__setitem__("finish", _row(s)))
    s.on("close", lambda _e: rows.__setitem__("close", _row(s)))
    s.connect(port, HOST, on_connect)
    wait_until(lambda: "close" in rows, what="'close'")
    enc = {"readableEncoding": "utf8"}
    assert rows["open"] == _expect(**enc)
    assert rows["finish"] == _expect(writableEnded=True, writableFinished=True, **enc)
    assert rows["end"] == _expect(readableEnded=True, writableEnded=True,
                                  writableFinished=True, **enc)
    assert rows["close"] == _expect(closed=True, destroyed=True, readableEnded=True,
                                    writableEnded=True, writableFinished=True, **enc)


def test_destroy_while_open(harness: Harness) -> None:
    _srv, port = harness.server_and_port()
    t = harness.client(port)
    rows: list[dict[str, Any]] = []
    t.on("close", lambda _e: rows.append(_row(t)))
    wait_until(lambda: not t.connecting, what="the connection")
    t.destroy()
    aborted = _expect(closed=True, destroyed=True, readableAborted=True)
    assert _row(t) == aborted  # closed turns true in destroy(), as in Node
    wait_until(lambda: rows, what="'close'")
    assert rows == [aborted]


def test_connection_refused_and_destroy_with_error(harness: Harness) -> None:
    u = harness.client(closed_port())
    rows: list[tuple[str, dict[str, Any]]] = []
    u.on("error", lambda e: rows.append(("error", _row(u))))
    u.on("close", lambda _e: rows.append(("close", _row(u))))
    wait_until(lambda: len(rows) == 2, what="'error' and 'close'")
    refused = _expect(errored="E:ECONNREFUSED", closed=True, destroyed=True,
                      readableAborted=True)
    assert rows == [("error", refused), ("close", refused)]

    _srv, port = harness.server_and_port()
    v = harness.client(port)
    wait_until(lambda: not v.connecting, what="the connection")
    v.on("error", lambda e: None)
    err = RuntimeError("x")
    v.destroy(err)
    assert v.errored is err
    assert _row(v) == _expect(errored="E:None", closed=True, destroyed=True,
                              readableAborted=True)


def test_readable_did_read(harness: Harness) -> None:
    """False until a chunk went to 'data' (flowing) or came out of read()."""
    _srv, port = harness.server_and_port(lambda c: c.end(b"abc"))
    flowing = harness.client(port)
    assert flowing.readableDidRead is False
    got: list[bytes] = []
    flowing.on("data", got.append)
    wait_until(lambda: got, what="'data'")
    assert flowing.readableDidRead is True

    pulled = harness.client(port)
    seen: list[Any] = []

    def on_readable() -> None:
        seen.append(pulled.readableDidRead)
        pulled.read()

    pulled.on("readable", on_readable)
    pulled.on("end", lambda: seen.append(("end", pulled.readableDidRead)))
    wait_until(lambda: seen and seen[-1] == ("end", True), what="'end'")
    assert seen[0] is False
