import datetime

from buf.validate import validate_pb2 as _validate_pb2
from covenant.events.v1 import event_pb2 as _event_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RulePackVersion(_message.Message):
    __slots__ = ("name", "pack_id", "version", "content_hash", "author", "create_time", "active", "source_yaml", "owner", "description", "approvals_required", "approvals", "rejection")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_YAML_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    pack_id: str
    version: str
    content_hash: str
    author: str
    create_time: _timestamp_pb2.Timestamp
    active: bool
    source_yaml: str
    owner: str
    description: str
    approvals_required: int
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    rejection: Rejection
    def __init__(self, name: _Optional[str] = ..., pack_id: _Optional[str] = ..., version: _Optional[str] = ..., content_hash: _Optional[str] = ..., author: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active: _Optional[bool] = ..., source_yaml: _Optional[str] = ..., owner: _Optional[str] = ..., description: _Optional[str] = ..., approvals_required: _Optional[int] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., rejection: _Optional[_Union[Rejection, _Mapping]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("rejected_by", "reject_time", "reason")
    REJECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REJECT_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rejected_by: str
    reject_time: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, rejected_by: _Optional[str] = ..., reject_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("approver", "approve_time", "comment")
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    APPROVE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    approver: str
    approve_time: _timestamp_pb2.Timestamp
    comment: str
    def __init__(self, approver: _Optional[str] = ..., approve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., comment: _Optional[str] = ...) -> None: ...

class ValidateRulePackRequest(_message.Message):
    __slots__ = ("source_yaml",)
    SOURCE_YAML_FIELD_NUMBER: _ClassVar[int]
    source_yaml: str
    def __init__(self, source_yaml: _Optional[str] = ...) -> None: ...

class ValidateRulePackResponse(_message.Message):
    __slots__ = ("valid", "problems", "pack_id", "version", "content_hash", "tests_passed")
    VALID_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TESTS_PASSED_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    pack_id: str
    version: str
    content_hash: str
    tests_passed: int
    def __init__(self, valid: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., pack_id: _Optional[str] = ..., version: _Optional[str] = ..., content_hash: _Optional[str] = ..., tests_passed: _Optional[int] = ...) -> None: ...

class TestRulePackRequest(_message.Message):
    __slots__ = ("source_yaml",)
    SOURCE_YAML_FIELD_NUMBER: _ClassVar[int]
    source_yaml: str
    def __init__(self, source_yaml: _Optional[str] = ...) -> None: ...

class TestCaseResult(_message.Message):
    __slots__ = ("name", "line", "passed", "message", "actions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    line: int
    passed: bool
    message: str
    actions: _containers.RepeatedCompositeFieldContainer[FiredActionView]
    def __init__(self, name: _Optional[str] = ..., line: _Optional[int] = ..., passed: _Optional[bool] = ..., message: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[FiredActionView, _Mapping]]] = ...) -> None: ...

class TestRulePackResponse(_message.Message):
    __slots__ = ("passed", "problems", "results")
    PASSED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    passed: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    results: _containers.RepeatedCompositeFieldContainer[TestCaseResult]
    def __init__(self, passed: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., results: _Optional[_Iterable[_Union[TestCaseResult, _Mapping]]] = ...) -> None: ...

class PublishRulePackRequest(_message.Message):
    __slots__ = ("source_yaml", "activate", "request_id")
    SOURCE_YAML_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    source_yaml: str
    activate: bool
    request_id: str
    def __init__(self, source_yaml: _Optional[str] = ..., activate: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class ActivateRulePackVersionRequest(_message.Message):
    __slots__ = ("name", "request_id", "effective_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    effective_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RollbackRulePackRequest(_message.Message):
    __slots__ = ("pack_id", "to_version", "request_id", "emergency", "reason")
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    pack_id: str
    to_version: str
    request_id: str
    emergency: bool
    reason: str
    def __init__(self, pack_id: _Optional[str] = ..., to_version: _Optional[str] = ..., request_id: _Optional[str] = ..., emergency: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class GetRulePackVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRulePackVersionsRequest(_message.Message):
    __slots__ = ("pack_id", "page_size", "page_token")
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pack_id: str
    page_size: int
    page_token: str
    def __init__(self, pack_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRulePackVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[RulePackVersion]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[RulePackVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListActiveRulePacksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListActiveRulePacksResponse(_message.Message):
    __slots__ = ("packs", "serving_versions", "scheduled")
    class ServingVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PACKS_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    packs: _containers.RepeatedCompositeFieldContainer[RulePackVersion]
    serving_versions: _containers.ScalarMap[str, str]
    scheduled: _containers.RepeatedCompositeFieldContainer[ScheduledActivation]
    def __init__(self, packs: _Optional[_Iterable[_Union[RulePackVersion, _Mapping]]] = ..., serving_versions: _Optional[_Mapping[str, str]] = ..., scheduled: _Optional[_Iterable[_Union[ScheduledActivation, _Mapping]]] = ...) -> None: ...

class ScheduledActivation(_message.Message):
    __slots__ = ("pack_id", "version", "effective_time")
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    pack_id: str
    version: str
    effective_time: _timestamp_pb2.Timestamp
    def __init__(self, pack_id: _Optional[str] = ..., version: _Optional[str] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DiffRulePackVersionsRequest(_message.Message):
    __slots__ = ("pack_id", "from_version", "to_version")
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    pack_id: str
    from_version: str
    to_version: str
    def __init__(self, pack_id: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ...) -> None: ...

class DiffRulePackVersionsResponse(_message.Message):
    __slots__ = ("unified_diff", "added_rules", "removed_rules", "changed_rules")
    UNIFIED_DIFF_FIELD_NUMBER: _ClassVar[int]
    ADDED_RULES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_RULES_FIELD_NUMBER: _ClassVar[int]
    CHANGED_RULES_FIELD_NUMBER: _ClassVar[int]
    unified_diff: str
    added_rules: _containers.RepeatedScalarFieldContainer[str]
    removed_rules: _containers.RepeatedScalarFieldContainer[str]
    changed_rules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, unified_diff: _Optional[str] = ..., added_rules: _Optional[_Iterable[str]] = ..., removed_rules: _Optional[_Iterable[str]] = ..., changed_rules: _Optional[_Iterable[str]] = ...) -> None: ...

class DryRunInput(_message.Message):
    __slots__ = ("event", "facts")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    facts: _struct_pb2.Struct
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., facts: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DryRunRulePackRequest(_message.Message):
    __slots__ = ("candidate_yaml", "candidate_version", "inputs")
    CANDIDATE_YAML_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    candidate_yaml: str
    candidate_version: str
    inputs: _containers.RepeatedCompositeFieldContainer[DryRunInput]
    def __init__(self, candidate_yaml: _Optional[str] = ..., candidate_version: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[DryRunInput, _Mapping]]] = ...) -> None: ...

class FiredActionView(_message.Message):
    __slots__ = ("action", "params", "rule_id", "pack_version", "pack_id")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    params: _struct_pb2.Struct
    rule_id: str
    pack_version: str
    pack_id: str
    def __init__(self, action: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., rule_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., pack_id: _Optional[str] = ...) -> None: ...

class DryRunResult(_message.Message):
    __slots__ = ("event_type", "event_id", "active_actions", "candidate_actions", "changed", "error")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    event_id: str
    active_actions: _containers.RepeatedCompositeFieldContainer[FiredActionView]
    candidate_actions: _containers.RepeatedCompositeFieldContainer[FiredActionView]
    changed: bool
    error: str
    def __init__(self, event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., active_actions: _Optional[_Iterable[_Union[FiredActionView, _Mapping]]] = ..., candidate_actions: _Optional[_Iterable[_Union[FiredActionView, _Mapping]]] = ..., changed: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class DryRunRulePackResponse(_message.Message):
    __slots__ = ("results", "events", "changed")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DryRunResult]
    events: int
    changed: int
    def __init__(self, results: _Optional[_Iterable[_Union[DryRunResult, _Mapping]]] = ..., events: _Optional[int] = ..., changed: _Optional[int] = ...) -> None: ...

class GetApprovalRequestRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ApproveRulePackVersionRequest(_message.Message):
    __slots__ = ("name", "comment", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RejectRulePackVersionRequest(_message.Message):
    __slots__ = ("name", "reason", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ApprovalRequest(_message.Message):
    __slots__ = ("version", "active_version", "approvals_required", "approvals", "ready", "diff", "dry_run")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    version: RulePackVersion
    active_version: str
    approvals_required: int
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    ready: bool
    diff: DiffRulePackVersionsResponse
    dry_run: DryRunRulePackResponse
    def __init__(self, version: _Optional[_Union[RulePackVersion, _Mapping]] = ..., active_version: _Optional[str] = ..., approvals_required: _Optional[int] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., ready: _Optional[bool] = ..., diff: _Optional[_Union[DiffRulePackVersionsResponse, _Mapping]] = ..., dry_run: _Optional[_Union[DryRunRulePackResponse, _Mapping]] = ...) -> None: ...
