"""The points use cases (award with caps, reversal, team goals, adjust, balance) over the in-memory store:
the same service logic as tests/integration/test_points_grpc.py, with no database and no gRPC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from covenant.auth import Principal, parse_permissions
from covenant.auth.directory import Directory, DirectoryEntry, NotInDirectory
from covenant.errors import FailedPrecondition, NotFound, PermissionDenied
from covenant.rules import CompiledPack, parse_pack
from covenant.rules.runtime import RuleRuntime
from services.points.actions import VOCABULARY
from services.points.domain import EventIn, Standing, period_key
from services.points.service import PointsService
from tests.support.fakes.points import FakePointsStore, Goal

TEAM = "/hq/futian/team-01"
DAY = datetime(2026, 9, 1, 2, tzinfo=UTC)
PACK = Path(__file__).resolve().parents[2] / "rules" / "points" / "awards.yaml"
CRM = Principal("services/crm", kind="service", permissions=parse_permissions({"points.events.write": "all"}))
LEAD = Principal(
    "employees/L1",
    employee_id="L1",
    org_unit=TEAM,
    permissions=parse_permissions({"points.ledger.adjust": "team", "points.ledger.read": "team"}),
)


@pytest.fixture(scope="module")
def rules() -> RuleRuntime:
    runtime = RuleRuntime("points", VOCABULARY)
    runtime.set_active({"points-awards": CompiledPack(parse_pack(PACK.read_text(), VOCABULARY), VOCABULARY)})
    return runtime


@pytest.fixture
def store() -> FakePointsStore:
    return FakePointsStore()


@pytest.fixture
def svc(rules: RuleRuntime, store: FakePointsStore) -> PointsService:
    return PointsService(
        None, rules, clock=lambda: DAY + timedelta(days=2), directory=None, stores=store.unit
    )  # type: ignore[arg-type]


def ev(eid: str, etype: str, employee: str = "E1", at: datetime = DAY, **data: object) -> EventIn:
    return EventIn(eid, etype, employee, TEAM, at, data)


def balance(svc: PointsService, employee: str = "E1") -> int:
    return svc.reads.balance(LEAD, employee)


def test_daily_cap_band_bonus_and_split(svc: PointsService) -> None:
    visits = [
        ev(f"v{i}", "follow_up_visit", at=DAY + timedelta(minutes=i), feedback="good") for i in range(8)
    ]
    big = ev("big", "loan_completed", amount=2_000_000)
    sale = ev("ts1", "team_sale", points=100, contributors={"E1": 2, "E2": 1})
    results = svc.events.record(CRM, [*visits, big, sale])
    paid = [sum(e["points"] for e in entries) for entries, _ in results]
    assert paid == [10] * 6 + [0, 0] + [30, 100]
    assert balance(svc, "E1") == 60 + 30 + 67 and balance(svc, "E2") == 33
    ((nxt, applied),) = svc.events.record(
        CRM, [ev("v-next", "follow_up_visit", at=DAY + timedelta(days=1), feedback="good")]
    )
    assert applied and [e["points"] for e in nxt] == [10]


def test_a_cap_trims_the_award_that_crosses_it_and_says_so(
    svc: PointsService, store: FakePointsStore
) -> None:
    svc.events.record(CRM, [ev(f"v{i}", "follow_up_visit", feedback="good") for i in range(5)])
    with store.unit():
        store.store_caps({("E1", "follow-up-visit", "day:2026-09-01"): 55})
    ((entries, _),) = svc.events.record(CRM, [ev("v5", "follow_up_visit", feedback="good")])
    assert [(e["points"], e["reason"]) for e in entries] == [
        (5, "follow-up visit with good feedback (capped: 5 of 10)")
    ]


def test_an_event_applies_once_and_a_duplicate_returns_its_entries(svc: PointsService) -> None:
    ((first, applied),) = svc.events.record(CRM, [ev("w1", "wealth_product_sold")])
    ((again, reapplied),) = svc.events.record(CRM, [ev("w1", "wealth_product_sold")])
    assert applied and not reapplied
    assert [e["id"] for e in again] == [e["id"] for e in first]
    assert balance(svc) == 30


def test_cancelling_a_loan_reverses_it_and_a_manual_reversal_is_audited_once(
    svc: PointsService, store: FakePointsStore
) -> None:
    svc.events.record(CRM, [ev("l1", "loan_completed"), ev("w1", "wealth_product_sold")])
    ((rev, _),) = svc.events.record(CRM, [ev("c1", "loan_cancelled", original_event_id="l1")])
    assert [(e["kind"], e["points"]) for e in rev] == [("reversal", -20)]
    rows = svc.events.reverse(LEAD, "w1", "mis-sold")
    assert [(e["kind"], e["points"], e["rule_id"]) for e in rows] == [
        ("reversal", -30, "wealth-product-sold")
    ]
    assert balance(svc) == 0
    assert [a["action"] for a in store.state.audit_log] == ["points.reversed"]
    with pytest.raises(FailedPrecondition):
        svc.events.reverse(LEAD, "w1", "again")
    # an event that paid nothing: a team lead is told what an event outside their team tells them (names
    # cannot be probed); a grant over everything may know it does not exist
    with pytest.raises(PermissionDenied, match="scope team does not cover events/nothing-paid"):
        svc.events.reverse(LEAD, "nothing-paid", "x")
    auditor = Principal("users/auditor", permissions=parse_permissions({"points.ledger.adjust": "all"}))
    with pytest.raises(NotFound):
        svc.events.reverse(auditor, "nothing-paid", "x")


def test_a_reversal_takes_back_at_most_the_balance(svc: PointsService) -> None:
    svc.events.record(CRM, [ev("w1", "wealth_product_sold")])
    svc.events.adjust(LEAD, "E1", TEAM, -25, "spent elsewhere", "r1")
    (row,) = svc.events.reverse(LEAD, "w1", "mis-sold")
    assert row["points"] == -5 and row["reason"].endswith("(25 of 30 already spent)")
    assert balance(svc) == 0


def test_adjust_is_idempotent_audited_and_never_below_zero(
    svc: PointsService, store: FakePointsStore
) -> None:
    a = svc.events.adjust(LEAD, "E1", TEAM, 15, "bonus", "req-1")
    b = svc.events.adjust(LEAD, "E1", TEAM, 15, "bonus", "req-1")
    assert a["id"] == b["id"] and balance(svc) == 15
    with pytest.raises(FailedPrecondition):
        svc.events.adjust(LEAD, "E1", TEAM, -16, "too much", "req-2")
    assert balance(svc) == 15 and len(store.state.ledger) == 1  # the failed unit left nothing behind
    assert [a["data"]["points"] for a in store.state.audit_log] == [15]


def test_adjust_and_balance_are_authorised(svc: PointsService) -> None:
    other = Principal(
        "employees/L2",
        employee_id="L2",
        org_unit="/hq/other",
        permissions=parse_permissions({"points.ledger.adjust": "team"}),
    )
    with pytest.raises(PermissionDenied):
        svc.events.adjust(other, "E1", TEAM, 5, "x", "r")
    with pytest.raises(PermissionDenied):
        svc.events.adjust(LEAD, "L1", TEAM, 5, "myself", "r")
    svc.events.adjust(LEAD, "E1", TEAM, 5, "x", "r")
    with pytest.raises(PermissionDenied):
        svc.reads.balance(other, "E1")


def test_a_team_goal_pays_its_pool_once_when_reached(svc: PointsService, store: FakePointsStore) -> None:
    with store.unit():
        store._s.goals["g1"] = Goal(
            "g1", "Q3 loans", "/hq/futian", "loan_completed", 3, 90, DAY, DAY + timedelta(days=30)
        )
    svc.events.record(CRM, [ev("l1", "loan_completed", "E1"), ev("l2", "loan_completed", "E2")])
    ((entries, _),) = svc.events.record(CRM, [ev("l3", "loan_completed", "E1", at=DAY + timedelta(hours=1))])
    goal = sorted((e["employee_id"], e["points"]) for e in entries if e["kind"] == "team_goal")
    assert goal == [("E1", 60), ("E2", 30)]
    assert store.state.goals["g1"].state == "ACHIEVED"
    assert [e.type for e in store.state.events].count("points.team_goal_achieved") == 1
    ((later, _),) = svc.events.record(CRM, [ev("l4", "loan_completed", "E2", at=DAY + timedelta(hours=2))])
    assert [e["kind"] for e in later] == ["award"]


def test_a_ledger_page_is_authorised_and_starts_after_its_cursor(svc: PointsService) -> None:
    svc.events.record(CRM, [ev("l1", "loan_completed"), ev("w1", "wealth_product_sold")])
    first = svc.reads.ledger(LEAD, "E1", 0, 1)
    rest = svc.reads.ledger(LEAD, "E1", first[-1]["id"], 10)
    assert [e["source_event_id"] for e in first + rest] == ["l1", "w1"]
    with pytest.raises(PermissionDenied):  # the source system writes events, it does not read ledgers
        svc.reads.ledger(CRM, "E1", 0, 10)


MANAGER = Principal(
    "employees/M1",
    employee_id="M1",
    org_unit=TEAM,
    permissions=parse_permissions(
        {
            "points.rewards.manage": "all",
            "points.rewards.read": "all",
            "points.rewards.approve": "team",
            "points.rewards.redeem": "team",
        }
    ),
)


def item(**over: object) -> dict[str, object]:
    base = {"id": "mug", "name": "Mug", "cost": 20, "stock": 2, "per_person_limit": 1, "category": ""}
    return {**base, "eligible_top_percent": 0, "eligible_period": "quarter", **over}


def test_a_redemption_reserves_cost_and_stock_and_a_rejection_gives_both_back(
    svc: PointsService, store: FakePointsStore
) -> None:
    svc.events.record(CRM, [ev("w1", "wealth_product_sold")])
    svc.rewards.create_item(MANAGER, item())
    reserved = svc.rewards.redeem(MANAGER, "mug", "E1", TEAM, "req-1")
    assert reserved["state"] == "RESERVED" and balance(svc) == 10
    assert svc.rewards.redeem(MANAGER, "mug", "E1", TEAM, "req-1")["id"] == reserved["id"]  # a replay
    with pytest.raises(FailedPrecondition, match="limit of 1 per person"):
        svc.rewards.redeem(MANAGER, "mug", "E1", TEAM, "req-2")
    rejected = svc.rewards.transition(MANAGER, reserved["id"], "REJECTED", "out of mugs")
    assert rejected["state"] == "REJECTED" and balance(svc) == 30
    assert [i["stock"] for i in svc.rewards.items(MANAGER, "", 10)] == [2]
    assert [a["action"] for a in store.state.audit_log][-1] == "points.redemption_rejected"


def test_an_item_for_the_top_percent_asks_the_period_ranking(
    svc: PointsService, store: FakePointsStore
) -> None:
    svc.events.record(CRM, [ev("w1", "wealth_product_sold")])
    svc.rewards.create_item(MANAGER, item(id="trip", eligible_top_percent=25, eligible_period="month"))
    with store.unit():
        store._s.totals[period_key("month", DAY + timedelta(days=2), "Asia/Shanghai")] = [
            Standing(e, p, DAY) for e, p in (("E2", 50), ("E3", 40), ("E1", 30), ("E4", 10))
        ]
    with pytest.raises(FailedPrecondition, match="top 25% of the month; employees/E1 is #3 of 4"):
        svc.rewards.redeem(MANAGER, "trip", "E1", TEAM, "")
    assert balance(svc) == 30


REP = Principal(
    "employees/E1",
    employee_id="E1",
    org_unit=TEAM,
    permissions=parse_permissions(
        {"points.goals.read": "team", "points.ledger.read": "self", "points.leaderboards.read": "team"}
    ),
)
GOALS = Principal(
    "services/planner",
    kind="service",
    permissions=parse_permissions({"points.goals.manage": "all", "points.nudges.send": "all"}),
)


def test_team_goals_are_idempotent_by_request_and_seen_from_below(svc: PointsService) -> None:
    goal = {
        "name": "loans",
        "org_unit": "/hq/futian",
        "event_type": "loan_completed",
        "target": 2,
        "pool_points": 90,
        "start_time": DAY,
        "end_time": DAY + timedelta(days=30),
    }
    created = svc.goals.create_team_goal(GOALS, goal, "req-g")
    assert svc.goals.create_team_goal(GOALS, goal, "req-g")["id"] == created["id"]
    svc.goals.create_team_goal(GOALS, {**goal, "org_unit": "/hq/other"}, "")
    svc.events.record(CRM, [ev("l1", "loan_completed")])
    (seen,) = svc.goals.list_team_goals(REP, "", "", 10)
    assert seen["id"] == created["id"] and seen["progress"] == 1 and seen["state"] == "OPEN"


def test_a_personal_goal_and_the_weekly_nudge_read_the_period_totals(
    svc: PointsService, store: FakePointsStore
) -> None:
    now = DAY + timedelta(days=2)
    with store.unit():
        store._s.totals[period_key("month", now, "Asia/Shanghai")] = [Standing("E1", 40, DAY, TEAM)]
        store._s.totals[period_key("week", now, "Asia/Shanghai")] = [
            Standing("E1", 40, DAY, TEAM),
            Standing("E2", 60, DAY, TEAM),
        ]
    svc.goals.set_personal_goal(REP, "", "", "month", None, 100)
    goal = svc.goals.get_personal_goal(REP, "", "month", None)
    assert (goal["org_unit"], goal["points"], goal["to_goal"]) == (TEAM, 40, 60)
    assert svc.goals.send_nudges(GOALS, None) == (2, 0)
    assert svc.goals.send_nudges(GOALS, None) == (0, 2)
    assert [e.type for e in store.state.events].count("points.nudge") == 2


def test_points_earned_before_the_window_and_not_spent_expire_once(store: FakePointsStore) -> None:
    text = PACK.read_text().replace("    default: 0\n", "    default: 30\n", 1)  # expiry_days
    runtime = RuleRuntime("points", VOCABULARY)
    runtime.set_active({"points-awards": CompiledPack(parse_pack(text, VOCABULARY), VOCABULARY)})
    svc = PointsService(None, runtime, clock=lambda: DAY + timedelta(days=40), stores=store.unit)  # type: ignore[arg-type]
    svc.events.record(
        CRM, [ev("w1", "wealth_product_sold"), ev("l1", "loan_completed", at=DAY + timedelta(days=35))]
    )
    expirer = Principal(
        "services/cron", kind="service", permissions=parse_permissions({"points.ledger.expire": "all"})
    )
    assert svc.expiry.expire(expirer, None) == (1, 30)
    assert svc.expiry.expire(expirer, None) == (0, 0)
    assert balance(svc) == 20


def test_a_leaderboard_ranks_what_the_caller_sees_and_places_them_below_the_top(
    svc: PointsService, store: FakePointsStore
) -> None:
    key = period_key("month", DAY + timedelta(days=2), "Asia/Shanghai")
    totals = (("E1", 30, TEAM), ("E2", 50, TEAM), ("E3", 40, TEAM), ("X1", 90, "/hq/other"))
    with store.unit():
        store._s.totals[key] = [Standing(e, p, DAY, unit) for e, p, unit in totals]
    board = svc.reads.leaderboard(REP, period="month", top=1)
    assert [s.employee_id for s in board.rows] == ["E2"]
    assert (board.my_rank, board.my_points, board.gap_to_next, board.period_key) == (3, 30, 10, key)
    svc.events.record(CRM, [ev("w1", "wealth_product_sold"), ev("l1", "loan_completed", "E2")])
    custom = svc.reads.leaderboard(REP, period="custom", start=DAY, end=DAY + timedelta(days=1))
    assert [(s.employee_id, s.points) for s in custom.rows] == [("E1", 30), ("E2", 20)]
    assert (custom.my_rank, custom.gap_to_next) == (1, 0)


def test_what_an_event_pays_reaches_the_month_leaderboard_and_goes_out_as_points_awarded(
    svc: PointsService, store: FakePointsStore
) -> None:
    """The fake folds period totals and names its events as the real ledger does (it said points.award and
    kept totals only where a test set them)."""
    svc.events.record(CRM, [ev("w1", "wealth_product_sold"), ev("w2", "wealth_product_sold", employee="E2")])
    viewer = Principal(
        "employees/L1",
        employee_id="L1",
        org_unit=TEAM,
        permissions=parse_permissions({"points.leaderboards.read": "all"}),
    )
    board = svc.reads.leaderboard(viewer, period="month", at=DAY)
    assert [(s.employee_id, s.points) for s in board.rows] == [("E1", 30), ("E2", 30)]
    assert {e.type for e in store.state.events} == {"points.awarded"}


def _svc_with_directory(rules: RuleRuntime, store: FakePointsStore) -> PointsService:
    people = {
        "L1": DirectoryEntry("L1", TEAM),
        "E1": DirectoryEntry("E1", TEAM, manager_id="L1"),
        "E7": DirectoryEntry("E7", TEAM, manager_id="L1", status="LEFT"),
    }

    def fetch(employee_id: str) -> DirectoryEntry:
        if employee_id not in people:
            raise NotInDirectory(employee_id)
        return people[employee_id]

    return PointsService(
        None, rules, clock=lambda: DAY + timedelta(days=2), directory=Directory(fetch), stores=store.unit
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("referrer", ["E7", "E404"])  # has left; was never in the directory
def test_a_delivered_event_is_applied_without_the_award_to_someone_not_employed(
    rules: RuleRuntime, store: FakePointsStore, referrer: str
) -> None:
    # A delivered event is a fact its producer committed, retried until it applies: refusing it for a
    # recipient who left made it poison. The recipient's award alone is left out.
    svc = _svc_with_directory(rules, store)
    delivered = [ev("r1", "referral", referrer_id=referrer), ev("v1", "follow_up_visit", feedback="good")]
    with store.unit() as unit:
        results = svc.ingest.apply(unit, delivered, delivered=True)
    assert [[(e["employee_id"], e["points"]) for e in entries] for entries, _ in results] == [
        [],
        [("E1", 10)],
    ]
    with store.unit():
        assert store.account("E1") == (TEAM, 10) and store.account(referrer) is None


def test_a_recorded_event_paying_someone_who_left_is_refused_and_writes_nothing(
    rules: RuleRuntime, store: FakePointsStore
) -> None:
    svc = _svc_with_directory(rules, store)
    with pytest.raises(FailedPrecondition, match="E7 has left"):
        svc.events.record(
            CRM, [ev("v1", "follow_up_visit", feedback="good"), ev("r1", "referral", referrer_id="E7")]
        )
    with store.unit():
        assert store.account("E1") is None and store.account("E7") is None
