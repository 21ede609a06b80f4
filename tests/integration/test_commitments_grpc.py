"""Commitments through real gRPC and a real database: deadlines, settlement exactly once, frozen terms."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, select, text, update

from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.db.engine import Database
from covenant.grpc.testing import RunningService, TestTokens, bearer, running_service
from services.commitments import storage
from services.commitments.scheduler import DeadlineScheduler
from services.commitments.service import CommitmentsService
from tests.support.directory import employee as directory_entry
from tests.support.directory import publish_employees
from tests.support.rules import breach_grace

SH = ZoneInfo("Asia/Shanghai")
REP = {"commitments.commitments.create": "self", "commitments.commitments.read": "self"}
LEAD = {"commitments.commitments.read": "team", "commitments.commitments.extend": "team"}


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service(
        "commitments", db_url=db_url, data_dir=tmp_path, env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"}
    ) as s:
        publish_employees(
            s, [directory_entry("E1", "/hq/b1/t1", "credit_officer", manager_id="L1")]
        )  # as identity does
        yield s


def _stub(svc: RunningService) -> commitments_pb2_grpc.CommitmentsServiceStub:
    return commitments_pb2_grpc.CommitmentsServiceStub(svc.channel)


def _create(svc: RunningService, created: datetime, loan: str = "L-1", employee: str = "E1") -> pb.Commitment:
    publish_employees(
        svc, [directory_entry(employee, "/hq/b1/t1", "credit_officer", manager_id="L1")]
    )  # as identity does
    token = svc.tokens.user(employee, "/hq/b1/t1", REP)
    return _stub(svc).CreateCommitment(
        pb.CreateCommitmentRequest(
            template_id="loan_disbursal_3d",
            employee_id=employee,
            org_unit="/hq/b1/t1",
            client_id="C-9",
            correlation_value=loan,
            created_at=ts(created),
            request_id=f"req-{loan}",
        ),
        metadata=bearer(token),
    )


def _service(svc: RunningService, now: datetime) -> CommitmentsService:
    return CommitmentsService(svc.host.ctx.db, svc.host.ctx.rules, clock=lambda: now)  # type: ignore[union-attr]


def test_friday_commitment_over_holiday_monday_expires_thursday_and_breaches_once(
    svc: RunningService,
) -> None:
    friday_10 = datetime(2026, 11, 20, 10, 0, tzinfo=SH)  # the default pack lists 2026-11-23 as a holiday
    c = _create(svc, friday_10)
    assert c.effective_deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 26, 10, 0, tzinfo=SH)
    assert c.terms_hash.startswith("sha256:") and c.state == pb.ACTIVE
    before = datetime(2026, 11, 26, 9, 59, tzinfo=SH)
    DeadlineScheduler(_service(svc, before)).run_once()
    assert _get(svc, c.name).state == pb.ACTIVE
    at = datetime(2026, 11, 26, 10, 0, tzinfo=SH)
    DeadlineScheduler(_service(svc, at)).run_once()
    DeadlineScheduler(_service(svc, at + timedelta(hours=1))).run_once()
    assert _get(svc, c.name).state == pb.BREACHED
    assert _events(svc, "commitments.breached") == 1


def test_on_time_fulfilment_rewards_once(svc: RunningService) -> None:
    c = _create(svc, datetime.now(UTC) - timedelta(hours=1), loan="L-2")
    system = bearer(svc.tokens.service("loan-origination", {"commitments.fulfilments.write": "all"}))
    req = pb.RecordFulfilmentRequest(
        event_type="loan.disbursed", correlation_key="loan_id", correlation_value="L-2", event_id="los-1"
    )
    settled = _stub(svc).RecordFulfilment(req, metadata=system).settled
    assert [s.state for s in settled] == [pb.FULFILLED]
    assert list(_stub(svc).RecordFulfilment(req, metadata=system).settled) == []  # nothing left to settle
    DeadlineScheduler(_service(svc, datetime.now(UTC) + timedelta(days=30))).run_once()
    assert _get(svc, c.name).state == pb.FULFILLED
    assert _events(svc, "commitments.fulfilled") == 1 and _events(svc, "commitments.breached") == 0
    data = _event_data(svc, "commitments.fulfilled")
    assert data["reward_points"] > 0 and data["rule_id"] and data["pack_version"]


def test_terms_are_frozen_and_the_hash_check_proves_it(svc: RunningService) -> None:
    c = _create(svc, datetime.now(UTC), loan="L-3")
    stub = _stub(svc)
    md = bearer(svc.tokens.user("E1", "/hq/b1/t1", REP))
    assert stub.VerifyCommitment(pb.VerifyCommitmentRequest(name=c.name), metadata=md).valid
    # Tamper with the stored terms behind the service's back: the check must fail.
    db: Database = svc.host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        raw = s.execute(select(storage.commitments.c.terms_json)).scalar_one()
        s.execute(update(storage.commitments).values(terms_json=raw.replace('"points":20', '"points":200')))
    resp = stub.VerifyCommitment(pb.VerifyCommitmentRequest(name=c.name), metadata=md)
    assert not resp.valid and resp.issued_hash != resp.computed_hash


def test_extension_without_approver_role_is_denied(svc: RunningService) -> None:
    c = _create(svc, datetime.now(UTC), loan="L-4")
    req = pb.ExtendCommitmentRequest(
        name=c.name, new_deadline=ts(datetime.now(UTC) + timedelta(days=20)), reason="client abroad"
    )
    with pytest.raises(grpc.RpcError) as err:
        _stub(svc).ExtendCommitment(req, metadata=bearer(svc.tokens.user("E1", "/hq/b1/t1", REP)))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "commitments.commitments.extend" in err.value.details()
    lead = bearer(svc.tokens.user("L1", "/hq/b1/t1", LEAD))
    extended = _stub(svc).ExtendCommitment(req, metadata=lead)
    assert len(extended.extensions) == 1 and extended.extensions[0].approver == "employees/L1"
    assert extended.terms_hash == c.terms_hash  # the promise itself did not change


def test_bad_input_names_the_field(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("E1", "/hq/b1/t1", REP))
    with pytest.raises(grpc.RpcError) as err:
        _stub(svc).CreateCommitment(
            pb.CreateCommitmentRequest(
                template_id="nope", employee_id="E1", org_unit="/hq/b1/t1", correlation_value="x"
            ),
            metadata=md,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "template_id" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        _stub(svc).GetCommitment(pb.GetCommitmentRequest(name="bogus"), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "name" in err.value.details()


def _get(svc: RunningService, name: str) -> pb.Commitment:
    return _stub(svc).GetCommitment(pb.GetCommitmentRequest(name=name), metadata=bearer(svc.tokens.admin()))


def _events(svc: RunningService, event_type: str) -> int:
    db: Database = svc.host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        return int(
            s.execute(
                text("SELECT COUNT(DISTINCT event_id) FROM outbox WHERE event_type = :t"), {"t": event_type}
            ).scalar()
        )


def _event_data(svc: RunningService, event_type: str) -> dict:
    from google.protobuf.json_format import MessageToDict

    from covenant.events.v1.event_pb2 import Event

    db: Database = svc.host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        payload = s.execute(
            text("SELECT payload FROM outbox WHERE event_type = :t"), {"t": event_type}
        ).first()[0]
    return MessageToDict(Event.FromString(payload).data)


def test_two_schedulers_on_postgresql_settle_each_deadline_exactly_once(pg_url: str, tmp_path: Path) -> None:
    with running_service(
        "commitments", db_url=pg_url, data_dir=tmp_path, env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"}
    ) as svc:
        start = datetime.now(UTC) - timedelta(days=10)
        for i in range(60):
            _create(svc, start, loan=f"P-{i}", employee="E1")
        later = datetime.now(UTC) + timedelta(days=30)
        # First pass: provisional breaches; second, after the pack's 300 s grace: final ones.
        for at in (later, later + timedelta(seconds=301)):
            schedulers = [
                DeadlineScheduler(
                    CommitmentsService(Database(pg_url), svc.host.ctx.rules, clock=lambda at=at: at), batch=7
                )
                for _ in range(2)
            ]  # type: ignore[union-attr]
            threads = [threading.Thread(target=s.run_once) for s in schedulers]
            for th in threads:
                th.start()
            for th in threads:
                th.join(60)
            assert _events(svc, "commitments.breached") == (60 if at > later else 0)
        db: Database = svc.host.ctx.db  # type: ignore[union-attr]
        with db.session() as s:
            assert (
                s.execute(
                    select(func.count())
                    .select_from(storage.timers)
                    .where(storage.timers.c.fired_at.is_(None))
                ).scalar()
                == 0
            )


def test_service_stopped_over_a_deadline_settles_it_on_restart(sqlite_url: str, tmp_path: Path) -> None:
    tokens = TestTokens()
    with running_service(
        "commitments",
        db_url=sqlite_url,
        data_dir=tmp_path,
        tokens=tokens,
        env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"},
    ) as svc:
        breach_grace(svc, 1)  # the breach is final 1 s after the restarted scheduler sees the deadline
        c = _create(svc, datetime.now(UTC) - timedelta(days=10), loan="R-1")
        assert _get(svc, c.name).state == pb.ACTIVE  # deadline passed while "down": the scheduler never ran
    with running_service(
        "commitments",
        db_url=sqlite_url,
        data_dir=tmp_path,
        tokens=tokens,
        env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.1"},
    ) as svc:
        deadline = time.monotonic() + 10
        while _get(svc, c.name).state == pb.ACTIVE and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _get(svc, c.name).state == pb.BREACHED
        assert _events(svc, "commitments.breached") == 1
