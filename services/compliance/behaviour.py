"""Behaviour: facts kept for the rules (client lifecycle, contacts, dwell anomalies) from requests and from
other services' events, and the scheduled rules over open clients (no follow-up for N days)."""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Contact:
    """A contact of an employee with a client (a verified visit, or one reported through the API)."""

    activity_id: str
    employee_id: str
    org_unit: str
    client_id: str
    at: datetime


@dataclass(frozen=True)
class Fact:
    """Another service's event, as the behaviour rules read it."""

    event_id: str
    type: str
    data: Mapping[str, Any]
    org_unit: str
    occurred_at: datetime


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
                contact = Contact(activity_id or uuid.uuid4().hex, employee_id, org_unit, client_id, at)
                if matches is not None:
                    self.screening.classify_client(store, client_id, matches)
                    self.screening.keep_hits(
                        store, contact.activity_id, employee_id, org_unit, client_id, client_name, at, matches
                    )
                return self.record_contacts(store, [contact])
            row = store.client_activities([(employee_id, client_id)]).get((employee_id, client_id))
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
                self.record_follow_ups(store, [Contact("", employee_id, org_unit, client_id, at)])
            else:
                store.update_client_activity(
                    employee_id,
                    client_id,
                    {"open": int(kind == "opened"), **({"opened_at": at} if kind == "opened" else {})},
                )
        return []

    def record_contacts(self, store: ComplianceStore, contacts: Sequence[Contact]) -> list[str]:
        """Contacts with clients, in one unit of work; repeated contact with a high-risk client within the
        pack's window is a rule decision, judged by fact time whatever order the contacts arrive in: each new
        contact is counted with those before it in the window, and the later contacts it falls before are
        judged again (their counts grew). A handful of statements for the whole batch."""
        # vars(), not asdict(): asdict deep-copies every field of every contact
        new = store.add_contacts([vars(c).copy() for c in contacts]) if contacts else set()
        fresh = [c for c in contacts if c.activity_id in new]
        if not fresh:
            return []
        risks = store.client_risks({c.client_id for c in fresh})
        packs = self.ctx.rules.snapshot()  # the window counted and the rule judging the count: one pack set
        days = int(self.ctx.rules.parameter("contact_window_days", default=7, packs=packs))
        window = timedelta(days=days)
        known = store.contacts_between(
            {(c.employee_id, c.client_id) for c in fresh},
            min(c.at for c in fresh) - window,
            max(c.at for c in fresh) + window,
        )
        judged: dict[str, tuple[Contact, int]] = {}
        for c in fresh:
            seen = known.get((c.employee_id, c.client_id), [])
            times = [r.at for r in seen]
            for r in seen[bisect_left(times, c.at) : bisect_right(times, c.at + window)]:
                count = bisect_right(times, r.at) - bisect_right(times, r.at - window)
                judged[r.activity_id] = (
                    Contact(r.activity_id, c.employee_id, r.org_unit, c.client_id, r.at),
                    count,
                )
        touched: list[str] = []
        for d, count in sorted(judged.values(), key=lambda j: (j[0].at, j[0].activity_id)):
            risk = risks.get(d.client_id)
            cases = self.cases.fire(
                store,
                {"type": "compliance.client_contact"},
                {"client_high_risk": bool(risk and risk.high_risk), "contacts_in_window": count},
                employee_id=d.employee_id,
                org_unit=d.org_unit,
                at=d.at,
                evidence={
                    "client_id": d.client_id,
                    "contacts_in_window": count,
                    "window_days": days,
                    "risk": risk.reason if risk else "",
                    "activity_id": d.activity_id,
                },
                evidence_key=f"contact:{d.client_id}",
                category="high_risk_contact",
                packs=packs,
            )
            touched += [case for case in cases if case not in touched]
        return touched

    def record_follow_ups(self, store: ComplianceStore, visits: Sequence[Contact]) -> None:
        """Follow-ups with open clients: each lifecycle row keeps its latest follow-up by fact time (a late
        report of an older visit moves nothing back). One read and one write for the whole batch."""
        latest: dict[tuple[str, str], datetime] = {}
        for v in visits:
            if v.employee_id and v.client_id:
                key = (v.employee_id, v.client_id)
                latest[key] = max(v.at, latest.get(key, v.at))
        rows = store.client_activities(latest)
        store.set_follow_ups(
            [
                {"employee_id": e, "client_id": k, "last_follow_up_at": at}
                for (e, k), at in latest.items()
                if (row := rows.get((e, k))) is not None
                and (row.last_follow_up_at is None or _utc(row.last_follow_up_at) < at)
            ]
        )

    def on_events(self, session: Session, facts: Sequence[Fact]) -> None:
        """Facts from other services (inside the inbox transaction): the visits of a delivered batch
        together (``record_follow_ups``, ``record_contacts``), every other fact in turn."""
        store = self.ctx.store(session)
        visits = [
            Contact(
                f.event_id,
                str(f.data.get("employee_id", "")),
                f.org_unit,
                str(f.data.get("client_id", "")),
                f.occurred_at,
            )
            for f in facts
            if f.type == "attendance.visit_verified"
        ]
        self.record_follow_ups(store, visits)
        self.record_contacts(store, [v for v in visits if v.employee_id and v.client_id])
        for f in facts:
            if f.type != "attendance.visit_verified" and f.data.get("employee_id"):
                self._on_fact(store, f, str(f.data["employee_id"]))

    def _on_fact(self, store: ComplianceStore, f: Fact, employee: str) -> None:
        """One fact other than a visit: a dwell anomaly, a day's summary, a breached commitment."""
        data, event_id, org_unit, occurred_at = f.data, f.event_id, f.org_unit, f.occurred_at
        if f.type == "attendance.dwell_anomaly":
            store.add_dwell_anomaly(
                event_id=event_id,
                employee_id=employee,
                day=str(data.get("day") or self.ctx.local_date(occurred_at).isoformat()),
                at=occurred_at,
            )
        elif f.type == "attendance.daily_summary":
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
        elif f.type == "commitments.breached":
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
            rows = store.open_clients()
            packs = self.ctx.rules.snapshot()  # the calendar and the rules of this pass: one pack set
            calendar = self.ctx.calendar(packs)
            for r in rows:
                last = r.last_follow_up_at or r.opened_at
                since = self.ctx.local_date(last)
                days = (
                    calendar.business_days_between(since + timedelta(days=1), today) if since < today else 0
                )
                self.cases.fire(
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
                    opened=opened,
                )
        return opened
