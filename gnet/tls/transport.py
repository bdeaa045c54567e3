"""The TLS transport: ``ITransport`` over another transport, with OpenSSL in memory.

Theory of operation
-------------------
A :class:`TLSTransport` wraps a connected lower transport (a
:class:`gnet.transport.StreamTransport`) and offers the stream above the
same seam (:class:`gnet.interfaces.ITransport`), carrying plaintext. The
engine is the standard library's ``ssl.SSLObject`` over two
``ssl.MemoryBIO`` s: ciphertext read from the lower transport goes into the
incoming BIO; what OpenSSL writes to the outgoing BIO goes to the lower
transport.

* **Handshake.** :meth:`start_handshake` drives ``do_handshake()`` from
  the lower transport's read callback, in the hub: a client sends its
  ClientHello at once; a server does nothing until the client's first
  bytes arrive, and makes its engine (the ``SSLObject``) only then, so a
  client that connects and stays silent costs a read watcher, two empty
  memory BIOs and the ``timeout`` timer (the server's
  ``handshakeTimeout``, a loop timer): no OpenSSL connection, no greenlet.
  Only a handshake whose OpenSSL callback may block cooperatively (a
  server's ``SNICallback``: a database lookup, a ``gevent.sleep``) moves
  into a short-lived greenlet of its own, when the ClientHello's first
  bytes arrive; the hub cannot wait. The outcome
  (success, Node's error, or the timeout's) reaches the socket once, in
  the hub. Until the socket calls :meth:`secure`, ``recv``/``send`` refuse
  (``BlockingIOError``) and the stream's read and write callbacks stay
  unarmed: the stream queues its writes, as while connecting.
* **Reading.** ``recv(n)``, called when the descriptor is readable, reads
  the lower transport once (64 KiB and some), feeds the incoming BIO, and decrypts
  while OpenSSL holds plaintext or the BIO holds ciphertext
  (``SSLObject.pending()`` and ``MemoryBIO.pending``): one system call and
  no "want read" exception per record, as libuv reads for Node. It reads
  below again only after a full read (a short one means the kernel had no
  more; the level-triggered watcher calls again when there is), and only
  while it has less than ``n`` plaintext bytes (memory stays bounded by
  one read). A record without application data (a TLS 1.3 session ticket
  after the handshake) is processed and gives nothing: not EOF. A
  close_notify, or the peer's FIN after the handshake (a "ragged" EOF,
  which Node 20 also reads as the end), is ``b''``. When it stops with
  ``n`` bytes while OpenSSL or the BIO holds more, which no descriptor
  event will announce, the read callback is called again from the loop,
  and that call decrypts only what is held.
* **Writing.** ``send(data)`` encrypts up to 64 KiB and hands the records
  to the lower transport in one send; what the kernel does not take waits
  in a backlog drained by the lower transport's write watcher. ``pending`` is that
  backlog (and 1 while the handshake runs, so that the stream's FIN and
  'finish' wait for it); ``send`` refuses while it is not empty, and the
  stream's write callback is called only once it is.
* **Half-close.** ``shutdown()`` sends close_notify (``SSLObject.unwrap``;
  the peer's close_notify may still be outstanding, and reading goes on),
  then the lower transport's FIN once the backlog is out.
* **Errors.** OpenSSL failures become Node's errors
  (:func:`tls_error`): ``ERR_SSL_<REASON>`` as a
  :class:`~gnet.errors.TLSConnectionError`, which is an ``OSError`` that
  the stream passes on unchanged. Kernel errors from below pass as they
  are (the stream names them ``read ECONNRESET``...).

Everything but the handshake greenlet (when there is one) runs in the hub
or in the calling greenlet, and never blocks.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable
from typing import Any

import gevent
from gevent import get_hub
from zope.interface import implementer

from gnet.dispatch import get_loop
from gnet.errors import TLSConnectionError, TLSHandshakeTimeoutError
from gnet.interfaces import ITransport
from gnet.tls.engine import EngineContext
from gnet.tls.openssl import openssl_error

__all__ = ("CHUNK", "TLSTransport", "tls_error")

#: Plaintext encrypted per send(), and ciphertext read per handshake pull.
CHUNK = 64 * 1024
#: Ciphertext read per pull after the handshake: 64 KiB of plaintext and the
#: overhead of its records (5 to about 330 bytes each, four 16 KiB records
#: per 64 KiB), so the records of a peer's 64 KiB write come in one read, not
#: a full read and a second one for their last few bytes.
RECORDS_READ = CHUNK + 2048

def tls_error(err: ssl.SSLError) -> TLSConnectionError:
    """Node's error for an OpenSSL failure on a connection: ``ERR_SSL_<REASON>``, OpenSSL's text.

    The code, library and reason are :func:`gnet.tls.openssl.openssl_error`'s;
    the error is a :class:`~gnet.errors.TLSConnectionError` (an ``OSError``
    too), so the stream passes it on unchanged.
    """
    named = openssl_error(err)
    exc = TLSConnectionError(str(named.code), named.message, named.reason, named.library)
    exc.__cause__ = err
    return exc


def _fileno(lower: Any) -> int:
    # The lower transport's descriptor (a StreamTransport is the socket, or holds it).
    sock = getattr(lower, "sock", lower)
    return int(sock.fileno())


class _Killed(Exception):
    pass


def _no_engine(*_args: Any) -> Any:
    # The engine's calls before it is made (a server's, until the client speaks).
    raise BlockingIOError(errno.EAGAIN, "no TLS engine yet")


# _handshake_step's answer while it needs more from the peer.
_WAITING = object()


@implementer(ITransport)
class TLSTransport:
    """TLS over a connected lower transport (see the module docstring).

    Args:
        lower: The connected transport carrying ciphertext.
        context: What makes the engine: the ``ssl.SSLContext`` for this side, or
            a pyOpenSSL engine context (:mod:`gnet.tls.engine`).
        server_side: True for the server's end.
        server_hostname: The SNI to send (client), or None for none.
        session: An ``ssl.SSLSession`` to resume (client), or None.
    """

    def __init__(self, lower: Any, context: EngineContext, server_side: bool,
                 server_hostname: str | None = None, session: Any = None,
                 owner: Any = None) -> None:
        self.lower = lower
        self.family: int = lower.family
        self.reading = False
        self.writing = False
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self.server_side = server_side
        #: The TLSSocket, given to the engine as ``_gnet_socket`` (its callbacks need it).
        self.owner = owner
        # What makes the engine. A server's is made when the client's first
        # bytes arrive (a silent client costs no OpenSSL connection); a
        # client's now, since it speaks first.
        self._recipe: Any = (context, server_hostname, session)
        self._sslobj: ssl.SSLObject | None = None
        # The engine's read, write and pending, bound once (see _engine).
        self._read: Callable[..., Any] = _no_engine
        self._write: Callable[[Any], int] = _no_engine
        self._pending: Callable[[], int] = _no_engine
        if not server_side:
            self._engine()
        self._secure = False
        self._closed = False
        self._backlog = bytearray()
        self._fin_after_backlog = False
        self._shut = False
        self._eof = False  # the peer's close_notify or FIN was read
        self._more = False  # recv() stopped full: OpenSSL may hold more
        self._refire_queued = False
        self._refiring = False  # recv() called by _refired, not by the descriptor
        self._error: BaseException | None = None
        self._rcb: Callable[[], Any] | None = None
        self._wcb: Callable[[], Any] | None = None
        self._done: Callable[[BaseException | None], Any] | None = None
        self._cooperative = False
        self._timer: Any = None  # handshakeTimeout's loop timer
        self._greenlet: Any = None  # only for a handshake that may block
        self._hw: Any = None  # the greenlet's own watcher
        #: Called (hub) after reads while a client may still get session tickets.
        self.on_session: Callable[[], Any] | None = None
        self._session_checks = 0

    @property
    def sslobj(self) -> ssl.SSLObject:
        """The engine: an ``ssl.SSLObject`` (or the pyOpenSSL tier's twin), made on first use."""
        obj = self._sslobj
        return obj if obj is not None else self._engine()

    def _engine(self) -> ssl.SSLObject:
        context, server_hostname, session = self._recipe
        self._recipe = None
        obj: Any = context.wrap_bio(self._in, self._out, server_side=self.server_side,
                                    server_hostname=server_hostname, session=session)
        if self.owner is not None:
            obj._gnet_socket = self.owner  # for the SNI callback (and the engine's)
        self._sslobj = obj
        # The standard library's SSLObject is a Python class whose read,
        # write and pending only call its C object's: the hot path calls
        # the C object's directly (one Python frame less per record). The
        # pyOpenSSL engine has none and is called as it is.
        raw = getattr(obj, "_sslobj", None) if type(obj) is ssl.SSLObject else None
        engine = raw if raw is not None else obj
        self._read = engine.read
        self._write = engine.write
        self._pending = engine.pending
        return obj

    # ------------------------------------------------------------------
    # ITransport

    @property
    def is_tcp(self) -> bool:
        """True for IPv4 and IPv6 connections."""
        return bool(self.lower.is_tcp)

    @property
    def pending(self) -> int:
        """Ciphertext bytes the kernel has not taken yet (1 while handshaking)."""
        if self._backlog:
            return len(self._backlog)
        return 0 if self._secure or self._closed else 1

    def recv(self, n: int) -> bytes:
        """Up to ``n`` plaintext bytes, ``b''`` at EOF, or BlockingIOError."""
        if self._error is not None:
            raise self._error
        if not self._secure:
            raise BlockingIOError(errno.EAGAIN, "handshake not finished")
        if self._eof:
            return b""
        incoming = self._in
        read = self._read
        pending = self._pending
        # Called again from the loop (_refired), not by the descriptor: only
        # what OpenSSL and the incoming BIO hold is read; the socket's own
        # readiness calls again if the kernel has more.
        may_pull = not self._refiring
        self._refiring = False
        chunks: list[bytes] = []
        got = 0
        try:
            # Exit at n plaintext bytes (what is left waits in OpenSSL and
            # the BIO, bounded by one read, and the loop calls again).
            while got < n:
                # Decrypt while OpenSSL holds plaintext or the incoming BIO
                # holds ciphertext (or its EOF), without asking OpenSSL
                # first and catching its "want read" on an empty BIO.
                held = incoming.pending or pending()
                if held or incoming.eof:
                    size = n - got
                    if 0 < held < size:
                        # Plaintext is no longer than the ciphertext that
                        # carries it (nor than what OpenSSL holds decrypted):
                        # no 64 KiB buffer made and shrunk per record.
                        size = held
                    try:
                        data = read(size)
                    except ssl.SSLWantReadError:
                        # A partial record, or a record with no application
                        # data (a TLS 1.3 session ticket, a key update): not
                        # EOF; the rest comes from the socket.
                        if incoming.eof:
                            self._eof = True  # a FIN in the middle of a record
                            break
                    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                        # close_notify, or a FIN without one after the
                        # handshake (Node 20 reads both as the end).
                        self._eof = True
                        break
                    except ssl.SSLError as exc:
                        err = tls_error(exc)
                        if chunks:
                            self._error = err
                            break
                        raise err from None
                    else:
                        if not data:
                            self._eof = True
                            break
                        chunks.append(data)
                        got += len(data)
                        continue
                # Nothing left to decrypt: read the socket, once per
                # readiness. Exit when this call may not read it (the loop
                # called, not the descriptor), after a short read (the
                # kernel had less than asked: it is empty now, and the
                # level-triggered watcher calls again when more arrives), on
                # EAGAIN, and at EOF. Only a full read may be followed by
                # another, once its records are decrypted.
                if not may_pull:
                    break
                try:
                    cipher = self.lower.recv(RECORDS_READ)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    if chunks:
                        self._error = exc
                        break
                    raise
                if cipher:
                    incoming.write(cipher)
                    may_pull = len(cipher) >= RECORDS_READ
                else:
                    incoming.write_eof()
                    may_pull = False
        finally:
            if self._out.pending:
                try:
                    self._flush_out()
                except OSError as exc:
                    # Records OpenSSL answers with (an alert, a key update)
                    # that the peer no longer takes: what was read still
                    # counts; the error comes with the next call.
                    if not chunks and not self._eof:
                        raise
                    self._error = self._error or exc
        if self.on_session is not None and self._session_checks < 8:
            self._session_checks += 1
            self.on_session()
        # Call again from the loop when this call stopped with something
        # still to hand over: records OpenSSL or the incoming BIO holds (no
        # descriptor event announces them), the EOF after the data, an error.
        more = self._more = (
            (got >= n and bool(pending() or incoming.pending or incoming.eof))
            or (self._eof and bool(chunks)) or self._error is not None)
        if more and self.reading:
            self._refire()
        if chunks:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if self._eof:
            return b""
        raise BlockingIOError(errno.EAGAIN, "no TLS record complete")

    def send(self, data: Any) -> int:
        """Encrypt up to 64 KiB of ``data``; how many plaintext bytes were taken."""
        if self._error is not None:
            raise self._error
        if not self._secure or self._backlog or self._shut:
            raise BlockingIOError(errno.EAGAIN, "TLS records wait")
        size = len(data)
        if size > CHUNK:
            data = memoryview(data)[:CHUNK]
        elif not size:
            return 0
        try:
            n: int = self._write(data)
        except ssl.SSLError as exc:
            raise tls_error(exc) from None
        # _flush_out, inlined: the records of one write go down in one send.
        records = self._out.read()
        if self._backlog or self._closed:
            self._flush_tail(records)
            return n
        try:
            sent = self.lower.send(records)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent < len(records):
            self._flush_tail(records, sent)
        return n

    def sendmsg(self, buffers: Any) -> int:
        """Like ``send`` for several buffers (joined up to 64 KiB)."""
        parts = []
        total = 0
        for buf in buffers:
            parts.append(buf)
            total += len(buf)
            if total >= CHUNK:
                break
        return self.send(b"".join(parts))

    def start_reading(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub while ``recv`` may return something."""
        self._rcb = callback
        if self.reading:
            return
        self.reading = True
        if self._secure and not self._closed:
            self.lower.start_reading(callback)
            if self._more or self.sslobj.pending() or self._in.pending:
                self._refire()

    def stop_reading(self) -> None:
        """Stop the read callback."""
        if self.reading:
            self.reading = False
            if self._secure and not self._closed:
                self.lower.stop_reading()

    def start_writing(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in the hub once ``send`` may take more."""
        self._wcb = callback
        if self.writing:
            return
        self.writing = True
        if self._secure and not self._closed and not self.lower.writing:
            self.lower.start_writing(self._on_lower_writable)

    def stop_writing(self) -> None:
        """Stop the write callback (the backlog still drains)."""
        if self.writing:
            self.writing = False
            if not self._backlog and not self._closed and self.lower.writing:
                self.lower.stop_writing()

    def shutdown(self) -> None:
        """Send close_notify, then FIN once the records are out; reading goes on."""
        if self._shut or self._closed:
            return
        self._shut = True
        if self._secure:
            try:
                self.sslobj.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass  # our close_notify is written; the peer's may come later
            except ssl.SSLError:
                pass
            self._flush_out()
        if self._backlog:
            self._fin_after_backlog = True
        else:
            self.lower.shutdown()

    def reset(self) -> None:
        """Make the coming ``close()`` send RST."""
        self.lower.reset()

    def close(self) -> None:
        """Stop everything and close the lower transport; safe twice."""
        if self._closed:
            return
        self._closed = True
        self.reading = self.writing = False
        self._stop_handshake()
        self._backlog = bytearray()
        self.lower.close()

    def getsockname(self) -> Any:
        """The local sockaddr."""
        return self.lower.getsockname()

    def getpeername(self) -> Any:
        """The peer's sockaddr."""
        return self.lower.getpeername()

    def set_no_delay(self, value: bool) -> None:
        """TCP_NODELAY, on the lower transport."""
        self.lower.set_no_delay(value)

    def set_keep_alive(self, enable: bool, delay_ms: float, interval_ms: float | None,
                       count: int | None) -> None:
        """Keep-alive probes, on the lower transport."""
        self.lower.set_keep_alive(enable, delay_ms, interval_ms, count)

    def set_user_timeout(self, ms: int) -> None:
        """TCP_USER_TIMEOUT, on the lower transport."""
        self.lower.set_user_timeout(ms)

    # ------------------------------------------------------------------
    # Moving ciphertext down

    def _flush_out(self) -> None:
        # What OpenSSL wrote goes to the kernel, in one send; the rest waits
        # in the backlog, which the lower write watcher drains.
        data = self._out.read()
        if not data or self._closed:
            return
        if self._backlog:
            self._backlog += data
            return
        try:
            sent = self.lower.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent < len(data):
            self._flush_tail(data, sent)

    def _flush_tail(self, data: bytes, sent: int = 0) -> None:
        # What the kernel did not take of ``data`` (all of it behind a
        # backlog) joins the backlog, and the lower write watcher drains it.
        if self._closed or sent >= len(data):
            return
        self._backlog += memoryview(data)[sent:] if sent else data
        if not self.lower.writing:
            self.lower.start_writing(self._on_lower_writable)

    def _on_lower_writable(self) -> None:
        # Hub: the kernel has room. The backlog goes first; the stream's
        # write callback only once it is out (and the handshake is done).
        backlog = self._backlog
        if backlog:
            try:
                sent = self.lower.send(backlog)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._fail(exc)
                return
            del backlog[:sent]
            if backlog:
                return
            if self._fin_after_backlog:
                self._fin_after_backlog = False
                try:
                    self.lower.shutdown()
                except OSError as exc:
                    if exc.errno != errno.ENOTCONN:
                        self._fail(exc)
                        return
        if self.writing and self._secure and self._wcb is not None:
            self._wcb()
        elif not self._backlog and self.lower.writing and not self._closed:
            self.lower.stop_writing()

    def _fail(self, exc: BaseException) -> None:
        # A kernel error while draining: the stream learns it from its next
        # call, made now through whichever callback is armed.
        self._error = exc
        self._backlog = bytearray()
        if self.lower.writing:
            self.lower.stop_writing()
        if self.writing and self._wcb is not None:
            self._wcb()
        elif self.reading and self._rcb is not None:
            self._rcb()

    def _refire(self) -> None:
        if not self._refire_queued:
            self._refire_queued = True
            get_loop().run_callback(self._refired)

    def _refired(self) -> None:
        self._refire_queued = False
        if self.reading and self._rcb is not None and not self._closed:
            self._refiring = True
            try:
                self._rcb()
            finally:
                self._refiring = False

    # ------------------------------------------------------------------
    # The handshake

    def start_handshake(self, done: Callable[[BaseException | None], Any],
                        timeout: float | None = None, cooperative: bool = False) -> None:
        """Start the handshake; ``done(error or None)`` follows once, in the hub.

        A client speaks first (its ClientHello goes out now); a server does
        nothing until the client's first bytes arrive: until then a silent
        client costs a read watcher and, with ``timeout``, a loop timer,
        and no greenlet.

        Args:
            done: Called once, in the hub, unless the transport was closed first.
            timeout: Seconds the handshake may take, or None.
            cooperative: True when a callback OpenSSL makes during the
                handshake may block cooperatively (a server's
                ``SNICallback``): the handshake then moves into a greenlet
                of its own when the first bytes arrive.
        """
        self._done = done
        self._cooperative = cooperative
        if timeout:
            timer = self._timer = get_loop().timer(timeout)
            timer.start(self._handshake_timed_out)
        if self.server_side:
            self.lower.start_reading(self._handshake_readable)
            return
        outcome = self._handshake_step()
        if outcome is not _WAITING:
            # Never from inside the caller (the socket is still adopting).
            get_loop().run_callback(self._handshake_over, outcome)

    def _handshake_readable(self) -> None:
        # Hub: the lower transport has ciphertext, EOF or an error.
        if self._done is None or self._closed:
            return
        try:
            data = self.lower.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._handshake_over(exc)
            return
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()
        if self._cooperative and data:
            # The ClientHello is arriving and the SNI callback may block:
            # the rest of the handshake runs in a greenlet.
            self.lower.stop_reading()
            self._greenlet = gevent.spawn(self._handshake_in_greenlet)
            return
        outcome = self._handshake_step()
        if outcome is not _WAITING:
            self._handshake_over(outcome)

    def _handshake_step(self) -> Any:
        # One do_handshake() on what the incoming BIO holds: _WAITING for
        # more from the peer, or the outcome (None: done).
        try:
            self.sslobj.do_handshake()
        except ssl.SSLWantReadError:
            try:
                if self._out.pending:
                    self._flush_out()
            except OSError as exc:
                return exc
            if not self.lower.reading:
                self.lower.start_reading(self._handshake_readable)
            return _WAITING
        except Exception as exc:
            if self._out.pending and not self._closed:
                try:
                    self._flush_out()  # the alert that tells the peer why
                except OSError:
                    pass
            return exc
        try:
            if self._out.pending:
                self._flush_out()
        except OSError as exc:
            return exc
        return None

    def _handshake_in_greenlet(self) -> None:
        outcome: BaseException | None = None
        try:
            self._do_handshake()
        except (gevent.GreenletExit, _Killed):
            return
        except BaseException as exc:
            outcome = exc
            if self._out.pending and not self._closed:
                try:
                    self._flush_out()  # the alert that tells the peer why
                except OSError:
                    pass
        finally:
            hw = self._hw
            if hw is not None:
                self._hw = None
                hw.stop()
                hw.close()
        if not self._closed:
            get_loop().run_callback(self._handshake_over, outcome)

    def _do_handshake(self) -> None:
        # In the greenlet: the handshake to its end, waiting for the peer
        # with a watcher of its own.
        sslobj = self.sslobj
        lower = self.lower
        hub = get_hub()
        while True:
            try:
                sslobj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            if self._out.pending:
                self._flush_out()
            if self._closed:
                raise _Killed()
            try:
                data = lower.recv(CHUNK)
            except (BlockingIOError, InterruptedError):
                wait_readable = getattr(lower, "wait_readable", None)
                if wait_readable is not None:
                    wait_readable()  # a lower transport that is not a descriptor
                    continue
                hw = self._hw
                if hw is None:
                    hw = self._hw = get_loop().io(_fileno(lower), 1)
                hub.wait(hw)
                continue
            if data:
                self._in.write(data)
            else:
                self._in.write_eof()
        if self._out.pending:
            self._flush_out()

    def _handshake_timed_out(self) -> None:
        # Hub: handshakeTimeout ran out, wherever the handshake was.
        self._handshake_over(TLSHandshakeTimeoutError())

    def _handshake_over(self, outcome: BaseException | None) -> None:
        # Hub: the one way out of the handshake; done() hears of it once.
        done = self._done
        if done is None:
            return
        self._done = None
        self._cancel_handshake_work()
        if self._closed:
            return
        if not self._secure and self.lower.reading:
            self.lower.stop_reading()  # secure() starts the stream's own reading
        done(outcome)

    def _stop_handshake(self) -> None:
        hw = self._hw
        if hw is not None:
            hw.stop()  # the greenlet closes it on its way out
        self._done = None
        self._cancel_handshake_work()

    def _cancel_handshake_work(self) -> None:
        # The handshake's timeout timer and its greenlet (made only for a
        # handshake whose SNICallback or 'OCSPRequest' listener may block).
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.stop()
            timer.close()
        greenlet = self._greenlet
        if greenlet is not None:
            self._greenlet = None
            if not greenlet.dead:
                greenlet.kill(block=False)

    def secure(self) -> None:
        """The socket accepted the handshake: arm the reading and writing asked for."""
        if self._closed or self._secure:
            return
        self._secure = True
        if self.reading and self._rcb is not None:
            self.lower.start_reading(self._rcb)
            if self.sslobj.pending() or self._in.pending:
                self._refire()
        if (self.writing or self._backlog) and not self.lower.writing:
            self.lower.start_writing(self._on_lower_writable)

    @property
    def handshaking(self) -> bool:
        """True until :meth:`secure` (or close)."""
        return not self._secure and not self._closed
