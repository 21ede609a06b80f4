"""The attendance rule-action vocabulary: the only actions attendance packs may fire."""

from __future__ import annotations

from covenant.rules import ActionSpec, ActionVocabulary

_REASON = {"type": "object", "properties": {"reason": {"type": "string"}}, "additionalProperties": False}

VOCABULARY = ActionVocabulary(
    "attendance",
    [
        ActionSpec("verify_visit", _REASON, "A check-in counts as a verified client visit (visit_verified)."),
        ActionSpec(
            "flag_location_mismatch", _REASON, "A check-in too far from the client (location_mismatch)."
        ),
        ActionSpec(
            "raise_dwell_anomaly",
            _REASON,
            "A long stop away from any client in working hours (dwell_anomaly).",
        ),
        ActionSpec(
            "flag_spoofing", _REASON, "Location integrity is doubtful: spoofing_suspected, with the evidence."
        ),
        ActionSpec("publish_daily_summary", _REASON, "Publish the employee-day's summary (daily_summary)."),
    ],
)
