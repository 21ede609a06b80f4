"""Points use cases. Each call is one unit of work: applied-event markers, ledger entries, balances,
period totals, audit entries and outgoing events commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize, forbid_self, scope_filter
from covenant.auth.directory import Directory, require_line
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from covenant.services import emitter_of, own_account_of
from services.points import storage as t
from services.points.domain import (
    REFUNDING,
    TOTAL_PERIODS,
    EventIn,
    Standing,
    check_transition,
    eligible,
    expirable,
    leaderboard_order,
    my_place,
    nudge,
    period_key,
    split_pool,
)
from services.points.ingest import Ingest, Result, entry
from services.points.ledger import LedgerWriter
from services.points.ports import PointsStore
from services.points.storage import SqlPointsStore

SOURCE = "points"
MAX_BATCH = 10_000


@dataclass(frozen=True)
class Board:
    rows: list[Standing]
    my_rank: int
    my_points: int
    gap_to_next: int
    period_key: str


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PointsService:
    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[PointsStore]] | None = None,
    ) -> None:
        """``stores`` opens one unit of work as a ``PointsStore`` (default: a SQL session of ``db``); the
        event, reversal, adjustment and balance use cases go through it, the others use ``db`` directly."""
        self.db = db
        self.rules = rules
        # Org units of the employees written about come from the directory, not the request (None: the
        # request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
        self.tz = timezone
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("points")
        self.writer = LedgerWriter(self.outbox, timezone)
        self.ingest = Ingest(rules, timezone, self.clock)
        self.stores = stores or self._sql_store

    @contextmanager
    def _sql_store(self) -> Iterator[PointsStore]:
        with self.db.session() as session:
            yield self.store(session)

    def store(self, session: Session) -> SqlPointsStore:
        """The storage port over the caller's session."""
        return SqlPointsStore(session, self.writer, self.outbox, self.audit)

    def _unit(self, employee_id: str, claimed: str) -> str:
        """The employee's org unit per the directory (a different ``claimed`` one is refused)."""
        if self.directory is None:
            return claimed
        return self.directory.resolve(employee_id, org_unit=claimed).org_unit

    # -- business events ---------------------------------------------------------------------
    def apply(self, session: Session, event: EventIn) -> Result:
        """Apply one event inside the caller's unit of work (the event handler's inbox transaction)."""
        return self.ingest.apply(self.store(session), [event])[0]

    def apply_many(self, session: Session, events: Sequence[EventIn]) -> list[Result]:
        """Apply a delivered batch as one unit, inside the caller's unit of work."""
        return self.ingest.apply(self.store(session), events)

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
        now = self.clock()
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
        for i, e in enumerate(events):
            if self.directory is not None:  # the employee's org unit is the directory's, never the request's
                unit = self.directory.resolve(e.employee_id, org_unit=e.org_unit, field=where(i)).org_unit
                e = replace(e, org_unit=unit)
            authorize(principal, "points.events.write", DataOwner(e.employee_id, e.org_unit))
            resolved.append(e)
        with self.stores() as store:
            return self.ingest.apply(store, resolved, with_duplicates=with_duplicates)

    def reverse(self, principal: Principal, source_event_id: str, reason: str) -> list[dict[str, Any]]:
        """Compensating entries for everything ``source_event_id`` paid; audited."""
        if not source_event_id:
            raise InvalidArgument("is required", field="source_event_id")
        if not reason.strip():
            raise InvalidArgument("a reason is required", field="reason")
        with self.stores() as store:
            paid = store.entries_of([source_event_id], ("award",))
            if not paid:
                raise NotFound(f"no points were paid for event {source_event_id}")
            first = paid[0]
            authorize(principal, "points.ledger.adjust", DataOwner(first["employee_id"], first["org_unit"]))
            forbid_self(principal, first["employee_id"], "points.ledger.adjust", "reverse their own points")
            require_line(
                self.directory, principal, first["employee_id"], "points.ledger.adjust", "reverse points"
            )
            rows = self.ingest.reversal_entries(
                store, source_event_id, reason.strip(), f"manual:{principal.subject}", self.clock()
            )
            if not rows:
                raise FailedPrecondition(f"event {source_event_id} was already reversed")
            rows = store.write(rows, self.clock())
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
        org_unit = self._unit(employee_id, org_unit)
        authorize(principal, "points.ledger.adjust", DataOwner(employee_id, org_unit))
        forbid_self(principal, employee_id, "points.ledger.adjust", "adjust their own points")
        require_line(self.directory, principal, employee_id, "points.ledger.adjust", "adjust points")
        source = f"adjustment:{request_id or uuid.uuid4().hex}"
        with self.stores() as store:
            existing = store.entries_of([source])
            if existing:
                return existing[0]
            now = self.clock()
            (row,) = store.write(
                [
                    entry(
                        None,
                        employee_id=employee_id,
                        org_unit=org_unit,
                        points=points,
                        kind="adjustment",
                        reason=f"{reason.strip()} (by {principal.subject})",
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

    # -- reads -------------------------------------------------------------------------------
    def _owner(self, session: Session, employee_id: str) -> DataOwner:
        account = t.account(session, employee_id)
        return DataOwner(employee_id, account[0] if account else "")

    def balance(self, principal: Principal, employee_id: str) -> int:
        employee_id = employee_id or principal.employee_id
        with self.stores() as store:
            account = store.account(employee_id)
            authorize(principal, "points.ledger.read", DataOwner(employee_id, account[0] if account else ""))
            return account[1] if account else 0

    def ledger(self, principal: Principal, employee_id: str, after_id: int, limit: int) -> list[Any]:
        employee_id = employee_id or principal.employee_id
        with self.db.session() as session:
            authorize(principal, "points.ledger.read", self._owner(session, employee_id))
            return t.ledger_page(session, employee_id, after_id, limit)

    def leaderboard(
        self,
        principal: Principal,
        *,
        period: str,
        at: datetime | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        scope: str = "",
        org_unit: str = "",
        top: int = 10,
    ) -> Board:
        """Ranked totals; ``period`` is week/month/quarter/year (containing ``at``) or custom (start..end).
        ``scope``: team (caller's org unit), org_unit (subtree of ``org_unit``), all, or "" (the subtree when
        ``org_unit`` is given, else all). Rows are always limited to what the caller may see."""
        sf = scope_filter(principal, "points.leaderboards.read")
        top = max(1, min(top or 10, 1000))
        team = under = ""
        if scope == "team":
            if not principal.org_unit:
                raise InvalidArgument("the caller has no org unit", field="scope")
            team = principal.org_unit
        elif scope == "org_unit" or (not scope and org_unit):
            if not org_unit:
                raise InvalidArgument("is required for scope ORG_UNIT", field="org_unit")
            under = org_unit
        if period == "custom":
            if start is None or end is None:
                raise InvalidArgument(
                    "is required for a custom period", field="start_time" if start is None else "end_time"
                )
            if end <= start:
                raise InvalidArgument("must be after start_time", field="end_time")
            with self.db.session() as session:
                ordered = leaderboard_order(t.earned_between(session, start, end, sf, team, under))
            rank, points, gap = my_place(ordered, principal.employee_id)
            return Board(ordered[:top], rank, points, gap, "custom")
        if period not in TOTAL_PERIODS:
            raise InvalidArgument(f"unknown period {period!r}", field="period")
        key = period_key(period, at or self.clock(), self.tz)
        with self.db.session() as session:
            standings = t.period_top(session, key, sf, team, under, top)
            rank, points, gap = my_place(standings, principal.employee_id)
            if rank == 0 and principal.employee_id:
                place = t.period_place(session, key, sf, team, under, principal.employee_id)
                if place is not None:
                    rank, points, gap = place
        return Board(standings, rank, points, gap, key)

    # -- goals and nudges --------------------------------------------------------------------
    def create_team_goal(self, principal: Principal, goal: dict[str, Any], request_id: str) -> dict[str, Any]:
        for name in ("name", "org_unit", "event_type"):
            if not goal.get(name):
                raise InvalidArgument("is required", field=f"goal.{name}")
        if goal["target"] <= 0:
            raise InvalidArgument("must be positive", field="goal.target")
        if goal["pool_points"] <= 0:
            raise InvalidArgument("must be positive", field="goal.pool_points")
        if goal["start_time"] is None or goal["end_time"] is None:
            raise InvalidArgument(
                "is required", field="goal.start_time" if goal["start_time"] is None else "goal.end_time"
            )
        if goal["end_time"] <= goal["start_time"]:
            raise InvalidArgument("must be after start_time", field="goal.end_time")
        authorize(principal, "points.goals.manage", DataOwner("", goal["org_unit"]))
        with self.db.session() as session:
            done = t.team_goal_by_request(session, request_id) if request_id else None
            if done:
                return self._goal(session, done)
            gid = uuid.uuid4().hex[:16]
            t.insert_team_goal(
                session,
                {
                    "id": gid,
                    "request_id": request_id or None,
                    "name": goal["name"],
                    "org_unit": goal["org_unit"].rstrip("/"),
                    "event_type": goal["event_type"],
                    "target": goal["target"],
                    "pool_points": goal["pool_points"],
                    "start_time": goal["start_time"],
                    "end_time": goal["end_time"],
                    "state": "OPEN",
                    "created_by": principal.subject,
                },
            )
            self.audit.append(
                session,
                actor=principal.subject,
                action="points.team_goal_created",
                subject=f"team-goals/{gid}",
                data={k: goal[k] for k in ("name", "org_unit", "event_type", "target", "pool_points")},
            )
            return self._goal(session, gid)

    def _goal(self, session: Session, gid: str) -> dict[str, Any]:
        goal = t.team_goal(session, gid)
        if goal is None:
            raise NotFound(f"team-goals/{gid} not found")
        contrib = {emp: c for emp, _, c in t.goal_progress(session, gid)}
        goal["progress"] = sum(contrib.values())
        shares = split_pool(int(goal["pool_points"]), contrib)
        if goal["state"] != "ACHIEVED":  # a preview: the split if the goal were reached now
            shares = [
                s.__class__(s.employee_id, s.contribution, s.points, "if reached now: " + s.explanation)
                for s in shares
            ]
        goal["shares"] = shares
        return goal

    def get_team_goal(self, principal: Principal, gid: str) -> dict[str, Any]:
        with self.db.session() as session:
            goal = self._goal(session, gid)
        authorize(principal, "points.goals.read", DataOwner("", goal["org_unit"]))
        return goal

    def list_team_goals(
        self, principal: Principal, org_unit: str, after: str, limit: int
    ) -> list[dict[str, Any]]:
        sf = scope_filter(principal, "points.goals.read")
        # a team goal covers the subtree under its org unit: members see the goals above them too
        ancestors: list[str] = []
        if principal.org_unit:
            parts = principal.org_unit.rstrip("/").split("/")
            ancestors = ["/".join(parts[:i]) for i in range(2, len(parts) + 1)]
        with self.db.session() as session:
            ids = t.team_goal_ids(session, sf, org_unit, ancestors, after, limit)
            return [self._goal(session, i) for i in ids]

    def set_personal_goal(
        self,
        principal: Principal,
        employee_id: str,
        org_unit: str,
        period: str,
        at: datetime | None,
        target: int,
    ) -> dict[str, Any]:
        employee_id = employee_id or principal.employee_id
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        org_unit = self._unit(employee_id, org_unit)
        if self.directory is None:
            org_unit = org_unit or (principal.org_unit if employee_id == principal.employee_id else "")
        if period not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="period")
        if target <= 0:
            raise InvalidArgument("must be positive", field="target")
        if employee_id != principal.employee_id:
            authorize(principal, "points.goals.manage", DataOwner(employee_id, org_unit))
        key = period_key(period, at or self.clock(), self.tz)
        with self.db.session() as session:
            t.upsert_personal_goal(
                session,
                {
                    "employee_id": employee_id,
                    "period": key,
                    "period_kind": period,
                    "org_unit": org_unit,
                    "target": target,
                },
            )
            return self._personal(session, employee_id, period, key)

    def _personal(self, session: Session, employee_id: str, period: str, key: str) -> dict[str, Any]:
        row = t.personal_goal(session, employee_id, key)
        target = int(row.target) if row else 0
        points = t.period_points(session, key, [employee_id]).get(employee_id, 0)
        return {
            "employee_id": employee_id,
            "org_unit": row.org_unit if row else "",
            "period": period,
            "period_key": key,
            "target": target,
            "points": points,
            "to_goal": max(0, target - points),
        }

    def get_personal_goal(
        self, principal: Principal, employee_id: str, period: str, at: datetime | None
    ) -> dict[str, Any]:
        employee_id = employee_id or principal.employee_id
        if period not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="period")
        with self.db.session() as session:
            authorize(principal, "points.ledger.read", self._owner(session, employee_id))
            return self._personal(
                session, employee_id, period, period_key(period, at or self.clock(), self.tz)
            )

    def send_nudges(self, principal: Principal, at: datetime | None) -> tuple[int, int]:
        """One points.nudge per employee with a goal or points this week; at most once per week."""
        authorize(principal, "points.nudges.send")
        at = at or self.clock()
        week = period_key("week", at, self.tz)
        keys = {k: period_key(k, at, self.tz) for k in TOTAL_PERIODS}
        with self.db.session() as session:
            weekly = t.period_standings(session, week)
            goals = t.personal_goals_in(session, list(keys.values()))
            goal_of = {}
            for g in sorted(goals, key=lambda g: TOTAL_PERIODS.index(g.period_kind)):
                goal_of.setdefault(g.employee_id, g)
            period_points: dict[tuple[str, str], int] = {}
            kinds_needed = {g.period_kind for g in goal_of.values()}
            for kind in kinds_needed:
                for emp, pts in t.period_points(session, keys[kind], goal_of).items():
                    period_points[(kind, emp)] = pts
            teams: dict[str, list[Standing]] = {}
            unit_of: dict[str, str] = {}
            for r in weekly:
                teams.setdefault(r.org_unit, []).append(
                    Standing(r.employee_id, int(r.points), _aware(r.reached_at))
                )
                unit_of[r.employee_id] = r.org_unit
            for g in goal_of.values():
                unit_of.setdefault(g.employee_id, g.org_unit)
            ranked = {u: leaderboard_order(s) for u, s in teams.items()}
            employees = sorted(unit_of)
            fresh = t.claim_nudges(session, employees, week, self.clock())
            events = []
            for emp in employees:
                if emp not in fresh:
                    continue
                board = ranked.get(unit_of[emp], [])
                rank, week_points, gap = my_place(board, emp)
                g = goal_of.get(emp)
                points = period_points.get((g.period_kind, emp), 0) if g else week_points
                n = nudge(emp, points, int(g.target) if g else 0, rank, len(board), gap)
                events.append(
                    new_event(
                        "points.nudge",
                        source=SOURCE,
                        subject=f"employees/{emp}",
                        org_unit=unit_of[emp],
                        data={
                            "employee_id": emp,
                            "week": week,
                            "message": n.message,
                            "goal_period": g.period_kind if g else "",
                            "points": n.points,
                            "target": n.target,
                            "to_goal": n.to_goal,
                            "team_rank": n.team_rank,
                            "team_size": n.team_size,
                            "gap_to_next": n.gap_to_next,
                        },
                        idempotency_key=f"points.nudge:{emp}:{week}",
                    )
                )
            self.outbox.add_many(session, events)
            return len(events), len(employees) - len(events)

    # -- expiry ------------------------------------------------------------------------------
    def expire(self, principal: Principal, as_of: datetime | None) -> tuple[int, int]:
        """Expiry entries for points earned before ``as_of - expiry_days`` and not spent since."""
        authorize(principal, "points.ledger.expire")
        packs = self.rules.snapshot()  # the expiry window and the version stamped on the entries, together
        days = int(self.rules.parameter("expiry_days", default=0, packs=packs) or 0)
        if days <= 0:
            return 0, 0
        pack_id, pack_version = self.rules.parameter_source("expiry_days", packs=packs)
        as_of = as_of or self.clock()
        cutoff = as_of - timedelta(days=days)
        source = f"expiry:{cutoff.date().isoformat()}"
        with self.db.session() as session:
            rows = t.expiry_figures(session, cutoff, source)
            balances = t.balances(session)
            entries = []
            for r in rows:
                if r.done:
                    continue
                n = expirable(
                    int(r.earned or 0), int(r.spent or 0), int(r.expired or 0), balances.get(r.employee_id, 0)
                )
                if n:
                    entries.append(
                        entry(
                            None,
                            employee_id=r.employee_id,
                            org_unit=r.org_unit,
                            points=-n,
                            kind="expiry",
                            reason=f"points earned before {cutoff.date()} expire after {days} days",
                            source_event_id=source,
                            rule_id="expiry",
                            pack_id=pack_id,
                            pack_version=pack_version,
                            occurred_at=as_of,
                        )
                    )
            self.writer.write(session, entries, self.clock())
            return len(entries), -sum(e["points"] for e in entries)

    # -- rewards -----------------------------------------------------------------------------
    def create_item(self, principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
        authorize(principal, "points.rewards.manage")
        if not item["id"]:
            raise InvalidArgument("is required", field="item.id")
        if item["cost"] <= 0:
            raise InvalidArgument("must be positive", field="item.cost")
        if item["stock"] < 0:
            raise InvalidArgument("must not be negative", field="item.stock")
        if item["per_person_limit"] < 0:
            raise InvalidArgument("must not be negative", field="item.per_person_limit")
        if not 0 <= item["eligible_top_percent"] <= 100:
            raise InvalidArgument("must be between 0 and 100", field="item.eligible_top_percent")
        if item["eligible_period"] not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="item.eligible_period")
        values = {**item, "name": item["name"] or item["id"]}
        with self.db.session() as session:
            if not t.insert_reward_item(session, values):
                raise AlreadyExists(f"reward item {item['id']!r} already exists")
            self.audit.append(
                session,
                actor=principal.subject,
                action="points.reward_item_created",
                subject=f"reward-items/{item['id']}",
                data=values,
            )
        return values

    def items(self, principal: Principal, after: str, limit: int) -> list[Any]:
        authorize(principal, "points.rewards.read")
        with self.db.session() as session:
            return t.reward_items_page(session, after, limit)

    def redeem(
        self, principal: Principal, item_id: str, employee_id: str, org_unit: str, request_id: str
    ) -> Any:
        """Reserve the item's cost and one unit of stock (item row lock, then account row lock)."""
        if not item_id:
            raise InvalidArgument("is required", field="item_id")
        employee_id = employee_id or principal.employee_id
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        org_unit = self._unit(employee_id, org_unit)
        if self.directory is None:
            org_unit = org_unit or (principal.org_unit if employee_id == principal.employee_id else "")
        with self.db.session() as session:
            owner = self._owner(session, employee_id)
            if self.directory is not None:
                owner = DataOwner(employee_id, org_unit)
            authorize(principal, "points.rewards.redeem", DataOwner(employee_id, owner.org_unit or org_unit))
            org_unit = owner.org_unit or org_unit
            done = t.redemption_by_request(session, request_id) if request_id else None
            if done:
                return done
            item = t.lock_reward_item(session, item_id)
            if item is None:
                raise NotFound(f"reward item {item_id!r} not found")
            if item.stock <= 0:
                raise FailedPrecondition(f"reward item {item_id} is out of stock")
            if item.eligible_top_percent:
                key = period_key(item.eligible_period, self.clock(), self.tz)
                rank, population = t.period_rank(session, key, employee_id)
                if not eligible(rank, population, item.eligible_top_percent):
                    raise FailedPrecondition(
                        f"{item_id} is for the top {item.eligible_top_percent}% of the "
                        f"{item.eligible_period}; employees/{employee_id} is "
                        f"{'unranked' if not rank else f'#{rank} of {population}'}"
                    )
            if item.per_person_limit:
                taken = t.held_redemptions(session, item_id, employee_id, REFUNDING)
                if taken >= item.per_person_limit:
                    raise FailedPrecondition(
                        f"limit of {item.per_person_limit} per person reached for {item_id}"
                    )
            rid = uuid.uuid4().hex
            now = self.clock()
            self.writer.write(
                session,
                [
                    entry(
                        None,
                        employee_id=employee_id,
                        org_unit=org_unit,
                        points=-int(item.cost),
                        kind="redemption",
                        reason=f"reserved for {item.name}",
                        source_event_id=f"redemption:{rid}",
                        rule_id="redemption",
                        occurred_at=now,
                    )
                ],
                now,
            )
            t.move_stock(session, item_id, -1)
            t.insert_redemption(
                session,
                {
                    "id": rid,
                    "request_id": request_id or None,
                    "item_id": item_id,
                    "employee_id": employee_id,
                    "org_unit": org_unit,
                    "cost": item.cost,
                    "state": "RESERVED",
                    "created_at": now,
                    "reason": "",
                },
            )
            return t.redemption(session, rid)

    def transition(self, principal: Principal, redemption_id: str, target: str, reason: str) -> Any:
        """approve / fulfil / reject / cancel; reject and cancel refund the points and the stock."""
        if not redemption_id:
            raise InvalidArgument("is required", field="redemption_id")
        if target == "REJECTED" and not reason.strip():
            raise InvalidArgument("a reason is required to reject", field="reason")
        with self.db.session() as session:
            r = t.lock_redemption(session, redemption_id)
            if r is None:
                raise NotFound(f"redemption {redemption_id} not found")
            owner = DataOwner(r.employee_id, r.org_unit)
            if target == "CANCELLED" and r.employee_id == principal.employee_id:
                authorize(principal, "points.rewards.redeem", owner)
            else:
                authorize(principal, "points.rewards.approve", owner)
                forbid_self(
                    principal,
                    r.employee_id,
                    "points.rewards.approve",
                    f"{target.lower()} their own redemption",
                )
                require_line(
                    self.directory,
                    principal,
                    r.employee_id,
                    "points.rewards.approve",
                    f"{target.lower()} a redemption",
                )
            check_transition(r.state, target)
            t.set_redemption_state(session, redemption_id, target, reason.strip())
            if target in REFUNDING:
                now = self.clock()
                self.writer.write(
                    session,
                    [
                        entry(
                            None,
                            employee_id=r.employee_id,
                            org_unit=r.org_unit,
                            points=int(r.cost),
                            kind="refund",
                            reason=f"{target.lower()}: {reason.strip() or r.item_id}",
                            source_event_id=f"redemption:{redemption_id}",
                            rule_id="redemption",
                            occurred_at=now,
                        )
                    ],
                    now,
                )
                t.move_stock(session, r.item_id, 1)
            self.audit.append(
                session,
                actor=principal.subject,
                action=f"points.redemption_{target.lower()}",
                subject=f"redemptions/{redemption_id}",
                data={"reason": reason.strip(), "item_id": r.item_id, "employee_id": r.employee_id},
            )
            self.outbox.add(
                session,
                new_event(
                    f"points.redemption_{target.lower()}",
                    source=SOURCE,
                    subject=f"employees/{r.employee_id}",
                    org_unit=r.org_unit,
                    data={"redemption_id": redemption_id, "item_id": r.item_id, "cost": int(r.cost)},
                    idempotency_key=f"points.redemption:{redemption_id}:{target}",
                ),
            )
            return t.redemption(session, redemption_id)
