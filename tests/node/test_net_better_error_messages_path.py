"""Port of Node's test/parallel/test-net-better-error-messages-path.js."""

import pytest
from common import expects_error, must_not_call, run

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_connect_enoent_message():
    fp = "/tmp/fadagagsdfgsdf"
    c = net.connect(fp)
    c.on("connect", must_not_call())
    c.on("error", expects_error(code="ENOENT", message=f"connect ENOENT {fp}"))
    run()


def test_path_must_be_a_string():
    with pytest.raises(TypeError) as info:
        net.createConnection({"path": {}})
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
