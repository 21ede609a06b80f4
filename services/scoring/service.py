"""Scoring use cases: scorecard versions, metric intake, period scoring with rankings and signals,
calibration, and scoped reads. Each mutation is one unit of work with its audit entry and events."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, ScopeFilter, authorize, forbid_self, scope_filter
from covenant.auth.directory import Directory, require_line
from covenant.db import idempotency
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import InvalidArgument, NotFound
from covenant.events.v1.event_pb2 import Event
from services.scoring.domain.period import parse_period, period_of, previous_period
from services.scoring.domain.scorecard import Cohort, CohortScorer, Kpi, Score, Scorecard, rank
from services.scoring.domain.trends import trend_facts
from services.scoring.ports import ScoringStore
from services.scoring.storage import SqlScoringStore

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


def fold_metrics(rows: Iterable[tuple[Any, ...]]) -> Metrics:
    """(employee, metric) -> (last set value or None, sum of the adds after it, sources), folded from
    metric value rows (employee_id, metric, value, mode, source, rule_id, pack_version) in write order."""
    out: Metrics = {}
    zero = Decimal(0)
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


def pick_card(rows: Sequence[Any], org_unit: str) -> Any:
    """Of a role's versions in force, the one for ``org_unit``: the longest matching org-unit prefix, then
    the latest effective date, then the highest version (None when nothing matches)."""
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
        stores: Callable[[], AbstractContextManager[ScoringStore]] | None = None,
    ) -> None:
        """``stores`` opens one unit of work as a ``ScoringStore`` (default: a SQL session of ``db``)."""
        self.db = db
        self.rules = rules
        # Org unit and role of the employees written about come from the directory, not the request (None:
        # the request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("scoring")
        self.stores = stores or self._sql_store

    def store(self, session: Session) -> SqlScoringStore:
        """The ``ScoringStore`` over ``session`` (a unit of work the caller opened)."""
        return SqlScoringStore(session, self.outbox, self.audit)

    @contextmanager
    def _sql_store(self) -> Iterator[ScoringStore]:
        with self.db.session() as session:
            yield self.store(session)

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
        with self.stores() as store:
            return self.insert_card(store, card, defaults or {}, principal.subject)

    def insert_card(
        self, store: ScoringStore, card: Scorecard, defaults: dict[str, Decimal], actor: str
    ) -> Scorecard:
        """Add ``card`` as the next version of its scorecard, with its audit entry."""
        version = (store.latest_card_version(card.id) or 0) + 1
        body = json.loads(card_to_json(card))
        body["defaults"] = {k: str(v) for k, v in defaults.items()}
        store.add_card(
            {
                "id": card.id,
                "version": version,
                "role": card.role,
                "org_unit_prefix": card.org_unit_prefix,
                "effective_from": card.effective_from,
                "body_json": json.dumps(body),
                "created_by": actor,
                "created_at": self.clock(),
            }
        )
        store.audit(
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
        with self.stores() as store:
            return [card_from_row(r) for r in store.cards_of(role)]

    def seed(self, cards: Iterable[tuple[Scorecard, dict[str, Decimal]]]) -> int:
        """Insert example scorecards when there are none yet (first start)."""
        with self.stores() as store:
            if store.has_cards():
                return 0
            n = 0
            for card, defaults in cards:
                card.validate()
                self.insert_card(store, card, defaults, "system:default-scorecards")
                n += 1
            return n

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
        with self.stores() as store:
            done = store.replayed("RecordMetrics", request_id, fp)
            if done is not None:
                return int(done)
            store.remember("RecordMetrics", request_id, str(len(values)), now, fp)
            store.add_metric_values(
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
                ]
            )
            for v in values:
                store.upsert_profile(v.employee_id, v.org_unit, v.role)
        return len(values)

    def apply_event(self, session: Session, event: Any) -> int:
        """Turn another service's event into metric values, as the scoring rule pack says."""
        return self.apply_events(session, [event])

    def apply_events(self, session: Session, events: Sequence[Any]) -> int:
        """A delivered batch as one unit (the caller's session)."""
        return self.metrics_of_events(self.store(session), events)

    def metrics_of_events(self, store: ScoringStore, events: Sequence[Any]) -> int:
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
            store.add_metric_values(rows)
            for employee, (org_unit, role) in profiles.items():
                store.upsert_profile(employee, org_unit, role)
        return len(rows)

    # -- scoring -----------------------------------------------------------------------------
    def compute(self, principal: Principal, period: str, org_unit: str) -> tuple[int, int]:
        """Score everyone under ``org_unit`` for ``period``: scores with explanations, team and org-unit
        ranks, change from the previous period, and the trend signals the rule pack raises."""
        start = parse_period(period)
        if not org_unit:
            raise InvalidArgument("is required", field="org_unit")
        authorize(principal, "scoring.scores.compute", DataOwner("", org_unit))
        with self.stores() as store:
            people = [Person(*r) for r in store.people(org_unit)]
            metrics = fold_metrics(store.metric_rows(period, org_unit))
            groups: dict[tuple[str, int], list[Person]] = defaultdict(list)
            cards: dict[tuple[str, int], tuple[Scorecard, dict[str, Decimal]]] = {}
            role_cards: dict[str, Sequence[Any]] = {}
            card_keys: dict[tuple[str, str], tuple[str, int] | None] = {}
            for p in people:
                where = (p.role, p.org_unit)
                if where not in card_keys:
                    if p.role not in role_cards:
                        role_cards[p.role] = store.cards_in_force(p.role, start)
                    row = pick_card(role_cards[p.role], p.org_unit)
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
            history: dict[str, dict[str, Decimal]] = {i: {} for i in ids}
            for employee_id, earlier, score in store.score_history(
                ids, previous_period(period, TREND_PERIODS), period
            ):
                history[employee_id][earlier] = Decimal(score)
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
            store.replace_scores(period, ids, score_rows)
            signalled = store.signalled(ids, period)
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
                store.add_signals(signal_rows)
                store.emit(events)
        return len(results), len(signal_rows)

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
    @staticmethod
    def _score_row(store: ScoringStore, employee_id: str, period: str) -> Any:
        row = store.score(employee_id, period)
        if row is None:
            raise NotFound(f"no score for employees/{employee_id} in {period}")
        return row

    def get_score(self, principal: Principal, employee_id: str, period: str) -> tuple[Any, list[Any]]:
        parse_period(period)
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        with self.stores() as store:
            profile = store.profile(employee_id)
            authorize(
                principal, "scoring.scores.read", DataOwner(employee_id, profile.org_unit if profile else "")
            )
            row = self._score_row(store, employee_id, period)
            return row, store.calibrations_of([employee_id], period).get(employee_id, [])

    def list_scores(
        self, principal: Principal, period: str, org_unit: str, after: tuple[Any, ...] | None, limit: int
    ) -> tuple[list[tuple[Any, list[Any]]], bool]:
        """Scores by (org_unit, rank_in_team, employee_id), after that keyset position ``after``."""
        parse_period(period)
        scope: ScopeFilter = scope_filter(principal, "scoring.scores.read")
        with self.stores() as store:
            rows = store.scores_page(period, org_unit, scope, after, limit)
            more = len(rows) > limit
            rows = rows[:limit]
            cal = store.calibrations_of([r.employee_id for r in rows], period)
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
        with self.stores() as store:
            row = self._score_row(store, employee_id, period)
            authorize(principal, "scoring.scores.calibrate", DataOwner(employee_id, row.org_unit))
            forbid_self(principal, employee_id, "scoring.scores.calibrate", "calibrate their own score")
            require_line(
                self.directory, principal, employee_id, "scoring.scores.calibrate", "calibrate a score"
            )
            if request_id and store.calibrated(request_id):
                return row, store.calibrations_of([employee_id], period)[employee_id]
            store.add_calibration(
                {
                    "employee_id": employee_id,
                    "period": period,
                    "adjustment": str(amount),
                    "reason": reason.strip(),
                    "calibrated_by": principal.subject,
                    "calibrated_at": self.clock(),
                    "request_id": request_id or None,
                }
            )
            store.audit(
                actor=principal.subject,
                action="score.calibrated",
                subject=f"scores/{employee_id}/{period}",
                data={"adjustment": str(amount), "reason": reason.strip(), "computed": row.score},
            )
            return row, store.calibrations_of([employee_id], period)[employee_id]

    def list_signals(self, principal: Principal, period: str, org_unit: str) -> list[Any]:
        parse_period(period)
        scope = scope_filter(principal, "scoring.signals.read")
        with self.stores() as store:
            rows = store.signals_of(period, org_unit)
        return [r for r in rows if scope.matches(DataOwner(r.employee_id, r.org_unit))]
