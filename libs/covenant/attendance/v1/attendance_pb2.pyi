import datetime

from buf.validate import validate_pb2 as _validate_pb2
from covenant.common.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Datum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATUM_UNSPECIFIED: _ClassVar[Datum]
    DATUM_WGS84: _ClassVar[Datum]
    DATUM_GCJ02: _ClassVar[Datum]
    DATUM_BD09: _ClassVar[Datum]
DATUM_UNSPECIFIED: Datum
DATUM_WGS84: Datum
DATUM_GCJ02: Datum
DATUM_BD09: Datum

class ClientPlace(_message.Message):
    __slots__ = ("client_id", "name", "address", "location", "visit_radius_m", "high_risk", "datum")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    VISIT_RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    HIGH_RISK_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    name: str
    address: str
    location: _common_pb2.GeoPoint
    visit_radius_m: int
    high_risk: bool
    datum: Datum
    def __init__(self, client_id: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., visit_radius_m: _Optional[int] = ..., high_risk: _Optional[bool] = ..., datum: _Optional[_Union[Datum, str]] = ...) -> None: ...

class ImportClientPlacesRequest(_message.Message):
    __slots__ = ("places",)
    PLACES_FIELD_NUMBER: _ClassVar[int]
    places: _containers.RepeatedCompositeFieldContainer[ClientPlace]
    def __init__(self, places: _Optional[_Iterable[_Union[ClientPlace, _Mapping]]] = ...) -> None: ...

class ImportClientPlacesResponse(_message.Message):
    __slots__ = ("imported",)
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    imported: int
    def __init__(self, imported: _Optional[int] = ...) -> None: ...

class FindNearbyPlacesRequest(_message.Message):
    __slots__ = ("location", "radius_m", "limit", "datum")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    location: _common_pb2.GeoPoint
    radius_m: float
    limit: int
    datum: Datum
    def __init__(self, location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., radius_m: _Optional[float] = ..., limit: _Optional[int] = ..., datum: _Optional[_Union[Datum, str]] = ...) -> None: ...

class NearbyPlace(_message.Message):
    __slots__ = ("place", "distance_m")
    PLACE_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    place: ClientPlace
    distance_m: float
    def __init__(self, place: _Optional[_Union[ClientPlace, _Mapping]] = ..., distance_m: _Optional[float] = ...) -> None: ...

class FindNearbyPlacesResponse(_message.Message):
    __slots__ = ("places",)
    PLACES_FIELD_NUMBER: _ClassVar[int]
    places: _containers.RepeatedCompositeFieldContainer[NearbyPlace]
    def __init__(self, places: _Optional[_Iterable[_Union[NearbyPlace, _Mapping]]] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("employee_id", "org_unit", "device_id", "location", "accuracy_m", "time", "mock_location", "role", "datum")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_M_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MOCK_LOCATION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    org_unit: str
    device_id: str
    location: _common_pb2.GeoPoint
    accuracy_m: float
    time: _timestamp_pb2.Timestamp
    mock_location: bool
    role: str
    datum: Datum
    def __init__(self, employee_id: _Optional[str] = ..., org_unit: _Optional[str] = ..., device_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., accuracy_m: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mock_location: _Optional[bool] = ..., role: _Optional[str] = ..., datum: _Optional[_Union[Datum, str]] = ...) -> None: ...

class IngestPingsRequest(_message.Message):
    __slots__ = ("pings",)
    PINGS_FIELD_NUMBER: _ClassVar[int]
    pings: _containers.RepeatedCompositeFieldContainer[Ping]
    def __init__(self, pings: _Optional[_Iterable[_Union[Ping, _Mapping]]] = ...) -> None: ...

class IngestPingsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "stops_detected", "anomalies")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    STOPS_DETECTED_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    stops_detected: int
    anomalies: int
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., stops_detected: _Optional[int] = ..., anomalies: _Optional[int] = ...) -> None: ...

class CheckInRequest(_message.Message):
    __slots__ = ("ping", "client_id", "request_id")
    PING_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ping: Ping
    client_id: str
    request_id: str
    def __init__(self, ping: _Optional[_Union[Ping, _Mapping]] = ..., client_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CheckInResponse(_message.Message):
    __slots__ = ("verified", "distance_m", "visit_id", "event_type", "rule_id", "pack_version", "pack_id", "suspicions", "radius_m")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    SUSPICIONS_FIELD_NUMBER: _ClassVar[int]
    RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    distance_m: float
    visit_id: str
    event_type: str
    rule_id: str
    pack_version: str
    pack_id: str
    suspicions: _containers.RepeatedScalarFieldContainer[str]
    radius_m: float
    def __init__(self, verified: _Optional[bool] = ..., distance_m: _Optional[float] = ..., visit_id: _Optional[str] = ..., event_type: _Optional[str] = ..., rule_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., pack_id: _Optional[str] = ..., suspicions: _Optional[_Iterable[str]] = ..., radius_m: _Optional[float] = ...) -> None: ...

class BatchCheckInsRequest(_message.Message):
    __slots__ = ("check_ins",)
    CHECK_INS_FIELD_NUMBER: _ClassVar[int]
    check_ins: _containers.RepeatedCompositeFieldContainer[CheckInRequest]
    def __init__(self, check_ins: _Optional[_Iterable[_Union[CheckInRequest, _Mapping]]] = ...) -> None: ...

class CheckInError(_message.Message):
    __slots__ = ("code", "field", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    field: str
    message: str
    def __init__(self, code: _Optional[str] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BatchCheckInResult(_message.Message):
    __slots__ = ("check_in", "error")
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    check_in: CheckInResponse
    error: CheckInError
    def __init__(self, check_in: _Optional[_Union[CheckInResponse, _Mapping]] = ..., error: _Optional[_Union[CheckInError, _Mapping]] = ...) -> None: ...

class BatchCheckInsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchCheckInResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchCheckInResult, _Mapping]]] = ...) -> None: ...

class GetRouteReportRequest(_message.Message):
    __slots__ = ("employee_id", "date", "datum")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    date: str
    datum: Datum
    def __init__(self, employee_id: _Optional[str] = ..., date: _Optional[str] = ..., datum: _Optional[_Union[Datum, str]] = ...) -> None: ...

class RouteItem(_message.Message):
    __slots__ = ("kind", "start_time", "end_time", "location", "client_id", "verified", "minutes", "distance_to_client_m", "id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_TO_CLIENT_M_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    location: _common_pb2.GeoPoint
    client_id: str
    verified: bool
    minutes: float
    distance_to_client_m: float
    id: str
    def __init__(self, kind: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., client_id: _Optional[str] = ..., verified: _Optional[bool] = ..., minutes: _Optional[float] = ..., distance_to_client_m: _Optional[float] = ..., id: _Optional[str] = ...) -> None: ...

class Anomaly(_message.Message):
    __slots__ = ("kind", "time", "detail_json", "rule_id", "pack_version", "pack_id", "ref_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PACK_ID_FIELD_NUMBER: _ClassVar[int]
    REF_ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    time: _timestamp_pb2.Timestamp
    detail_json: str
    rule_id: str
    pack_version: str
    pack_id: str
    ref_id: str
    def __init__(self, kind: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail_json: _Optional[str] = ..., rule_id: _Optional[str] = ..., pack_version: _Optional[str] = ..., pack_id: _Optional[str] = ..., ref_id: _Optional[str] = ...) -> None: ...

class RouteReport(_message.Message):
    __slots__ = ("employee_id", "date", "items", "distance_m", "verified_visits", "anomalies", "summary", "datum")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_VISITS_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    date: str
    items: _containers.RepeatedCompositeFieldContainer[RouteItem]
    distance_m: float
    verified_visits: int
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    summary: EmployeeDay
    datum: Datum
    def __init__(self, employee_id: _Optional[str] = ..., date: _Optional[str] = ..., items: _Optional[_Iterable[_Union[RouteItem, _Mapping]]] = ..., distance_m: _Optional[float] = ..., verified_visits: _Optional[int] = ..., anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ..., summary: _Optional[_Union[EmployeeDay, _Mapping]] = ..., datum: _Optional[_Union[Datum, str]] = ...) -> None: ...

class GetTeamSummaryRequest(_message.Message):
    __slots__ = ("org_unit", "date", "page_size", "page_token")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    date: str
    page_size: int
    page_token: str
    def __init__(self, org_unit: _Optional[str] = ..., date: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class EmployeeDay(_message.Message):
    __slots__ = ("employee_id", "verified_visits", "anomalies", "distance_m", "org_unit", "visits", "location_mismatches", "stops", "stops_at_clients", "dwell_anomalies", "spoofing_suspicions", "first_ping_at", "last_ping_at")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_VISITS_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    VISITS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    STOPS_FIELD_NUMBER: _ClassVar[int]
    STOPS_AT_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    DWELL_ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    SPOOFING_SUSPICIONS_FIELD_NUMBER: _ClassVar[int]
    FIRST_PING_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_PING_AT_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    verified_visits: int
    anomalies: int
    distance_m: float
    org_unit: str
    visits: int
    location_mismatches: int
    stops: int
    stops_at_clients: int
    dwell_anomalies: int
    spoofing_suspicions: int
    first_ping_at: _timestamp_pb2.Timestamp
    last_ping_at: _timestamp_pb2.Timestamp
    def __init__(self, employee_id: _Optional[str] = ..., verified_visits: _Optional[int] = ..., anomalies: _Optional[int] = ..., distance_m: _Optional[float] = ..., org_unit: _Optional[str] = ..., visits: _Optional[int] = ..., location_mismatches: _Optional[int] = ..., stops: _Optional[int] = ..., stops_at_clients: _Optional[int] = ..., dwell_anomalies: _Optional[int] = ..., spoofing_suspicions: _Optional[int] = ..., first_ping_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_ping_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TeamSummary(_message.Message):
    __slots__ = ("org_unit", "date", "employees", "next_page_token")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    date: str
    employees: _containers.RepeatedCompositeFieldContainer[EmployeeDay]
    next_page_token: str
    def __init__(self, org_unit: _Optional[str] = ..., date: _Optional[str] = ..., employees: _Optional[_Iterable[_Union[EmployeeDay, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CloseDayRequest(_message.Message):
    __slots__ = ("date", "request_id")
    DATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    date: str
    request_id: str
    def __init__(self, date: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CloseDayResponse(_message.Message):
    __slots__ = ("summarised",)
    SUMMARISED_FIELD_NUMBER: _ClassVar[int]
    summarised: int
    def __init__(self, summarised: _Optional[int] = ...) -> None: ...
