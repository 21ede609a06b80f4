"""Writing ledger entries: the one place balances, period totals and outgoing events change.

``LedgerWriter.write`` locks the affected accounts in employee-id order (the same order in every
transaction, so concurrent writers queue instead of deadlocking), keeps every balance at or above zero,
appends the entries, folds earning entries into the period totals and queues one event per entry in the
outbox, all in the caller's transaction (the statements are repository functions of
``services.points.storage``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from covenant.db.bulk import pipeline
from covenant.db.outbox import Outbox, new_event
from covenant.errors import FailedPrecondition
from covenant.events.v1.event_pb2 import Event
from covenant.telemetry import metrics
from services.points import storage as t
from services.points.domain import EARNING_KINDS, TOTAL_PERIODS, key_for_date, local_date, reversal_amount

EVENT_TYPES = {
    "award": "points.awarded",
    "team_goal": "points.awarded",
    "reversal": "points.reversed",
    "adjustment": "points.adjusted",
    "redemption": "points.redeemed",
    "refund": "points.refunded",
    "expiry": "points.expired",
}
# The string fields of an outbox event's data (plus "points" and "entry_id", numbers).
_DATA_STR = ("employee_id", "kind", "reason", "source_event_id", "rule_id", "pack_id", "pack_version")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ledger columns an entry carries before it is written (id and created_at are added by ``write``).
LEDGER_COLS = (
    "employee_id",
    "org_unit",
    "points",
    "kind",
    "reason",
    "source_event_id",
    "rule_id",
    "pack_id",
    "pack_version",
    "occurred_at",
)


@lru_cache(maxsize=1024)
def _total_keys(d: date) -> tuple[str, ...]:
    """The keys of the total periods containing local date ``d``."""
    return tuple(key_for_date(kind, d) for kind in TOTAL_PERIODS)


def uuid4s(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as strings, like ``str(uuid.uuid4())``, from one ``os.urandom`` call."""
    raw = os.urandom(16 * n)
    return [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 16 * n, 16)]


def settle(entries: Sequence[dict[str, Any]], balances: dict[str, int]) -> None:
    """Apply ``entries`` one by one to ``balances`` (employee -> balance, every one present): a reversal
    takes back at most the balance (the entry is trimmed and says so); anything else going below zero
    raises FAILED_PRECONDITION."""
    for e in entries:
        bal = balances[e["employee_id"]]
        if e["kind"] == "reversal" and e["points"] < 0:
            take = reversal_amount(-e["points"], bal)
            if take < -e["points"]:
                e["reason"] += f" ({-e['points'] - take} of {-e['points']} already spent)"
                e["points"] = -take
        elif bal + e["points"] < 0:
            raise FailedPrecondition(
                f"balance of employees/{e['employee_id']} would go below zero ({bal} {e['points']:+d})"
            )
        balances[e["employee_id"]] = bal + e["points"]


class LedgerWriter:
    def __init__(self, outbox: Outbox, tz: str) -> None:
        self.outbox = outbox
        self.tz = tz

    def write(self, session: Session, entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Append ``entries`` (ledger columns without id/created_at); returns them with ids.

        A reversal takes back at most the current balance (what was already spent stays spent, and the
        entry's reason says so); any other entry that would take a balance below zero fails the whole
        unit of work with FAILED_PRECONDITION.
        """
        if not entries:
            return []
        ids = t.next_entry_ids(session, len(entries))
        # The statements below need no rows back (but a debit's account locks): on PostgreSQL they are
        # queued while Python computes the next one, and any error still fails the whole unit of work.
        # Accounts come first (the lock order every writer follows), then the period totals, the costliest
        # statement, so that it runs while Python prepares the ledger rows and the outbox envelopes.
        with pipeline(session):
            if all(e["points"] >= 0 for e in entries):
                self._credit(session, entries)
            else:
                self._debit(session, entries)
            self._fold_totals(session, entries)
            if ids is not None:
                for e, entry_id in zip(entries, ids, strict=True):
                    e["id"] = entry_id
                t.insert_entries(session, {c: [e[c] for e in entries] for c in ("id", *LEDGER_COLS)}, now)
            else:
                got = t.insert_entries(session, {c: [e[c] for e in entries] for c in LEDGER_COLS}, now)
                for e, entry_id in zip(entries, got, strict=True):
                    e["id"] = entry_id
            for e in entries:
                e["created_at"] = now
            self.outbox.add_many(session, self._events(entries))
        for kind in sorted({e["kind"] for e in entries}):  # credits only: a counter never goes down
            points = sum(e["points"] for e in entries if e["kind"] == kind and e["points"] > 0)
            metrics.add_on_commit(session, metrics.POINTS_AWARDED, points, {"kind": kind})
        return entries

    def _credit(self, session: Session, entries: Sequence[dict[str, Any]]) -> None:
        """Add entries that only credit (no balance can go below zero) to the accounts in one upsert; its row
        locks are taken in employee-id order, as ``lock_accounts`` takes them."""
        acc: dict[str, list[Any]] = {}
        for e in entries:
            row = acc.get(e["employee_id"])
            if row is None:
                acc[e["employee_id"]] = [e["org_unit"], e["points"]]
            else:
                row[1] += e["points"]
        t.credit_accounts(
            session, [{"employee_id": k, "org_unit": v[0], "balance": v[1]} for k, v in sorted(acc.items())]
        )

    def _debit(self, session: Session, entries: Sequence[dict[str, Any]]) -> None:
        """Lock the accounts, apply the entries one by one (reversals take back at most the balance, anything
        else going below zero fails), store the new balances."""
        owners: dict[str, str] = {}
        for e in entries:
            owners.setdefault(e["employee_id"], e["org_unit"])
        balances = t.lock_accounts(session, owners)
        start = dict(balances)
        settle(entries, balances)
        t.set_balances(session, {k: v for k, v in balances.items() if v != start[k]})

    def _fold_totals(self, session: Session, entries: Sequence[dict[str, Any]]) -> None:
        acc: dict[tuple[str, str], list[Any]] = {}
        for e in entries:
            if e["kind"] not in EARNING_KINDS or not e["points"]:
                continue
            for period in _total_keys(local_date(e["occurred_at"], self.tz)):
                key = (period, e["employee_id"])
                row = acc.get(key)
                if row is None:
                    acc[key] = [e["org_unit"], e["points"], e["occurred_at"]]
                else:
                    row[0] = e["org_unit"]
                    row[1] += e["points"]
                    row[2] = max(row[2], e["occurred_at"])
        if not acc:
            return
        keys = sorted(acc)
        cols = {
            "period": [k[0] for k in keys],
            "employee_id": [k[1] for k in keys],
            "org_unit": [acc[k][0] for k in keys],
            "points": [acc[k][1] for k in keys],
            "reached_at": [acc[k][2] for k in keys],
        }
        t.add_period_totals(session, cols)

    def _events(self, entries: Sequence[dict[str, Any]]) -> list[Event]:
        """One outbox envelope per entry that moved points: what ``new_event`` builds, field for field (data
        numbers as doubles), with the trace context looked up once per batch instead of once per entry."""
        ctx = new_event("points.awarded", source="points")  # the active span's trace context
        moved = [e for e in entries if e["points"]]
        out: list[Event] = []
        for e, event_id in zip(moved, uuid4s(len(moved)), strict=True):
            ev = Event(
                id=event_id,
                type=EVENT_TYPES[e["kind"]],
                subject=f"employees/{e['employee_id']}",
                org_unit=e["org_unit"],
                source="points",
                idempotency_key=f"points.ledger:{e['id']}",
                traceparent=ctx.traceparent,
                tracestate=ctx.tracestate,
            )
            at = e["occurred_at"]
            delta = (at if at.tzinfo else at.astimezone(UTC)) - _EPOCH
            ev.occurred_at.seconds = delta.days * 86400 + delta.seconds
            ev.occurred_at.nanos = delta.microseconds * 1000
            data = ev.data.fields
            for key in _DATA_STR:
                data[key].string_value = e[key]
            data["points"].number_value = e["points"]
            data["entry_id"].number_value = e["id"]
            out.append(ev)
        return out
