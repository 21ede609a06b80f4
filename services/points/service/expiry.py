"""Expiry of points earned long ago and not spent."""

from __future__ import annotations

from datetime import datetime, timedelta

from covenant.auth import Principal, authorize
from services.points.domain import expirable
from services.points.ingest import entry
from services.points.service.base import UseCase


class Expiry(UseCase):
    """Expiry entries for points earned long ago and not spent."""

    def expire(self, principal: Principal, as_of: datetime | None) -> tuple[int, int]:
        """Expiry entries for points earned before ``as_of - expiry_days`` and not spent since."""
        authorize(principal, "points.ledger.expire")
        # the expiry window and the version stamped on the entries, together
        packs = self.deps.rules.snapshot()
        days = int(self.deps.rules.parameter("expiry_days", default=0, packs=packs) or 0)
        if days <= 0:
            return 0, 0
        pack_id, pack_version = self.deps.rules.parameter_source("expiry_days", packs=packs)
        as_of = as_of or self.deps.clock()
        cutoff = as_of - timedelta(days=days)
        source = f"expiry:{cutoff.date().isoformat()}"
        with self.deps.stores() as store:
            balances = store.balances()
            entries = []
            for r in store.expiry_figures(cutoff, source):
                if r["done"]:
                    continue
                earned, spent, expired = (int(r[k] or 0) for k in ("earned", "spent", "expired"))
                n = expirable(earned, spent, expired, balances.get(r["employee_id"], 0))
                if n:
                    entries.append(
                        entry(
                            employee_id=r["employee_id"],
                            org_unit=r["org_unit"],
                            points=-n,
                            kind="expiry",
                            reason=f"points earned before {cutoff.date()} expire after {days} days",
                            source_event_id=source,
                            rule_id="expiry",
                            pack_id=pack_id,
                            pack_version=pack_version,
                            occurred_at=as_of,
                        )
                    )
            store.write(entries, self.deps.clock())
            return len(entries), -sum(e["points"] for e in entries)
