"""Commitments domain: business-day deadlines, frozen terms hash, state machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from covenant.errors import FailedPrecondition, InvalidArgument
from services.commitments.domain.calendar import BusinessCalendar, DeadlineRule
from services.commitments.domain.commitment import Commitment, State
from services.commitments.domain.terms import Terms

SH = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar("Asia/Shanghai", holidays=frozenset({date(2026, 11, 23)}))


def test_three_business_days_from_friday_over_holiday_monday_is_thursday_same_time() -> None:
    friday_10 = datetime(2026, 11, 20, 10, 0, tzinfo=SH)
    deadline = DeadlineRule(business_days=3).deadline(friday_10, CAL)
    assert deadline == datetime(2026, 11, 26, 10, 0, tzinfo=SH)
    assert deadline.tzinfo == UTC and deadline.hour == 2


def test_make_up_workday_counts_and_hours_rule_ignores_calendar() -> None:
    cal = BusinessCalendar("Asia/Shanghai", extra_workdays=frozenset({date(2026, 11, 21)}))
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=SH)
    assert cal.add_business_days(friday, 1) == datetime(2026, 11, 21, 9, 0, tzinfo=SH)
    assert DeadlineRule(hours=48).deadline(friday, CAL) == friday + timedelta(hours=48)


def test_deadline_rule_needs_exactly_one_unit() -> None:
    with pytest.raises(InvalidArgument, match="deadline"):
        DeadlineRule.from_config({"business_days": 2, "hours": 3})
    with pytest.raises(InvalidArgument, match="deadline"):
        DeadlineRule.from_config({})


def _terms(**kw: object) -> Terms:
    base = dict(
        template_id="loan_disbursal_3d",
        pack_id="commitments-templates",
        pack_version="1",
        promise="loan disbursed",
        employee_id="E1",
        org_unit="/hq/b1/t1",
        client_id="C1",
        fulfilling_event_type="loan.disbursed",
        correlation_key="loan_id",
        correlation_value="L-1",
        created_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
        deadline=datetime(2026, 11, 26, 2, tzinfo=UTC),
        deadline_rule="3 business days",
        consequences={"on_fulfilled": {"points": 20}},
    )
    base.update(kw)
    return Terms(**base)  # type: ignore[arg-type]


def test_terms_hash_is_stable_and_sensitive_to_every_field() -> None:
    t = _terms()
    assert t.content_hash() == Terms.from_canonical(t.canonical()).content_hash()
    assert t.content_hash() != _terms(consequences={"on_fulfilled": {"points": 21}}).content_hash()
    assert t.content_hash() != _terms(deadline=datetime(2026, 11, 26, 2, 0, 1, tzinfo=UTC)).content_hash()


def _c() -> Commitment:
    t = _terms()
    return Commitment("c1", t, t.content_hash())


def test_on_time_fulfilment() -> None:
    c = _c().fulfil(datetime(2026, 11, 25, tzinfo=UTC), "ev1")
    assert c.state is State.FULFILLED and c.delay_seconds == 0


def test_breach_then_late_fulfilment_records_delay() -> None:
    c = _c()
    with pytest.raises(FailedPrecondition, match="not due"):
        c.breach(datetime(2026, 11, 25, tzinfo=UTC))
    b = c.breach(datetime(2026, 11, 26, 2, tzinfo=UTC))
    assert b.state is State.BREACHED
    late = b.fulfil(datetime(2026, 11, 26, 5, tzinfo=UTC), "ev2")
    assert late.state is State.BREACHED_THEN_FULFILLED and late.delay_seconds == 3 * 3600
    with pytest.raises(FailedPrecondition):
        late.fulfil(datetime(2026, 11, 27, tzinfo=UTC), "ev3")


def test_late_event_before_scheduler_fired_is_breached_then_fulfilled() -> None:
    c = _c().fulfil(datetime(2026, 11, 26, 3, tzinfo=UTC), "ev")
    assert c.state is State.BREACHED_THEN_FULFILLED and c.delay_seconds == 3600


def test_an_on_time_fact_arriving_after_the_breach_fulfils_judged_by_its_time() -> None:
    b = _c().breach(datetime(2026, 11, 26, 9, tzinfo=UTC))
    on_time = b.fulfil(datetime(2026, 11, 26, 1, 59, 57, tzinfo=UTC), "ev")  # 3 s before the deadline
    assert on_time.state is State.FULFILLED and on_time.delay_seconds == 0
    assert on_time.settled_at == on_time.fulfilled_at == datetime(2026, 11, 26, 1, 59, 57, tzinfo=UTC)


def test_extension_needs_reason_and_later_deadline_and_only_active() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    c = _c()
    with pytest.raises(InvalidArgument, match="reason"):
        c.extend(datetime(2026, 11, 30, tzinfo=UTC), " ", "L1", now)
    with pytest.raises(InvalidArgument, match="new_deadline"):
        c.extend(datetime(2026, 11, 25, tzinfo=UTC), "client travelling", "L1", now)
    e = c.extend(datetime(2026, 11, 30, tzinfo=UTC), "client travelling", "L1", now)
    assert e.effective_deadline == datetime(2026, 11, 30, tzinfo=UTC) and e.terms == c.terms
    with pytest.raises(FailedPrecondition):
        e.cancel(now).extend(datetime(2026, 12, 30, tzinfo=UTC), "x", "L1", now)
