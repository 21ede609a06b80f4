import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hit(_message.Message):
    __slots__ = ("phrase", "category", "severity", "start", "end", "matched_text", "pack_id", "pack_version", "matched_by")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MATCHED_TEXT_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    MATCHED_BY_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    category: str
    severity: str
    start: int
    end: int
    matched_text: str
    pack_id: str
    pack_version: str
    matched_by: str
    def __init__(self, phrase: _Optional[str] = ..., category: _Optional[str] = ..., severity: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., matched_text: _Optional[str] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., matched_by: _Optional[str] = ...) -> None: ...

class ScanTextRequest(_message.Message):
    __slots__ = ("text_id", "employee_id", "org_unit", "channel", "text", "occurred_at", "client_id")
    TEXT_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    text_id: str
    employee_id: str
    org_unit: str
    channel: str
    text: str
    occurred_at: _timestamp_pb2.Timestamp
    client_id: str
    def __init__(self, text_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., channel: _Optional[str] = ..., text: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_id: _Optional[str] = ...) -> None: ...

class ScanResult(_message.Message):
    __slots__ = ("text_id", "hits", "cases")
    TEXT_ID_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    text_id: str
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    cases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text_id: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ..., cases: _Optional[_Iterable[str]] = ...) -> None: ...

class ScanTextsRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedCompositeFieldContainer[ScanTextRequest]
    def __init__(self, texts: _Optional[_Iterable[_Union[ScanTextRequest, _Mapping]]] = ...) -> None: ...

class ScanTextsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ScanResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ScanResult, _Mapping]]] = ...) -> None: ...

class ScanChunk(_message.Message):
    __slots__ = ("header", "text")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    header: ScanTextRequest
    text: str
    def __init__(self, header: _Optional[_Union[ScanTextRequest, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class WatchlistEntry(_message.Message):
    __slots__ = ("id", "list_name", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    LIST_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    list_name: str
    name: str
    def __init__(self, id: _Optional[str] = ..., list_name: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class LoadWatchlistRequest(_message.Message):
    __slots__ = ("entries", "request_id")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[WatchlistEntry]
    request_id: str
    def __init__(self, entries: _Optional[_Iterable[_Union[WatchlistEntry, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class LoadWatchlistResponse(_message.Message):
    __slots__ = ("loaded", "total")
    LOADED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    loaded: int
    total: int
    def __init__(self, loaded: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class ScreenNamesRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ScreeningMatch(_message.Message):
    __slots__ = ("entry_id", "list_name", "listed_name", "score", "features")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    LIST_NAME_FIELD_NUMBER: _ClassVar[int]
    LISTED_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    list_name: str
    listed_name: str
    score: float
    features: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entry_id: _Optional[str] = ..., list_name: _Optional[str] = ..., listed_name: _Optional[str] = ..., score: _Optional[float] = ..., features: _Optional[_Iterable[str]] = ...) -> None: ...

class ScreeningResult(_message.Message):
    __slots__ = ("name", "matches")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    name: str
    matches: _containers.RepeatedCompositeFieldContainer[ScreeningMatch]
    def __init__(self, name: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[ScreeningMatch, _Mapping]]] = ...) -> None: ...

class ScreenNamesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ScreeningResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ScreeningResult, _Mapping]]] = ...) -> None: ...

class ScreeningHit(_message.Message):
    __slots__ = ("name", "employee_id", "org_unit", "client_id", "client_name", "match", "status", "contact_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    employee_id: str
    org_unit: str
    client_id: str
    client_name: str
    match: ScreeningMatch
    status: str
    contact_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., client_id: _Optional[str] = ..., client_name: _Optional[str] = ..., match: _Optional[_Union[ScreeningMatch, _Mapping]] = ..., status: _Optional[str] = ..., contact_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListScreeningHitsRequest(_message.Message):
    __slots__ = ("org_unit", "start_date", "end_date", "status", "page_size", "page_token")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    start_date: str
    end_date: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, org_unit: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScreeningHitsResponse(_message.Message):
    __slots__ = ("hits", "next_page_token")
    HITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[ScreeningHit]
    next_page_token: str
    def __init__(self, hits: _Optional[_Iterable[_Union[ScreeningHit, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecordClientActivityRequest(_message.Message):
    __slots__ = ("employee_id", "org_unit", "client_id", "kind", "occurred_at", "client_name", "activity_id")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    client_id: str
    kind: str
    occurred_at: _timestamp_pb2.Timestamp
    client_name: str
    activity_id: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., client_id: _Optional[str] = ..., kind: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_name: _Optional[str] = ..., activity_id: _Optional[str] = ...) -> None: ...

class RecordClientActivityResponse(_message.Message):
    __slots__ = ("cases",)
    CASES_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cases: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluateBehaviourRequest(_message.Message):
    __slots__ = ("as_of",)
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EvaluateBehaviourResponse(_message.Message):
    __slots__ = ("cases_opened", "cases_escalated")
    CASES_OPENED_FIELD_NUMBER: _ClassVar[int]
    CASES_ESCALATED_FIELD_NUMBER: _ClassVar[int]
    cases_opened: _containers.RepeatedScalarFieldContainer[str]
    cases_escalated: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cases_opened: _Optional[_Iterable[str]] = ..., cases_escalated: _Optional[_Iterable[str]] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("name", "employee_id", "org_unit", "rule_id", "category", "severity", "state", "owner", "opened_at", "sla_due_at", "evidence_json", "comments", "pack_version", "occurrences", "updated_at", "pack_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    SLA_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_JSON_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    employee_id: str
    org_unit: str
    rule_id: str
    category: str
    severity: str
    state: str
    owner: str
    opened_at: _timestamp_pb2.Timestamp
    sla_due_at: _timestamp_pb2.Timestamp
    evidence_json: str
    comments: _containers.RepeatedScalarFieldContainer[str]
    pack_version: str
    occurrences: int
    updated_at: _timestamp_pb2.Timestamp
    pack_id: str
    def __init__(self, name: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., rule_id: _Optional[str] = ..., category: _Optional[str] = ..., severity: _Optional[str] = ..., state: _Optional[str] = ..., owner: _Optional[str] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sla_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence_json: _Optional[str] = ..., comments: _Optional[_Iterable[str]] = ..., pack_version: _Optional[str] = ..., occurrences: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pack_id: _Optional[str] = ...) -> None: ...

class GetCaseRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCasesRequest(_message.Message):
    __slots__ = ("employee_id", "state", "page_size", "page_token")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    state: str
    page_size: int
    page_token: str
    def __init__(self, employee_id: _Optional[str] = ..., state: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "next_page_token")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[Case]
    next_page_token: str
    def __init__(self, cases: _Optional[_Iterable[_Union[Case, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TransitionCaseRequest(_message.Message):
    __slots__ = ("name", "state", "owner", "comment", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    owner: str
    comment: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., owner: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddCaseCommentRequest(_message.Message):
    __slots__ = ("name", "comment", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class VerifyAuditChainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditChainResponse(_message.Message):
    __slots__ = ("intact", "entries_checked", "first_broken_seq", "reason", "streams")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    entries_checked: int
    first_broken_seq: int
    reason: str
    streams: _containers.RepeatedCompositeFieldContainer[AuditStreamVerification]
    def __init__(self, intact: _Optional[bool] = ..., entries_checked: _Optional[int] = ..., first_broken_seq: _Optional[int] = ..., reason: _Optional[str] = ..., streams: _Optional[_Iterable[_Union[AuditStreamVerification, _Mapping]]] = ...) -> None: ...

class AuditStreamVerification(_message.Message):
    __slots__ = ("stream", "intact", "entries_checked", "first_broken_seq", "reason")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    INTACT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    stream: str
    intact: bool
    entries_checked: int
    first_broken_seq: int
    reason: str
    def __init__(self, stream: _Optional[str] = ..., intact: _Optional[bool] = ..., entries_checked: _Optional[int] = ..., first_broken_seq: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPhraseFeedbackRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PhraseFeedback(_message.Message):
    __slots__ = ("phrase", "category", "hits", "false_positives", "reasons", "noise_ratio", "active")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NOISE_RATIO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    category: str
    hits: int
    false_positives: int
    reasons: _containers.RepeatedScalarFieldContainer[str]
    noise_ratio: float
    active: bool
    def __init__(self, phrase: _Optional[str] = ..., category: _Optional[str] = ..., hits: _Optional[int] = ..., false_positives: _Optional[int] = ..., reasons: _Optional[_Iterable[str]] = ..., noise_ratio: _Optional[float] = ..., active: _Optional[bool] = ...) -> None: ...

class GetPhraseFeedbackResponse(_message.Message):
    __slots__ = ("phrases", "pack_id", "pack_version")
    PHRASES_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    phrases: _containers.RepeatedCompositeFieldContainer[PhraseFeedback]
    pack_id: str
    pack_version: str
    def __init__(self, phrases: _Optional[_Iterable[_Union[PhraseFeedback, _Mapping]]] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ...) -> None: ...
