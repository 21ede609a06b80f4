"""The stored explanation of a score: the hand-written encoder must give exactly what json.dumps gives."""

from __future__ import annotations

import json
from decimal import Decimal as D

from services.scoring.domain.scorecard import Contribution, Score
from services.scoring.periods import contributions_json


def reference(score: Score, sources: dict[str, list[str] | tuple[str, ...]]) -> str:
    return json.dumps(
        [
            {
                "kpi": c.kpi,
                "label": c.label,
                "raw": None if c.raw is None else str(c.raw),
                "normalised": str(c.normalised),
                "points": str(c.points),
                "weight": str(c.weight),
                "explanation": c.explanation,
                "sources": list(sources.get(c.kpi, [])),
            }
            for c in score.contributions
        ]
    )


def test_explanation_json_is_byte_for_byte_json_dumps() -> None:
    contributions = (
        Contribution(
            "recovery_rate", "recovery rate", D("0.85"), D("0.85"), D("34.00"), D(40), "recovery → 34.0"
        ),
        Contribution(
            'q"uote', 'label "with" \\ and ü/中', None, D(0), D("0.00"), D("12.5"), "no data → 0.00 of 12.5"
        ),
        Contribution("x", "x", D("1E+1"), D(1) / D(3), D("4.17"), D("12.50"), "tab\there\nnewline"),
    )
    score = Score("E1", D("38.17"), contributions, "card", 2)
    sources = {"recovery_rate": ("crm", 'events:rule "x"@2026.1'), "x": ["default"]}
    assert contributions_json(score, sources) == reference(score, sources)
    assert json.loads(contributions_json(score, sources))[1]["sources"] == []
    empty = Score("E2", D(0), (), "card", 1)
    assert contributions_json(empty, {}) == reference(empty, {}) == "[]"
