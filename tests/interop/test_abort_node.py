"""AbortSignal.timeout() on connect, ported from Node and run against a Node peer.

node/abort_peer.js is both sides of the example: an echo server, and a client
that connects with ``signal: AbortSignal.timeout(ms)``, writes 'hello' and
reports its socket's events. The same client written with gnet runs against
the same Node server; the client's events and what the server saw must be
the same as under ``node``.
"""

from __future__ import annotations

from typing import Any

import pytest

import gnet
from helpers import HOST

pytestmark = [pytest.mark.node]

MS = 300  # long enough for the echo to come back first on a loaded machine


def gnet_client(port: int) -> list[str]:
    events: list[str] = []
    sock = gnet.connect({"port": port, "host": HOST, "signal": gnet.AbortSignal.timeout(MS)})

    def on_connect() -> None:
        events.append("connect")
        sock.write("hello")

    def on_error(err: Any) -> None:
        events.append(f"error:{err.name}:{err.code}:{err}:{err.cause.name}")

    sock.on("connect", on_connect)
    sock.on("data", lambda buf: events.append(f"data:{buf.decode()}"))
    sock.on("error", on_error)
    sock.on("close", lambda had_error: events.append(f"close:{'true' if had_error else 'false'}"))
    assert gnet.run(timeout=10_000)
    return events


@pytest.mark.timeout(30)
def test_timeout_signal_on_connect_as_under_node(node_script: Any,
                                                 figures: dict[str, Any]) -> None:
    server = node_script("abort_peer.js", "server", "connections=2")
    port = server.ready()
    under_node = node_script("abort_peer.js", "client", f"port={port}", f"ms={MS}").result()
    under_gnet = gnet_client(port)
    seen = server.result()["connections"]

    expected = ["connect", "data:hello",
                "error:AbortError:ABORT_ERR:The operation was aborted:TimeoutError",
                "close:true"]
    assert under_node["events"] == expected
    assert under_gnet == expected
    assert seen[0] == seen[1] == ["data:hello", "end", "close:false"]
    figures.update(events=len(expected))
