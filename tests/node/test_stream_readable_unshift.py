"""Port of Node's test/parallel/test-stream-readable-unshift.js onto sockets.

Node's test unshifts into a ``Readable``; here the stream is a socket: an
unconnected one where nothing has to arrive, and a connected one whose peer
writes what the test ``push()``-ed. The objectMode case is left out (sockets
carry bytes; ``objectMode`` is refused).
"""

import base64

import pytest
from common import must_call, run

import gnet as net
from helpers import HOST, wait_until

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _connected(**options):
    # A connected client (paused, reading) and the server's side of it.
    peers = []
    server = net.createServer(peers.append)
    server.listen(0, HOST)
    wait_until(lambda: server.listening, what="listening")
    client = net.connect({"port": server.address()["port"], "host": HOST, **options})
    wait_until(lambda: peers and not client.connecting, what="the connection")
    server.close()
    client.resume()
    client.pause()
    return client, peers[0]


def _push(client, peer, data):
    expected = client.bytesRead + len(data)
    peer.write(data)
    wait_until(lambda: client.bytesRead == expected, what="the pushed bytes")


def test_strings_are_saved_as_bytes():
    readable = net.Socket()
    string = "abc"

    def on_data(chunk):
        assert isinstance(chunk, bytes)
        assert chunk.decode("utf8") == string

    readable.on("data", must_call(on_data, 1))
    readable.unshift(string)
    run()


def test_unshifted_data_goes_at_the_beginning():
    readable, peer = _connected()
    expected = ["front", "back"]

    def on_data(chunk):
        assert chunk.decode("utf8") == expected.pop(0)

    _push(readable, peer, b"back")
    readable.unshift("front")
    readable.on("data", must_call(on_data, 2))
    readable.resume()
    wait_until(lambda: not expected, what="both chunks")
    readable.destroy()
    peer.destroy()
    run()


def test_a_string_is_saved_with_its_encoding():
    readable = net.Socket()
    encoding = "base64"
    string = base64.b64encode(b"abc").decode()

    readable.on("data", must_call(lambda chunk: assert_base64(chunk, string), 1))
    readable.unshift(string, encoding)
    run()


def assert_base64(chunk, string):
    assert base64.b64encode(chunk).decode() == string


def test_unshift_with_the_stream_encoding():
    stream_encoding = "base64"
    readable = net.Socket()
    readable.setEncoding(stream_encoding)
    encodings = ["utf8", "binary", "hex", "base64"]
    expected = []

    def on_data(chunk):
        assert chunk == expected.pop()

    readable.on("data", must_call(on_data, len(encodings)))
    for encoding in encodings:
        string = "abc"
        # If the encoding is the stream's, the string is saved as it is.
        if encoding != stream_encoding:
            raw = {"utf8": b"abc", "binary": b"abc", "hex": bytes.fromhex("abc"[:2])}[encoding]
            expect = base64.b64encode(raw).decode()
        else:
            expect = string
        expected.append(expect)
        readable.unshift(string, encoding)
    run()


def test_push_and_unshift_give_the_stream_encoding():
    encoding = "base64"
    readable, peer = _connected()
    readable.setEncoding(encoding)
    want = base64.b64encode(b"abc").decode()
    seen = []

    def on_data(chunk):
        assert chunk == want
        seen.append(chunk)

    readable.on("data", must_call(on_data, 2))
    _push(readable, peer, b"abc")
    readable.unshift("abc")
    readable.resume()  # paused by _connected(); Node's fresh Readable flows on 'data'
    wait_until(lambda: len(seen) == 2, what="both chunks")
    readable.destroy()
    peer.destroy()
    run()


def test_unshift_after_removing_the_readable_listener_does_not_throw():
    # nodejs/node#27192: 100 chunks through a highWaterMark of 50.
    high_water_mark = 50
    stream, peer = _connected(highWaterMark=high_water_mark)
    for i in range(high_water_mark * 2):
        peer.write(str(i))
    peer.end()

    def on_read():
        while stream.read() is not None:
            # Remove the 'readable' listener before unshifting.
            stream.removeListener("readable", on_read)
            stream.unshift("a")
            stream.on("data", lambda chunk: None)
            break

    stream.once("readable", must_call(on_read))
    stream.on("end", must_call())
    run()
