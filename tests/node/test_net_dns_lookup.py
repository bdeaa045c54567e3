"""Port of Node's test/parallel/test-net-dns-lookup.js."""

import re

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_lookup_event_for_localhost():
    def on_connection(client):
        client.end()
        server.close()

    server = net.createServer(on_connection)

    def on_lookup(err, ip, typ, host):
        assert err is None
        assert re.match(r"^(127\.0\.0\.1|::1)$", ip)
        assert re.match(r"^(4|6)$", str(typ))
        assert host == "localhost"

    server.listen(0, must_call(lambda: net.connect(server.address()["port"], "localhost")
                               .on("lookup", must_call_atleast(on_lookup, 1))))
    run()
