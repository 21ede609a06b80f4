"""Compliance case states: open → acknowledged → resolved / escalated / false positive."""

from __future__ import annotations

from covenant.errors import FailedPrecondition, InvalidArgument

TRANSITIONS: dict[str, set[str]] = {
    "OPEN": {"ACKNOWLEDGED", "ESCALATED"},
    "ACKNOWLEDGED": {"RESOLVED", "ESCALATED", "FALSE_POSITIVE"},
    "ESCALATED": {"ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"},
    "RESOLVED": set(),
    "FALSE_POSITIVE": set(),
}
NEEDS_OWNER = {"ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"}


def check_transition(current: str, target: str, owner: str, comment: str) -> None:
    """Raise unless ``current → target`` is allowed; closing needs an owner and a comment."""
    if target not in TRANSITIONS:
        raise InvalidArgument(f"unknown state {target!r}", field="state")
    if target not in TRANSITIONS.get(current, set()):
        hint = " (acknowledge it with an owner first)" if current == "OPEN" else ""
        raise FailedPrecondition(f"a case cannot go from {current} to {target}{hint}")
    if target in NEEDS_OWNER and not owner:
        raise FailedPrecondition(f"a case needs an owner before it becomes {target}")
    if target in ("RESOLVED", "FALSE_POSITIVE") and not comment.strip():
        raise InvalidArgument(f"a comment is required to mark a case {target}", field="comment")
