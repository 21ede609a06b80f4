"""The commitments rule-action vocabulary: contract templates and the org calendar."""

from __future__ import annotations

from covenant.rules import ActionSpec, ActionVocabulary

_CONSEQUENCE = {
    "type": "object",
    "properties": {
        "points": {"type": "integer"},
        "score": {"type": "integer"},
        "alert": {"type": "string", "enum": ["", "low", "medium", "high", "critical"]},
    },
    "additionalProperties": False,
}

VOCABULARY = ActionVocabulary(
    "commitments",
    [
        ActionSpec(
            "define_template",
            {
                "type": "object",
                "required": ["id", "promise", "deadline", "fulfilling_event_type", "correlation_key"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                    "promise": {"type": "string", "minLength": 1},
                    "deadline": {
                        "type": "object",
                        "properties": {
                            "business_days": {"type": "integer", "minimum": 1},
                            "hours": {"type": "integer", "minimum": 1},
                        },
                        "additionalProperties": False,
                    },
                    "fulfilling_event_type": {"type": "string", "minLength": 1},
                    "correlation_key": {"type": "string", "minLength": 1},
                    "reminder_hours_before": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "consequences": {
                        "type": "object",
                        "properties": {
                            "fulfilled": _CONSEQUENCE,
                            "breached": _CONSEQUENCE,
                            "late_fulfilled": _CONSEQUENCE,
                        },
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
            },
            "Declare a contract template (fires on the commitments.templates lookup).",
        ),
        ActionSpec(
            "use_calendar",
            {
                "type": "object",
                "properties": {
                    "timezone": {"type": "string"},
                    "holidays": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "extra_workdays": {"type": "array", "items": {"type": "string", "format": "date"}},
                },
                "additionalProperties": False,
            },
            "The org's business calendar for business-day deadlines.",
        ),
    ],
)
