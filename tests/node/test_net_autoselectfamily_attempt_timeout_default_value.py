"""Port of Node's test/parallel/test-net-autoselectfamily-attempt-timeout-default-value.js.

The mirror's value, ``platformTimeout(2500)``, is Node 26's 500 ms default
times the 5 that Node's test/common applies; Node 22 and 24 default to
250 ms, which is what gnet follows.
"""

import pytest

import gnet as net

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_default_attempt_timeout():
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 250
