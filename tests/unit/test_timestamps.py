from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.errors import InvalidArgument
from covenant.timestamps import as_utc, from_ts, opt_ts, ts, utcnow


def test_naive_is_utc_and_aware_is_converted() -> None:
    naive = datetime(2026, 3, 1, 8, 30)
    assert ts(naive) == Timestamp(seconds=int(naive.replace(tzinfo=UTC).timestamp()))
    plus8 = datetime(2026, 3, 1, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert ts(plus8) == ts(naive)
    assert as_utc(plus8).tzinfo is UTC and as_utc(naive) == naive.replace(tzinfo=UTC)
    assert ts(None) is None


def test_round_trip_and_unset() -> None:
    at = datetime(2026, 3, 1, 8, 30, 1, 250000, tzinfo=UTC)
    assert opt_ts(ts(at)) == at
    assert opt_ts(Timestamp()) is None
    assert from_ts(Timestamp(), "start_time") is None
    with pytest.raises(InvalidArgument) as err:
        from_ts(Timestamp(), "start_time", required=True)
    assert err.value.field == "start_time"
    assert utcnow().tzinfo is UTC
