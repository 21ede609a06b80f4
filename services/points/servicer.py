"""gRPC adapter for covenant.points.v1.PointsService: protobuf <-> use cases, nothing else."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any

from covenant.errors import InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.paging import page
from covenant.points.v1 import points_pb2 as pb
from covenant.points.v1 import points_pb2_grpc
from covenant.structs import struct_dict
from covenant.timestamps import opt_ts, ts
from services.points.domain import EventIn
from services.points.service import PointsService

PERIODS = {pb.WEEK: "week", pb.MONTH: "month", pb.QUARTER: "quarter", pb.YEAR: "year", pb.CUSTOM: "custom"}
PERIOD_ENUM = {v: k for k, v in PERIODS.items()}
SCOPES = {pb.TEAM: "team", pb.ORG_UNIT: "org_unit", pb.ALL: "all"}
by_id = itemgetter("id")  # the cursor of a listed row (ledger entries, team goals, reward items)


def event_in(e: pb.BusinessEvent, now: datetime) -> EventIn:
    return EventIn(e.id, e.type, e.employee_id, e.org_unit, opt_ts(e.occurred_at) or now, struct_dict(e.data))


def entry_pb(e: Any) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        **fields_of(
            e, "employee_id org_unit kind reason source_event_id rule_id pack_id pack_version", "id points"
        ),
        occurred_at=ts(e["occurred_at"]),
    )


def redemption_pb(r: Any) -> pb.Redemption:
    return pb.Redemption(
        **fields_of(r, "id item_id employee_id org_unit state reason", "cost"),
        create_time=ts(r["created_at"]),
    )


def item_pb(r: Any) -> pb.RewardItem:
    return pb.RewardItem(
        **fields_of(r, "id name category", "cost stock per_person_limit eligible_top_percent"),
        eligible_period=PERIOD_ENUM.get(r["eligible_period"], pb.PERIOD_UNSPECIFIED),
    )


def goal_pb(g: dict[str, Any]) -> pb.TeamGoal:
    out = pb.TeamGoal(
        **fields_of(g, "id name org_unit event_type state", "target pool_points progress"),
        start_time=ts(g["start_time"]),
        end_time=ts(g["end_time"]),
        shares=[
            pb.TeamGoalShare(
                **fields_of(s, "employee_id contribution points explanation"),
            )
            for s in g["shares"]
        ],
    )
    if g["achieved_at"] is not None:
        out.achieved_at.CopyFrom(ts(g["achieved_at"]))
    return out


def personal_pb(g: dict[str, Any]) -> pb.PersonalGoal:
    return pb.PersonalGoal(
        **fields_of(g, "employee_id org_unit period_key target points to_goal"),
        period=PERIOD_ENUM[g["period"]],
    )


def goal_period(value: int, default: str = "") -> str:
    if value == pb.PERIOD_UNSPECIFIED and default:
        return default
    period = PERIODS.get(value, "")
    if period in ("", "custom"):
        raise InvalidArgument("must be WEEK, MONTH, QUARTER or YEAR", field="period")
    return period


class PointsServicer(points_pb2_grpc.PointsServiceServicer):
    def __init__(self, service: PointsService) -> None:
        self.service = service

    def RecordEvent(self, request: pb.RecordEventRequest, context: Any) -> pb.RecordEventResponse:
        ((entries, applied),) = self.service.events.record(
            current_principal(), [event_in(request.event, self.service.clock())]
        )
        return pb.RecordEventResponse(entries=[entry_pb(e) for e in entries], applied_now=applied)

    def RecordEvents(self, request: pb.RecordEventsRequest, context: Any) -> pb.RecordEventsResponse:
        now = self.service.clock()
        results = self.service.events.record(
            current_principal(), [event_in(e, now) for e in request.events], with_duplicates=False
        )
        return pb.RecordEventsResponse(
            applied=sum(1 for _, a in results if a),
            duplicates=sum(1 for _, a in results if not a),
            points_awarded=sum(int(e["points"]) for entries, a in results if a for e in entries),
            entries=sum(len(entries) for entries, a in results if a),
        )

    def ReverseEvent(self, request: pb.ReverseEventRequest, context: Any) -> pb.RecordEventResponse:
        entries = self.service.events.reverse(current_principal(), request.source_event_id, request.reason)
        return pb.RecordEventResponse(entries=[entry_pb(e) for e in entries], applied_now=True)

    def AdjustPoints(self, request: pb.AdjustPointsRequest, context: Any) -> pb.LedgerEntry:
        r = request
        row = self.service.events.adjust(
            current_principal(), r.employee_id, r.org_unit, r.points, r.reason, r.request_id
        )
        return entry_pb(row)

    def GetBalance(self, request: pb.GetBalanceRequest, context: Any) -> pb.Balance:
        principal = current_principal()
        employee = request.employee_id or principal.employee_id
        return pb.Balance(employee_id=employee, balance=self.service.reads.balance(principal, employee))

    def ListLedgerEntries(
        self, request: pb.ListLedgerEntriesRequest, context: Any
    ) -> pb.ListLedgerEntriesResponse:
        fetch = partial(self.service.reads.ledger, current_principal(), request.employee_id)
        bound = ("ledger", request.employee_id)
        rows, token = page(request.page_size, request.page_token, bound, fetch, key=by_id, kind=int, first=0)
        return pb.ListLedgerEntriesResponse(entries=[entry_pb(r) for r in rows], next_page_token=token)

    def GetLeaderboard(self, request: pb.GetLeaderboardRequest, context: Any) -> pb.Leaderboard:
        start, end = opt_ts(request.start_time), opt_ts(request.end_time)
        period = PERIODS.get(request.period, "")
        if not period:
            period = "custom" if start is not None else "month"
        board = self.service.reads.leaderboard(
            current_principal(),
            period=period,
            at=opt_ts(request.at),
            start=start,
            end=end,
            scope=SCOPES.get(request.scope, ""),
            org_unit=request.org_unit,
            top=request.top,
        )
        return pb.Leaderboard(
            rows=[
                pb.LeaderboardRow(
                    rank=i + 1,
                    employee_id=s.employee_id,
                    org_unit=s.org_unit,
                    points=s.points,
                    reached_at=ts(s.reached_at),
                )
                for i, s in enumerate(board.rows)
            ],
            **fields_of(board, "my_rank my_points gap_to_next period_key"),
        )

    def CreateTeamGoal(self, request: pb.CreateTeamGoalRequest, context: Any) -> pb.TeamGoal:
        g = request.goal
        goal = {
            **fields_of(g, "name org_unit event_type target pool_points"),
            "start_time": opt_ts(g.start_time),
            "end_time": opt_ts(g.end_time),
        }
        return goal_pb(self.service.goals.create_team_goal(current_principal(), goal, request.request_id))

    def GetTeamGoal(self, request: pb.GetTeamGoalRequest, context: Any) -> pb.TeamGoal:
        if not request.id:
            raise InvalidArgument("is required", field="id")
        return goal_pb(
            self.service.goals.get_team_goal(current_principal(), request.id.removeprefix("team-goals/"))
        )

    def ListTeamGoals(self, request: pb.ListTeamGoalsRequest, context: Any) -> pb.ListTeamGoalsResponse:
        fetch = partial(self.service.goals.list_team_goals, current_principal(), request.org_unit)
        bound = ("team-goals", request.org_unit)
        goals, token = page(
            request.page_size, request.page_token, bound, fetch, key=by_id, kind=str, first=""
        )
        return pb.ListTeamGoalsResponse(goals=[goal_pb(g) for g in goals], next_page_token=token)

    def SetPersonalGoal(self, request: pb.SetPersonalGoalRequest, context: Any) -> pb.PersonalGoal:
        r, period = request, goal_period(request.period, "week")
        goal = self.service.goals.set_personal_goal(
            current_principal(), r.employee_id, r.org_unit, period, opt_ts(r.at), r.target
        )
        return personal_pb(goal)

    def GetPersonalGoal(self, request: pb.GetPersonalGoalRequest, context: Any) -> pb.PersonalGoal:
        period = goal_period(request.period, "week")
        goal = self.service.goals.get_personal_goal(
            current_principal(), request.employee_id, period, opt_ts(request.at)
        )
        return personal_pb(goal)

    def SendNudges(self, request: pb.SendNudgesRequest, context: Any) -> pb.SendNudgesResponse:
        sent, skipped = self.service.goals.send_nudges(current_principal(), opt_ts(request.at))
        return pb.SendNudgesResponse(sent=sent, skipped=skipped)

    def ExpirePoints(self, request: pb.ExpirePointsRequest, context: Any) -> pb.ExpirePointsResponse:
        employees, points = self.service.expiry.expire(current_principal(), opt_ts(request.as_of))
        return pb.ExpirePointsResponse(employees=employees, points_expired=points)

    def CreateRewardItem(self, request: pb.CreateRewardItemRequest, context: Any) -> pb.RewardItem:
        i = request.item
        item = {
            **fields_of(i, "id name cost stock per_person_limit category eligible_top_percent"),
            "eligible_period": goal_period(i.eligible_period, "quarter") if i.eligible_period else "quarter",
        }
        return item_pb(self.service.rewards.create_item(current_principal(), item))

    def ListRewardItems(self, request: pb.ListRewardItemsRequest, context: Any) -> pb.ListRewardItemsResponse:
        fetch = partial(self.service.rewards.items, current_principal())
        bound = ("reward-items",)
        rows, token = page(request.page_size, request.page_token, bound, fetch, key=by_id, kind=str, first="")
        return pb.ListRewardItemsResponse(items=[item_pb(r) for r in rows], next_page_token=token)

    def RedeemReward(self, request: pb.RedeemRewardRequest, context: Any) -> pb.Redemption:
        r = request
        row = self.service.rewards.redeem(
            current_principal(), r.item_id, r.employee_id, r.org_unit, r.request_id
        )
        return redemption_pb(row)

    def _move(self, request: pb.RedemptionActionRequest, target: str) -> pb.Redemption:
        rid = request.redemption_id.removeprefix("redemptions/")
        return redemption_pb(
            self.service.rewards.transition(current_principal(), rid, target, request.reason)
        )

    def ApproveRedemption(self, request: pb.RedemptionActionRequest, context: Any) -> pb.Redemption:
        return self._move(request, "APPROVED")

    def FulfilRedemption(self, request: pb.RedemptionActionRequest, context: Any) -> pb.Redemption:
        return self._move(request, "FULFILLED")

    def RejectRedemption(self, request: pb.RedemptionActionRequest, context: Any) -> pb.Redemption:
        return self._move(request, "REJECTED")

    def CancelRedemption(self, request: pb.RedemptionActionRequest, context: Any) -> pb.Redemption:
        return self._move(request, "CANCELLED")
