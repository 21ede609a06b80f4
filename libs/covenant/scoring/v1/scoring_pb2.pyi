import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kpi(_message.Message):
    __slots__ = ("id", "label", "weight", "direction", "normalisation", "target", "floor", "cap", "unit", "default_value")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    NORMALISATION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    FLOOR_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    weight: str
    direction: str
    normalisation: str
    target: str
    floor: str
    cap: str
    unit: str
    default_value: str
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., weight: _Optional[str] = ..., direction: _Optional[str] = ..., normalisation: _Optional[str] = ..., target: _Optional[str] = ..., floor: _Optional[str] = ..., cap: _Optional[str] = ..., unit: _Optional[str] = ..., default_value: _Optional[str] = ...) -> None: ...

class Scorecard(_message.Message):
    __slots__ = ("id", "version", "role", "org_unit_prefix", "effective_from", "kpis", "formula", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_PREFIX_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    role: str
    org_unit_prefix: str
    effective_from: str
    kpis: _containers.RepeatedCompositeFieldContainer[Kpi]
    formula: str
    created_by: str
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., role: _Optional[str] = ..., org_unit_prefix: _Optional[str] = ..., effective_from: _Optional[str] = ..., kpis: _Optional[_Iterable[_Union[Kpi, _Mapping]]] = ..., formula: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class CreateScorecardVersionRequest(_message.Message):
    __slots__ = ("scorecard",)
    SCORECARD_FIELD_NUMBER: _ClassVar[int]
    scorecard: Scorecard
    def __init__(self, scorecard: _Optional[_Union[Scorecard, _Mapping]] = ...) -> None: ...

class ListScorecardsRequest(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: str
    def __init__(self, role: _Optional[str] = ...) -> None: ...

class ListScorecardsResponse(_message.Message):
    __slots__ = ("scorecards",)
    SCORECARDS_FIELD_NUMBER: _ClassVar[int]
    scorecards: _containers.RepeatedCompositeFieldContainer[Scorecard]
    def __init__(self, scorecards: _Optional[_Iterable[_Union[Scorecard, _Mapping]]] = ...) -> None: ...

class MetricValue(_message.Message):
    __slots__ = ("employee_id", "org_unit", "role", "period", "metric", "value", "mode", "source")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    role: str
    period: str
    metric: str
    value: str
    mode: str
    source: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., role: _Optional[str] = ..., period: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[str] = ..., mode: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class RecordMetricsRequest(_message.Message):
    __slots__ = ("values", "request_id")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[MetricValue]
    request_id: str
    def __init__(self, values: _Optional[_Iterable[_Union[MetricValue, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordMetricsResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    def __init__(self, recorded: _Optional[int] = ...) -> None: ...

class ComputeScoresRequest(_message.Message):
    __slots__ = ("period", "org_unit")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    period: str
    org_unit: str
    def __init__(self, period: _Optional[str] = ..., org_unit: _Optional[str] = ...) -> None: ...

class ComputeScoresResponse(_message.Message):
    __slots__ = ("scored", "signals_raised")
    SCORED_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_RAISED_FIELD_NUMBER: _ClassVar[int]
    scored: int
    signals_raised: int
    def __init__(self, scored: _Optional[int] = ..., signals_raised: _Optional[int] = ...) -> None: ...

class Contribution(_message.Message):
    __slots__ = ("kpi", "label", "raw_value", "normalised", "points", "weight", "explanation", "sources")
    KPI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RAW_VALUE_FIELD_NUMBER: _ClassVar[int]
    NORMALISED_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    kpi: str
    label: str
    raw_value: str
    normalised: str
    points: str
    weight: str
    explanation: str
    sources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kpi: _Optional[str] = ..., label: _Optional[str] = ..., raw_value: _Optional[str] = ..., normalised: _Optional[str] = ..., points: _Optional[str] = ..., weight: _Optional[str] = ..., explanation: _Optional[str] = ..., sources: _Optional[_Iterable[str]] = ...) -> None: ...

class Calibration(_message.Message):
    __slots__ = ("adjustment", "reason", "calibrated_by", "calibrated_at")
    ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_BY_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_AT_FIELD_NUMBER: _ClassVar[int]
    adjustment: str
    reason: str
    calibrated_by: str
    calibrated_at: _timestamp_pb2.Timestamp
    def __init__(self, adjustment: _Optional[str] = ..., reason: _Optional[str] = ..., calibrated_by: _Optional[str] = ..., calibrated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EmployeeScore(_message.Message):
    __slots__ = ("employee_id", "org_unit", "role", "period", "scorecard_id", "scorecard_version", "score", "contributions", "rank_in_team", "rank_in_org_unit", "team_size", "change", "calibrations", "calibrated_score")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SCORECARD_ID_FIELD_NUMBER: _ClassVar[int]
    SCORECARD_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    RANK_IN_TEAM_FIELD_NUMBER: _ClassVar[int]
    RANK_IN_ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    TEAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CALIBRATIONS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_SCORE_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    role: str
    period: str
    scorecard_id: str
    scorecard_version: int
    score: str
    contributions: _containers.RepeatedCompositeFieldContainer[Contribution]
    rank_in_team: int
    rank_in_org_unit: int
    team_size: int
    change: str
    calibrations: _containers.RepeatedCompositeFieldContainer[Calibration]
    calibrated_score: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., role: _Optional[str] = ..., period: _Optional[str] = ..., scorecard_id: _Optional[str] = ..., scorecard_version: _Optional[int] = ..., score: _Optional[str] = ..., contributions: _Optional[_Iterable[_Union[Contribution, _Mapping]]] = ..., rank_in_team: _Optional[int] = ..., rank_in_org_unit: _Optional[int] = ..., team_size: _Optional[int] = ..., change: _Optional[str] = ..., calibrations: _Optional[_Iterable[_Union[Calibration, _Mapping]]] = ..., calibrated_score: _Optional[str] = ...) -> None: ...

class GetScoreRequest(_message.Message):
    __slots__ = ("employee_id", "period")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ...) -> None: ...

class ListScoresRequest(_message.Message):
    __slots__ = ("period", "org_unit", "page_size", "page_token")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    period: str
    org_unit: str
    page_size: int
    page_token: str
    def __init__(self, period: _Optional[str] = ..., org_unit: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScoresResponse(_message.Message):
    __slots__ = ("scores", "next_page_token")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[EmployeeScore]
    next_page_token: str
    def __init__(self, scores: _Optional[_Iterable[_Union[EmployeeScore, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CalibrateScoreRequest(_message.Message):
    __slots__ = ("employee_id", "period", "adjustment", "reason", "request_id")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    adjustment: str
    reason: str
    request_id: str
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., adjustment: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("employee_id", "period", "kind", "audience", "detail", "rule_id", "pack_id", "pack_version")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    kind: str
    audience: str
    detail: str
    rule_id: str
    pack_id: str
    pack_version: str
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., kind: _Optional[str] = ..., audience: _Optional[str] = ..., detail: _Optional[str] = ..., rule_id: _Optional[str] = ..., pack_id: _Optional[str] = ..., pack_version: _Optional[str] = ...) -> None: ...

class ListSignalsRequest(_message.Message):
    __slots__ = ("period", "org_unit")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    period: str
    org_unit: str
    def __init__(self, period: _Optional[str] = ..., org_unit: _Optional[str] = ...) -> None: ...

class ListSignalsResponse(_message.Message):
    __slots__ = ("signals",)
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    def __init__(self, signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ...) -> None: ...

class CreateDriverAnalysisRequest(_message.Message):
    __slots__ = ("role", "outcome", "period_from", "period_to", "kpis", "model", "org_unit")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FROM_FIELD_NUMBER: _ClassVar[int]
    PERIOD_TO_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    role: str
    outcome: str
    period_from: str
    period_to: str
    kpis: _containers.RepeatedScalarFieldContainer[str]
    model: str
    org_unit: str
    def __init__(self, role: _Optional[str] = ..., outcome: _Optional[str] = ..., period_from: _Optional[str] = ..., period_to: _Optional[str] = ..., kpis: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., org_unit: _Optional[str] = ...) -> None: ...

class DriverCoefficient(_message.Message):
    __slots__ = ("kpi", "estimate", "std_error", "ci_low", "ci_high", "p_value", "standardised", "vif")
    KPI_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    STD_ERROR_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    STANDARDISED_FIELD_NUMBER: _ClassVar[int]
    VIF_FIELD_NUMBER: _ClassVar[int]
    kpi: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    standardised: float
    vif: float
    def __init__(self, kpi: _Optional[str] = ..., estimate: _Optional[float] = ..., std_error: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., p_value: _Optional[float] = ..., standardised: _Optional[float] = ..., vif: _Optional[float] = ...) -> None: ...

class AnalysisWarning(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class DriverAnalysis(_message.Message):
    __slots__ = ("name", "role", "outcome", "period_from", "period_to", "org_unit", "model", "model_version", "observations", "people", "fit", "condition_number", "coefficients", "warnings", "kpis", "created_by", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FROM_FIELD_NUMBER: _ClassVar[int]
    PERIOD_TO_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    FIT_FIELD_NUMBER: _ClassVar[int]
    CONDITION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    COEFFICIENTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    outcome: str
    period_from: str
    period_to: str
    org_unit: str
    model: str
    model_version: str
    observations: int
    people: int
    fit: float
    condition_number: float
    coefficients: _containers.RepeatedCompositeFieldContainer[DriverCoefficient]
    warnings: _containers.RepeatedCompositeFieldContainer[AnalysisWarning]
    kpis: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., outcome: _Optional[str] = ..., period_from: _Optional[str] = ..., period_to: _Optional[str] = ..., org_unit: _Optional[str] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., observations: _Optional[int] = ..., people: _Optional[int] = ..., fit: _Optional[float] = ..., condition_number: _Optional[float] = ..., coefficients: _Optional[_Iterable[_Union[DriverCoefficient, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[AnalysisWarning, _Mapping]]] = ..., kpis: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDriverAnalysisRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDriverAnalysesRequest(_message.Message):
    __slots__ = ("role", "page_size", "page_token")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    role: str
    page_size: int
    page_token: str
    def __init__(self, role: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDriverAnalysesResponse(_message.Message):
    __slots__ = ("analyses", "next_page_token")
    ANALYSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    analyses: _containers.RepeatedCompositeFieldContainer[DriverAnalysis]
    next_page_token: str
    def __init__(self, analyses: _Optional[_Iterable[_Union[DriverAnalysis, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DraftScorecardFromAnalysisRequest(_message.Message):
    __slots__ = ("analysis", "scorecard_id", "effective_from", "diff_period")
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    SCORECARD_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    DIFF_PERIOD_FIELD_NUMBER: _ClassVar[int]
    analysis: str
    scorecard_id: str
    effective_from: str
    diff_period: str
    def __init__(self, analysis: _Optional[str] = ..., scorecard_id: _Optional[str] = ..., effective_from: _Optional[str] = ..., diff_period: _Optional[str] = ...) -> None: ...

class RankChange(_message.Message):
    __slots__ = ("employee_id", "org_unit", "current_score", "draft_score", "current_rank", "draft_rank")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SCORE_FIELD_NUMBER: _ClassVar[int]
    DRAFT_SCORE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RANK_FIELD_NUMBER: _ClassVar[int]
    DRAFT_RANK_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    current_score: str
    draft_score: str
    current_rank: int
    draft_rank: int
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., current_score: _Optional[str] = ..., draft_score: _Optional[str] = ..., current_rank: _Optional[int] = ..., draft_rank: _Optional[int] = ...) -> None: ...

class ScorecardDraft(_message.Message):
    __slots__ = ("name", "analysis", "base_version", "scorecard", "state", "drafted_by", "approved_by", "activated_version", "diff_period", "people_compared", "rank_changes_total", "rank_changes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCORECARD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DRAFTED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_VERSION_FIELD_NUMBER: _ClassVar[int]
    DIFF_PERIOD_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_COMPARED_FIELD_NUMBER: _ClassVar[int]
    RANK_CHANGES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    RANK_CHANGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    analysis: str
    base_version: int
    scorecard: Scorecard
    state: str
    drafted_by: str
    approved_by: str
    activated_version: int
    diff_period: str
    people_compared: int
    rank_changes_total: int
    rank_changes: _containers.RepeatedCompositeFieldContainer[RankChange]
    def __init__(self, name: _Optional[str] = ..., analysis: _Optional[str] = ..., base_version: _Optional[int] = ..., scorecard: _Optional[_Union[Scorecard, _Mapping]] = ..., state: _Optional[str] = ..., drafted_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., activated_version: _Optional[int] = ..., diff_period: _Optional[str] = ..., people_compared: _Optional[int] = ..., rank_changes_total: _Optional[int] = ..., rank_changes: _Optional[_Iterable[_Union[RankChange, _Mapping]]] = ...) -> None: ...

class GetScorecardDraftRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ApproveScorecardDraftRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ActivateScorecardDraftRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ProfileKpi(_message.Message):
    __slots__ = ("kpi", "label", "direction", "top_median", "rest_median", "top_iqr", "rest_iqr", "cliffs_delta", "cohens_d")
    KPI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TOP_MEDIAN_FIELD_NUMBER: _ClassVar[int]
    REST_MEDIAN_FIELD_NUMBER: _ClassVar[int]
    TOP_IQR_FIELD_NUMBER: _ClassVar[int]
    REST_IQR_FIELD_NUMBER: _ClassVar[int]
    CLIFFS_DELTA_FIELD_NUMBER: _ClassVar[int]
    COHENS_D_FIELD_NUMBER: _ClassVar[int]
    kpi: str
    label: str
    direction: str
    top_median: float
    rest_median: float
    top_iqr: float
    rest_iqr: float
    cliffs_delta: float
    cohens_d: float
    def __init__(self, kpi: _Optional[str] = ..., label: _Optional[str] = ..., direction: _Optional[str] = ..., top_median: _Optional[float] = ..., rest_median: _Optional[float] = ..., top_iqr: _Optional[float] = ..., rest_iqr: _Optional[float] = ..., cliffs_delta: _Optional[float] = ..., cohens_d: _Optional[float] = ...) -> None: ...

class PerformerProfile(_message.Message):
    __slots__ = ("role", "period", "outcome_kpi", "org_unit", "outcome_threshold", "top_count", "rest_count", "kpis", "computed_at", "coaching_signals")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KPI_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TOP_COUNT_FIELD_NUMBER: _ClassVar[int]
    REST_COUNT_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    COACHING_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    role: str
    period: str
    outcome_kpi: str
    org_unit: str
    outcome_threshold: float
    top_count: int
    rest_count: int
    kpis: _containers.RepeatedCompositeFieldContainer[ProfileKpi]
    computed_at: _timestamp_pb2.Timestamp
    coaching_signals: int
    def __init__(self, role: _Optional[str] = ..., period: _Optional[str] = ..., outcome_kpi: _Optional[str] = ..., org_unit: _Optional[str] = ..., outcome_threshold: _Optional[float] = ..., top_count: _Optional[int] = ..., rest_count: _Optional[int] = ..., kpis: _Optional[_Iterable[_Union[ProfileKpi, _Mapping]]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., coaching_signals: _Optional[int] = ...) -> None: ...

class RefreshPerformerProfileRequest(_message.Message):
    __slots__ = ("role", "period", "outcome_kpi", "org_unit")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KPI_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    role: str
    period: str
    outcome_kpi: str
    org_unit: str
    def __init__(self, role: _Optional[str] = ..., period: _Optional[str] = ..., outcome_kpi: _Optional[str] = ..., org_unit: _Optional[str] = ...) -> None: ...

class GetPerformerProfileRequest(_message.Message):
    __slots__ = ("role", "period", "outcome_kpi", "org_unit")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KPI_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    role: str
    period: str
    outcome_kpi: str
    org_unit: str
    def __init__(self, role: _Optional[str] = ..., period: _Optional[str] = ..., outcome_kpi: _Optional[str] = ..., org_unit: _Optional[str] = ...) -> None: ...

class CoachingGap(_message.Message):
    __slots__ = ("employee_id", "org_unit", "kpi", "label", "value", "profile_value", "gap", "detail")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    KPI_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_VALUE_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    kpi: str
    label: str
    value: float
    profile_value: float
    gap: float
    detail: str
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., kpi: _Optional[str] = ..., label: _Optional[str] = ..., value: _Optional[float] = ..., profile_value: _Optional[float] = ..., gap: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class ListCoachingGapsRequest(_message.Message):
    __slots__ = ("role", "period", "outcome_kpi", "org_unit", "employee_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KPI_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    role: str
    period: str
    outcome_kpi: str
    org_unit: str
    employee_id: str
    def __init__(self, role: _Optional[str] = ..., period: _Optional[str] = ..., outcome_kpi: _Optional[str] = ..., org_unit: _Optional[str] = ..., employee_id: _Optional[str] = ...) -> None: ...

class ListCoachingGapsResponse(_message.Message):
    __slots__ = ("gaps",)
    GAPS_FIELD_NUMBER: _ClassVar[int]
    gaps: _containers.RepeatedCompositeFieldContainer[CoachingGap]
    def __init__(self, gaps: _Optional[_Iterable[_Union[CoachingGap, _Mapping]]] = ...) -> None: ...

class HeatMapCell(_message.Message):
    __slots__ = ("org_unit", "kpi", "value", "people", "has_change", "change")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    KPI_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    HAS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    kpi: str
    value: float
    people: int
    has_change: bool
    change: float
    def __init__(self, org_unit: _Optional[str] = ..., kpi: _Optional[str] = ..., value: _Optional[float] = ..., people: _Optional[int] = ..., has_change: _Optional[bool] = ..., change: _Optional[float] = ...) -> None: ...

class GetHeatMapRequest(_message.Message):
    __slots__ = ("period", "org_unit", "role", "render_png", "width_px", "height_px")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RENDER_PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    period: str
    org_unit: str
    role: str
    render_png: bool
    width_px: int
    height_px: int
    def __init__(self, period: _Optional[str] = ..., org_unit: _Optional[str] = ..., role: _Optional[str] = ..., render_png: _Optional[bool] = ..., width_px: _Optional[int] = ..., height_px: _Optional[int] = ...) -> None: ...

class HeatMap(_message.Message):
    __slots__ = ("period", "previous_period", "org_units", "kpis", "cells", "png")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PERIOD_FIELD_NUMBER: _ClassVar[int]
    ORG_UNITS_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    period: str
    previous_period: str
    org_units: _containers.RepeatedScalarFieldContainer[str]
    kpis: _containers.RepeatedScalarFieldContainer[str]
    cells: _containers.RepeatedCompositeFieldContainer[HeatMapCell]
    png: bytes
    def __init__(self, period: _Optional[str] = ..., previous_period: _Optional[str] = ..., org_units: _Optional[_Iterable[str]] = ..., kpis: _Optional[_Iterable[str]] = ..., cells: _Optional[_Iterable[_Union[HeatMapCell, _Mapping]]] = ..., png: _Optional[bytes] = ...) -> None: ...

class UnitTrendPoint(_message.Message):
    __slots__ = ("period", "score", "people")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    period: str
    score: float
    people: int
    def __init__(self, period: _Optional[str] = ..., score: _Optional[float] = ..., people: _Optional[int] = ...) -> None: ...

class UnitTrend(_message.Message):
    __slots__ = ("org_unit", "points")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    points: _containers.RepeatedCompositeFieldContainer[UnitTrendPoint]
    def __init__(self, org_unit: _Optional[str] = ..., points: _Optional[_Iterable[_Union[UnitTrendPoint, _Mapping]]] = ...) -> None: ...

class GetUnitTrendsRequest(_message.Message):
    __slots__ = ("org_unit", "from_period", "to_period", "role", "render_png", "width_px", "height_px")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    FROM_PERIOD_FIELD_NUMBER: _ClassVar[int]
    TO_PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RENDER_PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    from_period: str
    to_period: str
    role: str
    render_png: bool
    width_px: int
    height_px: int
    def __init__(self, org_unit: _Optional[str] = ..., from_period: _Optional[str] = ..., to_period: _Optional[str] = ..., role: _Optional[str] = ..., render_png: _Optional[bool] = ..., width_px: _Optional[int] = ..., height_px: _Optional[int] = ...) -> None: ...

class UnitTrends(_message.Message):
    __slots__ = ("units", "png")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    units: _containers.RepeatedCompositeFieldContainer[UnitTrend]
    png: bytes
    def __init__(self, units: _Optional[_Iterable[_Union[UnitTrend, _Mapping]]] = ..., png: _Optional[bytes] = ...) -> None: ...
