"""Commitments use cases: create, fulfil, settle due deadlines, extend, cancel, verify, query.

Each use case is one unit of work: the state change, its timers and the outgoing events (through the
transactional outbox) commit together. Templates, the org calendar and the breach grace come from the
active commitments rule pack, read from one snapshot per decision; a commitment's terms are frozen at
creation, so later pack edits never change an existing promise.

Judgement is by fact time (rules/commitments/templates.yaml): a fact that happened before the deadline
fulfils the promise whenever it arrives. When the deadline fires the breach is only provisional (the
commitment stays ACTIVE) for ``breach_grace_seconds``; it becomes final (BREACHED, consequences emitted)
after that. An on-time fact arriving after a final breach reverses it: FULFILLED plus a
``commitments.outcome_reversed`` event that points and scoring turn into reversal entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize, authorizing_lookup, forbid_self, scope_filter
from covenant.auth.directory import Directory, require_line
from covenant.db import idempotency
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import AlreadyExists, InvalidArgument, PermissionDenied
from covenant.services import own_account_of
from covenant.timestamps import utcnow
from services.commitments import storage
from services.commitments.domain.calendar import BusinessCalendar, DeadlineRule
from services.commitments.domain.commitment import Commitment, State
from services.commitments.domain.terms import Terms

SOURCE = "commitments"
BREACH_GRACE_PARAMETER = "breach_grace_seconds"
DEFAULT_BREACH_GRACE_SECONDS = 300
REVERSED_EVENT = "commitments.outcome_reversed"
_EVENT_IDS = uuid.UUID("6d0c7e1a-3f7b-4c1e-9a52-6b1f0e2d9c41")  # namespace of deterministic event ids
OUTCOME_EVENT = {
    State.FULFILLED: "commitments.fulfilled",
    State.BREACHED: "commitments.breached",
    State.BREACHED_THEN_FULFILLED: "commitments.late_fulfilled",
}


def _promise_of(t: Terms) -> tuple[str, str, str, str]:
    """What a request id names: whose promise, which template, to which client, about which fact. A retry
    names the same (its ``created_at`` may differ by the moments between the tries); another caller's
    commitment under a reused id is neither returned nor told (docs/security.md)."""
    return (t.employee_id, t.template_id, t.client_id, t.correlation_value)


@dataclass(frozen=True)
class Template:
    """A contract template from the commitments rule pack."""

    id: str
    promise: str
    deadline: DeadlineRule
    fulfilling_event_type: str
    correlation_key: str
    reminder_hours_before: tuple[int, ...]
    consequences: dict[str, Any]
    pack_id: str
    pack_version: str
    rule_id: str


class CommitmentsService:
    """Application service over storage, the rule runtime and the outbox."""

    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
    ) -> None:
        self.db = db
        # The promiser's org unit comes from the directory, not the request (None: trusted, tools only).
        self.directory = directory
        self.rules = rules
        self.outbox = Outbox(SOURCE)
        self.clock = clock or utcnow

    # -- pack-driven configuration -----------------------------------------------------------
    # The commitments pack declares templates and the org calendar as rules that fire on the
    # ``commitments.templates`` lookup event (actions ``define_template`` / ``use_calendar``), so each
    # template carries the rule id and pack version that defined it.
    # Every method takes ``packs``: a ``rules.snapshot()`` shared by one decision (None: take one now).
    def _lookup(self, packs: Sequence[Any] | None = None) -> list[Any]:
        return list(self.rules.evaluate({"type": "commitments.templates"}, {}, packs=packs))

    def snapshot(self) -> Sequence[Any]:
        """One immutable set of the active packs, for every pack read of one decision."""
        return self.rules.snapshot()  # type: ignore[no-any-return]

    def breach_grace(self, packs: Sequence[Any] | None = None) -> timedelta:
        """How long a breach stays provisional after its deadline fires (pack parameter)."""
        seconds = self.rules.parameter(
            BREACH_GRACE_PARAMETER, default=DEFAULT_BREACH_GRACE_SECONDS, packs=packs
        )
        return timedelta(seconds=max(0, int(seconds)))

    def calendar(self, org_unit: str = "", packs: Sequence[Any] | None = None) -> BusinessCalendar:
        """The calendar for ``org_unit``: the ``use_calendar`` whose ``org_unit_prefix`` matches it longest
        (one without a prefix is the org-wide default)."""
        best: tuple[int, BusinessCalendar] | None = None
        for action in self._lookup(packs):
            if action.action == "use_calendar":
                prefix = str(action.params.get("org_unit_prefix", ""))
                if org_unit.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), BusinessCalendar.from_config(dict(action.params)))
        return best[1] if best else BusinessCalendar()

    def calendar_warnings(self) -> list[str]:
        """Loud warnings about every calendar of the active pack (years the official source lacks)."""
        today = self.clock().date()
        return [
            w
            for action in self._lookup()
            if action.action == "use_calendar"
            for w in BusinessCalendar.from_config(dict(action.params)).warnings(today)
        ]

    def templates(self, packs: Sequence[Any] | None = None) -> dict[str, Template]:
        out: dict[str, Template] = {}
        for action in self._lookup(packs):
            if action.action != "define_template":
                continue
            spec = dict(action.params)
            out[str(spec["id"])] = Template(
                id=str(spec["id"]),
                promise=str(spec["promise"]),
                deadline=DeadlineRule.from_config(dict(spec["deadline"])),
                fulfilling_event_type=str(spec["fulfilling_event_type"]),
                correlation_key=str(spec["correlation_key"]),
                reminder_hours_before=tuple(int(h) for h in spec.get("reminder_hours_before", ())),
                consequences=dict(spec.get("consequences", {})),
                pack_id=action.pack_id,
                pack_version=action.pack_version,
                rule_id=action.rule_id,
            )
        return out

    # -- use cases ---------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        *,
        template_id: str,
        employee_id: str,
        org_unit: str,
        client_id: str,
        correlation_value: str,
        created_at: datetime | None,
        request_id: str,
    ) -> Commitment:
        if self.directory is not None and employee_id:
            org_unit = self.directory.resolve(employee_id, org_unit=org_unit).org_unit
        for name, value in (
            ("employee_id", employee_id),
            ("org_unit", org_unit),
            ("template_id", template_id),
        ):
            if not value:
                raise InvalidArgument("is required", field=name)
        if not correlation_value:
            raise InvalidArgument("is required (e.g. the loan id)", field="correlation_value")
        authorize(principal, "commitments.commitments.create", DataOwner(employee_id, org_unit))
        packs = self.snapshot()  # the template and the calendar come from the same pack versions
        template = self.templates(packs).get(template_id)
        if template is None:
            raise InvalidArgument(f"unknown template {template_id!r}", field="template_id")
        now = self.clock()
        start = created_at or now
        if start > now + timedelta(minutes=5):
            raise InvalidArgument("is in the future", field="created_at")
        calendar = self.calendar(org_unit, packs)
        deadline = template.deadline.deadline(start, calendar)
        reminders = tuple(
            deadline - timedelta(hours=h)
            for h in sorted(template.reminder_hours_before, reverse=True)
            if deadline - timedelta(hours=h) > now
        )
        terms = Terms(
            template_id=template.id,
            rule_id=template.rule_id,
            pack_id=template.pack_id,
            pack_version=template.pack_version,
            promise=template.promise,
            employee_id=employee_id,
            org_unit=org_unit,
            client_id=client_id,
            fulfilling_event_type=template.fulfilling_event_type,
            correlation_key=template.correlation_key,
            correlation_value=correlation_value,
            created_at=start.astimezone(UTC),
            deadline=deadline,
            deadline_rule=template.deadline.describe(calendar),
            reminders=reminders,
            consequences=template.consequences,
        )
        with self.db.session() as session:
            if request_id:
                existing = storage.find_by_request_id(session, request_id)
                if existing is not None:
                    if _promise_of(existing.terms) != _promise_of(terms):  # another promise under this id
                        raise idempotency.reused(what="commitment")
                    return existing
            standing = storage.find_by_business_key(session, terms.business_key())
            if standing is not None:
                raise AlreadyExists(
                    f"commitments/{standing.id} already holds this promise ({template.id} for "
                    f"{template.correlation_key} {correlation_value!r}); one fact pays one promise"
                )
            c = Commitment(uuid.uuid4().hex, terms, terms.content_hash())
            storage.insert_commitment(session, c, request_id)
            self._emit(session, "commitments.created", c, {"deadline": deadline.isoformat()})
        return c

    def get(self, principal: Principal, commitment_id: str) -> Commitment:
        name = f"commitments/{commitment_id}"
        with authorizing_lookup(principal, "commitments.commitments.read", name) as check:
            with self.db.session() as session:
                c = storage.get(session, commitment_id)
            check(DataOwner(c.terms.employee_id, c.terms.org_unit))
        return c

    def list_commitments(
        self,
        principal: Principal,
        *,
        employee_id: str,
        org_unit: str,
        states: Sequence[str],
        due_before: datetime | None,
        after_id: str,
        limit: int,
    ) -> list[Commitment]:
        """The commitments the caller may read (scope applied in the query), by id after ``after_id``, of
        one employee or else in an org-unit subtree, in ``states`` and due before ``due_before`` (each when
        given); at most ``limit`` (``covenant.paging.page`` asks for one more)."""
        scope = scope_filter(principal, "commitments.commitments.read")
        if (
            employee_id
            and not scope.all
            and scope.org_unit is None
            and scope.org_unit_prefix is None
            and employee_id != principal.employee_id
        ):
            raise PermissionDenied(
                "commitments.commitments.read", "scope self covers only your own commitments"
            )
        with self.db.session() as session:
            return storage.list_commitments(
                session,
                scope=scope,
                employee_id=employee_id or None,
                org_unit_prefix=None if employee_id else (org_unit or None),
                states=states,
                due_before=due_before,
                after_id=after_id,
                limit=limit,
            )

    def described_templates(self, principal: Principal) -> list[tuple[Template, str]]:
        """Every template of the active pack by id, with its deadline rule described in its calendar."""
        authorize(principal, "commitments.commitments.read")
        packs = self.snapshot()  # the calendar and the templates from the same pack versions
        calendar = self.calendar(packs=packs)
        return [
            (t, t.deadline.describe(calendar))
            for t in sorted(self.templates(packs).values(), key=lambda t: t.id)
        ]

    def verify(self, principal: Principal, commitment_id: str) -> tuple[bool, str, str]:
        """(valid, issued hash, hash recomputed from the stored terms)."""
        name = f"commitments/{commitment_id}"
        with authorizing_lookup(principal, "commitments.commitments.read", name) as check:
            with self.db.session() as session:
                text, issued = storage.raw_terms(session, commitment_id)
            terms = Terms.from_canonical(text)
            check(DataOwner(terms.employee_id, terms.org_unit))
        computed = terms.content_hash()
        return computed == issued, issued, computed

    def _to_change(self, session: Session, principal: Principal, commitment_id: str, verb: str) -> Commitment:
        """The commitment, locked, that ``principal`` may ``verb`` (extend, cancel): in their scope, not
        their own, and someone in their line."""
        permission = f"commitments.commitments.{verb}"
        with authorizing_lookup(principal, permission, f"commitments/{commitment_id}") as check:
            before = storage.get(session, commitment_id, for_update=True)
            check(DataOwner(before.terms.employee_id, before.terms.org_unit))
        employee_id = before.terms.employee_id
        forbid_self(principal, employee_id, permission, f"{verb} their own commitment")
        require_line(self.directory, principal, employee_id, permission, f"{verb} a commitment")
        return before

    def extend(
        self, principal: Principal, commitment_id: str, new_deadline: datetime, reason: str
    ) -> Commitment:
        with self.db.session() as session:
            before = self._to_change(session, principal, commitment_id, "extend")
            after = before.extend(new_deadline, reason, principal.subject, self.clock())
            storage.save_transition(session, before, after)
            self._emit(
                session, "commitments.extended", after, {"reason": reason, "approver": principal.subject}
            )
        return after

    def cancel(self, principal: Principal, commitment_id: str, reason: str) -> Commitment:
        if not reason.strip():
            raise InvalidArgument("a reason is required", field="reason")
        with self.db.session() as session:
            before = self._to_change(session, principal, commitment_id, "cancel")
            after = before.cancel(self.clock())
            storage.save_transition(session, before, after)
            self._emit(session, "commitments.cancelled", after, {"reason": reason})
        return after

    def report_fact(
        self,
        principal: Principal,
        *,
        event_type: str,
        key: str,
        value: str,
        at: datetime | None,
        event_id: str,
    ) -> list[Commitment]:
        """A fulfilling fact reported by a source system (``at`` None: now); settles what it matches."""
        authorize(principal, "commitments.fulfilments.write")
        if principal.kind == "service" and own_account_of(principal.subject) is not None:
            raise PermissionDenied(  # provenance: fulfilling facts come from source systems (e.g. loans)
                "commitments.fulfilments.write", f"{principal.subject} reports through its events, not facts"
            )
        for name, given in (
            ("event_type", event_type),
            ("correlation_key", key),
            ("correlation_value", value),
            ("event_id", event_id),
        ):
            if not given:
                raise InvalidArgument("is required", field=name)
        now = self.clock()
        at = at or now
        if at - now > timedelta(seconds=300):
            raise InvalidArgument("is in the future", field="occurred_at")
        with self.db.session() as session:
            return self.record_fulfilment(
                session, event_type=event_type, key=key, value=value, at=at, event_id=event_id
            )

    def record_fulfilment(
        self, session: Session, *, event_type: str, key: str, value: str, at: datetime, event_id: str
    ) -> list[Commitment]:
        """Settle every open commitment the fulfilling fact matches (inside the caller's unit of work).

        Judged by the fact's time ``at``, not its arrival: on or before the deadline it fulfils, even a
        commitment already breached (the breach is reversed, ``commitments.outcome_reversed``)."""
        settled = []
        for before in storage.find_open_by_correlation(session, event_type, key, value):
            after = before.fulfil(at, event_id)
            storage.save_transition(session, before, after)
            if before.state is State.BREACHED and after.state is State.FULFILLED:
                self._emit(session, REVERSED_EVENT, after, self._reversal_data(after))
            else:
                self._settlement_event(session, after)
            settled.append(after)
        return settled

    def settle_due(self, limit: int = 500) -> int:
        """Fire due timers once: breach expired commitments, send reminders. Returns timers handled.

        A ``deadline`` timer takes a provisional breach: the commitment stays ACTIVE and the timer is
        re-armed as ``breach`` at now + the pack's grace, since facts from before the deadline may still
        be on their way (an outage of this service or of the source); the ``breach`` timer makes it
        final. With a grace of 0 the deadline breaches at once.

        Works in batches: one query claims the due timers (skipping rows another scheduler holds), one
        loads their commitments, one bulk update settles them, and the events go to the outbox in the
        same transaction."""
        now = self.clock().astimezone(UTC)
        grace = self.breach_grace(self.snapshot())
        with self.db.session() as session:
            due = storage.claim_due_timers(session, now, limit)
            loaded = storage.get_many(session, sorted({cid for _, cid, _ in due}), for_update=True)
            settlements: list[tuple[Commitment, Commitment]] = []
            events: list[tuple[str, Commitment, dict[str, Any]]] = []
            breached: set[str] = set()
            fired: list[int] = []
            provisional: list[int] = []
            for timer_id, commitment_id, kind in due:
                c = loaded.get(commitment_id)
                is_active = c is not None and c.state is State.ACTIVE
                if kind in ("deadline", "breach") and is_active and now < c.effective_deadline:  # type: ignore[union-attr]
                    continue  # not due after all (e.g. extended); leave the timer for later
                if kind == "deadline" and is_active and grace and commitment_id not in breached:
                    provisional.append(timer_id)
                    continue
                fired.append(timer_id)
                if c is None or c.state is not State.ACTIVE or commitment_id in breached:
                    continue
                if kind in ("deadline", "breach"):
                    after = c.breach(now)
                    settlements.append((c, after))
                    breached.add(commitment_id)
                    events.append((OUTCOME_EVENT[after.state], after, self._settlement_data(after)))
                elif kind == "reminder":
                    events.append(("commitments.reminder", c, {"deadline": c.effective_deadline.isoformat()}))
            storage.save_breaches(session, [after.id for _, after in settlements], now)
            storage.mark_fired(session, fired, now)
            storage.rearm_as_breach(session, provisional, now + grace)
            self.outbox.add_many(session, [self._event(tp, c, extra) for tp, c, extra in events])
        return len(fired) + len(provisional)

    def fulfilment_rate(
        self, principal: Principal, org_unit: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        if not org_unit:
            raise InvalidArgument("is required", field="org_unit")
        authorize(principal, "commitments.reports.read", DataOwner("", org_unit))
        if end <= start:
            raise InvalidArgument("must be after start_time", field="end_time")
        with self.db.session() as session:
            counts = storage.fulfilment_counts(session, org_unit, start, end)
        on_time = counts.get(State.FULFILLED.value, 0)
        late = counts.get(State.BREACHED_THEN_FULFILLED.value, 0)
        breached = counts.get(State.BREACHED.value, 0)
        cancelled = counts.get(State.CANCELLED.value, 0)
        due = sum(counts.values())
        base = due - cancelled - counts.get(State.ACTIVE.value, 0)
        rate = (on_time * 10_000 // base) if base > 0 else 0
        return {
            "due": due,
            "fulfilled_on_time": on_time,
            "fulfilled_late": late,
            "breached": breached,
            "cancelled": cancelled,
            "rate_bp": rate,
        }

    # -- events ------------------------------------------------------------------------------
    def _settlement_data(self, c: Commitment) -> dict[str, Any]:
        """The outcome with the consequences frozen in the terms (never the current pack's)."""
        outcome = {
            State.FULFILLED: "fulfilled",
            State.BREACHED: "breached",
            State.BREACHED_THEN_FULFILLED: "late_fulfilled",
        }[c.state]
        consequence = dict(c.terms.consequences.get(outcome, {}))
        return {
            "outcome": outcome,
            "delay_seconds": c.delay_seconds,
            "reward_points": int(consequence.get("points", 0)),
            "score_delta": int(consequence.get("score", 0)),
            "alert_severity": str(consequence.get("alert", "")),
            "rule_id": c.terms.rule_id,
            "pack_id": c.terms.pack_id,
            "pack_version": c.terms.pack_version,
        }

    def _reversal_data(self, c: Commitment) -> dict[str, Any]:
        """A final breach undone by an on-time fact: what the breach cost is given back
        (``reversal_score_delta``, and points reverses whatever ``reversed_event_id`` paid) and the
        fulfilled consequence is applied (``reward_points``, ``score_delta``)."""
        breached = dict(c.terms.consequences.get("breached", {}))
        return {
            **self._settlement_data(c),
            "reversed_outcome": "breached",
            "reversed_event_id": breach_event_id(c.id),
            "reversal_score_delta": -int(breached.get("score", 0)),
            "fact_at": c.fulfilled_at.isoformat() if c.fulfilled_at else "",
        }

    def _settlement_event(self, session: Session, c: Commitment) -> None:
        self._emit(session, OUTCOME_EVENT[c.state], c, self._settlement_data(c))

    def _event(self, event_type: str, c: Commitment, extra: Mapping[str, Any]) -> Any:
        data = {
            "commitment": f"commitments/{c.id}",
            "employee_id": c.terms.employee_id,
            "client_id": c.terms.client_id,
            "template_id": c.terms.template_id,
            "terms_hash": c.terms_hash,
            "state": c.state.value,
            **extra,
        }
        event = new_event(
            event_type,
            source=SOURCE,
            subject=f"employees/{c.terms.employee_id}",
            org_unit=c.terms.org_unit,
            data=data,
            idempotency_key=f"{event_type}:{c.id}",
        )
        if event_type == OUTCOME_EVENT[State.BREACHED]:
            event.id = breach_event_id(c.id)  # a reversal names it (points reverses what it paid)
        return event

    def _emit(self, session: Session, event_type: str, c: Commitment, extra: Mapping[str, Any]) -> None:
        self.outbox.add(session, self._event(event_type, c, extra))


def breach_event_id(commitment_id: str) -> str:
    """The id of the one ``commitments.breached`` event of a commitment (deterministic)."""
    return str(uuid.uuid5(_EVENT_IDS, f"commitments.breached:{commitment_id}"))
