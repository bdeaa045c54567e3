"""gnet.stream's classes against Node 20's recorded behaviour.

The expected event orders below were recorded by running the same program
under ``node`` (v20); each test quotes Node's output. Two differences are
gnet's on purpose and are left out of the comparisons: 'unpipe' comes when
the source ends (gnet's pipe() detaches then) rather than when the
destination finishes, and events of different streams may interleave
differently (each stream's own events keep Node's order; gnet runs each
stream's events in a worker of its own).
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import gevent
import pytest

import gnet
from gnet.errors import OutOfRangeError, StreamPrematureCloseError
from gnet.stream import (
    Duplex,
    PassThrough,
    Readable,
    Transform,
    Writable,
    finished,
    pipeline,
)
from helpers import settle, wait_until


class Lines(Transform):
    """The line splitter of Node's docs: bytes in, one str per line out."""

    def __init__(self) -> None:
        super().__init__({"readableObjectMode": True})
        self.tail = ""

    def _transform(self, chunk: Any, encoding: str, callback: Any) -> None:
        *lines, self.tail = (self.tail + chunk.decode()).split("\n")
        for line in lines:
            self.push(line)
        callback()

    def _flush(self, callback: Any) -> None:
        if self.tail:
            self.push(self.tail)
        callback()


def record(log: list[str], name: str, stream: Any, events: tuple[str, ...]) -> None:
    for event in events:
        def listener(*args: Any, event: str = event) -> None:
            err = f"({args[0]})" if args and isinstance(args[0], BaseException) else ""
            log.append(f"{name}:{event}{err}")
        stream.on(event, listener)


def of(log: list[str], name: str) -> list[str]:
    return [e for e in log if e.startswith(name + ":") and not e.endswith(":unpipe")]


def test_line_splitter_between_a_readable_and_a_writable() -> None:
    # node: split:pipe out:pipe write:a write:bc write:d src:end write:e split:prefinish
    #       split:end out:prefinish split:finish split:unpipe out:finish out:unpipe
    #       split:close out:close src:close
    log: list[str] = []
    src = Readable.from_(["a\nb", "c\nd\n", "e"])
    split = Lines()
    out = Writable(objectMode=True, write=lambda c, e, cb: (log.append("write:" + c), cb()))
    events = ("end", "finish", "close", "error", "prefinish", "pipe", "unpipe")
    for name, stream in (("src", src), ("split", split), ("out", out)):
        record(log, name, stream, events)
    assert src.pipe(split).pipe(out) is out
    wait_until(lambda: "out:close" in log and "src:close" in log and "split:close" in log)
    assert [e for e in log if e.startswith("write:")] == ["write:a", "write:bc", "write:d",
                                                          "write:e"]
    assert of(log, "src") == ["src:end", "src:close"]
    assert of(log, "split") == ["split:pipe", "split:prefinish", "split:end", "split:finish",
                                "split:close"]
    assert of(log, "out") == ["out:pipe", "out:prefinish", "out:finish", "out:close"]
    assert log.index("write:e") < log.index("split:end") < log.index("out:finish")


def test_slow_writable_backpressure_and_end_order() -> None:
    # node: w:ab r1:true r2:false r3:false len:5 nd:true w:cd w:e w:z prefinish endcb
    #       finish close
    log: list[str] = []

    def write(chunk: bytes, encoding: str, callback: Any) -> None:
        log.append("w:" + chunk.decode())
        gevent.spawn_later(0.005, callback)

    w = Writable(highWaterMark=3, write=write)
    record(log, "", w, ("drain", "finish", "close", "prefinish"))
    log.append(f"r1:{w.write('ab')}")
    log.append(f"r2:{w.write('cd')}")
    log.append(f"r3:{w.write('e')}")
    log.append(f"len:{w.writableLength} nd:{w.writableNeedDrain}")
    w.end("z", lambda err: log.append(f"endcb:{err}"))
    wait_until(lambda: ":close" in log)
    assert log == ["w:ab", "r1:True", "r2:False", "r3:False", "len:5 nd:True", "w:cd", "w:e",
                   "w:z", ":prefinish", "endcb:None", ":finish", ":close"]


def test_drain_comes_after_the_buffer_empties_never_inside_write() -> None:
    log: list[str] = []
    w = Writable(highWaterMark=2, write=lambda c, e, cb: cb())
    w.on("drain", lambda: log.append("drain"))
    assert w.write(b"abc", lambda err: log.append(f"cb:{err}")) is False
    assert log == []  # the callback and 'drain' come later, in a worker
    wait_until(lambda: "drain" in log)
    assert log == ["drain", "cb:None"]  # node: drain then the callback (afterWrite)


def test_destroy_with_an_error_mid_stream() -> None:
    # node: w:x0 w:x1 w:x2 r:error(boom) r:close / destroyed true false false
    log: list[str] = []
    count = [0]

    def read(size: int) -> None:
        if count[0] < 3:
            r.push(f"x{count[0]}")
            count[0] += 1
        elif count[0] == 3:
            count[0] += 1
            gevent.spawn_later(0.005, r.destroy, Exception("boom"))

    r = Readable(read=read)
    p = PassThrough()
    w = Writable(write=lambda c, e, cb: (log.append("w:" + c.decode()), cb()))
    for name, stream in (("r", r), ("p", p), ("w", w)):
        record(log, name, stream, ("end", "finish", "close", "error"))
    r.pipe(p).pipe(w)
    wait_until(lambda: "r:close" in log)
    settle()
    assert log == ["w:x0", "w:x1", "w:x2", "r:error(boom)", "r:close"]
    assert (r.destroyed, p.destroyed, w.destroyed) == (True, False, False)
    assert r.readableAborted and str(r.errored) == "boom"


def test_finished_after_end_and_premature_close() -> None:
    # node: end close finished:undefined again:undefined; destroyed-before and premature:
    #       ERR_STREAM_PREMATURE_CLOSE
    log: list[str] = []
    r = Readable.from_(["a", "b"])
    r.on("end", lambda: log.append("end"))
    r.on("close", lambda: log.append("close"))
    r.resume()

    def first(err: Any) -> None:
        log.append(f"finished:{err}")
        finished(r, lambda err2: log.append(f"again:{err2}"))

    finished(r, first)
    codes: list[str] = []
    r2 = Readable(read=lambda n: None, autoDestroy=False)  # else destroyed at its end
    r2.destroy()
    finished(r2, lambda err: codes.append(err.code))
    r3 = Readable(read=lambda n: None)
    finished(r3, lambda err: codes.append(err.code))
    r3.destroy()
    wait_until(lambda: len(log) == 4 and len(codes) == 2)
    assert log == ["end", "close", "finished:None", "again:None"]
    assert codes == ["ERR_STREAM_PREMATURE_CLOSE"] * 2


def test_pull_mode_read_n_and_readable_order() -> None:
    # node: p1:true p2:false p3:false readable read:4 got:abc got:def readable got:g
    #       readable end close
    log: list[str] = []
    r = Readable(highWaterMark=4, read=lambda n: log.append(f"read:{n}"))
    log.append(f"p1:{r.push('ab')}")
    log.append(f"p2:{r.push('cd')}")
    log.append(f"p3:{r.push('ef')}")

    def on_readable() -> None:
        log.append("readable")
        while (chunk := r.read(3)) is not None:
            log.append("got:" + chunk.decode())

    r.on("readable", on_readable)
    r.on("end", lambda: log.append("end"))
    r.on("close", lambda: log.append("close"))
    gevent.spawn_later(0.01, lambda: (r.push("g"), r.push(None)))
    wait_until(lambda: "close" in log)
    assert log == ["p1:True", "p2:False", "p3:False", "readable", "read:4", "got:abc",
                   "got:def", "readable", "got:g", "readable", "end", "close"]


def test_push_backpressure_calls_read_again_below_the_mark() -> None:
    calls: list[int] = []
    pushed = [0]

    def read(size: int) -> None:
        calls.append(size)
        while pushed[0] < 10:
            pushed[0] += 1
            if not r.push({"n": pushed[0]}):
                return
        r.push(None)

    r = Readable(objectMode=True, highWaterMark=3, read=read)
    got: list[Any] = []
    r.on("data", got.append)
    wait_until(lambda: r.readableEnded)
    assert [o["n"] for o in got] == list(range(1, 11))
    assert calls[0] == 3 and len(calls) >= 3


def test_iteration_and_break_destroys() -> None:
    assert list(Readable.from_([b"a", b"b", b"c"])) == [b"a", b"b", b"c"]
    r = Readable.from_(iter(range(1, 100)))
    seen = []
    for n in r:
        seen.append(n)
        if n == 3:
            break
    assert seen == [1, 2, 3] and r.destroyed


def test_iteration_raises_the_error() -> None:
    def gen() -> Any:
        yield b"x"
        raise ValueError("bad")

    r = Readable.from_(gen())
    with pytest.raises(ValueError, match="bad"):
        for _ in r:
            pass


def test_from_rejects_none_values_and_takes_a_string_whole() -> None:
    errors: list[Any] = []
    r = Readable.from_([1, None])
    r.on("error", errors.append)
    r.resume()
    wait_until(lambda: errors)
    assert errors[0].code == "ERR_STREAM_NULL_VALUES"
    assert list(Readable.from_("hello")) == ["hello"]


def test_set_encoding_joins_split_characters() -> None:
    r = Readable(read=lambda n: None)
    r.setEncoding("utf8")
    euro = "€".encode()
    got: list[str] = []
    r.on("data", got.append)
    r.push(euro[:1])
    r.push(euro[1:] + b"x")
    r.push(None)
    wait_until(lambda: r.readableEnded)
    assert "".join(got) == "€x" and all(isinstance(g, str) for g in got)


def test_unshift_puts_bytes_back_in_front() -> None:
    r = Readable(read=lambda n: None)
    r.push(b"hello world")
    assert r.read(6) == b"hello "
    r.unshift(b"big ")
    assert r.read() == b"big world"


def test_cork_batches_into_writev() -> None:
    batches: list[list[bytes]] = []

    class Batch(Writable):
        def _writev(self, chunks: list[dict[str, Any]], callback: Any) -> None:
            batches.append([c["chunk"] for c in chunks])
            callback()

    w = Batch()
    w.cork()
    w.write(b"a")
    w.write("b")
    w.write(b"c")
    assert batches == []
    w.uncork()
    assert batches == [[b"a", b"b", b"c"]]


def test_write_after_end_errors_and_multiple_callback() -> None:
    errors: list[Any] = []
    cbs: list[Any] = []
    w = Writable(write=lambda c, e, cb: cb())
    w.on("error", errors.append)
    w.end()
    assert w.write(b"x", cbs.append) is False
    wait_until(lambda: errors and cbs)
    assert errors[0].code == cbs[0].code == "ERR_STREAM_WRITE_AFTER_END"

    errors2: list[Any] = []

    def twice(chunk: bytes, encoding: str, callback: Any) -> None:
        callback()
        callback()

    w2 = Writable(write=twice)
    w2.on("error", errors2.append)
    w2.write(b"x")
    wait_until(lambda: errors2)
    assert errors2[0].code == "ERR_MULTIPLE_CALLBACK"


def test_write_none_raises() -> None:
    w = Writable(write=lambda c, e, cb: cb())
    with pytest.raises(TypeError) as info:
        w.write(None)
    assert info.value.code == "ERR_STREAM_NULL_VALUES"  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        w.write(42)


def test_unimplemented_hook_is_an_error() -> None:
    errors: list[Any] = []
    r = Readable()
    r.on("error", errors.append)
    r.resume()
    wait_until(lambda: errors)
    assert errors[0].code == "ERR_METHOD_NOT_IMPLEMENTED"


def test_hooks_as_options_may_take_the_stream_first() -> None:
    def read(this: Readable, size: int) -> None:
        this.push(b"x")
        this.push(None)

    assert list(Readable(read=read)) == [b"x"]


def test_duplex_allow_half_open_false_ends_the_writable_side() -> None:
    log: list[str] = []
    d = Duplex(allowHalfOpen=False, read=lambda n: None,
               write=lambda c, e, cb: cb())
    record(log, "d", d, ("end", "finish", "close"))
    d.resume()
    d.push(None)
    wait_until(lambda: "d:close" in log)
    assert log == ["d:end", "d:finish", "d:close"]


def test_transform_callback_value_and_flush_value() -> None:
    t = Transform(transform=lambda c, e, cb: cb(None, c.upper()),
                  flush=lambda cb: cb(None, b"!"))
    t.end(b"abc")
    assert b"".join(t) == b"ABC!"


def test_pipeline_generators_and_a_sink_function() -> None:
    results: list[Any] = []

    def source() -> Any:
        yield "a"
        yield "b"

    def upper(src: Any) -> Any:
        for chunk in src:
            yield chunk.upper()

    def sink(src: Any) -> str:
        return "".join(src)

    pipeline(source, upper, sink, lambda err, value=None: results.append((err, value)))
    wait_until(lambda: results)
    assert results == [(None, "AB")]


def test_pipeline_error_destroys_every_stream() -> None:
    results: list[Any] = []

    def bad(src: Any) -> Any:
        for chunk in src:
            if chunk == 3:
                raise ValueError("three")
            yield chunk

    out = Writable(objectMode=True, write=lambda c, e, cb: cb())
    pipeline(range(10), bad, out, results.append)
    wait_until(lambda: results)
    assert isinstance(results[0], ValueError) and out.destroyed


def test_pipeline_signal_aborts() -> None:
    results: list[Any] = []
    ctrl = gnet.AbortController()
    src = Readable(read=lambda n: None)
    out = Writable(write=lambda c, e, cb: cb())
    pipeline(src, PassThrough(), out, results.append, signal=ctrl.signal)
    ctrl.abort("stop")
    wait_until(lambda: results)
    assert results[0].code == "ABORT_ERR" and src.destroyed and out.destroyed


def test_pipeline_takes_a_list_of_streams() -> None:
    results: list[Any] = []
    got: list[bytes] = []
    out = Writable(write=lambda c, e, cb: (got.append(c), cb()))
    assert pipeline([Readable.from_([b"a", b"b"]), PassThrough(), out], results.append) is out
    wait_until(lambda: results)
    assert results == [None] and got == [b"a", b"b"]


def test_pipeline_premature_close() -> None:
    results: list[Any] = []
    src = Readable(read=lambda n: None)
    pipeline(src, Writable(write=lambda c, e, cb: cb()), results.append)
    src.destroy()
    wait_until(lambda: results)
    assert isinstance(results[0], StreamPrematureCloseError)


def test_files_as_source_and_destination() -> None:
    data = os.urandom(300 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.bin")
        with open(path, "wb") as f:
            f.write(data)
        out = io.BytesIO()
        results: list[Any] = []
        ticks = [0]

        def ticker() -> None:
            while not results:
                ticks[0] += 1
                gevent.sleep(0)

        gevent.spawn(ticker)
        with open(path, "rb") as f:
            pipeline(f, PassThrough(), out, results.append)
            wait_until(lambda: results)
        assert results == [None] and out.getvalue() == data
        assert ticks[0] >= 5  # the loop ran between chunks
        dest = io.BytesIO()
        Readable.from_([b"x", b"y"]).pipe(dest)
        wait_until(lambda: dest.getvalue() == b"xy")


def test_sockets_and_process_streams_are_streams() -> None:
    sock = gnet.Socket()
    try:
        assert isinstance(sock, Duplex)
        assert isinstance(sock, Readable) and isinstance(sock, Writable)
        assert not isinstance(object(), Readable)
        assert issubclass(gnet.Socket, Duplex)
        assert issubclass(gnet.process.ReadStream, Readable)
        assert issubclass(gnet.process.WriteStream, Writable)
        assert not issubclass(gnet.process.ReadStream, Writable)
    finally:
        sock.destroy()


def test_snake_case_twins() -> None:
    w = Writable(write=lambda c, e, cb: cb())
    assert w.writable_high_water_mark == w.writableHighWaterMark == gnet.getDefaultHighWaterMark()
    r = Readable(objectMode=True, read=lambda n: None)
    assert r.readable_high_water_mark == 16 and r.is_paused() is False


def test_classes_provide_their_interfaces() -> None:
    from zope.interface.verify import verifyObject

    from gnet.interfaces import IReadable, IWritable

    verifyObject(IReadable, Readable(read=lambda n: None))
    verifyObject(IWritable, Writable(write=lambda c, e, cb: cb()))
    d = Duplex(read=lambda n: None, write=lambda c, e, cb: cb())
    verifyObject(IReadable, d)
    verifyObject(IWritable, d)


def test_construct_delays_writes_reads_and_destroy() -> None:
    # node: w1:true construct constructed write:a write:b final finish close
    #       construct read data:x destroy
    #       called-destroy construct destroy close
    log: list[str] = []

    def construct(cb: Any) -> None:
        log.append("construct")
        gevent.spawn_later(0.01, lambda: (log.append("constructed"), cb()))

    w = Writable(construct=construct, write=lambda c, e, cb: (log.append(f"write:{c.decode()}"),
                                                             cb()),
                 final=lambda cb: (log.append("final"), cb()))
    log.append(f"w1:{w.write('a')}")
    w.end("b")
    w.on("finish", lambda: log.append("finish"))
    w.on("close", lambda: log.append("close"))
    wait_until(lambda: "close" in log)
    assert log == ["w1:True", "construct", "constructed", "write:a", "write:b", "final", "finish",
                   "close"]

    log2: list[str] = []

    def read(this: Readable, size: int) -> None:
        log2.append("read")
        this.push("x")
        this.push(None)

    r = Readable(construct=lambda cb: (log2.append("construct"), gevent.spawn_later(0.01, cb)),
                 read=read, destroy=lambda err, cb: (log2.append("destroy"), cb(err)))
    r.on("data", lambda d: log2.append(f"data:{d.decode()}"))
    r.on("close", lambda: log2.append("close"))
    wait_until(lambda: "close" in log2)
    assert log2 == ["construct", "read", "data:x", "destroy", "close"]

    log3: list[str] = []
    r3 = Readable(construct=lambda cb: (log3.append("construct"), gevent.spawn_later(0.01, cb)),
                  read=lambda n: None, destroy=lambda err, cb: (log3.append("destroy"), cb(err)))
    r3.on("close", lambda: log3.append("close"))
    r3.destroy()
    log3.append("called-destroy")
    wait_until(lambda: "close" in log3)
    assert log3 == ["called-destroy", "construct", "destroy", "close"]


def test_wrap_is_unsupported() -> None:
    with pytest.raises(NotImplementedError) as info:
        Readable().wrap(object())
    assert info.value.code == "ERR_GNET_UNSUPPORTED"  # type: ignore[attr-defined]


def test_pipe_backpressure_bounds_both_buffers() -> None:
    pushed = [0]

    def endless(this: Readable, size: int) -> None:
        pushed[0] += 1
        this.push(b"y" * 1024)

    written: list[int] = []

    def slow(chunk: bytes, encoding: str, callback: Any) -> None:
        written.append(len(chunk))
        gevent.spawn_later(0.001, callback)

    src = Readable(read=endless, highWaterMark=8192)
    sink = Writable(highWaterMark=4096, write=slow)
    src.pipe(sink)
    peak = [0, 0]
    for _ in range(50):
        gevent.sleep(0.002)
        peak[0] = max(peak[0], src.readableLength)
        peak[1] = max(peak[1], sink.writableLength)
    src.destroy()
    assert written and peak[0] <= 8192 + 1024 and peak[1] <= 4096 + 1024
    assert pushed[0] <= len(written) + (8192 + 4096) // 1024 + 2


def test_socket_piped_into_a_file_and_a_file_into_a_socket(harness: Any) -> None:
    payload = os.urandom(200 * 1024)
    received = io.BytesIO()
    results: list[Any] = []

    def on_connection(sock: gnet.Socket) -> None:
        pipeline(io.BytesIO(payload), sock, results.append)  # a file as the source

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    assert client.pipe(received) is received  # a file as the destination
    wait_until(lambda: results and received.getvalue() == payload
               and client.readableEnded)
    assert results == [None]
    assert isinstance(client, Duplex)
    harness.finish()


def test_pipeline_socket_through_a_generator_function_back_to_the_socket(harness: Any) -> None:
    results: list[Any] = []

    def upper(source: Any) -> Any:
        for chunk in source:
            yield chunk.upper()

    def on_connection(sock: gnet.Socket) -> None:
        pipeline(sock, upper, sock, results.append)

    _srv, port = harness.server_and_port(on_connection)
    client = harness.client(port)
    got: list[bytes] = []
    client.on("data", got.append)
    client.write(b"hello ")
    client.end(b"world")
    wait_until(lambda: results and client.readableEnded)
    assert results == [None] and b"".join(got) == b"HELLO WORLD"
    harness.finish()


@pytest.mark.parametrize(("make", "code"), [
    (lambda: Readable(5), "ERR_INVALID_ARG_TYPE"),
    (lambda: Readable(highWaterMark=-1), "ERR_INVALID_ARG_VALUE"),
    (lambda: Writable(highWaterMark="big"), "ERR_INVALID_ARG_VALUE"),
    (lambda: Readable(read=42), "ERR_INVALID_ARG_TYPE"),
    (lambda: Writable(signal="nope"), "ERR_INVALID_ARG_TYPE"),
    (lambda: Readable(read=lambda n: None).read("3"), "ERR_INVALID_ARG_TYPE"),
    (lambda: Readable.from_(42), "ERR_INVALID_ARG_TYPE"),
    (lambda: Writable(write=lambda c, e, cb: cb()).write(b"x", None, 42), "ERR_INVALID_ARG_TYPE"),
    (lambda: finished(object(), lambda err: None), "ERR_INVALID_ARG_TYPE"),
    (lambda: finished(Readable(), 42, lambda err: None), "ERR_INVALID_ARG_TYPE"),
    (lambda: pipeline(Readable(), 42, Writable(), lambda err: None), "ERR_INVALID_ARG_VALUE"),
    (lambda: pipeline(Readable(), Writable(), lambda err: None, signal=1),
     "ERR_INVALID_ARG_TYPE"),
    (lambda: Readable().pipe(42), "ERR_INVALID_ARG_TYPE"),
])
def test_bad_input_is_a_clear_error(make: Any, code: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert info.value.code == code  # type: ignore[union-attr]


def test_push_after_eof_and_unshift_after_end_are_errors() -> None:
    errors: list[Any] = []
    r = Readable(read=lambda n: None)
    r.on("error", errors.append)
    r.push(None)
    assert r.push(b"late") is False
    wait_until(lambda: errors)
    assert errors[0].code == "ERR_STREAM_PUSH_AFTER_EOF" and r.destroyed

    errors2: list[Any] = []
    r2 = Readable(read=lambda n: None, autoDestroy=False)  # else destroyed at its end
    r2.on("error", errors2.append)
    r2.push(None)
    r2.resume()
    wait_until(lambda: r2.readableEnded)
    r2.unshift(b"x")
    wait_until(lambda: errors2)
    assert errors2[0].code == "ERR_STREAM_UNSHIFT_AFTER_END_EVENT"


def test_read_above_the_high_water_mark_raises_it_as_node_does() -> None:
    # Node 20: highWaterMark 0 then read(1) gives 1; 4 then read(5) gives 8,
    # read(1025) 2048; read(2 ** 30) is allowed, one more is ERR_OUT_OF_RANGE.
    empty = Readable({"read": lambda n: None, "highWaterMark": 0})
    empty.read(1)
    assert empty.readableHighWaterMark == 1
    r = Readable({"read": lambda n: None, "highWaterMark": 4})
    r.read(5)
    assert r.readableHighWaterMark == 8
    r.read(1025)
    assert r.readableHighWaterMark == 2048
    with pytest.raises(OutOfRangeError) as info:
        r.read(2 ** 30 + 1)
    assert info.value.code == "ERR_OUT_OF_RANGE"
    r.read(2 ** 30)
    assert r.readableHighWaterMark == 2 ** 30
