"""SQLAlchemy tables of the points service, ``SqlPointsStore`` (the SQL side of its storage port) and the
repository functions the read, goal, expiry and reward use cases call (every one over the caller's session).

``points_ledger`` is the system of record (append-only). ``points_accounts`` (balance) and
``points_period_totals`` (earned per calendar period, for leaderboards and goals) are projections kept in the
same transaction as the entries; ``points_cap_usage`` is the cap state per rule, employee and period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covenant.auth.principal import ScopeFilter
from covenant.db.audit import AuditLog
from covenant.db.bulk import (
    among_parts,
    insert_columns,
    insert_for,
    insert_rows,
    is_pg,
    lock_rows,
    next_ids,
    update_rows,
)
from covenant.db.outbox import Outbox
from covenant.db.scope import scope_clause, subtree
from covenant.events.v1.event_pb2 import Event
from covenant.timestamps import as_utc
from services.points.domain import EARNING_KINDS, EventIn, Standing
from services.points.ports import CapKey

if TYPE_CHECKING:
    from services.points.ledger import LedgerWriter

metadata = MetaData()

# Every business event applied, once (the primary key makes concurrent duplicates wait, then skip).
applied_events = Table(
    "points_applied_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

ledger = Table(
    "points_ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source_event_id", String(128), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_event_id", "rule_id", "employee_id", "kind", name="uq_points_ledger_once"),
    Index("ix_points_ledger_emp", "employee_id", "occurred_at"),
    Index("ix_points_ledger_emp_id", "employee_id", "id"),  # ledger_page: an employee's entries by id
    Index("ix_points_ledger_time", "occurred_at"),
)

# Balance per employee, kept in the same transaction as the ledger; its row lock serialises spending.
accounts = Table(
    "points_accounts",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("balance", BigInteger, nullable=False),
)

# Points earned per employee and calendar period ("2026-W45", "2026-11", "2026-Q4", "2026").
period_totals = Table(
    "points_period_totals",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=False),
    Index("ix_points_period_rank", "period", "points", "reached_at", "employee_id"),
    Index("ix_points_period_unit", "period", "org_unit"),
)

# Points a capped rule already paid an employee in a cap period ("day:2026-11-02", "week:2026-W45", ...).
cap_usage = Table(
    "points_cap_usage",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("rule_id", String(128), primary_key=True),
    Column("period", String(24), primary_key=True),
    Column("used", BigInteger, nullable=False),
)

reward_items = Table(
    "points_reward_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("per_person_limit", Integer, nullable=False),
    Column("category", String(64), nullable=False, server_default=""),
    Column("eligible_top_percent", Integer, nullable=False, server_default="0"),
    Column("eligible_period", String(16), nullable=False, server_default="quarter"),
)

redemptions = Table(
    "points_redemptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("item_id", String(64), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Index("ix_points_redemptions_emp", "employee_id", "item_id"),
)

team_goals = Table(
    "points_team_goals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("name", String(255), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("pool_points", BigInteger, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("achieved_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(128), nullable=False),
    Index("ix_points_team_goals_open", "state", "event_type"),
)

team_goal_progress = Table(
    "points_team_goal_progress",
    metadata,
    Column("goal_id", String(64), primary_key=True),
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("contribution", BigInteger, nullable=False),
)

personal_goals = Table(
    "points_personal_goals",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("period_kind", String(16), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("target", BigInteger, nullable=False),
)

# One nudge per employee and week, even when SendNudges runs on several replicas or twice.
nudges_sent = Table(
    "points_nudges_sent",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("week", String(16), primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)


class SqlPointsStore:
    """``services.points.ports.PointsStore`` over one SQLAlchemy session (the caller's unit of work)."""

    def __init__(self, session: Session, writer: LedgerWriter, outbox: Outbox, audit: AuditLog) -> None:
        self.session = session
        self.writer = writer
        self.outbox = outbox
        self.audit_log = audit

    def claim(self, events: Sequence[EventIn], now: datetime) -> set[str]:
        return claim(self.session, events, now)

    def lock_caps(self, keys: Sequence[CapKey]) -> dict[CapKey, int]:
        return lock_caps(self.session, keys)

    def store_caps(self, used: dict[CapKey, int]) -> None:
        store_caps(self.session, used)

    def entries_of(self, source_event_ids: Sequence[str], kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        return entries_of(self.session, source_event_ids, kinds)

    def write(self, entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        return self.writer.write(self.session, entries, now)

    def account(self, employee_id: str) -> tuple[str, int] | None:
        return account(self.session, employee_id)

    def ledger_page(self, employee_id: str, after_id: int, limit: int) -> list[Any]:
        return ledger_page(self.session, employee_id, after_id, limit)

    def open_team_goals(self, event_types: Sequence[str]) -> list[Any]:
        return open_team_goals(self.session, event_types)

    def lock_team_goals(self, goal_ids: Sequence[str]) -> dict[str, Any]:
        return lock_team_goals(self.session, goal_ids)

    def add_goal_progress(self, rows: Sequence[dict[str, Any]]) -> None:
        add_goal_progress(self.session, rows)

    def goal_progress(self, goal_id: str) -> list[tuple[str, str, int]]:
        return goal_progress(self.session, goal_id)

    def achieve_goal(self, goal_id: str, at: datetime) -> None:
        achieve_goal(self.session, goal_id, at)

    def period_top(self, key: str, sf: ScopeFilter, team: str, under: str, top: int) -> list[Standing]:
        return period_top(self.session, key, sf, team, under, top)

    def period_place(
        self, key: str, sf: ScopeFilter, team: str, under: str, employee_id: str
    ) -> tuple[int, int, int] | None:
        return period_place(self.session, key, sf, team, under, employee_id)

    def earned_between(
        self, start: datetime, end: datetime, sf: ScopeFilter, team: str, under: str
    ) -> list[Standing]:
        return earned_between(self.session, start, end, sf, team, under)

    def period_standings(self, key: str) -> list[Standing]:
        return period_standings(self.session, key)

    def period_points(self, key: str, employee_ids: Iterable[str]) -> dict[str, int]:
        return period_points(self.session, key, employee_ids)

    def team_goal_by_request(self, request_id: str) -> str | None:
        return team_goal_by_request(self.session, request_id)

    def add_team_goal(self, values: dict[str, Any]) -> None:
        add_team_goal(self.session, values)

    def team_goal(self, goal_id: str) -> dict[str, Any] | None:
        return team_goal(self.session, goal_id)

    def team_goal_ids(
        self, sf: ScopeFilter, under: str, ancestors: Sequence[str], after: str, limit: int
    ) -> list[str]:
        return team_goal_ids(self.session, sf, under, ancestors, after, limit)

    def upsert_personal_goal(self, values: dict[str, Any]) -> None:
        upsert_personal_goal(self.session, values)

    def personal_goal(self, employee_id: str, key: str) -> Any | None:
        return personal_goal(self.session, employee_id, key)

    def personal_goals_in(self, keys: Sequence[str]) -> list[Any]:
        return personal_goals_in(self.session, keys)

    def claim_nudges(self, employee_ids: Sequence[str], week: str, now: datetime) -> set[str]:
        return claim_nudges(self.session, employee_ids, week, now)

    def balances(self) -> dict[str, int]:
        return balances(self.session)

    def expiry_figures(self, cutoff: datetime, source: str) -> list[Any]:
        return expiry_figures(self.session, cutoff, source)

    def period_rank(self, key: str, employee_id: str) -> tuple[int, int]:
        return period_rank(self.session, key, employee_id)

    def add_reward_item(self, values: dict[str, Any]) -> bool:
        return add_reward_item(self.session, values)

    def reward_items_after(self, after: str, limit: int) -> list[Any]:
        return reward_items_after(self.session, after, limit)

    def reward_item(self, item_id: str, *, lock: bool = False) -> Any | None:
        return reward_item(self.session, item_id, lock=lock)

    def move_stock(self, item_id: str, by: int) -> None:
        move_stock(self.session, item_id, by)

    def held_redemptions(self, item_id: str, employee_id: str, refunded: Iterable[str]) -> int:
        return held_redemptions(self.session, item_id, employee_id, refunded)

    def redemption(self, redemption_id: str, *, lock: bool = False) -> Any | None:
        return redemption(self.session, redemption_id, lock=lock)

    def redemption_by_request(self, request_id: str) -> Any | None:
        return redemption_by_request(self.session, request_id)

    def add_redemption(self, values: dict[str, Any]) -> None:
        add_redemption(self.session, values)

    def set_redemption_state(self, redemption_id: str, state: str, reason: str) -> None:
        set_redemption_state(self.session, redemption_id, state, reason)

    def emit(self, event: Event) -> None:
        self.outbox.add(self.session, event)

    def emit_many(self, events: Sequence[Event]) -> None:
        self.outbox.add_many(self.session, events)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self.audit_log.append(self.session, actor=actor, action=action, subject=subject, data=data)


# -- events, caps and team-goal progress -----------------------------------------------------------
def claim(session: Session, events: Sequence[EventIn], now: datetime) -> set[str]:
    """Mark ``events`` applied; the ids marked now (the others were applied before)."""
    # A concurrent transaction holding the same id makes this one wait, then skip it.
    ordered = sorted(events, key=lambda e: e.id)
    cols = {
        "event_id": [e.id for e in ordered],
        "event_type": [e.type for e in ordered],
        "employee_id": [e.employee_id for e in ordered],
    }
    return set(
        insert_columns(
            session,
            applied_events,
            cols,
            const={"applied_at": now},
            conflict="ON CONFLICT (event_id) DO NOTHING",
            returning=["event_id"],
        )
    )


def lock_caps(session: Session, keys: Sequence[CapKey]) -> dict[CapKey, int]:
    """Points already paid per cap key (missing keys start at zero), locked until the unit ends."""
    if not keys:
        return {}
    keys = sorted(keys)
    insert_rows(
        session,
        cap_usage,
        [{"employee_id": e, "rule_id": r, "period": p, "used": 0} for e, r, p in keys],
        conflict="ON CONFLICT (employee_id, rule_id, period) DO NOTHING",
    )
    rows = lock_rows(session, cap_usage, ["employee_id", "rule_id", "period"], keys)
    return {(r.employee_id, r.rule_id, r.period): int(r.used) for r in rows}


def store_caps(session: Session, used: dict[CapKey, int]) -> None:
    """Save the changed cap usage."""
    update_rows(
        session,
        cap_usage,
        ["employee_id", "rule_id", "period"],
        [{"employee_id": e, "rule_id": r, "period": p, "used": v} for (e, r, p), v in sorted(used.items())],
    )


def entries_of(
    session: Session, source_event_ids: Sequence[str], kinds: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Ledger entries of the given source events (of the given kinds; all when empty), by id."""
    out: list[dict[str, Any]] = []
    c = ledger.c
    for in_events in among_parts(session, c.source_event_id, list(source_event_ids)):
        where = [in_events, c.kind.in_(list(kinds))] if kinds else [in_events]
        out += [dict(r) for r in session.execute(select(ledger).where(and_(*where))).mappings()]
    return out


def open_team_goals(session: Session, event_types: Sequence[str]) -> list[Any]:
    """The OPEN team goals counting any of ``event_types``, by id."""
    g = team_goals.c
    return list(
        session.execute(
            select(team_goals)
            .where(and_(g.state == "OPEN", g.event_type.in_(list(event_types))))
            .order_by(g.id)
        ).all()
    )


def lock_team_goals(session: Session, goal_ids: Sequence[str]) -> dict[str, Any]:
    """The goals ``goal_ids`` by id, locked until the unit ends."""
    g = team_goals.c
    rows = session.execute(
        select(team_goals).where(g.id.in_(list(goal_ids))).order_by(g.id).with_for_update()
    ).all()
    return {r.id: r for r in rows}


def add_goal_progress(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add contributions (goal_id, employee_id, org_unit, contribution) to the goals' progress."""
    total = f"{team_goal_progress.name}.contribution + excluded.contribution"
    conflict = f"ON CONFLICT (goal_id, employee_id) DO UPDATE SET contribution = {total}"
    insert_rows(session, team_goal_progress, list(rows), conflict=conflict)


def achieve_goal(session: Session, goal_id: str, at: datetime) -> None:
    """Mark a goal ACHIEVED at ``at``."""
    session.execute(
        update(team_goals).where(team_goals.c.id == goal_id).values(state="ACHIEVED", achieved_at=at)
    )


# -- accounts and the ledger -----------------------------------------------------------------------
def account(session: Session, employee_id: str) -> tuple[str, int] | None:
    """(org unit, balance) of an employee's account, None when they have none."""
    row = session.execute(
        select(accounts.c.org_unit, accounts.c.balance).where(accounts.c.employee_id == employee_id)
    ).first()
    return (row.org_unit, int(row.balance)) if row else None


def lock_accounts(session: Session, owners: dict[str, str]) -> dict[str, int]:
    """Create missing accounts, lock all of ``owners`` (employee -> org unit) in id order; their balances."""
    ids = sorted(owners)
    if not ids:
        return {}
    insert_rows(
        session,
        accounts,
        [{"employee_id": e, "org_unit": owners[e], "balance": 0} for e in ids],
        conflict="ON CONFLICT (employee_id) DO NOTHING",
    )
    rows = lock_rows(session, accounts, ["employee_id"], [(e,) for e in ids])
    return {r.employee_id: int(r.balance) for r in rows}


def credit_accounts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add ``balance`` to each account of ``rows`` (employee_id, org_unit, balance; in employee-id order, the
    order its row locks are taken in), creating the missing ones."""
    tbl = accounts.name
    insert_rows(
        session,
        accounts,
        list(rows),
        conflict=f"ON CONFLICT (employee_id) DO UPDATE SET balance = {tbl}.balance + excluded.balance",
    )


def set_balances(session: Session, new: dict[str, int]) -> None:
    """Store new balances (employee -> balance) of locked accounts."""
    rows = [{"employee_id": k, "balance": v} for k, v in sorted(new.items())]
    update_rows(session, accounts, ["employee_id"], rows)


def next_entry_ids(session: Session, n: int) -> list[int] | None:
    """``n`` ledger ids reserved ahead of the insert (None where the database assigns them on insert)."""
    return next_ids(session, ledger, n)


def insert_entries(session: Session, cols: dict[str, list[Any]], now: datetime) -> list[int]:
    """Append ledger entries (columns by name, created at ``now``); their ids when ``cols`` carries none."""
    if "id" in cols:
        insert_columns(session, ledger, cols, const={"created_at": now})
        return list(cols["id"])
    return list(insert_columns(session, ledger, cols, const={"created_at": now}, returning=["id"]))


def add_period_totals(session: Session, cols: dict[str, list[Any]]) -> None:
    """Add points to period totals (period, employee_id, org_unit, points, reached_at by column), creating the
    missing ones: the org unit is the latest, reached_at the later of the two."""
    greatest = "GREATEST" if is_pg(session) else "MAX"
    tbl = period_totals.name
    insert_columns(
        session,
        period_totals,
        cols,
        conflict=(
            f"ON CONFLICT (period, employee_id) DO UPDATE SET points = {tbl}.points + excluded.points, "
            f"org_unit = excluded.org_unit, "
            f"reached_at = {greatest}({tbl}.reached_at, excluded.reached_at)"
        ),
    )


def balances(session: Session) -> dict[str, int]:
    """Every account's balance by employee."""
    return {
        r.employee_id: int(r.balance)
        for r in session.execute(select(accounts.c.employee_id, accounts.c.balance))
    }


def ledger_page(session: Session, employee_id: str, after_id: int, limit: int) -> list[Any]:
    """An employee's ledger entries after ``after_id``, by id."""
    return list(
        session.execute(
            select(ledger)
            .where(and_(ledger.c.employee_id == employee_id, ledger.c.id > after_id))
            .order_by(ledger.c.id)
            .limit(limit)
        ).mappings()
    )


def expiry_figures(session: Session, cutoff: datetime, source: str) -> list[Any]:
    """Per employee: org unit, points earned before ``cutoff``, spent, expired, and whether the expiry run
    ``source`` already wrote an entry (done)."""
    lg = ledger.c
    earned = func.sum(
        case(
            (
                and_(
                    lg.points > 0, lg.kind.in_(["award", "adjustment", "team_goal"]), lg.occurred_at < cutoff
                ),
                lg.points,
            ),
            else_=0,
        )
    )
    spent = func.sum(
        case(
            (and_(lg.points < 0, lg.kind != "expiry"), -lg.points),
            (lg.kind == "refund", -lg.points),
            else_=0,
        )
    )
    expired = func.sum(case((lg.kind == "expiry", -lg.points), else_=0))
    done = func.sum(case((lg.source_event_id == source, 1), else_=0))
    return list(
        session.execute(
            select(
                lg.employee_id,
                func.max(lg.org_unit).label("org_unit"),
                earned.label("earned"),
                spent.label("spent"),
                expired.label("expired"),
                done.label("done"),
            ).group_by(lg.employee_id)
        )
        .mappings()
        .all()
    )


# -- leaderboards ----------------------------------------------------------------------------------
def _visible(table: Table, sf: ScopeFilter, team: str, under: str) -> list[Any]:
    """Clauses for the rows ``sf`` lets its caller see, in org unit ``team`` (exactly) or below ``under``."""
    c = table.c
    clauses = [
        scope_clause(sf, c.employee_id, c.org_unit),
        c.org_unit == team if team else None,
        subtree(c.org_unit, under) if under else None,
    ]
    return [w for w in clauses if w is not None]


def _ahead(
    session: Session, where: list[Any], points: int, reached: datetime, employee_id: str
) -> tuple[int, int]:
    """(rows with a higher total, rows with the same total reached earlier) among period-total rows: two
    index range counts instead of one OR over the whole period."""
    pt = period_totals
    higher = session.execute(select(func.count()).select_from(pt).where(*where, pt.c.points > points))
    tied = session.execute(
        select(func.count())
        .select_from(pt)
        .where(
            *where,
            pt.c.points == points,
            or_(pt.c.reached_at < reached, and_(pt.c.reached_at == reached, pt.c.employee_id < employee_id)),
        )
    )
    return int(higher.scalar_one()), int(tied.scalar_one())


def _standing(r: Any) -> Standing:
    return Standing(r.employee_id, int(r.points), as_utc(r.reached_at), r.org_unit)


def period_top(
    session: Session, key: str, sf: ScopeFilter, team: str, under: str, top: int
) -> list[Standing]:
    """The first ``top`` standings of period ``key`` among the visible rows, in leaderboard order."""
    pt = period_totals
    rows = session.execute(
        select(pt.c.employee_id, pt.c.org_unit, pt.c.points, pt.c.reached_at)
        .where(pt.c.period == key, *_visible(pt, sf, team, under))
        .order_by(pt.c.points.desc(), pt.c.reached_at, pt.c.employee_id)
        .limit(top)
    ).all()
    return [_standing(r) for r in rows]


def period_place(
    session: Session, key: str, sf: ScopeFilter, team: str, under: str, employee_id: str
) -> tuple[int, int, int] | None:
    """(rank, points, gap to the next higher total) of ``employee_id`` among the visible rows of period
    ``key``; None when they have no visible total."""
    pt = period_totals
    where = [pt.c.period == key, *_visible(pt, sf, team, under)]
    mine = session.execute(
        select(pt.c.points, pt.c.reached_at).where(*where, pt.c.employee_id == employee_id)
    ).first()
    if mine is None:
        return None
    higher, tied = _ahead(session, where, mine.points, mine.reached_at, employee_id)
    gap = 0
    if higher and not tied:  # the place just above has the next higher total
        nxt = session.execute(
            select(func.min(pt.c.points)).where(*where, pt.c.points > mine.points)
        ).scalar_one()
        gap = int(nxt) - int(mine.points)
    return higher + tied + 1, int(mine.points), gap


def period_rank(session: Session, key: str, employee_id: str) -> tuple[int, int]:
    """(rank, population) of an employee among all totals of period ``key`` (rank 0: no total)."""
    pt = period_totals
    population = session.execute(select(func.count()).select_from(pt).where(pt.c.period == key)).scalar_one()
    mine = session.execute(
        select(pt.c.points, pt.c.reached_at).where(pt.c.period == key, pt.c.employee_id == employee_id)
    ).first()
    if mine is None:
        return 0, int(population)
    higher, tied = _ahead(session, [pt.c.period == key], mine.points, mine.reached_at, employee_id)
    return higher + tied + 1, int(population)


def earned_between(
    session: Session, start: datetime, end: datetime, sf: ScopeFilter, team: str, under: str
) -> list[Standing]:
    """Per visible employee: points earned in [start, end) and when the total was reached (unordered)."""
    lg = ledger
    rows = session.execute(
        select(
            lg.c.employee_id,
            func.max(lg.c.org_unit).label("org_unit"),
            func.sum(lg.c.points).label("points"),
            func.max(lg.c.occurred_at).label("reached_at"),
        )
        .where(
            lg.c.occurred_at >= start,
            lg.c.occurred_at < end,
            lg.c.kind.in_(EARNING_KINDS),
            *_visible(lg, sf, team, under),
        )
        .group_by(lg.c.employee_id)
    ).all()
    return [_standing(r) for r in rows]


def period_points(session: Session, key: str, employee_ids: Iterable[str]) -> dict[str, int]:
    """Points of period ``key`` by employee, for those of ``employee_ids`` with a total."""
    pt = period_totals.c
    out: dict[str, int] = {}
    for in_ids in among_parts(session, pt.employee_id, list(employee_ids)):
        rows = session.execute(select(pt.employee_id, pt.points).where(pt.period == key, in_ids))
        out.update({r.employee_id: int(r.points) for r in rows})
    return out


def period_standings(session: Session, key: str) -> list[Standing]:
    """Every total of period ``key`` (unordered)."""
    pt = period_totals.c
    rows = session.execute(
        select(pt.employee_id, pt.org_unit, pt.points, pt.reached_at).where(pt.period == key)
    )
    return [_standing(r) for r in rows]


# -- goals and nudges ------------------------------------------------------------------------------
def team_goal_by_request(session: Session, request_id: str) -> str | None:
    """The id of the team goal created for ``request_id``, if any."""
    row = session.execute(select(team_goals.c.id).where(team_goals.c.request_id == request_id)).first()
    return row.id if row else None


def add_team_goal(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(team_goals).values(**values))


def team_goal(session: Session, goal_id: str) -> dict[str, Any] | None:
    row = session.execute(select(team_goals).where(team_goals.c.id == goal_id)).mappings().first()
    return dict(row) if row is not None else None


def goal_progress(session: Session, goal_id: str) -> list[tuple[str, str, int]]:
    """(employee_id, org_unit, contribution) per contributor of a goal."""
    p = team_goal_progress.c
    rows = session.execute(
        select(p.employee_id, p.org_unit, p.contribution).where(p.goal_id == goal_id)
    ).all()
    return [(r.employee_id, r.org_unit, int(r.contribution)) for r in rows]


def team_goal_ids(
    session: Session, sf: ScopeFilter, under: str, ancestors: Sequence[str], after: str, limit: int
) -> list[str]:
    """Ids after ``after`` of the team goals below ``under`` (all when empty) that ``sf`` lets its caller see,
    or set on one of ``ancestors`` (a goal covers the subtree under its org unit), by id."""
    g = team_goals.c
    where = [g.id > after]
    if under:
        where.append(subtree(g.org_unit, under))
    if not sf.all:
        terms = []
        if sf.org_unit is not None:
            terms.append(g.org_unit == sf.org_unit)
        if sf.org_unit_prefix is not None:
            terms.append(subtree(g.org_unit, sf.org_unit_prefix))
        if ancestors:
            terms.append(g.org_unit.in_(list(ancestors)))
        where.append(or_(*terms) if terms else g.id.is_(None))
    return list(session.execute(select(g.id).where(*where).order_by(g.id).limit(limit)).scalars().all())


def upsert_personal_goal(session: Session, values: dict[str, Any]) -> None:
    """Set a personal goal (employee_id, period key, period_kind, org_unit, target); a later one replaces the
    target and org unit."""
    stmt = insert_for(session, personal_goals).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[personal_goals.c.employee_id, personal_goals.c.period],
            set_={"target": stmt.excluded.target, "org_unit": stmt.excluded.org_unit},
        )
    )


def personal_goal(session: Session, employee_id: str, key: str) -> Any:
    """(target, org_unit) of an employee's goal for period ``key``, None when unset."""
    pg = personal_goals.c
    stmt = select(pg.target, pg.org_unit).where(pg.employee_id == employee_id, pg.period == key)
    return session.execute(stmt).mappings().first()


def personal_goals_in(session: Session, keys: Sequence[str]) -> list[Any]:
    """The personal goals of the periods ``keys``: employee_id, org_unit, period_kind, target."""
    pg = personal_goals.c
    stmt = select(pg.employee_id, pg.org_unit, pg.period_kind, pg.target).where(pg.period.in_(list(keys)))
    return list(session.execute(stmt).mappings().all())


def claim_nudges(session: Session, employee_ids: Sequence[str], week: str, now: datetime) -> set[str]:
    """Mark the week's nudge sent for ``employee_ids``; those marked now (the others had theirs)."""
    return set(
        insert_columns(
            session,
            nudges_sent,
            {"employee_id": list(employee_ids)},
            const={"week": week, "sent_at": now},
            conflict="ON CONFLICT DO NOTHING",
            returning=["employee_id"],
        )
    )


# -- rewards ---------------------------------------------------------------------------------------
def add_reward_item(session: Session, values: dict[str, Any]) -> bool:
    """Add a reward item; False (and nothing written) when its id exists."""
    try:
        with session.begin_nested():
            session.execute(insert(reward_items).values(**values))
    except IntegrityError:
        return False
    return True


def reward_items_after(session: Session, after: str, limit: int) -> list[Any]:
    """Reward items after id ``after``, by id."""
    return list(
        session.execute(
            select(reward_items).where(reward_items.c.id > after).order_by(reward_items.c.id).limit(limit)
        ).mappings()
    )


def reward_item(session: Session, item_id: str, *, lock: bool = False) -> Any:
    """A reward item (locked until the unit ends with ``lock``), None when unknown."""
    stmt = select(reward_items).where(reward_items.c.id == item_id)
    return session.execute(stmt.with_for_update() if lock else stmt).mappings().first()


def move_stock(session: Session, item_id: str, by: int) -> None:
    """Take one unit of an item's stock (``by`` -1, never below zero) or put one back (``by`` 1)."""
    where = [reward_items.c.id == item_id]
    if by < 0:
        where.append(reward_items.c.stock > 0)
    session.execute(update(reward_items).where(*where).values(stock=reward_items.c.stock + by))


def held_redemptions(session: Session, item_id: str, employee_id: str, refunded: Iterable[str]) -> int:
    """How many redemptions of an item an employee holds (those in a ``refunded`` state do not count)."""
    r = redemptions.c
    return int(
        session.execute(
            select(func.count())
            .select_from(redemptions)
            .where(r.item_id == item_id, r.employee_id == employee_id, r.state.notin_(sorted(refunded)))
        ).scalar_one()
    )


def redemption_by_request(session: Session, request_id: str) -> Any:
    return (
        session.execute(select(redemptions).where(redemptions.c.request_id == request_id)).mappings().first()
    )


def redemption(session: Session, redemption_id: str, *, lock: bool = False) -> Any:
    """A redemption (locked until the unit ends with ``lock``), None when unknown."""
    stmt = select(redemptions).where(redemptions.c.id == redemption_id)
    return session.execute(stmt.with_for_update() if lock else stmt).mappings().first()


def add_redemption(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(redemptions).values(**values))


def set_redemption_state(session: Session, redemption_id: str, state: str, reason: str) -> None:
    session.execute(
        update(redemptions).where(redemptions.c.id == redemption_id).values(state=state, reason=reason)
    )
