"""Errors and durations of ``covenant.db.bulk``'s psycopg statements (``pg_execute``, ``pipeline``)
reach callers as those of SQLAlchemy's statements do: SQLAlchemy exception classes, PostgreSQL's DETAIL
withheld, a lost connection invalidated and transient, each statement timed in
``db.client.operation.duration``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from covenant.db import bulk
from covenant.db.engine import Database
from covenant.db.transient import UNAVAILABLE, transient_code
from covenant.grpc.validation import _fits_columns
from covenant.telemetry import instrument
from covenant.telemetry import metrics as m

PHONE = "13812345678"

meta = MetaData()
things = Table(
    "bulk_things",
    meta,
    Column("id", BigInteger, primary_key=True),
    Column("phone", String(11), nullable=False, unique=True),
    Column("small", Integer, nullable=False, server_default="0"),
)


def _open(url: str) -> Iterator[Database]:
    db = Database(url)
    meta.create_all(db.engine)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    yield from _open(pg_url)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    yield from _open(db_url)


def _count(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count()).select_from(things)).scalar_one())


def _raised_inside(db: Database, work: Any) -> tuple[BaseException, BaseException]:
    """Run ``work(session)`` in a unit of work that it fails: (what it raised, what left the unit)."""
    inner: list[BaseException] = []
    with pytest.raises(Exception) as outer, db.session() as s:
        try:
            work(s)
        except Exception as exc:
            inner.append(exc)
            raise
    assert inner, "the work did not fail"
    return inner[0], outer.value


def _terminate_own_backend(db: Database, s: Any) -> None:
    pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.engine.connect() as other:  # another pooled connection; waits until the backend is gone
        assert other.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()


# -- data errors ------------------------------------------------------------------------------------


def test_value_too_long_through_insert_rows_is_sqlalchemy_data_error_and_rolls_back(pg: Database) -> None:
    def work(s: Any) -> None:
        bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE}])
        bulk.insert_rows(s, things, [{"id": 2, "phone": PHONE + "9" * 20}])

    inner, outer = _raised_inside(pg, work)
    assert isinstance(inner, DataError)
    assert outer is inner
    assert _count(pg) == 0  # the first row went with the rest of the unit of work


def test_number_out_of_range_through_update_rows_is_data_error(pg: Database) -> None:
    with pg.session() as s:
        bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE}])
    inner, _ = _raised_inside(pg, lambda s: bulk.update_rows(s, things, ["id"], [{"id": 1, "small": 2**40}]))
    assert isinstance(inner, DataError)
    assert "out of range" in str(inner)


def test_value_too_long_in_a_pipeline_is_data_error_and_rolls_back(pg: Database) -> None:
    def at_the_end(s: Any) -> None:
        with bulk.pipeline(s):
            bulk.insert_columns(s, things, {"id": [1], "phone": [PHONE]})
            bulk.insert_columns(s, things, {"id": [2], "phone": [PHONE * 3]})

    def before_the_next(s: Any) -> None:  # the failure shows when the next statement's results are read
        with bulk.pipeline(s):
            bulk.insert_columns(s, things, {"id": [3], "phone": [PHONE * 3]})
            bulk.insert_columns(s, things, {"id": [4], "phone": ["1"]})
            bulk.lock_rows(s, things, ["id"], [(4,)])

    for work in (at_the_end, before_the_next):
        inner, outer = _raised_inside(pg, work)
        assert isinstance(inner, DataError), work.__name__
        assert outer is inner
    assert _count(pg) == 0


def test_data_error_from_bulk_is_invalid_argument_at_the_chassis(pg: Database) -> None:
    """The gRPC chassis's last net (``_fits_columns``) turns it into INVALID_ARGUMENT. No service RPC gets an
    over-long value this far: protovalidate's bounds match the columns, so this runs the net directly."""

    class Aborted(Exception):
        pass

    class Context:
        status: Any = None

        def abort_with_status(self, status: Any) -> None:
            self.status = status
            raise Aborted

    context = Context()
    with pytest.raises(Aborted), _fits_columns(context), pg.session() as s:  # type: ignore[arg-type]
        bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE * 2}])
    assert context.status.code == grpc.StatusCode.INVALID_ARGUMENT


# -- constraint violations: DETAIL withheld ---------------------------------------------------------


def test_unique_violation_is_integrity_error_without_the_row_values(pg: Database) -> None:
    with pg.session() as s:
        bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE}])

    def plain(s: Any) -> None:
        bulk.insert_rows(s, things, [{"id": 2, "phone": PHONE}])

    def returning(s: Any) -> None:
        bulk.insert_rows(s, things, [{"id": 2, "phone": PHONE}], returning=["id"])

    def pipelined(s: Any) -> None:
        with bulk.pipeline(s):
            bulk.insert_columns(s, things, {"id": [2], "phone": [PHONE]})

    for work in (plain, returning, pipelined):
        inner, outer = _raised_inside(pg, work)
        assert isinstance(inner, IntegrityError), work.__name__
        assert outer is inner
        assert PHONE not in str(inner), work.__name__
        assert "detail withheld" in str(inner)
        assert inner.orig.sqlstate == "23505"  # type: ignore[union-attr]
    assert _count(pg) == 1


# -- a lost connection ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["statement", "rows", "pipeline"])
def test_terminated_backend_is_invalidated_and_transient(pg: Database, where: str) -> None:
    invalidated: list[bool] = []

    def work(s: Any) -> None:
        conn = s.connection()
        _terminate_own_backend(pg, s)
        try:
            if where == "statement":
                bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE}])
            elif where == "rows":
                bulk.lock_rows(s, things, ["id"], [(1,)])
            else:
                with bulk.pipeline(s):
                    bulk.insert_columns(s, things, {"id": [1], "phone": [PHONE]})
        finally:
            invalidated.append(conn.invalidated)  # before the unit of work's rollback

    inner, outer = _raised_inside(pg, work)
    assert isinstance(inner, OperationalError)
    assert inner.connection_invalidated
    assert invalidated == [True]
    assert outer is inner
    assert transient_code(inner) == UNAVAILABLE
    assert _count(pg) == 0  # the pool hands out a live connection next


# -- statement durations ----------------------------------------------------------------------------


def test_bulk_statements_are_timed_like_the_others(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[float, dict[str, str]]] = []

    class Histogram:
        def record(self, value: float, attributes: dict[str, str]) -> None:
            recorded.append((value, dict(attributes)))

    monkeypatch.setattr(m, "DB_OPERATION_DURATION", Histogram())
    remove = instrument.instrument_database(pg, "probe")
    try:
        with pg.session() as s:
            bulk.insert_rows(s, things, [{"id": 1, "phone": PHONE}])
            bulk.insert_rows(s, things, [{"id": 2, "phone": "2"}])
            assert len(bulk.next_ids(s, things, 2) or []) == 2
            with bulk.pipeline(s):
                bulk.update_rows(s, things, ["id"], [{"id": 1, "small": 1}])
                bulk.update_rows(s, things, ["id"], [{"id": 2, "small": 2}])
                assert len(bulk.lock_rows(s, things, ["id"], [(1,), (2,)])) == 2
                bulk.insert_columns(s, things, {"id": [3], "phone": ["3"]})
    finally:
        remove()
    ops = [a["db.operation.name"] for _, a in recorded]
    assert ops.count("INSERT") == 3
    assert ops.count("UPDATE") == 2
    assert ops.count("SELECT") == 2
    assert all(a["pool.name"] == "probe" and a["db.system"] == "postgresql" for _, a in recorded)
    assert all(v >= 0 for v, _ in recorded)


# -- RETURNING: column names or Columns, on both dialects -------------------------------------------


def test_returning_takes_column_names_or_columns(db: Database) -> None:
    with db.session() as s:
        assert bulk.insert_rows(s, things, [{"id": 1, "phone": "1"}], returning=["id"]) == [1]
        rows = bulk.insert_columns(
            s, things, {"id": [2, 3], "phone": ["2", "3"]}, returning=[things.c.id, "phone"], whole_rows=True
        )
        assert [(r.id, r.phone) for r in rows] == [(2, "2"), (3, "3")]
        again = [{"id": 1, "phone": "9"}]
        assert bulk.insert_rows(s, things, again, conflict="ON CONFLICT DO NOTHING", returning=["id"]) == []
        with pytest.raises(TypeError):
            bulk.insert_rows(s, things, [{"id": 4, "phone": "4"}], returning="id")
        with pytest.raises(KeyError):
            bulk.insert_rows(s, things, [{"id": 4, "phone": "4"}], returning=["nope"])
