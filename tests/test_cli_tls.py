"""``--tls`` on the ``gnet`` command: connect (verified by default), echo and chat servers.

The commands run as real subprocesses (the helpers of test_cli.py); their
peers are the standard library's ``ssl`` (a server thread that records the
SNI it was sent, or line clients) and other gnet commands. Certificates come
from trustme, made once per test run (tests/helpers.py ``tls_pki``), written
to a temporary directory because the command reads PEM files. What is
checked is what a script relies on: the bytes, the one line on stderr with
Node's code, the exit status, and never a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

import test_cli
from helpers import Certs, LinePeer, tls_pki
from test_cli import WAIT_S, WELCOME, assert_clean, run_gnet

gnet = test_cli.gnet  # the fixture that starts gnet commands and kills them at teardown
stdlib_server = test_cli.stdlib_server

pytestmark = [pytest.mark.once, pytest.mark.timeout(90)]

INSECURE_LINE = ("gnet: --insecure: the server's certificate chain is not verified and its "
                 "name is not checked; anyone in the path can read and change this "
                 "connection\n")


class Files:
    """The test PKI as the PEM files the command reads."""

    def __init__(self, certs: Certs, where: Path) -> None:
        self.certs = certs
        self.dir = where
        self.ca = self._write("ca.pem", certs.ca.cert_pem.bytes())
        self.cert = self._write("cert.pem", certs.leaf.cert_chain_pems[0].bytes())
        self.key = self._write("key.pem", certs.leaf.private_key_pem.bytes())
        self.other_key = self._write("other-key.pem", certs.stranger.private_key_pem.bytes())

    def _write(self, name: str, data: bytes) -> str:
        path = self.dir / name
        path.write_bytes(data)
        return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: Any) -> Files:
    return Files(tls_pki(), tmp_path_factory.mktemp("pki"))


def server_context(blob: Any) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    blob.configure_cert(ctx)
    return ctx


class TLSPeer(LinePeer):
    """A stdlib TLS client that reads whole lines (the chat's and echo's peer)."""

    def __init__(self, port: int, files: Files, hostname: str = "localhost") -> None:
        super().__init__(port)
        ctx = ssl.create_default_context(cafile=files.ca)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=hostname)

    def rest(self) -> bytes:
        try:
            return super().rest()
        except ssl.SSLEOFError:  # a hang-up without close_notify: what came is what counts
            data, self._buffer = self._buffer, b""
            return data


def tls_echo(files: Files, sni: list[Any], blob: Any = None) -> Any:
    """A handler for test_cli's stdlib server: TLS with ``blob``'s certificate, echo until EOF.

    The name the client sent (SNI, None for none) is appended to ``sni``; a
    failed handshake is returned rather than raised.
    """
    ctx = server_context(blob or files.certs.leaf)
    ctx.sni_callback = lambda _sock, name, _ctx: sni.append(name)

    def handler(conn: socket.socket) -> Any:
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                received = b""
                while chunk := tls.recv(65536):
                    received += chunk
                    tls.sendall(chunk)
                return received
        except (ssl.SSLError, OSError) as exc:
            return exc

    return handler


# -- gnet connect --tls -----------------------------------------------------------------


def test_connect_tls_verifies_with_ca_sends_sni_and_pipes_bytes(
        files: Files, stdlib_server: Any) -> None:
    sni: list[Any] = []
    server = stdlib_server(tls_echo(files, sni))
    data = os.urandom(256 * 1024)
    done = run_gnet("connect", "--tls", "--ca", files.ca, "-v", "localhost", str(server.port),
                    input=data, timeout=30)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert done.stdout == data
    assert server.join() == data
    assert re.fullmatch(r"gnet: connected to 127\.0\.0\.1:\d+ \(TLSv1\.[23], \w+\)\n", err), err
    assert sni == ["localhost"]


def test_connect_tls_to_an_address_sends_no_sni_and_checks_the_address(
        files: Files, stdlib_server: Any) -> None:
    sni: list[Any] = []
    server = stdlib_server(tls_echo(files, sni))
    done = run_gnet("connect", "--tls", "--ca", files.ca, "127.0.0.1", str(server.port),
                    input=b"by address\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"by address\n", b"")
    assert sni == [None]


def test_connect_tls_uses_the_system_roots_by_default(files: Files, stdlib_server: Any) -> None:
    server = stdlib_server(tls_echo(files, []))
    done = run_gnet("connect", "--tls", "localhost", str(server.port), input=b"secret\n")
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode() == (f"gnet: localhost:{server.port}: unable to verify the first "
                                    "certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)\n")
    # Nothing was sent: the server saw the handshake refused, not the secret.
    assert isinstance(server.join(), (ssl.SSLError, OSError))


def test_connect_tls_checks_the_name(files: Files, stdlib_server: Any) -> None:
    sni: list[Any] = []
    server = stdlib_server(tls_echo(files, sni))
    done = run_gnet("connect", "--tls", "--ca", files.ca, "--servername", "example.com",
                    "127.0.0.1", str(server.port), input=b"secret\n")
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.startswith(f"gnet: 127.0.0.1:{server.port}: Hostname/IP does not match "
                          "certificate's altnames: Host: example.com. is not in the cert's "
                          "altnames: DNS:localhost"), err
    assert err.endswith(" (ERR_TLS_CERT_ALTNAME_INVALID)\n") and err.count("\n") == 1, err
    assert sni == ["example.com"]


def test_connect_tls_servername_picks_the_name_sent_and_checked(
        files: Files, stdlib_server: Any) -> None:
    sni: list[Any] = []
    server = stdlib_server(tls_echo(files, sni, files.certs.example))
    done = run_gnet("connect", "--tls", "--ca", files.ca, "--servername", "example.com",
                    "127.0.0.1", str(server.port), input=b"hi\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"hi\n", b"")
    assert sni == ["example.com"]


def test_connect_insecure_says_what_it_turns_off(files: Files, stdlib_server: Any) -> None:
    # A certificate from a CA nobody trusts, for another name: accepted, and said so.
    server = stdlib_server(tls_echo(files, [], files.certs.stranger))
    done = run_gnet("connect", "--tls", "--insecure", "--servername", "example.com",
                    "127.0.0.1", str(server.port), input=b"anyway\n")
    assert (done.returncode, done.stdout) == (0, b"anyway\n")
    assert done.stderr.decode() == INSECURE_LINE


def test_connect_tls_to_a_server_that_does_not_speak_tls(stdlib_server: Any) -> None:
    def banner(conn: socket.socket) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n" + b"x" * 64)
        conn.recv(65536)

    server = stdlib_server(banner)
    done = run_gnet("connect", "--tls", "--insecure", "127.0.0.1", str(server.port))
    err = done.stderr.decode()
    assert done.returncode == 1, err
    lines = err.splitlines()
    assert lines[0] == INSECURE_LINE.strip()
    assert len(lines) == 2, err
    assert re.fullmatch(rf"gnet: 127\.0\.0\.1:{server.port}: .+ \(ERR_SSL_[A-Z_]+\)",
                        lines[1]), err


@pytest.mark.parametrize("args", [
    ["connect", "--ca", "ca.pem", "127.0.0.1", "9"],
    ["connect", "--insecure", "127.0.0.1", "9"],
    ["connect", "--tls", "--insecure", "--ca", "ca.pem", "127.0.0.1", "9"],
    ["connect", "--tls", "--udp", "127.0.0.1", "9"],
    ["echo", "--cert", "cert.pem", "--key", "key.pem"],
    ["echo", "--tls", "--cert", "cert.pem"],
    ["chat", "--tls"],
], ids=["ca-without-tls", "insecure-without-tls", "insecure-with-ca", "tls-udp",
        "cert-without-tls", "tls-without-key", "chat-tls-without-files"])
def test_tls_usage_errors_exit_2(args: list[str]) -> None:
    done = run_gnet(*args)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert_clean(err)
    assert err.splitlines()[-1].startswith(f"gnet {args[0]}: error: ")


def test_connect_tls_unreadable_ca_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    done = run_gnet("connect", "--tls", "--ca", str(missing), "127.0.0.1", "9")
    assert done.returncode == 1
    assert done.stderr.decode() == f"gnet: --ca {missing}: no such file or directory (ENOENT)\n"


# -- gnet echo --tls and gnet chat --tls ------------------------------------------------


@pytest.mark.parametrize("command", ["echo", "chat"])
@pytest.mark.parametrize("case", ["missing", "not-pem", "mismatch"])
def test_server_certificate_errors_are_one_line_exit_1(files: Files, tmp_path: Path,
                                                       command: str, case: str) -> None:
    cert, key = files.cert, files.key
    if case == "missing":
        cert = str(tmp_path / "missing.pem")
        expected = f"gnet: --cert {cert}: no such file or directory (ENOENT)\n"
    elif case == "not-pem":
        cert = str(tmp_path / "garbage.pem")
        Path(cert).write_text("not a certificate\n")
        expected = (f"gnet: --cert {cert} --key {key}: error:PEM routines::no start line "
                    "(ERR_OSSL_PEM_NO_START_LINE)\n")
    else:
        key = files.other_key
        expected = (f"gnet: --cert {cert} --key {key}: error:x509 certificate routines::key "
                    "values mismatch (ERR_OSSL_X509_KEY_VALUES_MISMATCH)\n")
    done = run_gnet(command, "--tls", "--cert", cert, "--key", key, "--port", "0")
    assert (done.returncode, done.stdout, done.stderr.decode()) == (1, b"", expected)


def test_echo_tls_round_trip_with_gnet_connect(files: Files, gnet: Any) -> None:
    server = gnet("echo", "--tls", "--cert", files.cert, "--key", files.key, "--port", "0")
    port = server.listening_port()
    data = os.urandom(1024 * 1024)
    done = run_gnet("connect", "--tls", "--ca", files.ca, "localhost", str(port), input=data,
                    timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == data
    assert done.stderr == b""
    code, out, err = server.signal(signal.SIGINT)
    assert (code, out, err) == (0, b"", "")


def test_echo_tls_failed_handshake_is_one_line_and_the_server_goes_on(
        files: Files, gnet: Any, peers: Any) -> None:
    server = gnet("echo", "--tls", "--cert", files.cert, "--key", files.key, "--port", "0")
    port = server.listening_port()
    plain = peers(port)
    plain.send(b"GET / HTTP/1.0\r\n\r\n")
    line = server.err_line()
    assert re.fullmatch(r"gnet: 127\.0\.0\.1:\d+: .+ \(ERR_SSL_HTTP_REQUEST\)", line), line
    plain.close()
    client = TLSPeer(port, files)
    client.send(b"still here\n")
    assert client.line() == "still here"
    client.close()
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")


def test_chat_tls_members_talk(files: Files, gnet: Any) -> None:
    server = gnet("chat", "--tls", "--cert", files.cert, "--key", files.key, "--port", "0")
    port = server.listening_port()
    alice = TLSPeer(port, files)
    try:
        assert alice.line() == WELCOME
        alice.send(b"alice\n")
        assert alice.line() == "Hello alice! Here now: nobody else."

        bob = gnet("connect", "--tls", "--ca", files.ca, "localhost", str(port))
        assert bob.line() == WELCOME
        bob.write(b"bob\n")
        assert bob.line() == "Hello bob! Here now: alice."
        assert alice.line() == "* bob joined"
        alice.send(b"over TLS\n")
        assert bob.line() == "alice: over TLS"
        bob.write(b"both ways\n")
        assert alice.line() == "bob: both ways"
        bob.close_stdin()
        assert bob.wait() == (0, b"", "")
        assert alice.line() == "* bob left"

        code, out, err = server.signal(signal.SIGINT)
        assert (code, err) == (0, "")
        assert alice.rest() == b"* the server is shutting down\n"
        assert out.decode().splitlines() == [
            "alice joined", "bob joined", "bob left", "shutting down", "alice left"]
    finally:
        alice.close()


def test_echo_tls_with_workers(files: Files, gnet: Any) -> None:
    server = gnet("echo", "--tls", "--cert", files.cert, "--key", files.key, "--workers", "2",
                  "--port", "0")
    port = server.listening_port()
    assert server.line().startswith("2 workers: ")
    clients = [TLSPeer(port, files) for _ in range(6)]
    try:
        for i, client in enumerate(clients):
            client.send(f"secure {i}\n".encode())
        for i, client in enumerate(clients):
            assert client.line() == f"secure {i}"
    finally:
        for client in clients:
            client.close()
    code, out, err = server.signal(signal.SIGTERM)
    assert (code, out, err) == (0, b"", "")


def test_connect_tls_verbose_with_insecure_names_what_was_not_verified(
        files: Files, gnet: Any) -> None:
    server = gnet("echo", "--tls", "--cert", files.cert, "--key", files.key, "--port", "0")
    port = server.listening_port()
    proc = subprocess.run([*test_cli.GNET, "connect", "--tls", "--insecure", "-v", "127.0.0.1",
                           str(port)], input=b"x\n", capture_output=True, timeout=WAIT_S)
    err = proc.stderr.decode().splitlines()
    assert proc.returncode == 0, err
    assert err[0] == INSECURE_LINE.strip()
    assert re.fullmatch(r"gnet: connected to 127\.0\.0\.1:\d+ \(TLSv1\.[23], \w+\); "
                        r"not verified: UNABLE_TO_VERIFY_LEAF_SIGNATURE", err[1]), err
    server.signal(signal.SIGTERM)
