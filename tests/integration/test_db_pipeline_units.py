"""A unit of work sent in psycopg pipelines (``covenant.db.bulk.pipeline`` with ``begin``/``commit``,
``pg_query``): queries started in a block answer after it, in order; the BEGIN and the COMMIT travel with
their blocks yet the unit stays one transaction, all or nothing; the commit guard still refuses; and the
connection goes back to the pool in transaction mode. SQLite runs the same code as plain statements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.exc import IntegrityError

from covenant.db import bulk
from covenant.db.engine import Database, commit_guard
from covenant.errors import Unavailable

meta = MetaData()
notes = Table(
    "pipeline_notes",
    meta,
    Column("id", BigInteger, primary_key=True),
    Column("body", String(20), nullable=False),
)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    meta.create_all(db.engine)
    try:
        yield db
    finally:
        db.dispose()


def _bodies(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.execute(select(notes.c.body).order_by(notes.c.id)).scalars())


def _insert(s: Any, *ids: int) -> None:
    bulk.insert_columns(s, notes, {"id": list(ids), "body": [f"n{i}" for i in ids]})


def test_queries_started_in_a_block_answer_after_it_in_order(db: Database) -> None:
    with db.session() as s:
        with bulk.pipeline(s, begin=True):
            made = bulk.insert_columns_later(
                s, notes, {"id": [1, 2], "body": ["a", "b"]}, returning=["id"], whole_rows=True
            )
            count = (
                bulk.pg_query(s, "SELECT COUNT(*) FROM pipeline_notes", [])
                if bulk.is_pg(s)
                else (lambda: [(s.execute(select(func.count()).select_from(notes)).scalar_one(),)])
            )
        assert [r.id for r in made()] == [1, 2]
        assert count() == [(2,)]  # the server ran the count after the insert
        with bulk.pipeline(s, commit=True):
            _insert(s, 3)
    assert _bodies(db) == ["a", "b", "n3"]


def test_a_unit_begun_and_committed_in_pipelines_is_one_transaction(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as s:
        with bulk.pipeline(s, begin=True):
            _insert(s, 1)
        _insert(s, 2)  # between the blocks, as any statement of the unit
        with bulk.pipeline(s, commit=True):
            _insert(s, 3)
            _insert(s, 1)  # fails at the block's end, with the COMMIT queued behind it
    assert _bodies(db) == []
    with db.session() as s:
        with bulk.pipeline(s, begin=True):
            _insert(s, 1)
        with bulk.pipeline(s, commit=True):
            _insert(s, 2)
    assert _bodies(db) == ["n1", "n2"]


def test_a_unit_that_ends_without_a_commit_block_commits_or_rolls_back_as_any(db: Database) -> None:
    with db.session() as s, bulk.pipeline(s, begin=True):
        _insert(s, 1)
    with pytest.raises(RuntimeError), db.session() as s:
        with bulk.pipeline(s, begin=True):
            _insert(s, 2)
        raise RuntimeError("the unit fails after its first block")
    assert _bodies(db) == ["n1"]


def test_the_commit_guard_refuses_the_commit_of_a_block(db: Database) -> None:
    token = commit_guard.set(lambda: "the client cancelled the call")
    try:
        with pytest.raises(Unavailable, match="nothing was committed"), db.session() as s:
            with bulk.pipeline(s, begin=True):
                _insert(s, 1)
            with bulk.pipeline(s, commit=True):
                _insert(s, 2)
    finally:
        commit_guard.reset(token)
    assert _bodies(db) == []


def test_connections_go_back_to_the_pool_in_transaction_mode(pg_url: str) -> None:
    """A unit that sent its own BEGIN ran in psycopg's autocommit mode: whichever way it ended, the next
    unit on the connection is a transaction again (its failure leaves nothing behind)."""
    db = Database(pg_url, pool_size=1)
    meta.create_all(db.engine)
    try:
        with db.session() as s:  # ended by its commit block
            with bulk.pipeline(s, begin=True):
                _insert(s, 1)
            with bulk.pipeline(s, commit=True):
                _insert(s, 2)
        with pytest.raises(RuntimeError), db.session() as s:  # ended by an error after its first block
            with bulk.pipeline(s, begin=True):
                _insert(s, 3)
            raise RuntimeError("fails")
        for _ in range(2):
            with db.engine.connect() as c:
                assert c.connection.driver_connection.autocommit is False
        with pytest.raises(RuntimeError), db.session() as s:  # a plain unit on the same connection
            _insert(s, 4)
            raise RuntimeError("fails")
        assert _bodies(db) == ["n1", "n2"]
    finally:
        db.dispose()
