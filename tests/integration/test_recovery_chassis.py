"""Recovery in the chassis: transient database errors answer UNAVAILABLE with RetryInfo (never INTERNAL), and
a handler still running when the drain grace expires commits nothing (docs/operations.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import create_engine, text

from covenant.db.engine import normalise_url
from covenant.db.transient import ABORTED, UNAVAILABLE, retry_transient, transient_code
from covenant.grpc.testing import RunningService, running_service
from tests.support import probe_app


def _call(svc: RunningService, method: str, payload: bytes = b"", timeout: float = 10) -> bytes:
    return svc.channel.unary_unary(f"/{probe_app.SERVICE}/{method}")(payload, timeout=timeout)


@pytest.fixture
def probe(tmp_path: Path, db_url: str) -> Iterator[RunningService]:
    (tmp_path / "rules").mkdir()
    with running_service(
        "scoring",
        db_url=db_url,
        data_dir=tmp_path,
        env={"COVENANT_RULES_DIR": str(tmp_path / "rules"), "COVENANT_AUTH_MODE": "dev"},
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        yield svc


def test_terminated_connection_mid_call_is_unavailable_with_retry_info(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "rules").mkdir()
    with running_service(
        "scoring",
        db_url=pg_url,
        data_dir=tmp_path,
        env={"COVENANT_RULES_DIR": str(tmp_path / "rules"), "COVENANT_AUTH_MODE": "dev"},
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        result: dict[str, grpc.RpcError] = {}

        def sleeper() -> None:
            try:
                _call(svc, "DbSleep", b"30", timeout=40)
            except grpc.RpcError as exc:
                result["error"] = exc

        caller = threading.Thread(target=sleeper)
        caller.start()
        admin = create_engine(normalise_url(pg_url))
        try:
            with admin.connect() as conn:
                terminated = False
                for _ in range(400):
                    terminated = bool(
                        conn.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"
                            )
                        ).scalar()
                    )
                    if terminated:
                        break
                    conn.commit()  # pg_stat_activity is a snapshot per transaction: look again in a new one
                    time.sleep(0.05)
                assert terminated, "the call never reached pg_sleep"
        finally:
            admin.dispose()
        caller.join(20)
        error = result["error"]
        assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
        status = rpc_status.from_call(error)
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details and status.details[0].Unpack(retry)
        assert retry.retry_delay.ToTimedelta().total_seconds() > 0
        assert _call(svc, "Count") == b"0"  # the service keeps serving on a fresh connection


def test_serialization_failure_and_deadlock_are_aborted_and_retried(pg_url: str) -> None:
    engine = create_engine(normalise_url(pg_url))
    try:
        with engine.connect() as conn, pytest.raises(Exception) as raised:
            conn.execute(text("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$"))
        assert transient_code(raised.value) == ABORTED
        with engine.connect() as conn, pytest.raises(Exception) as raised:
            conn.execute(text("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$"))
        assert transient_code(raised.value) == ABORTED
    finally:
        engine.dispose()
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise raised.value
        return "ok"

    assert retry_transient(flaky, attempts=3, base_delay=0.001) == "ok" and len(calls) == 3
    assert transient_code(ValueError("not a database error")) is None
    assert transient_code(TimeoutError("database is locked: no turn to write within 30 s")) == UNAVAILABLE


def test_handler_longer_than_the_grace_commits_nothing(probe: RunningService) -> None:
    assert _call(probe, "SlowWrite", b"0") == b"done"  # a call within the grace commits
    assert _call(probe, "Count") == b"1"
    result: dict[str, object] = {}

    def slow_write() -> None:
        try:
            result["value"] = _call(probe, "SlowWrite", b"1.5")
        except grpc.RpcError as exc:
            result["error"] = exc.code()

    caller = threading.Thread(target=slow_write)
    caller.start()
    time.sleep(0.3)  # the handler has inserted its row and is sleeping inside the transaction
    engine = create_engine(normalise_url(probe.settings.db_url))
    try:
        probe.host.stop(grace=0.3)
        caller.join(5)
        assert result.get("error") == grpc.StatusCode.UNAVAILABLE
        time.sleep(1.5)  # the handler wakes up past the grace and tries to commit
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM probe_writes")).scalar_one() == 1
    finally:
        engine.dispose()
