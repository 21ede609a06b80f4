"""Insights over computed scores: high-performer profiles (stored), coaching gaps (read, and raised as
``coaching_gap`` signals), the org-unit x KPI heat map and per-unit monthly trends. Reads the ``scores``
table's per-KPI explanation, so it sees exactly the values the scores were computed from (docs/analytics.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, ScopeFilter, authorize, scope_filter
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.errors import FailedPrecondition, InvalidArgument, NotFound
from covenant.timestamps import utcnow
from services.scoring import pictures
from services.scoring import storage as t
from services.scoring.domain import profiles as dom
from services.scoring.domain.period import parse_period, previous_period
from services.scoring.scorecards import card_from_row

READ = "scoring.insights.read"
COACHING = "coaching_gap"
MAX_TREND_PERIODS = 36
SCORE = "score"  # the heat map's column of total scores


@dataclass(frozen=True)
class StoredProfile:
    role: str
    period: str
    outcome_kpi: str
    org_unit: str
    threshold: float
    top_count: int
    rest_count: int
    kpis: tuple[dom.KpiProfile, ...]
    computed_at: datetime
    coaching_signals: int = 0


@dataclass(frozen=True)
class PersonGap:
    employee_id: str
    org_unit: str
    gap: dom.Gap


@dataclass(frozen=True)
class HeatMap:
    period: str
    previous_period: str
    units: list[str]
    kpis: list[str]
    cells: list[dom.Cell]
    png: bytes


def _unit(org_unit: str) -> str:
    return org_unit if org_unit in ("", "/") else org_unit.rstrip("/")


Png = tuple[int, int] | None  # (width, height) in pixels (0: the default) of the picture to draw; None: none


def _size(width: int, height: int) -> tuple[int, int]:
    w, h = width or 800, height or 500
    if not 200 <= w <= 4000:
        raise InvalidArgument("must be between 200 and 4000 pixels", field="width_px")
    if not 150 <= h <= 4000:
        raise InvalidArgument("must be between 150 and 4000 pixels", field="height_px")
    return w, h


class Insights:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or utcnow
        self.audit = AuditLog("scoring")

    # -- reading scored values ---------------------------------------------------------------
    def _scored(
        self, session: Session, period: str, org_unit: str, role: str
    ) -> tuple[list[Any], dict[str, str], dict[str, str]]:
        """The period's score rows under ``org_unit`` (of ``role`` when given), and the KPI labels and
        directions of the scorecards they were computed with."""
        rows = t.scores_of(session, period, _unit(org_unit), role)
        labels: dict[str, str] = {}
        directions: dict[str, str] = {}
        for card_id, version in {(r.scorecard_id, r.scorecard_version) for r in rows}:
            row = t.card_version(session, card_id, version)
            if row is not None:
                card, _ = card_from_row(row)
                for k in card.kpis:
                    labels.setdefault(k.id, k.label)
                    directions.setdefault(k.id, k.direction)
        return rows, labels, directions

    @staticmethod
    def _raw(row: Any) -> dict[str, float]:
        return {c["kpi"]: float(c["raw"]) for c in json.loads(row.contributions_json) if c["raw"] is not None}

    # -- profiles ----------------------------------------------------------------------------
    @staticmethod
    def _check(role: str, period: str, outcome: str) -> None:
        parse_period(period)
        if not role:
            raise InvalidArgument("is required", field="role")
        if not outcome:
            raise InvalidArgument("is required", field="outcome_kpi")

    def refresh_profile(
        self, principal: Principal, role: str, period: str, outcome: str, org_unit: str
    ) -> StoredProfile:
        """Compute and store the profile; replace the coaching_gap signals of the people it covers."""
        self._check(role, period, outcome)
        unit = _unit(org_unit) or "/"
        authorize(principal, "scoring.scores.compute", DataOwner("", unit))
        with self.db.session() as session:
            rows, labels, directions = self._scored(session, period, unit, role)
            values = {r.employee_id: self._raw(r) for r in rows}
            if rows and outcome not in directions:
                raise InvalidArgument(
                    f"{outcome!r} is not a KPI of the {role} scorecard", field="outcome_kpi"
                )
            found = dom.profile(values, outcome, labels, directions)
            if found is None:
                raise FailedPrecondition(
                    f"too few scored {role}s with {outcome} in {period} under {unit} "
                    f"(a profile needs {dom.MIN_PEOPLE})"
                )
            now = self.clock()
            key = {"role": role, "period": period, "outcome_kpi": outcome, "org_unit": unit}
            t.replace_performer_profile(
                session,
                {
                    **key,
                    "threshold": repr(found.threshold),
                    "top_count": len(found.top),
                    "rest_count": found.rest_count,
                    "kpis_json": json.dumps([k.__dict__ for k in found.kpis]),
                    "computed_by": principal.subject,
                    "computed_at": now,
                },
            )
            raised = self._raise_signals(session, rows, found, period, now, key)
            self.audit.append(
                session,
                actor=principal.subject,
                action="profile.refreshed",
                subject=f"profiles/{role}/{period}/{outcome}{unit if unit != '/' else ''}",
                data={"top": len(found.top), "rest": found.rest_count, "coaching_signals": raised},
            )
        return StoredProfile(
            role,
            period,
            outcome,
            unit,
            found.threshold,
            len(found.top),
            found.rest_count,
            found.kpis,
            now,
            raised,
        )

    def _raise_signals(
        self,
        session: Session,
        rows: list[Any],
        found: dom.Profile,
        period: str,
        now: datetime,
        key: dict[str, str],
    ) -> int:
        """One coaching_gap signal per person below the profile (replacing an earlier one for the period)."""
        top = set(found.top)
        out = []
        for r in rows:
            if r.employee_id in top:
                continue
            gaps = dom.gaps(self._raw(r), found.kpis)
            if not gaps:
                continue
            out.append(
                {
                    "employee_id": r.employee_id,
                    "org_unit": r.org_unit,
                    "period": period,
                    "kind": COACHING,
                    "audience": "team_lead",
                    "detail": "; ".join(g.detail for g in gaps),
                    "rule_id": f"profile:{key['role']}/{key['outcome_kpi']}",
                    "pack_id": "",
                    "pack_version": "",
                    "raised_at": now,
                }
            )
        t.replace_signals(session, period, COACHING, [r.employee_id for r in rows], out)
        return len(out)

    def _stored(self, session: Session, role: str, period: str, outcome: str, unit: str) -> StoredProfile:
        row = t.performer_profile(session, role, period, outcome, unit)
        if row is None:
            raise NotFound(f"no {role} profile on {outcome} for {period} under {unit}")
        kpis = tuple(dom.KpiProfile(**k) for k in json.loads(row.kpis_json))
        return StoredProfile(
            row.role,
            row.period,
            row.outcome_kpi,
            row.org_unit,
            float(row.threshold),
            row.top_count,
            row.rest_count,
            kpis,
            row.computed_at,
        )

    def get_profile(
        self, principal: Principal, role: str, period: str, outcome: str, org_unit: str
    ) -> StoredProfile:
        self._check(role, period, outcome)
        unit = _unit(org_unit) or "/"
        authorize(principal, READ, DataOwner("", unit))
        with self.db.session() as session:
            return self._stored(session, role, period, outcome, unit)

    def coaching_gaps(
        self, principal: Principal, role: str, period: str, outcome: str, org_unit: str, employee_id: str
    ) -> list[PersonGap]:
        """Gaps to the stored profile of those outside its top quartile whose scores the caller may read."""
        self._check(role, period, outcome)
        scope: ScopeFilter = scope_filter(principal, "scoring.scores.read")
        unit = _unit(org_unit) or "/"
        with self.db.session() as session:
            stored = self._stored(session, role, period, outcome, unit)
            rows, _, directions = self._scored(session, period, unit, role)
        lower = directions.get(outcome) == "lower"
        out = []
        for r in rows:
            if employee_id and r.employee_id != employee_id:
                continue
            if not scope.matches(DataOwner(r.employee_id, r.org_unit)):
                continue
            raw = self._raw(r)
            mine = raw.get(outcome)
            if mine is None or (mine <= stored.threshold if lower else mine >= stored.threshold):
                continue  # no outcome, or in the top quartile: the profile is theirs
            out += [PersonGap(r.employee_id, r.org_unit, g) for g in dom.gaps(raw, stored.kpis)]
        return out

    # -- heat map and trends -----------------------------------------------------------------
    def _visible(self, principal: Principal, rows: list[Any]) -> list[Any]:
        scope = scope_filter(principal, READ)
        return [r for r in rows if scope.matches(DataOwner(r.employee_id, r.org_unit))]

    @staticmethod
    def _cells(rows: list[Any]) -> dict[tuple[str, str], list[float]]:
        out: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in rows:
            out[(r.org_unit, SCORE)].append(float(r.score))
            for c in json.loads(r.contributions_json):
                out[(r.org_unit, c["kpi"])].append(float(c["normalised"]) * 100)
        return out

    def heat_map(
        self, principal: Principal, period: str, org_unit: str, role: str, png: Png = None
    ) -> HeatMap:
        parse_period(period)
        size = _size(*png) if png else (0, 0)
        scope_filter(principal, READ)  # denied before any read
        prev = previous_period(period)
        with self.db.session() as session:
            now_rows = self._visible(principal, self._scored(session, period, org_unit, role)[0])
            before = self._visible(principal, self._scored(session, prev, org_unit, role)[0])
        cells = dom.heat_cells(self._cells(now_rows), self._cells(before))
        units = sorted({c.org_unit for c in cells})
        kpis = sorted({c.kpi for c in cells} - {SCORE})
        kpis = [SCORE, *kpis] if cells else []
        picture = b""
        if png:
            picture = pictures.heatmap_png(
                units,
                kpis,
                {(c.org_unit, c.kpi): c.value for c in cells},
                {(c.org_unit, c.kpi): c.change for c in cells},
                title=f"{period} (change vs {prev})",
                width=size[0],
                height=size[1],
            )
        return HeatMap(period, prev, units, kpis, cells, picture)

    def unit_trends(
        self,
        principal: Principal,
        org_unit: str,
        from_period: str,
        to_period: str,
        role: str,
        png: Png = None,
    ) -> tuple[dict[str, list[tuple[str, float, int]]], bytes]:
        """unit -> [(period, mean score, people)] from ``from_period`` to ``to_period`` inclusive."""
        start = parse_period(from_period, "from_period")
        end = parse_period(to_period, "to_period")
        if end < start:
            raise InvalidArgument("must not be before from_period", field="to_period")
        if (end.year - start.year) * 12 + end.month - start.month >= MAX_TREND_PERIODS:
            raise InvalidArgument(f"at most {MAX_TREND_PERIODS} periods", field="to_period")
        size = _size(*png) if png else (0, 0)
        scope = scope_filter(principal, READ)
        series: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
        with self.db.session() as session:
            for unit, period, mean, people in t.unit_trends(
                session, _unit(org_unit), from_period, to_period, role, scope
            ):
                series[unit].append((period, round(mean, 4), people))
        picture = b""
        if png:
            picture = pictures.trends_png(
                {u: [(p, v) for p, v, _ in pts] for u, pts in series.items()},
                title=f"mean score {from_period} to {to_period}",
                width=size[0],
                height=size[1],
            )
        return dict(series), picture
