"""Cases: rule decisions open or join the case of employee + rule + window; officers read, move and comment
on them; overdue ones escalate. Every case transition is audited and published (case_opened,
case_updated, alert_raised) through the outbox in the same unit of work."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from covenant.auth import DataOwner, Principal, authorize, authorizing_lookup, forbid_self, scope_filter
from covenant.auth.directory import forbid_line
from covenant.db import idempotency
from covenant.db.outbox import new_event
from covenant.errors import InvalidArgument, NotFound
from services.compliance.context import SOURCE, Context
from services.compliance.domain.cases import check_transition
from services.compliance.ports import CaseFilter, ComplianceStore

MANAGE = "compliance.cases.manage"  # transitions and comments
SLA_HOURS = {"low": 72, "medium": 24, "high": 8, "critical": 2}


class Cases:
    """Rule decisions to cases, and the case use cases (read, list, transition, comment, escalate)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def window_key(self, window: str, at: datetime) -> str:
        day = self.ctx.local_date(at)
        if window == "week":
            y, w, _ = day.isocalendar()
            return f"{y}-W{w:02d}"
        if window == "month":
            return day.strftime("%Y-%m")
        return day.isoformat()

    def fire(
        self,
        store: ComplianceStore,
        event: Mapping[str, Any],
        facts: Mapping[str, Any],
        *,
        employee_id: str,
        org_unit: str,
        at: datetime,
        evidence: dict[str, Any],
        evidence_key: str,
        category: str = "",
        packs: Sequence[Any] | None = None,
        opened: list[str] | None = None,
    ) -> list[str]:
        """Evaluate the pack (``packs``: the decision's snapshot) for one finding; every ``open_case``
        opens or joins a case. Returns the cases touched; those newly opened are also added to ``opened``."""
        cases: list[str] = []
        for a in self.ctx.rules.evaluate(dict(event), dict(facts), packs=packs):
            if a.action != "open_case":
                continue
            case_id = self._open(
                store,
                a,
                employee_id=employee_id,
                org_unit=org_unit,
                category=str(a.params.get("category", category or event.get("category", "other"))),
                at=at,
                evidence={**evidence, "key": evidence_key},
                opened=opened,
            )
            if f"cases/{case_id}" not in cases:
                cases.append(f"cases/{case_id}")
        return cases

    def _open(
        self,
        store: ComplianceStore,
        action: Any,
        *,
        employee_id: str,
        org_unit: str,
        category: str,
        at: datetime,
        evidence: dict[str, Any],
        opened: list[str] | None = None,
    ) -> str:
        """Join the case of employee + rule + window (once per evidence key) or open one (its name added
        to ``opened``), for the ``open_case`` ``action`` (its rule, pack, severity, window and SLA)."""
        params = action.params
        decision = {
            "employee_id": employee_id,
            "rule_id": action.rule_id,
            "category": category,
            "severity": str(params["severity"]),
            "pack_id": action.pack_id,
            "pack_version": action.pack_version,
        }
        rule_id, severity = action.rule_id, decision["severity"]
        key = self.window_key(str(params.get("window", "day")), at)
        now = self.ctx.clock()
        row = store.case_in_window(employee_id, rule_id, key)
        if row is not None:
            case_id = row.id
            ev = json.loads(row.evidence_json)
            items = ev.setdefault("items", [])
            if any(i.get("key") == evidence["key"] for i in items):
                return case_id  # the same finding again (re-evaluation): nothing new
            items.append(evidence)
            store.update_case(
                case_id,
                {
                    "evidence_json": json.dumps(ev, ensure_ascii=False),
                    "occurrences": row.occurrences + 1,
                    "updated_at": now,
                },
            )
        else:
            case_id = uuid.uuid4().hex[:16]
            sla_hours = int(params.get("sla_hours") or SLA_HOURS.get(severity, 24))
            store.add_case(
                {
                    "id": case_id,
                    **decision,
                    "org_unit": org_unit,
                    "window_key": key,
                    "state": "OPEN",
                    "owner": "",
                    "opened_at": now,
                    "updated_at": now,
                    "sla_due_at": now + timedelta(hours=sla_hours),
                    "evidence_json": json.dumps({"items": [evidence]}, ensure_ascii=False),
                    "comments_json": "[]",
                    "occurrences": 1,
                }
            )
            store.audit(
                actor="compliance",
                action="case.opened",
                subject=f"cases/{case_id}",
                data={"employee_id": employee_id, "rule_id": rule_id, "severity": severity, "window": key},
            )
        data = {"case": f"cases/{case_id}", **decision}
        if row is None:
            self._emit(store, "compliance.case_opened", employee_id, org_unit, data, case_id)
            if opened is not None:
                opened.append(f"cases/{case_id}")
        self._emit(
            store,
            "compliance.alert_raised",
            employee_id,
            org_unit,
            {**data, "evidence_key": evidence["key"]},
            f"{case_id}:{evidence['key']}",
        )
        return case_id

    def _emit(
        self,
        store: ComplianceStore,
        kind: str,
        employee_id: str,
        org_unit: str,
        data: dict[str, Any],
        key: str,
    ) -> None:
        store.emit(
            new_event(
                kind,
                source=SOURCE,
                subject=f"employees/{employee_id}",
                org_unit=org_unit,
                data=data,
                idempotency_key=f"{kind}:{key}",
            ),
        )

    def _transitioned(
        self,
        store: ComplianceStore,
        row: Any,
        state: str,
        actor: str,
        audit_extra: dict[str, Any],
        event_extra: dict[str, Any],
        key: str,
    ) -> None:
        """Audit a case's move from ``row.state`` to ``state`` and publish compliance.case_updated."""
        name = f"cases/{row.id}"
        store.audit(
            actor=actor,
            action="case.transition",
            subject=name,
            data={"from": row.state, "to": state, **audit_extra},
        )
        data = {"employee_id": row.employee_id, "case": name, "from_state": row.state, "state": state}
        data |= {**event_extra, "rule_id": row.rule_id, "category": row.category, "severity": row.severity}
        self._emit(store, "compliance.case_updated", row.employee_id, row.org_unit, data, key)

    def _case(self, store: ComplianceStore, name: str, *, lock: bool = False) -> Any:
        case_id = name.removeprefix("cases/")
        if not case_id or case_id == name:
            raise InvalidArgument("must look like cases/{id}", field="name")
        row = store.case(case_id, lock=lock)
        if row is None:
            raise NotFound(f"{name} not found")
        return row

    def get_case(self, principal: Principal, name: str) -> Any:
        with authorizing_lookup(principal, "compliance.cases.read", name) as check:
            with self.ctx.stores() as store:
                row = self._case(store, name)
            check(DataOwner(row.employee_id, row.org_unit))
        return row

    def list_cases(
        self,
        principal: Principal,
        employee_id: str,
        state: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Any]:
        """Up to ``limit`` cases visible to the caller (scope applied in the query), oldest first, after the
        keyset position ``after`` (opened_at, id); ``covenant.paging.page`` asks for one more."""
        scope = scope_filter(principal, "compliance.cases.read")
        with self.ctx.stores() as store:
            return store.list_cases(scope, CaseFilter(employee_id, state, after), limit)

    def transition(
        self,
        principal: Principal,
        name: str,
        state: str,
        owner: str,
        comment: str,
        request_id: str = "",
    ) -> Any:
        """Move a case; acknowledging and closing need an owner, closing a comment."""
        with self._case_to_handle(principal, name) as (store, row):
            fp = idempotency.fingerprint(name, state, owner, comment)
            if store.replayed("TransitionCase", request_id, fingerprint=fp) is not None:
                return row
            new_owner = owner or row.owner
            check_transition(row.state, state, new_owner, comment)
            comments = json.loads(row.comments_json)
            if comment.strip():
                comments.append(f"{principal.subject}: {comment.strip()}")
            store.update_case(
                row.id,
                {
                    "state": state,
                    "owner": new_owner,
                    "updated_at": self.ctx.clock(),
                    "comments_json": json.dumps(comments, ensure_ascii=False),
                },
            )
            self.ctx.remember(store, "TransitionCase", request_id, {"case": name}, fp)
            self._transitioned(
                store,
                row,
                state,
                principal.subject,
                {"owner": new_owner, "comment": comment.strip()},
                {"owner": new_owner},
                f"{row.id}:{row.state}->{state}:{request_id or uuid.uuid4().hex}",
            )
            return self._case(store, name)

    @contextmanager
    def _case_to_handle(self, principal: Principal, name: str) -> Iterator[tuple[ComplianceStore, Any]]:
        """A unit of work and the case ``name``, locked in it, that ``principal`` may manage: in scope
        (looked up in AIP-211's order, ``authorizing_lookup``), never about oneself nor about one's own
        report."""
        with authorizing_lookup(principal, MANAGE, name) as check, self.ctx.stores() as store:
            row = self._case(store, name, lock=True)
            check(DataOwner(row.employee_id, row.org_unit))
            forbid_self(principal, row.employee_id, MANAGE, "handle a case about themselves")
            forbid_line(self.ctx.directory, principal, row.employee_id, MANAGE, "handle a case")
            yield store, row

    def comment(self, principal: Principal, name: str, comment: str, request_id: str = "") -> Any:
        if not comment.strip():
            raise InvalidArgument("is required", field="comment")
        # a comment feeds the pack owner's noise reasons: the same rule as a transition
        with self._case_to_handle(principal, name) as (store, row):
            fp = idempotency.fingerprint(name, comment)
            if store.replayed("AddCaseComment", request_id, fingerprint=fp) is not None:
                return row
            comments = [*json.loads(row.comments_json), f"{principal.subject}: {comment.strip()}"]
            store.update_case(
                row.id,
                {"comments_json": json.dumps(comments, ensure_ascii=False), "updated_at": self.ctx.clock()},
            )
            self.ctx.remember(store, "AddCaseComment", request_id, {"case": name}, fp)
            store.audit(
                actor=principal.subject,
                action="case.commented",
                subject=name,
                data={"comment": comment},
            )
            return self._case(store, name)

    def escalate_overdue(self, principal: Principal | None, as_of: datetime) -> list[str]:
        """OPEN cases past their SLA become ESCALATED (pack parameter ``escalate_overdue_cases``)."""
        if principal is not None:
            authorize(principal, "compliance.rules.evaluate")
        if not self.ctx.rules.parameter("escalate_overdue_cases", default=False):
            return []
        escalated = []
        with self.ctx.stores() as store:
            for row in store.overdue_cases(as_of, limit=1000):
                store.update_case(row.id, {"state": "ESCALATED", "updated_at": as_of})
                reason = {"reason": "sla_breached"}
                self._transitioned(store, row, "ESCALATED", "compliance", reason, reason, f"{row.id}:sla")
                escalated.append(f"cases/{row.id}")
        return escalated
