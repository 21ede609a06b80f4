"""Driver analysis: which process KPIs move an outcome KPI, fitted with statsmodels, and how a finding
becomes draft scorecard weights (docs/analytics.md).

Pure: numbers in, a ``DriverFit`` out. OLS with HC3 robust errors, or a fractional logit (binomial GLM,
robust errors) for an outcome in [0, 1]. Warnings are plain sentences with a stable code each.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import statsmodels
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS

from covenant.errors import FailedPrecondition, InvalidArgument

MODEL_VERSION = f"drivers-1/statsmodels-{statsmodels.__version__}"
MODELS = ("ols", "logit")
MIN_PEOPLE = 30  # and at least PEOPLE_PER_KPI per KPI
PEOPLE_PER_KPI = 10
VIF_LIMIT = 10.0
CONDITION_LIMIT = 30.0
COOK_LIMIT = 1.0  # one observation this influential moves the fit on its own
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Coefficient:
    kpi: str  # "" for the intercept
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    standardised: float  # OLS: SDs of outcome per SD of the KPI; logit: log-odds per SD of the KPI
    vif: float


@dataclass(frozen=True)
class Warning:
    code: str  # too_few_people | collinearity | outliers | constant_kpi | missing_values | not_causal
    message: str


@dataclass(frozen=True)
class DriverFit:
    model: str
    model_version: str
    observations: int
    people: int
    fit: float  # R² (OLS) or McFadden's pseudo-R² (logit)
    condition_number: float
    coefficients: tuple[Coefficient, ...]  # intercept first
    warnings: tuple[Warning, ...]


def _vifs(x: np.ndarray) -> np.ndarray:
    """Variance inflation factor of each column, 1 / (1 - R²) of the column regressed on the others, worked
    out from the k × k correlation matrix (least squares, so a perfectly collinear column gives ∞)."""
    k = x.shape[1]
    out = np.ones(k)
    if k < 2:
        return out
    corr = np.corrcoef(x, rowvar=False)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        b, *_ = np.linalg.lstsq(corr[np.ix_(others, others)], corr[others, j], rcond=None)
        r2 = float(corr[others, j] @ b)
        out[j] = np.inf if r2 >= 1.0 - 1e-10 else 1.0 / (1.0 - r2)
    return out


def fit_drivers(
    y: np.ndarray,
    x: np.ndarray,
    kpis: Sequence[str],
    people: int,
    *,
    model: str = "ols",
    missing: int = 0,
) -> DriverFit:
    """Fit outcome ``y`` (n) on process KPIs ``x`` (n × k, one row per person and period) with an intercept.

    ``people`` is how many distinct people the rows come from; ``missing`` how many rows were left out for a
    missing value (reported as a warning)."""
    if model not in MODELS:
        raise InvalidArgument("must be ols or logit", field="model")
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(y), len(kpis))
    notes: list[Warning] = []
    if missing:
        notes.append(Warning("missing_values", f"{missing} person-periods lacked a value and were left out"))
    sd = x.std(axis=0, ddof=1) if len(y) > 1 else np.zeros(len(kpis))
    keep = [j for j in range(len(kpis)) if sd[j] > 0]
    for j in range(len(kpis)):
        if j not in keep:
            notes.append(Warning("constant_kpi", f"{kpis[j]} does not vary in the data and was left out"))
    names = [kpis[j] for j in keep]
    x, sd = x[:, keep], sd[keep]
    if not names:
        raise FailedPrecondition("no process KPI varies in the data; nothing to fit")
    if len(y) <= len(names) + 1:
        raise FailedPrecondition(
            f"{len(y)} observations cannot fit {len(names)} KPIs and an intercept; widen the period range"
        )
    if model == "logit" and (y.min() < 0 or y.max() > 1):
        raise InvalidArgument("a logit needs an outcome between 0 and 1 (a rate or 0/1)", field="model")
    need = max(MIN_PEOPLE, PEOPLE_PER_KPI * len(names))
    if people < need:
        notes.append(
            Warning(
                "too_few_people",
                f"only {people} people; at least {need} are needed for {len(names)} KPIs "
                "before the estimates mean much",
            )
        )
    vif = _vifs(x)
    scaled = (x - x.mean(axis=0)) / sd
    cond = float(np.linalg.cond(np.column_stack([np.ones(len(y)), scaled])))
    collinear = [
        f"{n} (VIF {'∞' if np.isinf(v) else f'{v:.1f}'})"
        for n, v in zip(names, vif, strict=True)
        if v > VIF_LIMIT
    ]
    if collinear or cond > CONDITION_LIMIT:
        notes.append(
            Warning(
                "collinearity",
                "KPIs move together, so their separate effects are unreliable: "
                + (", ".join(collinear) if collinear else f"condition number {cond:.0f}"),
            )
        )
    exog = np.column_stack([np.ones(len(y)), x])
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")  # statsmodels' own warnings become ours above
        if model == "ols":
            res = OLS(y, exog).fit(cov_type="HC3")
            fit = float(res.rsquared)
            sy = float(y.std(ddof=1))
            std = [0.0] + [
                float(b) * float(s) / sy if sy > 0 else 0.0 for b, s in zip(res.params[1:], sd, strict=True)
            ]
        else:
            res = GLM(y, exog, family=Binomial()).fit(cov_type="HC0")
            fit = float(1.0 - res.llf / res.llnull) if res.llnull else 0.0
            std = [0.0] + [float(b) * float(s) for b, s in zip(res.params[1:], sd, strict=True)]
        cooks = np.asarray(res.get_influence().cooks_distance[0])
    ci = np.asarray(res.conf_int(alpha=1 - CI_LEVEL))
    strong = int(np.nansum(cooks > COOK_LIMIT))
    if strong:
        notes.append(
            Warning(
                "outliers",
                f"{strong} person-periods (Cook's distance above {COOK_LIMIT:g}, largest "
                f"{float(np.nanmax(cooks)):.1f}) sway the fit on their own; check their data",
            )
        )
    notes.append(
        Warning(
            "not_causal",
            "correlation is not causation: a KPI that moves with the outcome need not drive it",
        )
    )
    coefs = tuple(
        Coefficient(
            kpi="" if i == 0 else names[i - 1],
            estimate=float(res.params[i]),
            std_error=float(res.bse[i]),
            ci_low=float(ci[i, 0]),
            ci_high=float(ci[i, 1]),
            p_value=float(res.pvalues[i]),
            standardised=std[i],
            vif=1.0 if i == 0 else float(vif[i - 1]),
        )
        for i in range(len(names) + 1)
    )
    return DriverFit(model, MODEL_VERSION, len(y), people, fit, cond, coefs, tuple(notes))


@dataclass(frozen=True)
class WeightLimits:
    """Bounds on a draft's weights (the scoring pack's ``draft_weight_limits``): each weight stays within
    [min_weight, max_weight] percent and moves at most ``max_change`` points from the live weight."""

    min_weight: Decimal = Decimal(5)
    max_weight: Decimal = Decimal(50)
    max_change: Decimal = Decimal(15)

    @classmethod
    def of(cls, value: Mapping[str, object] | None) -> WeightLimits:
        d = cls()
        v = value or {}
        return cls(
            Decimal(str(v.get("min_weight", d.min_weight))),
            Decimal(str(v.get("max_weight", d.max_weight))),
            Decimal(str(v.get("max_change", d.max_change))),
        )


CENT = Decimal("0.01")


def reweight(
    weights: Mapping[str, Decimal],
    directions: Mapping[str, str],
    effects: Mapping[str, float],
    limits: WeightLimits,
    *,
    outcome_higher: bool = True,
) -> dict[str, Decimal]:
    """Draft weights: the KPIs with an effect share their current total weight in proportion to their
    useful effect (a standardised effect in the direction the KPI is scored, toward a better outcome),
    each kept within ``limits`` around its current weight; other KPIs keep theirs. Two decimals; the total
    is unchanged."""
    ids = [k for k in weights if k in effects]
    out = dict(weights)
    if not ids:
        return out
    pool = sum((weights[k] for k in ids), Decimal(0))
    useful = {
        k: max(
            0.0,
            effects[k]
            * (1 if directions.get(k, "higher") == "higher" else -1)
            * (1 if outcome_higher else -1),
        )
        for k in ids
    }
    total = sum(useful.values())
    if total <= 0:
        return out
    target = {k: float(pool) * useful[k] / total for k in ids}
    lo = {k: float(min(weights[k], max(limits.min_weight, weights[k] - limits.max_change))) for k in ids}
    hi = {k: float(max(weights[k], min(limits.max_weight, weights[k] + limits.max_change))) for k in ids}

    def at(shift: float) -> dict[str, float]:
        return {k: min(hi[k], max(lo[k], target[k] + shift)) for k in ids}

    a, b = -float(pool), float(pool)  # the sum at ``shift`` grows with it; the live weights are feasible
    for _ in range(100):
        mid = (a + b) / 2
        if sum(at(mid).values()) < float(pool):
            a = mid
        else:
            b = mid
    new = {k: Decimal(str(v)).quantize(CENT, ROUND_HALF_UP) for k, v in at((a + b) / 2).items()}
    residual = pool - sum(new.values(), Decimal(0))
    if residual:  # rounding: the KPI with the most room takes the cents
        room = max(ids, key=lambda k: float(hi[k]) - float(new[k]) if residual > 0 else float(new[k]) - lo[k])
        new[room] += residual
    out.update(new)
    return out
