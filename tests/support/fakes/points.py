"""An in-memory ``services.points.ports.PointsStore`` for fast tests of the points service logic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from covenant.auth import DataOwner
from covenant.auth.principal import ScopeFilter
from covenant.events.v1.event_pb2 import Event
from services.points.domain import (
    EARNING_KINDS,
    TOTAL_PERIODS,
    EventIn,
    Standing,
    key_for_date,
    leaderboard_order,
    local_date,
)
from services.points.ledger import EVENT_TYPES, settle
from services.points.ports import CapKey
from tests.support.fakes.unit import FakeUnits


@dataclass(frozen=True)
class Goal:
    id: str
    name: str
    org_unit: str
    event_type: str
    target: int
    pool_points: int
    start_time: datetime
    end_time: datetime
    state: str = "OPEN"
    achieved_at: datetime | None = None
    request_id: str | None = None
    created_by: str = ""


@dataclass
class _State:
    applied: set[str]
    caps: dict[CapKey, int]
    ledger: list[dict[str, Any]]
    balances: dict[str, list[Any]]  # employee -> [org_unit, balance]
    goals: dict[str, Goal]
    progress: dict[tuple[str, str], list[Any]]  # (goal, employee) -> [org_unit, contribution]
    events: list[Event]
    audit_log: list[dict[str, Any]]
    totals: dict[str, list[Standing]] = field(default_factory=dict)  # period key -> totals (tests set them)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    redemptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    personal: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (employee, period key)
    nudged: set[tuple[str, str]] = field(default_factory=set)  # (employee, week)


class FakePointsStore(FakeUnits[_State]):
    """Committed state plus one open unit of work (``unit``, from ``FakeUnits``)."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        super().__init__(_State(set(), {}, [], {}, {}, {}, [], []))
        self.tz = tz  # the org's time zone: which day, week and month totals an entry counts in

    # -- PointsStore ----------------------------------------------------------------------
    def claim(self, events: Sequence[EventIn], now: datetime) -> set[str]:
        new = {e.id for e in events} - self._s.applied
        self._s.applied |= new
        return new

    def lock_caps(self, keys: Sequence[CapKey]) -> dict[CapKey, int]:
        return {k: self._s.caps.get(k, 0) for k in keys}

    def store_caps(self, used: dict[CapKey, int]) -> None:
        self._s.caps.update(used)

    def entries_of(self, source_event_ids: Sequence[str], kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        ids = set(source_event_ids)
        return [
            dict(e)
            for e in self._s.ledger
            if e["source_event_id"] in ids and (not kinds or e["kind"] in kinds)
        ]

    def write(self, entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        for e in entries:
            self._s.balances.setdefault(e["employee_id"], [e["org_unit"], 0])
        balances = {k: v[1] for k, v in self._s.balances.items()}
        settle(entries, balances)
        for k, v in balances.items():
            self._s.balances[k][1] = v
        for e in entries:
            e["id"] = len(self._s.ledger) + 1
            e["created_at"] = now
            self._s.ledger.append(dict(e))
            if e["points"]:  # the type the real ledger emits for this kind of entry
                self._s.events.append(
                    Event(type=EVENT_TYPES[e["kind"]], subject=f"employees/{e['employee_id']}")
                )
            if e["points"] and e["kind"] in EARNING_KINDS:  # period totals, as LedgerWriter folds them
                for period in TOTAL_PERIODS:
                    self._add_total(key_for_date(period, local_date(e["occurred_at"], self.tz)), e)
        return entries

    def _add_total(self, key: str, e: dict[str, Any]) -> None:
        rows = self._s.totals.setdefault(key, [])
        old = next((s for s in rows if s.employee_id == e["employee_id"]), None)
        if old is None:
            rows.append(Standing(e["employee_id"], e["points"], e["occurred_at"], e["org_unit"]))
        else:
            rows[rows.index(old)] = Standing(
                e["employee_id"],
                old.points + e["points"],
                max(old.reached_at, e["occurred_at"]),
                e["org_unit"],
            )

    def account(self, employee_id: str) -> tuple[str, int] | None:
        row = self._s.balances.get(employee_id)
        return (row[0], row[1]) if row else None

    def ledger_page(self, employee_id: str, after_id: int, limit: int) -> list[Any]:
        mine = [dict(e) for e in self._s.ledger if e["employee_id"] == employee_id and e["id"] > after_id]
        return mine[:limit]

    def open_team_goals(self, event_types: Sequence[str]) -> list[Any]:
        return sorted(
            (g for g in self._s.goals.values() if g.state == "OPEN" and g.event_type in event_types),
            key=lambda g: g.id,
        )

    def lock_team_goals(self, goal_ids: Sequence[str]) -> dict[str, Any]:
        return {g: self._s.goals[g] for g in goal_ids if g in self._s.goals}

    def add_goal_progress(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            c = self._s.progress.setdefault((r["goal_id"], r["employee_id"]), [r["org_unit"], 0])
            c[1] += r["contribution"]

    def goal_progress(self, goal_id: str) -> list[tuple[str, str, int]]:
        return [(emp, v[0], v[1]) for (g, emp), v in sorted(self._s.progress.items()) if g == goal_id]

    def achieve_goal(self, goal_id: str, at: datetime) -> None:
        self._s.goals[goal_id] = replace(self._s.goals[goal_id], state="ACHIEVED", achieved_at=at)

    def period_top(self, key: str, sf: ScopeFilter, team: str, under: str, top: int) -> list[Standing]:
        return self._board(key, sf, team, under)[:top]

    def period_place(
        self, key: str, sf: ScopeFilter, team: str, under: str, employee_id: str
    ) -> tuple[int, int, int] | None:
        board = self._board(key, sf, team, under)
        place = next((i for i, s in enumerate(board) if s.employee_id == employee_id), None)
        if place is None:
            return None
        mine, higher = board[place], [s.points for s in board if s.points > board[place].points]
        tied = any(s.points == mine.points for s in board[:place])
        return place + 1, mine.points, (min(higher) - mine.points if higher and not tied else 0)

    def earned_between(
        self, start: datetime, end: datetime, sf: ScopeFilter, team: str, under: str
    ) -> list[Standing]:
        out: dict[str, Standing] = {}
        for e in self._s.ledger:
            if e["kind"] not in EARNING_KINDS or not start <= e["occurred_at"] < end:
                continue
            if not _visible(e["employee_id"], e["org_unit"], sf, team, under):
                continue
            was = out.get(e["employee_id"])
            out[e["employee_id"]] = Standing(
                e["employee_id"],
                e["points"] + (was.points if was else 0),
                max(e["occurred_at"], was.reached_at) if was else e["occurred_at"],
                max(e["org_unit"], was.org_unit) if was else e["org_unit"],
            )
        return list(out.values())

    def _board(self, key: str, sf: ScopeFilter, team: str, under: str) -> list[Standing]:
        seen = [
            s for s in self._s.totals.get(key, []) if _visible(s.employee_id, s.org_unit, sf, team, under)
        ]
        return leaderboard_order(seen)

    def period_standings(self, key: str) -> list[Standing]:
        return list(self._s.totals.get(key, []))

    def period_points(self, key: str, employee_ids: Iterable[str]) -> dict[str, int]:
        wanted = set(employee_ids)
        return {s.employee_id: s.points for s in self._s.totals.get(key, []) if s.employee_id in wanted}

    def team_goal_by_request(self, request_id: str) -> str | None:
        return next((g.id for g in self._s.goals.values() if g.request_id == request_id), None)

    def add_team_goal(self, values: dict[str, Any]) -> None:
        self._s.goals[values["id"]] = Goal(**values)

    def team_goal(self, goal_id: str) -> dict[str, Any] | None:
        goal = self._s.goals.get(goal_id)
        return asdict(goal) if goal is not None else None

    def team_goal_ids(
        self, sf: ScopeFilter, under: str, ancestors: Sequence[str], after: str, limit: int
    ) -> list[str]:
        def seen(unit: str) -> bool:
            return (
                sf.all
                or unit == sf.org_unit
                or (sf.org_unit_prefix is not None and _below(unit, sf.org_unit_prefix))
                or unit in ancestors
            )

        goals = sorted(self._s.goals.values(), key=lambda g: g.id)
        ids = [
            g.id
            for g in goals
            if g.id > after and (not under or _below(g.org_unit, under)) and seen(g.org_unit)
        ]
        return ids[:limit]

    def upsert_personal_goal(self, values: dict[str, Any]) -> None:
        row = self._s.personal.setdefault((values["employee_id"], values["period"]), dict(values))
        row.update(target=values["target"], org_unit=values["org_unit"])

    def personal_goal(self, employee_id: str, key: str) -> Any | None:
        row = self._s.personal.get((employee_id, key))
        return dict(row) if row is not None else None

    def personal_goals_in(self, keys: Sequence[str]) -> list[Any]:
        return [dict(row) for (_, key), row in sorted(self._s.personal.items()) if key in keys]

    def claim_nudges(self, employee_ids: Sequence[str], week: str, now: datetime) -> set[str]:
        fresh = {e for e in employee_ids if (e, week) not in self._s.nudged}
        self._s.nudged |= {(e, week) for e in fresh}
        return fresh

    def balances(self) -> dict[str, int]:
        return {k: v[1] for k, v in self._s.balances.items()}

    def expiry_figures(self, cutoff: datetime, source: str) -> list[Any]:
        out: dict[str, dict[str, Any]] = {}
        for e in self._s.ledger:
            row = {
                "employee_id": e["employee_id"],
                "org_unit": "",
                "earned": 0,
                "spent": 0,
                "expired": 0,
                "done": 0,
            }
            r = out.setdefault(e["employee_id"], row)
            points, kind = e["points"], e["kind"]
            r["org_unit"] = max(r["org_unit"], e["org_unit"])
            if points > 0 and kind in ("award", "adjustment", "team_goal") and e["occurred_at"] < cutoff:
                r["earned"] += points
            if (points < 0 and kind != "expiry") or kind == "refund":
                r["spent"] -= points
            if kind == "expiry":
                r["expired"] -= points
            r["done"] += e["source_event_id"] == source
        return list(out.values())

    def period_rank(self, key: str, employee_id: str) -> tuple[int, int]:
        ranked = [s.employee_id for s in leaderboard_order(self._s.totals.get(key, []))]
        return (ranked.index(employee_id) + 1 if employee_id in ranked else 0), len(ranked)

    def add_reward_item(self, values: dict[str, Any]) -> bool:
        if values["id"] in self._s.items:
            return False
        self._s.items[values["id"]] = dict(values)
        return True

    def reward_items_after(self, after: str, limit: int) -> list[Any]:
        return [dict(self._s.items[i]) for i in sorted(self._s.items) if i > after][:limit]

    def reward_item(self, item_id: str, *, lock: bool = False) -> Any | None:
        item = self._s.items.get(item_id)
        return dict(item) if item is not None else None

    def move_stock(self, item_id: str, by: int) -> None:
        item = self._s.items[item_id]
        if by > 0 or item["stock"] > 0:
            item["stock"] += by

    def held_redemptions(self, item_id: str, employee_id: str, refunded: Iterable[str]) -> int:
        gone = set(refunded)
        mine = (
            r
            for r in self._s.redemptions.values()
            if (r["item_id"], r["employee_id"]) == (item_id, employee_id)
        )
        return sum(1 for r in mine if r["state"] not in gone)

    def redemption(self, redemption_id: str, *, lock: bool = False) -> Any | None:
        r = self._s.redemptions.get(redemption_id)
        return dict(r) if r is not None else None

    def redemption_by_request(self, request_id: str) -> Any | None:
        return next((dict(r) for r in self._s.redemptions.values() if r["request_id"] == request_id), None)

    def add_redemption(self, values: dict[str, Any]) -> None:
        self._s.redemptions[values["id"]] = dict(values)

    def set_redemption_state(self, redemption_id: str, state: str, reason: str) -> None:
        self._s.redemptions[redemption_id].update(state=state, reason=reason)

    def emit(self, event: Event) -> None:
        self._s.events.append(event)

    def emit_many(self, events: Sequence[Event]) -> None:
        self._s.events.extend(events)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self._s.audit_log.append({"actor": actor, "action": action, "subject": subject, "data": data})


def _below(unit: str, root: str) -> bool:
    """``unit`` is ``root`` or lies below it (as ``covenant.db.scope.subtree``)."""
    root = root.rstrip("/")
    return unit == root or unit.startswith(root + "/")


def _visible(employee_id: str, unit: str, sf: ScopeFilter, team: str, under: str) -> bool:
    """A leaderboard row: ``sf`` lets its caller see it, in ``team`` and below ``under`` (when given)."""
    in_area = (not team or unit == team) and (not under or _below(unit, under))
    return in_area and sf.matches(DataOwner(employee_id, unit))
