"""Driver analysis use cases and the draft → dry run → approval (second person) → activation path of a
scorecard version drafted from an analysis (docs/analytics.md). Nothing here changes a live scorecard until
an approved draft is activated, which inserts the next scorecard version as ``CreateScorecardVersion`` does.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from covenant.auth import Principal, authorize
from covenant.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.scoring import storage as t
from services.scoring.domain.drivers import MODELS, WeightLimits, fit_drivers, reweight
from services.scoring.domain.period import parse_period
from services.scoring.domain.scorecard import Cohort, CohortScorer, Scorecard, rank
from services.scoring.intake import fold_metrics, kpi_values
from services.scoring.scorecards import card_from_row, card_to_json, pick_card
from services.scoring.service import ScoringService

MAX_PERIODS = 36
MAX_RANK_CHANGES = 200
LIMITS_PARAMETER = "draft_weight_limits"


def period_range(first: str, last: str) -> list[str]:
    """The periods from ``first`` to ``last`` inclusive (at most MAX_PERIODS)."""
    a, b = parse_period(first, "period_from"), parse_period(last, "period_to")
    if b < a:
        raise InvalidArgument("must not be before period_from", field="period_to")
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if len(out) > MAX_PERIODS:
            raise InvalidArgument(f"at most {MAX_PERIODS} periods", field="period_to")
    return out


def next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def analysis_id(name: str) -> int:
    prefix, _, rest = name.partition("/")
    if prefix != "driverAnalyses" or not rest.isdigit() or len(rest) > 18:
        raise InvalidArgument("must be driverAnalyses/{id}", field="name")
    return int(rest)


def draft_id(name: str) -> int:
    prefix, _, rest = name.partition("/")
    if prefix != "scorecardDrafts" or not rest.isdigit() or len(rest) > 18:
        raise InvalidArgument("must be scorecardDrafts/{id}", field="name")
    return int(rest)


def _existing(row: Any, name: str) -> Any:
    """``row``, or NotFound naming ``name`` when there is none."""
    if row is None:
        raise NotFound(f"{name} does not exist")
    return row


class DriverAnalyses:
    """Driver analyses over what scoring stores, and scorecard drafts made from them."""

    def __init__(self, scoring: ScoringService) -> None:
        self.scoring = scoring
        self.db = scoring.db

    def _audit(self, session: Session, principal: Principal, action: str, subject: str, data: Any) -> None:
        self.scoring.audit.append(session, actor=principal.subject, action=action, subject=subject, data=data)

    # -- analyses ----------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        *,
        role: str,
        outcome: str,
        period_from: str,
        period_to: str,
        kpis: Sequence[str] = (),
        model: str = "",
        org_unit: str = "",
    ) -> Any:
        authorize(principal, "scoring.analyses.run")
        if not role:
            raise InvalidArgument("is required", field="role")
        if not outcome:
            raise InvalidArgument("is required", field="outcome")
        periods = period_range(period_from, period_to)
        model = model or "ols"
        if model not in MODELS:
            raise InvalidArgument("must be ols or logit", field="model")
        for i, k in enumerate(kpis):
            if not k or k == outcome:
                raise InvalidArgument("must name a process KPI other than the outcome", field=f"kpis[{i}]")
        if len(set(kpis)) != len(kpis):
            raise InvalidArgument("must not repeat a KPI", field="kpis")
        with self.db.session() as session:
            card, defaults = self._card_for(session, role, parse_period(period_to), "") or (None, {})
            names = list(kpis) or ([k.id for k in card.kpis if k.id != outcome] if card else [])
            if not names:
                raise FailedPrecondition(
                    f"no KPIs given and role {role!r} has no scorecard to take them from"
                )
            y, x, people, missing = self._panel(session, role, org_unit, periods, outcome, names, defaults)
            if not len(y):
                raise FailedPrecondition(
                    f"no {outcome} values for role {role!r} in {period_from}..{period_to}"
                )
            fit = fit_drivers(y, x, names, people, model=model, missing=missing)
            result = {
                "kpis": names,
                "condition_number": fit.condition_number,
                "coefficients": [_finite(dataclasses.asdict(c)) for c in fit.coefficients],
                "warnings": [dataclasses.asdict(w) for w in fit.warnings],
            }
            row = {
                "role": role,
                "outcome": outcome,
                "period_from": periods[0],
                "period_to": periods[-1],
                "org_unit": org_unit,
                "model": fit.model,
                "model_version": fit.model_version,
                "observations": fit.observations,
                "people": fit.people,
                "fit": repr(fit.fit),
                "result_json": json.dumps(result, allow_nan=False),
                "created_by": principal.subject,
                "created_at": self.scoring.clock(),
            }
            new_id = t.add_analysis(session, row)
            data = {
                "role": role,
                "outcome": outcome,
                "window": f"{periods[0]}..{periods[-1]}",
                "kpis": names,
            }
            self._audit(session, principal, "driver_analysis.created", f"driverAnalyses/{new_id}", data)
            return self._analysis(session, new_id)

    def _panel(
        self,
        session: Session,
        role: str,
        org_unit: str,
        periods: Sequence[str],
        outcome: str,
        kpis: Sequence[str],
        defaults: dict[str, Decimal],
    ) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Outcome vector, KPI matrix (one row per person-period with an outcome), people, and rows left out
        for a missing KPI. Values fold like scoring's: the last set value plus the adds after it."""
        folded = t.panel(session, role, org_unit, periods, [outcome, *kpis])
        fallback = {k: float(v) for k, v in defaults.items() if k in kpis}
        ys: list[float] = []
        xs: list[list[float]] = []
        people: set[str] = set()
        missing = 0
        for employee_id, _, (y, *row) in folded:
            if y is None:
                continue
            if fallback:
                row = [fallback.get(k) if v is None else v for k, v in zip(kpis, row, strict=True)]
            if None in row:
                missing += 1
                continue
            ys.append(y)
            xs.append(row)  # type: ignore[arg-type]
            people.add(employee_id)
        return np.array(ys), np.array(xs, dtype=float).reshape(len(ys), len(kpis)), len(people), missing

    def get(self, principal: Principal, name: str) -> Any:
        authorize(principal, "scoring.analyses.read")
        with self.db.session() as session:
            return self._analysis(session, analysis_id(name))

    @staticmethod
    def _analysis(session: Session, ident: int) -> Any:
        return _existing(t.analysis(session, ident), f"driverAnalyses/{ident}")

    def list(self, principal: Principal, role: str, after: int, limit: int) -> list[Any]:
        """Up to ``limit`` analyses, newest first, keyset on id (``after``: the last id of the previous
        page, 0 for the first); ``covenant.paging.page`` asks for one more."""
        authorize(principal, "scoring.analyses.read")
        with self.db.session() as session:
            return t.analyses_page(session, role, after, limit)

    # -- drafts ------------------------------------------------------------------------------
    def _card_for(
        self, session: Session, role: str, on: date, scorecard_id: str
    ) -> tuple[Scorecard, dict[str, Decimal]] | None:
        """The role's scorecard in force on ``on``: ``scorecard_id`` if given, else the organisation-wide one
        (no org-unit prefix); its latest version."""
        rows = [
            r
            for r in t.cards_in_force(session, role, on)
            if (r.id == scorecard_id if scorecard_id else not r.org_unit_prefix)
        ]
        if not rows:
            return None
        return card_from_row(max(rows, key=lambda r: (r.effective_from, r.version)))

    def draft(
        self, principal: Principal, analysis: str, scorecard_id: str, effective_from: str, diff_period: str
    ) -> Any:
        """A draft version of the scorecard with the analysed KPIs re-weighted from their standardised
        effects (bounded by the scoring pack's ``draft_weight_limits``), with its dry run on a period."""
        authorize(principal, "scoring.scorecards.write")
        ident = analysis_id(analysis) if analysis else None
        if ident is None:
            raise InvalidArgument("is required", field="analysis")
        today = self.scoring.clock().astimezone(self.scoring.tz).date()
        if effective_from:
            try:
                effective = date.fromisoformat(effective_from)
            except ValueError:
                raise InvalidArgument("must be YYYY-MM-DD", field="effective_from") from None
            if effective < today.replace(day=1):
                raise InvalidArgument(
                    "must not be before the current period (no retroactive scorecards)",
                    field="effective_from",
                )
        else:
            effective = next_month(today)
        with self.db.session() as session:
            a = self._analysis(session, ident)
            period = diff_period or a.period_to
            parse_period(period, "diff_period")
            found = self._card_for(session, a.role, effective, scorecard_id)
            if found is None:
                raise FailedPrecondition(
                    f"role {a.role!r} has no scorecard {scorecard_id or '(organisation-wide)'}"
                )
            base, defaults = found
            result = json.loads(a.result_json)
            effects = {c["kpi"]: c["standardised"] for c in result["coefficients"] if c["kpi"]}
            weights = {k.id: k.weight for k in base.kpis}
            if not set(effects) & set(weights):
                raise FailedPrecondition(f"the analysis fitted none of scorecard {base.id}'s KPIs")
            limits = WeightLimits.of(
                self.scoring.rules.parameter(LIMITS_PARAMETER, role=a.role, default=None)
                if hasattr(self.scoring.rules, "parameter")
                else None
            )
            outcome = next((k for k in base.kpis if k.id == a.outcome), None)
            new = reweight(
                weights,
                {k.id: k.direction for k in base.kpis},
                effects,
                limits,
                outcome_higher=outcome is None or outcome.direction == "higher",
            )
            card = Scorecard(
                base.id,
                0,
                base.role,
                tuple(dataclasses.replace(k, weight=new[k.id]) for k in base.kpis),
                effective,
                base.org_unit_prefix,
                base.formula,
            )
            card.validate()
            diff = self._dry_run(session, base, card, defaults, period)
            body = json.loads(card_to_json(card))
            body["defaults"] = {k: str(v) for k, v in defaults.items()}
            new_id = t.add_draft(
                session,
                {
                    "scorecard_id": base.id,
                    "base_version": base.version,
                    "role": base.role,
                    "analysis_id": ident,
                    "effective_from": effective,
                    "body_json": json.dumps(body),
                    "diff_period": period,
                    "diff_json": json.dumps(diff),
                    "state": "draft",
                    "drafted_by": principal.subject,
                    "drafted_at": self.scoring.clock(),
                    "approved_by": "",
                },
            )
            data = {
                "analysis": f"driverAnalyses/{ident}",
                "scorecard": f"scorecards/{base.id}/versions/{base.version}",
                "weights": {k: str(v) for k, v in new.items()},
                "rank_changes": diff["changes_total"],
            }
            self._audit(session, principal, "scorecard.drafted", f"scorecardDrafts/{new_id}", data)
            return self._draft(session, new_id)

    def _dry_run(
        self, session: Session, base: Scorecard, draft: Scorecard, defaults: dict[str, Decimal], period: str
    ) -> dict[str, Any]:
        """Score ``period`` with the live and the drafted weights for the people the live card scores;
        who ranks differently in their team."""
        start = parse_period(period)
        rows = t.cards_in_force(session, base.role, start)
        people = [
            (e, u)
            for e, u, _ in t.people(session, role=base.role)
            if (picked := pick_card(rows, u)) is not None and picked.id == base.id
        ]
        metrics = fold_metrics(t.metric_rows(session, period, role=base.role))
        values = {e: kpi_values(base, defaults, metrics, e) for e, _ in people}
        cohort = Cohort({k.id: [v[k.id] for v in values.values() if k.id in v] for k in base.kpis})
        live, new = CohortScorer(base, cohort), CohortScorer(draft, cohort)
        teams: dict[str, list[tuple[str, Decimal, Decimal]]] = defaultdict(list)
        for e, u in people:
            if values[e]:  # nobody without data is scored
                teams[u].append((e, live.score(e, values[e]).total, new.score(e, values[e]).total))
        changes = []
        for unit, members in teams.items():
            before = rank([(e, a) for e, a, _ in members])
            after = rank([(e, b) for e, _, b in members])
            for e, a, b in members:
                if before[e] != after[e]:
                    changes.append(
                        {
                            "employee_id": e,
                            "org_unit": unit,
                            "current_score": str(a),
                            "draft_score": str(b),
                            "current_rank": before[e],
                            "draft_rank": after[e],
                        }
                    )
        changes.sort(
            key=lambda c: (-abs(c["draft_rank"] - c["current_rank"]), c["org_unit"], c["employee_id"])
        )
        return {
            "people": sum(len(m) for m in teams.values()),
            "changes_total": len(changes),
            "changes": changes[:MAX_RANK_CHANGES],
        }

    @staticmethod
    def _draft(session: Session, ident: int) -> Any:
        return _existing(t.draft(session, ident), f"scorecardDrafts/{ident}")

    def get_draft(self, principal: Principal, name: str) -> Any:
        authorize(principal, "scoring.analyses.read")
        with self.db.session() as session:
            return self._draft(session, draft_id(name))

    def approve(self, principal: Principal, name: str) -> Any:
        """A second person approves a draft (the drafter cannot)."""
        authorize(principal, "scoring.scorecards.approve")
        ident = draft_id(name)
        with self.db.session() as session:
            row = self._draft(session, ident)
            if row.state != "draft":
                raise FailedPrecondition(f"scorecardDrafts/{ident} is {row.state}, not a draft")
            if row.drafted_by == principal.subject:
                raise PermissionDenied(
                    "scoring.scorecards.approve", "separation of duties: a second person approves a draft"
                )
            t.update_draft(session, ident, "draft", state="approved", approved_by=principal.subject)
            self._audit(session, principal, "scorecard.draft_approved", name, {})
            return self._draft(session, ident)

    def activate(self, principal: Principal, name: str) -> Any:
        """An approved draft becomes the scorecard's next version (refused when another version was added
        since the draft was made: its dry run no longer holds)."""
        authorize(principal, "scoring.scorecards.write")
        ident = draft_id(name)
        with self.db.session() as session:
            row = self._draft(session, ident)
            if row.state != "approved":
                raise FailedPrecondition(
                    f"scorecardDrafts/{ident} is {row.state}; a second person approves it first"
                )
            latest = t.latest_card_version(session, row.scorecard_id)
            if latest != row.base_version:
                raise FailedPrecondition(
                    f"scorecard {row.scorecard_id} has version {latest} since this draft; draft again"
                )
            card, defaults = draft_card(row)
            card = dataclasses.replace(card, org_unit_prefix=self._prefix(session, row))
            created = self.scoring.scorecards.insert(
                self.scoring.store(session), card, defaults, principal.subject
            )
            t.update_draft(session, ident, state="activated", activated_version=created.version)
            self._audit(
                session,
                principal,
                "scorecard.draft_activated",
                name,
                {"version": created.version, "approved_by": row.approved_by},
            )
            return self._draft(session, ident)

    @staticmethod
    def _prefix(session: Session, row: Any) -> str:
        base = t.card_version(session, row.scorecard_id, row.base_version)
        return (base.org_unit_prefix if base is not None else "") or ""


def draft_card(row: Any) -> tuple[Scorecard, dict[str, Decimal]]:
    """The scorecard a draft row holds (version 0, no org-unit prefix: activation takes the base's)."""
    return card_from_row(_Row(row.scorecard_id, 0, row.role, "", row.effective_from, row.body_json))


@dataclasses.dataclass
class _Row:
    id: str
    version: int
    role: str
    org_unit_prefix: str
    effective_from: date
    body_json: str


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity (a perfectly collinear KPI's VIF) or NaN: those are stored as null."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in values.items()}
