"""Set-based statements for the ingest path.

On PostgreSQL a batch is one statement over ``unnest`` of one array per column (a short, cached query
text with a handful of parameters, however many rows), sent in psycopg's binary format on the session's own
connection and transaction: dumping a text array literal escapes every element in Python and cost more than
the statement itself. On SQLite rows go through executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import namedtuple_row, tuple_row
from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, Table, bindparam, select, text, tuple_
from sqlalchemy.orm import Session


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _pg(session: Session, sql: str, columns: Sequence[list[Any]], *, named: bool = False) -> list[Any]:
    """Run ``sql`` (``{0}``, ``{1}``... mark the array parameters) with one binary array per column; the
    rows as tuples, or as named tuples when ``named``."""
    raw = session.connection().connection.driver_connection
    marks = ["%b" if any(v is not None for v in c) else "%s" for c in columns]
    with raw.cursor(row_factory=namedtuple_row if named else tuple_row) as cur:
        cur.execute(sql.replace("%", "%%").format(*marks), list(columns))
        return cur.fetchall() if cur.description else []


def _pg_type(col: Any) -> str:
    if isinstance(col.type, (BigInteger, Integer)):
        return "bigint"
    if isinstance(col.type, DateTime):
        return "timestamptz"
    if isinstance(col.type, LargeBinary):
        return "bytea"
    return "text"


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str = "",
    returning: str = "",
) -> list[Any]:
    """INSERT ``rows`` (all with the same keys) with an optional ``ON CONFLICT ...`` clause (SQL text that
    may use ``excluded``) and ``RETURNING`` column; returns the returned values."""
    if not rows:
        return []
    cols = list(rows[0])
    names = ", ".join(cols)
    tail = (f" {conflict}" if conflict else "") + (f" RETURNING {returning}" if returning else "")
    if is_pg(session):
        arrays = ", ".join(f"CAST({{{i}}} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(cols))
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){tail}"
        got = _pg(session, sql, [[r[c] for r in rows] for c in cols])
        return [r[0] for r in got] if returning else []
    stmt = text(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(':' + c for c in cols)}){tail}")
    stmt = stmt.bindparams(*(bindparam(c, type_=table.c[c].type) for c in cols))
    if not returning:
        session.execute(stmt, list(rows))
        return []
    out: list[Any] = []
    for r in rows:
        out.extend(session.execute(stmt, r).scalars())
    return out


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
        _pg(session, sql, [[r[c] for r in rows] for c in cols])
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
    return list(
        session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        ).scalars()
    )


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
        return _pg(session, sql, [[v[i] for v in values] for i in range(len(keys))], named=True)
    out: list[Any] = []
    key_cols = [table.c[k] for k in keys]
    for i in range(0, len(values), 500):
        part = list(values[i : i + 500])
        where = key_cols[0].in_([v[0] for v in part]) if len(keys) == 1 else tuple_(*key_cols).in_(part)
        out.extend(session.execute(select(table).where(where).order_by(*key_cols)))
    return out
