"""The divergences between gnet and Node that the differential tester expects.

Each entry names one divergence, gives the minimal case that shows it (found
by runner.shrink, checked by hand), says why, and says how a random case is
cleared of it:

* ``applies(case)``: whether the case has the entry's trigger;
* ``rewrite(case)``: the same case without the trigger (a wait inserted so
  that two ops no longer share a tick, an op dropped). A diverging random
  case is *explained* when, after the rewrites of every entry that applies,
  it no longer diverges; otherwise it is a new divergence and fails the test;
* ``mask(trace)`` (optional): a field of a trace that this entry makes
  incomparable, blanked in both traces before they are compared.

test_differential.py also runs every entry's minimal case: one that no
longer diverges has been fixed, and the test fails until the entry is
removed from this table (and from docs/differences.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WAIT = ["wait", 150]
DEFAULT_OPTS = {
    "server": {"allowHalfOpen": False, "pauseOnConnect": False, "highWaterMark": 65536},
    "client": {"allowHalfOpen": False, "highWaterMark": 65536},
}

Case = dict[str, Any]
Op = list[Any]


def segments(ops: list[Op]) -> list[list[tuple[int, Op]]]:
    """The ops of each tick (between two waits), with their indices."""
    out: list[list[tuple[int, Op]]] = [[]]
    for i, op in enumerate(ops):
        if op[0] == "wait":
            out.append([])
        else:
            out[-1].append((i, op))
    return out


def _destroys_self(op: Op, side: str) -> bool:
    """Whether ``op`` may destroy ``side`` (a write after end() does)."""
    return op[1] == side and op[0] in ("destroy", "resetAndDestroy", "destroySoon",
                                       "write", "end")


def _followed_in_tick(ops: list[Op], first: Callable[[Op], bool],
                      then: Callable[[Op, Op], bool]) -> list[int]:
    """Indices of ops matching ``first`` that a ``then`` op follows in the same tick."""
    found = []
    for seg in segments(ops):
        for pos, (i, op) in enumerate(seg):
            if first(op) and any(then(op, later) for _j, later in seg[pos + 1:]):
                found.append(i)
    return found


def _writes_and_resume(ops: list[Op]) -> list[int]:
    """Writes that a resume() of their socket follows in one tick, and the reverse."""
    def write(op: Op) -> bool:
        return op[0] in ("write", "end")

    def resume(op: Op) -> bool:
        return op[0] == "resume"

    return sorted(
        _followed_in_tick(ops, write, lambda op, later: resume(later) and later[1] == op[1])
        + _followed_in_tick(ops, resume, lambda op, later: write(later) and later[1] == op[1]))


def _wait_after(case: Case, indices: list[int]) -> Case:
    ops = []
    for i, op in enumerate(case["ops"]):
        ops.append(op)
        if i in indices and (i + 1 >= len(case["ops"]) or case["ops"][i + 1][0] != "wait"):
            ops.append(WAIT)
    return {**case, "ops": ops}


def _wait_before(case: Case, first: Callable[[Op], bool]) -> Case:
    ops: list[Op] = []
    for op in case["ops"]:
        if first(op) and ops and ops[-1][0] != "wait":
            ops.append(WAIT)
        ops.append(op)
    return {**case, "ops": ops}


# --- triggers -----------------------------------------------------------------


def _reset(op: Op) -> bool:
    return op[0] == "resetAndDestroy"


def _closes(op: Op) -> bool:
    return op[0] in ("resetAndDestroy", "destroy", "destroySoon")


def _counted_as_bytes(case: Case) -> Case:
    """Strings whose length in characters is their length in bytes."""
    same = {"hex": "latin1", "utf8": "str"}
    ops = [[*op[:3], same.get(op[3], op[3]), *op[4:]] if op[0] in ("write", "end") else op
           for op in case["ops"]]
    return {**case, "ops": ops}


def _ended(op: Op) -> bool:
    return op[0] in ("end", "destroySoon")


def _end_then_destroy(ops: list[Op]) -> list[int]:
    return _followed_in_tick(ops, _ended, lambda op, later: _destroys_self(later, op[1]))


def _pending_writes_fail_with_the_error(trace: dict[str, Any]) -> None:
    """Node's order: callbacks refused after a write failed get its error, before 'error'.

    gnet gives them ERR_STREAM_DESTROYED after 'error'; this rewrites that
    shape into Node's (a Node trace never has it, so it is left as it is).
    """
    for seg in trace["tx"]:
        for pos, event in enumerate(seg):
            if event[0] != "error":
                continue
            late = [e for e in seg[pos + 1:]
                    if e[0] in ("wcb", "ecb") and e[2] == "ERR_STREAM_DESTROYED"]
            if late:
                rest = [e for e in seg[pos + 1:] if not any(e is x for x in late)]
                seg[pos:] = [[e[0], e[1], event[1]] for e in late] + [event] + rest
            break


_REFUSED = ("ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END")


def _end_after_destroy(trace: dict[str, Any]) -> None:
    """Blank what end() on a destroyed socket changes.

    Node: no callback, writableEnded True, later writes refused with
    ERR_STREAM_WRITE_AFTER_END (or, after an end() whose data failed at
    once, writableEnded False and ERR_STREAM_DESTROYED); gnet:
    cb(ERR_STREAM_DESTROYED), writableEnded False, ERR_STREAM_DESTROYED.
    So on a destroyed socket end() callbacks that report a refusal are dropped
    (after 'close', or anywhere when there was no 'error'), and after 'close'
    the two refusal codes are one.
    """
    if not trace["final"].get("destroyed"):
        return
    trace["final"]["writableEnded"] = None
    errored = any(e[0] == "error" for seg in trace["tx"] for e in seg)
    closed = False
    tx = []
    for seg in trace["tx"]:
        out = []
        for e in seg:
            if (closed or not errored) and e[0] == "ecb" and e[2] in _REFUSED:
                continue
            if closed and e[0] in ("wcb", "ecb") and e[2] in _REFUSED:
                e = [e[0], e[1], "refused"]
            closed = closed or e[0] == "close"
            out.append(e)
        tx.append(out)
    trace["tx"] = tx


def _drain_before_callbacks(trace: dict[str, Any]) -> None:
    """Move each 'drain' ahead of the successful write callbacks right before it."""
    for seg in trace["tx"]:
        for pos, event in enumerate(seg):
            if event[0] != "drain":
                continue
            start = pos
            while start > 0 and seg[start - 1][0] == "wcb" and seg[start - 1][2] is None:
                start -= 1
            seg[start:pos + 1] = [event, *seg[start:pos]]


def _blank_timeouts(trace: dict[str, Any]) -> None:
    trace["timeouts"] = None


def _blank_bytes_written_if_destroyed(trace: dict[str, Any]) -> None:
    final = trace["final"]
    if final.get("destroyed"):
        final["bytesWritten"] = None


@dataclass
class Known:
    name: str
    minimal: Case
    reason: str
    applies: Callable[[Case], bool]
    rewrite: Callable[[Case], Case] = field(default=lambda case: case)
    mask: Callable[[dict[str, Any]], None] | None = None


def _case(ops: list[Op], **opts: Any) -> Case:
    return {"opts": {end: {**DEFAULT_OPTS[end], **opts.get(end, {})} for end in DEFAULT_OPTS},
            "ops": ops}


KNOWN: list[Known] = [
    Known(
        name="reset-after-write-reads-as-eof-in-node",
        minimal=_case([["write", "c", 1, "buf", True], ["resetAndDestroy", "c"]]),
        reason="Node/libuv quirk: when data and the RST reach the peer in one poll, libuv "
               "reports EOF after the partial read (POLLHUP short-cut), so Node's peer sees "
               "'end' where gnet's sees ECONNRESET; 50 ms apart, Node sees ECONNRESET too. "
               "Any close with unread data sends an RST (destroy(), destroySoon() too)",
        applies=lambda case: any(_closes(op) for op in case["ops"]),
        rewrite=lambda case: _wait_before(case, _closes),
    ),
    Known(
        name="bytes-written-counts-failed-writes",
        minimal=_case([["resetAndDestroy", "c"], ["write", "s", 1, "str", True]]),
        reason="a write that fails in the kernel (the peer's reset not yet seen): gnet counts "
               "it in bytesWritten, Node counts only what the kernel took",
        applies=lambda case: any(op[0] in ("destroy", "resetAndDestroy", "write", "end")
                                 for op in case["ops"]),
        mask=_blank_bytes_written_if_destroyed,
    ),
    Known(
        name="end-sends-fin-in-the-same-tick",
        minimal=_case([["write", "c", 1, "buf", True], ["destroySoon", "s"],
                       ["write", "s", 1, "buf", True]]),
        reason="gnet's end() calls shutdown() at once; Node's shutdown request runs on the "
               "next loop turn, so a destroy in the same tick sends the peer only an RST in "
               "Node (ECONNRESET) but FIN then RST in gnet ('end', or EPIPE on write)",
        applies=lambda case: bool(_end_then_destroy(case["ops"])),
        rewrite=lambda case: _wait_after(case, _end_then_destroy(case["ops"])),
    ),
    Known(
        name="reset-after-end-is-einval-in-node",
        minimal=_case([["end", "c", None, "buf", False], ["resetAndDestroy", "c"]]),
        reason="Node bug: resetAndDestroy() while end()'s shutdown request is pending makes "
               "libuv's uv_tcp_close_reset() fail with EINVAL; Node emits 'error' EINVAL, "
               "never 'close', and leaks the handle (the peer sees a FIN); gnet resets",
        applies=lambda case: bool(_followed_in_tick(
            case["ops"], _ended, lambda op, later: _reset(later) and later[1] == op[1])),
        rewrite=lambda case: _wait_after(case, _followed_in_tick(
            case["ops"], _ended, lambda op, later: _reset(later) and later[1] == op[1])),
    ),
    Known(
        name="end-callback-after-refused-write-callback",
        minimal=_case([["write", "c", 1, "buf", True], ["end", "c", 1, "buf", True],
                       ["write", "c", 1, "buf", True]]),
        reason="a write after end() with an end() callback pending: Node fails the end() "
               "callback first, then the refused write's; gnet the other way round",
        applies=lambda case: bool(_followed_in_tick(
            case["ops"], lambda op: op[0] == "end" and op[4],
            lambda op, later: later[0] in ("write", "end") and later[1] == op[1])),
        rewrite=lambda case: _wait_after(case, _followed_in_tick(
            case["ops"], lambda op: op[0] == "end" and op[4],
            lambda op, later: later[0] in ("write", "end") and later[1] == op[1])),
    ),
    Known(
        name="writes-after-a-failed-write",
        minimal=_case([["resetAndDestroy", "s"], ["write", "c", 1, "buf", False],
                       ["write", "c", 1, "buf", True]]),
        reason="after a write that failed synchronously (ECONNRESET, EPIPE), Node "
               "fails the next writes with the same error, before 'error'; gnet with "
               "ERR_STREAM_DESTROYED, after it",
        applies=lambda case: sum(op[0] in ("write", "end") for op in case["ops"]) >= 2,
        mask=_pending_writes_fail_with_the_error,
    ),
    Known(
        name="string-length-counts-characters",
        minimal=_case([["cork", "s"], ["write", "s", 1023, "hex", True]],
                      server={"highWaterMark": 1024}),
        reason="net.Socket sets decodeStrings: false, so Node counts a string chunk's "
               "characters (UTF-16 units) in writableLength and write()'s highWaterMark test "
               "until it reaches the handle; gnet encodes first and counts bytes",
        applies=lambda case: any(op[0] in ("write", "end") and op[3] in ("hex", "utf8")
                                 for op in case["ops"]),
        rewrite=_counted_as_bytes,
    ),
    Known(
        name="corked-write-is-activity",
        minimal=_case([["setTimeout", "s", 50], ["wait", 150], ["cork", "s"],
                       ["write", "s", 10, "buf", False]]),
        reason="setTimeout(): a write() held by cork() restarts the idle timer in gnet; in "
               "Node only a write that reaches the handle does, so gnet emits one more "
               "'timeout'",
        applies=lambda case: any(op[0] == "cork" for op in case["ops"])
        and any(op[0] == "setTimeout" and op[2] for op in case["ops"]),
        mask=_blank_timeouts,
    ),
    Known(
        name="failed-write-drops-buffered-data",
        minimal=_case([["pause", "s"], ["write", "c", 1, "buf", True],
                       ["end", "c", None, "buf", True], ["wait", 150],
                       ["write", "c", 1, "buf", True], ["write", "s", 1, "buf", True],
                       ["write", "s", 1, "buf", True], ["resume", "s"]]),
        reason="a write that fails at once (EPIPE, or after end()) destroys a gnet socket "
               "inside write(), dropping what it had read while paused; in Node a resume() "
               "in the same tick, before or after that write, still delivers the buffered "
               "data (an explicit destroy() drops it in both)",
        applies=lambda case: bool(_writes_and_resume(case["ops"])),
        rewrite=lambda case: _wait_after(case, _writes_and_resume(case["ops"])),
    ),
    Known(
        name="drain-after-earlier-write-callbacks",
        minimal=_case([["write", "c", 1, "buf", True], ["cork", "c"],
                       ["write", "c", 1, "buf", True], ["uncork", "c"]],
                      client={"highWaterMark": 1}),
        reason="when a write that returned False drains in the tick of an earlier "
               "write the kernel took at once, Node emits 'drain' before both callbacks; gnet "
               "runs the earlier write's callback first",
        applies=lambda case: sum(op[0] == "write" for op in case["ops"]) >= 2,
        mask=_drain_before_callbacks,
    ),
    Known(
        name="end-after-destroy",
        minimal=_case([["destroy", "c", False], ["end", "c", None, "buf", True]]),
        reason="end(cb) on a socket destroyed without an error: Node sets writableEnded and "
               "never calls cb (it waits for a 'finish' that cannot come); gnet calls "
               "cb(ERR_STREAM_DESTROYED) and leaves writableEnded False. And an end() (or "
               "destroySoon()) whose flush fails at once (the peer reset): Node leaves "
               "writableEnded False, gnet sets it",
        applies=lambda case: any(op[0] in ("end", "destroySoon") for op in case["ops"]),
        mask=_end_after_destroy,
    ),
]


def explain(case: Case) -> tuple[Case, list[Known]]:
    """``case`` cleared of every known trigger, and the entries that applied."""
    used: list[Known] = []
    for _round in range(3):
        changed = False
        for known in KNOWN:
            if known.applies(case):
                if known not in used:
                    used.append(known)
                rewritten = known.rewrite(case)
                if rewritten != case:
                    case, changed = rewritten, True
        if not changed:
            break
    return case, used


def masks(used: list[Known]) -> list[Callable[[dict[str, Any]], None]]:
    return [known.mask for known in used if known.mask is not None]
