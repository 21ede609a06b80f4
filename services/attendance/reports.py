"""Attendance: route reports and team summaries of a day."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant import paging
from covenant.auth import DataOwner, Principal, authorize, scope_filter
from covenant.errors import InvalidArgument
from services.attendance import storage as db
from services.attendance.base import AttendanceBase
from services.attendance.domain.day import DaySummary, RouteItem, ordered_route, summarise
from services.attendance.domain.stops import Ping, distance_m


@dataclass(frozen=True)
class AnomalyView:
    kind: str
    at: datetime
    ref_id: str
    detail: dict[str, Any]
    rule_id: str
    pack_id: str
    pack_version: str


@dataclass(frozen=True)
class RouteReport:
    summary: DaySummary
    items: list[RouteItem]
    anomalies: list[AnomalyView] = field(default_factory=list)


class Reports:
    """The route of one employee-day and the summaries of a team's day."""

    def __init__(self, base: AttendanceBase) -> None:
        self.base = base

    def report(self, s: Session, employee_id: str, org_unit: str, day: str) -> RouteReport:
        """The route report of one employee-day."""
        return self.reports(s, [(employee_id, org_unit)], day)[0]

    @staticmethod
    def reports(s: Session, employees: Sequence[tuple[str, str]], day: str) -> list[RouteReport]:
        """The route reports of one day of these (employee id, org unit): four queries in all, not four an
        employee (a team page of a hundred read 400)."""
        ids = [e for e, _ in employees]
        visits, stops = db.visits_on(s, day, ids), db.stops_on(s, day, ids)
        anomalies, pings = db.anomalies_on(s, day, ids), db.pings_on(s, day, ids)
        return [
            Reports._report(
                employee_id,
                org_unit,
                day,
                [_visit_item(v) for v in visits.get(employee_id, [])]
                + [_stop_item(x) for x in stops.get(employee_id, [])],
                [_anomaly_view(a) for a in anomalies.get(employee_id, [])],
                pings.get(employee_id, []),
            )
            for employee_id, org_unit in employees
        ]

    @staticmethod
    def _report(
        employee_id: str,
        org_unit: str,
        day: str,
        items: list[RouteItem],
        anomalies: list[AnomalyView],
        pings: list[Ping],
    ) -> RouteReport:
        route = ordered_route(items)
        times = (pings[0].at, pings[-1].at) if pings else (None, None)
        summary = summarise(
            employee_id, org_unit, day, route, [a.kind for a in anomalies], distance_m(pings), times
        )
        return RouteReport(summary, route, anomalies)

    def route_report(self, principal: Principal, employee_id: str, day: str) -> RouteReport:
        """The route of one employee for one (org-calendar) day: visits and stops in order, anomalies."""
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        self.base.check_day(day)
        with self.base.db.session() as s:
            state = db.get_day(s, employee_id, day)
            org = state.org_unit if state else db.known_org_unit(s, employee_id)
            authorize(principal, "attendance.routes.read", DataOwner(employee_id, org))
            return self.report(s, employee_id, org, day)

    def team_summary(
        self, principal: Principal, org_unit: str, day: str, page_size: int, page_token: str
    ) -> tuple[list[DaySummary], str]:
        """Per-employee summaries of one day under an org unit (subtree), paged by employee id."""
        if not org_unit.startswith("/"):
            raise InvalidArgument("must be an org unit path like /hq/branch-1", field="org_unit")
        self.base.check_day(day)
        authorize(principal, "attendance.routes.read", DataOwner("", org_unit))
        visible = scope_filter(principal, "attendance.routes.read")  # in the query: pages are whole and exact
        with self.base.db.session() as s:
            states, token = paging.page(
                page_size,
                page_token,
                ("team-days", org_unit, day),
                lambda after, limit: db.team_days(s, org_unit, day, after, limit, visible),
                key=lambda st: st.employee_id,
                kind=str,
                first="",
            )
            reports = self.reports(s, [(st.employee_id, st.org_unit) for st in states], day)
            return [r.summary for r in reports], token


def _anomaly_view(a: Any) -> AnomalyView:
    """A stored anomaly as reports show it."""
    return AnomalyView(
        a.kind, db.utc(a.at), a.ref_id, json.loads(a.detail_json), a.rule_id, a.pack_id, a.pack_version
    )


def _visit_item(v: Any) -> RouteItem:
    """A stored visit on the route: a moment, with its distance to the client."""
    at = db.utc(v.at)
    return RouteItem(
        "visit", v.id, at, at, v.latitude, v.longitude, v.client_id, bool(v.verified), 0.0, v.distance_m
    )


def _stop_item(x: Any) -> RouteItem:
    """A stored stop on the route: a span, with its minutes."""
    start, end = db.utc(x.start_at), db.utc(x.end_at)
    return RouteItem(
        "stop", x.stop_id, start, end, x.latitude, x.longitude, x.client_id, False, x.minutes, 0.0
    )
