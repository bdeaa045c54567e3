"""Run pytest in a process that gevent has monkey-patched before anything else.

Usage: ``python tests/monkey_run.py [pytest args...]`` (tox's ``-monkey`` envs).

``patch_all()`` has to come before pytest, conftest or gnet import ``socket``,
``ssl`` or ``threading``; a conftest is already too late. Any warning it gives
(such as gevent's MonkeyPatchWarning about a module imported too early) is
turned into an error here, so the run fails instead of testing a half-patched
process.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("error")
    from gevent import monkey

    monkey.patch_all()

# Only now may the rest be imported.
import os
import sys

import pytest

if __name__ == "__main__":
    # tests/conftest.py compares this with the process's real state; a tox env
    # that set it to "0" and still runs this file fails there.
    os.environ.setdefault("GNET_TEST_MONKEY", "1")
    sys.exit(pytest.main(sys.argv[1:]))
