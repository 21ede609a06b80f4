import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmployeeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMPLOYEE_STATUS_UNSPECIFIED: _ClassVar[EmployeeStatus]
    EMPLOYEE_STATUS_ACTIVE: _ClassVar[EmployeeStatus]
    EMPLOYEE_STATUS_ON_LEAVE: _ClassVar[EmployeeStatus]
    EMPLOYEE_STATUS_LEFT: _ClassVar[EmployeeStatus]
EMPLOYEE_STATUS_UNSPECIFIED: EmployeeStatus
EMPLOYEE_STATUS_ACTIVE: EmployeeStatus
EMPLOYEE_STATUS_ON_LEAVE: EmployeeStatus
EMPLOYEE_STATUS_LEFT: EmployeeStatus

class OrgUnit(_message.Message):
    __slots__ = ("path", "display_name", "parent_path", "create_time")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_PATH_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    path: str
    display_name: str
    parent_path: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, path: _Optional[str] = ..., display_name: _Optional[str] = ..., parent_path: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Employee(_message.Message):
    __slots__ = ("name", "employee_id", "display_name", "role_titles", "org_unit", "manager_id", "status", "hire_date", "national_id", "phone", "bank_card", "masked", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_TITLES_FIELD_NUMBER: _ClassVar[int]
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    BANK_CARD_FIELD_NUMBER: _ClassVar[int]
    MASKED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    employee_id: str
    display_name: str
    role_titles: _containers.RepeatedScalarFieldContainer[str]
    org_unit: str
    manager_id: str
    status: EmployeeStatus
    hire_date: str
    national_id: str
    phone: str
    bank_card: str
    masked: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., employee_id: _Optional[str] = ..., display_name: _Optional[str] = ..., role_titles: _Optional[_Iterable[str]] = ..., org_unit: _Optional[str] = ..., manager_id: _Optional[str] = ..., status: _Optional[_Union[EmployeeStatus, str]] = ..., hire_date: _Optional[str] = ..., national_id: _Optional[str] = ..., phone: _Optional[str] = ..., bank_card: _Optional[str] = ..., masked: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateOrgUnitRequest(_message.Message):
    __slots__ = ("org_unit", "request_id")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    org_unit: OrgUnit
    request_id: str
    def __init__(self, org_unit: _Optional[_Union[OrgUnit, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetOrgUnitRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class ListOrgUnitsRequest(_message.Message):
    __slots__ = ("root_path", "page_size", "page_token")
    ROOT_PATH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    root_path: str
    page_size: int
    page_token: str
    def __init__(self, root_path: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrgUnitsResponse(_message.Message):
    __slots__ = ("org_units", "next_page_token")
    ORG_UNITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_units: _containers.RepeatedCompositeFieldContainer[OrgUnit]
    next_page_token: str
    def __init__(self, org_units: _Optional[_Iterable[_Union[OrgUnit, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateEmployeeRequest(_message.Message):
    __slots__ = ("employee", "request_id")
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    request_id: str
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetEmployeeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListEmployeesRequest(_message.Message):
    __slots__ = ("org_unit", "page_size", "page_token")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_unit: str
    page_size: int
    page_token: str
    def __init__(self, org_unit: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEmployeesResponse(_message.Message):
    __slots__ = ("employees", "next_page_token")
    EMPLOYEES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    employees: _containers.RepeatedCompositeFieldContainer[Employee]
    next_page_token: str
    def __init__(self, employees: _Optional[_Iterable[_Union[Employee, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateEmployeeRequest(_message.Message):
    __slots__ = ("employee", "update_mask", "request_id")
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ImportRecord(_message.Message):
    __slots__ = ("org_unit", "employee")
    ORG_UNIT_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    org_unit: OrgUnit
    employee: Employee
    def __init__(self, org_unit: _Optional[_Union[OrgUnit, _Mapping]] = ..., employee: _Optional[_Union[Employee, _Mapping]] = ...) -> None: ...

class ImportDirectoryResponse(_message.Message):
    __slots__ = ("org_units_created", "employees_created", "employees_updated")
    ORG_UNITS_CREATED_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_CREATED_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEES_UPDATED_FIELD_NUMBER: _ClassVar[int]
    org_units_created: int
    employees_created: int
    employees_updated: int
    def __init__(self, org_units_created: _Optional[int] = ..., employees_created: _Optional[int] = ..., employees_updated: _Optional[int] = ...) -> None: ...
