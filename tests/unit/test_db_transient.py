"""Which database errors are transient, how often a unit of work is re-run, and the status clients get."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from sqlalchemy import exc as sa_exc

from covenant.auth.tokens import StaticKeySource, TokenVerifier
from covenant.db.transient import ABORTED, UNAVAILABLE, retry_transient, transient_code
from covenant.grpc.interceptors import ChassisInterceptor, retry_status


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [("40001", ABORTED), ("40P01", ABORTED), ("57P01", UNAVAILABLE), ("08006", UNAVAILABLE), ("23505", None)],
)
def test_sqlstates(sqlstate: str, expected: str | None) -> None:
    error = sa_exc.OperationalError("SELECT 1", {}, _PgError(sqlstate))
    assert transient_code(error) == expected


def test_sqlite_lock_and_invalidated_connection_are_unavailable() -> None:
    locked = sa_exc.OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))
    assert transient_code(locked) == UNAVAILABLE
    lost = sa_exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert transient_code(lost) == UNAVAILABLE
    assert transient_code(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    try:  # found through the cause chain too
        try:
            raise locked
        except sa_exc.OperationalError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert transient_code(outer) == UNAVAILABLE


def test_retry_reruns_transient_failures_only_and_gives_up() -> None:
    locked = sa_exc.OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))
    calls: list[int] = []

    def always_locked() -> None:
        calls.append(1)
        raise locked

    with pytest.raises(sa_exc.OperationalError):
        retry_transient(always_locked, attempts=3, base_delay=0.001)
    assert len(calls) == 3

    def bug() -> None:
        calls.append(1)
        raise ValueError("not transient")

    calls.clear()
    with pytest.raises(ValueError):
        retry_transient(bug, attempts=3, base_delay=0.001)
    assert len(calls) == 1


def test_retry_status_carries_retry_info() -> None:
    status = retry_status(UNAVAILABLE, "try again", 1.5)
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    rich = status_pb2.Status.FromString(details)
    assert rich.code == code_pb2.UNAVAILABLE and rich.message == "try again"
    info = error_details_pb2.RetryInfo()
    assert rich.details[0].Unpack(info)
    assert info.retry_delay.seconds == 1 and info.retry_delay.nanos == 500_000_000


class _Context:
    def __init__(self) -> None:
        self.aborted: grpc.Status | None = None

    def is_active(self) -> bool:
        return True

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def code(self) -> None:
        return None

    def abort_with_status(self, status: grpc.Status) -> None:
        self.aborted = status
        raise grpc.RpcError()


def _interceptor_call(method: str, behavior: Callable[..., Any]) -> tuple[Any, _Context]:
    interceptor = ChassisInterceptor(TokenVerifier(StaticKeySource('{"keys": []}')), auth_mode="dev")
    wrapped = interceptor._wrap_unary(method, {}, behavior)
    context = _Context()
    try:
        return wrapped(b"", context), context
    except grpc.RpcError:
        return None, context


def test_a_read_method_is_rerun_a_mutation_is_answered_unavailable_with_retry_info() -> None:
    locked = sa_exc.OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))
    calls: list[str] = []

    def flaky(_request: Any, _context: Any) -> str:
        calls.append("x")
        if len(calls) == 1:
            raise locked
        return "ok"

    read = "/covenant.attendance.v1.AttendanceService/GetRouteReport"
    assert _interceptor_call(read, flaky)[0] == "ok" and len(calls) == 2
    calls.clear()
    response, context = _interceptor_call("/covenant.points.v1.PointsService/Award", flaky)
    assert response is None and len(calls) == 1
    assert context.aborted is not None and context.aborted.code == grpc.StatusCode.UNAVAILABLE
    assert "grpc-status-details-bin" in dict(context.aborted.trailing_metadata)
