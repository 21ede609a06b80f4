"""Points ledger writer: the outbox envelopes it builds in bulk are those ``new_event`` would build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from covenant.db.outbox import Outbox, new_event
from services.points.ledger import EVENT_TYPES, LedgerWriter


def _entry(at: datetime, **over: object) -> dict[str, object]:
    e: dict[str, object] = {
        "id": 123_456_789,
        "employee_id": "E1001",
        "org_unit": "/hq/branch-1/team-3",
        "points": 20,
        "kind": "award",
        "reason": "loan completed (capped: 20 of 30) ü",
        "source_event_id": "ev-1",
        "rule_id": "loan-completed",
        "pack_id": "points-default",
        "pack_version": "3",
        "occurred_at": at,
    }
    e.update(over)
    return e


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 2, 3, 4, 5, 123456, tzinfo=UTC),
        datetime(2026, 11, 2, 3, 4, 5, 7, tzinfo=timezone(timedelta(hours=8))),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("over", [{}, {"kind": "reversal", "points": -20, "pack_id": "", "pack_version": ""}])
def test_bulk_envelopes_match_new_event(at: datetime, over: dict[str, object]) -> None:
    e = _entry(at, **over)
    expected = new_event(
        EVENT_TYPES[str(e["kind"])],
        source="points",
        subject=f"employees/{e['employee_id']}",
        org_unit=str(e["org_unit"]),
        occurred_at=at,
        data={
            k: e[k]
            for k in (
                "employee_id",
                "points",
                "kind",
                "reason",
                "source_event_id",
                "rule_id",
                "pack_id",
                "pack_version",
            )
        }
        | {"entry_id": e["id"]},
        idempotency_key=f"points.ledger:{e['id']}",
    )
    (got,) = LedgerWriter(Outbox("points"), "Asia/Shanghai")._events([e])
    assert got.id and got.id != expected.id
    expected.id = got.id
    assert got == expected


def test_entries_that_move_no_points_have_no_envelope() -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    got = LedgerWriter(Outbox("points"), "Asia/Shanghai")._events([_entry(at, points=0), _entry(at)])
    assert len(got) == 1
