"""Scorecard versions: creating the next version of a scorecard, listing them, seeding the examples on
first start, and which version scores an employee."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from covenant.auth import Principal, authorize
from covenant.errors import InvalidArgument
from services.scoring.domain.scorecard import Kpi, Scorecard
from services.scoring.ports import ScoringStore, Stores


def card_to_json(card: Scorecard) -> str:
    return json.dumps(
        {
            "formula": card.formula,
            "kpis": [
                {
                    "id": k.id,
                    "label": k.label,
                    "weight": str(k.weight),
                    "direction": k.direction,
                    "normalisation": k.normalisation,
                    "target": None if k.target is None else str(k.target),
                    "floor": str(k.floor),
                    "cap": str(k.cap),
                    "unit": k.unit,
                }
                for k in card.kpis
            ],
            "defaults": {},
        }
    )


def card_from_row(row: Any) -> tuple[Scorecard, dict[str, Decimal]]:
    body = json.loads(row.body_json)
    kpis = tuple(
        Kpi(
            id=k["id"],
            label=k["label"],
            weight=Decimal(k["weight"]),
            direction=k["direction"],
            normalisation=k["normalisation"],
            target=None if k.get("target") is None else Decimal(k["target"]),
            floor=Decimal(k.get("floor", "0")),
            cap=Decimal(k.get("cap", "1")),
            unit=k.get("unit", ""),
        )
        for k in body["kpis"]
    )
    card = Scorecard(
        row.id, row.version, row.role, kpis, row.effective_from, row.org_unit_prefix, body["formula"]
    )
    return card, {k: Decimal(v) for k, v in body.get("defaults", {}).items()}


def pick_card(rows: Sequence[Any], org_unit: str) -> Any:
    """Of a role's versions in force, the one for ``org_unit``: the longest matching org-unit prefix, then
    the latest effective date, then the highest version (None when nothing matches)."""
    candidates = [
        r
        for r in rows
        if not r.org_unit_prefix
        or org_unit == r.org_unit_prefix
        or org_unit.startswith(r.org_unit_prefix.rstrip("/") + "/")
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (len(r.org_unit_prefix), r.effective_from, r.version))


@dataclass
class Scorecards:
    stores: Stores
    clock: Callable[[], datetime]

    def create(
        self, principal: Principal, card: Scorecard, defaults: dict[str, Decimal] | None = None
    ) -> Scorecard:
        authorize(principal, "scoring.scorecards.write")
        if not card.id:
            raise InvalidArgument("is required", field="scorecard.id")
        if not card.role:
            raise InvalidArgument("is required", field="scorecard.role")
        card.validate()
        with self.stores() as store:
            return self.insert(store, card, defaults or {}, principal.subject)

    def insert(
        self, store: ScoringStore, card: Scorecard, defaults: dict[str, Decimal], actor: str
    ) -> Scorecard:
        """Add ``card`` as the next version of its scorecard, with its audit entry."""
        version = (store.latest_card_version(card.id) or 0) + 1
        body = json.loads(card_to_json(card))
        body["defaults"] = {k: str(v) for k, v in defaults.items()}
        store.add_card(
            {
                "id": card.id,
                "version": version,
                "role": card.role,
                "org_unit_prefix": card.org_unit_prefix,
                "effective_from": card.effective_from,
                "body_json": json.dumps(body),
                "created_by": actor,
                "created_at": self.clock(),
            }
        )
        store.audit(
            actor=actor,
            action="scorecard.version_created",
            subject=f"scorecards/{card.id}/versions/{version}",
            data={
                "role": card.role,
                "effective_from": card.effective_from.isoformat(),
                "weights": {k.id: str(k.weight) for k in card.kpis},
            },
        )
        return Scorecard(
            card.id, version, card.role, card.kpis, card.effective_from, card.org_unit_prefix, card.formula
        )

    def list(self, principal: Principal, role: str) -> list[tuple[Scorecard, dict[str, Decimal]]]:
        authorize(principal, "scoring.scorecards.read")
        with self.stores() as store:
            return [card_from_row(r) for r in store.cards_of(role)]

    def seed(self, cards: Iterable[tuple[Scorecard, dict[str, Decimal]]]) -> int:
        """Insert example scorecards when there are none yet (first start)."""
        with self.stores() as store:
            if store.has_cards():
                return 0
            n = 0
            for card, defaults in cards:
                card.validate()
                self.insert(store, card, defaults, "system:default-scorecards")
                n += 1
            return n
