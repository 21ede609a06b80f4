"""How much a read costs PostgreSQL, measured on the real statement: every SELECT a piece of code sends
through SQLAlchemy is also run under ``EXPLAIN (ANALYZE, BUFFERS)`` with the same parameters, and the
pages it touched (shared buffers hit or read) are recorded with its text. A statement whose pages grow
with the table's history rather than with its answer shows here at a realistic table size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from covenant.db.engine import Database
from covenant.db.migrations import migrate

SERVICES = Path(__file__).resolve().parents[2] / "services"


@dataclass(frozen=True)
class Read:
    sql: str
    pages: int
    plan: Any  # EXPLAIN's JSON, for the failure message


@contextmanager
def reads_of(db: Database) -> Iterator[list[Read]]:
    """Yields the list every SELECT sent on ``db`` (PostgreSQL) while inside is appended to."""
    reads: list[Read] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        ((plan,),) = cursor.fetchall()
        top = plan[0]["Plan"]
        reads.append(Read(statement, top["Shared Hit Blocks"] + top["Shared Read Blocks"], plan))

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        yield reads
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)


def costliest(reads: list[Read]) -> Read:
    """The read that touched the most pages."""
    return max(reads, key=lambda r: r.pages)


@contextmanager
def migrated(url: str, service: str) -> Iterator[Database]:
    """``service``'s database at ``url`` (an empty PostgreSQL database), migrated."""
    migrate(url, service, SERVICES / service / "migrations")
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def fill(db: Database, *statements: str) -> None:
    """Run ``statements`` (history: ``INSERT ... SELECT ... FROM generate_series``), then ANALYZE."""
    with db.session() as s:
        for sql in statements:
            s.execute(text(sql))
    with db.engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
