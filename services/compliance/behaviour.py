"""Behaviour: facts kept for the rules (client lifecycle, contacts, dwell anomalies) from requests and from
other services' events, and the scheduled rules over open clients (no follow-up for N days)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize
from covenant.db import idempotency
from covenant.errors import InvalidArgument
from covenant.timestamps import as_utc as _utc
from services.compliance.cases import Cases
from services.compliance.context import Context
from services.compliance.ports import ComplianceStore
from services.compliance.screening import Screening

ACTIVITY_KINDS = ("opened", "follow_up", "closed", "contact")


class Behaviour:
    """Behaviour facts (client lifecycle, contacts, dwell anomalies) and the scheduled behaviour rules."""

    def __init__(self, ctx: Context, cases: Cases, screening: Screening) -> None:
        self.ctx = ctx
        self.cases = cases
        self.screening = screening

    def record_activity(
        self,
        principal: Principal,
        employee_id: str,
        org_unit: str,
        client_id: str,
        kind: str,
        at: datetime,
        *,
        client_name: str = "",
        activity_id: str = "",
    ) -> list[str]:
        """A client lifecycle fact (opened / follow_up / closed) or a contact; returns cases it touched."""
        for name, value in (("employee_id", employee_id), ("client_id", client_id)):
            if not value:
                raise InvalidArgument("is required", field=name)
        if kind not in ACTIVITY_KINDS:
            raise InvalidArgument(f"must be one of {', '.join(ACTIVITY_KINDS)}", field="kind")
        authorize(principal, "compliance.activity.write")  # before the directory says anything about anyone
        org_unit = self.ctx.unit(employee_id, org_unit)
        authorize(principal, "compliance.activity.write", DataOwner(employee_id, org_unit))
        matches = None
        if kind == "contact" and client_name.strip():  # screened before the unit of work starts
            matches = self.screening.match(client_name)
        fp = idempotency.fingerprint(employee_id, org_unit, client_id, kind, at, client_name)
        with self.ctx.stores() as store:
            if store.replayed("RecordClientActivity", activity_id, fingerprint=fp) is not None:
                return []
            self.ctx.remember(store, "RecordClientActivity", activity_id, {}, fp)
            if kind == "contact":
                contact_id = activity_id or uuid.uuid4().hex
                if matches is not None:
                    self.screening.classify_client(store, client_id, matches)
                    self.screening.keep_hits(
                        store, contact_id, employee_id, org_unit, client_id, client_name, at, matches
                    )
                return self.record_contact(store, employee_id, org_unit, client_id, at, contact_id)
            row = store.client_activity(employee_id, client_id)
            if row is None:
                store.add_client_activity(
                    dict(
                        employee_id=employee_id,
                        client_id=client_id,
                        org_unit=org_unit,
                        open=int(kind != "closed"),
                        opened_at=at,
                        last_follow_up_at=at if kind == "follow_up" else None,
                    )
                )
            elif kind == "follow_up":
                store.update_client_activity(employee_id, client_id, {"last_follow_up_at": at})
            else:
                store.update_client_activity(
                    employee_id,
                    client_id,
                    {"open": int(kind == "opened"), **({"opened_at": at} if kind == "opened" else {})},
                )
        return []

    def record_contact(
        self,
        store: ComplianceStore,
        employee_id: str,
        org_unit: str,
        client_id: str,
        at: datetime,
        activity_id: str,
    ) -> list[str]:
        """A contact with a client; repeated contact with a high-risk client is a rule decision."""
        contact = dict(
            activity_id=activity_id, employee_id=employee_id, client_id=client_id, org_unit=org_unit, at=at
        )
        if not store.add_contact(contact):
            return []
        risk = store.client_risk(client_id)
        packs = self.ctx.rules.snapshot()  # the window counted and the rule judging the count: one pack set
        days = int(self.ctx.rules.parameter("contact_window_days", default=7, packs=packs))
        contacts = store.count_contacts(employee_id, client_id, at - timedelta(days=days), at)
        return self.cases.fire(
            store,
            {"type": "compliance.client_contact"},
            {"client_high_risk": bool(risk and risk.high_risk), "contacts_in_window": contacts},
            employee_id=employee_id,
            org_unit=org_unit,
            at=at,
            evidence={
                "client_id": client_id,
                "contacts_in_window": contacts,
                "window_days": days,
                "risk": risk.reason if risk else "",
                "activity_id": activity_id,
            },
            evidence_key=f"contact:{client_id}",
            category="high_risk_contact",
            packs=packs,
        )

    def record_follow_up(
        self, store: ComplianceStore, employee_id: str, org_unit: str, client_id: str, at: datetime
    ) -> None:
        """A follow-up with an open client, inside the caller's unit of work (event consumers)."""
        if not employee_id or not client_id:
            return
        row = store.client_activity(employee_id, client_id)
        if row is not None and (row.last_follow_up_at is None or _utc(row.last_follow_up_at) < at):
            store.update_client_activity(employee_id, client_id, {"last_follow_up_at": at})

    def on_event(
        self,
        session: Session,
        event_type: str,
        data: Mapping[str, Any],
        *,
        event_id: str,
        org_unit: str,
        occurred_at: datetime,
    ) -> None:
        """Facts from other services (inside the inbox transaction)."""
        employee = str(data.get("employee_id", ""))
        if not employee:
            return
        store = self.ctx.store(session)
        if event_type == "attendance.visit_verified":
            client = str(data.get("client_id", ""))
            self.record_follow_up(store, employee, org_unit, client, occurred_at)
            if client:
                self.record_contact(store, employee, org_unit, client, occurred_at, event_id)
        elif event_type == "attendance.dwell_anomaly":
            store.add_dwell_anomaly(
                event_id=event_id,
                employee_id=employee,
                day=str(data.get("day") or self.ctx.local_date(occurred_at).isoformat()),
                at=occurred_at,
            )
        elif event_type == "attendance.daily_summary":
            day = str(data.get("date", ""))
            try:
                at = self.ctx.midnight(date.fromisoformat(day))
            except ValueError:
                return
            facts = {k: v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            self.cases.fire(
                store,
                {"type": "attendance.daily_summary"},
                facts,
                employee_id=employee,
                org_unit=org_unit,
                at=at,
                evidence={"event_id": event_id, "date": day, **facts},
                evidence_key=f"summary:{day}",
                category="field_presence",
            )
        elif event_type == "commitments.breached":
            self.cases.fire(
                store,
                {"type": "commitments.breached", "template_id": str(data.get("template_id", ""))},
                {},
                employee_id=employee,
                org_unit=org_unit,
                at=occurred_at,
                evidence={
                    "event_id": event_id,
                    "commitment": str(data.get("commitment", "")),
                    "client_id": str(data.get("client_id", "")),
                },
                evidence_key=f"commitment:{data.get('commitment', event_id)}",
                category="commitment_breach",
            )

    def evaluate_behaviour(self, principal: Principal | None, as_of: datetime) -> list[str]:
        """Scheduled rules over open clients (no follow-up for N days); returns the cases newly opened."""
        if principal is not None:
            authorize(principal, "compliance.rules.evaluate")
        opened: list[str] = []
        today = self.ctx.local_date(as_of)
        with self.ctx.stores() as store:
            before = store.case_ids()
            rows = store.open_clients()
            packs = self.ctx.rules.snapshot()  # the calendar and the rules of this pass: one pack set
            calendar = self.ctx.calendar(packs)
            for r in rows:
                last = r.last_follow_up_at or r.opened_at
                since = self.ctx.local_date(last)
                days = (
                    calendar.business_days_between(since + timedelta(days=1), today) if since < today else 0
                )
                cases = self.cases.fire(
                    store,
                    {"type": "compliance.client_state", "client_id": r.client_id},
                    {"days_without_follow_up": days},
                    employee_id=r.employee_id,
                    org_unit=r.org_unit,
                    at=as_of,
                    evidence={"client_id": r.client_id, "days_without_follow_up": days},
                    evidence_key=f"client:{r.client_id}:{self.ctx.local_date(last).isoformat()}",
                    category="follow_up",
                    packs=packs,
                )
                opened += [c for c in cases if c.removeprefix("cases/") not in before and c not in opened]
        return opened
