"""A request id names one request: an adjustment (whose, how much, why, by whom), a redemption (whose,
which item) or a team goal (its name, unit, event type, target and pool). A retry answers the original; the
id sent with another request is INVALID_ARGUMENT naming ``request_id``, records nothing and tells nothing of
the request it names (real gRPC, SQLite and PostgreSQL; docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.points.v1 import points_pb2 as pb
from tests.integration.test_points_grpc import TEAM, stub, ts
from tests.support.directory import employee, publish_employees

OTHER = "/hq/luohu/team-02"


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("points", db_url=db_url, data_dir=tmp_path) as s:
        people = [employee(e, TEAM, "wealth_adviser", manager_id="L1") for e in ("E1", "E2")]
        people += [employee("E9", OTHER, "wealth_adviser", manager_id="L2")]
        people += [employee("L1", TEAM, "team_lead"), employee("L2", OTHER, "team_lead")]
        publish_employees(s, people)
        yield s


def refused(call: Callable[[], object], *told: str) -> None:
    """``call()`` fails INVALID_ARGUMENT naming ``request_id`` and mentions none of ``told``."""
    with pytest.raises(grpc.RpcError) as err:
        call()
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in details, details
    assert not [t for t in told if t in details], details


def lead(svc: RunningService, who: str, unit: str) -> list[tuple[str, str]]:
    perms = {"points.ledger.adjust": "team", "points.ledger.read": "team", "points.goals.manage": "team"}
    return bearer(svc.tokens.user(who, unit, perms))


def entries(svc: RunningService, emp: str) -> list[tuple[str, int]]:
    md = bearer(svc.tokens.user("HR", "/hq", {"points.ledger.read": "all"}))
    got = stub(svc).ListLedgerEntries(pb.ListLedgerEntriesRequest(employee_id=emp), metadata=md).entries
    return [(e.kind, e.points) for e in got]


def test_an_adjustment_id_reused_by_another_lead_or_for_another_adjustment(svc: RunningService) -> None:
    def adjust(who: str, unit: str, emp: str, points: int, reason: str = "seed") -> pb.LedgerEntry:
        req = pb.AdjustPointsRequest(employee_id=emp, points=points, reason=reason, request_id="adj-1")
        return stub(svc).AdjustPoints(req, metadata=lead(svc, who, unit))

    first = adjust("L1", TEAM, "E1", 100)
    refused(lambda: adjust("L2", OTHER, "E9", 100), "E1", "seed")  # another team's lead
    refused(lambda: adjust("L1", TEAM, "E2", 100))  # another rep
    refused(lambda: adjust("L1", TEAM, "E1", 500))  # another amount
    assert adjust("L1", TEAM, "E1", 100).id == first.id  # the retry
    assert (entries(svc, "E1"), entries(svc, "E2"), entries(svc, "E9")) == ([("adjustment", 100)], [], [])


def test_a_redemption_id_reused_by_another_rep_or_for_another_item(svc: RunningService) -> None:
    hr = bearer(svc.tokens.user("HR1", "/hq", {"points.rewards.manage": "all"}))
    for item in ("course", "book"):
        stub(svc).CreateRewardItem(
            pb.CreateRewardItemRequest(item=pb.RewardItem(id=item, name=item, cost=10, stock=5)), metadata=hr
        )
    for emp in ("E1", "E2"):
        req = pb.AdjustPointsRequest(employee_id=emp, points=50, reason="seed", request_id=f"seed-{emp}")
        stub(svc).AdjustPoints(req, metadata=lead(svc, "L1", TEAM))

    def redeem(emp: str, item: str) -> pb.Redemption:
        md = bearer(svc.tokens.user(emp, TEAM, {"points.rewards.redeem": "self"}))
        return stub(svc).RedeemReward(pb.RedeemRewardRequest(item_id=item, request_id="red-1"), metadata=md)

    first = redeem("E1", "course")
    refused(lambda: redeem("E2", "course"), first.id)  # E2 learnt E1's id
    refused(lambda: redeem("E1", "book"), first.id)  # E1's id on another item
    assert redeem("E1", "course").id == first.id
    assert entries(svc, "E2") == [("adjustment", 50)]  # nothing reserved for E2
    assert sorted(entries(svc, "E1")) == [("adjustment", 50), ("redemption", -10)]


def test_a_team_goal_id_reused_by_another_teams_lead(svc: RunningService) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def create(who: str, unit: str, name: str) -> pb.TeamGoal:
        goal = pb.TeamGoal(
            name=name,
            org_unit=unit,
            event_type="credit_card_issued",
            target=10,
            pool_points=100,
            start_time=ts(start),
            end_time=ts(start + timedelta(days=30)),
        )
        req = pb.CreateTeamGoalRequest(goal=goal, request_id="goal-1")
        return stub(svc).CreateTeamGoal(req, metadata=lead(svc, who, unit))

    first = create("L1", TEAM, "cards in November")
    refused(lambda: create("L2", OTHER, "cards in November"), first.id, TEAM)
    refused(lambda: create("L1", TEAM, "cards in December"), first.id)
    assert create("L1", TEAM, "cards in November").id == first.id
