"""``add_on_commit``: a transaction's additions reach their counters once it commits, summed per counter and
attributes; a rolled-back transaction's never do, not even when the session commits later (real SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from covenant.db.engine import Database
from covenant.telemetry.metrics import add_on_commit


class Counter:
    def __init__(self) -> None:
        self.adds: list[tuple[float, dict[str, Any]]] = []

    def add(self, value: float, attributes: dict[str, Any]) -> None:
        self.adds.append((value, attributes))


def test_additions_are_summed_and_added_at_commit_only(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    checks, points = Counter(), Counter()
    with db.session() as s:
        for result in ("verified", "verified", "mismatched", "verified"):
            add_on_commit(s, checks, 1, {"result": result})
        add_on_commit(s, points, 5, {"kind": "award"})
        add_on_commit(s, points, 0, {"kind": "reversal"})  # nothing to add
        s.execute(text("SELECT 1"))
        assert checks.adds == [] and points.adds == []  # not before the commit
    assert sorted(checks.adds, key=lambda a: a[1]["result"]) == [
        (1, {"result": "mismatched"}),
        (3, {"result": "verified"}),
    ]
    assert points.adds == [(5, {"kind": "award"})]
    db.dispose()


def test_a_rolled_back_transactions_additions_never_count(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    checks = Counter()
    with Session(db.engine) as s:  # one session, two transactions
        with s.begin():
            add_on_commit(s, checks, 1, {"result": "verified"})
            s.execute(text("SELECT 1"))
            s.rollback()
        with s.begin():
            add_on_commit(s, checks, 2, {"result": "mismatched"})
            s.execute(text("SELECT 1"))
    assert checks.adds == [(2, {"result": "mismatched"})]
    db.dispose()
