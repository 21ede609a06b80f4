"""The profile statistics on planted data: effect sizes against independent formulas, the top-quartile
split, gaps only on distinguishing KPIs and in the KPI's better direction, heat-map means and changes."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy import stats

from services.scoring.domain import profiles as dom


def test_cliffs_delta_matches_mann_whitney_and_is_antisymmetric() -> None:
    rnd = random.Random(3)
    a = [rnd.gauss(1, 1) for _ in range(30)]
    b = [rnd.gauss(0, 1) for _ in range(45)] + a[:5]  # some ties
    u = stats.mannwhitneyu(a, b).statistic
    assert dom.cliffs_delta(a, b) == pytest.approx(2 * u / (len(a) * len(b)) - 1)
    assert dom.cliffs_delta(b, a) == pytest.approx(-dom.cliffs_delta(a, b))
    assert dom.cliffs_delta([], b) == 0.0


def test_cohens_d_recovers_a_planted_shift() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.8, 1, 4000), rng.normal(0, 1, 4000)
    assert dom.cohens_d(a, b) == pytest.approx(0.8, abs=0.06)
    assert dom.cohens_d([1.0, 1.0], [1.0, 1.0]) == 0.0  # no spread: undefined, reported as 0


def planted(n: int = 40, lower_outcome: bool = False) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(11)
    out = {}
    for i in range(n):
        top = i < n // 4
        conversion = (0.5 if top else 0.2) + rng.uniform(0, 0.05)
        out[f"E{i:02d}"] = {
            "outcome": (1 - conversion) if lower_outcome else conversion,
            "visits": float(rng.normal(3.0 if top else 1.5, 0.2)),
            "noise": float(rng.normal(10, 2)),
        }
    return out


@pytest.mark.parametrize("lower", [False, True])
def test_the_top_quartile_and_its_distinguishing_kpi_are_recovered(lower: bool) -> None:
    p = dom.profile(planted(lower_outcome=lower), "outcome", {}, {"outcome": "lower" if lower else "higher"})
    assert p is not None and set(p.top) == {f"E{i:02d}" for i in range(10)} and p.rest_count == 30
    by = {k.kpi: k for k in p.kpis}
    assert by["visits"].top_median == pytest.approx(3.0, abs=0.15)
    assert by["visits"].rest_median == pytest.approx(1.5, abs=0.1)
    assert by["visits"].cliffs_delta == 1.0 and by["visits"].cohens_d > 5
    assert abs(by["noise"].cliffs_delta) < 0.3 and by["visits"].top_iqr > 0


def test_too_few_people_or_no_spread_make_no_profile() -> None:
    assert dom.profile(planted(7), "outcome", {}, {}) is None
    same = {f"E{i}": {"outcome": 1.0, "x": float(i)} for i in range(20)}
    assert dom.profile(same, "outcome", {}, {}) is None


def test_gaps_only_on_distinguishing_kpis_in_their_better_direction() -> None:
    kpis = [
        dom.KpiProfile("visits", "visits/day", "higher", 3.0, 1.5, 0.2, 0.2, 0.9, 3.0),
        dom.KpiProfile("overdue", "overdue rate", "lower", 0.01, 0.04, 0, 0, -0.8, -2.0),
        dom.KpiProfile("calls", "calls", "higher", 40, 20, 5, 5, 0.1, 0.2),  # not distinguishing
    ]
    gaps = dom.gaps({"visits": 1.4, "overdue": 0.04, "calls": 10}, kpis)
    assert [(g.kpi, g.gap) for g in gaps] == [
        ("visits", pytest.approx(1.6)),
        ("overdue", pytest.approx(0.03)),
    ]
    assert gaps[0].detail == "visits/day 1.4 vs profile 3.0"
    assert dom.gaps({"visits": 3.5, "overdue": 0.005}, kpis) == []  # beyond the profile: nothing to coach


def test_heat_cells_are_means_with_changes() -> None:
    cells = dom.heat_cells({("/a", "score"): [60, 80], ("/b", "score"): [50]}, {("/a", "score"): [65, 65]})
    assert [(c.org_unit, c.value, c.people, c.change) for c in cells] == [
        ("/a", 70.0, 2, 5.0),
        ("/b", 50.0, 1, None),
    ]
