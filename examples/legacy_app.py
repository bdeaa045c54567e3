"""A legacy stdlib app with a new gnet server beside it, in one process.

The legacy part is plain standard-library code that blocks: an
``http.server.ThreadingHTTPServer`` whose handlers use ``socket`` and whose
main loop is ``serve_forever()``. The new part is a gnet TCP server that
upper-cases each line it is sent. ``gevent.monkey.patch_all()``, the first
thing this file does, makes the legacy blocking calls cooperative, so both
parts share one thread and gevent's one event loop:

- the HTTP server's "threads" are greenlets, and ``serve_forever()`` blocks
  only the main greenlet; gnet's server answers meanwhile, without a thread
  or a ``net.run()`` of its own;
- ``GET /shout?text=hi`` calls the gnet server from inside an HTTP handler
  with a plain blocking ``socket.create_connection``. Unpatched, that call
  would block the only thread, and with it the server it waits for;
- ``GET /`` reports what the gnet part has seen: the two parts share plain
  Python state, with no lock, since everything runs in one thread.

Try it::

    python examples/legacy_app.py               # HTTP on 127.0.0.1:8000, gnet on 127.0.0.1:8124
    python examples/legacy_app.py 8080 9000     # or: HTTP_PORT=8080 PORT=9000 python ...
    nc 127.0.0.1 8124                           # type lines; they come back upper-cased
    curl 'http://127.0.0.1:8000/shout?text=hello'
    curl http://127.0.0.1:8000/

Stop it with Ctrl-C. See docs/monkey-patching.md.
"""

# First, before anything imports socket, ssl, threading, select or time:
# a module imported earlier could keep the blocking originals.
from gevent import monkey

monkey.patch_all()

import http.server  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import urllib.parse  # noqa: E402

import gevent  # noqa: E402

import gnet as net  # noqa: E402
from gnet.events import once  # noqa: E402

HOST = "127.0.0.1"

# What the gnet part has seen; the HTTP part reads it.
stats = {"connections": 0, "lines": 0}


# --- the new part: a gnet line server -------------------------------------------


def upper_case_lines(sock: net.Socket) -> None:
    stats["connections"] += 1
    sock.setEncoding("utf8")
    pending = [""]  # the unfinished line

    def on_data(text: str) -> None:
        *lines, pending[0] = (pending[0] + text).split("\n")
        for line in lines:
            stats["lines"] += 1
            sock.write(line.upper() + "\n")

    sock.on("data", on_data)


# --- the legacy part: stdlib HTTP, blocking style ----------------------------------


class LegacyHandler(http.server.BaseHTTPRequestHandler):
    gnet_port = 0

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/":
            self.reply(200, json.dumps(stats) + "\n")
        elif url.path == "/shout":
            text = urllib.parse.parse_qs(url.query).get("text", [""])[0]
            self.reply(200, self.ask_gnet(text.replace("\n", " ")) + "\n")
        else:
            self.reply(404, "not found\n")

    def ask_gnet(self, line: str) -> str:
        # Old code, unchanged: a blocking socket call. Patched, it blocks
        # only this request's greenlet while gnet's server answers.
        with socket.create_connection((HOST, self.gnet_port), timeout=5) as conn:
            conn.sendall(line.encode() + b"\n")
            with conn.makefile("rb") as answer:
                return answer.readline().decode().rstrip("\n")

    def reply(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def stop(httpd: http.server.HTTPServer, server: net.Server) -> None:
    # Runs in a greenlet of its own (gevent.signal_handler), where it may
    # block: shutdown() waits for serve_forever() to return.
    server.close()
    server.closeAllConnections()
    httpd.shutdown()


def main() -> None:
    http_port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HTTP_PORT", 8000))
    port = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PORT", 8124))

    server = net.createServer(upper_case_lines)
    server.listen(port, HOST)
    try:
        once(server, "listening")  # raises the listen error instead, e.g. EADDRINUSE
    except OSError as err:
        sys.exit(f"legacy_app: gnet server: {err.strerror}")
    try:
        httpd = http.server.ThreadingHTTPServer((HOST, http_port), LegacyHandler)
    except OSError as err:
        server.close()
        sys.exit(f"legacy_app: http.server: {err.strerror}")
    LegacyHandler.gnet_port = server.address()["port"]

    # Ctrl-C as an event, not a KeyboardInterrupt landing in whichever
    # greenlet happens to run.
    gevent.signal_handler(signal.SIGINT, stop, httpd, server)
    print(f"legacy http.server listening on {HOST}:{httpd.server_address[1]}", flush=True)
    print(f"gnet server listening on {HOST}:{server.address()['port']}", flush=True)

    # The legacy main loop, as it always was. It blocks the main greenlet
    # only; the gnet server needs no loop of its own while something keeps
    # the main greenlet waiting.
    httpd.serve_forever()
    httpd.server_close()
    # The HTTP part is done; let the gnet part finish closing.
    net.run(timeout=2000)


if __name__ == "__main__":
    main()
