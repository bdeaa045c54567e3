"""Port of Node's test/sequential/test-net-connect-econnrefused.js.

Node's last check counts open TCP handles with
``process.getActiveResourcesInfo()``; the port checks that nothing keeps
gnet's loop alive (``gnet.refCount() == 0``).
"""

import pytest
from common import must_call, must_call_atleast, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(30)]

ROUNDS = 5
ATTEMPTS_PER_ROUND = 50


def test_many_refused_connections():
    state = {"rounds": 1, "reqs": 0, "pending": 0, "port": None}

    def check():
        def later():
            assert net.refCount() == 0

        net.setTimeout(must_call(later), 0)

    def on_error(error):
        actual = error.errors[0] if isinstance(getattr(error, "errors", None), list) else error
        assert actual.code == "ECONNREFUSED"
        state["pending"] -= 1
        if state["pending"] > 0:
            return
        if state["rounds"] == ROUNDS:
            check()
            return
        state["rounds"] += 1
        pummel()

    def pummel():
        state["pending"] = 0
        while state["pending"] < ATTEMPTS_PER_ROUND:
            net.createConnection({"port": state["port"], "autoSelectFamily": False}).on(
                "error", must_call_atleast(on_error, 0))
            state["pending"] += 1
            state["reqs"] += 1

    def on_listening():
        state["port"] = server.address()["port"]
        server.close(must_call(lambda err=None: pummel()))

    server = net.createServer().listen(0, must_call(on_listening))
    run(20000)
    assert state["rounds"] == ROUNDS
    assert state["reqs"] == ROUNDS * ATTEMPTS_PER_ROUND
