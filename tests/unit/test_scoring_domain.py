"""Scoring domain: exact weighted scores with explanations, normalisations, rankings, trends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from covenant.errors import InvalidArgument
from services.scoring.domain.scorecard import Cohort, Kpi, Scorecard, rank, score_employee
from services.scoring.domain.trends import trend_facts

COLLECTOR = Scorecard(
    "collector",
    1,
    "collector",
    (
        Kpi("recovery_rate", "recovery rate", D(40), "higher", "target", target=D(1), unit="%"),
        Kpi("complaint_rate", "complaint rate", D(25), "lower", "target", target=D("0.02"), unit="%"),
        Kpi("compliance", "compliance", D(35), "higher", "target", target=D(100)),
    ),
    date(2026, 1, 1),
)


def test_collector_scores_exactly_with_explanation() -> None:
    COLLECTOR.validate()
    s = score_employee(
        COLLECTOR,
        "E1",
        {"recovery_rate": D("0.85"), "complaint_rate": D("0.04"), "compliance": D(90)},
        Cohort({}),
    )
    # 0.85*40 + (0.02/0.04)*25 + 0.9*35 = 34 + 12.5 + 31.5
    assert s.total == D("78.00")
    assert [c.points for c in s.contributions] == [D("34.00"), D("12.50"), D("31.50")]
    assert s.contributions[0].explanation == "recovery rate 85% → 34.0 of 40"


def test_caps_and_floors_and_missing_data() -> None:
    s = score_employee(COLLECTOR, "E2", {"recovery_rate": D("1.3"), "complaint_rate": D(0)}, Cohort({}))
    assert [c.points for c in s.contributions] == [D("40.00"), D("25.00"), D("0.00")]
    assert s.missing == ("compliance",) and s.total == D("65.00")


def test_weights_must_sum_to_100_and_target_required() -> None:
    bad = Scorecard(
        "x", 1, "r", (Kpi("a", "a", D(60), target=D(1)), Kpi("b", "b", D(30), target=D(1))), date(2026, 1, 1)
    )
    with pytest.raises(InvalidArgument, match="sum to 90"):
        bad.validate()
    with pytest.raises(InvalidArgument, match=r"kpis\[0\].target"):
        Scorecard("y", 1, "r", (Kpi("a", "a", D(100)),), date(2026, 1, 1)).validate()


def test_minmax_and_percentile_within_cohort() -> None:
    cohort = Cohort({"v": [D(10), D(20), D(30), D(40)]})
    mm = Kpi("v", "visits", D(100), "higher", "minmax")
    pc = Kpi("v", "visits", D(100), "lower", "percentile")
    assert cohort.normalise(mm, D(20)) == D(10) / D(30)
    assert cohort.normalise(pc, D(20)) == D("0.75")


def test_rank_ties_share_a_place() -> None:
    assert rank([("a", D(80)), ("b", D(90)), ("c", D(80)), ("d", D(70))]) == {"b": 1, "a": 2, "c": 2, "d": 4}


def test_trend_counts_consecutive_declines_and_drop() -> None:
    t = trend_facts([D(90), D(85), D(80), D(70)])
    assert t.consecutive_declines == 3 and t.drop_pct == 12.5 and t.change == -10.0
    assert trend_facts([D(70), D(80), D(75)]).consecutive_declines == 1
    assert trend_facts([D(70)]).consecutive_declines == 0
