import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Period(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_UNSPECIFIED: _ClassVar[Period]
    WEEK: _ClassVar[Period]
    MONTH: _ClassVar[Period]
    QUARTER: _ClassVar[Period]
    YEAR: _ClassVar[Period]
    CUSTOM: _ClassVar[Period]

class LeaderboardScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEADERBOARD_SCOPE_UNSPECIFIED: _ClassVar[LeaderboardScope]
    TEAM: _ClassVar[LeaderboardScope]
    ORG_UNIT: _ClassVar[LeaderboardScope]
    ALL: _ClassVar[LeaderboardScope]
PERIOD_UNSPECIFIED: Period
WEEK: Period
MONTH: Period
QUARTER: Period
YEAR: Period
CUSTOM: Period
LEADERBOARD_SCOPE_UNSPECIFIED: LeaderboardScope
TEAM: LeaderboardScope
ORG_UNIT: LeaderboardScope
ALL: LeaderboardScope

class BusinessEvent(_message.Message):
    __slots__ = ("id", "type", "employee_id", "org_unit", "occurred_at", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    employee_id: str
    org_unit: str
    occurred_at: _timestamp_pb2.Timestamp
    data: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "employee_id", "points", "kind", "reason", "source_event_id", "rule_id", "pack_id", "pack_version", "occurred_at", "org_unit")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    id: int
    employee_id: str
    points: int
    kind: str
    reason: str
    source_event_id: str
    rule_id: str
    pack_id: str
    pack_version: str
    occurred_at: _timestamp_pb2.Timestamp
    org_unit: str
    def __init__(self, id: _Optional[int] = ..., employee_id: _Optional[str] = ..., points: _Optional[int] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ..., source_event_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_unit: _Optional[str] = ...) -> None: ...

class RecordEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BusinessEvent
    def __init__(self, event: _Optional[_Union[BusinessEvent, _Mapping]] = ...) -> None: ...

class RecordEventResponse(_message.Message):
    __slots__ = ("entries", "applied_now")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_NOW_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    applied_now: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., applied_now: _Optional[bool] = ...) -> None: ...

class RecordEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[BusinessEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[BusinessEvent, _Mapping]]] = ...) -> None: ...

class RecordEventsResponse(_message.Message):
    __slots__ = ("applied", "duplicates", "points_awarded", "entries")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    POINTS_AWARDED_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    applied: int
    duplicates: int
    points_awarded: int
    entries: int
    def __init__(self, applied: _Optional[int] = ..., duplicates: _Optional[int] = ..., points_awarded: _Optional[int] = ..., entries: _Optional[int] = ...) -> None: ...

class ReverseEventRequest(_message.Message):
    __slots__ = ("source_event_id", "reason")
    SOURCE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    source_event_id: str
    reason: str
    def __init__(self, source_event_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdjustPointsRequest(_message.Message):
    __slots__ = ("employee_id", "org_unit", "points", "reason", "request_id")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    points: int
    reason: str
    request_id: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., points: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("employee_id",)
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    def __init__(self, employee_id: _Optional[str] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("employee_id", "balance")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    balance: int
    def __init__(self, employee_id: _Optional[str] = ..., balance: _Optional[int] = ...) -> None: ...

class ListLedgerEntriesRequest(_message.Message):
    __slots__ = ("employee_id", "page_size", "page_token")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    page_size: int
    page_token: str
    def __init__(self, employee_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLedgerEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetLeaderboardRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "org_unit", "top", "period", "at", "scope")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    org_unit: str
    top: int
    period: Period
    at: _timestamp_pb2.Timestamp
    scope: LeaderboardScope
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_unit: _Optional[str] = ..., top: _Optional[int] = ..., period: _Optional[_Union[Period, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scope: _Optional[_Union[LeaderboardScope, str]] = ...) -> None: ...

class LeaderboardRow(_message.Message):
    __slots__ = ("rank", "employee_id", "points", "reached_at", "org_unit")
    RANK_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REACHED_AT_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    rank: int
    employee_id: str
    points: int
    reached_at: _timestamp_pb2.Timestamp
    org_unit: str
    def __init__(self, rank: _Optional[int] = ..., employee_id: _Optional[str] = ..., points: _Optional[int] = ..., reached_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., org_unit: _Optional[str] = ...) -> None: ...

class Leaderboard(_message.Message):
    __slots__ = ("rows", "my_rank", "my_points", "gap_to_next", "period_key")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MY_RANK_FIELD_NUMBER: _ClassVar[int]
    MY_POINTS_FIELD_NUMBER: _ClassVar[int]
    GAP_TO_NEXT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_KEY_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[LeaderboardRow]
    my_rank: int
    my_points: int
    gap_to_next: int
    period_key: str
    def __init__(self, rows: _Optional[_Iterable[_Union[LeaderboardRow, _Mapping]]] = ..., my_rank: _Optional[int] = ..., my_points: _Optional[int] = ..., gap_to_next: _Optional[int] = ..., period_key: _Optional[str] = ...) -> None: ...

class TeamGoalShare(_message.Message):
    __slots__ = ("employee_id", "contribution", "points", "explanation")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    contribution: int
    points: int
    explanation: str
    def __init__(self, employee_id: _Optional[str] = ..., contribution: _Optional[int] = ..., points: _Optional[int] = ..., explanation: _Optional[str] = ...) -> None: ...

class TeamGoal(_message.Message):
    __slots__ = ("id", "name", "org_unit", "event_type", "target", "pool_points", "start_time", "end_time", "state", "progress", "achieved_at", "shares")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    POOL_POINTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_AT_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    org_unit: str
    event_type: str
    target: int
    pool_points: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    state: str
    progress: int
    achieved_at: _timestamp_pb2.Timestamp
    shares: _containers.RepeatedCompositeFieldContainer[TeamGoalShare]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., org_unit: _Optional[str] = ..., event_type: _Optional[str] = ..., target: _Optional[int] = ..., pool_points: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., progress: _Optional[int] = ..., achieved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shares: _Optional[_Iterable[_Union[TeamGoalShare, _Mapping]]] = ...) -> None: ...

class CreateTeamGoalRequest(_message.Message):
    __slots__ = ("goal", "request_id")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    goal: TeamGoal
    request_id: str
    def __init__(self, goal: _Optional[_Union[TeamGoal, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetTeamGoalRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListTeamGoalsRequest(_message.Message):
    __slots__ = ("org_unit", "page_size", "page_token")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    page_size: int
    page_token: str
    def __init__(self, org_unit: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTeamGoalsResponse(_message.Message):
    __slots__ = ("goals", "next_page_token")
    GOALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    goals: _containers.RepeatedCompositeFieldContainer[TeamGoal]
    next_page_token: str
    def __init__(self, goals: _Optional[_Iterable[_Union[TeamGoal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PersonalGoal(_message.Message):
    __slots__ = ("employee_id", "org_unit", "period", "period_key", "target", "points", "to_goal")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_KEY_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    TO_GOAL_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    period: Period
    period_key: str
    target: int
    points: int
    to_goal: int
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., period: _Optional[_Union[Period, str]] = ..., period_key: _Optional[str] = ..., target: _Optional[int] = ..., points: _Optional[int] = ..., to_goal: _Optional[int] = ...) -> None: ...

class SetPersonalGoalRequest(_message.Message):
    __slots__ = ("employee_id", "org_unit", "period", "at", "target")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    period: Period
    at: _timestamp_pb2.Timestamp
    target: int
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., period: _Optional[_Union[Period, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target: _Optional[int] = ...) -> None: ...

class GetPersonalGoalRequest(_message.Message):
    __slots__ = ("employee_id", "period", "at")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: Period
    at: _timestamp_pb2.Timestamp
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[_Union[Period, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendNudgesRequest(_message.Message):
    __slots__ = ("at",)
    AT_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendNudgesResponse(_message.Message):
    __slots__ = ("sent", "skipped")
    SENT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    sent: int
    skipped: int
    def __init__(self, sent: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class ExpirePointsRequest(_message.Message):
    __slots__ = ("as_of",)
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExpirePointsResponse(_message.Message):
    __slots__ = ("employees", "points_expired")
    EMPLOYEES_FIELD_NUMBER: _ClassVar[int]
    POINTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    employees: int
    points_expired: int
    def __init__(self, employees: _Optional[int] = ..., points_expired: _Optional[int] = ...) -> None: ...

class RewardItem(_message.Message):
    __slots__ = ("id", "name", "cost", "stock", "per_person_limit", "category", "eligible_top_percent", "eligible_period")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    PER_PERSON_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_TOP_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    cost: int
    stock: int
    per_person_limit: int
    category: str
    eligible_top_percent: int
    eligible_period: Period
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., cost: _Optional[int] = ..., stock: _Optional[int] = ..., per_person_limit: _Optional[int] = ..., category: _Optional[str] = ..., eligible_top_percent: _Optional[int] = ..., eligible_period: _Optional[_Union[Period, str]] = ...) -> None: ...

class CreateRewardItemRequest(_message.Message):
    __slots__ = ("item", "request_id")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    item: RewardItem
    request_id: str
    def __init__(self, item: _Optional[_Union[RewardItem, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListRewardItemsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRewardItemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RewardItem]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[RewardItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RedeemRewardRequest(_message.Message):
    __slots__ = ("item_id", "employee_id", "org_unit", "request_id")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    employee_id: str
    org_unit: str
    request_id: str
    def __init__(self, item_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class Redemption(_message.Message):
    __slots__ = ("id", "item_id", "employee_id", "cost", "state", "org_unit", "reason", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    item_id: str
    employee_id: str
    cost: int
    state: str
    org_unit: str
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., item_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., cost: _Optional[int] = ..., state: _Optional[str] = ..., org_unit: _Optional[str] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RedemptionActionRequest(_message.Message):
    __slots__ = ("redemption_id", "reason")
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    redemption_id: str
    reason: str
    def __init__(self, redemption_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
