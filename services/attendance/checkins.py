"""Attendance: check-ins. One check-in is four steps: facts (directory, validation, authorization, place),
judgement on ONE pack snapshot (radius, parameters and rules of the same versions), rows, events. A batch runs
the steps over all its items in one transaction and on one snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from covenant.auth import DataOwner, Principal, authorize
from covenant.coalesce import Coalescer
from covenant.db import idempotency
from covenant.errors import CovenantError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from covenant.rules import FiredAction
from covenant.rules.runtime import resolve_parameter
from covenant.timestamps import as_utc
from services.attendance.base import AttendanceBase
from services.attendance.domain.geo import Place, haversine_m
from services.attendance.domain.pings import PingIn, validate_ping
from services.attendance.domain.stops import Ping
from services.attendance.ports import AttendanceStore, CheckInIdTaken, FixWindow

MAX_BATCH = 500  # check-ins per BatchCheckIns call
#: A group commit of unary check-ins that has run this long (waiting on an employee-day another call holds)
#: no longer holds the next group back (``covenant.coalesce``): other employees' check-ins go on.
UNARY_STALL_SECONDS = 0.25
#: A group of unary check-ins given its turn right after a unit ended waits up to this long for that unit's
#: callers to call again (``covenant.coalesce``: clients that send the next check-in as soon as one returns
#: then share each unit's round trips and commit four to a unit, not two).
UNARY_FILL_SECONDS = 0.02


@dataclass(frozen=True)
class CheckInResult:
    visit_id: str
    verified: bool
    distance_m: float
    radius_m: float
    event_type: str
    rule_id: str
    pack_id: str
    pack_version: str
    suspicions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckInIn:
    """One check-in as asked: the ping, the client visited and the check-in id (``request_id``)."""

    ping: PingIn
    client_id: str
    request_id: str = ""


@dataclass(frozen=True)
class _CheckInJudgement:
    ping: PingIn
    client_id: str
    day: str
    distance_m: float
    radius_m: float
    prev: Ping | None
    facts: dict[str, Any]
    fired: list[FiredAction]


def _visit_row(
    j: _CheckInJudgement, request_id: str, visit_id: str, verified: bool, stamp: dict[str, str]
) -> dict[str, Any]:
    """The visit row of a judged check-in."""
    return {
        "id": visit_id,
        "request_id": request_id or None,
        "employee_id": j.ping.employee_id,
        "org_unit": j.ping.org_unit,
        "client_id": j.client_id,
        "day": j.day,
        "at": j.ping.at,
        "latitude": j.ping.latitude,
        "longitude": j.ping.longitude,
        "distance_m": j.distance_m,
        "verified": verified,
        **stamp,
    }


def _visit_data(j: _CheckInJudgement, visit_id: str) -> dict[str, Any]:
    """What the visit's event and anomalies say about it."""
    return {
        "client_id": j.client_id,
        "visit_id": visit_id,
        "checked_in_at": j.ping.at.isoformat(),
        "latitude": j.ping.latitude,
        "longitude": j.ping.longitude,
        "distance_m": round(j.distance_m, 1),
        "radius_m": j.radius_m,
        "device_id": j.ping.device_id,
    }


# (index in the call, the item, its ping with the directory's identity, the client's place)
_CheckInTodo = tuple[int, CheckInIn, PingIn, Place]


def _what(employee_id: str, client_id: str, at: datetime) -> tuple[str, str, datetime]:
    """What a check-in id names: whose check-in, at which client, when. A resend names the same."""
    return (employee_id, client_id, as_utc(at))


def _reused(where: str) -> InvalidArgument:
    """The answer to a check-in id that already names another check-in (another employee's, client's or
    time's): nothing is recorded and nothing of the other check-in is told."""
    return idempotency.reused(f"{where}request_id", "check-in")


class CheckIns:
    """Check-ins verified against the client radius by the pack's rules (one or a batch)."""

    def __init__(self, base: AttendanceBase) -> None:
        self.base = base
        # unary check-ins arriving while one is being recorded share the next transaction (group commit)
        self._unary: Coalescer[tuple[Principal, CheckInIn], CheckInResult] = Coalescer(
            self._unary_group, stall_after=UNARY_STALL_SECONDS, fill_wait=UNARY_FILL_SECONDS
        )

    def check_in(self, principal: Principal, ping: PingIn, client_id: str, request_id: str) -> CheckInResult:
        """Verifies a check-in for a named client visit against the client's radius (pack rules decide).
        Concurrent calls share a transaction and a pack snapshot (``covenant.coalesce``); each gets its own
        result or error."""
        return self._unary((principal, CheckInIn(ping, client_id, request_id)))

    def _unary_group(self, calls: list[tuple[Principal, CheckInIn]]) -> list[CheckInResult | CovenantError]:
        return self._check_ins([p for p, _ in calls], [item for _, item in calls], batch=False)

    def batch_check_ins(
        self, principal: Principal, items: Sequence[CheckInIn]
    ) -> list[CheckInResult | CovenantError]:
        """Check-ins judged on one pack snapshot in one transaction, idempotent per check-in id
        (``request_id``, required): per item a result or its error (bad input, unknown client or
        employee); an authorization failure on any item refuses the whole batch."""
        if not items:
            raise InvalidArgument("at least one check-in is required", field="check_ins")
        if len(items) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} check-ins per call", field="check_ins")
        return self._check_ins([principal] * len(items), items, batch=True)

    def _check_in_facts(
        self, principal: Principal, item: CheckInIn, where: str, now: datetime, batch: bool
    ) -> tuple[PingIn, Place]:
        """Step 1: the ping with the directory's identity, validated and authorized, and its place."""
        (ping,) = self.base.from_directory([item.ping], f"{where}ping", indexed=False)
        validate_ping(ping, f"{where}ping", now)
        if not item.client_id:
            raise InvalidArgument("is required", field=f"{where}client_id")
        if batch and not item.request_id:
            raise InvalidArgument(
                "is required (the check-in id a resent batch is matched by)", field=f"{where}request_id"
            )
        authorize(principal, "attendance.visits.write", DataOwner(ping.employee_id, ping.org_unit))
        place = self.base.index().get(item.client_id)
        if place is None:
            raise NotFound(f"client place {item.client_id!r} is not known; import it first")
        return ping, place

    def _check_ins(
        self, principals: Sequence[Principal], items: Sequence[CheckInIn], *, batch: bool
    ) -> list[CheckInResult | CovenantError]:
        """Per item its result or its error. ``batch``: one caller's BatchCheckIns (fields named
        ``check_ins[i].``, check-in ids required, a permission denied on any item refuses the call); else
        unary calls, each on its own (``principals[i]`` is item i's caller)."""
        out: list[CheckInResult | CovenantError | None] = [None] * len(items)
        todo = self._gather_check_ins(principals, items, out, batch=batch)
        if todo:
            packs = self.base.rules.snapshot()  # step 2 judges every item of the call on this one pack set
            try:
                self._record_unit(packs, todo, out, batch)
            except CheckInIdTaken:  # recorded by another unit meanwhile: the look-up now finds it
                self._record_unit(packs, todo, out, batch)
        return [r for r in out if r is not None]

    def _record_unit(
        self,
        packs: Sequence[Any],
        todo: list[_CheckInTodo],
        out: list[CheckInResult | CovenantError | None],
        batch: bool,
    ) -> None:
        """Steps 2 to 4 for ``todo`` in one unit of work; every item's answer lands in ``out``."""
        with self.base.stores() as st:
            # the days first: a resend racing the original call waits here, then finds it recorded
            # (looked up before the lock, both calls saw it missing; the second failed on the unique id);
            # the fix before each check-in is read with them (a check-in records no fix of its own)
            states, recorded, prevs = st.check_in_reads(
                [self._day_key(p) for _, _, p, _ in todo],
                [item.request_id for _, item, _, _ in todo if item.request_id],
                [self._fix_window(packs, p) for _, _, p, _ in todo],
            )
            fresh = self._replay_recorded(recorded, todo, prevs, out, batch)
            if fresh:
                self._record_check_ins(st, packs, fresh, out, states, batch)

    def _gather_check_ins(
        self,
        principals: Sequence[Principal],
        items: Sequence[CheckInIn],
        out: list[CheckInResult | CovenantError | None],
        *,
        batch: bool,
    ) -> list[_CheckInTodo]:
        """Step 1 over every item; an item's bad input becomes its result in ``out`` (and, for unary calls,
        a permission denied: in a batch it refuses the call)."""
        now = self.base.clock()
        if self.base.directory is not None and len(items) > 1:
            self.base.directory.prefetch(item.ping.employee_id for item in items)
        todo: list[_CheckInTodo] = []
        for i, item in enumerate(items):
            try:
                ping, place = self._check_in_facts(principals[i], item, self._where(i, batch), now, batch)
            except (InvalidArgument, NotFound, FailedPrecondition) as e:
                out[i] = e
                continue
            except PermissionDenied as e:
                if batch:
                    raise
                out[i] = e
                continue
            todo.append((i, item, ping, place))
        return todo

    def _replay_recorded(
        self,
        recorded: dict[str, dict[str, Any]],
        todo: list[_CheckInTodo],
        prevs: list[Ping | None],
        out: list[CheckInResult | CovenantError | None],
        batch: bool,
    ) -> list[tuple[_CheckInTodo, Ping | None]]:
        """Items whose check-in id is already ``recorded`` get the recorded result in ``out``, or, when the
        id names another check-in, an error; the rest, each with the fix before it."""
        fresh = []
        for (i, item, ping, place), prev in zip(todo, prevs, strict=True):
            row = recorded.get(item.request_id)
            if row is None:
                fresh.append(((i, item, ping, place), prev))
            elif _what(row["employee_id"], row["client_id"], row["at"]) == _what(
                ping.employee_id, item.client_id, ping.at
            ):
                out[i] = self._replayed(row)
            else:
                out[i] = _reused(self._where(i, batch))
        return fresh

    @staticmethod
    def _where(i: int, batch: bool) -> str:
        """The field prefix of item ``i``'s errors."""
        return f"check_ins[{i}]." if batch else ""

    def _record_check_ins(
        self,
        st: AttendanceStore,
        packs: Sequence[Any],
        fresh: list[tuple[_CheckInTodo, Ping | None]],
        out: list[CheckInResult | CovenantError | None],
        states: dict[tuple[str, str], Any],
        batch: bool,
    ) -> None:
        """Steps 2 to 4 for the new items in one unit: a check-in sent twice in one unit (under one id) is
        one visit, another check-in under an id already used in it an error; the employee-days they touch
        (locked by the caller, in ``states``) are marked out of date."""
        visits: list[dict[str, Any]] = []
        events: list[Any] = []
        seen: dict[str, tuple[int, tuple[str, str, datetime]]] = {}
        with self.base.rules.evaluator(packs) as evaluate:
            for (i, item, ping, place), prev in fresh:
                what = _what(ping.employee_id, item.client_id, ping.at)
                if item.request_id in seen:  # sent twice in one unit: one visit
                    first, first_what = seen[item.request_id]
                    out[i] = out[first] if what == first_what else _reused(self._where(i, batch))
                    continue
                judged = self._judge_check_in(evaluate, packs, ping, place, item.client_id, prev)
                out[i] = self._record_check_in(st, judged, item, visits, events)
                if item.request_id:
                    seen[item.request_id] = (i, what)
        touched = [states[k[:2]] for k in dict.fromkeys(self._day_key(p) for (_, _, p, _), _ in fresh)]
        for day_state in touched:
            day_state.dirty = True
        with st.pipelined(commit=True):  # no answers wanted: one round trip on PostgreSQL with the commit
            st.add_visits(visits)
            st.emit(events)
            st.save_days(touched)

    def _day_key(self, p: PingIn) -> tuple[str, str, str, str]:
        """(employee, local day, org unit, role) of a check-in: the day row it locks and marks."""
        return (p.employee_id, self.base.day_of(p.at), p.org_unit, p.role)

    @staticmethod
    def _num(packs: Sequence[Any], ping: PingIn, name: str, default: float) -> float:
        """Parameter ``name`` for the pinging employee's role and org unit, from ``packs``."""
        return float(resolve_parameter(packs, name, ping.role or None, ping.org_unit or None, default))

    def _fix_window(self, packs: Sequence[Any], ping: PingIn) -> FixWindow:
        """Where a check-in looks for the fix before it: back ``checkin_ping_window_minutes``."""
        since = ping.at - timedelta(minutes=self._num(packs, ping, "checkin_ping_window_minutes", 15))
        return FixWindow(ping.employee_id, since, ping.at, self.base.day_of(since), self.base.day_of(ping.at))

    def _judge_check_in(
        self,
        evaluate: Callable[..., list[FiredAction]],
        packs: Sequence[Any],
        ping: PingIn,
        place: Place,
        client_id: str,
        prev: Ping | None,
    ) -> _CheckInJudgement:
        """Step 2: facts and the fired rules, parameters from ``packs`` and rules by ``evaluate`` (the
        unit's evaluator on the same snapshot); ``prev`` is the fix before the check-in within its window."""

        def num(name: str, default: float) -> float:
            return self._num(packs, ping, name, default)

        radius = place.radius_m or num("visit_radius_m", 150)
        dist = haversine_m(ping.latitude, ping.longitude, place.latitude, place.longitude)
        gap = haversine_m(prev.latitude, prev.longitude, ping.latitude, ping.longitude) if prev else None
        facts = {
            "distance_m": round(dist, 1),
            "radius_m": radius,
            "within_radius": dist <= radius,
            "has_preceding_ping": prev is not None,
            "distance_from_last_ping_m": round(gap, 1) if gap is not None else -1,
            "far_from_pings": gap is not None and gap > num("checkin_ping_gap_m", 1000),
            "mock_location": ping.mock,
            "accuracy_m": ping.accuracy_m,
            "high_risk_client": place.high_risk,
        }
        fired = evaluate(
            {
                "type": "attendance.check_in",
                "role": ping.role,
                "org_unit": ping.org_unit,
                "client_id": client_id,
            },
            facts,
        )
        return _CheckInJudgement(ping, client_id, self.base.day_of(ping.at), dist, radius, prev, facts, fired)

    def _record_check_in(
        self,
        st: AttendanceStore,
        j: _CheckInJudgement,
        item: CheckInIn,
        visits: list[dict[str, Any]],
        events: list[Any],
    ) -> CheckInResult:
        """Steps 3 and 4: the visit row (appended to ``visits``), its outcome and spoofing anomalies."""
        verify = next((a for a in j.fired if a.action == "verify_visit"), None)
        mismatch = next((a for a in j.fired if a.action == "flag_location_mismatch"), None)
        verified = verify is not None and mismatch is None
        decision = verify if verified else mismatch
        visit_id = "visit_" + uuid.uuid4().hex[:16]
        stamp = {
            "rule_id": decision.rule_id if decision else "",
            "pack_id": decision.pack_id if decision else "",
            "pack_version": decision.pack_version if decision else "",
        }
        visits.append(_visit_row(j, item.request_id, visit_id, verified, stamp))
        result = "verified" if verified else "mismatched" if mismatch is not None else "unverified"
        st.count_check_in(result)
        data = _visit_data(j, visit_id)
        event_type = ""
        if verified:
            event_type = "attendance.visit_verified"
            events.append(
                self.base.event(
                    "visit_verified",
                    j.ping.employee_id,
                    j.ping.org_unit,
                    visit_id,
                    j.ping.at,
                    {"day": j.day, **data, **stamp},
                )
            )
        elif mismatch is not None:
            event_type = "attendance.location_mismatch"
            self.base.anomaly(
                st,
                "location_mismatch",
                j.ping.employee_id,
                j.ping.org_unit,
                j.day,
                visit_id,
                j.ping.at,
                data,
                mismatch,
                ref_id=visit_id,
            )
        suspicions = self._flag_spoofing(st, j, visit_id, data)
        return CheckInResult(
            visit_id, verified, j.distance_m, j.radius_m, event_type, *stamp.values(), tuple(suspicions)
        )

    def _flag_spoofing(
        self, st: AttendanceStore, j: _CheckInJudgement, visit_id: str, data: dict[str, Any]
    ) -> list[str]:
        """Step 4, spoofing: one anomaly per ``flag_spoofing`` rule fired, with the facts and the preceding
        fix as evidence; returns the rule ids."""
        suspicions = []
        for a in j.fired:
            if a.action != "flag_spoofing":
                continue
            suspicions.append(a.rule_id)
            evidence = {"check": a.rule_id, **data, **j.facts}
            if j.prev is not None:
                evidence["preceding_ping"] = {
                    "at": j.prev.at.isoformat(),
                    "latitude": j.prev.latitude,
                    "longitude": j.prev.longitude,
                }
            self.base.anomaly(
                st,
                "spoofing_suspected",
                j.ping.employee_id,
                j.ping.org_unit,
                j.day,
                f"checkin:{visit_id}:{a.rule_id}",
                j.ping.at,
                evidence,
                a,
                ref_id=visit_id,
            )
        return suspicions

    @staticmethod
    def _replayed(row: dict[str, Any]) -> CheckInResult:
        verified = bool(row["verified"])
        kind = (
            "attendance.visit_verified"
            if verified
            else ("attendance.location_mismatch" if row["rule_id"] else "")
        )
        return CheckInResult(
            row["id"],
            verified,
            row["distance_m"],
            0.0,
            kind,
            row["rule_id"],
            row["pack_id"],
            row["pack_version"],
        )
