"""Scoring use cases: scorecard versions, metric intake, period scoring with rankings and signals,
calibration, and scoped reads. Each mutation is one unit of work with its audit entry and events."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, ScopeFilter, authorize, scope_filter
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import InvalidArgument, NotFound
from services.scoring import storage as t
from services.scoring.domain.period import parse_period, period_of, previous_period
from services.scoring.domain.scorecard import Cohort, Kpi, Scorecard, rank, score_employee
from services.scoring.domain.trends import trend_facts

SOURCE = "scoring"
TREND_PERIODS = 6


def parse_decimal(value: str, field: str) -> Decimal:
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError):
        raise InvalidArgument(f"must be a decimal number, got {value!r}", field=field) from None
    if not d.is_finite():
        raise InvalidArgument("must be finite", field=field)
    return d


def number_text(value: object) -> str:
    """Canonical decimal text for a metric amount (Struct numbers arrive as floats: -5.0 -> "-5")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(Decimal(str(value)))


def card_to_json(card: Scorecard) -> str:
    return json.dumps(
        {
            "formula": card.formula,
            "kpis": [
                {
                    "id": k.id,
                    "label": k.label,
                    "weight": str(k.weight),
                    "direction": k.direction,
                    "normalisation": k.normalisation,
                    "target": None if k.target is None else str(k.target),
                    "floor": str(k.floor),
                    "cap": str(k.cap),
                    "unit": k.unit,
                }
                for k in card.kpis
            ],
            "defaults": {},
        }
    )


def card_from_row(row: Any) -> tuple[Scorecard, dict[str, Decimal]]:
    body = json.loads(row.body_json)
    kpis = tuple(
        Kpi(
            id=k["id"],
            label=k["label"],
            weight=Decimal(k["weight"]),
            direction=k["direction"],
            normalisation=k["normalisation"],
            target=None if k.get("target") is None else Decimal(k["target"]),
            floor=Decimal(k.get("floor", "0")),
            cap=Decimal(k.get("cap", "1")),
            unit=k.get("unit", ""),
        )
        for k in body["kpis"]
    )
    card = Scorecard(
        row.id, row.version, row.role, kpis, row.effective_from, row.org_unit_prefix, body["formula"]
    )
    return card, {k: Decimal(v) for k, v in body.get("defaults", {}).items()}


@dataclass(frozen=True)
class MetricInput:
    employee_id: str
    org_unit: str
    role: str
    period: str
    metric: str
    value: Decimal
    mode: str
    source: str


def parent_unit(org_unit: str) -> str:
    return org_unit.rsplit("/", 1)[0] or "/"


class ScoringService:
    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("scoring")

    # -- scorecards --------------------------------------------------------------------------
    def create_scorecard_version(
        self, principal: Principal, card: Scorecard, defaults: dict[str, Decimal] | None = None
    ) -> Scorecard:
        authorize(principal, "scoring.scorecards.write")
        if not card.id:
            raise InvalidArgument("is required", field="scorecard.id")
        if not card.role:
            raise InvalidArgument("is required", field="scorecard.role")
        card.validate()
        with self.db.session() as session:
            return self._insert_card(session, card, defaults or {}, principal.subject)

    def _insert_card(
        self, session: Session, card: Scorecard, defaults: dict[str, Decimal], actor: str
    ) -> Scorecard:
        latest = session.execute(
            select(func.max(t.scorecards.c.version)).where(t.scorecards.c.id == card.id)
        ).scalar()
        version = (latest or 0) + 1
        body = json.loads(card_to_json(card))
        body["defaults"] = {k: str(v) for k, v in defaults.items()}
        session.execute(
            insert(t.scorecards).values(
                id=card.id,
                version=version,
                role=card.role,
                org_unit_prefix=card.org_unit_prefix,
                effective_from=card.effective_from,
                body_json=json.dumps(body),
                created_by=actor,
                created_at=self.clock(),
            )
        )
        self.audit.append(
            session,
            actor=actor,
            action="scorecard.version_created",
            subject=f"scorecards/{card.id}/versions/{version}",
            data={
                "role": card.role,
                "effective_from": card.effective_from.isoformat(),
                "weights": {k.id: str(k.weight) for k in card.kpis},
            },
        )
        return Scorecard(
            card.id, version, card.role, card.kpis, card.effective_from, card.org_unit_prefix, card.formula
        )

    def list_scorecards(self, principal: Principal, role: str) -> list[tuple[Scorecard, dict[str, Decimal]]]:
        authorize(principal, "scoring.scorecards.read")
        with self.db.session() as session:
            stmt = select(t.scorecards).order_by(t.scorecards.c.id, t.scorecards.c.version)
            if role:
                stmt = stmt.where(t.scorecards.c.role == role)
            return [card_from_row(r) for r in session.execute(stmt)]

    def seed(self, cards: Iterable[tuple[Scorecard, dict[str, Decimal]]]) -> int:
        """Insert example scorecards when there are none yet (first start)."""
        with self.db.session() as session:
            if session.execute(select(func.count()).select_from(t.scorecards)).scalar():
                return 0
            n = 0
            for card, defaults in cards:
                card.validate()
                self._insert_card(session, card, defaults, "system:default-scorecards")
                n += 1
            return n

    def _card_for(
        self, session: Session, role: str, org_unit: str, start: date
    ) -> tuple[Scorecard, dict[str, Decimal]] | None:
        rows = session.execute(
            select(t.scorecards).where(
                and_(t.scorecards.c.role == role, t.scorecards.c.effective_from <= start)
            )
        ).all()
        candidates = [
            r
            for r in rows
            if not r.org_unit_prefix
            or org_unit == r.org_unit_prefix
            or org_unit.startswith(r.org_unit_prefix.rstrip("/") + "/")
        ]
        if not candidates:
            return None
        best = max(candidates, key=lambda r: (len(r.org_unit_prefix), r.effective_from, r.version))
        return card_from_row(best)

    # -- metrics -----------------------------------------------------------------------------
    def record_metrics(self, principal: Principal, values: Sequence[MetricInput], request_id: str) -> int:
        authorize(principal, "scoring.metrics.write")
        if not values:
            raise InvalidArgument("at least one value is required", field="values")
        for i, v in enumerate(values):
            for name in ("employee_id", "org_unit", "metric", "source"):
                if not getattr(v, name):
                    raise InvalidArgument("is required", field=f"values[{i}].{name}")
            parse_period(v.period, f"values[{i}].period")
            if v.mode not in ("set", "add"):
                raise InvalidArgument("must be set or add", field=f"values[{i}].mode")
        now = self.clock()
        with self.db.session() as session:
            if request_id:
                done = session.execute(
                    select(t.metric_requests.c.recorded).where(t.metric_requests.c.request_id == request_id)
                ).scalar()
                if done is not None:
                    return int(done)
                session.execute(insert(t.metric_requests).values(request_id=request_id, recorded=len(values)))
            session.execute(
                insert(t.metric_values),
                [
                    {
                        "employee_id": v.employee_id,
                        "period": v.period,
                        "metric": v.metric,
                        "value": str(v.value),
                        "mode": v.mode,
                        "source": v.source,
                        "source_ref": request_id,
                        "rule_id": "",
                        "pack_version": "",
                        "recorded_at": now,
                    }
                    for v in values
                ],
            )
            for v in values:
                self._upsert_profile(session, v.employee_id, v.org_unit, v.role)
        return len(values)

    def _upsert_profile(self, session: Session, employee_id: str, org_unit: str, role: str) -> None:
        row = session.execute(select(t.profiles).where(t.profiles.c.employee_id == employee_id)).first()
        if row is None:
            session.execute(
                insert(t.profiles).values(employee_id=employee_id, org_unit=org_unit, role=role or "")
            )
        elif (org_unit and row.org_unit != org_unit) or (role and row.role != role):
            session.execute(
                update(t.profiles)
                .where(t.profiles.c.employee_id == employee_id)
                .values(org_unit=org_unit or row.org_unit, role=role or row.role)
            )

    def apply_event(self, session: Session, event: Any) -> int:
        """Turn another service's event into metric values, as the scoring rule pack says."""
        data = dict(event.data)
        employee = str(data.get("employee_id") or event.subject.removeprefix("employees/"))
        if not employee:
            return 0
        fired = self.rules.evaluate({"type": event.type, "source": event.source, **data}, {})
        day = event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(self.tz).date()
        rows = []
        for action in fired:
            if action.action not in ("add_metric", "set_metric"):
                continue
            rows.append(
                {
                    "employee_id": employee,
                    "period": period_of(day),
                    "metric": str(action.params["metric"]),
                    "value": number_text(action.params.get("amount", action.params.get("value", 1))),
                    "mode": "add" if action.action == "add_metric" else "set",
                    "source": event.source or "event",
                    "source_ref": event.id,
                    "rule_id": action.rule_id,
                    "pack_version": action.pack_version,
                    "recorded_at": self.clock(),
                }
            )
        if rows:
            session.execute(insert(t.metric_values), rows)
            self._upsert_profile(session, employee, event.org_unit, str(data.get("role", "")))
        return len(rows)

    def _metrics(
        self, session: Session, period: str, employees: Sequence[str]
    ) -> dict[str, dict[str, tuple[Decimal | None, Decimal, list[str]]]]:
        """employee -> metric -> (last set value or None, sum of adds, sources)."""
        out: dict[str, dict[str, tuple[Decimal | None, Decimal, list[str]]]] = defaultdict(dict)
        if not employees:
            return out
        rows = session.execute(
            select(t.metric_values)
            .where(
                and_(t.metric_values.c.period == period, t.metric_values.c.employee_id.in_(list(employees)))
            )
            .order_by(t.metric_values.c.id)
        )
        for r in rows:
            setv, add, sources = out[r.employee_id].get(r.metric, (None, Decimal(0), []))
            if r.mode == "set":
                setv, add = Decimal(r.value), Decimal(0)
            else:
                add += Decimal(r.value)
            label = f"{r.source}:{r.rule_id}@{r.pack_version}" if r.rule_id else r.source
            if label not in sources:
                sources = [*sources, label]
            out[r.employee_id][r.metric] = (setv, add, sources)
        return out

    # -- scoring -----------------------------------------------------------------------------
    def compute(self, principal: Principal, period: str, org_unit: str) -> tuple[int, int]:
        start = parse_period(period)
        if not org_unit:
            raise InvalidArgument("is required", field="org_unit")
        authorize(principal, "scoring.scores.compute", DataOwner("", org_unit))
        root = org_unit.rstrip("/")
        with self.db.session() as session:
            people = session.execute(
                select(t.profiles).where(
                    or_(t.profiles.c.org_unit == root, t.profiles.c.org_unit.like(root + "/%"))
                    if root
                    else True
                )
            ).all()
            metrics = self._metrics(session, period, [p.employee_id for p in people])
            groups: dict[tuple[str, int], list[Any]] = defaultdict(list)
            cards: dict[tuple[str, int], tuple[Scorecard, dict[str, Decimal]]] = {}
            card_cache: dict[tuple[str, str], Any] = {}
            for p in people:
                if (p.role, p.org_unit) not in card_cache:
                    card_cache[(p.role, p.org_unit)] = self._card_for(session, p.role, p.org_unit, start)
                found = card_cache[(p.role, p.org_unit)]
                if found is None:
                    continue
                key = (found[0].id, found[0].version)
                cards[key] = found
                groups[key].append(p)
            results = []
            for key, members in groups.items():
                card, defaults = cards[key]
                values: dict[str, dict[str, Decimal]] = {}
                sources: dict[str, dict[str, list[str]]] = {}
                for p in members:
                    vals: dict[str, Decimal] = {}
                    srcs: dict[str, list[str]] = {}
                    for kpi in card.kpis:
                        m = metrics.get(p.employee_id, {}).get(kpi.id)
                        if m is None:
                            if kpi.id in defaults:
                                vals[kpi.id] = defaults[kpi.id]
                                srcs[kpi.id] = ["default"]
                            continue
                        setv, add, src = m
                        base = setv if setv is not None else defaults.get(kpi.id, Decimal(0))
                        vals[kpi.id] = base + add
                        srcs[kpi.id] = src
                    values[p.employee_id] = vals
                    sources[p.employee_id] = srcs
                cohort = Cohort({k.id: [v[k.id] for v in values.values() if k.id in v] for k in card.kpis})
                for p in members:
                    results.append(
                        (
                            p,
                            score_employee(card, p.employee_id, values[p.employee_id], cohort),
                            sources[p.employee_id],
                        )
                    )
            by_team: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
            by_unit: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
            for p, s, _ in results:
                by_team[p.org_unit].append((p.employee_id, s.total))
                by_unit[parent_unit(p.org_unit)].append((p.employee_id, s.total))
            team_rank = {u: rank(v) for u, v in by_team.items()}
            unit_rank = {u: rank(v) for u, v in by_unit.items()}
            prev = previous_period(period)
            ids = [p.employee_id for p, _, _ in results]
            session.execute(
                delete(t.scores).where(and_(t.scores.c.period == period, t.scores.c.employee_id.in_(ids)))
            )
            history = self._history(session, ids, period)
            raised = 0
            score_rows = []
            for p, s, srcs in results:
                prev_score = history[p.employee_id].get(prev)
                contributions = [
                    {
                        "kpi": c.kpi,
                        "label": c.label,
                        "raw": None if c.raw is None else str(c.raw),
                        "normalised": str(c.normalised),
                        "points": str(c.points),
                        "weight": str(c.weight),
                        "explanation": c.explanation,
                        "sources": srcs.get(c.kpi, []),
                    }
                    for c in s.contributions
                ]
                score_rows.append(
                    {
                        "employee_id": p.employee_id,
                        "period": period,
                        "org_unit": p.org_unit,
                        "role": p.role,
                        "scorecard_id": s.scorecard_id,
                        "scorecard_version": s.scorecard_version,
                        "score": str(s.total),
                        "contributions_json": json.dumps(contributions),
                        "rank_in_team": team_rank[p.org_unit][p.employee_id],
                        "rank_in_org_unit": unit_rank[parent_unit(p.org_unit)][p.employee_id],
                        "team_size": len(by_team[p.org_unit]),
                        "change": "" if prev_score is None else str(s.total - prev_score),
                        "computed_at": self.clock(),
                    }
                )
            for i in range(0, len(score_rows), 5000):
                session.execute(insert(t.scores), score_rows[i : i + 5000])
            for p, s, _srcs in results:
                series = [history[p.employee_id][k] for k in sorted(history[p.employee_id]) if k < period] + [
                    s.total
                ]
                raised += self._signals(session, p, period, s, series, cohort_gaps=self._gaps(s))
        return len(results), raised

    def _history(self, session: Session, ids: Sequence[str], period: str) -> dict[str, dict[str, Decimal]]:
        oldest = previous_period(period, TREND_PERIODS)
        out: dict[str, dict[str, Decimal]] = {i: {} for i in ids}
        if ids:
            for r in session.execute(
                select(t.scores.c.employee_id, t.scores.c.period, t.scores.c.score).where(
                    and_(
                        t.scores.c.employee_id.in_(list(ids)),
                        t.scores.c.period >= oldest,
                        t.scores.c.period < period,
                    )
                )
            ):
                out[r.employee_id][r.period] = Decimal(r.score)
        return out

    @staticmethod
    def _gaps(score: Any) -> dict[str, float]:
        return {c.kpi: float(c.normalised) for c in score.contributions}

    def _signals(
        self,
        session: Session,
        p: Any,
        period: str,
        score: Any,
        series: list[Decimal],
        cohort_gaps: dict[str, float],
    ) -> int:
        facts = trend_facts(series)
        weakest = min(cohort_gaps.items(), key=lambda kv: kv[1]) if cohort_gaps else ("", 1.0)
        fired = self.rules.evaluate(
            {
                "type": "scoring.period_scored",
                "employee_id": p.employee_id,
                "role": p.role,
                "score": float(score.total),
            },
            {
                "consecutive_declines": facts.consecutive_declines,
                "drop_pct": facts.drop_pct,
                "change": facts.change,
                "periods": facts.periods,
                "weakest_kpi": weakest[0],
                "weakest_kpi_normalised": weakest[1],
                **{f"kpi_{k}": v for k, v in cohort_gaps.items()},
            },
        )
        raised = 0
        for a in fired:
            if a.action != "raise_signal":
                continue
            kind = str(a.params["kind"])
            exists = session.execute(
                select(t.signals.c.id).where(
                    and_(
                        t.signals.c.employee_id == p.employee_id,
                        t.signals.c.period == period,
                        t.signals.c.kind == kind,
                    )
                )
            ).first()
            if exists:
                continue
            detail = str(a.params.get("detail", "")) or (
                f"score {score.total}, {facts.consecutive_declines} consecutive declines, "
                f"drop {facts.drop_pct}%"
            )
            audience = str(a.params.get("audience", "hr"))
            session.execute(
                insert(t.signals).values(
                    employee_id=p.employee_id,
                    org_unit=p.org_unit,
                    period=period,
                    kind=kind,
                    audience=audience,
                    detail=detail,
                    rule_id=a.rule_id,
                    pack_id=a.pack_id,
                    pack_version=a.pack_version,
                    raised_at=self.clock(),
                )
            )
            self.outbox.add(
                session,
                new_event(
                    f"scoring.{kind}",
                    source=SOURCE,
                    subject=f"employees/{p.employee_id}",
                    org_unit=p.org_unit,
                    data={
                        "employee_id": p.employee_id,
                        "period": period,
                        "audience": audience,
                        "detail": detail,
                        "score": str(score.total),
                        "rule_id": a.rule_id,
                        "pack_id": a.pack_id,
                        "pack_version": a.pack_version,
                    },
                    idempotency_key=f"scoring.{kind}:{p.employee_id}:{period}",
                ),
            )
            raised += 1
        return raised

    # -- reads and calibration ---------------------------------------------------------------
    def _score_row(self, session: Session, employee_id: str, period: str) -> Any:
        row = session.execute(
            select(t.scores).where(and_(t.scores.c.employee_id == employee_id, t.scores.c.period == period))
        ).first()
        if row is None:
            raise NotFound(f"no score for employees/{employee_id} in {period}")
        return row

    def get_score(self, principal: Principal, employee_id: str, period: str) -> tuple[Any, list[Any]]:
        parse_period(period)
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        with self.db.session() as session:
            profile = session.execute(
                select(t.profiles).where(t.profiles.c.employee_id == employee_id)
            ).first()
            authorize(
                principal, "scoring.scores.read", DataOwner(employee_id, profile.org_unit if profile else "")
            )
            row = self._score_row(session, employee_id, period)
            return row, self._calibrations(session, [employee_id], period).get(employee_id, [])

    def _calibrations(self, session: Session, ids: Sequence[str], period: str) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = defaultdict(list)
        for r in session.execute(
            select(t.calibrations)
            .where(and_(t.calibrations.c.period == period, t.calibrations.c.employee_id.in_(list(ids))))
            .order_by(t.calibrations.c.id)
        ):
            out[r.employee_id].append(r)
        return out

    def list_scores(
        self, principal: Principal, period: str, org_unit: str, offset: int, limit: int
    ) -> tuple[list[tuple[Any, list[Any]]], bool]:
        parse_period(period)
        scope: ScopeFilter = scope_filter(principal, "scoring.scores.read")
        with self.db.session() as session:
            stmt = select(t.scores).where(t.scores.c.period == period)
            if org_unit:
                root = org_unit.rstrip("/")
                stmt = stmt.where(or_(t.scores.c.org_unit == root, t.scores.c.org_unit.like(root + "/%")))
            if not scope.all:
                visible = []
                if scope.employee_id is not None:
                    visible.append(t.scores.c.employee_id == scope.employee_id)
                if scope.org_unit is not None:
                    visible.append(t.scores.c.org_unit == scope.org_unit)
                if scope.org_unit_prefix is not None:
                    r = scope.org_unit_prefix.rstrip("/")
                    visible += [t.scores.c.org_unit == r, t.scores.c.org_unit.like(r + "/%")]
                stmt = stmt.where(or_(*visible))
            rows = session.execute(
                stmt.order_by(t.scores.c.org_unit, t.scores.c.rank_in_team, t.scores.c.employee_id)
                .offset(offset)
                .limit(limit + 1)
            ).all()
            more = len(rows) > limit
            rows = rows[:limit]
            cal = self._calibrations(session, [r.employee_id for r in rows], period)
            return [(r, cal.get(r.employee_id, [])) for r in rows], more

    def calibrate(
        self,
        principal: Principal,
        employee_id: str,
        period: str,
        adjustment: str,
        reason: str,
        request_id: str,
    ) -> tuple[Any, list[Any]]:
        parse_period(period)
        if not reason.strip():
            raise InvalidArgument("a reason is mandatory for a calibration", field="reason")
        amount = parse_decimal(adjustment, "adjustment")
        if abs(amount) > 100:
            raise InvalidArgument("must be between -100 and 100", field="adjustment")
        with self.db.session() as session:
            row = self._score_row(session, employee_id, period)
            authorize(principal, "scoring.scores.calibrate", DataOwner(employee_id, row.org_unit))
            if principal.employee_id and principal.employee_id == employee_id:
                raise InvalidArgument("nobody calibrates their own score", field="employee_id")
            if (
                request_id
                and session.execute(
                    select(t.calibrations.c.id).where(t.calibrations.c.request_id == request_id)
                ).first()
            ):
                return row, self._calibrations(session, [employee_id], period)[employee_id]
            session.execute(
                insert(t.calibrations).values(
                    employee_id=employee_id,
                    period=period,
                    adjustment=str(amount),
                    reason=reason.strip(),
                    calibrated_by=principal.subject,
                    calibrated_at=self.clock(),
                    request_id=request_id or None,
                )
            )
            self.audit.append(
                session,
                actor=principal.subject,
                action="score.calibrated",
                subject=f"scores/{employee_id}/{period}",
                data={"adjustment": str(amount), "reason": reason.strip(), "computed": row.score},
            )
            return row, self._calibrations(session, [employee_id], period)[employee_id]

    def list_signals(self, principal: Principal, period: str, org_unit: str) -> list[Any]:
        parse_period(period)
        scope = scope_filter(principal, "scoring.signals.read")
        with self.db.session() as session:
            stmt = select(t.signals).where(t.signals.c.period == period).order_by(t.signals.c.id)
            if org_unit:
                root = org_unit.rstrip("/")
                stmt = stmt.where(or_(t.signals.c.org_unit == root, t.signals.c.org_unit.like(root + "/%")))
            rows = session.execute(stmt).all()
        return [r for r in rows if scope.matches(DataOwner(r.employee_id, r.org_unit))]


def today_period(tz: ZoneInfo, now: datetime | None = None) -> str:
    return period_of((now or datetime.now(UTC)).astimezone(tz).date())
