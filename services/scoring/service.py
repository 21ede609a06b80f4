"""Scoring use cases: scorecard versions, metric intake, period scoring with rankings and signals,
calibration, and scoped reads. Each mutation is one unit of work with its audit entry and events."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, true, tuple_, update
from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, ScopeFilter, authorize, forbid_self, scope_filter
from covenant.auth.directory import Directory, require_line
from covenant.db import idempotency
from covenant.db.audit import AuditLog
from covenant.db.bulk import among
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.db.scope import scope_clause, subtree
from covenant.errors import InvalidArgument, NotFound
from covenant.events.v1.event_pb2 import Event
from services.scoring import storage as t
from services.scoring.domain.period import parse_period, period_of, previous_period
from services.scoring.domain.scorecard import Cohort, CohortScorer, Kpi, Score, Scorecard, rank
from services.scoring.domain.trends import trend_facts

SOURCE = "scoring"
TREND_PERIODS = 6
T = TypeVar("T")
CHUNK = 5000  # values per IN list on SQLite, rows per INSERT of scores
FETCH = 100  # rows per fetch of a large read: few rows live long enough for the garbage collector to promote


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


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


# (employee, metric) -> (last set value or None, sum of the adds after it, sources). Flat, and plain tuples
# throughout: a period's computation holds ~100,000 of these, and the garbage collector stops tracking
# tuples of plain values (tracked containers piling up cost two full collections, ~0.2 s, per compute).
Metrics = dict[tuple[str, str], tuple[Decimal | None, Decimal, tuple[str, ...]]]


class Person(NamedTuple):
    """An employee's profile as scoring uses it."""

    employee_id: str
    org_unit: str
    role: str


class Scored(NamedTuple):
    """What a period's computation keeps of one employee's score."""

    person: Person
    total: Decimal
    scorecard_id: str
    scorecard_version: int
    contributions_json: str  # the explanation, as stored
    gaps: dict[str, float]  # KPI -> normalised value, for the signal rules


_json_str = json.encoder.encode_basestring_ascii  # the string encoder json.dumps uses (ensure_ascii)


def contributions_json(score: Score, sources: Mapping[str, Sequence[str]]) -> str:
    """The per-KPI explanation stored with a score, each KPI with the sources of its value: byte for byte
    ``json.dumps`` of a list of {kpi, label, raw, normalised, points, weight, explanation, sources}, written
    out directly because it runs once per employee and the generic encoder cost twice as much."""
    return (
        "["
        + ", ".join(
            f'{{"kpi": {_json_str(c.kpi)}, "label": {_json_str(c.label)}, '
            f'"raw": {"null" if c.raw is None else _json_str(str(c.raw))}, '
            f'"normalised": {_json_str(str(c.normalised))}, "points": {_json_str(str(c.points))}, '
            f'"weight": {_json_str(str(c.weight))}, "explanation": {_json_str(c.explanation)}, '
            f'"sources": [{", ".join(map(_json_str, sources.get(c.kpi, ())))}]}}'
            for c in score.contributions
        )
        + "]"
    )


def kpi_values(
    card: Scorecard, defaults: Mapping[str, Decimal], metrics: Metrics, employee_id: str
) -> dict[str, Decimal]:
    """The employee's value of each KPI: the last set value (else the scorecard's default, else 0) plus the
    adds after it; the default alone when there is no metric; absent when there is neither."""
    vals: dict[str, Decimal] = {}
    for kpi in card.kpis:
        m = metrics.get((employee_id, kpi.id))
        if m is None:
            if kpi.id in defaults:
                vals[kpi.id] = defaults[kpi.id]
            continue
        setv, add, _ = m
        base = setv if setv is not None else defaults.get(kpi.id, Decimal(0))
        vals[kpi.id] = base + add
    return vals


def kpi_sources(
    card: Scorecard, defaults: Mapping[str, Decimal], metrics: Metrics, employee_id: str
) -> dict[str, Sequence[str]]:
    """Where each KPI value of ``kpi_values`` comes from."""
    srcs: dict[str, Sequence[str]] = {}
    for kpi in card.kpis:
        m = metrics.get((employee_id, kpi.id))
        if m is not None:
            srcs[kpi.id] = m[2]
        elif kpi.id in defaults:
            srcs[kpi.id] = ("default",)
    return srcs


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
        directory: Directory | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        # Org unit and role of the employees written about come from the directory, not the request (None:
        # the request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
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

    def _card_rows(self, session: Session, role: str, start: date) -> Sequence[Any]:
        """The scorecard versions of a role in force on ``start`` (every org-unit variant)."""
        return session.execute(
            select(t.scorecards).where(
                and_(t.scorecards.c.role == role, t.scorecards.c.effective_from <= start)
            )
        ).all()

    @staticmethod
    def _pick_card(rows: Sequence[Any], org_unit: str) -> Any:
        """Of a role's versions in force, the one for ``org_unit``: the longest matching org-unit prefix,
        then the latest effective date, then the highest version (None when nothing matches)."""
        candidates = [
            r
            for r in rows
            if not r.org_unit_prefix
            or org_unit == r.org_unit_prefix
            or org_unit.startswith(r.org_unit_prefix.rstrip("/") + "/")
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (len(r.org_unit_prefix), r.effective_from, r.version))

    # -- metrics -----------------------------------------------------------------------------
    def record_metrics(self, principal: Principal, values: Sequence[MetricInput], request_id: str) -> int:
        authorize(principal, "scoring.metrics.write")
        if not values:
            raise InvalidArgument("at least one value is required", field="values")
        resolved: list[MetricInput] = []
        for i, v in enumerate(values):
            for name in ("employee_id", "metric", "source"):
                if not getattr(v, name):
                    raise InvalidArgument("is required", field=f"values[{i}].{name}")
            parse_period(v.period, f"values[{i}].period")
            if v.mode not in ("set", "add"):
                raise InvalidArgument("must be set or add", field=f"values[{i}].mode")
            if self.directory is not None:  # who the employee is: the directory's word, never the request's
                e = self.directory.resolve(
                    v.employee_id, org_unit=v.org_unit, role=v.role, field=f"values[{i}]"
                )
                v = replace(v, org_unit=e.org_unit, role=v.role or e.role)
            if not v.org_unit:
                raise InvalidArgument("is required", field=f"values[{i}].org_unit")
            authorize(principal, "scoring.metrics.write", DataOwner(v.employee_id, v.org_unit))
            resolved.append(v)
        values = resolved
        now = self.clock()
        fp = idempotency.fingerprint(values) if request_id else None
        with self.db.session() as session:
            done = idempotency.replayed(session, SOURCE, "RecordMetrics", request_id, fingerprint=fp)
            if done is not None:
                return int(done)
            idempotency.remember(
                session, SOURCE, "RecordMetrics", request_id, str(len(values)), now, fingerprint=fp
            )
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
        return self.apply_events(session, [event])

    def apply_events(self, session: Session, events: Sequence[Any]) -> int:
        """A delivered batch as one unit: every event judged on one pack snapshot, one insert of the
        metric values, one profile upsert per employee."""
        packs = self.rules.snapshot()
        rows: list[dict[str, Any]] = []
        profiles: dict[str, tuple[str, str]] = {}
        for event in events:
            data = dict(event.data)
            employee = str(data.get("employee_id") or event.subject.removeprefix("employees/"))
            if not employee:
                continue
            fired = self.rules.evaluate({"type": event.type, "source": event.source, **data}, {}, packs=packs)
            day = event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(self.tz).date()
            added = 0
            for action in fired:
                if action.action not in ("add_metric", "set_metric"):
                    continue
                added += 1
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
            if added:  # the latest org unit and role a batch names win, as event by event
                org_unit, role = profiles.get(employee, ("", ""))
                profiles[employee] = (event.org_unit or org_unit, str(data.get("role", "")) or role)
        if rows:
            session.execute(insert(t.metric_values), rows)
            for employee, (org_unit, role) in profiles.items():
                self._upsert_profile(session, employee, org_unit, role)
        return len(rows)

    def _metrics(self, session: Session, period: str, in_scope: Any) -> Metrics:
        """(employee, metric) -> (last set value or None, sum of the adds after it, sources) for everyone
        whose profile matches ``in_scope``: one query, folded in write order."""
        out: Metrics = {}
        mv = t.metric_values.c
        result = session.execute(
            select(mv.employee_id, mv.metric, mv.value, mv.mode, mv.source, mv.rule_id, mv.pack_version)
            .join_from(t.metric_values, t.profiles, t.profiles.c.employee_id == mv.employee_id)
            .where(and_(mv.period == period, in_scope))
            .order_by(mv.id)
        )
        zero = Decimal(0)
        for rows in result.partitions(FETCH):
            for employee_id, metric, value, mode, source, rule_id, pack_version in rows:
                key = (employee_id, metric)
                setv, add, sources = out.get(key, (None, zero, ()))
                if mode == "set":
                    setv, add = Decimal(value), zero
                else:
                    add += Decimal(value)
                label = f"{source}:{rule_id}@{pack_version}" if rule_id else source
                if label not in sources:
                    sources = (*sources, label)
                out[key] = (setv, add, sources)
        return out

    # -- scoring -----------------------------------------------------------------------------
    def compute(self, principal: Principal, period: str, org_unit: str) -> tuple[int, int]:
        """Score everyone under ``org_unit`` for ``period``: scores with explanations, team and org-unit
        ranks, change from the previous period, and the trend signals the rule pack raises."""
        start = parse_period(period)
        if not org_unit:
            raise InvalidArgument("is required", field="org_unit")
        authorize(principal, "scoring.scores.compute", DataOwner("", org_unit))
        pc = t.profiles.c
        in_scope = subtree(pc.org_unit, org_unit) if org_unit.rstrip("/") else true()
        with self.db.session() as session:
            people = [
                Person(*r)
                for r in session.execute(select(pc.employee_id, pc.org_unit, pc.role).where(in_scope))
            ]
            metrics = self._metrics(session, period, in_scope)
            groups: dict[tuple[str, int], list[Person]] = defaultdict(list)
            cards: dict[tuple[str, int], tuple[Scorecard, dict[str, Decimal]]] = {}
            role_cards: dict[str, Sequence[Any]] = {}
            card_keys: dict[tuple[str, str], tuple[str, int] | None] = {}
            for p in people:
                where = (p.role, p.org_unit)
                if where not in card_keys:
                    if p.role not in role_cards:
                        role_cards[p.role] = self._card_rows(session, p.role, start)
                    row = self._pick_card(role_cards[p.role], p.org_unit)
                    card_keys[where] = None if row is None else (row.id, row.version)
                    if row is not None and card_keys[where] not in cards:
                        cards[(row.id, row.version)] = card_from_row(row)
                key = card_keys[where]
                if key is not None:
                    groups[key].append(p)
            # Scores are reduced at once to what ranking, storage and signals need (total, explanation as
            # JSON, normalised KPI values), so the full Score objects never pile up.
            results: list[Scored] = []
            for key, members in groups.items():
                card, defaults = cards[key]
                values = {p.employee_id: kpi_values(card, defaults, metrics, p.employee_id) for p in members}
                cohort = Cohort({k.id: [v[k.id] for v in values.values() if k.id in v] for k in card.kpis})
                scorer = CohortScorer(card, cohort)
                for p in members:
                    s = scorer.score(p.employee_id, values[p.employee_id])
                    srcs = kpi_sources(card, defaults, metrics, p.employee_id)
                    results.append(
                        Scored(p, s.total, card.id, card.version, contributions_json(s, srcs), self._gaps(s))
                    )
            by_team: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
            by_unit: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
            for r in results:
                by_team[r.person.org_unit].append((r.person.employee_id, r.total))
                by_unit[parent_unit(r.person.org_unit)].append((r.person.employee_id, r.total))
            team_rank = {u: rank(v) for u, v in by_team.items()}
            unit_rank = {u: rank(v) for u, v in by_unit.items()}
            prev = previous_period(period)
            ids = [r.person.employee_id for r in results]
            for in_ids in self._among(t.scores.c.employee_id, ids):
                session.execute(delete(t.scores).where(and_(t.scores.c.period == period, in_ids)))
            history = self._history(session, ids, period)
            score_rows = []
            for r in results:
                p = r.person
                prev_score = history[p.employee_id].get(prev)
                score_rows.append(
                    {
                        "employee_id": p.employee_id,
                        "period": period,
                        "org_unit": p.org_unit,
                        "role": p.role,
                        "scorecard_id": r.scorecard_id,
                        "scorecard_version": r.scorecard_version,
                        "score": str(r.total),
                        "contributions_json": r.contributions_json,
                        "rank_in_team": team_rank[p.org_unit][p.employee_id],
                        "rank_in_org_unit": unit_rank[parent_unit(p.org_unit)][p.employee_id],
                        "team_size": len(by_team[p.org_unit]),
                        "change": "" if prev_score is None else str(r.total - prev_score),
                        "computed_at": self.clock(),
                    }
                )
            for rows in chunks(score_rows):
                session.execute(insert(t.scores), rows)
            signalled = self._signalled(session, ids, period)
            signal_rows: list[dict[str, Any]] = []
            events: list[Event] = []
            packs = self.rules.snapshot()  # one pack set judges everyone of this run
            for r in results:
                past = history[r.person.employee_id]
                series = [past[k] for k in sorted(past) if k < period] + [r.total]
                self._signals(
                    r.person, period, r.total, series, r.gaps, signalled, signal_rows, events, packs=packs
                )
            if signal_rows:  # one INSERT each, rows in the order they were raised
                session.execute(insert(t.signals), signal_rows)
                self.outbox.add_many(session, events)
        return len(results), len(signal_rows)

    def _among(self, column: Any, ids: Sequence[str]) -> Iterator[ColumnElement[bool]]:
        """Conditions that together select the rows whose ``column`` is one of ``ids``: one array parameter on
        PostgreSQL (binding and planning a 5,000-value IN list costs it ~0.1 s), IN lists of CHUNK values on
        SQLite (far below its parameter limit)."""
        if not ids:
            return
        for part in [ids] if self.db.dialect == "postgresql" else chunks(ids):
            yield among(column, part, self.db.dialect)

    def _history(self, session: Session, ids: Sequence[str], period: str) -> dict[str, dict[str, Decimal]]:
        """employee -> earlier period -> score, over the trend window before ``period``."""
        oldest = previous_period(period, TREND_PERIODS)
        out: dict[str, dict[str, Decimal]] = {i: {} for i in ids}
        sc = t.scores.c
        for in_ids in self._among(sc.employee_id, ids):
            result = session.execute(
                select(sc.employee_id, sc.period, sc.score).where(
                    and_(in_ids, sc.period >= oldest, sc.period < period)
                )
            )
            for rows in result.partitions(FETCH):
                for employee_id, earlier, score in rows:
                    out[employee_id][earlier] = Decimal(score)
        return out

    def _signalled(self, session: Session, ids: Sequence[str], period: str) -> set[tuple[str, str]]:
        """(employee, kind) of the signals already raised for ``period`` (each is raised once)."""
        sg = t.signals.c
        out: set[tuple[str, str]] = set()
        for in_ids in self._among(sg.employee_id, ids):
            out.update(
                (employee_id, kind)
                for employee_id, kind in session.execute(
                    select(sg.employee_id, sg.kind).where(and_(sg.period == period, in_ids))
                )
            )
        return out

    @staticmethod
    def _gaps(score: Any) -> dict[str, float]:
        return {c.kpi: float(c.normalised) for c in score.contributions}

    def _signals(
        self,
        p: Person,
        period: str,
        total: Decimal,
        series: list[Decimal],
        cohort_gaps: dict[str, float],
        signalled: set[tuple[str, str]],
        signal_rows: list[dict[str, Any]],
        events: list[Event],
        *,
        packs: Sequence[Any] | None = None,
    ) -> None:
        """Evaluate the trend rules for one employee (on ``packs``, the run's snapshot); what fired and was
        not raised yet is added to ``signalled``, its signal row to ``signal_rows`` and its event to
        ``events``."""
        facts = trend_facts(series)
        weakest = min(cohort_gaps.items(), key=lambda kv: kv[1]) if cohort_gaps else ("", 1.0)
        fired = self.rules.evaluate(
            {
                "type": "scoring.period_scored",
                "employee_id": p.employee_id,
                "role": p.role,
                "score": float(total),
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
            packs=packs,
        )
        for a in fired:
            if a.action != "raise_signal":
                continue
            kind = str(a.params["kind"])
            if (p.employee_id, kind) in signalled:
                continue
            signalled.add((p.employee_id, kind))
            detail = str(a.params.get("detail", "")) or (
                f"score {total}, {facts.consecutive_declines} consecutive declines, drop {facts.drop_pct}%"
            )
            audience = str(a.params.get("audience", "hr"))
            signal_rows.append(
                {
                    "employee_id": p.employee_id,
                    "org_unit": p.org_unit,
                    "period": period,
                    "kind": kind,
                    "audience": audience,
                    "detail": detail,
                    "rule_id": a.rule_id,
                    "pack_id": a.pack_id,
                    "pack_version": a.pack_version,
                    "raised_at": self.clock(),
                }
            )
            events.append(
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
                        "score": str(total),
                        "rule_id": a.rule_id,
                        "pack_id": a.pack_id,
                        "pack_version": a.pack_version,
                    },
                    idempotency_key=f"scoring.{kind}:{p.employee_id}:{period}",
                )
            )

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
        self, principal: Principal, period: str, org_unit: str, after: tuple[Any, ...] | None, limit: int
    ) -> tuple[list[tuple[Any, list[Any]]], bool]:
        """Scores by (org_unit, rank_in_team, employee_id), after that keyset position ``after``."""
        parse_period(period)
        scope: ScopeFilter = scope_filter(principal, "scoring.scores.read")
        with self.db.session() as session:
            stmt = select(t.scores).where(t.scores.c.period == period)
            if org_unit:
                stmt = stmt.where(subtree(t.scores.c.org_unit, org_unit))
            visible = scope_clause(scope, t.scores.c.employee_id, t.scores.c.org_unit)
            if visible is not None:
                stmt = stmt.where(visible)
            key = (t.scores.c.org_unit, t.scores.c.rank_in_team, t.scores.c.employee_id)
            if after is not None:
                stmt = stmt.where(tuple_(*key) > tuple_(*after))
            rows = session.execute(stmt.order_by(*key).limit(limit + 1)).all()
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
            forbid_self(principal, employee_id, "scoring.scores.calibrate", "calibrate their own score")
            require_line(
                self.directory, principal, employee_id, "scoring.scores.calibrate", "calibrate a score"
            )
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
                stmt = stmt.where(subtree(t.signals.c.org_unit, org_unit))
            rows = session.execute(stmt).all()
        return [r for r in rows if scope.matches(DataOwner(r.employee_id, r.org_unit))]


def today_period(tz: ZoneInfo, now: datetime | None = None) -> str:
    return period_of((now or datetime.now(UTC)).astimezone(tz).date())
