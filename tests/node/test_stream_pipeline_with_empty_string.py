"""Port of Node's test/parallel/test-stream-pipeline-with-empty-string.js.

Node awaits ``stream/promises``' pipeline; the callback form says the same.
"""

import pytest
from common import must_call, run

from gnet.stream import PassThrough, pipeline

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_pipeline_with_empty_string():
    def sink(source):
        for _ in source:
            pass

    pipeline("", PassThrough({"objectMode": True}), must_call(sink),
             must_call(lambda err, value=None: None))
    run()
