"""Points and scoring apply a delivered batch of attendance events as one unit (one pack snapshot, one
transaction) with the same effects as event by event: caps hold inside a batch, an event repeated in the
batch or redelivered counts once (real gRPC, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from covenant.db.outbox import new_event
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.timestamps import as_utc
from services.compliance.storage import client_activity
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
GRANTS = {"events.deliveries.write": "all"}


def visits(
    emp: str, n: int, client: str = "", every: timedelta = timedelta(minutes=1)
) -> list[event_pb2.Event]:
    """``n`` verified visits of ``emp`` yesterday, ``every`` apart, to ``client`` (else each to another)."""
    at = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return [
        new_event(
            "attendance.visit_verified",
            source="attendance",
            subject=f"employees/{emp}",
            org_unit=TEAM,
            data={"employee_id": emp, "client_id": client or f"C{k}", "visit_id": f"visit_{emp}_{k}"},
            idempotency_key=f"attendance.visit_verified:{emp}:visit_{emp}_{k}",
            occurred_at=at + every * k,
        )
        for k in range(n)
    ]


def deliver(svc: RunningService, events: list[event_pb2.Event]) -> None:
    stub = event_pb2_grpc.EventSinkServiceStub(svc.channel)
    token = svc.tokens.service("attendance", GRANTS)
    stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=events), metadata=bearer(token), timeout=30)


@pytest.fixture(params=["points", "scoring"])
def consumer(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service(request.param, db_url=db_url, data_dir=tmp_path) as s:
        if request.param == "points":
            publish_employees(s, [employee(e, TEAM, "sales_rep") for e in ("E1", "E2")])
        yield s


def effects(svc: RunningService, emp: str) -> list[tuple[str, int]]:
    """(source event id, amount) per effect of ``emp``'s events, in event order."""
    sql = (
        "SELECT source_event_id, points FROM points_ledger WHERE employee_id = :e ORDER BY id"
        if svc.settings.service == "points"
        else "SELECT source_ref, 1 FROM metric_values WHERE employee_id = :e ORDER BY id"
    )
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        return [(str(a), int(b)) for a, b in s.execute(text(sql), {"e": emp}).all()]


def test_a_batch_has_the_effects_of_its_events_one_by_one(consumer: RunningService) -> None:
    one_by_one, batch = visits("E1", 7), visits("E2", 7)
    for e in one_by_one:
        deliver(consumer, [e])
    deliver(consumer, [*batch, batch[2]])  # an event twice in one batch
    deliver(consumer, batch)  # and the whole batch again
    single = effects(consumer, "E1")
    batched = effects(consumer, "E2")
    assert len(single) == len({i for i, _ in single}) > 0
    index = {e.id: k for k, e in enumerate(batch)}
    assert [(index[i], p) for i, p in batched] == [
        ({e.id: k for k, e in enumerate(one_by_one)}[i], p) for i, p in single
    ]
    if consumer.settings.service == "points":
        assert sum(p for _, p in batched) == 10  # 2 a visit, capped at 10 a day inside one batch too


def test_compliance_judges_a_batch_of_visits_as_it_judges_them_one_by_one(
    db_url: str, tmp_path: Path
) -> None:
    """Contacts, follow-ups and the repeated-high-risk-contact case of a batch delivered out of order and
    twice are those of the same visits delivered one at a time in order."""
    with running_service("compliance", db_url=db_url, data_dir=tmp_path) as svc:
        db = svc.host.ctx.db  # type: ignore[union-attr]
        with db.session() as s:
            s.execute(
                text(
                    "INSERT INTO compliance_client_risk (client_id, high_risk, reason, updated_at) "
                    "VALUES ('RISKY', 1, 'watchlist', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
            for emp in ("E1", "E2"):
                s.execute(
                    text(
                        "INSERT INTO compliance_client_activity (employee_id, client_id, org_unit, open, "
                        "opened_at) VALUES (:e, 'RISKY', :u, 1, :at)"
                    ),
                    {"e": emp, "u": TEAM, "at": datetime.now(UTC) - timedelta(days=9)},
                )
        one_by_one, batch = (visits(e, 5, "RISKY", timedelta(hours=1)) for e in ("E1", "E2"))
        for e in one_by_one:
            deliver(svc, [e])
        reversed_batch = batch[::-1]
        deliver(svc, [*reversed_batch, batch[1]])  # arrival order is not fact order; one event twice
        deliver(svc, batch)  # and the whole batch again

        def outcome(emp: str) -> tuple[int, object, list[tuple[str, int, int]]]:
            with db.session() as s:
                contacts = s.execute(
                    text("SELECT count(*) FROM compliance_client_contacts WHERE employee_id = :e"), {"e": emp}
                ).scalar()
                c = client_activity.c  # the table, so that SQLite gives back a datetime
                follow_up = s.execute(select(c.last_follow_up_at).where(c.employee_id == emp)).scalar()
                cases = s.execute(
                    text(
                        "SELECT rule_id, occurrences, evidence_json FROM compliance_cases "
                        "WHERE employee_id = :e"
                    ),
                    {"e": emp},
                ).all()
            found = []
            for rule, occurrences, evidence in cases:
                (item,) = json.loads(evidence)["items"]
                found.append((rule, occurrences, item["contacts_in_window"]))
            return int(contacts or 0), follow_up, found

        single, batched = outcome("E1"), outcome("E2")
        assert single[0] == batched[0] == 5
        assert single[2] == batched[2] == [("repeated-high-risk-contact", 1, 3)]
        latest = [as_utc(v[-1].occurred_at.ToDatetime()) for v in (one_by_one, batch)]
        assert [as_utc(single[1]), as_utc(batched[1])] == latest  # the latest visit, whatever came last
