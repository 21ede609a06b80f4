"""Frozen commitment terms and their content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Terms:
    """What was promised, fixed at creation. Nothing edits these; extensions are recorded beside them."""

    template_id: str
    pack_id: str
    pack_version: str
    promise: str
    employee_id: str
    org_unit: str
    client_id: str
    fulfilling_event_type: str
    correlation_key: str
    correlation_value: str
    created_at: datetime
    deadline: datetime
    deadline_rule: str
    reminders: tuple[datetime, ...] = ()
    consequences: dict[str, Any] = field(default_factory=dict)
    rule_id: str = ""

    def canonical(self) -> str:
        """Canonical JSON (sorted keys, UTC instants with microseconds) that the hash is taken over."""
        data = asdict(self)
        data["created_at"] = _iso(self.created_at)
        data["deadline"] = _iso(self.deadline)
        data["reminders"] = [_iso(r) for r in self.reminders]
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def content_hash(self) -> str:
        """``sha256:<hex>`` over the canonical terms."""
        return "sha256:" + hashlib.sha256(self.canonical().encode()).hexdigest()

    def business_key(self) -> str:
        """The real-world promise these terms make: one template about one correlated fact (e.g. "loan L-1
        disbursed within 3 business days"). Whoever records it and whenever, a second commitment with the
        same key is the same promise, so one disbursal can never pay it twice (docs/security.md)."""
        fact = json.dumps(
            [self.template_id, self.fulfilling_event_type, self.correlation_key, self.correlation_value]
        )
        return "sha256:" + hashlib.sha256(fact.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, text: str) -> Terms:
        data = json.loads(text)
        data["created_at"] = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
        data["deadline"] = datetime.fromisoformat(data["deadline"].replace("Z", "+00:00"))
        data["reminders"] = tuple(datetime.fromisoformat(r.replace("Z", "+00:00")) for r in data["reminders"])
        return cls(**data)
