"""Points through real gRPC and a real database: the worked example, idempotency, reversal, concurrent
redemptions, live rule changes and leaderboard ties."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.points.v1 import points_pb2 as pb
from covenant.points.v1 import points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
Q_START = datetime(2026, 7, 1, tzinfo=UTC)


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("points", db_url=db_url, data_dir=tmp_path) as s:
        people = (
            ["E1", "E2", "ME", "A", "B", "C", "D"]
            + [f"R{i:02d}" for i in range(20)]
            + [f"P{i:02d}" for i in range(40)]
        )
        publish_employees(
            s, [employee(e, TEAM, "wealth_adviser", manager_id="L1") for e in people]
        )  # as identity does
        yield s


def stub(svc: RunningService) -> points_pb2_grpc.PointsServiceStub:
    return points_pb2_grpc.PointsServiceStub(svc.channel)


def system(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(svc.tokens.service("crm", {"points.events.write": "all", "points.ledger.adjust": "all"}))


def event(
    eid: str, etype: str, employee: str = "E1", at: datetime | None = None, **data: str
) -> pb.BusinessEvent:
    e = pb.BusinessEvent(
        id=eid, type=etype, employee_id=employee, org_unit=TEAM, occurred_at=ts(at or datetime.now(UTC))
    )
    e.data.update(data)
    return e


def balance(svc: RunningService, employee: str = "E1") -> int:
    md = bearer(svc.tokens.user(employee, TEAM, {"points.ledger.read": "self"}))
    return stub(svc).GetBalance(pb.GetBalanceRequest(employee_id=employee), metadata=md).balance


def test_worked_example_440_points_each_entry_explained(svc: RunningService) -> None:
    events = [event(f"loan-{i}", "loan_completed", at=Q_START + timedelta(days=i)) for i in range(5)]
    events += [event(f"wp-{i}", "wealth_product_sold", at=Q_START + timedelta(days=10 + i)) for i in range(3)]
    events += [
        event(f"fu-{i}", "follow_up_visit", at=Q_START + timedelta(days=20 + i), feedback="good")
        for i in range(20)
    ]
    events += [event("q4-clean", "quarter_clean", at=Q_START + timedelta(days=88))]
    resp = stub(svc).RecordEvents(pb.RecordEventsRequest(events=events), metadata=system(svc))
    assert (resp.applied, resp.points_awarded) == (29, 440)
    assert balance(svc) == 440
    md = bearer(svc.tokens.user("E1", TEAM, {"points.ledger.read": "self"}))
    entries = (
        stub(svc)
        .ListLedgerEntries(pb.ListLedgerEntriesRequest(employee_id="E1", page_size=100), metadata=md)
        .entries
    )
    by_rule: dict[str, int] = {}
    for e in entries:
        assert e.rule_id and e.pack_id == "points-awards" and e.pack_version == "2026.12.1"
        assert e.kind == "award" and e.reason and e.source_event_id
        by_rule[e.rule_id] = by_rule.get(e.rule_id, 0) + e.points
    assert by_rule == {
        "loan-completed": 100,
        "wealth-product-sold": 90,
        "follow-up-visit": 200,
        "quarter-clean": 50,
    }


def test_same_event_twice_and_concurrently_pays_once(svc: RunningService) -> None:
    e = event("dup-1", "loan_completed")
    first = stub(svc).RecordEvent(pb.RecordEventRequest(event=e), metadata=system(svc))
    again = stub(svc).RecordEvent(pb.RecordEventRequest(event=e), metadata=system(svc))
    assert (
        first.applied_now
        and not again.applied_now
        and [x.id for x in again.entries] == [x.id for x in first.entries]
    )
    results: list[bool] = []
    burst = event("dup-2", "wealth_product_sold")

    def send() -> None:
        results.append(
            stub(svc).RecordEvent(pb.RecordEventRequest(event=burst), metadata=system(svc)).applied_now
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [False] * 7 + [True]
    assert balance(svc) == 50


def test_reversal_restores_the_balance(svc: RunningService) -> None:
    stub(svc).RecordEvent(
        pb.RecordEventRequest(event=event("loan-x", "loan_completed")), metadata=system(svc)
    )
    stub(svc).RecordEvent(
        pb.RecordEventRequest(event=event("wp-x", "wealth_product_sold")), metadata=system(svc)
    )
    assert balance(svc) == 50
    cancel = event("cancel-x", "loan_cancelled", original_event_id="loan-x")
    stub(svc).RecordEvent(pb.RecordEventRequest(event=cancel), metadata=system(svc))
    assert balance(svc) == 30
    rep = bearer(svc.tokens.user("E1", TEAM, {"points.ledger.read": "self"}))
    with pytest.raises(grpc.RpcError) as err:  # reps cannot reverse or adjust
        stub(svc).ReverseEvent(pb.ReverseEventRequest(source_event_id="wp-x", reason="x"), metadata=rep)
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "points.ledger.adjust" in err.value.details()
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).AdjustPoints(
            pb.AdjustPointsRequest(employee_id="E1", org_unit=TEAM, points=5, reason=""), metadata=system(svc)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in err.value.details()


def test_twenty_concurrent_redemptions_of_stock_five(svc: RunningService) -> None:
    hr = bearer(svc.tokens.user("HR1", "/hq", {"points.rewards.manage": "all"}))
    stub(svc).CreateRewardItem(
        pb.CreateRewardItemRequest(item=pb.RewardItem(id="day-off", name="paid day off", cost=100, stock=5)),
        metadata=hr,
    )
    for i in range(20):
        emp = f"R{i:02d}"
        stub(svc).AdjustPoints(
            pb.AdjustPointsRequest(
                employee_id=emp, org_unit=TEAM, points=150, reason="seed", request_id=f"seed-{i}"
            ),
            metadata=system(svc),
        )
    outcomes: list[str] = []

    def redeem(i: int) -> None:
        emp = f"R{i:02d}"
        md = bearer(svc.tokens.user(emp, TEAM, {"points.rewards.redeem": "self"}))
        try:
            stub(svc).RedeemReward(
                pb.RedeemRewardRequest(item_id="day-off", employee_id=emp, org_unit=TEAM), metadata=md
            )
            outcomes.append("ok")
        except grpc.RpcError as exc:
            outcomes.append(exc.code().name)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count("ok") == 5 and outcomes.count("FAILED_PRECONDITION") == 15
    balances = sorted(balance(svc, f"R{i:02d}") for i in range(20))
    assert balances == [50] * 5 + [150] * 15 and min(balances) >= 0
    items = stub(svc).ListRewardItems(pb.ListRewardItemsRequest(), metadata=bearer(svc.tokens.admin())).items
    assert items[0].stock == 0


def test_changed_award_applies_to_new_events_without_restart(svc: RunningService) -> None:
    stub(svc).RecordEvent(pb.RecordEventRequest(event=event("l1", "loan_completed")), metadata=system(svc))
    pack = (Path(__file__).resolve().parents[2] / "rules" / "points" / "awards.yaml").read_text()
    changed = (
        pack.replace('version: "2026.12.1"', 'version: "2026.12.2"')
        .replace(
            "params: {points: 20, reason: quality loan completed}",
            "params: {points: 25, reason: quality loan completed}",
        )
        .replace(
            "{rule: loan-completed, action: award, params: {points: 20}}",
            "{rule: loan-completed, action: award, params: {points: 25}}",
        )
    )
    owner = bearer(svc.tokens.user("C1", "/hq", {"rules.*.publish": "all", "rules.*.activate": "all"}))
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=changed, activate=True), metadata=owner)
    resp = stub(svc).RecordEvent(
        pb.RecordEventRequest(event=event("l2", "loan_completed")), metadata=system(svc)
    )
    assert [(e.points, e.pack_version) for e in resp.entries] == [(25, "2026.12.2")]
    assert balance(svc) == 45


def test_leaderboard_tie_ranks_the_earlier_achiever_first(svc: RunningService) -> None:
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    stub(svc).RecordEvents(
        pb.RecordEventsRequest(
            events=[
                event("a1", "loan_completed", "A", t0 + timedelta(hours=5)),
                event("b1", "loan_completed", "B", t0 + timedelta(hours=1)),
                event("c1", "wealth_product_sold", "C", t0 + timedelta(hours=2)),
            ]
        ),
        metadata=system(svc),
    )
    md = bearer(svc.tokens.user("A", TEAM, {"points.leaderboards.read": "team"}))
    board = stub(svc).GetLeaderboard(
        pb.GetLeaderboardRequest(start_time=ts(t0), end_time=ts(t0 + timedelta(days=7)), top=10), metadata=md
    )
    assert [(r.rank, r.employee_id, r.points) for r in board.rows] == [
        (1, "C", 30),
        (2, "B", 20),
        (3, "A", 20),
    ]
    assert (board.my_rank, board.my_points, board.gap_to_next) == (3, 20, 0)


def test_twenty_redemptions_then_exactly_five_fulfilments_and_refunds(svc: RunningService) -> None:
    hr = bearer(
        svc.tokens.user(
            "HR1",
            "/hq",
            {"points.rewards.manage": "all", "points.rewards.approve": "all", "points.rewards.read": "all"},
        )
    )
    stub(svc).CreateRewardItem(
        pb.CreateRewardItemRequest(item=pb.RewardItem(id="course", name="training", cost=40, stock=5)),
        metadata=hr,
    )
    stub(svc).AdjustPoints(
        pb.AdjustPointsRequest(employee_id="E1", org_unit=TEAM, points=100, reason="seed", request_id="s1"),
        metadata=system(svc),
    )
    rep = bearer(svc.tokens.user("E1", TEAM, {"points.rewards.redeem": "self", "points.ledger.read": "self"}))
    made: list[pb.Redemption] = []
    codes: list[str] = []

    def redeem(i: int) -> None:
        try:
            made.append(
                stub(svc).RedeemReward(
                    pb.RedeemRewardRequest(item_id="course", request_id=f"r{i}"), metadata=rep
                )
            )
        except grpc.RpcError as exc:
            codes.append(exc.code().name)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # one person with 100 points can afford only two 40-point items: the balance never goes below zero
    assert len(made) == 2 and codes.count("FAILED_PRECONDITION") == 18
    assert balance(svc) == 20
    first, second = made
    stub(svc).ApproveRedemption(pb.RedemptionActionRequest(redemption_id=first.id), metadata=hr)
    done = stub(svc).FulfilRedemption(pb.RedemptionActionRequest(redemption_id=first.id), metadata=hr)
    assert done.state == "FULFILLED"
    cancelled = stub(svc).CancelRedemption(pb.RedemptionActionRequest(redemption_id=second.id), metadata=rep)
    assert cancelled.state == "CANCELLED" and balance(svc) == 60
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CancelRedemption(pb.RedemptionActionRequest(redemption_id=first.id), metadata=hr)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    items = stub(svc).ListRewardItems(pb.ListRewardItemsRequest(), metadata=hr).items
    assert items[0].stock == 4
    kinds = [
        (e.kind, e.points)
        for e in stub(svc)
        .ListLedgerEntries(pb.ListLedgerEntriesRequest(employee_id="E1"), metadata=rep)
        .entries
    ]
    assert kinds == [("adjustment", 100), ("redemption", -40), ("redemption", -40), ("refund", 40)]


def test_fulfil_exactly_five_of_twenty_concurrent(svc: RunningService) -> None:
    hr = bearer(
        svc.tokens.user("HR1", "/hq", {"points.rewards.manage": "all", "points.rewards.approve": "all"})
    )
    stub(svc).CreateRewardItem(
        pb.CreateRewardItemRequest(item=pb.RewardItem(id="bonus", name="cash bonus", cost=1000, stock=5)),
        metadata=hr,
    )
    for i in range(20):
        stub(svc).AdjustPoints(
            pb.AdjustPointsRequest(
                employee_id=f"R{i:02d}", org_unit=TEAM, points=1000, reason="seed", request_id=f"seed-{i}"
            ),
            metadata=system(svc),
        )
    made: list[str] = []

    def redeem(i: int) -> None:
        md = bearer(svc.tokens.user(f"R{i:02d}", TEAM, {"points.rewards.redeem": "self"}))
        try:
            made.append(stub(svc).RedeemReward(pb.RedeemRewardRequest(item_id="bonus"), metadata=md).id)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    fulfilled = 0
    for rid in made:
        stub(svc).ApproveRedemption(pb.RedemptionActionRequest(redemption_id=rid), metadata=hr)
        fulfilled += (
            stub(svc).FulfilRedemption(pb.RedemptionActionRequest(redemption_id=rid), metadata=hr).state
            == "FULFILLED"
        )
    assert fulfilled == 5
    balances = sorted(balance(svc, f"R{i:02d}") for i in range(20))
    assert balances == [0] * 5 + [1000] * 15


def test_batch_validation_rejects_whole_batch_and_counts_in_batch_duplicates(svc: RunningService) -> None:
    bad = [event("ok-1", "loan_completed"), event("", "loan_completed")]
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).RecordEvents(pb.RecordEventsRequest(events=bad), metadata=system(svc))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "events[1].id" in err.value.details()
    assert balance(svc) == 0
    resp = stub(svc).RecordEvents(
        pb.RecordEventsRequest(
            events=[event("b-1", "loan_completed"), event("b-1", "loan_completed"), event("b-2", "coffee")]
        ),
        metadata=system(svc),
    )
    assert (resp.applied, resp.duplicates, resp.points_awarded) == (2, 1, 20)


def test_daily_cap_and_amount_band_and_team_split(svc: RunningService) -> None:
    day = datetime(2026, 9, 1, 2, tzinfo=UTC)
    visits = [
        event(f"v{i}", "follow_up_visit", at=day + timedelta(minutes=i), feedback="good") for i in range(8)
    ]
    big = event("big", "loan_completed", at=day)
    big.data.update({"amount": 2_000_000})
    sale = event("ts1", "team_sale", at=day)
    sale.data.update({"points": 100, "contributors": {"E1": 2, "E2": 1}})
    resp = stub(svc).RecordEvents(pb.RecordEventsRequest(events=[*visits, big, sale]), metadata=system(svc))
    # 6 visits reach the 60/day cap; the loan pays 20 + 10 band bonus; E1 gets 67 of the 100 shared
    assert resp.points_awarded == 60 + 30 + 100
    assert balance(svc, "E1") == 60 + 30 + 67 and balance(svc, "E2") == 33
    nxt = event("v-next", "follow_up_visit", at=day + timedelta(days=1), feedback="good")
    assert (
        stub(svc).RecordEvent(pb.RecordEventRequest(event=nxt), metadata=system(svc)).entries[0].points == 10
    )


def test_manual_reversal_is_audited_and_only_once(svc: RunningService) -> None:
    stub(svc).RecordEvent(
        pb.RecordEventRequest(event=event("w1", "wealth_product_sold")), metadata=system(svc)
    )
    lead = bearer(svc.tokens.user("L1", TEAM, {"points.ledger.adjust": "team"}))
    rev = stub(svc).ReverseEvent(
        pb.ReverseEventRequest(source_event_id="w1", reason="mis-sold"), metadata=lead
    )
    assert [(e.kind, e.points, e.rule_id) for e in rev.entries] == [("reversal", -30, "wealth-product-sold")]
    assert balance(svc) == 0
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ReverseEvent(pb.ReverseEventRequest(source_event_id="w1", reason="again"), metadata=lead)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    other = bearer(svc.tokens.user("L2", "/hq/other", {"points.ledger.adjust": "team"}))
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).AdjustPoints(
            pb.AdjustPointsRequest(employee_id="E1", org_unit=TEAM, points=5, reason="x"), metadata=other
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_team_goal_pool_split_by_contribution(svc: RunningService) -> None:
    lead = bearer(svc.tokens.user("L1", TEAM, {"points.goals.manage": "team", "points.goals.read": "team"}))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    goal = stub(svc).CreateTeamGoal(
        pb.CreateTeamGoalRequest(
            goal=pb.TeamGoal(
                name="cards in November",
                org_unit=TEAM,
                event_type="credit_card_issued",
                target=10,
                pool_points=100,
                start_time=ts(start),
                end_time=ts(start + timedelta(days=30)),
            ),
            request_id="g1",
        ),
        metadata=lead,
    )
    cards = [event(f"c{i}", "credit_card_issued", "A", start + timedelta(hours=i)) for i in range(6)]
    cards += [event(f"d{i}", "credit_card_issued", "B", start + timedelta(hours=i)) for i in range(3)]
    stub(svc).RecordEvents(pb.RecordEventsRequest(events=cards), metadata=system(svc))
    assert stub(svc).GetTeamGoal(pb.GetTeamGoalRequest(id=goal.id), metadata=lead).state == "OPEN"
    last = event("e0", "credit_card_issued", "C", start + timedelta(days=2))
    paid = stub(svc).RecordEvent(pb.RecordEventRequest(event=last), metadata=system(svc)).entries
    assert sorted((e.employee_id, e.points, e.kind) for e in paid) == [
        ("A", 60, "team_goal"),
        ("B", 30, "team_goal"),
        ("C", 10, "team_goal"),
    ]
    got = stub(svc).GetTeamGoal(pb.GetTeamGoalRequest(id=goal.id), metadata=lead)
    assert got.state == "ACHIEVED" and got.progress == 10
    assert got.shares[0].explanation == "6 of 10 = 60.00% of a 100-point pool → 60 points"


def test_period_leaderboard_my_rank_nudges_and_eligibility(svc: RunningService) -> None:
    now = datetime.now(UTC)
    evs = [
        event(f"p{i}", "wealth_product_sold", f"P{i:02d}", now - timedelta(seconds=60 - i)) for i in range(12)
    ]
    evs += [event("me-1", "loan_completed", "ME", now - timedelta(seconds=30))]
    stub(svc).RecordEvents(pb.RecordEventsRequest(events=evs), metadata=system(svc))
    md = bearer(
        svc.tokens.user("ME", TEAM, {"points.leaderboards.read": "team", "points.rewards.redeem": "self"})
    )
    board = stub(svc).GetLeaderboard(
        pb.GetLeaderboardRequest(period=pb.QUARTER, scope=pb.TEAM, top=3), metadata=md
    )
    assert [r.employee_id for r in board.rows] == ["P00", "P01", "P02"]
    assert (board.my_rank, board.my_points, board.gap_to_next) == (13, 20, 10)
    hr = bearer(svc.tokens.user("HR1", "/hq", {"points.rewards.manage": "all"}))
    stub(svc).CreateRewardItem(
        pb.CreateRewardItemRequest(
            item=pb.RewardItem(
                id="vip",
                name="priority clients",
                cost=10,
                stock=9,
                eligible_top_percent=10,
                eligible_period=pb.QUARTER,
            )
        ),
        metadata=hr,
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).RedeemReward(pb.RedeemRewardRequest(item_id="vip"), metadata=md)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "top 10%" in err.value.details()
    top = bearer(svc.tokens.user("P00", TEAM, {"points.rewards.redeem": "self"}))
    assert stub(svc).RedeemReward(pb.RedeemRewardRequest(item_id="vip"), metadata=top).state == "RESERVED"
    stub(svc).SetPersonalGoal(pb.SetPersonalGoalRequest(period=pb.WEEK, target=30), metadata=md)
    sched = bearer(svc.tokens.service("scheduler", {"points.nudges.send": "all"}))
    sent = stub(svc).SendNudges(pb.SendNudgesRequest(), metadata=sched)
    assert sent.sent == 13 and stub(svc).SendNudges(pb.SendNudgesRequest(), metadata=sched).skipped == 13


def test_a_shared_award_books_each_recipient_under_their_own_unit_and_reversing_needs_authority_over_all(
    svc: RunningService,
) -> None:
    other = "/hq/luohu/team-07"
    publish_employees(svc, [employee("X9", other, "wealth_adviser", manager_id="L7")])
    sale = event("ts-x", "team_sale")  # E1's event (TEAM), shared with X9 of another team
    sale.data.update({"points": 90, "contributors": {"E1": 1, "X9": 2}})
    rec = stub(svc).RecordEvent(pb.RecordEventRequest(event=sale), metadata=system(svc))
    assert sorted((e.employee_id, e.org_unit, e.points) for e in rec.entries) == [
        ("E1", TEAM, 30),
        ("X9", other, 60),
    ]
    lead = bearer(svc.tokens.user("L1", TEAM, {"points.ledger.adjust": "team"}))  # E1's lead, not X9's
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ReverseEvent(pb.ReverseEventRequest(source_event_id="ts-x", reason="x"), metadata=lead)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert balance(svc, "E1") == 30


def test_a_source_system_cannot_pay_a_share_to_someone_outside_its_scope(svc: RunningService) -> None:
    """A branch's CRM (scope: its subtree) reported a team sale of its own rep that split points to a rep of
    another branch: the share was booked although the CRM may write nothing about that branch."""
    other = "/hq/luohu/team-07"
    publish_employees(svc, [employee("X9", other, "wealth_adviser", manager_id="L7")])
    branch_crm = bearer(
        svc.tokens.signer.issue(
            "serviceAccounts/crm-futian",
            kind="service",
            org_unit="/hq/futian",
            permissions={"points.events.write": "subtree"},
            roles=("service",),
        )
    )
    sale = event("ts-scope", "team_sale")
    sale.data.update({"points": 90, "contributors": {"E1": 1, "X9": 2}})
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).RecordEvent(pb.RecordEventRequest(event=sale), metadata=branch_crm)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "points.events.write" in (err.value.details() or "")
    assert balance(svc, "E1") == 0 and balance(svc, "X9") == 0  # nothing booked, not even E1's share
    inside = event("ts-inside", "team_sale")
    inside.data.update({"points": 90, "contributors": {"E1": 1, "E2": 2}})
    stub(svc).RecordEvent(pb.RecordEventRequest(event=inside), metadata=branch_crm)
    assert (balance(svc, "E1"), balance(svc, "E2")) == (30, 60)
