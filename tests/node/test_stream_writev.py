"""Port of Node's test/parallel/test-stream-writev.js."""

import itertools

import pytest
from common import must_call, run

from gnet.stream import Writable

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


@pytest.mark.parametrize(("decode", "uncork", "multi"),
                         list(itertools.product((True, False), repeat=3)))
def test_writev(decode, uncork, multi):
    counter = [0]
    expect_count = [0]

    def cnt(msg):
        expect_count[0] += 1
        expect = expect_count[0]

        def check(er=None):
            assert er is None
            counter[0] += 1
            assert counter[0] == expect, msg

        return check

    w = Writable({"decodeStrings": decode})

    def write(chunk, e, cb):
        raise AssertionError("Should not call _write")

    w._write = write
    if decode:
        expect_chunks = [
            {"encoding": "buffer", "chunk": list(b"hello, ")},
            {"encoding": "buffer", "chunk": list(b"world")},
            {"encoding": "buffer", "chunk": [33]},
            {"encoding": "buffer", "chunk": list(b"\nand then...")},
            {"encoding": "buffer", "chunk": list(bytes.fromhex("facebea7deadbeefdecafbad"))},
        ]
    else:
        expect_chunks = [
            {"encoding": "ascii", "chunk": "hello, "},
            {"encoding": "utf8", "chunk": "world"},
            {"encoding": "buffer", "chunk": [33]},
            {"encoding": "latin1", "chunk": "\nand then..."},
            {"encoding": "hex", "chunk": "facebea7deadbeefdecafbad"},
        ]
    actual = []

    def writev(chunks, cb):
        actual[:] = [{"encoding": c["encoding"],
                      "chunk": list(c["chunk"]) if isinstance(c["chunk"], bytes)
                      else c["chunk"]} for c in chunks]
        cb()

    w._writev = writev
    w.cork()
    w.write("hello, ", "ascii", cnt("hello"))
    w.write("world", "utf8", cnt("world"))
    if multi:
        w.cork()
    w.write(b"!", "buffer", cnt("!"))
    w.write("\nand then...", "latin1", cnt("and then"))
    if multi:
        w.uncork()
    w.write("facebea7deadbeefdecafbad", "hex", cnt("hex"))
    if uncork:
        w.uncork()
    w.end(cnt("end"))

    def on_finish():
        # Make sure finish comes after all the write callbacks.
        cnt("finish")()
        assert actual == expect_chunks

    w.on("finish", must_call(on_finish))
    run()
