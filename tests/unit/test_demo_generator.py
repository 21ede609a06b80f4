"""The synthetic bank-branch world is reproducible from its seed and plants what it says it plants."""

from __future__ import annotations

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
