"""SQLAlchemy storage for compliance: scanned texts, watchlists, screening hits, client activity, cases;
``SqlComplianceStore``, the SQL side of the scan and case storage port."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
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
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from covenant.auth import ScopeFilter
from covenant.db import idempotency
from covenant.db.audit import AuditLog, VerifyResult
from covenant.db.bulk import among, among_parts, insert_for, insert_rows, update_rows
from covenant.db.outbox import Outbox
from covenant.db.scope import scope_clause, subtree
from covenant.events.v1.event_pb2 import Event
from covenant.timestamps import as_utc
from services.compliance.ports import CaseFilter, HitFilter

metadata = MetaData()

scanned_texts = Table(
    "compliance_scanned_texts",
    metadata,
    Column("text_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("result_json", Text, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

watchlist = Table(
    "compliance_watchlist",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("list_name", String(64), nullable=False),
    Column("name", String(512), nullable=False),
    # When the entry was loaded: replicas pick up entries loaded elsewhere since their last look.
    Column("loaded_at", DateTime(timezone=True), index=True),
)

client_activity = Table(
    "compliance_client_activity",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("open", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_follow_up_at", DateTime(timezone=True)),
)

cases = Table(
    "compliance_cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("window_key", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("sla_due_at", DateTime(timezone=True), nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("comments_json", Text, nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("pack_id", String(64), nullable=False, server_default=""),
    UniqueConstraint("employee_id", "rule_id", "window_key", name="uq_compliance_case_window"),
    # list_cases pages in (opened_at, id) order, with or without a state filter
    Index("ix_compliance_cases_opened", "opened_at", "id"),
    Index("ix_compliance_cases_state_opened", "state", "opened_at", "id"),
)

# Derived facts for behaviour rules (the rule engine keeps no state of its own).
client_contacts = Table(
    "compliance_client_contacts",
    metadata,
    Column("activity_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # contacts_between: a pair's contacts in a time window (employee-only lookups use its prefix)
    Index("ix_compliance_client_contacts_pair_at", "employee_id", "client_id", "at"),
)

client_risk = Table(
    "compliance_client_risk",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("high_risk", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A client contact whose client name matched a watchlist entry: one row per (activity, entry), with the
# explanation (the features behind the score: matched by characters, pinyin or traditional form).
screening_hits = Table(
    "compliance_screening_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("activity_id", String(128), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("client_name", String(256), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("list_name", String(128), nullable=False),
    Column("listed_name", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("features", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("activity_id", "entry_id", name="uq_compliance_screening_hit"),
    Index("ix_compliance_screening_hits_org", "org_unit", "at"),
)

dwell_anomalies = Table(
    "compliance_dwell_anomalies",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("day", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # last_dwell_anomaly: the latest of one employee-day's anomalies up to a time
    Index("ix_compliance_dwell_anomalies_day", "employee_id", "day", "at"),
)


class SqlComplianceStore:
    """``services.compliance.ports.ComplianceStore`` over one SQLAlchemy session (the caller's unit of
    work). Request ids go to the chassis idempotency table (``covenant.db.idempotency``) under ``service``."""

    def __init__(
        self, session: Session, outbox: Outbox, audit: AuditLog, service: str = "compliance"
    ) -> None:
        self.session = session
        self.outbox = outbox
        self.audit_log = audit
        self.service = service

    # -- scanned texts -----------------------------------------------------------------------
    def scan_result(self, text_id: str) -> str | None:
        return self.session.execute(
            select(scanned_texts.c.result_json).where(scanned_texts.c.text_id == text_id)
        ).scalar()

    def save_scan(self, *, text_id: str, employee_id: str, scanned_at: datetime, result_json: str) -> None:
        self.session.execute(
            insert(scanned_texts).values(
                text_id=text_id, employee_id=employee_id, scanned_at=scanned_at, result_json=result_json
            )
        )

    def purge_scans(self, before: datetime) -> int:
        n = self.session.execute(delete(scanned_texts).where(scanned_texts.c.scanned_at < before)).rowcount
        return int(n or 0)

    # -- watchlists --------------------------------------------------------------------------
    def watchlist_count(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(watchlist)).scalar() or 0)

    def watchlist_entries(self, loaded_since: datetime | None = None) -> list[Any]:
        stmt = select(watchlist).order_by(watchlist.c.id)
        if loaded_since is not None:
            stmt = stmt.where(watchlist.c.loaded_at >= loaded_since)
        return list(self.session.execute(stmt).all())

    def watchlist_ids(self, ids: Sequence[str]) -> set[str]:
        # up to 100,000 ids a load: one array parameter on PostgreSQL, IN lists under SQLite's bound limit
        found: set[str] = set()
        for cond in among_parts(self.session, watchlist.c.id, list(ids)):
            found.update(self.session.execute(select(watchlist.c.id).where(cond)).scalars())
        return found

    def add_watchlist(self, entries: Sequence[dict[str, Any]]) -> None:
        if entries:
            insert_rows(self.session, watchlist, list(entries))

    # -- behaviour facts ---------------------------------------------------------------------
    def last_dwell_anomaly(self, employee_id: str, day: str, at_or_before: datetime) -> datetime | None:
        d = dwell_anomalies.c
        return self.session.execute(
            select(func.max(d.at)).where(
                and_(d.employee_id == employee_id, d.day == day, d.at <= at_or_before)
            )
        ).scalar()

    def add_dwell_anomaly(self, *, event_id: str, employee_id: str, day: str, at: datetime) -> None:
        stmt = insert_for(self.session, dwell_anomalies).values(
            event_id=event_id, employee_id=employee_id, day=day, at=at
        )
        self.session.execute(stmt.on_conflict_do_nothing(index_elements=[dwell_anomalies.c.event_id]))

    def client_activities(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        wanted = set(pairs)
        if not wanted:
            return {}
        c = client_activity.c
        rows = self.session.execute(select(client_activity).where(self._of_pairs(c, wanted)))
        return {(r.employee_id, r.client_id): r for r in rows if (r.employee_id, r.client_id) in wanted}

    def _of_pairs(self, c: Any, pairs: set[tuple[str, str]]) -> ColumnElement[bool]:
        """Rows of the employees and the clients of ``pairs`` (a superset of the pairs: filter the rows)."""
        dialect = self.session.get_bind().dialect.name
        employees, clients = sorted({e for e, _ in pairs}), sorted({k for _, k in pairs})
        return and_(among(c.employee_id, employees, dialect), among(c.client_id, clients, dialect))

    def add_client_activity(self, values: dict[str, Any]) -> None:
        self.session.execute(insert(client_activity).values(**values))

    def update_client_activity(self, employee_id: str, client_id: str, values: dict[str, Any]) -> None:
        self.session.execute(
            update(client_activity).where(_activity_key(employee_id, client_id)).values(**values)
        )

    def set_follow_ups(self, rows: Sequence[dict[str, Any]]) -> None:
        update_rows(self.session, client_activity, ("employee_id", "client_id"), rows)

    def open_clients(self) -> list[Any]:
        return list(self.session.execute(select(client_activity).where(client_activity.c.open == 1)).all())

    def add_contacts(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        return set(
            insert_rows(
                self.session,
                client_contacts,
                rows,
                conflict="ON CONFLICT (activity_id) DO NOTHING",
                returning=["activity_id"],
            )
        )

    def contacts_between(
        self, pairs: Iterable[tuple[str, str]], after: datetime, until: datetime
    ) -> dict[tuple[str, str], list[Any]]:
        wanted = set(pairs)
        if not wanted:
            return {}
        c = client_contacts.c
        rows = self.session.execute(
            select(c.employee_id, c.client_id, c.activity_id, c.org_unit, c.at)
            .where(and_(self._of_pairs(c, wanted), c.at > after, c.at <= until))
            .order_by(c.at, c.activity_id)
        )
        found: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            if (r.employee_id, r.client_id) in wanted:
                found.setdefault((r.employee_id, r.client_id), []).append(
                    SimpleNamespace(activity_id=r.activity_id, org_unit=r.org_unit, at=as_utc(r.at))
                )
        return found

    def client_risks(self, client_ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(set(client_ids))
        if not ids:
            return {}
        c, dialect = client_risk.c, self.session.get_bind().dialect.name
        return {
            r.client_id: r
            for r in self.session.execute(select(client_risk).where(among(c.client_id, ids, dialect)))
        }

    def save_client_risk(self, client_id: str, values: dict[str, Any]) -> None:
        # one upsert: two contacts with a new client at once both used to see no row, and one failed
        stmt = insert_for(self.session, client_risk).values(client_id=client_id, **values)
        self.session.execute(
            stmt.on_conflict_do_update(index_elements=[client_risk.c.client_id], set_=values)
        )

    # -- screening hits ----------------------------------------------------------------------
    def add_screening_hit(self, values: dict[str, Any]) -> None:
        h = screening_hits.c
        stmt = insert_for(self.session, screening_hits).values(**values)
        self.session.execute(stmt.on_conflict_do_nothing(index_elements=[h.activity_id, h.entry_id]))

    def screening_hits(self, scope: ScopeFilter, where: HitFilter, limit: int) -> list[Any]:
        h = screening_hits.c
        stmt = select(screening_hits).order_by(h.id.desc())
        visible = scope_clause(scope, h.employee_id, h.org_unit)
        if visible is not None:
            stmt = stmt.where(visible)
        if where.org_unit.rstrip("/"):
            stmt = stmt.where(subtree(h.org_unit, where.org_unit))
        if where.start is not None:
            stmt = stmt.where(h.at >= where.start)
        if where.end is not None:
            stmt = stmt.where(h.at < where.end)
        if where.status:
            stmt = stmt.where(h.status == where.status)
        if where.before_id is not None:
            stmt = stmt.where(h.id < where.before_id)
        return list(self.session.execute(stmt.limit(limit)).all())

    # -- cases -------------------------------------------------------------------------------
    def case_in_window(self, employee_id: str, rule_id: str, window_key: str) -> Any | None:
        c = cases.c
        return self.session.execute(
            select(cases)
            .where(and_(c.employee_id == employee_id, c.rule_id == rule_id, c.window_key == window_key))
            .with_for_update()
        ).first()

    def case(self, case_id: str, *, lock: bool = False) -> Any | None:
        stmt = select(cases).where(cases.c.id == case_id)
        return self.session.execute(stmt.with_for_update() if lock else stmt).first()

    def list_cases(self, scope: ScopeFilter, where: CaseFilter, limit: int) -> list[Any]:
        c = cases.c
        stmt = select(cases).order_by(c.opened_at, c.id)
        visible = scope_clause(scope, c.employee_id, c.org_unit)
        if visible is not None:
            stmt = stmt.where(visible)
        if where.employee_id:
            stmt = stmt.where(c.employee_id == where.employee_id)
        if where.state:
            stmt = stmt.where(c.state == where.state)
        if where.after is not None:
            at, case_id = where.after
            stmt = stmt.where(or_(c.opened_at > at, and_(c.opened_at == at, c.id > case_id)))
        return list(self.session.execute(stmt.limit(limit)).all())

    def overdue_cases(self, as_of: datetime, limit: int) -> list[Any]:
        c = cases.c
        return list(
            self.session.execute(
                select(cases)
                .where(and_(c.state == "OPEN", c.sla_due_at < as_of))
                .order_by(c.sla_due_at)
                .limit(limit)
                .with_for_update()
            ).all()
        )

    def cases_with_phrase_hits(self) -> list[Any]:
        c = cases.c
        return list(
            self.session.execute(
                select(c.state, c.evidence_json, c.comments_json)
                .where(c.evidence_json.like('%"phrase"%'))
                .order_by(c.updated_at, c.id)
            ).all()
        )

    def add_case(self, values: dict[str, Any]) -> None:
        self.session.execute(insert(cases).values(**values))

    def update_case(self, case_id: str, values: dict[str, Any]) -> None:
        self.session.execute(update(cases).where(cases.c.id == case_id).values(**values))

    # -- request ids, events, audit ----------------------------------------------------------
    def replayed(self, method: str, request_id: str, *, fingerprint: str | None = None) -> str | None:
        return idempotency.replayed(self.session, self.service, method, request_id, fingerprint=fingerprint)

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, *, fingerprint: str | None = None
    ) -> None:
        idempotency.remember(
            self.session, self.service, method, request_id, response, now, fingerprint=fingerprint
        )

    def purge_requests(self, before: datetime) -> None:
        idempotency.purge(self.session, self.service, before)

    def emit(self, event: Event) -> None:
        self.outbox.add(self.session, event)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self.audit_log.append(self.session, actor=actor, action=action, subject=subject, data=data)

    def verify_audit(self, stream: str) -> VerifyResult:
        return AuditLog(stream).verify(self.session)


def _activity_key(employee_id: str, client_id: str) -> Any:
    return and_(client_activity.c.employee_id == employee_id, client_activity.c.client_id == client_id)


def open_cases_by_severity(
    session: Session, states: Sequence[str], recent_since: datetime, old_before: datetime
) -> list[tuple[str, int, int, int, datetime | None]]:
    """Per severity of the cases in ``states``: (severity, count, opened since ``recent_since``, opened
    before ``old_before``, the earliest opening)."""
    stmt = (
        select(
            cases.c.severity,
            func.count(),
            func.sum(case((cases.c.opened_at >= recent_since, 1), else_=0)),
            func.sum(case((cases.c.opened_at < old_before, 1), else_=0)),
            func.min(cases.c.opened_at),
        )
        .where(cases.c.state.in_(list(states)))
        .group_by(cases.c.severity)
    )
    return [
        (
            severity,
            int(total),
            int(recent or 0),
            int(old or 0),
            as_utc(oldest) if oldest is not None else None,
        )
        for severity, total, recent, old, oldest in session.execute(stmt)
    ]
