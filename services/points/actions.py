"""The points rule-action vocabulary: the only effects a points rule pack can ask for."""

from __future__ import annotations

from covenant.rules import ActionSpec, ActionVocabulary

VOCABULARY = ActionVocabulary(
    "points",
    [
        ActionSpec(
            "award",
            {
                "type": "object",
                "required": ["points"],
                "properties": {
                    "points": {"type": "integer", "minimum": 0, "maximum": 100000},
                    "reason": {"type": "string"},
                    "cap_per_day": {"type": "integer", "minimum": 0},
                    "cap_per_week": {"type": "integer", "minimum": 0},
                    "cap_per_month": {"type": "integer", "minimum": 0},
                    "to": {"type": "string"},
                    "split_by": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "Pay points to the event's employee (or `to`, or split among the event field `split_by`, a map "
            "employee id -> contribution, by share), trimmed to the rule's caps per calendar day/week/month "
            "in the org time zone (cap state is kept in the database).",
        ),
        ActionSpec(
            "reverse",
            {
                "type": "object",
                "required": ["event_id"],
                "properties": {"event_id": {"type": "string"}, "reason": {"type": "string"}},
                "additionalProperties": False,
            },
            "Compensating entries for everything event `event_id` paid (e.g. a cancelled loan).",
        ),
    ],
)
