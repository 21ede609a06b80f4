"""A watchlist load may name up to 100,000 entries: looking up which exist stays under the databases'
bound-parameter limits (65,535 on PostgreSQL, 32,766 on SQLite) instead of failing as INTERNAL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.db.outbox import Outbox
from services.compliance import storage

MIGRATIONS = Path(storage.__file__).parent / "migrations"


def test_seventy_thousand_ids_are_looked_up_in_one_call(db_url: str) -> None:
    migrate(db_url, "compliance", MIGRATIONS)
    db = Database(db_url)
    try:
        with db.session() as s:
            store = storage.SqlComplianceStore(s, Outbox("compliance"), AuditLog("compliance"))
            now = datetime.now(UTC)
            rows = [
                {"id": f"W{i}", "list_name": "sanctions", "name": f"N{i}", "loaded_at": now} for i in range(3)
            ]
            store.add_watchlist([{**r, **_defaults(r)} for r in rows])
            ids = [f"W{i}" for i in range(70_000)]
            assert store.watchlist_ids(ids) == {"W0", "W1", "W2"}
    finally:
        db.dispose()


def _defaults(row: dict[str, object]) -> dict[str, object]:
    """The other non-null columns of a watchlist entry."""
    out: dict[str, object] = {}
    for c in storage.watchlist.c:
        if c.name not in row and not c.nullable and c.default is None and c.server_default is None:
            out[c.name] = "" if c.type.python_type is str else 0
    return out
