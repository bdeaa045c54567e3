"""The gnet half of the differential tester: the Python twin of driver.js.

Reads ``{"cases": [...], "parallel": k}`` on stdin, runs each case on a
fresh connected loopback pair and prints one JSON line per case, exactly as
driver.js does (see its header for the case and trace formats). The two
files are kept line for line alike, so that a difference in their output is
a difference between gnet and Node, never between the drivers.

Run as ``python driver.py < cases.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from typing import Any

import gevent.event

import gnet as net

HOST = "127.0.0.1"
# Before the first op: both ends connected and settled.
START_MS = 20
# After the last op, before the final state is read.
FINAL_MS = 200
MAX_WRITE = 1 << 20

REP = bytes(range(256)) * ((MAX_WRITE + 256) // 256)
ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789"
WIDE = "a\u00e9\u20ac"  # 1, 2 and 3 bytes in UTF-8


def cycle(text: str, start: int, n: int) -> str:
    i = start % len(text)
    return (text[i:] + text * (n // len(text) + 1))[:n]


def payload(kind: str, n: int, k: int) -> list[Any]:
    """The arguments write()/end() get for a payload: n units of ``kind``, varied by k."""
    off = k & 255
    if kind == "buf":
        return [REP[off:off + n]]
    if kind == "str":
        return [cycle(ALPHA, k, n)]
    if kind == "utf8":
        return [cycle(WIDE, k, n)]
    if kind == "latin1":
        return [REP[off:off + n].decode("latin-1"), "latin1"]
    if kind == "hex":
        return [REP[off:off + n].hex(), "hex"]
    raise ValueError(f"unknown payload kind {kind}")


def code(err: Any) -> str | None:
    if err is None:
        return None
    return getattr(err, "code", None) or f"msg:{err}"


class Trace:
    def __init__(self, sock: net.Socket) -> None:
        self.sock = sock
        self.ops: list[list[list[Any]]] = [[]]
        self.tx: list[list[list[Any]]] = [[]]
        self.rx: list[list[Any]] = []
        self.hash: Any = None
        sock.on("data", self.data)
        sock.on("end", lambda: self.rx.append(["end"]))
        for name in ("drain", "finish", "timeout"):
            sock.on(name, lambda name=name: self.event([name]))
        sock.on("error", lambda err: self.event(["error", code(err)]))
        sock.on("close", lambda had_error: self.event(["close", had_error]))

    def event(self, item: list[Any]) -> None:
        self.tx[-1].append(item)

    def data(self, chunk: Any) -> None:
        kind = "s" if isinstance(chunk, str) else "b"
        raw = chunk.encode("utf-8") if kind == "s" else bytes(chunk)
        last = self.rx[-1] if self.rx else None
        if last and last[0] == "data" and last[1] == kind:
            last[2] += len(chunk)
        else:
            self.close_run()
            self.rx.append(["data", kind, len(chunk), None])
            self.hash = hashlib.sha1()
        self.hash.update(raw)

    def close_run(self) -> None:
        if self.hash is not None:
            last = [item for item in self.rx if item[0] == "data"][-1]
            last[3] = self.hash.hexdigest()[:12]
            self.hash = None

    def new_segment(self) -> None:
        self.ops.append([])
        self.tx.append([])

    def result(self, final: dict[str, Any]) -> dict[str, Any]:
        # A copy: events after this moment (the clean-up's 'close') are not part of it.
        self.close_run()
        result = {"ops": self.ops, "tx": self.tx, "rx": self.rx, "final": final}
        copy: dict[str, Any] = json.loads(json.dumps(result))
        return copy


def final_state(sock: net.Socket) -> dict[str, Any]:
    return {
        "bytesRead": sock.bytesRead,
        "bytesWritten": sock.bytesWritten,
        "readyState": sock.readyState,
        "destroyed": sock.destroyed,
        "writableLength": sock.writableLength > 0,
        "writableEnded": sock.writableEnded,
        "writableFinished": sock.writableFinished,
        "readableEnded": sock.readableEnded,
        "readable": sock.readable,
        "writable": sock.writable,
        "paused": sock.isPaused(),
    }


def apply_op(op: list[Any], index: int, traces: dict[str, Trace]) -> None:
    name, side = op[0], op[1]
    sock = traces[side].sock
    out = traces[side].ops[-1]

    def tx(item: list[Any]) -> None:
        traces[side].event(item)

    try:
        if name == "write":
            _, _, n, kind, cb = op
            args = payload(kind, n, index)
            if cb:
                args.append(lambda err: tx(["wcb", index, code(err)]))
            out.append(["write", sock.write(*args)])
        elif name == "end":
            _, _, n, kind, cb = op
            args = [] if n is None else payload(kind, n, index)
            if cb:
                args.append(lambda err: tx(["ecb", index, code(err)]))
            sock.end(*args)
            out.append(["end"])
        elif name == "setEncoding":
            sock.setEncoding(op[2])
            out.append([name])
        elif name == "setTimeout":
            sock.setTimeout(op[2])
            out.append([name])
        elif name == "destroy":
            sock.destroy(Exception("boom") if op[2] else None)
            out.append([name])
        elif name in ("cork", "uncork", "pause", "resume", "destroySoon", "resetAndDestroy"):
            getattr(sock, name)()
            out.append([name])
        else:
            raise ValueError(f"unknown op {name}")
    except Exception as err:
        out.append([name, "throw", code(err)])


def run_case(case: dict[str, Any], done: Callable[[dict[str, Any]], None]) -> None:
    opts = case["opts"]
    server = net.createServer(opts["server"])
    state: dict[str, Any] = {
        "client": None, "side": None, "client_trace": None, "side_trace": None,
        "connected": False, "traces": None, "finished": False,
    }

    def fail(why: str) -> None:
        if state["finished"]:
            return
        state["finished"] = True
        for key in ("client", "side"):
            if state[key] is not None:
                state[key].destroy()
        server.close()
        done({"id": case["id"], "failed": why})

    watchdog = net.setTimeout(lambda: fail("no connected pair within 5 s"), 5000)

    def maybe_start() -> None:
        if state["side_trace"] is None or not state["connected"] or state["traces"]:
            return
        net.clearTimeout(watchdog)
        state["traces"] = {"c": state["client_trace"], "s": state["side_trace"]}
        net.setTimeout(lambda: step(0), START_MS)

    def on_connection(sock: net.Socket) -> None:
        if state["side"] is not None:
            sock.destroy()
            return
        state["side"] = sock
        state["side_trace"] = Trace(sock)  # from the first moment, as the client's
        maybe_start()

    def on_connected() -> None:
        state["connected"] = True
        maybe_start()

    def on_listening() -> None:
        client = net.connect({"port": server.address()["port"], "host": HOST, **opts["client"]})
        state["client"] = client
        state["client_trace"] = Trace(client)
        client.once("connect", on_connected)

    server.on("connection", on_connection)
    server.on("error", lambda err: fail(f"server: {code(err)}"))
    server.listen(0, HOST, on_listening)

    ops = case["ops"]

    def step(i: int) -> None:
        traces = state["traces"]
        while i < len(ops) and ops[i][0] != "wait":
            apply_op(ops[i], i, traces)
            i += 1
        if i < len(ops):
            ms = ops[i][1]

            def next_segment(i: int = i) -> None:
                traces["c"].new_segment()
                traces["s"].new_segment()
                step(i + 1)

            net.setTimeout(next_segment, ms)
            return

        def finish() -> None:
            if state["finished"]:
                return
            state["finished"] = True
            result = {
                "id": case["id"],
                "c": traces["c"].result(final_state(state["client"])),
                "s": traces["s"].result(final_state(state["side"])),
            }
            state["client"].destroy()
            state["side"].destroy()
            server.close(lambda *_err: done(result))

        net.setTimeout(finish, FINAL_MS)


def main() -> None:
    data = json.loads(sys.stdin.read())
    cases = data["cases"]
    parallel = max(1, data.get("parallel") or 1)
    pending = iter(cases)
    running = [0]

    def launch() -> None:
        while running[0] < parallel:
            case = next(pending, None)
            if case is None:
                return
            running[0] += 1
            run_case(case, on_done)

    all_done = gevent.event.Event()
    reported = [0]

    def on_done(result: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        running[0] -= 1
        reported[0] += 1
        if reported[0] == len(cases):
            # Done: a handle a case left open must not hold the batch.
            all_done.set()
        launch()

    if not cases:
        return
    launch()
    all_done.wait()


if __name__ == "__main__":
    main()
