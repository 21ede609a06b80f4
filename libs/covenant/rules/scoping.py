"""What rule tooling may show a caller: recent events within their data scope, personal data masked.

Dry runs (and the dry run inside an approval request) replay the service's recently evaluated events. An
event is shown only when the caller's ``rules.packs.read`` scope covers its owner (the employee it is
about and their org unit); an event whose owner cannot be told is shown only with scope ``all``.
Whatever is shown (fired action parameters, errors, diffs) has phone, ID and bank-card numbers and e-mail
addresses masked, so an expression such as ``str(event)`` cannot read them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from covenant.auth import DataOwner, ScopeFilter
from covenant.secrets.masking import mask, mask_phone

_PHONE = re.compile(r"(?<![\w])(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)")
_LONG_NUMBER = re.compile(r"(?<![\w])\d{12,19}[Xx]?(?![\w])")  # national ID, bank card
_DIGIT_GROUPS = re.compile(r"(?<![\w])\d{4}(?:[ -]\d{4}){2,3}(?:\d{1,3})?(?![\w])")  # 6222 0212 3456 7890
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_text(text: str) -> str:
    """``text`` with phone, ID/bank-card numbers and e-mail addresses masked."""
    if not text or not any(ch.isdigit() or ch == "@" for ch in text):
        return text
    text = _EMAIL.sub(lambda m: mask(m.group(0), 0, keep_first=1), text)
    text = _DIGIT_GROUPS.sub(lambda m: mask("".join(c for c in m.group(0) if c.isdigit()), 4), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return _LONG_NUMBER.sub(lambda m: mask(m.group(0), 4), text)


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {mask_text(str(k)): mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def event_owner(event: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> DataOwner | None:
    """Whose data an evaluated event is: ``employee_id`` or an ``employees/<id>`` subject, and
    ``org_unit`` (from the event, else the facts). None when neither is known."""
    facts = facts or {}
    employee = event.get("employee_id") or facts.get("employee_id") or ""
    subject = str(event.get("subject") or "")
    if not employee and subject.startswith("employees/"):
        employee = subject.split("/", 1)[1]
    org_unit = event.get("org_unit") or facts.get("org_unit") or ""
    if not employee and not org_unit:
        return None
    return DataOwner(str(employee), str(org_unit))


def visible(scope: ScopeFilter, event: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> bool:
    """Whether a caller whose read scope is ``scope`` may see this evaluated event."""
    if scope.all:
        return True
    owner = event_owner(event, facts)
    if owner is None:
        return False
    if scope.employee_id is not None and owner.employee_id == scope.employee_id:
        return True
    if not owner.org_unit:
        return False  # an employee id alone cannot be placed in a team or subtree
    return scope.matches(DataOwner("", owner.org_unit))
