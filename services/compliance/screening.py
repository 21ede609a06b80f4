"""Screening: names against the watchlists (an in-memory index every replica keeps current), and the
watchlist matches of client contacts, kept with their explanation."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from covenant.auth import Principal, authorize, scope_filter
from covenant.errors import InvalidArgument
from covenant.timestamps import as_utc as _utc
from services.compliance.context import Context
from services.compliance.domain.screening import Match, Watchlists
from services.compliance.ports import ComplianceStore, HitFilter

WATCHLIST_SKEW = timedelta(minutes=5)  # replicas' clocks and in-flight loads
SCREENING_STATUSES = ("OPEN",)  # a stored hit is open; clearing hits is not built yet


class Screening:
    """Watchlists (loaded, kept in memory per replica), name screening and contacts' watchlist matches."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._watchlists: Watchlists | None = None
        self._watch_ids: set[str] = set()
        self._watch_seen_at: datetime | None = None
        self._lock = threading.Lock()

    def watchlists(self) -> Watchlists:
        """The in-memory index of all entries; entries loaded since (by any replica) are added on the next
        look (a count per call tells whether anything is new)."""
        with self._lock, self.ctx.stores() as store:
            total = store.watchlist_count()
            lists = self._watchlists
            if lists is not None and len(lists) == total:
                return lists
            since = None
            if lists is not None and self._watch_seen_at is not None:
                since = self._watch_seen_at - WATCHLIST_SKEW
            rows = store.watchlist_entries(since)
            if lists is None:
                lists, self._watch_ids = Watchlists(), set()
            for r in rows:
                if r.id not in self._watch_ids:
                    self._watch_ids.add(r.id)
                    lists.add(r.id, r.list_name, r.name)
                if r.loaded_at is not None:
                    at = _utc(r.loaded_at)
                    self._watch_seen_at = max(self._watch_seen_at or at, at)
            if len(lists) != total:  # rows without a usable load time: rebuild once
                self._watchlists, self._watch_seen_at = None, None
                rows = store.watchlist_entries()
                lists = Watchlists((r.id, r.list_name, r.name) for r in rows)
                self._watch_ids = {r.id for r in rows}
            self._watchlists = lists
            return lists

    def load_watchlist(
        self, principal: Principal, entries: Sequence[tuple[str, str, str]]
    ) -> tuple[int, int]:
        """Add entries (validated whole; ids already loaded are skipped). Returns (added, total)."""
        authorize(principal, "compliance.watchlists.write")
        if not entries:
            raise InvalidArgument("at least one entry is required", field="entries")
        for i, (eid, list_name, name) in enumerate(entries):
            for field, value in (("id", eid), ("list_name", list_name), ("name", name.strip())):
                if not value:
                    raise InvalidArgument("is required", field=f"entries[{i}].{field}")
        with self.ctx.stores() as store:
            existing = store.watchlist_ids([e[0] for e in entries])
            new, seen = [], set(existing)
            for eid, list_name, name in entries:
                if eid not in seen:
                    seen.add(eid)
                    new.append(
                        {
                            "id": eid,
                            "list_name": list_name,
                            "name": name.strip(),
                            "loaded_at": self.ctx.clock(),
                        }
                    )
            store.add_watchlist(new)
            total = store.watchlist_count()
            store.audit(
                actor=principal.subject,
                action="watchlist.loaded",
                subject="watchlists",
                data={"added": len(new), "lists": sorted({e["list_name"] for e in new})},
            )
        return len(new), total

    def match(self, name: str) -> list[Match]:
        """The watchlist matches of one name."""
        thresholds, default = self._thresholds()
        return self.watchlists().screen(name, thresholds, default)

    def _thresholds(self) -> tuple[dict[str, float], float]:
        packs = self.ctx.rules.snapshot()
        raw = self.ctx.rules.parameter("screening_thresholds", default={}, packs=packs) or {}
        return {k: float(v) for k, v in raw.items()}, float(
            self.ctx.rules.parameter("screening_default_threshold", default=85, packs=packs)
        )

    def screen(self, principal: Principal, names: Sequence[str]) -> list[list[Match]]:
        authorize(principal, "compliance.names.screen")
        if not names:
            raise InvalidArgument("at least one name is required", field="names")
        for i, n in enumerate(names):
            if not n.strip():
                raise InvalidArgument("is empty", field=f"names[{i}]")
        thresholds, default = self._thresholds()
        lists = self.watchlists()
        return [lists.screen(n, thresholds, default) for n in names]

    def classify_client(self, store: ComplianceStore, client_id: str, matches: Sequence[Match]) -> None:
        """A client whose name matched a watchlist is high-risk (the matches are the reason)."""
        reason = "; ".join(f"{m.list_name}:{m.entry_id}:{m.score}" for m in matches[:3])
        store.save_client_risk(
            client_id, {"high_risk": int(bool(matches)), "reason": reason, "updated_at": self.ctx.clock()}
        )

    def keep_hits(
        self,
        store: ComplianceStore,
        activity_id: str,
        employee_id: str,
        org_unit: str,
        client_id: str,
        client_name: str,
        at: datetime,
        matches: Sequence[Match],
    ) -> None:
        """Keep each watchlist match of a contact's client name, with its explanation (the features)."""
        for m in matches:
            store.add_screening_hit(
                dict(
                    activity_id=activity_id,
                    employee_id=employee_id,
                    org_unit=org_unit.rstrip("/"),
                    client_id=client_id,
                    client_name=client_name.strip(),
                    entry_id=m.entry_id,
                    list_name=m.list_name,
                    listed_name=m.listed_name,
                    score=float(m.score),
                    features=json.dumps(list(m.features), ensure_ascii=False),
                    status="OPEN",
                    at=at,
                )
            )

    def list_screening_hits(
        self,
        principal: Principal,
        *,
        org_unit: str = "",
        start_date: str = "",
        end_date: str = "",
        status: str = "",
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[Any]:
        """Up to ``limit`` stored screening hits the caller may read (scope applied in the query), newest
        first, optionally in an org-unit subtree, between two local dates (inclusive) and in one status."""
        scope = scope_filter(principal, "compliance.screening.read")
        if status and status not in SCREENING_STATUSES:
            raise InvalidArgument(f"must be one of {', '.join(SCREENING_STATUSES)}", field="status")
        days = {}
        for name, value in (("start_date", start_date), ("end_date", end_date)):
            if value:
                try:
                    days[name] = date.fromisoformat(value)
                except ValueError:
                    raise InvalidArgument("must be a date YYYY-MM-DD", field=name) from None
        if len(days) == 2 and days["start_date"] > days["end_date"]:
            raise InvalidArgument("must not be after end_date", field="start_date")
        start = self.ctx.midnight(days["start_date"]) if "start_date" in days else None
        end = self.ctx.midnight(days["end_date"] + timedelta(days=1)) if "end_date" in days else None
        with self.ctx.stores() as store:
            where = HitFilter(org_unit, start, end, status, before_id)
            return store.screening_hits(scope, where, limit)
