"""SQLAlchemy tables of the points service and ``SqlPointsStore``, the SQL side of its storage port.

``points_ledger`` is the system of record (append-only). ``points_accounts`` (balance) and
``points_period_totals`` (earned per calendar period, for leaderboards and goals) are projections kept in the
same transaction as the entries; ``points_cap_usage`` is the cap state per rule, employee and period.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    select,
    update,
)
from sqlalchemy.orm import Session

from covenant.db.audit import AuditLog
from covenant.db.bulk import insert_columns, insert_for, insert_rows, lock_rows, update_rows
from covenant.db.outbox import Outbox
from covenant.events.v1.event_pb2 import Event
from services.points.domain import EventIn
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
        # A concurrent transaction holding the same id makes this one wait, then skip it.
        ordered = sorted(events, key=lambda e: e.id)
        cols = {
            "event_id": [e.id for e in ordered],
            "event_type": [e.type for e in ordered],
            "employee_id": [e.employee_id for e in ordered],
        }
        return set(
            insert_columns(
                self.session,
                applied_events,
                cols,
                const={"applied_at": now},
                conflict="ON CONFLICT (event_id) DO NOTHING",
                returning="event_id",
            )
        )

    def lock_caps(self, keys: Sequence[CapKey]) -> dict[CapKey, int]:
        if not keys:
            return {}
        keys = sorted(keys)
        insert_rows(
            self.session,
            cap_usage,
            [{"employee_id": e, "rule_id": r, "period": p, "used": 0} for e, r, p in keys],
            conflict="ON CONFLICT (employee_id, rule_id, period) DO NOTHING",
        )
        rows = lock_rows(self.session, cap_usage, ["employee_id", "rule_id", "period"], keys)
        return {(r.employee_id, r.rule_id, r.period): int(r.used) for r in rows}

    def store_caps(self, used: dict[CapKey, int]) -> None:
        update_rows(
            self.session,
            cap_usage,
            ["employee_id", "rule_id", "period"],
            [
                {"employee_id": e, "rule_id": r, "period": p, "used": v}
                for (e, r, p), v in sorted(used.items())
            ],
        )

    def entries_of(self, source_event_ids: Sequence[str], kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        c = ledger.c
        for i in range(0, len(source_event_ids), 1000):
            part = list(source_event_ids[i : i + 1000])
            where = [c.source_event_id == part[0]] if len(part) == 1 else [c.source_event_id.in_(part)]
            if kinds:
                where.append(c.kind.in_(list(kinds)))
            out += [dict(r) for r in self.session.execute(select(ledger).where(and_(*where))).mappings()]
        return out

    def write(self, entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        return self.writer.write(self.session, entries, now)

    def account(self, employee_id: str) -> tuple[str, int] | None:
        row = self.session.execute(
            select(accounts.c.org_unit, accounts.c.balance).where(accounts.c.employee_id == employee_id)
        ).first()
        return (row.org_unit, int(row.balance)) if row else None

    def open_team_goals(self, event_types: Sequence[str]) -> list[Any]:
        g = team_goals.c
        return list(
            self.session.execute(
                select(team_goals)
                .where(and_(g.state == "OPEN", g.event_type.in_(list(event_types))))
                .order_by(g.id)
            ).all()
        )

    def lock_team_goals(self, goal_ids: Sequence[str]) -> dict[str, Any]:
        g = team_goals.c
        rows = self.session.execute(
            select(team_goals).where(g.id.in_(list(goal_ids))).order_by(g.id).with_for_update()
        ).all()
        return {r.id: r for r in rows}

    def add_goal_progress(self, rows: Sequence[dict[str, Any]]) -> None:
        stmt = insert_for(self.session, team_goal_progress).values(list(rows))
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[team_goal_progress.c.goal_id, team_goal_progress.c.employee_id],
                set_={"contribution": team_goal_progress.c.contribution + stmt.excluded.contribution},
            )
        )

    def goal_progress(self, goal_id: str) -> list[tuple[str, str, int]]:
        p = team_goal_progress.c
        rows = self.session.execute(
            select(p.employee_id, p.org_unit, p.contribution).where(p.goal_id == goal_id)
        ).all()
        return [(r.employee_id, r.org_unit, int(r.contribution)) for r in rows]

    def achieve_goal(self, goal_id: str, at: datetime) -> None:
        self.session.execute(
            update(team_goals).where(team_goals.c.id == goal_id).values(state="ACHIEVED", achieved_at=at)
        )

    def emit(self, event: Event) -> None:
        self.outbox.add(self.session, event)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self.audit_log.append(self.session, actor=actor, action=action, subject=subject, data=data)
