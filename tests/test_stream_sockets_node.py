"""A line-protocol Transform between two gnet sockets, against a Node peer.

The relay below is Node's, line by line: a server that takes two
connections and pipes the first through a line splitter and a tagger into
the second (a chat-like line protocol). The Node client sends lines cut at
awkward places (a multi-byte character split across writes, a line split
across three writes, a last line without newline) and prints what the
second connection received. The same client, run against the same relay
written in Node, prints the same thing.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import gevent
import gevent.subprocess
import pytest

import gnet
from gnet.encodings import Decoder
from gnet.stream import Transform, pipeline
from helpers import HOST, wait_until

pytestmark = [pytest.mark.node, pytest.mark.once]

NODE = shutil.which("node")

CLIENT = r"""
const net = require('net');
const port = +process.argv[1];
const a = net.connect(port, '127.0.0.1', () => {
  const b = net.connect(port, '127.0.0.1');
  let got = '';
  b.setEncoding('utf8');
  b.on('data', (d) => { got += d; });
  b.on('end', () => { console.log(JSON.stringify(got)); b.end(); });
  b.on('connect', () => {
    const euro = Buffer.from('€');
    const parts = [Buffer.from('hel'), Buffer.from('lo\nwo'), Buffer.from('rld\n'),
                   Buffer.concat([Buffer.from('price '), euro.subarray(0, 1)]),
                   Buffer.concat([euro.subarray(1), Buffer.from('5\nbye')])];
    let i = 0;
    const next = () => { if (i < parts.length) { a.write(parts[i++]); setTimeout(next, 5); }
                         else a.end(); };
    setTimeout(next, 20);
  });
});
"""

RELAY = r"""
const net = require('net');
const {Transform, pipeline} = require('stream');
class Lines extends Transform {
  constructor() {
    super({readableObjectMode: true});
    this.tail = '';
    this.dec = new (require('string_decoder').StringDecoder)('utf8');
  }
  _transform(chunk, enc, cb) { const parts = (this.tail + this.dec.write(chunk)).split('\n');
    this.tail = parts.pop(); for (const l of parts) this.push(l); cb(); }
  _flush(cb) { if (this.tail) this.push(this.tail); cb(); }
}
class Tag extends Transform {
  constructor() { super({writableObjectMode: true}); this.n = 0; }
  _transform(line, enc, cb) { cb(null, `${++this.n} A> ${line.toUpperCase()}\n`); }
}
const waiting = [];
const srv = net.createServer((s) => {
  waiting.push(s);
  if (waiting.length === 2) { const [a, b] = waiting;
    pipeline(a, new Lines(), new Tag(), b, (err) => srv.close()); }
}).listen(0, '127.0.0.1', () => console.log(srv.address().port));
"""


class Lines(Transform):
    def __init__(self) -> None:
        super().__init__({"readableObjectMode": True})
        self.tail = ""
        self.dec = Decoder("utf8")

    def _transform(self, chunk: bytes, encoding: str, callback: Any) -> None:
        *lines, self.tail = (self.tail + self.dec.write(chunk)).split("\n")
        for line in lines:
            self.push(line)
        callback()

    def _flush(self, callback: Any) -> None:
        if self.tail:
            self.push(self.tail)
        callback()


class Tag(Transform):
    def __init__(self) -> None:
        super().__init__({"writableObjectMode": True})
        self.n = 0

    def _transform(self, line: str, encoding: str, callback: Any) -> None:
        self.n += 1
        callback(None, f"{self.n} A> {line.upper()}\n")


def run_client(port: int) -> str:
    assert NODE is not None
    out = gevent.subprocess.check_output([NODE, "-e", CLIENT, str(port)], timeout=20)
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.mark.timeout(40)
@pytest.mark.skipif(NODE is None, reason="needs node")
def test_line_relay_between_two_gnet_sockets_matches_node() -> None:
    results: list[Any] = []
    waiting: list[gnet.Socket] = []

    def on_connection(sock: gnet.Socket) -> None:
        waiting.append(sock)
        if len(waiting) == 2:
            a, b = waiting
            pipeline(a, Lines(), Tag(), b, lambda err=None: (results.append(err), srv.close()))

    srv = gnet.createServer(on_connection)
    srv.listen(0, HOST)
    wait_until(lambda: srv.address() is not None)
    try:
        got = run_client(srv.address()["port"])
        wait_until(lambda: results)
    finally:
        srv.close()
        for sock in waiting:
            sock.destroy()
    assert results == [None]
    expected = "1 A> HELLO\n2 A> WORLD\n3 A> PRICE €5\n4 A> BYE\n"
    assert got == expected

    relay = gevent.subprocess.Popen([NODE, "-e", RELAY], stdout=gevent.subprocess.PIPE)
    try:
        assert relay.stdout is not None
        port = int(relay.stdout.readline())
        assert run_client(port) == expected
    finally:
        relay.kill()
        relay.wait()
