"""The reward catalogue, redemptions and their lifecycle."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from covenant.auth import DataOwner, Principal, authorize, authorizing_lookup, forbid_self
from covenant.auth.directory import require_line
from covenant.db import idempotency
from covenant.db.outbox import new_event
from covenant.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.points.domain import REFUNDING, TOTAL_PERIODS, check_transition, eligible, period_key
from services.points.ingest import entry
from services.points.ports import PointsStore
from services.points.service.base import SOURCE, UseCase


class Rewards(UseCase):
    """The reward catalogue and redemptions: reserve, approve, fulfil, reject, cancel."""

    def create_item(self, principal: Principal, item: dict[str, Any]) -> dict[str, Any]:
        authorize(principal, "points.rewards.manage")
        if not item["id"]:
            raise InvalidArgument("is required", field="item.id")
        if item["cost"] <= 0:
            raise InvalidArgument("must be positive", field="item.cost")
        if item["stock"] < 0:
            raise InvalidArgument("must not be negative", field="item.stock")
        if item["per_person_limit"] < 0:
            raise InvalidArgument("must not be negative", field="item.per_person_limit")
        if not 0 <= item["eligible_top_percent"] <= 100:
            raise InvalidArgument("must be between 0 and 100", field="item.eligible_top_percent")
        if item["eligible_period"] not in TOTAL_PERIODS:
            raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="item.eligible_period")
        values = {**item, "name": item["name"] or item["id"]}
        with self.deps.stores() as store:
            if not store.add_reward_item(values):
                raise AlreadyExists(f"reward item {item['id']!r} already exists")
            store.audit(
                actor=principal.subject,
                action="points.reward_item_created",
                subject=f"reward-items/{item['id']}",
                data=values,
            )
        return values

    def items(self, principal: Principal, after: str, limit: int) -> list[Any]:
        authorize(principal, "points.rewards.read")
        with self.deps.stores() as store:
            return store.reward_items_after(after, limit)

    def redeem(
        self, principal: Principal, item_id: str, employee_id: str, org_unit: str, request_id: str
    ) -> Any:
        """Reserve the item's cost and one unit of stock (item row lock, then account row lock)."""
        if not item_id:
            raise InvalidArgument("is required", field="item_id")
        employee_id = employee_id or principal.employee_id
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        org_unit = self.deps.unit(employee_id, org_unit, principal)
        with self.deps.stores() as store:
            if self.deps.directory is None:  # the account's org unit before the request's
                account = store.account(employee_id)
                org_unit = (account[0] if account else "") or org_unit
            authorize(principal, "points.rewards.redeem", DataOwner(employee_id, org_unit))
            done = store.redemption_by_request(request_id) if request_id else None
            if done:
                if (done["employee_id"], done["item_id"]) != (employee_id, item_id):  # another redemption
                    raise idempotency.reused(what="redemption")
                return done
            item = store.reward_item(item_id, lock=True)
            if item is None:
                raise NotFound(f"reward item {item_id!r} not found")
            if item["stock"] <= 0:
                raise FailedPrecondition(f"reward item {item_id} is out of stock")
            if item["eligible_top_percent"]:
                key = period_key(item["eligible_period"], self.deps.clock(), self.deps.timezone)
                rank, population = store.period_rank(key, employee_id)
                if not eligible(rank, population, item["eligible_top_percent"]):
                    raise FailedPrecondition(
                        f"{item_id} is for the top {item['eligible_top_percent']}% of the "
                        f"{item['eligible_period']}; employees/{employee_id} is "
                        f"{'unranked' if not rank else f'#{rank} of {population}'}"
                    )
            if item["per_person_limit"]:
                taken = store.held_redemptions(item_id, employee_id, REFUNDING)
                if taken >= item["per_person_limit"]:
                    raise FailedPrecondition(
                        f"limit of {item['per_person_limit']} per person reached for {item_id}"
                    )
            rid = uuid.uuid4().hex
            now = self.deps.clock()
            _book(store, now, rid, employee_id, org_unit, -int(item["cost"]), f"reserved for {item['name']}")
            store.move_stock(item_id, -1)
            store.add_redemption(
                {
                    "id": rid,
                    "request_id": request_id or None,
                    "item_id": item_id,
                    "employee_id": employee_id,
                    "org_unit": org_unit,
                    "cost": item["cost"],
                    "state": "RESERVED",
                    "created_at": now,
                    "reason": "",
                }
            )
            return store.redemption(rid)

    def transition(self, principal: Principal, redemption_id: str, target: str, reason: str) -> Any:
        """approve / fulfil / reject / cancel; reject and cancel refund the points and the stock."""
        if not redemption_id:
            raise InvalidArgument("is required", field="redemption_id")
        if target == "REJECTED" and not reason.strip():
            raise InvalidArgument("a reason is required to reject", field="reason")
        # A caller who may approve finds it through that grant (a missing id answers as one outside its
        # scope); one who may not can only cancel their own, and any other id, found or not, is refused alike.
        approve = "points.rewards.approve"
        lookup = (
            authorizing_lookup(principal, approve, f"redemptions/{redemption_id}")
            if principal.scope_for(approve) is not None
            else nullcontext(None)
        )
        with lookup as check, self.deps.stores() as store:
            r = store.redemption(redemption_id, lock=True)
            mine = r is not None and target == "CANCELLED" and r["employee_id"] == principal.employee_id
            if check is None and not mine:
                raise PermissionDenied(approve)
            if r is None:
                raise NotFound(f"redemption {redemption_id} not found")
            employee_id, item_id = r["employee_id"], r["item_id"]
            owner = DataOwner(employee_id, r["org_unit"])
            if check is not None:
                check(owner)
            if mine:
                authorize(principal, "points.rewards.redeem", owner)
            else:
                authorize(principal, "points.rewards.approve", owner)
                forbid_self(
                    principal, employee_id, "points.rewards.approve", f"{target.lower()} their own redemption"
                )
                require_line(
                    self.deps.directory,
                    principal,
                    employee_id,
                    "points.rewards.approve",
                    f"{target.lower()} a redemption",
                )
            check_transition(r["state"], target)
            store.set_redemption_state(redemption_id, target, reason.strip())
            if target in REFUNDING:
                refund = f"{target.lower()}: {reason.strip() or item_id}"
                _book(
                    store,
                    self.deps.clock(),
                    redemption_id,
                    employee_id,
                    r["org_unit"],
                    int(r["cost"]),
                    refund,
                )
                store.move_stock(item_id, 1)
            store.audit(
                actor=principal.subject,
                action=f"points.redemption_{target.lower()}",
                subject=f"redemptions/{redemption_id}",
                data={"reason": reason.strip(), "item_id": item_id, "employee_id": employee_id},
            )
            store.emit(
                new_event(
                    f"points.redemption_{target.lower()}",
                    source=SOURCE,
                    subject=f"employees/{employee_id}",
                    org_unit=r["org_unit"],
                    data={"redemption_id": redemption_id, "item_id": item_id, "cost": int(r["cost"])},
                    idempotency_key=f"points.redemption:{redemption_id}:{target}",
                ),
            )
            return store.redemption(redemption_id)


def _book(
    store: PointsStore, now: datetime, rid: str, employee_id: str, org_unit: str, points: int, reason: str
) -> None:
    """The ledger entry of redemption ``rid``: its cost reserved (negative ``points``) or refunded."""
    row = entry(
        employee_id=employee_id,
        org_unit=org_unit,
        points=points,
        kind="redemption" if points < 0 else "refund",
        reason=reason,
        source_event_id=f"redemption:{rid}",
        rule_id="redemption",
        occurred_at=now,
    )
    store.write([row], now)
