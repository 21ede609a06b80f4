"""Set-based statements for the ingest path.

On PostgreSQL a batch is one statement over ``unnest`` of one array per column (a short, cached query
text with a handful of parameters, however many rows); on SQLite rows go through executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, Table, bindparam, select, text, tuple_
from sqlalchemy.orm import Session


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
        arrays = ", ".join(f"CAST(:c{i} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(cols))
        stmt = text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){tail}")
        params = {f"c{i}": [r[c] for r in rows] for i, c in enumerate(cols)}
        result = session.execute(stmt, params)
        return list(result.scalars()) if returning else []
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
        arrays = ", ".join(f"CAST(:c{i} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(cols))
        match = " AND ".join(f"t.{k} = v.{k}" for k in keys)
        stmt = text(
            f"UPDATE {table.name} AS t SET {', '.join(f'{c} = v.{c}' for c in sets)} "
            f"FROM unnest({arrays}) AS v({', '.join(cols)}) WHERE {match}"
        )
        session.execute(stmt, {f"c{i}": [r[c] for r in rows] for i, c in enumerate(cols)})
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
        arrays = ", ".join(f"CAST(:k{i} AS {_pg_type(table.c[k])}[])" for i, k in enumerate(keys))
        stmt = text(
            f"SELECT {cols} FROM {table.name} WHERE ({order}) IN (SELECT * FROM unnest({arrays})) "
            f"ORDER BY {order} FOR UPDATE"
        )
        return list(session.execute(stmt, {f"k{i}": [v[i] for v in values] for i in range(len(keys))}))
    out: list[Any] = []
    key_cols = [table.c[k] for k in keys]
    for i in range(0, len(values), 500):
        part = list(values[i : i + 500])
        where = key_cols[0].in_([v[0] for v in part]) if len(keys) == 1 else tuple_(*key_cols).in_(part)
        out.extend(session.execute(select(table).where(where).order_by(*key_cols)))
    return out
