"""Business events, reversals and manual adjustments: the ledger use cases, through the storage port."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize, authorizing_lookup, forbid_self
from covenant.auth.directory import require_line
from covenant.db import idempotency
from covenant.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from covenant.services import emitter_of, own_account_of
from services.points.domain import EventIn
from services.points.ingest import Result, entry
from services.points.service.base import MAX_BATCH, UseCase


class Events(UseCase):
    """Business events (recorded by source systems or delivered by other services), reversals and manual
    adjustments, through the storage port."""

    def apply(self, session: Session, event: EventIn) -> Result:
        """Apply one event inside the caller's unit of work (the event handler's inbox transaction)."""
        return self.deps.ingest.apply(self.deps.store(session), [event], delivered=True)[0]

    def apply_many(self, session: Session, events: Sequence[EventIn]) -> list[Result]:
        """Apply a delivered batch as one unit, inside the caller's unit of work."""
        return self.deps.ingest.apply(self.deps.store(session), events, delivered=True)

    def record(
        self, principal: Principal, events: Sequence[EventIn], *, with_duplicates: bool = True
    ) -> list[Result]:
        """Validate the whole batch (nothing is written when any event is bad), then apply it."""
        if not events:
            raise InvalidArgument("at least one event is required", field="events")
        if len(events) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} events per batch", field="events")
        authorize(principal, "points.events.write")  # before the directory says anything about anyone
        speaker = own_account_of(principal.subject) if principal.kind == "service" else None
        if speaker is not None:  # provenance: a Covenant service speaks only through its own events
            raise PermissionDenied(
                "points.events.write",
                f"{principal.subject} reports through its events, not as a source system",
            )
        now = self.deps.clock()
        single = len(events) == 1

        def where(i: int) -> str:
            return "event" if single else f"events[{i}]"

        for i, e in enumerate(events):
            for name in ("id", "type", "employee_id"):
                if not getattr(e, name):
                    raise InvalidArgument("is required", field=f"{where(i)}.{name}")
                if len(getattr(e, name)) > 128:
                    raise InvalidArgument("is longer than 128 characters", field=f"{where(i)}.{name}")
            if e.occurred_at > now + timedelta(minutes=5):
                raise InvalidArgument("is in the future", field=f"{where(i)}.occurred_at")
            source = emitter_of(e.type)
            if source is not None:  # provenance: only that service's delivery carries its event types
                raise PermissionDenied(
                    "points.events.write",
                    f"{where(i)}.type: {e.type} events come only from {source}, through its event delivery",
                )
        resolved: list[EventIn] = []
        directory = self.deps.directory
        if directory is not None:  # one concurrent look-up of the unknown ids, not a round trip per event
            directory.prefetch(e.employee_id for e in events)
        for i, e in enumerate(events):
            if directory is not None:  # the employee's org unit is the directory's, never the request's
                e = replace(
                    e, org_unit=directory.resolve(e.employee_id, org_unit=e.org_unit, field=where(i)).org_unit
                )
            authorize(principal, "points.events.write", DataOwner(e.employee_id, e.org_unit))
            resolved.append(e)
        with self.deps.stores() as store:
            return self.deps.ingest.apply(
                store,
                resolved,
                with_duplicates=with_duplicates,
                may_book=lambda employee_id, org_unit: authorize(
                    principal, "points.events.write", DataOwner(employee_id, org_unit)
                ),
            )

    def reverse(self, principal: Principal, source_event_id: str, reason: str) -> list[dict[str, Any]]:
        """Compensating entries for everything ``source_event_id`` paid; audited."""
        if not source_event_id:
            raise InvalidArgument("is required", field="source_event_id")
        if not reason.strip():
            raise InvalidArgument("a reason is required", field="reason")
        name, adjust = f"events/{source_event_id}", "points.ledger.adjust"
        with authorizing_lookup(principal, adjust, name) as check, self.deps.stores() as store:
            recorded = store.entries_of([source_event_id], ("award", "reversal"))
            paid = [r for r in recorded if r["kind"] == "award"]
            if not paid:
                raise NotFound(f"no points were paid for event {source_event_id}")
            # every employee the event paid (a split award pays several), not only the first
            for employee_id, org_unit in dict.fromkeys((r["employee_id"], r["org_unit"]) for r in paid):
                check(DataOwner(employee_id, org_unit))
                forbid_self(principal, employee_id, "points.ledger.adjust", "reverse their own points")
                require_line(
                    self.deps.directory, principal, employee_id, "points.ledger.adjust", "reverse points"
                )
            rows = self.deps.ingest.reversal_entries(
                store,
                source_event_id,
                reason.strip(),
                f"manual:{principal.subject}",
                self.deps.clock(),
                recorded=recorded,
            )
            if not rows:
                raise FailedPrecondition(f"event {source_event_id} was already reversed")
            rows = store.write(rows, self.deps.clock())
            store.audit(
                actor=principal.subject,
                action="points.reversed",
                subject=f"events/{source_event_id}",
                data={"reason": reason.strip(), "points": sum(e["points"] for e in rows)},
            )
            return rows

    def adjust(
        self, principal: Principal, employee_id: str, org_unit: str, points: int, reason: str, request_id: str
    ) -> dict[str, Any]:
        """A manual adjustment (managers, service accounts), with a reason, audited, idempotent."""
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        if points == 0:
            raise InvalidArgument("must not be zero", field="points")
        if not reason.strip():
            raise InvalidArgument("a reason is required for a manual adjustment", field="reason")
        org_unit = self.deps.unit(employee_id, org_unit)
        authorize(principal, "points.ledger.adjust", DataOwner(employee_id, org_unit))
        forbid_self(principal, employee_id, "points.ledger.adjust", "adjust their own points")
        require_line(self.deps.directory, principal, employee_id, "points.ledger.adjust", "adjust points")
        source = f"adjustment:{request_id or uuid.uuid4().hex}"
        reason_by = f"{reason.strip()} (by {principal.subject})"
        with self.deps.stores() as store:
            existing = store.entries_of([source])
            if existing:
                was = existing[0]
                if (was["employee_id"], was["points"], was["reason"]) != (employee_id, points, reason_by):
                    raise idempotency.reused(what="adjustment")  # another's, or another adjustment
                return was
            now = self.deps.clock()
            (row,) = store.write(
                [
                    entry(
                        employee_id=employee_id,
                        org_unit=org_unit,
                        points=points,
                        kind="adjustment",
                        reason=reason_by,
                        source_event_id=source,
                        rule_id="manual",
                        occurred_at=now,
                    )
                ],
                now,
            )
            store.audit(
                actor=principal.subject,
                action="points.adjusted",
                subject=f"employees/{employee_id}",
                data={"points": points, "reason": reason.strip(), "entry_id": row["id"]},
            )
            return row
