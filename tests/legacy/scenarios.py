"""Stdlib networking beside gnet in one monkey-patched process, timed.

Run by tests/test_monkey_legacy.py as ``python tests/legacy/scenarios.py``,
in a subprocess of its own so that the patching cannot leak into other
tests. It patches first thing, then imports gnet and the stdlib pieces, runs
every scenario, and prints ONE JSON line on stdout; the test module asserts
on it. Anything else it has to say goes to stderr.

Each scenario puts a load of N clients on some server, where every request
waits DELAY seconds on the server side, and reports how long the whole load
took (``elapsed_s``: about DELAY when the requests overlap, N x DELAY when
they run one after another) and ``ping_max_s``: the worst delay seen by a
stdlib client that keeps pinging a gnet echo server meanwhile (how long the
event loop or gnet could not answer). A control scenario blocks the process
on purpose, to show that the ping probe does see a blocked loop.
"""

import warnings

# Before anything imports socket, ssl, threading, select or time: a module
# imported earlier could keep the blocking originals. A MonkeyPatchWarning
# means exactly that, so it is an error here.
with warnings.catch_warnings():
    warnings.simplefilter("error")
    from gevent import monkey

    monkey.patch_all()

# Only now the rest.
import http.client
import http.server
import json
import select
import selectors
import socket
import socketserver
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import gevent
from gevent.exceptions import ConcurrentObjectUseError

import gnet as net
from gnet.events import once

HOST = "127.0.0.1"
N = 20  # clients per scenario
DELAY = 0.2  # seconds each request waits on the server side
WAIT_S = 10.0  # bound on every single wait (a loaded box is slow, never this slow)
WAIT_MS = WAIT_S * 1000
PING_INTERVAL = 0.005

real_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def run_threads(target: Callable[[int], Any], count: int = N) -> list[Any]:
    """Run ``target(i)`` for i < count in threads (greenlets, here); their results."""
    results: list[Any] = [None] * count

    def body(i: int) -> None:
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = repr(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    return results


def gnet_listen(server: net.Server) -> int:
    server.listen(0, HOST)
    once(server, "listening", timeout=WAIT_MS)
    port: int = server.address()["port"]
    return port


def gnet_stop(server: net.Server) -> None:
    server.close()
    server.closeAllConnections()


class Pinger:
    """A stdlib client pinging a gnet echo server every PING_INTERVAL seconds.

    A sample is the time from when a ping was due (the end of the interval
    sleep) to when its echo arrived, plus any oversleep: a loop blocked while
    the pinger sleeps shows up as much as one blocked during the round trip.
    """

    def __init__(self) -> None:
        self.server = net.createServer(lambda s: s.pipe(s))
        port = gnet_listen(self.server)
        self.sock = socket.create_connection((HOST, port), timeout=WAIT_S)
        self.samples: list[tuple[float, float]] = []  # (when, delay)
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            start = time.perf_counter()
            time.sleep(PING_INTERVAL)
            due = start + PING_INTERVAL
            self.sock.sendall(b".")
            if self.sock.recv(1) != b".":
                raise RuntimeError("ping: bad echo")
            now = time.perf_counter()
            self.samples.append((now, now - due))

    @contextmanager
    def window(self, into: dict[str, Any]) -> Iterator[None]:
        """Time the block and record the ping samples taken while it ran."""
        # Two pings first: the probe is running before the load starts.
        first = len(self.samples) + 2
        deadline = time.perf_counter() + WAIT_S
        while len(self.samples) < first and time.perf_counter() < deadline:
            time.sleep(PING_INTERVAL)
        start = time.perf_counter()
        yield
        end = time.perf_counter()
        into["elapsed_s"] = round(end - start, 4)
        # A ping still waiting when the load ended counts too.
        time.sleep(PING_INTERVAL * 3)
        delays = [d for when, d in self.samples if when >= start and when - d <= end]
        into["pings"] = len(delays)
        into["ping_max_s"] = round(max(delays), 4) if delays else None

    def close(self) -> None:
        self.greenlet.kill(block=True, timeout=WAIT_S)
        self.sock.close()
        gnet_stop(self.server)


# --- 1. a gnet server whose listeners wait, called by stdlib clients --------------


def delayed_by_sleep(sock: net.Socket) -> None:
    def on_data(chunk: bytes) -> None:
        # A blocking call in a listener: patched, it holds back only this
        # socket's events.
        time.sleep(DELAY)
        sock.write(chunk)

    sock.on("data", on_data)


def delayed_by_timer(sock: net.Socket) -> None:
    sock.on("data", lambda chunk: net.setTimeout(sock.write, DELAY * 1000, chunk))


def scenario_gnet_server(pinger: Pinger, listener: Callable[[net.Socket], None]) -> dict:
    server = net.createServer(listener)
    port = gnet_listen(server)

    def client(i: int) -> bool:
        msg = f"hello {i}\n".encode()
        with socket.create_connection((HOST, port), timeout=WAIT_S) as s:
            s.sendall(msg)
            return recv_exactly(s, len(msg)) == msg

    out: dict[str, Any] = {}
    try:
        with pinger.window(out):
            results = run_threads(client)
    finally:
        gnet_stop(server)
    out["ok"] = sum(r is True for r in results)
    out["errors"] = [r for r in results if r is not True]
    return out


# --- 2. and 4. a patched ThreadingHTTPServer -----------------------------------------


# socketserver listens with a backlog of 5 (request_queue_size): 20 clients
# connecting at once overflow it, the kernel drops SYNs and those clients
# retry a second later. That would time the backlog, not the loop.
class HTTPServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class TCPServer(socketserver.ThreadingTCPServer):
    request_queue_size = 128
    daemon_threads = True


class SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY)
        body = f"slow {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_server() -> Iterator[int]:
    httpd = HTTPServer((HOST, 0), SlowHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        thread.join(WAIT_S)
        httpd.server_close()


def scenario_http_server(pinger: Pinger) -> dict:
    # No proxy: an http_proxy variable in the environment must not reroute
    # a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    out: dict[str, Any] = {}
    with http_server() as port:

        def by_urllib(i: int) -> bool:
            with opener.open(f"http://{HOST}:{port}/urllib/{i}", timeout=WAIT_S) as resp:
                return bool(resp.status == 200 and resp.read() == f"slow /urllib/{i}\n".encode())

        def by_http_client(i: int) -> bool:
            conn = http.client.HTTPConnection(HOST, port, timeout=WAIT_S)
            try:
                conn.request("GET", f"/client/{i}")
                resp = conn.getresponse()
                return bool(resp.status == 200 and resp.read() == f"slow /client/{i}\n".encode())
            finally:
                conn.close()

        def call(i: int) -> Any:
            try:
                return (by_urllib if i % 2 else by_http_client)(i)
            except Exception as exc:
                return repr(exc)

        # A thread pool, as legacy code often has: its threads are greenlets.
        with pinger.window(out), ThreadPoolExecutor(max_workers=N) as pool:
            results = list(pool.map(call, range(N), timeout=WAIT_S))
    out["ok"] = sum(r is True for r in results)
    out["errors"] = [r for r in results if r is not True]
    return out


def scenario_gnet_clients(pinger: Pinger) -> dict:
    def get(i: int) -> Any:
        c = net.createConnection(port, HOST)
        try:
            once(c, "connect", timeout=WAIT_MS)
            c.write(f"GET /gnet/{i} HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
            # Iterating reads until the server's FIN (HTTP/1.0 closes).
            response = b"".join(c)
        finally:
            c.destroy()
        head, _, body = response.partition(b"\r\n\r\n")
        return head.startswith(b"HTTP/1.0 200 ") and body == f"slow /gnet/{i}\n".encode()

    out: dict[str, Any] = {}
    with http_server() as port, pinger.window(out):
        greenlets = [gevent.spawn(get, i) for i in range(N)]
        gevent.joinall(greenlets, timeout=WAIT_S)
    results = [g.value if g.successful() else repr(g.exception) for g in greenlets]
    gevent.killall(greenlets)
    out["ok"] = sum(r is True for r in results)
    out["errors"] = [r for r in results if r is not True]
    return out


# --- 3. a patched socketserver.ThreadingTCPServer ----------------------------------


class SlowUpper(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline()
        time.sleep(DELAY)
        self.wfile.write(line.upper())


def scenario_socketserver(pinger: Pinger) -> dict:
    tcpd = TCPServer((HOST, 0), SlowUpper)
    port = tcpd.server_address[1]
    thread = threading.Thread(target=tcpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def client(i: int) -> bool:
        msg = f"line {i}\n".encode()
        with socket.create_connection((HOST, port), timeout=WAIT_S) as s:
            s.sendall(msg)
            return recv_exactly(s, len(msg)) == msg.upper()

    out: dict[str, Any] = {}
    try:
        with pinger.window(out):
            results = run_threads(client)
    finally:
        tcpd.shutdown()
        thread.join(WAIT_S)
        tcpd.server_close()
    out["ok"] = sum(r is True for r in results)
    out["errors"] = [r for r in results if r is not True]
    return out


# --- 5. one socket, many greenlets ---------------------------------------------------


def scenario_shared_socket() -> dict:
    out: dict[str, Any] = {}

    # A stdlib (gevent) socket: a second greenlet waiting on the same
    # socket in the same direction is refused.
    a, b = socket.socketpair()
    errors: list[str] = []

    def reader() -> None:
        try:
            a.recv(16)
        except ConcurrentObjectUseError as exc:
            errors.append(type(exc).__name__)

    readers = [gevent.spawn(reader) for _ in range(2)]
    time.sleep(0.05)
    b.sendall(b"x")
    gevent.joinall(readers, timeout=WAIT_S)
    gevent.killall(readers)
    a.close()
    b.close()
    out["stdlib_errors"] = errors

    # A gnet socket: write() never waits, it queues, so any number of
    # greenlets may write to one socket; chunks go out whole, in call order.
    sockets: list[net.Socket] = []
    server = net.createServer({"pauseOnConnect": True}, sockets.append)
    port = gnet_listen(server)
    c = net.createConnection(port, HOST)
    calls: list[bytes] = []
    write_errors: list[str] = []

    def writer(i: int) -> None:
        for k in range(4):
            chunk = bytes([65 + i]) * 262144 + f"{i}.{k}".encode()
            calls.append(chunk)
            try:
                c.write(chunk)
            except Exception as exc:
                write_errors.append(repr(exc))
            gevent.sleep(0)

    try:
        once(c, "connect", timeout=WAIT_MS)
        # 10 x 4 x 256 KiB: more than the kernel buffers hold while the
        # server side does not read (pauseOnConnect), so write() queues.
        writers = [gevent.spawn(writer, i) for i in range(10)]
        gevent.joinall(writers, timeout=WAIT_S)
        out["buffered_bytes"] = c.writableLength
        deadline = time.perf_counter() + WAIT_S
        while not sockets and time.perf_counter() < deadline:
            time.sleep(0.01)
        received: list[bytes] = []
        peer = sockets[0]
        peer.on("data", received.append)
        peer.resume()
        c.end()
        once(peer, "end", timeout=WAIT_MS)
        out["gnet_errors"] = write_errors
        out["gnet_in_order"] = b"".join(received) == b"".join(calls)
        out["gnet_bytes"] = sum(map(len, received))
    finally:
        c.destroy()
        gnet_stop(server)
    return out


# --- 6. real blocking calls: the hub's thread pool -----------------------------------


def scenario_threadpool(pinger: Pinger) -> dict:
    pool = gevent.get_hub().threadpool
    count = min(10, pool.maxsize)
    out: dict[str, Any] = {"calls": count}
    with pinger.window(out):
        # The unpatched time.sleep stands in for a C extension that blocks
        # its OS thread; each call runs in a real thread of the pool.
        jobs = [pool.spawn(real_sleep, DELAY) for _ in range(count)]
        gevent.joinall(jobs, timeout=WAIT_S)
    out["ok"] = sum(bool(j.successful()) for j in jobs)
    return out


def scenario_control(pinger: Pinger) -> dict:
    """The probe's own check: a call that blocks the whole process must show."""
    out: dict[str, Any] = {}
    with pinger.window(out):
        time.sleep(0.02)
        real_sleep(DELAY)
        time.sleep(0.02)
    return out


def patch_facts() -> dict:
    in_thread: list[bool] = []
    t = threading.Thread(target=lambda: in_thread.append(isinstance(gevent.getcurrent(),
                                                                    gevent.Greenlet)))
    t.start()
    t.join(WAIT_S)
    return {
        "socket": bool(monkey.is_module_patched("socket")),
        "thread": bool(monkey.is_module_patched("threading")),
        "select": bool(monkey.is_module_patched("select")),
        "ssl": bool(monkey.is_module_patched("ssl")),
        "socket_class": f"{socket.socket.__module__}.{socket.socket.__qualname__}",
        "create_connection": socket.create_connection.__module__,
        "time_sleep_is_gevent": time.sleep is gevent.sleep,
        "thread_is_greenlet": in_thread == [True],
        "select_has_epoll": hasattr(select, "epoll"),
        "default_selector": selectors.DefaultSelector.__name__,
    }


def main() -> int:
    result: dict[str, Any] = {"n": N, "delay_s": DELAY, "patched": patch_facts()}
    pinger = Pinger()
    try:
        result["gnet_server_sleep"] = scenario_gnet_server(pinger, delayed_by_sleep)
        result["gnet_server_timer"] = scenario_gnet_server(pinger, delayed_by_timer)
        result["http_server"] = scenario_http_server(pinger)
        result["socketserver"] = scenario_socketserver(pinger)
        result["gnet_clients"] = scenario_gnet_clients(pinger)
        result["shared_socket"] = scenario_shared_socket()
        result["threadpool"] = scenario_threadpool(pinger)
        result["control"] = scenario_control(pinger)
    finally:
        pinger.close()
    result["settled"] = net.run(timeout=WAIT_MS)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
