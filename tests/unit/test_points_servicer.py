"""Points gRPC adapter conversions: the hand-written Struct and Timestamp readers agree with protobuf's."""

from __future__ import annotations

from datetime import UTC

import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.structs import struct_dict
from covenant.timestamps import opt_ts


def test_struct_dict_is_message_to_dict() -> None:
    s = Struct()
    s.update({"a": 1_500_000, "b": "x", "c": True, "d": None, "e": [1, "y", {"z": 2.5}, [None]]})
    s.update({"f": {"g": {}}})
    assert struct_dict(s) == MessageToDict(s)
    assert struct_dict(Struct()) == {}


def test_struct_dict_rejects_non_finite_numbers_like_message_to_dict() -> None:
    s = Struct()
    s.update({"n": float("nan")})
    with pytest.raises(ValueError):
        struct_dict(s)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(1, 0), (0, 1), (1793588645, 123456789), (-1, 999999999), (-62135596800, 0), (253402300799, 999999999)],
)
def test_opt_ts_is_to_datetime(seconds: int, nanos: int) -> None:
    ts = Timestamp(seconds=seconds, nanos=nanos)
    assert opt_ts(ts) == ts.ToDatetime(tzinfo=UTC)


def test_opt_ts_unset_is_none_and_invalid_is_rejected() -> None:
    assert opt_ts(Timestamp()) is None
    with pytest.raises(ValueError):
        opt_ts(Timestamp(seconds=253_402_300_800))
