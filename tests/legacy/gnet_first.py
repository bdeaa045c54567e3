"""gnet imported BEFORE gevent.monkey.patch_all(): gnet must not mind.

Run by tests/test_monkey_legacy.py in a subprocess. gnet keeps no reference
to anything patch_all() replaces (it drives non-blocking ``_socket`` sockets
with gevent's loop watchers), so importing it first must neither make
patch_all() warn nor leave gnet blocking. Prints one JSON line: whether the
patch warned, and how long N stdlib clients took against a gnet server
whose listener sleeps DELAY seconds with the patched ``time.sleep``.
"""

import gnet as net  # noqa: I001 (first, on purpose)

# After gnet; any MonkeyPatchWarning is caught and reported.
import warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from gevent import monkey

    monkey.patch_all()

import json
import socket
import threading
import time

from gnet.events import once

HOST = "127.0.0.1"
N = 10
DELAY = 0.2
WAIT_S = 10.0


def delayed_echo(sock: net.Socket) -> None:
    def on_data(chunk: bytes) -> None:
        time.sleep(DELAY)
        sock.write(chunk)

    sock.on("data", on_data)


def main() -> None:
    server = net.createServer(delayed_echo)
    server.listen(0, HOST)
    once(server, "listening", timeout=WAIT_S * 1000)
    port = server.address()["port"]
    ok = [False] * N

    def client(i: int) -> None:
        msg = f"ping {i}\n".encode()
        with socket.create_connection((HOST, port), timeout=WAIT_S) as s:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
        ok[i] = got == msg

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    elapsed = time.perf_counter() - start
    server.close()
    server.closeAllConnections()
    print(json.dumps({
        "n": N,
        "delay_s": DELAY,
        "warnings": [str(w.message) for w in caught],
        "socket_patched": bool(monkey.is_module_patched("socket")),
        "ok": sum(ok),
        "elapsed_s": round(elapsed, 4),
        "settled": net.run(timeout=WAIT_S * 1000),
    }), flush=True)


if __name__ == "__main__":
    main()
