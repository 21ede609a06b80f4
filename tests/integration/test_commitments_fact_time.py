"""Commitments judged by fact time (issue 22), through real gRPC on SQLite and PostgreSQL.

Observed before: with commitments down across a deadline, a disbursal made three seconds before it but
arriving after the restart ended BREACHED_THEN_FULFILLED: no reward, compliance docked. Now a deadline only
takes a provisional breach for the pack's ``breach_grace_seconds``; an on-time fact arriving in the grace
fulfils, one arriving after the final breach reverses it (``commitments.outcome_reversed``), and points and
scoring apply the reversal. The commitments outbox is delivered to real points and scoring services.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.db.scratch import scratch_database
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, TestTokens, bearer, running_service
from covenant.points.v1 import points_pb2, points_pb2_grpc
from services.commitments.scheduler import DeadlineScheduler
from services.commitments.service import CommitmentsService
from tests.conftest import PG_URL
from tests.support.directory import employee as directory_entry
from tests.support.directory import publish_employees
from tests.support.rules import breach_grace

TEAM = "/hq/b1/t1"
REP = {"commitments.commitments.create": "self", "commitments.commitments.read": "self"}
SOURCE_SYSTEM = {"commitments.fulfilments.write": "all"}
DELIVER = {"events.deliveries.write": "all"}
QUIET = {"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"}


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def stub(svc: RunningService) -> commitments_pb2_grpc.CommitmentsServiceStub:
    return commitments_pb2_grpc.CommitmentsServiceStub(svc.channel)


def create(svc: RunningService, loan: str, created: datetime) -> pb.Commitment:
    publish_employees(svc, [directory_entry("E1", TEAM, "credit_officer")])
    return stub(svc).CreateCommitment(
        pb.CreateCommitmentRequest(
            template_id="loan_disbursal_3d",
            employee_id="E1",
            org_unit=TEAM,
            client_id="C-9",
            correlation_value=loan,
            created_at=ts(created),
            request_id=f"req-{loan}",
        ),
        metadata=bearer(svc.tokens.user("E1", TEAM, REP)),
    )


def disbursed(svc: RunningService, loan: str, at: datetime) -> list[pb.Commitment]:
    """The loan system reports the disbursal with the time it happened."""
    req = pb.RecordFulfilmentRequest(
        event_type="loan.disbursed",
        correlation_key="loan_id",
        correlation_value=loan,
        event_id=f"los-{loan}",
        occurred_at=ts(at),
    )
    md = bearer(svc.tokens.service("loan-origination", SOURCE_SYSTEM))
    return list(stub(svc).RecordFulfilment(req, metadata=md).settled)


def get(svc: RunningService, name: str) -> pb.Commitment:
    return stub(svc).GetCommitment(pb.GetCommitmentRequest(name=name), metadata=bearer(svc.tokens.admin()))


def deadline_of(c: pb.Commitment) -> datetime:
    return c.effective_deadline.ToDatetime(tzinfo=UTC)


def outbox(svc: RunningService, destination: str) -> list[event_pb2.Event]:
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        rows = s.execute(
            text("SELECT payload FROM outbox WHERE destination = :d ORDER BY id"), {"d": destination}
        ).scalars()
        return [event_pb2.Event.FromString(p) for p in rows]


def types(svc: RunningService) -> list[str]:
    return [e.type for e in outbox(svc, "points")]


def scheduler_at(svc: RunningService, now: datetime) -> DeadlineScheduler:
    return DeadlineScheduler(CommitmentsService(svc.host.ctx.db, svc.host.ctx.rules, clock=lambda: now))  # type: ignore[union-attr]


@pytest.fixture
def consumers(db_url: str, tmp_path: Path) -> Iterator[tuple[RunningService, RunningService]]:
    """Real points and scoring services, each on a fresh database of the same kind as ``db_url``."""
    with contextlib.ExitStack() as stack:
        if db_url.startswith("sqlite"):
            urls = [f"sqlite:///{tmp_path / 'points.db'}", f"sqlite:///{tmp_path / 'scoring.db'}"]
        else:
            urls = [stack.enter_context(scratch_database(PG_URL)) for _ in range(2)]
        points = stack.enter_context(running_service("points", db_url=urls[0], data_dir=tmp_path / "p"))
        scoring = stack.enter_context(running_service("scoring", db_url=urls[1], data_dir=tmp_path / "s"))
        yield points, scoring


def deliver(commitments: RunningService, consumer: RunningService, name: str) -> None:
    """What the relay does: the commitments outbox rows for ``name``, with commitments' own account."""
    events = outbox(commitments, name)
    token = consumer.tokens.service("commitments", DELIVER)
    event_pb2_grpc.EventSinkServiceStub(consumer.channel).DeliverEvents(
        event_pb2.DeliverEventsRequest(events=events), metadata=bearer(token), timeout=30
    )


def ledger(points: RunningService) -> list[tuple[int, str, str]]:
    md = bearer(points.tokens.user("E1", TEAM, {"points.ledger.read": "self"}))
    entries = (
        points_pb2_grpc.PointsServiceStub(points.channel)
        .ListLedgerEntries(points_pb2.ListLedgerEntriesRequest(employee_id="E1"), metadata=md)
        .entries
    )
    return sorted((e.points, e.kind, e.rule_id) for e in entries)


def compliance_moves(scoring: RunningService) -> list[tuple[str, float]]:
    with scoring.host.ctx.db.session() as s:  # type: ignore[union-attr]
        rows = s.execute(
            text("SELECT rule_id, value FROM metric_values WHERE employee_id = 'E1' AND metric = :m"),
            {"m": "compliance"},
        ).all()
    return sorted((r.rule_id, float(r.value)) for r in rows)


def test_disbursal_before_the_deadline_arriving_after_an_outage_is_fulfilled_paid_and_not_docked(
    db_url: str, tmp_path: Path, consumers: tuple[RunningService, RunningService]
) -> None:
    tokens = TestTokens()
    with running_service("commitments", db_url=db_url, data_dir=tmp_path, tokens=tokens, env=QUIET) as svc:
        c = create(svc, "L-1", datetime.now(UTC) - timedelta(days=10))  # due while "down"
    with running_service(
        "commitments",
        db_url=db_url,
        data_dir=tmp_path,
        tokens=tokens,
        env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.05"},
    ) as svc:
        wait_for_provisional_breach(svc, c.name)
        assert get(svc, c.name).state == pb.ACTIVE and "commitments.breached" not in types(svc)
        settled = disbursed(svc, "L-1", deadline_of(c) - timedelta(seconds=3))  # the backlog arrives
        assert [s.state for s in settled] == [pb.FULFILLED]
        time.sleep(0.2)  # a few more scheduler passes change nothing
        assert get(svc, c.name).state == pb.FULFILLED
        assert types(svc) == ["commitments.created", "commitments.fulfilled"]
        points, scoring = consumers
        deliver(svc, points, "points")
        deliver(svc, scoring, "scoring")
    assert ledger(points) == [(20, "award", "commitment-kept")]
    assert compliance_moves(scoring) == [("commitment-score-delta", 2.0)]  # rewarded, never docked


def wait_for_provisional_breach(svc: RunningService, name: str) -> None:
    """Until the restarted scheduler has fired the overdue deadline (re-armed as a ``breach`` timer)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
            kinds = s.execute(
                text("SELECT kind FROM commitment_timers WHERE commitment_id = :c AND fired_at IS NULL"),
                {"c": name.removeprefix("commitments/")},
            ).scalars()
            if list(kinds) == ["breach"]:
                return
        time.sleep(0.05)
    raise AssertionError("the scheduler never took the provisional breach")


def test_without_a_fact_the_breach_becomes_final_after_the_grace(db_url: str, tmp_path: Path) -> None:
    with running_service(
        "commitments", db_url=db_url, data_dir=tmp_path, env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.05"}
    ) as svc:
        breach_grace(svc, 1)
        c = create(svc, "L-2", datetime.now(UTC) - timedelta(days=10))
        wait_for_provisional_breach(svc, c.name)
        assert get(svc, c.name).state == pb.ACTIVE
        started = time.monotonic()
        while get(svc, c.name).state == pb.ACTIVE and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert get(svc, c.name).state == pb.BREACHED
        assert time.monotonic() - started >= 0.5  # it waited for the grace
        assert types(svc) == ["commitments.created", "commitments.breached"]


def test_a_fact_after_the_deadline_arriving_in_the_grace_leaves_the_breach_standing(
    db_url: str, tmp_path: Path
) -> None:
    with running_service("commitments", db_url=db_url, data_dir=tmp_path, env=QUIET) as svc:
        c = create(svc, "L-3", datetime.now(UTC) - timedelta(days=10))
        due = deadline_of(c)
        scheduler_at(svc, due).run_once()  # provisional
        assert get(svc, c.name).state == pb.ACTIVE
        late = disbursed(svc, "L-3", due + timedelta(seconds=3))
        assert [(s.state, s.delay_seconds) for s in late] == [(pb.BREACHED_THEN_FULFILLED, 3)]
        scheduler_at(svc, due + timedelta(hours=1)).run_once()  # the grace is over: nothing left to do
        assert get(svc, c.name).state == pb.BREACHED_THEN_FULFILLED
        assert types(svc) == ["commitments.created", "commitments.late_fulfilled"]


def test_an_on_time_fact_after_the_final_breach_reverses_it_in_points_and_scoring(
    db_url: str, tmp_path: Path, consumers: tuple[RunningService, RunningService]
) -> None:
    points, scoring = consumers
    with running_service("commitments", db_url=db_url, data_dir=tmp_path, env=QUIET) as svc:
        c = create(svc, "L-4", datetime.now(UTC) - timedelta(days=10))
        due = deadline_of(c)
        scheduler_at(svc, due).run_once()
        scheduler_at(svc, due + timedelta(seconds=299)).run_once()  # default grace 300 s: still provisional
        assert get(svc, c.name).state == pb.ACTIVE
        scheduler_at(svc, due + timedelta(seconds=301)).run_once()
        assert get(svc, c.name).state == pb.BREACHED
        deliver(svc, points, "points")
        deliver(svc, scoring, "scoring")
        assert compliance_moves(scoring) == [("commitment-score-delta", -5.0)]  # docked by the breach
        assert ledger(points) == []

        settled = disbursed(svc, "L-4", due - timedelta(seconds=3))  # the disbursal was on time after all
        assert [s.state for s in settled] == [pb.FULFILLED]
        assert get(svc, c.name).state == pb.FULFILLED
        assert types(svc) == ["commitments.created", "commitments.breached", "commitments.outcome_reversed"]
        reversal = outbox(svc, "points")[-1]
        breach = outbox(svc, "points")[1]
        assert reversal.data["reversed_event_id"] == breach.id and reversal.data["reward_points"] == 20
        deliver(svc, points, "points")  # the relay redelivers nothing twice: the inbox deduplicates
        deliver(svc, scoring, "scoring")
        assert disbursed(svc, "L-4", due - timedelta(seconds=3)) == []  # settled once
    assert ledger(points) == [(20, "award", "commitment-kept")]
    assert compliance_moves(scoring) == [
        ("commitment-breach-reversed", 5.0),
        ("commitment-score-delta", -5.0),
        ("commitment-score-delta", 2.0),
    ]
