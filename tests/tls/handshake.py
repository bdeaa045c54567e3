"""An in-memory TLS handshake between two ``ssl.SSLContext`` s (no sockets).

The contexts a ``SecureContext`` makes are proved by using them: the two
``SSLObject`` s talk through ``MemoryBIO`` pairs until both finish or one
fails.
"""

from __future__ import annotations

import ssl


class Failed(Exception):
    """One side's handshake error: ``side`` is 'client' or 'server'."""

    def __init__(self, side: str, error: ssl.SSLError) -> None:
        super().__init__(f'{side}: {error}')
        self.side = side
        self.error = error


def handshake(client: ssl.SSLContext, server: ssl.SSLContext,
              server_hostname: str | None = None,
              rounds: int = 20) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """Run a handshake; return the (client, server) objects or raise :class:`Failed`."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_side=False, server_hostname=server_hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {'client': False, 'server': False}
    for _ in range(rounds):
        for side, obj in (('client', c), ('server', s)):
            if done[side]:
                continue
            try:
                obj.do_handshake()
                done[side] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as err:
                raise Failed(side, err) from None
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            # TLS 1.3: the server's verdict on a client certificate and the
            # tickets come after the client's Finished; one read settles them.
            try:
                s.read(1)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as err:
                raise Failed('server', err) from None
            c_in.write(s_out.read())
            try:
                c.read(1)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as err:
                raise Failed('client', err) from None
            return c, s
    raise AssertionError('handshake did not finish')
