"""Team goals, personal goals and the weekly nudges."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from covenant.auth import DataOwner, Principal, authorize, authorizing_lookup, scope_filter
from covenant.db import idempotency
from covenant.db.outbox import new_event
from covenant.errors import InvalidArgument, NotFound
from services.points.domain import (
    TOTAL_PERIODS,
    Standing,
    leaderboard_order,
    my_place,
    nudge,
    period_key,
    split_pool,
)
from services.points.ports import PointsStore
from services.points.service.base import SOURCE, UseCase, readable_account


class Goals(UseCase):
    """Team goals (progress and pool split), personal goals and the weekly nudges."""

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
        unit = goal["org_unit"].rstrip("/")
        with self.deps.stores() as store:
            done = store.team_goal_by_request(request_id) if request_id else None
            if done:
                if _named(store.team_goal(done) or {}) != _named({**goal, "org_unit": unit}):
                    raise idempotency.reused(what="team goal")
                return _goal(store, done)
            gid = uuid.uuid4().hex[:16]
            store.add_team_goal(
                {
                    "id": gid,
                    "request_id": request_id or None,
                    "name": goal["name"],
                    "org_unit": unit,
                    "event_type": goal["event_type"],
                    "target": goal["target"],
                    "pool_points": goal["pool_points"],
                    "start_time": goal["start_time"],
                    "end_time": goal["end_time"],
                    "state": "OPEN",
                    "created_by": principal.subject,
                }
            )
            store.audit(
                actor=principal.subject,
                action="points.team_goal_created",
                subject=f"team-goals/{gid}",
                data={k: goal[k] for k in _NAMING},
            )
            return _goal(store, gid)

    def get_team_goal(self, principal: Principal, gid: str) -> dict[str, Any]:
        with authorizing_lookup(principal, "points.goals.read", f"team-goals/{gid}") as check:
            with self.deps.stores() as store:
                goal = _goal(store, gid)
            check(DataOwner("", goal["org_unit"]))
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
        with self.deps.stores() as store:
            return [_goal(store, i) for i in store.team_goal_ids(sf, org_unit, ancestors, after, limit)]

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
        org_unit = self.deps.unit(employee_id, org_unit, principal)
        if period not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="period")
        if target <= 0:
            raise InvalidArgument("must be positive", field="target")
        if employee_id != principal.employee_id:
            authorize(principal, "points.goals.manage", DataOwner(employee_id, org_unit))
        key = period_key(period, at or self.deps.clock(), self.deps.timezone)
        with self.deps.stores() as store:
            store.upsert_personal_goal(
                {
                    "employee_id": employee_id,
                    "period": key,
                    "period_kind": period,
                    "org_unit": org_unit,
                    "target": target,
                }
            )
            return _personal(store, employee_id, period, key)

    def get_personal_goal(
        self, principal: Principal, employee_id: str, period: str, at: datetime | None
    ) -> dict[str, Any]:
        employee_id = employee_id or principal.employee_id
        if period not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="period")
        with self.deps.stores() as store:
            readable_account(store, principal, employee_id)
            return _personal(
                store, employee_id, period, period_key(period, at or self.deps.clock(), self.deps.timezone)
            )

    def send_nudges(self, principal: Principal, at: datetime | None) -> tuple[int, int]:
        """One points.nudge per employee with a goal or points this week; at most once per week."""
        authorize(principal, "points.nudges.send")
        at = at or self.deps.clock()
        week = period_key("week", at, self.deps.timezone)
        keys = {k: period_key(k, at, self.deps.timezone) for k in TOTAL_PERIODS}
        with self.deps.stores() as store:
            goals = store.personal_goals_in(list(keys.values()))
            goal_of = {}
            for g in sorted(goals, key=lambda g: TOTAL_PERIODS.index(g["period_kind"])):
                goal_of.setdefault(g["employee_id"], g)
            period_points: dict[tuple[str, str], int] = {}
            kinds_needed = {g["period_kind"] for g in goal_of.values()}
            for kind in kinds_needed:
                for emp, pts in store.period_points(keys[kind], goal_of).items():
                    period_points[(kind, emp)] = pts
            teams: dict[str, list[Standing]] = {}
            unit_of: dict[str, str] = {}
            for s in store.period_standings(week):
                teams.setdefault(s.org_unit, []).append(s)
                unit_of[s.employee_id] = s.org_unit
            for g in goal_of.values():
                unit_of.setdefault(g["employee_id"], g["org_unit"])
            ranked = {u: leaderboard_order(s) for u, s in teams.items()}
            employees = sorted(unit_of)
            fresh = store.claim_nudges(employees, week, self.deps.clock())
            events = []
            for emp in employees:
                if emp not in fresh:
                    continue
                board = ranked.get(unit_of[emp], [])
                rank, week_points, gap = my_place(board, emp)
                g = goal_of.get(emp)
                points = period_points.get((g["period_kind"], emp), 0) if g else week_points
                n = nudge(emp, points, int(g["target"]) if g else 0, rank, len(board), gap)
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
                            "goal_period": g["period_kind"] if g else "",
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
            store.emit_many(events)
            return len(events), len(employees) - len(events)


_NAMING = ("name", "org_unit", "event_type", "target", "pool_points")  # what a team goal is, audited


def _named(goal: dict[str, Any]) -> tuple[Any, ...]:
    """What a team goal's request id names: a retry names the same goal; another manager's goal under a
    reused id is neither returned nor told (docs/security.md)."""
    return tuple(goal.get(k) for k in _NAMING)


def _goal(store: PointsStore, gid: str) -> dict[str, Any]:
    """A team goal with its progress and the split of its pool (a preview until it is achieved)."""
    goal = store.team_goal(gid)
    if goal is None:
        raise NotFound(f"team-goals/{gid} not found")
    contrib = {emp: c for emp, _, c in store.goal_progress(gid)}
    goal["progress"] = sum(contrib.values())
    shares = split_pool(int(goal["pool_points"]), contrib)
    if goal["state"] != "ACHIEVED":  # a preview: the split if the goal were reached now
        shares = [
            s.__class__(s.employee_id, s.contribution, s.points, "if reached now: " + s.explanation)
            for s in shares
        ]
    goal["shares"] = shares
    return goal


def _personal(store: PointsStore, employee_id: str, period: str, key: str) -> dict[str, Any]:
    row = store.personal_goal(employee_id, key)
    target = int(row["target"]) if row else 0
    points = store.period_points(key, [employee_id]).get(employee_id, 0)
    return {
        "employee_id": employee_id,
        "org_unit": row["org_unit"] if row else "",
        "period": period,
        "period_key": key,
        "target": target,
        "points": points,
        "to_goal": max(0, target - points),
    }
