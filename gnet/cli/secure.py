"""``--tls`` for the ``gnet`` command: certificate files to gnet.tls options, errors to one line.

The command reads PEM files; gnet.tls takes PEM bytes (as Node does), so
this module reads them, builds and checks the secure context before anything
listens or connects (a bad file is one line on stderr and status 1, not a
failure per connection), and words TLS errors with Node's code:
``gnet: --cert cert.pem: error:PEM routines::no start line
(ERR_OSSL_PEM_NO_START_LINE)``.

The client side verifies as ``openssl s_client -verify_return_error`` and
``ncat --ssl-verify`` do: the server's chain against the system's roots (or
``--ca``), its name against ``--servername`` or HOST. It sends SNI for a
HOST that is a name (``openssl s_client`` does too; gnet.tls itself sends
none unless told, as Node). ``--insecure`` turns both checks off and says
so on stderr, every time.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from typing import Any

from gnet.cli.common import EXIT_ERROR, message

__all__ = ("INSECURE_NOTE", "SetupError", "client_options", "describe", "read_pem",
           "server_options")

#: What ``--insecure`` says on stderr: exactly what it turns off.
INSECURE_NOTE = ("--insecure: the server's certificate chain is not verified and its name "
                 "is not checked; anyone in the path can read and change this connection")


class SetupError(Exception):
    """What stops a command before it starts: one line for stderr and the exit status."""

    def __init__(self, text: str, status: int = EXIT_ERROR) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def describe(err: BaseException) -> str:
    """Node's message for ``err`` with its code after it, unless the message has it already."""
    text = message(err)
    code = getattr(err, "code", None)
    if isinstance(code, str) and code and code not in text:
        text = f"{text} ({code})"
    return text


def read_pem(path: str, flag: str) -> bytes:
    """The bytes of ``path`` (given as ``flag``); a failure is a :class:`SetupError`."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, "EIO")
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SetupError(f"{flag} {path}: {reason.lower()} ({code})") from None


def server_options(cert: str | None, key: str | None) -> dict[str, Any]:
    """``tls.createServer`` options from ``--cert`` and ``--key``, checked now.

    Raises:
        SetupError: a file that cannot be read, a certificate or key that
            OpenSSL refuses, or a key that does not match the certificate.
    """
    if cert is None or key is None:
        raise SetupError("--tls needs --cert FILE and --key FILE (PEM)", 2)
    options = {"cert": read_pem(cert, "--cert"), "key": read_pem(key, "--key")}
    from gnet import tls

    try:
        tls.createSecureContext(options)
    except Exception as exc:  # OpenSSLError: no start line, key values mismatch...
        raise SetupError(f"--cert {cert} --key {key}: {describe(exc)}") from None
    return options


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def client_options(host: str, ca: str | None, insecure: bool,
                   servername: str | None) -> dict[str, Any]:
    """``tls.connect`` options for ``gnet connect --tls``.

    Raises:
        SetupError: a ``--ca`` file that cannot be read or holds no certificate.
    """
    options: dict[str, Any] = {"rejectUnauthorized": not insecure}
    if servername is None and not _is_ip(host):
        servername = host
    if servername:
        options["servername"] = servername
    if ca is not None:
        options["ca"] = read_pem(ca, "--ca")
        from gnet import tls

        try:
            tls.createSecureContext({"ca": options["ca"]})
        except Exception as exc:
            raise SetupError(f"--ca {ca}: {describe(exc)}") from None
    return options
