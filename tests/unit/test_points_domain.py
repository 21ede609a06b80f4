"""Pure points domain: periods, caps, sharing, reversal amounts, leaderboard order, pool split, nudges,
eligibility, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from covenant.errors import FailedPrecondition
from services.points.domain import (
    EventIn,
    Standing,
    apply_caps,
    cap_keys,
    check_transition,
    eligible,
    expirable,
    leaderboard_order,
    my_place,
    nudge,
    period_bounds,
    period_key,
    plan,
    reversal_amount,
    split_points,
    split_pool,
)

TZ = "Asia/Shanghai"


def fired(action: str, rule: str = "r1", **params: object) -> SimpleNamespace:
    return SimpleNamespace(action=action, params=params, rule_id=rule, pack_id="p", pack_version="1")


def test_worked_example_sums_to_440() -> None:
    e = EventIn("x", "t", "E1", "/hq", datetime(2026, 7, 1, tzinfo=UTC))
    actions = (
        [fired("award", "loan-completed", points=20)] * 5
        + [fired("award", "wealth-product-sold", points=30)] * 3
        + [fired("award", "follow-up-visit", points=10)] * 20
        + [fired("award", "quarter-clean", points=50)]
    )
    awards, reversals = plan(actions, e)
    assert sum(a.points for a in awards) == 440 and not reversals
    assert {a.rule_id for a in awards} == {
        "loan-completed",
        "wealth-product-sold",
        "follow-up-visit",
        "quarter-clean",
    }


def test_periods_use_the_org_time_zone() -> None:
    # 2026-09-30 17:00 UTC is already 1 October in Shanghai: next day, month and quarter
    at = datetime(2026, 9, 30, 17, tzinfo=UTC)
    assert period_key("day", at, TZ) == "2026-10-01"
    assert period_key("month", at, TZ) == "2026-10"
    assert period_key("quarter", at, TZ) == "2026-Q4"
    assert period_key("quarter", at, "UTC") == "2026-Q3"
    assert period_key("week", datetime(2026, 1, 1, tzinfo=UTC), "UTC") == "2026-W01"
    start, end = period_bounds("quarter", at, TZ)
    assert start == datetime(2026, 9, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)


def test_caps_trim_to_what_is_left_in_each_period() -> None:
    assert apply_caps(10, {"day": 60}, {"day": 50}) == 10
    assert apply_caps(10, {"day": 60}, {"day": 55}) == 5
    assert apply_caps(10, {"day": 60}, {"day": 60}) == 0
    assert apply_caps(10, {"day": 60, "month": 100}, {"day": 0, "month": 97}) == 3
    e = EventIn("x", "t", "E1", "/hq", datetime(2026, 11, 2, 1, tzinfo=UTC))
    (award,), _ = plan([fired("award", points=10, cap_per_day=60, cap_per_week=200)], e)
    assert cap_keys(award, e.occurred_at, TZ) == {"day": "2026-11-02", "week": "2026-W45"}


def test_split_is_exact_and_deterministic() -> None:
    assert split_points(100, {"A": 2, "B": 1}) == [("A", 67), ("B", 33)]
    assert split_points(10, {"A": 1, "B": 1, "C": 1}) == [("A", 4), ("B", 3), ("C", 3)]
    assert sum(p for _, p in split_points(1001, {f"E{i}": i + 1 for i in range(7)})) == 1001
    assert split_points(10, {"A": 0}) == []


def test_award_to_another_employee_or_shared_by_contribution() -> None:
    e = EventIn("x", "team_sale", "E1", "/hq", datetime.now(UTC), {"contributors": {"E1": 3, "E2": 1}})
    awards, _ = plan([fired("award", points=40, split_by="contributors")], e)
    assert [(a.employee_id, a.points) for a in awards] == [("E1", 30), ("E2", 10)]
    assert "shared: 3 of 4" in awards[0].reason
    awards, _ = plan([fired("award", points=15, to="E9")], e)
    assert [(a.employee_id, a.points) for a in awards] == [("E9", 15)]


def test_reverse_action_and_reversal_amount() -> None:
    e = EventIn("c1", "loan_cancelled", "E1", "/hq", datetime.now(UTC))
    _, (rev,) = plan([fired("reverse", "loan-cancelled", event_id="loan-1")], e)
    assert rev.event_id == "loan-1" and rev.rule_id == "loan-cancelled"
    assert reversal_amount(20, 100) == 20 and reversal_amount(20, 5) == 5 and reversal_amount(20, 0) == 0


def test_leaderboard_tie_goes_to_the_earlier_achiever() -> None:
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    ordered = leaderboard_order(
        [
            Standing("A", 20, t0 + timedelta(hours=5)),
            Standing("B", 20, t0 + timedelta(hours=1)),
            Standing("C", 30, t0 + timedelta(hours=9)),
        ]
    )
    assert [s.employee_id for s in ordered] == ["C", "B", "A"]
    assert my_place(ordered, "A") == (3, 20, 0) and my_place(ordered, "B") == (2, 20, 10)
    assert my_place(ordered, "Z") == (0, 0, 0)


def test_pool_split_explained() -> None:
    shares = split_pool(1000, {"A": 40, "B": 160})
    assert [(s.employee_id, s.points) for s in shares] == [("A", 200), ("B", 800)]
    assert shares[0].explanation == "40 of 200 = 20.00% of a 1000-point pool → 200 points"


def test_nudge_messages() -> None:
    assert (
        nudge("E1", 90, 100, 3, 8, 15).message
        == "10 points to your goal · 3rd in your team, 15 points behind 2nd"
    )
    assert nudge("E1", 120, 100, 1, 8, 0).message == "goal of 100 points reached · 1st in your team of 8"
    assert nudge("E1", 5, 0, 0, 0, 0).message == "5 points this week"


def test_redemption_states_eligibility_and_expiry() -> None:
    check_transition("RESERVED", "APPROVED")
    check_transition("APPROVED", "FULFILLED")
    with pytest.raises(FailedPrecondition):
        check_transition("FULFILLED", "CANCELLED")
    with pytest.raises(FailedPrecondition):
        check_transition("RESERVED", "FULFILLED")
    assert eligible(10, 100, 10) and not eligible(11, 100, 10)
    assert eligible(1, 5, 10) and not eligible(0, 5, 10) and eligible(0, 0, 0)
    assert expirable(earned_before_cutoff=100, spent=30, already_expired=0, balance=200) == 70
    assert expirable(earned_before_cutoff=100, spent=30, already_expired=70, balance=130) == 0
    assert expirable(earned_before_cutoff=100, spent=0, already_expired=0, balance=40) == 40
