"""Points and scoring apply a delivered batch of attendance events as one unit (one pack snapshot, one
transaction) with the same effects as event by event: caps hold inside a batch, an event repeated in the
batch or redelivered counts once (real gRPC, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from covenant.db.outbox import new_event
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
GRANTS = {"events.deliveries.write": "all"}


def visits(emp: str, n: int) -> list[event_pb2.Event]:
    at = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return [
        new_event(
            "attendance.visit_verified",
            source="attendance",
            subject=f"employees/{emp}",
            org_unit=TEAM,
            data={"employee_id": emp, "client_id": f"C{k}", "visit_id": f"visit_{emp}_{k}"},
            idempotency_key=f"attendance.visit_verified:{emp}:visit_{emp}_{k}",
            occurred_at=at + timedelta(minutes=k),
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
