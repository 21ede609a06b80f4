"""SQLAlchemy storage for scorecards, metric values, computed scores, calibrations and signals: the tables,
the repository functions the use cases read and write them with (each in the caller's session), and
``SqlScoringStore``, the ``services.scoring.ports.ScoringStore`` over one session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
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
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from covenant.auth import ScopeFilter
from covenant.db import idempotency
from covenant.db.audit import AuditLog
from covenant.db.bulk import among_parts, chunks, insert_rows
from covenant.db.outbox import Outbox
from covenant.db.scope import scope_clause, subtree
from covenant.events.v1.event_pb2 import Event

FETCH = 100  # rows per fetch of a large read: few rows live long enough for the garbage collector to promote

metadata = MetaData()

scorecards = Table(
    "scorecards",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("role", String(64), nullable=False, index=True),
    Column("org_unit_prefix", String(255), nullable=False, default=""),
    Column("effective_from", Date, nullable=False),
    Column("body_json", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Who is scored with which scorecard and compared with whom: kept from metric writes and events.
profiles = Table(
    "employee_profiles",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False, index=True),
    Column("role", String(64), nullable=False),
)

metric_values = Table(
    "metric_values",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", String(40), nullable=False),  # decimal text: exact across SQLite and PostgreSQL
    Column("mode", String(8), nullable=False),  # "set" | "add"
    Column("source", String(128), nullable=False),
    Column("source_ref", String(128), nullable=False, default=""),  # event id or request id
    Column("rule_id", String(128), nullable=False, default=""),
    Column("pack_version", String(64), nullable=False, default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_metric_values_period_emp", "period", "employee_id"),
)

scores = Table(
    "scores",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("role", String(64), nullable=False),
    Column("scorecard_id", String(64), nullable=False),
    Column("scorecard_version", Integer, nullable=False),
    Column("score", String(16), nullable=False),
    Column("contributions_json", Text, nullable=False),
    Column("rank_in_team", Integer, nullable=False),
    Column("rank_in_org_unit", Integer, nullable=False),
    Column("team_size", Integer, nullable=False),
    Column("change", String(16), nullable=False, default=""),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_scores_period_org", "period", "org_unit"),
)

calibrations = Table(
    "calibrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("adjustment", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("calibrated_by", String(128), nullable=False),
    Column("calibrated_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=True, unique=True),
    Index("ix_calibrations_emp_period", "employee_id", "period"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("period", String(7), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("employee_id", "period", "kind", name="uq_signals_once"),
    Index("ix_signals_period", "period", "id"),  # signals_of: a period's signals in raising order
)

# Driver analyses (docs/analytics.md): the fit of an outcome KPI on process KPIs, with its data window.
driver_analyses = Table(
    "driver_analyses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(64), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("period_from", String(7), nullable=False),
    Column("period_to", String(7), nullable=False),
    Column("org_unit", String(255), nullable=False, default=""),
    Column("model", String(16), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("observations", Integer, nullable=False),
    Column("people", Integer, nullable=False),
    Column("fit", String(32), nullable=False),
    Column("result_json", Text, nullable=False),  # kpis, coefficients, warnings, condition number
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Draft scorecard versions: not in force until a second person approves and someone activates them, which
# inserts them into ``scorecards``.
scorecard_drafts = Table(
    "scorecard_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scorecard_id", String(64), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("role", String(64), nullable=False),
    Column("analysis_id", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("body_json", Text, nullable=False),
    Column("diff_period", String(7), nullable=False),
    Column("diff_json", Text, nullable=False),  # the dry run: who would rank differently
    Column("state", String(16), nullable=False),  # draft | approved | activated
    Column("drafted_by", String(128), nullable=False),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("approved_by", String(128), nullable=False, default=""),
    Column("activated_version", Integer, nullable=True),
)

# High-performer profiles (docs/analytics.md): one per role, period, outcome KPI and org-unit subtree.
performer_profiles = Table(
    "performer_profiles",
    metadata,
    Column("role", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("outcome_kpi", String(64), primary_key=True),
    Column("org_unit", String(255), primary_key=True),
    Column("threshold", String(40), nullable=False),
    Column("top_count", Integer, nullable=False),
    Column("rest_count", Integer, nullable=False),
    Column("kpis_json", Text, nullable=False),
    Column("computed_by", String(128), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
)


def under(column: Any, org_unit: str) -> ColumnElement[bool]:
    """``column`` lies in the subtree of ``org_unit`` (everything for "" or "/")."""
    return subtree(column, org_unit) if org_unit.rstrip("/") else true()


# -- scorecards ---------------------------------------------------------------------------------
def latest_card_version(session: Session, card_id: str) -> int | None:
    """The highest version of scorecard ``card_id`` (None when it has none)."""
    return session.execute(select(func.max(scorecards.c.version)).where(scorecards.c.id == card_id)).scalar()


def add_card(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(scorecards).values(**row))


def cards_of(session: Session, role: str) -> list[Any]:
    """Every scorecard version (of ``role`` when given), by id and version."""
    stmt = select(scorecards).order_by(scorecards.c.id, scorecards.c.version)
    if role:
        stmt = stmt.where(scorecards.c.role == role)
    return list(session.execute(stmt))


def has_cards(session: Session) -> bool:
    return bool(session.execute(select(func.count()).select_from(scorecards)).scalar())


def cards_in_force(session: Session, role: str, start: date) -> list[Any]:
    """The scorecard versions of a role in force on ``start`` (every org-unit variant)."""
    return list(
        session.execute(
            select(scorecards).where(and_(scorecards.c.role == role, scorecards.c.effective_from <= start))
        ).all()
    )


def card_version(session: Session, card_id: str, version: int) -> Any:
    """One scorecard version (None when it does not exist)."""
    return session.execute(
        select(scorecards).where(and_(scorecards.c.id == card_id, scorecards.c.version == version))
    ).first()


# -- profiles -----------------------------------------------------------------------------------
def profile(session: Session, employee_id: str) -> Any:
    return session.execute(select(profiles).where(profiles.c.employee_id == employee_id)).first()


def upsert_profiles(session: Session, wanted: Mapping[str, tuple[str, str]]) -> None:
    """Create each employee's profile (employee id -> org unit, role), or move it to the org unit and role
    where those are given: one read and one insert for the batch, an update only for a profile that moves."""
    if not wanted:
        return
    ids = sorted(wanted)

    def existing() -> dict[str, Any]:
        return {
            r.employee_id: r
            for cond in among_parts(session, profiles.c.employee_id, ids)
            for r in session.execute(select(profiles).where(cond))
        }

    rows = existing()
    raced = False
    # DO NOTHING: two batches naming a new employee (attendance's and points' deliveries arrive concurrently)
    # both saw no row; a plain INSERT failed one with a unique violation (INTERNAL, redelivered after a
    # backoff of up to 30 s). A profile the other batch made is read back and moved like any other.
    new = [
        {"employee_id": e, "org_unit": wanted[e][0], "role": wanted[e][1] or ""} for e in ids if e not in rows
    ]
    if new:  # one short statement over arrays (covenant.db.bulk), not a VALUES list compiled per batch size
        made = insert_rows(
            session, profiles, new, conflict="ON CONFLICT DO NOTHING", returning=["employee_id"]
        )
        raced = len(made) < len(new)
    if raced:
        rows = existing()
    for e, row in rows.items():
        org_unit, role = wanted[e]
        if (org_unit and row.org_unit != org_unit) or (role and row.role != role):
            session.execute(
                update(profiles)
                .where(profiles.c.employee_id == e)
                .values(org_unit=org_unit or row.org_unit, role=role or row.role)
            )


def people(session: Session, org_unit: str = "", role: str = "") -> list[tuple[str, str, str]]:
    """(employee_id, org_unit, role) of the profiles under ``org_unit`` (of ``role`` when given)."""
    pc = profiles.c
    return [
        tuple(r)
        for r in session.execute(select(pc.employee_id, pc.org_unit, pc.role).where(_who(org_unit, role)))
    ]


def _who(org_unit: str, role: str) -> ColumnElement[bool]:
    return (
        and_(under(profiles.c.org_unit, org_unit), profiles.c.role == role)
        if role
        else under(profiles.c.org_unit, org_unit)
    )


# -- metric values ------------------------------------------------------------------------------
def add_metric_values(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Metric value rows (all with the same keys), in one statement (``covenant.db.bulk``)."""
    insert_rows(session, metric_values, list(rows))


def metric_rows(
    session: Session, period: str, org_unit: str = "", role: str = ""
) -> Iterator[tuple[Any, ...]]:
    """(employee_id, metric, value, mode, source, rule_id, pack_version) of the period's metric values of
    everyone whose profile lies under ``org_unit`` (of ``role`` when given), in write order."""
    mv = metric_values.c
    result = session.execute(
        select(mv.employee_id, mv.metric, mv.value, mv.mode, mv.source, mv.rule_id, mv.pack_version)
        .join_from(metric_values, profiles, profiles.c.employee_id == mv.employee_id)
        .where(and_(mv.period == period, _who(org_unit, role)))
        .order_by(mv.id)
    )
    for rows in result.partitions(FETCH):
        yield from rows


# -- scores, calibrations, signals --------------------------------------------------------------
def replace_scores(session: Session, period: str, ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """The period's scores of ``ids`` become ``rows``."""
    for in_ids in among_parts(session, scores.c.employee_id, ids):
        session.execute(delete(scores).where(and_(scores.c.period == period, in_ids)))
    for part in chunks(rows):
        session.execute(insert(scores), list(part))


def score_history(
    session: Session, ids: Sequence[str], oldest: str, period: str
) -> Iterator[tuple[str, str, str]]:
    """(employee_id, period, score) of ``ids`` in the periods from ``oldest`` up to before ``period``."""
    sc = scores.c
    for in_ids in among_parts(session, sc.employee_id, ids):
        result = session.execute(
            select(sc.employee_id, sc.period, sc.score).where(
                and_(in_ids, sc.period >= oldest, sc.period < period)
            )
        )
        for rows in result.partitions(FETCH):
            yield from rows


def score(session: Session, employee_id: str, period: str) -> Any:
    """An employee's score row of ``period`` (None when there is none)."""
    return session.execute(
        select(scores).where(and_(scores.c.employee_id == employee_id, scores.c.period == period))
    ).first()


def scores_page(
    session: Session,
    period: str,
    org_unit: str,
    scope: ScopeFilter,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` of the period's scores ``scope`` lets see (under ``org_unit`` when given), by
    (org_unit, rank_in_team, employee_id) after that keyset position ``after``."""
    stmt = select(scores).where(scores.c.period == period)
    if org_unit:
        stmt = stmt.where(subtree(scores.c.org_unit, org_unit))
    visible = scope_clause(scope, scores.c.employee_id, scores.c.org_unit)
    if visible is not None:
        stmt = stmt.where(visible)
    key = (scores.c.org_unit, scores.c.rank_in_team, scores.c.employee_id)
    if after is not None:
        stmt = stmt.where(tuple_(*key) > tuple_(*after))
    return list(session.execute(stmt.order_by(*key).limit(limit)).all())


def calibrations_of(session: Session, ids: Sequence[str], period: str) -> dict[str, list[Any]]:
    """employee -> their calibrations of ``period``, oldest first."""
    out: dict[str, list[Any]] = defaultdict(list)
    c = calibrations.c
    for r in session.execute(
        select(calibrations).where(and_(c.period == period, c.employee_id.in_(list(ids)))).order_by(c.id)
    ):
        out[r.employee_id].append(r)
    return out


def calibrated(session: Session, request_id: str) -> bool:
    """A calibration with this request id was recorded."""
    return (
        session.execute(select(calibrations.c.id).where(calibrations.c.request_id == request_id)).first()
        is not None
    )


def add_calibration(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(calibrations).values(**row))


def signalled(session: Session, ids: Sequence[str], period: str) -> set[tuple[str, str]]:
    """(employee, kind) of the signals already raised for ``period``."""
    sg = signals.c
    out: set[tuple[str, str]] = set()
    for in_ids in among_parts(session, sg.employee_id, ids):
        out.update(
            (employee_id, kind)
            for employee_id, kind in session.execute(
                select(sg.employee_id, sg.kind).where(and_(sg.period == period, in_ids))
            )
        )
    return out


def add_signals(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert(signals), list(rows))


def signals_of(session: Session, period: str, org_unit: str, scope: ScopeFilter) -> list[Any]:
    """The period's signals ``scope`` lets see (under ``org_unit`` when given), in the order they were
    raised: the scope is SQL, so a lead's call reads their people's rows, not the company's."""
    stmt = select(signals).where(signals.c.period == period).order_by(signals.c.id)
    if org_unit:
        stmt = stmt.where(subtree(signals.c.org_unit, org_unit))
    visible = scope_clause(scope, signals.c.employee_id, signals.c.org_unit)
    if visible is not None:
        stmt = stmt.where(visible)
    return list(session.execute(stmt).all())


def scores_of(session: Session, period: str, org_unit: str, role: str) -> list[Any]:
    """The period's score rows under ``org_unit`` (of ``role`` when given), by employee."""
    sc = scores.c
    stmt = select(scores).where(and_(sc.period == period, under(sc.org_unit, org_unit)))
    if role:
        stmt = stmt.where(sc.role == role)
    return list(session.execute(stmt.order_by(sc.employee_id)).all())


def unit_trends(
    session: Session, org_unit: str, from_period: str, to_period: str, role: str, scope: ScopeFilter
) -> list[tuple[str, str, float, int]]:
    """(org_unit, period, mean score, people) of the scores under ``org_unit`` (of ``role`` when given) that
    ``scope`` lets its principal see, from ``from_period`` to ``to_period`` inclusive, by unit and period:
    averaged by the database, whatever the number of people."""
    sc = scores.c
    stmt = select(sc.org_unit, sc.period, func.avg(cast(sc.score, Float)), func.count()).where(
        and_(sc.period >= from_period, sc.period <= to_period, under(sc.org_unit, org_unit))
    )
    if role:
        stmt = stmt.where(sc.role == role)
    visible = scope_clause(scope, sc.employee_id, sc.org_unit)
    if visible is not None:
        stmt = stmt.where(visible)
    stmt = stmt.group_by(sc.org_unit, sc.period).order_by(sc.org_unit, sc.period)
    return [(u, p, float(mean), int(n)) for u, p, mean, n in session.execute(stmt)]


def replace_signals(
    session: Session, period: str, kind: str, ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """The period's ``kind`` signals of ``ids`` become ``rows``."""
    sg = signals.c
    for in_ids in among_parts(session, sg.employee_id, ids):
        session.execute(delete(signals).where(and_(sg.period == period, sg.kind == kind, in_ids)))
    if rows:
        add_signals(session, rows)


# -- performer profiles -------------------------------------------------------------------------
def _profile_key(role: str, period: str, outcome: str, org_unit: str) -> ColumnElement[bool]:
    pp = performer_profiles.c
    return and_(pp.role == role, pp.period == period, pp.outcome_kpi == outcome, pp.org_unit == org_unit)


def performer_profile(session: Session, role: str, period: str, outcome: str, org_unit: str) -> Any:
    """The stored profile of (role, period, outcome KPI, org unit), None when there is none."""
    return session.execute(
        select(performer_profiles).where(_profile_key(role, period, outcome, org_unit))
    ).first()


def replace_performer_profile(session: Session, row: dict[str, Any]) -> None:
    session.execute(
        delete(performer_profiles).where(
            _profile_key(row["role"], row["period"], row["outcome_kpi"], row["org_unit"])
        )
    )
    session.execute(insert(performer_profiles).values(**row))


# -- driver analyses and scorecard drafts -------------------------------------------------------
def add_analysis(session: Session, row: dict[str, Any]) -> int:
    """Insert a driver analysis; its id."""
    return int(session.execute(insert(driver_analyses).values(**row)).inserted_primary_key[0])


def analysis(session: Session, ident: int) -> Any:
    """A driver analysis row, None when it does not exist."""
    return session.execute(select(driver_analyses).where(driver_analyses.c.id == ident)).first()


def analyses_page(session: Session, role: str, after: int, limit: int) -> list[Any]:
    """Up to ``limit`` analyses (of ``role`` when given), newest first, below id ``after`` (if set)."""
    c = driver_analyses.c
    stmt = select(driver_analyses)
    if role:
        stmt = stmt.where(c.role == role)
    if after:
        stmt = stmt.where(c.id < after)
    return list(session.execute(stmt.order_by(c.id.desc()).limit(limit)).all())


def add_draft(session: Session, row: dict[str, Any]) -> int:
    """Insert a scorecard draft; its id."""
    return int(session.execute(insert(scorecard_drafts).values(**row)).inserted_primary_key[0])


def draft(session: Session, ident: int) -> Any:
    """A scorecard draft row, None when it does not exist."""
    return session.execute(select(scorecard_drafts).where(scorecard_drafts.c.id == ident)).first()


def update_draft(session: Session, ident: int, state_was: str | None = None, **values: Any) -> None:
    """Set ``values`` on a draft (only while it is in ``state_was``, when given)."""
    where = scorecard_drafts.c.id == ident
    if state_was is not None:
        where = and_(where, scorecard_drafts.c.state == state_was)
    session.execute(update(scorecard_drafts).where(where).values(**values))


def panel(
    session: Session, role: str, org_unit: str, periods: Sequence[str], metrics: Sequence[str]
) -> list[tuple[str, str, list[float | None]]]:
    """(employee_id, period, value of each of ``metrics``) per person-period of ``role``'s people under
    ``org_unit``. Values fold like scoring's: the last set value plus the adds after it."""
    mv, pc = metric_values.c, profiles.c
    rows_of = and_(
        mv.period.in_(list(periods)),
        mv.metric.in_(list(metrics)),
        mv.employee_id.in_(select(pc.employee_id).where(and_(pc.role == role, under(pc.org_unit, org_unit)))),
    )
    # Folded in the database (folding 1.1 million values for 10,000 people over a year row by row here
    # cost ~10 s): one row per person-period with each metric's sum. A metric's value is its last set
    # value plus the adds after it, which is that sum unless the metric was set twice or an add came
    # before its set; those person-periods (rare) are found by the second query and folded row by row.
    amount = cast(mv.value, Float)
    result = session.execute(
        select(mv.employee_id, mv.period, *(func.sum(case((mv.metric == m, amount))) for m in metrics))
        .where(rows_of)
        .group_by(mv.employee_id, mv.period)
    )
    folded = [(e, p, list(v)) for rows in result.partitions(FETCH * 50) for e, p, *v in rows]
    unsure = {
        (e, p)
        for e, p in session.execute(
            select(mv.employee_id, mv.period)
            .where(rows_of)
            .group_by(mv.employee_id, mv.period, mv.metric)
            .having(
                or_(
                    func.count(case((mv.mode == "set", 1))) > 1,
                    func.min(case((mv.mode == "add", mv.id))) < func.max(case((mv.mode == "set", mv.id))),
                )
            )
        )
    }
    if unsure:
        exact = _fold_rows(session, rows_of, unsure, metrics)
        folded = [(e, p, exact[(e, p)] if (e, p) in unsure else v) for e, p, v in folded]
    return folded


def _fold_rows(
    session: Session, rows_of: Any, keys: set[tuple[str, str]], metrics: Sequence[str]
) -> dict[tuple[str, str], list[float | None]]:
    """Metric values of ``keys`` (person, period) folded from their rows in write order."""
    mv = metric_values.c
    out: dict[tuple[str, str], list[float | None]] = {k: [None] * len(metrics) for k in keys}
    index = {m: i for i, m in enumerate(metrics)}
    people = sorted({e for e, _ in keys})
    for in_people in among_parts(session, mv.employee_id, people):
        result = session.execute(
            select(mv.employee_id, mv.period, mv.metric, mv.value, mv.mode)
            .where(and_(rows_of, in_people))
            .order_by(mv.id)
        )
        for employee_id, period, metric, value, mode in result:
            row = out.get((employee_id, period))
            if row is not None:
                i = index[metric]
                row[i] = float(value) if mode == "set" else (row[i] or 0.0) + float(value)
    return out


class SqlScoringStore:
    """``services.scoring.ports.ScoringStore`` over one SQLAlchemy session (the caller's unit of work)."""

    def __init__(self, session: Session, outbox: Outbox, audit: AuditLog) -> None:
        self.session = session
        self.outbox = outbox
        self.audit_log = audit

    def latest_card_version(self, card_id: str) -> int | None:
        return latest_card_version(self.session, card_id)

    def add_card(self, row: dict[str, Any]) -> None:
        add_card(self.session, row)

    def cards_of(self, role: str) -> list[Any]:
        return cards_of(self.session, role)

    def has_cards(self) -> bool:
        return has_cards(self.session)

    def cards_in_force(self, role: str, start: date) -> list[Any]:
        return cards_in_force(self.session, role, start)

    def profile(self, employee_id: str) -> Any:
        return profile(self.session, employee_id)

    def upsert_profiles(self, wanted: Mapping[str, tuple[str, str]]) -> None:
        upsert_profiles(self.session, wanted)

    def people(self, org_unit: str = "", role: str = "") -> list[tuple[str, str, str]]:
        return people(self.session, org_unit, role)

    def add_metric_values(self, rows: Sequence[dict[str, Any]]) -> None:
        add_metric_values(self.session, rows)

    def metric_rows(self, period: str, org_unit: str = "", role: str = "") -> Iterator[tuple[Any, ...]]:
        return metric_rows(self.session, period, org_unit, role)

    def replace_scores(self, period: str, ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        replace_scores(self.session, period, ids, rows)

    def score_history(self, ids: Sequence[str], oldest: str, period: str) -> Iterator[tuple[str, str, str]]:
        return score_history(self.session, ids, oldest, period)

    def score(self, employee_id: str, period: str) -> Any:
        return score(self.session, employee_id, period)

    def scores_page(
        self, period: str, org_unit: str, scope: ScopeFilter, after: tuple[Any, ...] | None, limit: int
    ) -> list[Any]:
        return scores_page(self.session, period, org_unit, scope, after, limit)

    def calibrations_of(self, ids: Sequence[str], period: str) -> dict[str, list[Any]]:
        return calibrations_of(self.session, ids, period)

    def calibrated(self, request_id: str) -> bool:
        return calibrated(self.session, request_id)

    def add_calibration(self, row: dict[str, Any]) -> None:
        add_calibration(self.session, row)

    def signalled(self, ids: Sequence[str], period: str) -> set[tuple[str, str]]:
        return signalled(self.session, ids, period)

    def add_signals(self, rows: Sequence[dict[str, Any]]) -> None:
        add_signals(self.session, rows)

    def signals_of(self, period: str, org_unit: str, scope: ScopeFilter) -> list[Any]:
        return signals_of(self.session, period, org_unit, scope)

    def replayed(self, method: str, request_id: str, fingerprint: str | None) -> str | None:
        return idempotency.replayed(self.session, "scoring", method, request_id, fingerprint=fingerprint)

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, fingerprint: str | None
    ) -> None:
        idempotency.remember(
            self.session, "scoring", method, request_id, response, now, fingerprint=fingerprint
        )

    def emit(self, events: Sequence[Event]) -> None:
        self.outbox.add_many(self.session, events)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self.audit_log.append(self.session, actor=actor, action=action, subject=subject, data=data)
