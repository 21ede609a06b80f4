"""Applying business events: at most once per event id, awards from the points rule pack, per-rule caps
per calendar period, reversals, and team-goal progress, in set-based statements per batch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from covenant.db.outbox import new_event
from covenant.timestamps import as_utc
from services.points.domain.awards import Award, EventIn, Reversal, apply_caps, cap_keys, plan
from services.points.domain.goals import reached, split_pool
from services.points.ports import PointsStore

log = logging.getLogger(__name__)

Result = tuple[list[dict[str, Any]], bool]


def entry(
    *,
    employee_id: str,
    org_unit: str,
    points: int,
    kind: str,
    reason: str,
    source_event_id: str,
    rule_id: str,
    pack_id: str = "",
    pack_version: str = "",
    occurred_at: datetime,
) -> dict[str, Any]:
    return {
        "employee_id": employee_id,
        "org_unit": org_unit,
        "points": points,
        "kind": kind,
        "reason": reason,
        "source_event_id": source_event_id,
        "rule_id": rule_id,
        "pack_id": pack_id,
        "pack_version": pack_version,
        "occurred_at": occurred_at,
    }


class Ingest:
    """The event use case over a ``PointsStore`` (SQL in production, in memory in unit tests)."""

    def __init__(
        self,
        rules: Any,
        tz: str,
        clock: Callable[[], datetime],
        units_of: Callable[[Iterable[str], bool], Mapping[str, str]] | None = None,
    ):
        """``units_of(ids, payable_only)``: the org units of the employees awards pay who are not the event's
        own (a split or a ``to``), from the directory, all at once; it raises FailedPrecondition for one who
        has left or is unknown, or with ``payable_only`` leaves them out. None (tools without a directory)
        books them under the event's org unit."""
        self.rules = rules
        self.tz = tz
        self.clock = clock
        self.units_of = units_of

    def apply(
        self,
        store: PointsStore,
        events: Sequence[EventIn],
        *,
        with_duplicates: bool = True,
        may_book: Callable[[str, str], None] | None = None,
        delivered: bool = False,
    ) -> list[Result]:
        """Apply ``events`` in the store's unit of work; per input event (entries, applied_now).

        A recorded event (``RecordEvent``) that pays someone who has left or is unknown is refused
        (FailedPrecondition: the source can correct it). A ``delivered`` one is a fact another service
        already committed, retried by its relay until it applies: that award alone is left out (and logged),
        so the event's own employee is still paid instead of the event becoming poison.

        ``may_book(employee_id, org_unit)`` is asked, before the ledger is written, about every other
        employee an event books points for (a split, a ``to``, a reversal) and raises to refuse; the caller's
        unit of work then commits nothing: a source system reports only within its scope."""
        now = self.clock()
        first: dict[str, EventIn] = {}
        for e in events:
            first.setdefault(e.id, e)
        new_ids = store.claim(list(first.values()), now)
        fresh = [e for e in first.values() if e.id in new_ids]

        planned: list[tuple[EventIn, list[Award], list[Reversal]]] = []
        with self.rules.evaluator() as evaluate:  # one pack snapshot; alike events decided once
            for e in fresh:
                awards, reversals = plan(evaluate(e.rule_input()), e)
                planned.append((e, awards, reversals))

        # the org units of the other employees paid, looked up before any row is locked
        others = {a.employee_id for e, awards, _ in planned for a in awards if a.employee_id != e.employee_id}
        units = self.units_of(sorted(others), delivered) if others and self.units_of is not None else {}
        unpayable = others - units.keys() if self.units_of is not None else set()

        used = store.lock_caps(
            sorted(
                {
                    (a.employee_id, a.rule_id, f"{p}:{k}")
                    for e, awards, _ in planned
                    for a in awards
                    if a.employee_id not in unpayable
                    for p, k in cap_keys(a, e.occurred_at, self.tz).items()
                }
            )
        )
        cap_start = dict(used)
        by_event: dict[str, list[dict[str, Any]]] = {e.id: [] for e in fresh}
        entries: list[dict[str, Any]] = []
        for e, awards, _ in planned:
            for a in awards:
                if a.employee_id in unpayable:
                    log.warning(
                        "event %s: award of %d points to %s (rule %s) not booked: not an active employee",
                        e.id,
                        a.points,
                        a.employee_id,
                        a.rule_id,
                    )
                    continue
                keys = cap_keys(a, e.occurred_at, self.tz)
                u = {p: used.get((a.employee_id, a.rule_id, f"{p}:{k}"), 0) for p, k in keys.items()}
                points = apply_caps(a.points, a.caps, u)
                for p, k in keys.items():
                    used[(a.employee_id, a.rule_id, f"{p}:{k}")] = u[p] + points
                if points <= 0:
                    continue
                row = entry(
                    employee_id=a.employee_id,
                    org_unit=units.get(a.employee_id, e.org_unit)
                    if a.employee_id != e.employee_id
                    else e.org_unit,
                    points=points,
                    kind="award",
                    reason=a.reason if points == a.points else f"{a.reason} (capped: {points} of {a.points})",
                    source_event_id=e.id,
                    rule_id=a.rule_id,
                    pack_id=a.pack_id,
                    pack_version=a.pack_version,
                    occurred_at=e.occurred_at,
                )
                by_event[e.id].append(row)
                entries.append(row)
        store.store_caps({k: v for k, v in used.items() if cap_start.get(k) != v})
        for e, _, reversals in planned:
            for r in reversals:
                rows = self.reversal_entries(store, r.event_id, r.reason, r.rule_id, e.occurred_at, entries)
                by_event[e.id].extend(rows)
                entries.extend(rows)
        for e_id, rows in self._team_goals(store, fresh).items():
            by_event[e_id].extend(rows)
            entries.extend(rows)
        if may_book is not None:  # a refusal raises: the caller's unit of work then commits nothing
            subject = {e.id: e.employee_id for e in fresh}
            for employee_id, org_unit in dict.fromkeys(
                (row["employee_id"], row["org_unit"])
                for row in entries
                # a team goal's pool was set by whoever manages the goal, not by the reporting source
                if row["kind"] != "team_goal" and row["employee_id"] != subject.get(row["source_event_id"])
            ):
                may_book(employee_id, org_unit)
        store.write(entries, now)

        dup_entries: dict[str, list[dict[str, Any]]] = {}
        dups = [e.id for e in first.values() if e.id not in new_ids]
        if dups and with_duplicates:
            for r in store.entries_of(dups):
                dup_entries.setdefault(r["source_event_id"], []).append(r)
        out: list[Result] = []
        done: set[str] = set()
        for e in events:
            if e.id in new_ids and e.id not in done:
                done.add(e.id)
                out.append((by_event[e.id], True))
            else:
                out.append((by_event.get(e.id) or dup_entries.get(e.id, []), False))
        return out

    # -- steps -------------------------------------------------------------------------------
    def reversal_entries(
        self,
        store: PointsStore,
        source_event_id: str,
        reason: str,
        by: str,
        at: datetime,
        pending: Sequence[dict[str, Any]] = (),
        recorded: Sequence[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Compensating entries for what ``source_event_id`` paid (nothing when it paid nothing or was
        reversed already); ``recorded``: its award and reversal entries when the caller has read them."""
        rows = (
            list(recorded)
            if recorded is not None
            else store.entries_of([source_event_id], ("award", "reversal"))
        )
        rows += [
            p
            for p in pending
            if p["source_event_id"] == source_event_id and p["kind"] in ("award", "reversal")
        ]
        if any(r["kind"] == "reversal" for r in rows):
            return []
        return [
            entry(
                employee_id=r["employee_id"],
                org_unit=r["org_unit"],
                points=-int(r["points"]),
                kind="reversal",
                reason=f"{reason} (reverses {r['rule_id']} {r['pack_id']}@{r['pack_version']}; by {by})",
                source_event_id=source_event_id,
                rule_id=r["rule_id"],
                pack_id=r["pack_id"],
                pack_version=r["pack_version"],
                occurred_at=at,
            )
            for r in rows
            if r["kind"] == "award"
        ]

    def _team_goals(self, store: PointsStore, fresh: list[EventIn]) -> dict[str, list[dict[str, Any]]]:
        """Count the events towards open team goals; pay out the pool of every goal reached now."""
        types = sorted({e.type for e in fresh})
        if not types:
            return {}
        goals = store.open_team_goals(types)
        if not goals:
            return {}
        contrib: dict[tuple[str, str], list[Any]] = {}
        last: dict[str, EventIn] = {}
        for goal in goals:
            root = goal.org_unit.rstrip("/")
            start, end = as_utc(goal.start_time), as_utc(goal.end_time)
            for e in fresh:
                if e.type != goal.event_type or not (start <= e.occurred_at < end):
                    continue
                if root and not (e.org_unit == root or e.org_unit.startswith(root + "/")):
                    continue
                qty = e.data.get("quantity", 1)
                qty = int(qty) if isinstance(qty, (int, float)) and qty > 0 else 1
                c = contrib.setdefault((goal.id, e.employee_id), [e.org_unit, 0])
                c[1] += qty
                last[goal.id] = e
        if not contrib:
            return {}
        matched = sorted(last)
        locked = store.lock_team_goals(matched)
        store.add_goal_progress(
            [
                {"goal_id": gid, "employee_id": emp, "org_unit": v[0], "contribution": v[1]}
                for (gid, emp), v in sorted(contrib.items())
            ]
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for gid in matched:
            goal = locked[gid]
            if goal.state != "OPEN":
                continue
            rows = store.goal_progress(gid)
            progress = sum(c for _, _, c in rows)
            if not reached(progress, int(goal.target)):
                continue
            e = last[gid]
            units = {emp: unit for emp, unit, _ in rows}
            shares = split_pool(int(goal.pool_points), {emp: c for emp, _, c in rows})
            store.achieve_goal(gid, e.occurred_at)
            out.setdefault(e.id, []).extend(
                entry(
                    employee_id=s.employee_id,
                    org_unit=units[s.employee_id],
                    points=s.points,
                    kind="team_goal",
                    reason=f"team goal {goal.name!r} reached: {s.explanation}",
                    source_event_id=f"team-goal:{gid}",
                    rule_id="team-goal",
                    occurred_at=e.occurred_at,
                )
                for s in shares
                if s.points
            )
            store.emit(
                new_event(
                    "points.team_goal_achieved",
                    source="points",
                    subject=f"team-goals/{gid}",
                    org_unit=goal.org_unit,
                    occurred_at=e.occurred_at,
                    data={
                        "goal_id": gid,
                        "name": goal.name,
                        "target": int(goal.target),
                        "progress": progress,
                        "pool_points": int(goal.pool_points),
                        "shares": [
                            {"employee_id": s.employee_id, "contribution": s.contribution, "points": s.points}
                            for s in shares
                        ],
                    },
                    idempotency_key=f"points.team_goal_achieved:{gid}",
                ),
            )
        return out
