"""Port of Node's test/parallel/test-stream-transform-split-objectmode.js."""

import pytest
from common import must_call, run

from gnet import getDefaultHighWaterMark
from gnet.stream import Transform

pytestmark = [pytest.mark.once, pytest.mark.timeout(20)]


def test_transform_split_objectmode():
    parser = Transform({"readableObjectMode": True})
    assert parser.readableObjectMode
    assert not parser.writableObjectMode
    assert parser.readableHighWaterMark == 16
    assert parser.writableHighWaterMark == getDefaultHighWaterMark()
    parser._transform = lambda chunk, enc, callback: callback(None, {"val": chunk[0]})
    parsed = []
    parser.on("data", must_call(parsed.append))
    parser.end(bytes([42]))

    serializer = Transform({"writableObjectMode": True})
    assert not serializer.readableObjectMode
    assert serializer.writableObjectMode
    assert serializer.readableHighWaterMark == getDefaultHighWaterMark()
    assert serializer.writableHighWaterMark == 16
    serializer._transform = lambda obj, _, callback: callback(None, bytes([obj["val"]]))
    serialized = []
    serializer.on("data", must_call(serialized.append))
    serializer.write({"val": 42})
    run()
    assert parsed[0]["val"] == 42
    assert serialized[0][0] == 42
