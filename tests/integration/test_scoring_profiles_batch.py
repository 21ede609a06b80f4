"""Scoring keeps one profile per employee from a delivered batch with one read and one insert: new
employees are created, a profile moves only where the batch names another org unit or role, and a profile
another batch created meanwhile is moved like any other (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from covenant.db.engine import Database
from covenant.db.migrations import migrate
from services.scoring import storage
from tests.support.statements import statements_of

MIGRATIONS = Path(storage.__file__).parent / "migrations"


def _profiles(db: Database) -> dict[str, tuple[str, str]]:
    with db.session() as s:
        return {r.employee_id: (r.org_unit, r.role) for r in s.execute(select(storage.profiles))}


def test_a_batch_creates_and_moves_profiles_in_a_few_statements(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(db_url, "scoring", MIGRATIONS)
    db = Database(db_url)
    try:
        with db.session() as s:
            storage.upsert_profiles(s, {"E1": ("/hq/a", "sales_rep"), "E2": ("/hq/a", "")})
        assert _profiles(db) == {"E1": ("/hq/a", "sales_rep"), "E2": ("/hq/a", "")}

        wanted = {f"N{i}": ("/hq/b", "collector") for i in range(300)}
        wanted |= {"E1": ("/hq/b", ""), "E2": ("", "collector")}
        with statements_of(db, monkeypatch) as statements, db.session() as s:
            storage.upsert_profiles(s, wanted)
        got = _profiles(db)
        assert got["E1"] == ("/hq/b", "sales_rep")  # an empty role keeps the one it had
        assert got["E2"] == ("/hq/a", "collector")  # an empty org unit keeps the one it had
        assert all(got[f"N{i}"] == ("/hq/b", "collector") for i in range(300))
        writes = [q for q in statements if q.lstrip().upper().startswith(("INSERT", "UPDATE"))]
        assert len(writes) == 1 + 2, writes  # one insert for the 300 new, one update per moved profile
    finally:
        db.dispose()


def test_a_profile_created_by_another_batch_meanwhile_is_moved_not_duplicated(db_url: str) -> None:
    migrate(db_url, "scoring", MIGRATIONS)
    db = Database(db_url)
    real_among = storage.among_parts
    try:
        with db.session() as other:
            storage.upsert_profiles(other, {"E9": ("/hq/other", "sales_rep")})

        def blind(session, column, ids):  # this batch read before the other batch's row was there
            storage.among_parts = real_among
            return iter(())

        storage.among_parts = blind
        with db.session() as s:
            storage.upsert_profiles(s, {"E9": ("/hq/mine", ""), "E10": ("/hq/mine", "collector")})
        assert _profiles(db) == {"E9": ("/hq/mine", "sales_rep"), "E10": ("/hq/mine", "collector")}
    finally:
        storage.among_parts = real_among
        db.dispose()
