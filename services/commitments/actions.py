"""The commitments rule-action vocabulary: contract templates and the org calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from covenant.calendar import OFFICIAL_SOURCES, BusinessCalendar
from covenant.errors import InvalidArgument
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
                    "official": {"type": "string", "enum": sorted(OFFICIAL_SOURCES)},
                    "region": {"type": "string"},
                    "org_unit_prefix": {"type": "string", "pattern": "^/"},
                    "holidays": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "extra_workdays": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "weekend": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
                },
                "additionalProperties": False,
            },
            "The org's business calendar for business-day deadlines (official: cn = mainland holidays and "
            "调休 from chinese-calendar; none = only what the pack lists); org_unit_prefix picks it for part "
            "of the org (another region).",
        ),
    ],
    pack_warnings=lambda pack: pack_warnings(pack),
)


def calendar_warnings(params: Mapping[str, Any], today: Any = None) -> list[str]:
    """Loud warnings about a ``use_calendar`` action: years its official source does not cover yet."""
    try:
        calendar = BusinessCalendar.from_config(params)
    except InvalidArgument:
        return []  # reported as an error by validation
    return calendar.warnings(today or datetime.now(UTC).date())


def pack_warnings(pack: Any) -> list[str]:
    """Warnings for a commitments pack (``covenant rules validate`` prints them; they do not fail it)."""
    return [
        f"rule {rule.id}: {w}"
        for rule in pack.rules
        for call in rule.then
        if call.action == "use_calendar"
        for w in calendar_warnings(call.params)
    ]
