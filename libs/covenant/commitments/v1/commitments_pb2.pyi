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

class CommitmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMITMENT_STATE_UNSPECIFIED: _ClassVar[CommitmentState]
    ACTIVE: _ClassVar[CommitmentState]
    FULFILLED: _ClassVar[CommitmentState]
    BREACHED: _ClassVar[CommitmentState]
    CANCELLED: _ClassVar[CommitmentState]
    BREACHED_THEN_FULFILLED: _ClassVar[CommitmentState]
COMMITMENT_STATE_UNSPECIFIED: CommitmentState
ACTIVE: CommitmentState
FULFILLED: CommitmentState
BREACHED: CommitmentState
CANCELLED: CommitmentState
BREACHED_THEN_FULFILLED: CommitmentState

class Terms(_message.Message):
    __slots__ = ("template_id", "pack_id", "pack_version", "promise", "employee_id", "org_unit", "client_id", "fulfilling_event_type", "correlation_key", "correlation_value", "created_at", "deadline", "deadline_rule", "reminders", "consequences")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FULFILLING_EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_KEY_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_VALUE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_RULE_FIELD_NUMBER: _ClassVar[int]
    REMINDERS_FIELD_NUMBER: _ClassVar[int]
    CONSEQUENCES_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    pack_id: str
    pack_version: str
    promise: str
    employee_id: str
    org_unit: str
    client_id: str
    fulfilling_event_type: str
    correlation_key: str
    correlation_value: str
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    deadline_rule: str
    reminders: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    consequences: _struct_pb2.Struct
    def __init__(self, template_id: _Optional[str] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., promise: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., client_id: _Optional[str] = ..., fulfilling_event_type: _Optional[str] = ..., correlation_key: _Optional[str] = ..., correlation_value: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_rule: _Optional[str] = ..., reminders: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., consequences: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Extension(_message.Message):
    __slots__ = ("previous_deadline", "new_deadline", "reason", "approver", "extended_at")
    PREVIOUS_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    NEW_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_AT_FIELD_NUMBER: _ClassVar[int]
    previous_deadline: _timestamp_pb2.Timestamp
    new_deadline: _timestamp_pb2.Timestamp
    reason: str
    approver: str
    extended_at: _timestamp_pb2.Timestamp
    def __init__(self, previous_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., new_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., approver: _Optional[str] = ..., extended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Commitment(_message.Message):
    __slots__ = ("name", "terms", "terms_hash", "state", "effective_deadline", "settled_at", "fulfilled_at", "delay_seconds", "extensions", "fulfilment_event_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    TERMS_HASH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_AT_FIELD_NUMBER: _ClassVar[int]
    DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    FULFILMENT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    terms: Terms
    terms_hash: str
    state: CommitmentState
    effective_deadline: _timestamp_pb2.Timestamp
    settled_at: _timestamp_pb2.Timestamp
    fulfilled_at: _timestamp_pb2.Timestamp
    delay_seconds: int
    extensions: _containers.RepeatedCompositeFieldContainer[Extension]
    fulfilment_event_id: str
    def __init__(self, name: _Optional[str] = ..., terms: _Optional[_Union[Terms, _Mapping]] = ..., terms_hash: _Optional[str] = ..., state: _Optional[_Union[CommitmentState, str]] = ..., effective_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fulfilled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delay_seconds: _Optional[int] = ..., extensions: _Optional[_Iterable[_Union[Extension, _Mapping]]] = ..., fulfilment_event_id: _Optional[str] = ...) -> None: ...

class CreateCommitmentRequest(_message.Message):
    __slots__ = ("template_id", "employee_id", "org_unit", "client_id", "correlation_value", "created_at", "request_id")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_VALUE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    employee_id: str
    org_unit: str
    client_id: str
    correlation_value: str
    created_at: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, template_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., client_id: _Optional[str] = ..., correlation_value: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetCommitmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCommitmentsRequest(_message.Message):
    __slots__ = ("employee_id", "org_unit", "states", "due_before", "page_size", "page_token")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    DUE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    states: _containers.RepeatedScalarFieldContainer[CommitmentState]
    due_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., states: _Optional[_Iterable[_Union[CommitmentState, str]]] = ..., due_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCommitmentsResponse(_message.Message):
    __slots__ = ("commitments", "next_page_token")
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    commitments: _containers.RepeatedCompositeFieldContainer[Commitment]
    next_page_token: str
    def __init__(self, commitments: _Optional[_Iterable[_Union[Commitment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyCommitmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class VerifyCommitmentResponse(_message.Message):
    __slots__ = ("valid", "issued_hash", "computed_hash")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_HASH_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_HASH_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    issued_hash: str
    computed_hash: str
    def __init__(self, valid: _Optional[bool] = ..., issued_hash: _Optional[str] = ..., computed_hash: _Optional[str] = ...) -> None: ...

class ExtendCommitmentRequest(_message.Message):
    __slots__ = ("name", "new_deadline", "reason", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    new_deadline: _timestamp_pb2.Timestamp
    reason: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., new_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelCommitmentRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RecordFulfilmentRequest(_message.Message):
    __slots__ = ("event_type", "correlation_key", "correlation_value", "occurred_at", "event_id")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_KEY_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_VALUE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    correlation_key: str
    correlation_value: str
    occurred_at: _timestamp_pb2.Timestamp
    event_id: str
    def __init__(self, event_type: _Optional[str] = ..., correlation_key: _Optional[str] = ..., correlation_value: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ...) -> None: ...

class RecordFulfilmentResponse(_message.Message):
    __slots__ = ("settled",)
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    settled: _containers.RepeatedCompositeFieldContainer[Commitment]
    def __init__(self, settled: _Optional[_Iterable[_Union[Commitment, _Mapping]]] = ...) -> None: ...

class GetFulfilmentRateRequest(_message.Message):
    __slots__ = ("org_unit", "start_time", "end_time")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, org_unit: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FulfilmentRate(_message.Message):
    __slots__ = ("due", "fulfilled_on_time", "fulfilled_late", "breached", "cancelled", "rate_bp")
    DUE_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_ON_TIME_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_LATE_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    RATE_BP_FIELD_NUMBER: _ClassVar[int]
    due: int
    fulfilled_on_time: int
    fulfilled_late: int
    breached: int
    cancelled: int
    rate_bp: int
    def __init__(self, due: _Optional[int] = ..., fulfilled_on_time: _Optional[int] = ..., fulfilled_late: _Optional[int] = ..., breached: _Optional[int] = ..., cancelled: _Optional[int] = ..., rate_bp: _Optional[int] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "promise", "deadline_rule", "fulfilling_event_type", "correlation_key", "pack_id", "pack_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_RULE_FIELD_NUMBER: _ClassVar[int]
    FULFILLING_EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_KEY_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    promise: str
    deadline_rule: str
    fulfilling_event_type: str
    correlation_key: str
    pack_id: str
    pack_version: str
    def __init__(self, id: _Optional[str] = ..., promise: _Optional[str] = ..., deadline_rule: _Optional[str] = ..., fulfilling_event_type: _Optional[str] = ..., correlation_key: _Optional[str] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...
