"""Timestamp <-> datetime, defined once for every servicer, the console and the demo.

Naive datetimes (SQLite hands them back without a zone) are taken as UTC; aware ones are converted to UTC.
An unset ``Timestamp`` (zero seconds and nanos) reads as ``None``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import overload

from google.protobuf.timestamp_pb2 import Timestamp

from covenant.errors import InvalidArgument

__all__ = ["as_utc", "from_ts", "opt_ts", "ts", "utcnow"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_SECONDS, _MAX_SECONDS = (
    -62135596800,
    253402300799,
)  # 0001-01-01 .. 9999-12-31T23:59:59 (Timestamp's range)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC (``None`` stays ``None``); a naive value is UTC already (as SQLite hands it back)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@overload
def ts(value: datetime) -> Timestamp: ...
@overload
def ts(value: None) -> None: ...
def ts(value: datetime | None) -> Timestamp | None:
    """The ``Timestamp`` of ``value`` (``None`` stays ``None``)."""
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(as_utc(value))
    return out


def opt_ts(value: Timestamp) -> datetime | None:
    """The UTC datetime of a set ``Timestamp``, ``None`` when unset (as ``ToDatetime(tzinfo=UTC)``, which
    rejects invalid ones)."""
    seconds, nanos = value.seconds, value.nanos
    if not (seconds or nanos):
        return None
    if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000:
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    return value.ToDatetime(tzinfo=UTC)


def from_ts(value: Timestamp, field: str, *, required: bool = False) -> datetime | None:
    """``opt_ts`` of a request field; an unset required one is INVALID_ARGUMENT naming ``field``."""
    out = opt_ts(value)
    if out is None and required:
        raise InvalidArgument("is required", field=field)
    return out
