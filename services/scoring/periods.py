"""Period scoring: everyone under an org unit scored for a period with the scorecard in force for them,
with explanations, team and org-unit ranks, change from the previous period, and the trend signals the
scoring rule pack raises."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from covenant.auth import DataOwner, Principal, authorize
from covenant.db.outbox import new_event
from covenant.errors import InvalidArgument
from covenant.events.v1.event_pb2 import Event
from services.scoring.domain.period import parse_period, previous_period
from services.scoring.domain.scorecard import Cohort, CohortScorer, Score, Scorecard, rank
from services.scoring.domain.trends import trend_facts
from services.scoring.intake import fold_metrics, kpi_sources, kpi_values
from services.scoring.ports import Stores
from services.scoring.scorecards import card_from_row, pick_card

SOURCE = "scoring"
TREND_PERIODS = 6


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


def parent_unit(org_unit: str) -> str:
    return org_unit.rsplit("/", 1)[0] or "/"


@dataclass
class PeriodScoring:
    stores: Stores
    rules: Any
    clock: Callable[[], datetime]

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
