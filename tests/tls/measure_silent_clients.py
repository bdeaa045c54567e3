"""What a silent TLS client costs a gnet TLS server: RSS and CPU per connection.

Usage: ``python tests/tls/measure_silent_clients.py [N] [--plain]`` (N defaults
to 2000; ``--plain`` measures a plain ``net`` server instead, the floor).

A gnet TLS server runs in a child process; this process opens N plain TCP
connections to it that never send a ClientHello. The child reports its RSS
(``VmRSS`` of /proc/self/status) and CPU time (``getrusage``) before the
clients and once it has accepted all of them; the difference divided by N
is the cost of one silent client. Bounded: N connections, 60 s at most.
Not a test (pytest does not collect it): the figures go into the report of
the change that made silent clients cheap.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time

import trustme

CHILD = r"""
import json, resource, sys
import gnet
from gnet import tls

def rss_kib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])

def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

opts = json.loads(sys.stdin.readline())
n = opts['n']
seen = []
if opts.get('plain'):
    server = gnet.createServer()
else:
    server = tls.createServer({'key': opts['key'], 'cert': opts['cert']})
server.on('connection', lambda sock: seen.append(sock))
server.on('tlsClientError', lambda err, sock: None)

def report(what):
    print(json.dumps({'what': what, 'rss': rss_kib(), 'cpu': cpu_s(), 'seen': len(seen)}),
          flush=True)

server.listen(0, '127.0.0.1', lambda: print(json.dumps({'port': server.address()['port']}),
                                            flush=True))

def watch():
    import gevent
    gevent.sleep(0.3)
    report('before')
    deadline = 60
    start = gevent.get_hub().loop.now()
    while len(seen) < n and gevent.get_hub().loop.now() - start < deadline:
        gevent.sleep(0.05)
    gevent.sleep(0.5)  # let every accepted connection settle
    report('after')
    sys.stdin.readline()
    server.close()
    for sock in seen:
        sock.destroy()

import gevent
gevent.spawn(watch)
gnet.run()
"""


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 2000
    plain = "--plain" in sys.argv
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    key = leaf.private_key_pem.bytes().decode()
    cert = "".join(b.bytes().decode() for b in leaf.cert_chain_pems)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 500), hard))
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps({"n": n, "key": key, "cert": cert, "plain": plain}) + "\n")
    child.stdin.flush()
    port = json.loads(child.stdout.readline())["port"]
    before = json.loads(child.stdout.readline())
    clients = []
    deadline = time.monotonic() + 60
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        clients.append(socket.create_connection(("127.0.0.1", port)))
    after = json.loads(child.stdout.readline())
    child.stdin.write("\n")
    child.stdin.flush()
    for sock in clients:
        sock.close()
    child.wait(timeout=30)
    count = after["seen"]
    print(f"silent clients of a {'plain' if plain else 'TLS'} server: {count} (asked {n})")
    print(f"server RSS: {before['rss']} KiB -> {after['rss']} KiB: "
          f"{(after['rss'] - before['rss']) / max(count, 1):.1f} KiB per client")
    print(f"server CPU: {(after['cpu'] - before['cpu']) * 1e6 / max(count, 1):.0f} us "
          f"per client")
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}")


if __name__ == "__main__":
    main()
