"""Count the SQL statements a piece of code sends: through SQLAlchemy, and the set-based statements that
``covenant.db.bulk`` sends on PostgreSQL straight through psycopg (SQLAlchemy's events do not see those)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from covenant.db import bulk
from covenant.db.engine import Database


@contextmanager
def statements_of(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Yields the list that every statement sent on ``db`` while inside is appended to (its SQL text)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    real = bulk.record_statement

    def timed(engine: Any, sql: str, *times: Any) -> None:  # every covenant.db.bulk statement is timed
        if engine is db.engine:
            sent.append(sql)
        real(engine, sql, *times)

    event.listen(db.engine, "before_cursor_execute", record)
    monkeypatch.setattr(bulk, "record_statement", timed)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        monkeypatch.setattr(bulk, "record_statement", real)
