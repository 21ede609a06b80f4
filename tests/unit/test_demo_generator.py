"""The synthetic bank-branch world is reproducible from its seed and plants what it says it plants."""

from __future__ import annotations

from datetime import timedelta

from covenant.demo.check import (
    attendance_checks,
    commitment_checks,
    compliance_check,
    expected_commitment_states,
    text_id,
)
from covenant.demo.generator import generate


def test_same_seed_same_world_and_planted_truth() -> None:
    a = generate(seed=11, branches=2, teams=4, staff=40, places=500, days=2)
    b = generate(seed=11, branches=2, teams=4, staff=40, places=500, days=2)
    assert [e.id for e in a.employees] == [e.id for e in b.employees]
    assert [(p.employee_id, p.at, p.latitude) for d in a.days for p in d.pings] == [
        (p.employee_id, p.at, p.latitude) for d in b.days for p in d.pings
    ]
    assert len(a.places) == 500 and len(a.days) == 2
    assert all(d.planted_dwell for d in a.days)  # every day plants at least one mall dwell
    assert generate(seed=12, branches=2, teams=4, staff=40, places=500, days=1).places[0] != a.places[0]


def test_org_shape_and_transcripts() -> None:
    w = generate(seed=7, branches=3, teams=6, staff=60, places=1000, days=1)
    assert {e.role for e in w.employees} == {"team_lead", "credit_officer", "wealth_adviser", "collector"}
    assert all(e.org_unit.startswith("/hq/") for e in w.employees)
    bad = [t for d in w.days for t in d.transcripts if t.planted_violation]
    assert all(any(p in t.text for p in ("保本", "无风险", "保 本")) for t in bad)


def test_the_demo_check_counts_found_missed_and_unexpected() -> None:
    w = generate(seed=5, branches=2, teams=4, staff=60, places=800, days=2)
    dwell = {(e, d.date) for d in w.days for e, _ in d.planted_dwell}
    assert dwell
    missed = sorted(dwell)[0]
    stray = ("E9999", w.days[0].date)
    flagged = {"dwell": (dwell - {missed}) | {stray}, "spoofing": set(), "mismatch": set()}
    got = {c.label: c for c in attendance_checks(w, flagged)}["dwell anomalies (employee-days)"]
    assert (got.planted, got.found, got.unexpected, got.ok) == (len(dwell), len(dwell) - 1, 1, False)
    assert f"-{missed}" in got.examples and f"+{stray}" in got.examples
    bad = [text_id(t.employee_id, t.at) for d in w.days for t in d.transcripts if t.planted_violation]
    assert bad and compliance_check(w, bad).ok
    clean = next(t for d in w.days for t in d.transcripts if not t.planted_violation)
    assert compliance_check(w, [*bad, text_id(clean.employee_id, clean.at)]).unexpected == 1


def test_expected_commitment_states_follow_deadline_and_recorded_disbursal() -> None:
    w = generate(seed=5, branches=2, teams=4, staff=60, places=800, days=1)
    planned = [cm for d in w.days for cm in d.commitments]
    disbursed = next(cm for cm in planned if cm.disbursed_at is not None)
    never = next(cm for cm in planned if cm.disbursed_at is None)
    deadlines = {cm.loan_id: cm.created_at + timedelta(days=3) for cm in planned}
    now = never.created_at + timedelta(days=4)
    expected = expected_commitment_states(w, deadlines, {disbursed.loan_id}, now)
    assert expected[disbursed.loan_id] == "FULFILLED" and expected[never.loan_id] == "BREACHED"
    early = expected_commitment_states(w, deadlines, set(), never.created_at + timedelta(hours=1))
    assert early[never.loan_id] == "ACTIVE"
    checks = commitment_checks(expected, {**expected, never.loan_id: "ACTIVE"})
    assert [(c.found, c.unexpected) for c in checks][1:] == [
        (sum(v == "BREACHED" for v in expected.values()) - 1, 0),
        (sum(v == "ACTIVE" for v in expected.values()), 1),
    ]
