"""Port of Node's test/parallel/test-net-dns-custom-lookup.js."""

import pytest
from common import expects_error, must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _check(address_type, cb=None):
    def on_connection(client):
        client.end()
        server.close()
        if cb:
            cb()

    server = net.createServer(on_connection)
    address = "127.0.0.1" if address_type == 4 else "::1"

    def lookup(host, dnsopts, callback):
        dnsopts["family"] = address_type
        ip = "127.0.0.1" if address_type == 4 else "::1"

        def answer():
            if dnsopts.get("all"):
                callback(None, [{"address": ip, "family": address_type}])
            else:
                callback(None, ip, address_type)

        net.setImmediate(answer)

    def on_lookup(err, ip, typ, *_):
        assert err is None
        assert address == ip
        assert typ == address_type

    def on_listening():
        net.connect({
            "port": server.address()["port"],
            "host": "localhost",
            "family": address_type,
            "lookup": lookup,
        }).on("lookup", must_call(on_lookup))

    server.listen(0, address, must_call(on_listening))


def test_custom_lookup_ipv4_then_ipv6(ipv6_loopback):
    _check(4, lambda: _check(6))
    run()


def test_custom_lookup_answering_no_address():
    def lookup(host, dnsopts, cb):
        if dnsopts.get("all"):
            cb(None, [{"address": None, "family": 4}])
        else:
            cb(None, None, 4)

    net.connect({"host": "localhost", "port": 80, "lookup": lookup}).on(
        "error", expects_error(code="ERR_INVALID_IP_ADDRESS"))
    run()
