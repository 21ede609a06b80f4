"""Driver analysis domain: statsmodels fits on synthetic data with known coefficients, the warnings, and the
bounded re-weighting a draft scorecard gets."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from covenant.errors import FailedPrecondition, InvalidArgument
from services.scoring.domain.drivers import WeightLimits, fit_drivers, reweight


def codes(fit) -> set[str]:
    return {w.code for w in fit.warnings}


def test_ols_recovers_known_effects_with_standardised_sizes() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 3)) * [1.0, 2.0, 0.5]
    y = 1.0 + x @ [0.3, -0.2, 0.0] + rng.normal(0, 1.0, 2000)
    fit = fit_drivers(y, x, ["a", "b", "c"], people=500)
    coef = {c.kpi: c for c in fit.coefficients}
    for kpi, planted in (("", 1.0), ("a", 0.3), ("b", -0.2), ("c", 0.0)):
        assert coef[kpi].ci_low <= planted <= coef[kpi].ci_high, kpi
    # standardised: effect per SD of the KPI in SDs of the outcome
    assert coef["a"].standardised == pytest.approx(coef["a"].estimate * x[:, 0].std(ddof=1) / y.std(ddof=1))
    assert abs(coef["b"].standardised) > abs(coef["a"].standardised)  # -0.2 × SD 2 outweighs 0.3 × SD 1
    assert 0 < fit.fit < 1 and fit.observations == 2000 and codes(fit) == {"not_causal"}


def test_logit_recovers_a_planted_log_odds_effect() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4000, 1))
    won = (rng.random(4000) < 1 / (1 + np.exp(-(-0.5 + 0.8 * x[:, 0])))).astype(float)
    fit = fit_drivers(won, x, ["visits"], people=400, model="logit")
    c = fit.coefficients[1]
    assert c.ci_low <= 0.8 <= c.ci_high and 0 < fit.fit < 1
    with pytest.raises(InvalidArgument, match="model"):
        fit_drivers(won * 3, x, ["visits"], people=400, model="logit")


def test_warnings_fire_on_tiny_collinear_constant_and_outlying_samples() -> None:
    rng = np.random.default_rng(9)
    v = rng.normal(size=12)
    x = np.column_stack([v, v * 2 + rng.normal(0, 1e-4, 12), np.ones(12), rng.normal(size=12)])
    y = v + rng.normal(0, 0.1, 12)
    y[0] += 40  # one wild value
    fit = fit_drivers(y, x, ["visits", "calls", "flat", "other"], people=4, missing=3)
    assert {"too_few_people", "collinearity", "constant_kpi", "missing_values", "not_causal"} <= codes(fit)
    assert [c.kpi for c in fit.coefficients] == ["", "visits", "calls", "other"]
    big = rng.normal(size=(200, 1))
    yb = big[:, 0] + rng.normal(0, 0.1, 200)
    big[0, 0], yb[0] = 30.0, -30.0  # one point far out on the KPI, against the trend
    assert "outliers" in codes(fit_drivers(yb, big, ["visits"], people=200))
    with pytest.raises(FailedPrecondition):
        fit_drivers(np.array([1.0, 2.0]), np.array([[1.0], [2.0]]), ["visits"], people=2)


def test_reweighting_follows_useful_effects_within_the_limits() -> None:
    live = {"visits": Decimal(30), "quality": Decimal(25), "overdue": Decimal(20), "repeat": Decimal(10)}
    directions = {"visits": "higher", "quality": "higher", "overdue": "lower", "repeat": "higher"}
    effects = {"visits": 0.6, "overdue": -0.3, "repeat": -0.1}  # quality not analysed
    new = reweight(live, directions, effects, WeightLimits())
    assert new["quality"] == 25 and sum(new.values()) == 85
    # the pool of 60 splits 2:1 between visits and overdue (lower is better, and it lowers the outcome
    # less than visits raise it); repeat purchases have no useful effect: down to the minimum weight
    assert (new["visits"], new["overdue"], new["repeat"]) == (Decimal("37.5"), Decimal("17.5"), 5)
    tight = reweight(live, directions, effects, WeightLimits(Decimal(5), Decimal(50), Decimal(2)))
    assert (tight["visits"], tight["overdue"], tight["repeat"]) == (32, 20, 8)  # ±2 at most
    # an outcome where lower is better flips what is useful
    flipped = reweight(live, directions, effects, WeightLimits(), outcome_higher=False)
    assert flipped["visits"] < 30
    assert reweight(live, directions, {"visits": -1.0}, WeightLimits()) == live  # nothing useful: unchanged
