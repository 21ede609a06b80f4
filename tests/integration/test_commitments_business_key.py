"""Business keys make commitment effects idempotent (real gRPC, SQLite and PostgreSQL).

Observed on main: five identical promises on one loan id were each paid when the loan was disbursed once.
A promise is one template about one correlated fact (``Terms.business_key``); while one commitment holds
it, another is refused with ALREADY_EXISTS (whoever asks, however concurrently), so one disbursal settles
one commitment and pays once. Cancelling a promise frees it; a retry with the same request id is not a
duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.support.directory import employee, publish_employees

TEAM = "/hq/b1/t1"
REP = {"commitments.commitments.create": "self", "commitments.commitments.read": "self"}
LEAD = {
    "commitments.commitments.create": "team",
    "commitments.commitments.read": "team",
    "commitments.commitments.cancel": "team",
}


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service(
        "commitments", db_url=db_url, data_dir=tmp_path, env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"}
    ) as s:
        # the employees promises are made about, as identity describes them
        publish_employees(s, [employee(e, TEAM, "credit_officer", manager_id="L1") for e in ("E1", "E2")])
        yield s


def stub(svc: RunningService) -> commitments_pb2_grpc.CommitmentsServiceStub:
    return commitments_pb2_grpc.CommitmentsServiceStub(svc.channel)


def promise(loan: str, request_id: str, employee: str = "E1") -> pb.CreateCommitmentRequest:
    created = Timestamp()
    created.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
    return pb.CreateCommitmentRequest(
        template_id="loan_disbursal_3d",
        employee_id=employee,
        org_unit=TEAM,
        client_id="C-9",
        correlation_value=loan,
        created_at=created,
        request_id=request_id,
    )


def create(svc: RunningService, req: pb.CreateCommitmentRequest, perms: dict = REP) -> pb.Commitment:
    md = bearer(svc.tokens.user(req.employee_id if perms is REP else "L1", TEAM, perms))
    return stub(svc).CreateCommitment(req, metadata=md, timeout=30)


def disburse(svc: RunningService, loan: str, event_id: str) -> list[pb.Commitment]:
    system = bearer(svc.tokens.service("loan-origination", {"commitments.fulfilments.write": "all"}))
    req = pb.RecordFulfilmentRequest(
        event_type="loan.disbursed", correlation_key="loan_id", correlation_value=loan, event_id=event_id
    )
    return list(stub(svc).RecordFulfilment(req, metadata=system, timeout=30).settled)


def outbox_count(svc: RunningService, event_type: str) -> int:
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        return int(
            s.execute(
                text("SELECT COUNT(DISTINCT event_id) FROM outbox WHERE event_type = :t"), {"t": event_type}
            ).scalar_one()
        )


def test_five_identical_promises_on_one_loan_are_one_promise_paid_once(svc: RunningService) -> None:
    first = create(svc, promise("L-9", "req-1"))
    for i in range(2, 6):
        with pytest.raises(grpc.RpcError) as err:
            create(svc, promise("L-9", f"req-{i}"))
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert first.name in (err.value.details() or "") and "L-9" in (err.value.details() or "")
    # Someone else making the same promise about the same loan is the same promise too.
    with pytest.raises(grpc.RpcError) as err:
        create(svc, promise("L-9", "req-lead", employee="E2"), LEAD)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert create(svc, promise("L-9", "req-1")).name == first.name  # a retry is not a duplicate

    settled = disburse(svc, "L-9", "los-1")
    assert [c.name for c in settled] == [first.name] and settled[0].state == pb.FULFILLED
    assert disburse(svc, "L-9", "los-1-again") == []  # the same disbursal reported twice pays nothing more
    assert outbox_count(svc, "commitments.fulfilled") == 1
    assert outbox_count(svc, "commitments.created") == 1


def test_a_cancelled_promise_can_be_made_again_and_other_loans_are_other_promises(
    svc: RunningService,
) -> None:
    first = create(svc, promise("L-7", "a-1"))
    other = create(svc, promise("L-8", "b-1"))
    assert other.name != first.name
    lead = bearer(svc.tokens.user("L1", TEAM, LEAD))
    cancel = pb.CancelCommitmentRequest(name=first.name, reason="client withdrew")
    stub(svc).CancelCommitment(cancel, metadata=lead)
    again = create(svc, promise("L-7", "a-2"))
    assert again.name != first.name and again.state == pb.ACTIVE
    assert [c.name for c in disburse(svc, "L-7", "los-7")] == [again.name]


def test_a_covenant_service_account_cannot_report_a_disbursal(svc: RunningService) -> None:
    c = create(svc, promise("L-6", "d-1"))
    attendance = bearer(svc.tokens.service("attendance", {"commitments.fulfilments.write": "all"}))
    req = pb.RecordFulfilmentRequest(
        event_type="loan.disbursed", correlation_key="loan_id", correlation_value="L-6", event_id="forged"
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).RecordFulfilment(req, metadata=attendance, timeout=30)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "commitments.fulfilments.write" in (err.value.details() or "")
    assert [s.name for s in disburse(svc, "L-6", "los-6")] == [c.name]  # loan origination's own account may


def test_concurrent_identical_promises_create_exactly_one(svc: RunningService) -> None:
    gate = threading.Barrier(5)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        gate.wait()
        try:
            create(svc, promise("L-5", f"c-{i}"))
            outcomes.append("created")
        except grpc.RpcError as exc:
            outcomes.append(exc.code().name)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ALREADY_EXISTS"] * 4 + ["created"]
    assert len(disburse(svc, "L-5", "los-5")) == 1


def test_a_request_id_reused_for_another_promise_is_refused_and_tells_nothing(svc: RunningService) -> None:
    """A rep who learns a colleague's request id gets INVALID_ARGUMENT naming it, not the colleague's
    commitment, and nothing is recorded; the colleague's own retry still answers the original."""
    theirs = create(svc, promise("L-4", "shared-1", employee="E1"))
    for req in (
        promise("L-4b", "shared-1", employee="E2"),  # E2's own promise under E1's id
        promise("L-4c", "shared-1", employee="E1"),  # E1's id on another loan
    ):
        with pytest.raises(grpc.RpcError) as err:
            create(svc, req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = err.value.details() or ""
        assert "request_id" in details and theirs.name.rsplit("/", 1)[-1] not in details
    assert create(svc, promise("L-4", "shared-1", employee="E1")).name == theirs.name
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        loans = s.execute(text("SELECT correlation_value FROM commitments ORDER BY 1")).scalars().all()
    assert loans == ["L-4"]
    assert outbox_count(svc, "commitments.created") == 1
