"""Port of Node's test/parallel/test-net-blocklist.js."""

import pytest
from common import must_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def _check(err):
    assert err.code == "ERR_IP_BLOCKED", err


def test_connect_to_blocked_addresses_fails_with_err_ip_blocked():
    block_list = net.BlockList()
    block_list.addAddress("127.0.0.1")
    block_list.addAddress("127.0.0.2")

    # Connect without calling dns.lookup
    socket = net.connect({"port": 9999, "host": "127.0.0.1", "blockList": block_list})
    socket.on("error", must_call(_check))

    # Connect with single IP returned by dns.lookup
    socket = net.connect({
        "port": 9999, "host": "localhost", "blockList": block_list,
        "lookup": lambda _h, _o, cb: cb(None, "127.0.0.1", 4),
        "autoSelectFamily": False,
    })
    socket.on("error", must_call(_check))

    # Connect with autoSelectFamily and single IP
    socket = net.connect({
        "port": 9999, "host": "localhost", "blockList": block_list,
        "lookup": lambda _h, _o, cb: cb(None, [{"address": "127.0.0.1", "family": 4}]),
        "autoSelectFamily": True,
    })
    socket.on("error", must_call(_check))

    # Connect with autoSelectFamily and multiple IPs
    socket = net.connect({
        "port": 9999, "host": "localhost", "blockList": block_list,
        "lookup": lambda _h, _o, cb: cb(None, [{"address": "127.0.0.1", "family": 4},
                                               {"address": "127.0.0.2", "family": 4}]),
        "autoSelectFamily": True,
    })
    socket.on("error", must_call(_check))
    run(5000)
