"""The scoring rule-action vocabulary: metric intake from events, and trend signals."""

from __future__ import annotations

from covenant.rules import ActionSpec, ActionVocabulary

VOCABULARY = ActionVocabulary(
    "scoring",
    [
        ActionSpec(
            "add_metric",
            {
                "type": "object",
                "required": ["metric"],
                "properties": {"metric": {"type": "string", "minLength": 1}, "amount": {"type": "number"}},
                "additionalProperties": False,
            },
            "Add an amount (default 1) to an employee's metric for the event's period.",
        ),
        ActionSpec(
            "set_metric",
            {
                "type": "object",
                "required": ["metric", "value"],
                "properties": {"metric": {"type": "string", "minLength": 1}, "value": {"type": "number"}},
                "additionalProperties": False,
            },
            "Set an employee's metric for the event's period.",
        ),
        ActionSpec(
            "raise_signal",
            {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {
                        "type": "string",
                        "enum": ["attrition_risk", "coaching_needed", "contradiction"],
                    },
                    "audience": {"type": "string", "enum": ["hr", "team_lead", "branch_manager"]},
                    "detail": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "Raise a trend signal once per employee, period and kind (an event to its audience).",
        ),
    ],
)
