"""Set-based statements: many rows in one statement, on PostgreSQL and SQLite alike.

On PostgreSQL a batch is one statement over ``unnest`` of one array per column (a short, cached query
text with a handful of parameters, however many rows), sent in psycopg's binary format on the session's own
connection and transaction: dumping a text array literal escapes every element in Python and cost more than
the statement itself. On SQLite rows go through executemany.

Those psycopg statements bypass SQLAlchemy's execution, so their errors are handed to SQLAlchemy's own
handler (``_raise_as_sqlalchemy``) and their durations to ``covenant.telemetry.instrument``: callers meet
the same exceptions (``sqlalchemy.exc.DataError``, DETAIL withheld, disconnects invalidated) and metrics as
for any other statement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row, tuple_row
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Table,
    any_,
    bindparam,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from covenant.db.engine import check_commit_guard
from covenant.telemetry.instrument import record_statement

T = TypeVar("T")
#: The rows of a statement already sent (``pg_query``, ``insert_columns_later``): called after the pipeline.
Rows = Callable[[], list[Any]]


def is_pg(session: Session) -> bool:
    """Whether ``session`` talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's INSERT for ``table``, with ``on_conflict_do_nothing``/``_do_update``."""
    return (pg_insert if is_pg(session) else sqlite_insert)(table)


#: Values per IN list, or rows per statement, where SQLite binds one parameter each (its limit: 32,766).
CHUNK = 1000
_SQLITE_PARAMS = 30_000  # parameters per statement on SQLite, below its limit


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def among_parts(session: Session, column: Any, values: Sequence[Any]) -> Iterator[ColumnElement[bool]]:
    """Conditions that together pick the rows whose ``column`` is one of ``values``: one array parameter on
    PostgreSQL, IN lists of ``CHUNK`` values on SQLite; none for no values."""
    if not values:
        return
    dialect = session.get_bind().dialect.name
    for part in [values] if dialect == "postgresql" else chunks(values):
        yield among(column, part, dialect)


def among(column: Any, values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of ``values``: ``= ANY(array)`` on PostgreSQL (one parameter and a plan that does not
    depend on how many values: binding and planning a 5,000-value IN list costs it ~0.1 s), ``IN (...)``
    elsewhere (keep SQLite lists under its parameter limit)."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def pg_execute(
    session: Session,
    sql: str,
    params: Sequence[Any],
    *,
    fetch: bool = False,
    named: bool = False,
) -> list[Any]:
    """Run ``sql`` (``{0}``, ``{1}``... mark the parameters, arrays or scalars, all sent in binary) on the
    session's connection; with ``fetch`` the rows (as named tuples when ``named``). Without ``fetch``, inside
    ``pipeline`` the statement is only queued: it runs while Python prepares the next one."""
    if fetch:
        return pg_query(session, sql, params, named=named)()
    conn, query, values = _prepared(session, sql, params)
    started = time.perf_counter()
    try:
        conn.connection.driver_connection.cursor().execute(query, values)
    except psycopg.Error as exc:  # in a pipeline, maybe a queued statement's: name none
        _raise_as_sqlalchemy(conn, exc, None if _QUEUED in session.info else sql)
    _timed(session, conn, sql, started)
    return []


def pg_query(session: Session, sql: str, params: Sequence[Any], *, named: bool = False) -> Rows:
    """``pg_execute`` whose rows are asked for later: returns the function that gives them. Inside
    ``pipeline`` the statement is only queued, so the queries of a block travel in one round trip and the
    server runs them in order (a later one sees what an earlier one locked or wrote); ask for the rows after
    the block."""
    conn, query, values = _prepared(session, sql, params)
    started = time.perf_counter()
    cur = conn.connection.driver_connection.cursor(row_factory=namedtuple_row if named else tuple_row)
    try:
        cur.execute(query, values)
    except psycopg.Error as exc:
        cur.close()
        _raise_as_sqlalchemy(conn, exc, None if _QUEUED in session.info else sql)

    def rows() -> list[Any]:
        try:
            got = cur.fetchall()
        except psycopg.Error as exc:
            _raise_as_sqlalchemy(conn, exc, sql)
        finally:
            cur.close()
        record_statement(conn.engine, sql, started, time.perf_counter())
        return got

    return rows


def _prepared(session: Session, sql: str, params: Sequence[Any]) -> tuple[Connection, str, dict[str, Any]]:
    """The session's connection, ``sql`` with psycopg's placeholders, and the parameters by name."""
    conn = session.connection()
    marks = [f"%(p{i}){'b' if _has_value(v) else 's'}" for i, v in enumerate(params)]
    return (
        conn,
        sql.replace("%", "%%").format(*marks),
        {f"p{i}": v for i, v in enumerate(params)},
    )


def _raise_as_sqlalchemy(conn: Connection, exc: psycopg.Error, sql: str | None) -> NoReturn:
    """Raise ``exc`` as SQLAlchemy raises a driver error of a statement it runs, through its own handler
    (``DBAPIError.instance``: ``sqlalchemy.exc.DataError`` and the like; the engine's ``handle_error``
    listeners, which withhold PostgreSQL's DETAIL; on a disconnect ``connection_invalidated`` and the
    connection invalidated in the pool), so ``covenant.db.transient`` and the gRPC chassis treat it alike.
    A private SQLAlchemy method: pyproject pins the version."""
    conn._handle_dbapi_exception(exc, sql, None, None, None)


def _has_value(param: Any) -> bool:
    """Whether psycopg can tell the type of ``param`` (binary format needs it; NULLs go as text)."""
    return any(v is not None for v in param) if isinstance(param, list) else param is not None


_QUEUED = "covenant_bulk_queued"  # session.info key: (sql, start) of the statements a pipeline holds


def _timed(session: Session, conn: Connection, sql: str, started: float) -> None:
    """Record a statement's duration (``db.client.operation.duration``, as for SQLAlchemy's statements): now,
    or for one queued in a pipeline when the block ends (its sync brings the results). ``pg_query`` records
    its own when its rows are read."""
    queued = session.info.get(_QUEUED)
    if queued is not None:
        queued.append((sql, started))
        return
    record_statement(conn.engine, sql, started, time.perf_counter())


def _record_queued(conn: Connection, queued: list[tuple[str, float]]) -> None:
    ended = time.perf_counter()
    for sql, started in queued:
        record_statement(conn.engine, sql, started, ended)
    queued.clear()


@contextmanager
def pipeline(session: Session, *, begin: bool = False, commit: bool = False) -> Iterator[None]:
    """On PostgreSQL, psycopg pipeline mode for the statements of this module run inside: the ones whose rows
    are not needed are sent without waiting, their errors surface by the end of the block (the unit of work
    then rolls back as a whole). Only this module's functions may run inside (SQLAlchemy expects results).

    ``begin``: the block starts the unit of work. psycopg would send BEGIN alone and wait for it; here BEGIN
    is queued ahead of the block's statements, so they take one round trip with it. (The connection is in
    psycopg's autocommit mode until the transaction ends: psycopg then sends no BEGIN of its own, and the
    server keeps the one sent here; ``Database`` puts the mode back when the connection returns to the pool.)
    ``commit``: the block ends the unit of work. Its COMMIT is queued behind its statements (the commit
    guard checked first, as ``Database.session`` does), so they and the commit take one round trip, not two;
    the unit's own commit then has nothing left to send (psycopg sees the connection idle). Nothing may run
    in the unit after such a block."""
    if not is_pg(session):
        yield
        return
    conn = session.connection()
    raw = conn.connection.driver_connection
    own_begin = begin and not raw.autocommit and raw.info.transaction_status == TransactionStatus.IDLE
    if own_begin:
        raw.autocommit = True
    outer = _QUEUED not in session.info
    if outer:
        session.info[_QUEUED] = []
    try:
        with raw.pipeline():
            if own_begin:
                raw.execute("BEGIN")
            yield
            if commit:
                check_commit_guard()
                raw.execute("COMMIT")  # queued; ``commit()`` would sync by itself, then the block's end again
        _record_queued(conn, session.info[_QUEUED])  # the end of the block synced the pipeline
    except psycopg.Error as exc:  # a queued statement failed (seen at the sync: which one is not known)
        _raise_as_sqlalchemy(conn, exc, None)
    finally:
        if outer:
            del session.info[_QUEUED]


def _pg_type(col: Any) -> str:
    if isinstance(col.type, (BigInteger, Integer)):
        return "bigint"
    if isinstance(col.type, DateTime):
        return "timestamptz"
    if isinstance(col.type, LargeBinary):
        return "bytea"
    if isinstance(col.type, Float):
        return "float8"
    if isinstance(col.type, Boolean):
        return "bool"
    return "text"


def insert_columns(
    session: Session,
    table: Table,
    columns: Mapping[str, list[Any]],
    *,
    const: Mapping[str, Any] | None = None,
    conflict: str = "",
    returning: Sequence[str | Column[Any]] = (),
    whole_rows: bool = False,
) -> list[Any]:
    """INSERT one row per position of the equally long ``columns`` (name -> values), each row also taking
    the ``const`` values, with an optional ``ON CONFLICT ...`` clause (SQL text that may use ``excluded``)
    and ``returning`` columns (names or ``Column`` objects of ``table``); returns the first returned value
    of each row, or with ``whole_rows`` the rows (read by attribute)."""
    return insert_columns_later(
        session, table, columns, const=const, conflict=conflict, returning=returning, whole_rows=whole_rows
    )()


def insert_columns_later(
    session: Session,
    table: Table,
    columns: Mapping[str, list[Any]],
    *,
    const: Mapping[str, Any] | None = None,
    conflict: str = "",
    returning: Sequence[str | Column[Any]] = (),
    whole_rows: bool = False,
) -> Rows:
    """``insert_columns`` whose returned rows are asked for later (``pg_query``): on PostgreSQL, inside
    ``pipeline``, the INSERT travels with the block's other statements."""
    if isinstance(returning, str):
        raise TypeError("returning: a sequence of column names or Columns, not SQL text")
    const = const or {}
    cols = list(columns)
    n = len(columns[cols[0]]) if cols else 0
    if not n:
        return list
    back = [table.c[c if isinstance(c, str) else c.name] for c in returning]
    names = ", ".join([*cols, *const])
    tail = (f" {conflict}" if conflict else "") + (
        f" RETURNING {', '.join(c.name for c in back)}" if back else ""
    )
    if is_pg(session):
        arrays = ", ".join(f"CAST({{{i}}} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(cols))
        scalars = "".join(
            f", CAST({{{len(cols) + i}}} AS {_pg_type(table.c[c])})" for i, c in enumerate(const)
        )
        sql = f"INSERT INTO {table.name} ({names}) SELECT u.*{scalars} FROM unnest({arrays}) AS u{tail}"
        params = [*columns.values(), *const.values()]
        if not back:
            pg_execute(session, sql, params)
            return list
        got = pg_query(session, sql, params, named=whole_rows)
        return got if whole_rows else lambda: [r[0] for r in got()]
    values = [columns[c] for c in cols]
    rows = [{**dict(zip(cols, r, strict=True)), **const} for r in zip(*values, strict=True)]
    names_all = [*cols, *const]
    if not back:  # executemany of one short statement
        stmt = text(
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(':' + c for c in names_all)}){tail}"
        )
        session.execute(stmt.bindparams(*(bindparam(c, type_=table.c[c].type) for c in names_all)), rows)
        return list
    # RETURNING needs one statement per row under executemany: a multi-row VALUES per slice instead
    out: list[Any] = []
    for part in chunks(rows, max(1, _SQLITE_PARAMS // len(names_all))):
        marks = ", ".join("(" + ", ".join(f":{c}_{i}" for c in names_all) + ")" for i in range(len(part)))
        stmt = text(f"INSERT INTO {table.name} ({names}) VALUES {marks}{tail}").bindparams(
            *(bindparam(f"{c}_{i}", type_=table.c[c].type) for i in range(len(part)) for c in names_all)
        )
        stmt = stmt.columns(*back)  # typed results (times)
        params = {f"{c}_{i}": r[c] for i, r in enumerate(part) for c in names_all}
        result = session.execute(stmt, params)
        out.extend(result.all() if whole_rows else result.scalars())
    return lambda: out


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str = "",
    returning: Sequence[str | Column[Any]] = (),
    whole_rows: bool = False,
) -> list[Any]:
    """``insert_columns`` for ``rows`` (all with the same keys)."""
    if not rows:
        return []
    columns = {c: [r[c] for r in rows] for c in rows[0]}
    return insert_columns(
        session, table, columns, conflict=conflict, returning=returning, whole_rows=whole_rows
    )


def update_rows(session: Session, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ``table`` SET the non-key columns of each row WHERE its key columns match."""
    if not rows:
        return
    cols = list(rows[0])
    sets = [c for c in cols if c not in keys]
    if is_pg(session):
        arrays = ", ".join(f"CAST({{{i}}} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(cols))
        match = " AND ".join(f"t.{k} = v.{k}" for k in keys)
        sql = (
            f"UPDATE {table.name} AS t SET {', '.join(f'{c} = v.{c}' for c in sets)} "
            f"FROM unnest({arrays}) AS v({', '.join(cols)}) WHERE {match}"
        )
        pg_execute(session, sql, [[r[c] for r in rows] for c in cols])
        return
    stmt = text(
        f"UPDATE {table.name} SET {', '.join(f'{c} = :{c}' for c in sets)} "
        f"WHERE {' AND '.join(f'{k} = :{k}' for k in keys)}"
    ).bindparams(*(bindparam(c, type_=table.c[c].type) for c in cols))
    session.execute(stmt, list(rows))


def next_ids(session: Session, table: Table, n: int) -> list[int] | None:
    """``n`` ids from the table's id sequence on PostgreSQL (None on SQLite: let it assign them)."""
    if not is_pg(session):
        return None
    sql = f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {{0}})"
    return [r[0] for r in pg_execute(session, sql, [n], fetch=True)]


def lock_rows(
    session: Session, table: Table, keys: Sequence[str], values: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """SELECT ... FOR UPDATE the rows whose ``keys`` are in ``values``, in key order (one lock order for all
    writers, so concurrent batches queue instead of deadlocking)."""
    if not values:
        return []
    cols = ", ".join(c.name for c in table.c)
    order = ", ".join(keys)
    if is_pg(session):
        arrays = ", ".join(f"CAST({{{i}}} AS {_pg_type(table.c[k])}[])" for i, k in enumerate(keys))
        sql = (
            f"SELECT {cols} FROM {table.name} WHERE ({order}) IN (SELECT * FROM unnest({arrays})) "
            f"ORDER BY {order} FOR UPDATE"
        )
        return pg_execute(
            session, sql, [[v[i] for v in values] for i in range(len(keys))], fetch=True, named=True
        )
    out: list[Any] = []
    key_cols = [table.c[k] for k in keys]
    for i in range(0, len(values), 500):
        part = list(values[i : i + 500])
        where = key_cols[0].in_([v[0] for v in part]) if len(keys) == 1 else tuple_(*key_cols).in_(part)
        out.extend(session.execute(select(table).where(where).order_by(*key_cols)))
    return out
