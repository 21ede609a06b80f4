"""SQLAlchemy storage for attendance: tables and the repository functions the use cases call.

Every employee-owned row keeps the owner's org unit so data scopes can be enforced and lists filtered.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covenant.auth.principal import ScopeFilter
from covenant.db.bulk import (
    among_parts,
    insert_columns,
    insert_columns_later,
    insert_for,
    insert_rows,
    is_pg,
    pg_query,
    pipeline,
    update_rows,
)
from covenant.db.outbox import Outbox
from covenant.db.scope import scope_clause, subtree
from covenant.events.v1.event_pb2 import Event
from covenant.telemetry import metrics
from covenant.timestamps import as_utc as utc
from services.attendance.domain.geo import Place
from services.attendance.domain.stops import Ping
from services.attendance.ports import CheckInIdTaken, CheckInReads, FixWindow

metadata = MetaData()

places = Table(
    "attendance_places",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("address", Text, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("radius_m", Integer, nullable=False),
    Column("high_risk", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Index("ix_attendance_places_revision", "revision"),
)

# One row: the revision of the last place import, so every replica can load what changed since its own.
place_revision = Table(
    "attendance_place_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

pings = Table(
    "attendance_pings",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("device_id", String(128), nullable=False),
    Column("day", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("accuracy_m", Float, nullable=False),
    Column("mock", Boolean, nullable=False),
    UniqueConstraint("employee_id", "device_id", "at", name="uq_attendance_ping"),
    Index("ix_attendance_pings_day", "employee_id", "day", "at"),
)

visits = Table(
    "attendance_visits",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("day", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("distance_m", Float, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("pack_id", String(128), nullable=False, server_default=""),
    Index("ix_attendance_visits_day", "employee_id", "day"),
)

stops = Table(
    "attendance_stops",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("start_at", DateTime(timezone=True), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("minutes", Float, nullable=False),
    Column("stop_id", String(64), nullable=False, server_default=""),
    Column("closed", Boolean, nullable=False, server_default=true()),
    Index("ix_attendance_stops_day", "employee_id", "day", "start_at"),
)

anomalies = Table(
    "attendance_anomalies",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("pack_id", String(128), nullable=False, server_default=""),
    Column("ref_id", String(128), nullable=False, server_default=""),
    Column("start_at", DateTime(timezone=True), nullable=True),
    Column("end_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("employee_id", "kind", "key", name="uq_attendance_anomaly_once"),
    Index("ix_attendance_anomalies_day", "employee_id", "day"),
)

# Per employee-day: where stop detection may resume, and whether the day's summary is out of date.
days = Table(
    "attendance_days",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("role", String(64), nullable=False),
    Column("pings", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=True),
    Column("last_at", DateTime(timezone=True), nullable=True),
    Column("resume_at", DateTime(timezone=True), nullable=True),
    Column("dirty", Boolean, nullable=False),
    Column("summary_revision", Integer, nullable=False),
    Index("ix_attendance_days_dirty", "dirty", "day"),
    Index("ix_attendance_days_org", "day", "org_unit", "employee_id"),
)

# The directory's roster (identity's employee events): who must send something on a working day.
# ``joined``: the local day identity first said so; ``status_since``: the day of the latest status change;
# ``away_from``/``away_until``: the last absence already over (ON_LEAVE or LEFT, then ACTIVE; "" if none).
roster = Table(
    "attendance_roster",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("role", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("joined", String(10), nullable=False),
    Column("status_since", String(10), nullable=False),
    Column("away_from", String(10), nullable=False),
    Column("away_until", String(10), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)


# -- places ----------------------------------------------------------------------------------------
def upsert_places(s: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts or replaces places; returns the new place revision (bumped under a row lock)."""
    _insert_ignore = insert_for(s, place_revision).values(id=1, revision=0).on_conflict_do_nothing()
    s.execute(_insert_ignore)
    revision = s.execute(
        update(place_revision)
        .where(place_revision.c.id == 1)
        .values(revision=place_revision.c.revision + 1)
        .returning(place_revision.c.revision)
    ).scalar_one()
    stamped = [{**r, "revision": revision} for r in rows]
    for start in range(0, len(stamped), 2000):
        chunk = stamped[start : start + 2000]
        stmt = insert_for(s, places)
        stmt = stmt.on_conflict_do_update(
            index_elements=[places.c.client_id],
            set_={
                c: stmt.excluded[c]
                for c in ("name", "address", "latitude", "longitude", "radius_m", "high_risk", "revision")
            },
        )
        s.execute(stmt, chunk)
    return int(revision)


def place_revision_now(s: Session) -> int:
    return int(s.execute(select(place_revision.c.revision).where(place_revision.c.id == 1)).scalar() or 0)


def places_since(s: Session, revision: int) -> tuple[list[Place], int]:
    """Places changed after ``revision`` and the newest revision among them (or ``revision``)."""
    rows = s.execute(select(places).where(places.c.revision > revision)).all()
    found = [Place(r.client_id, r.name, r.latitude, r.longitude, r.radius_m, r.high_risk) for r in rows]
    return found, max((int(r.revision) for r in rows), default=revision)


# -- pings -----------------------------------------------------------------------------------------
def existing_ping_keys(
    s: Session, employee_ids: Sequence[str], days_: Sequence[str], first: datetime, last: datetime
) -> set[tuple[str, str, datetime]]:
    """(employee, device, time) of stored fixes of these employees and days between ``first`` and
    ``last`` (the candidates a batch could duplicate)."""
    found: set[tuple[str, str, datetime]] = set()
    for in_ids in among_parts(s, pings.c.employee_id, sorted(set(employee_ids))):
        q = select(pings.c.employee_id, pings.c.device_id, pings.c.at).where(
            and_(
                in_ids,
                pings.c.day.in_(sorted(set(days_))),
                pings.c.at >= first,
                pings.c.at <= last,
            )
        )
        found.update((r.employee_id, r.device_id, utc(r.at)) for r in s.execute(q))
    return found


_PING_COLUMNS = (
    "employee_id",
    "org_unit",
    "device_id",
    "day",
    "at",
    "latitude",
    "longitude",
    "accuracy_m",
    "mock",
)
_SQLITE_INSERT_PINGS = (
    f"INSERT INTO attendance_pings ({', '.join(_PING_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_PING_COLUMNS))}) ON CONFLICT DO NOTHING"
)


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DateTime storage format (UTC wall time), so its reads parse what we write."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_pings(s: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Stores new fixes (one executemany). Callers hold the employee-day locks and have removed the
    fixes already stored; the unique (employee, device, time) constraint stays the last word. On SQLite
    the rows go straight to the driver: SQLAlchemy's per-row bind processing was a third of the cost."""
    if not rows:
        return
    if s.get_bind().dialect.name == "sqlite":
        params = [
            (
                r["employee_id"],
                r["org_unit"],
                r["device_id"],
                r["day"],
                _sqlite_datetime(r["at"]),
                r["latitude"],
                r["longitude"],
                r["accuracy_m"],
                1 if r["mock"] else 0,
            )
            for r in rows
        ]
        s.connection().exec_driver_sql(_SQLITE_INSERT_PINGS, params)
    else:  # PostgreSQL: one statement over arrays, not a row at a time
        columns = {c: [(bool(r[c]) if c == "mock" else r[c]) for r in rows] for c in _PING_COLUMNS}
        insert_columns(s, pings, columns, conflict="ON CONFLICT DO NOTHING")


def day_pings(s: Session, employee_id: str, day: str, since: datetime | None = None) -> list[Ping]:
    """One employee's fixes of one day (from ``since``), in time order."""
    return pings_on(s, day, [employee_id], since).get(employee_id, [])


def pings_on(
    s: Session, day: str, employee_ids: Sequence[str], since: datetime | None = None
) -> dict[str, list[Ping]]:
    """The fixes of these employees on one day (from ``since``), in time order, by employee."""
    later = (pings.c.at >= since,) if since is not None else ()
    rows = _rows_on(s, pings, day, employee_ids, pings.c.at, pings.c.id, where=later)
    return {e: [_ping(r) for r in found] for e, found in rows.items()}


def _ping(r: Any) -> Ping:
    """A stored fix (a row of ``attendance_pings``) as the domain's ``Ping``."""
    return Ping(utc(r.at), r.latitude, r.longitude, r.accuracy_m, bool(r.mock), r.device_id)


# PostgreSQL: per window, the latest fix in it: one statement for the batch, one index probe and one row
# per item (a hand-written statement: building the OR of a batch's windows in SQLAlchemy cost more than
# running it). The window's local days bound the probe on ``ix_attendance_pings_day`` (employee, day, at),
# read backwards from the window's end: without them it read every fix the employee ever sent.
_PG_LAST_PINGS = """
SELECT w.i, p.at, p.latitude, p.longitude, p.accuracy_m, p.mock, p.device_id
FROM unnest({0}::text[], {1}::timestamptz[], {2}::timestamptz[], {3}::text[], {4}::text[])
    WITH ORDINALITY AS w(employee_id, since, upto, first_day, last_day, i)
CROSS JOIN LATERAL (
    SELECT at, latitude, longitude, accuracy_m, mock, device_id FROM attendance_pings
    WHERE employee_id = w.employee_id AND day >= w.first_day AND day <= w.last_day
        AND at >= w.since AND at <= w.upto
    ORDER BY day DESC, at DESC, id DESC LIMIT 1
) AS p
"""


def last_pings_before(s: Session, wanted: Sequence[FixWindow]) -> list[Ping | None]:
    """For each window: the employee's latest fix in [since, upto], None when there is none. PostgreSQL: one
    statement for them all (``_PG_LAST_PINGS``). SQLite: one query a hundred windows, overlapping ones of an
    employee merged: what is read is bounded by the items' own windows, never the span between a check-in of
    today and one of last month."""
    return _last_pings_before_later(s, wanted)()


def _last_pings_before_later(s: Session, wanted: Sequence[FixWindow]) -> Callable[[], list[Ping | None]]:
    """``last_pings_before``, its answer asked for later (``covenant.db.bulk.pg_query``)."""
    if not wanted:
        return list
    if is_pg(s):
        found = pg_query(
            s, _PG_LAST_PINGS, [list(column) for column in zip(*wanted, strict=True)], named=True
        )

        def answer() -> list[Ping | None]:
            out: list[Ping | None] = [None] * len(wanted)
            for r in found():
                out[r.i - 1] = _ping(r)
            return out

        return answer
    merged: list[FixWindow] = []
    for w in sorted(wanted, key=lambda w: (w.employee_id, w.since)):
        last = merged[-1] if merged else None
        if last is not None and last.employee_id == w.employee_id and w.since <= last.upto:
            merged[-1] = last._replace(upto=max(last.upto, w.upto), last_day=max(last.last_day, w.last_day))
        else:
            merged.append(w)
    fixes: dict[str, list[Ping]] = {}
    for first in range(0, len(merged), 100):
        spans = [
            and_(
                pings.c.employee_id == w.employee_id,
                pings.c.day >= w.first_day,
                pings.c.day <= w.last_day,
                pings.c.at >= w.since,
                pings.c.at <= w.upto,
            )
            for w in merged[first : first + 100]
        ]
        for r in s.execute(select(pings).where(or_(*spans)).order_by(pings.c.at, pings.c.id)):
            fixes.setdefault(r.employee_id, []).append(_ping(r))
    found_before: list[Ping | None] = []
    for w in wanted:
        found = fixes.get(w.employee_id, [])
        k = bisect_right(found, w.upto, key=lambda p: p.at)  # the last fix at or before ``upto``
        found_before.append(found[k - 1] if k and found[k - 1].at >= w.since else None)
    return lambda: found_before


# -- employee-days ---------------------------------------------------------------------------------
@dataclass
class DayState:
    employee_id: str
    day: str
    org_unit: str
    role: str
    pings: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    resume_at: datetime | None = None
    dirty: bool = True
    summary_revision: int = 0


def _state(r: Any) -> DayState:
    return DayState(
        r.employee_id,
        r.day,
        r.org_unit,
        r.role,
        r.pings,
        utc(r.first_at) if r.first_at else None,
        utc(r.last_at) if r.last_at else None,
        utc(r.resume_at) if r.resume_at else None,
        bool(r.dirty),
        r.summary_revision,
    )


def lock_days(s: Session, keys: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str], DayState]:
    """The state rows of (employee, day, org_unit, role) keys, created when missing and locked for the
    transaction, in one statement (``covenant.db.bulk``; SQLite in slices under its parameter limit): an
    upsert whose no-op update locks an existing row (as FOR UPDATE would) and RETURNING gives every row as
    stored (SQLite holds the database write lock already). A check-in used to pay SELECT, INSERT and SELECT
    again for the first of an employee's day."""
    return _lock_days_later(s, keys)()


def _lock_days_later(
    s: Session, keys: Iterable[tuple[str, str, str, str]]
) -> Callable[[], dict[tuple[str, str], DayState]]:
    """``lock_days``, its answer asked for later (``covenant.db.bulk.insert_columns_later``)."""
    wanted = sorted({(e, d): (o, r) for e, d, o, r in sorted(set(keys))}.items())  # one lock order
    rows = insert_columns_later(
        s,
        days,
        {
            "employee_id": [e for (e, _), _ in wanted],
            "day": [d for (_, d), _ in wanted],
            "org_unit": [o for _, (o, _) in wanted],
            "role": [r for _, (_, r) in wanted],
        },
        const={"pings": 0, "dirty": True, "summary_revision": 0},
        conflict="ON CONFLICT (employee_id, day) DO UPDATE SET employee_id = excluded.employee_id",
        returning=list(days.c),
        whole_rows=True,
    )
    return lambda: {(r.employee_id, r.day): _state(r) for r in rows()}


def save_days(s: Session, states: Iterable[DayState]) -> None:
    """Writes back day states (one statement; ``covenant.db.bulk``, so it may run in a pipeline)."""
    rows = [
        {
            "employee_id": st.employee_id,
            "day": st.day,
            "org_unit": st.org_unit,
            "role": st.role,
            "pings": st.pings,
            "first_at": st.first_at,
            "last_at": st.last_at,
            "resume_at": st.resume_at,
            "dirty": st.dirty,
            "summary_revision": st.summary_revision,
        }
        for st in states
    ]
    update_rows(s, days, ("employee_id", "day"), rows)


def get_day(s: Session, employee_id: str, day: str) -> DayState | None:
    r = s.execute(select(days).where(and_(days.c.employee_id == employee_id, days.c.day == day))).first()
    return _state(r) if r else None


def claim_dirty_days(s: Session, before_day: str, limit: int, only_day: str | None = None) -> list[DayState]:
    """Days before ``before_day`` (or exactly ``only_day``) whose summary is out of date, locked (SKIP
    LOCKED on PostgreSQL so several replicas share the work)."""
    where = and_(days.c.dirty.is_(True), days.c.day < before_day)
    if only_day is not None:
        where = and_(where, days.c.day == only_day)
    q = select(days).where(where).order_by(days.c.day, days.c.employee_id).limit(limit)
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return [_state(r) for r in s.execute(q)]


def team_days(
    s: Session, org_unit: str, day: str, after_employee: str, limit: int, scope: ScopeFilter
) -> list[DayState]:
    """Employee-days in the org subtree that ``scope`` lets its caller see, by employee id, after
    ``after_employee`` (keyset paging)."""
    where = [days.c.day == day, subtree(days.c.org_unit, org_unit), days.c.employee_id > after_employee]
    visible = scope_clause(scope, days.c.employee_id, days.c.org_unit)
    if visible is not None:
        where.append(visible)
    q = select(days).where(and_(*where)).order_by(days.c.employee_id).limit(limit)
    return [_state(r) for r in s.execute(q)]


# -- stops -----------------------------------------------------------------------------------------
_DELETE_STOPS_SINCE = delete(stops).where(
    and_(
        stops.c.employee_id == bindparam("k_employee"),
        stops.c.day == bindparam("k_day"),
        stops.c.start_at >= bindparam("k_since"),
    )
)
_DELETE_STOPS_DAY = delete(stops).where(
    and_(stops.c.employee_id == bindparam("k_employee"), stops.c.day == bindparam("k_day"))
)


def replace_stops(
    s: Session, scopes: Sequence[tuple[str, str, datetime | None]], rows: Sequence[dict[str, Any]]
) -> None:
    """For each (employee, day, since) replaces the day's stops starting at or after ``since`` (all of
    them when None) with ``rows`` (one executemany per statement)."""
    conn = s.connection()
    since = [{"k_employee": e, "k_day": d, "k_since": t} for e, d, t in scopes if t is not None]
    whole = [{"k_employee": e, "k_day": d} for e, d, t in scopes if t is None]
    if since:
        conn.execute(_DELETE_STOPS_SINCE, since)
    if whole:
        conn.execute(_DELETE_STOPS_DAY, whole)
    if rows:
        conn.execute(insert(stops), list(rows))


def _rows_on(
    s: Session, table: Table, day: str, employee_ids: Sequence[str], *order: Any, where: Sequence[Any] = ()
) -> dict[str, list[Any]]:
    """The rows of ``table`` for these employees on one day (and ``where``), in ``order``, by employee: one
    query (on SQLite one per ``CHUNK`` employees)."""
    out: dict[str, list[Any]] = {}
    for among_ids in among_parts(s, table.c.employee_id, list(dict.fromkeys(employee_ids))):
        query = select(table).where(among_ids, table.c.day == day, *where)
        for r in s.execute(query.order_by(table.c.employee_id, *order)):
            out.setdefault(r.employee_id, []).append(r)
    return out


def day_stops(s: Session, employee_id: str, day: str) -> list[Any]:
    return stops_on(s, day, [employee_id]).get(employee_id, [])


def stops_on(s: Session, day: str, employee_ids: Sequence[str]) -> dict[str, list[Any]]:
    return _rows_on(s, stops, day, employee_ids, stops.c.start_at)


# -- visits ----------------------------------------------------------------------------------------
_PG_VISITS_BY_REQUEST = "SELECT * FROM attendance_visits WHERE request_id = ANY({0})"


def visits_by_request(s: Session, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Visits already recorded for these check-in ids. PostgreSQL: one array parameter through psycopg
    (every check-in pays this look-up; the SQLAlchemy statement cost more than the query)."""
    return _visits_by_request_later(s, request_ids)()


def _visits_by_request_later(
    s: Session, request_ids: Sequence[str]
) -> Callable[[], dict[str, dict[str, Any]]]:
    """``visits_by_request``, its answer asked for later (``covenant.db.bulk.pg_query``)."""
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        return dict
    if is_pg(s):
        rows = pg_query(s, _PG_VISITS_BY_REQUEST, [ids], named=True)
        return lambda: {r.request_id: r._asdict() for r in rows()}
    out: dict[str, dict[str, Any]] = {}
    for in_ids in among_parts(s, visits.c.request_id, ids):
        for r in s.execute(select(visits).where(in_ids)):
            out[r.request_id] = dict(r._mapping)
    return lambda: out


def check_in_reads(
    s: Session,
    keys: Iterable[tuple[str, str, str, str]],
    request_ids: Sequence[str],
    wanted: Sequence[FixWindow],
) -> CheckInReads:
    """What a unit of check-ins reads first, in this order: ``lock_days(keys)``,
    ``visits_by_request(request_ids)`` and ``last_pings_before(wanted)``. PostgreSQL: one round trip with the
    unit's BEGIN (a pipeline: the server still runs them in order, so the look-ups run once the days are
    locked and see what a unit that held one committed)."""
    with pipeline(s, begin=True):
        states = _lock_days_later(s, keys)
        recorded = _visits_by_request_later(s, request_ids)
        prevs = _last_pings_before_later(s, wanted)
    return CheckInReads(states(), recorded(), prevs())


def add_visits(s: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts visit rows (one statement; ``covenant.db.bulk``, so it may run in a pipeline)."""
    insert_rows(s, visits, list(rows))


def day_visits(s: Session, employee_id: str, day: str) -> list[Any]:
    return visits_on(s, day, [employee_id]).get(employee_id, [])


def visits_on(s: Session, day: str, employee_ids: Sequence[str]) -> dict[str, list[Any]]:
    return _rows_on(s, visits, day, employee_ids, visits.c.at)


# -- anomalies -------------------------------------------------------------------------------------
def add_anomaly(s: Session, row: dict[str, Any]) -> bool:
    """Records an anomaly once per (employee, kind, key); False when it was already there."""
    stmt = insert_for(s, anomalies).values(**row).on_conflict_do_nothing().returning(anomalies.c.id)
    return s.execute(stmt).first() is not None


def dwell_intervals(s: Session, employee_id: str, day: str) -> list[tuple[datetime, datetime]]:
    rows = s.execute(
        select(anomalies.c.start_at, anomalies.c.end_at).where(
            and_(
                anomalies.c.employee_id == employee_id,
                anomalies.c.day == day,
                anomalies.c.kind == "dwell_anomaly",
            )
        )
    )
    return [(utc(r.start_at), utc(r.end_at)) for r in rows if r.start_at and r.end_at]


def day_anomalies(s: Session, employee_id: str, day: str) -> list[Any]:
    return anomalies_on(s, day, [employee_id]).get(employee_id, [])


def anomalies_on(s: Session, day: str, employee_ids: Sequence[str]) -> dict[str, list[Any]]:
    return _rows_on(s, anomalies, day, employee_ids, anomalies.c.at, anomalies.c.id)


def roster_since(s: Session, first_day: str) -> tuple[list[tuple[str, str, str, str]], dict[str, set[str]]]:
    """Employees who sent fixes on a day on or after ``first_day``: (employee, first such day, latest org
    unit, latest role), and every day each has a row for (silent days included)."""
    rows = s.execute(
        select(days.c.employee_id, days.c.day, days.c.org_unit, days.c.role, days.c.pings)
        .where(days.c.day >= first_day)
        .order_by(days.c.employee_id, days.c.day)
    ).all()
    latest: dict[str, tuple[str, str, str, str]] = {}
    seen: dict[str, set[str]] = {}
    for r in rows:
        seen.setdefault(r.employee_id, set()).add(r.day)
        if r.pings > 0:
            first = latest[r.employee_id][1] if r.employee_id in latest else r.day
            latest[r.employee_id] = (r.employee_id, first, r.org_unit, r.role)
    return list(latest.values()), seen


@dataclass(frozen=True)
class RosterRow:
    employee_id: str
    org_unit: str
    role: str
    status: str
    joined: str
    status_since: str
    away_from: str
    away_until: str


def observe_roster(
    s: Session, employee_id: str, org_unit: str, role: str, status: str, day: str, at: datetime
) -> bool:
    """Applies one directory change made at ``at`` (local ``day``); a change older than the stored one is
    ignored (events may arrive out of order). False when ignored."""
    current = s.execute(select(roster).where(roster.c.employee_id == employee_id).with_for_update()).first()
    if current is None:
        stmt = insert_for(s, roster).values(
            employee_id=employee_id,
            org_unit=org_unit,
            role=role,
            status=status,
            joined=day,
            status_since=day,
            away_from="",
            away_until="",
            changed_at=at,
        )
        return s.execute(stmt.on_conflict_do_nothing().returning(roster.c.employee_id)).first() is not None
    if utc(current.changed_at) > at:
        return False
    values: dict[str, Any] = {"org_unit": org_unit, "role": role, "status": status, "changed_at": at}
    if status != current.status:
        values["status_since"] = day
        if status == "ACTIVE":  # back: the absence that just ended is remembered
            values["away_from"], values["away_until"] = current.status_since, day
    s.execute(update(roster).where(roster.c.employee_id == employee_id).values(**values))
    return True


def roster_rows(s: Session) -> dict[str, RosterRow]:
    """The whole roster by employee id."""
    return {
        r.employee_id: RosterRow(
            r.employee_id, r.org_unit, r.role, r.status, r.joined, r.status_since, r.away_from, r.away_until
        )
        for r in s.execute(select(roster))
    }


def days_seen_since(s: Session, employee_ids: Sequence[str], first_day: str) -> dict[str, set[str]]:
    """The days on or after ``first_day`` each of these employees has a row for."""
    seen: dict[str, set[str]] = {}
    for in_ids in among_parts(s, days.c.employee_id, sorted(set(employee_ids))):
        q = select(days.c.employee_id, days.c.day).where(and_(in_ids, days.c.day >= first_day))
        for r in s.execute(q):
            seen.setdefault(r.employee_id, set()).add(r.day)
    return seen


def known_org_unit(s: Session, employee_id: str) -> str:
    """The org unit last recorded for an employee (for scope checks on reads), or ""."""
    r = s.execute(
        select(days.c.org_unit).where(days.c.employee_id == employee_id).order_by(days.c.day.desc()).limit(1)
    ).first()
    return r.org_unit if r else ""


@contextmanager
def _check_in_ids_taken() -> Iterator[None]:
    """The unique check-in id of ``attendance_visits`` refusing a row, as the port's ``CheckInIdTaken``."""
    try:
        yield
    except IntegrityError as exc:
        if "request_id" not in str(exc.orig):
            raise
        raise CheckInIdTaken(str(exc.orig).splitlines()[0]) from exc


class SqlAttendanceStore:
    """``services.attendance.ports.AttendanceStore`` over one session, with the functions above."""

    def __init__(self, s: Session, outbox: Outbox) -> None:
        self.s = s
        self.outbox = outbox

    def place_revision_now(self) -> int:
        return place_revision_now(self.s)

    def places_since(self, revision: int) -> tuple[list[Place], int]:
        return places_since(self.s, revision)

    def lock_days(self, keys: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str], DayState]:
        return lock_days(self.s, keys)

    def check_in_reads(
        self,
        keys: Iterable[tuple[str, str, str, str]],
        request_ids: Sequence[str],
        wanted: Sequence[FixWindow],
    ) -> CheckInReads:
        return check_in_reads(self.s, keys, request_ids, wanted)

    def save_days(self, states: Iterable[DayState]) -> None:
        save_days(self.s, states)

    def add_visits(self, rows: Sequence[dict[str, Any]]) -> None:
        with _check_in_ids_taken():
            add_visits(self.s, rows)

    @contextmanager
    def pipelined(self, *, commit: bool = False) -> Iterator[None]:
        with _check_in_ids_taken(), pipeline(self.s, commit=commit):  # a queued statement's error: at the end
            yield

    def add_anomaly(self, row: dict[str, Any]) -> bool:
        return add_anomaly(self.s, row)

    def emit(self, events: Sequence[Event]) -> None:
        self.outbox.add_many(self.s, events)

    def count_check_in(self, result: str) -> None:
        metrics.add_on_commit(self.s, metrics.CHECK_INS, 1, {"result": result})

    def roster_since(self, first_day: str) -> tuple[list[tuple[str, str, str, str]], dict[str, set[str]]]:
        return roster_since(self.s, first_day)

    def roster_rows(self) -> dict[str, RosterRow]:
        return roster_rows(self.s)

    def days_seen_since(self, employee_ids: Sequence[str], first_day: str) -> dict[str, set[str]]:
        return days_seen_since(self.s, employee_ids, first_day)
