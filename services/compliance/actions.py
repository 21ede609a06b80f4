"""The compliance rule-action vocabulary."""

from __future__ import annotations

from covenant.rules import ActionSpec, ActionVocabulary

VOCABULARY = ActionVocabulary(
    "compliance",
    [
        ActionSpec(
            "open_case",
            {
                "type": "object",
                "required": ["severity"],
                "properties": {
                    "severity": {"enum": ["low", "medium", "high", "critical"]},
                    "category": {"type": "string"},
                    "window": {"enum": ["day", "week", "month"]},
                    "sla_hours": {"type": "integer", "minimum": 1},
                },
                "additionalProperties": False,
            },
            "Open a case (or join the open one for the same employee, rule and window).",
        ),
    ],
)
