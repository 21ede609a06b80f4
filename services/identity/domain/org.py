"""Org units (a path tree) and employees, with validation and masking of sensitive fields."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import date

from covenant.errors import InvalidArgument

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_NATIONAL_ID = re.compile(r"^[0-9]{17}[0-9Xx]$|^[0-9]{15}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
_BANK_CARD = re.compile(r"^[0-9]{12,19}$")

SENSITIVE_FIELDS = ("national_id", "phone", "bank_card")


class EmployeeStatus(enum.StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


def validate_org_path(path: str, field_name: str = "path") -> str:
    """A normalised org unit path ("/hq/branch-1"); raises InvalidArgument naming ``field_name``."""
    if not path or not path.startswith("/"):
        raise InvalidArgument("must be an absolute org unit path like /hq/branch-1", field=field_name)
    path = path.rstrip("/")
    segments = path.split("/")[1:]
    if not segments or not all(_SEGMENT.match(s) for s in segments):
        raise InvalidArgument("segments must be 1-64 letters, digits, '-', '_' or '.'", field=field_name)
    if len(segments) > 16:
        raise InvalidArgument("org tree deeper than 16 levels", field=field_name)
    return path


def parent_of(path: str) -> str:
    """The parent path, or "" for a root unit."""
    head = path.rsplit("/", 1)[0]
    return head


def is_under(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or below it."""
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


@dataclass(frozen=True)
class OrgUnit:
    path: str
    display_name: str = ""

    @property
    def parent_path(self) -> str:
        return parent_of(self.path)


def new_org_unit(path: str, display_name: str, field_prefix: str = "org_unit") -> OrgUnit:
    """A validated OrgUnit (the parent's existence is checked by the caller)."""
    p = validate_org_path(path, f"{field_prefix}.path")
    name = display_name.strip() or p.rsplit("/", 1)[1]
    if len(name) > 200:
        raise InvalidArgument("at most 200 characters", field=f"{field_prefix}.display_name")
    return OrgUnit(p, name)


@dataclass(frozen=True)
class Employee:
    """A person; sensitive fields hold plaintext in the domain (encrypted by the storage adapter)."""

    employee_id: str
    display_name: str
    org_unit: str
    role_titles: tuple[str, ...] = ()
    manager_id: str = ""
    status: EmployeeStatus = EmployeeStatus.ACTIVE
    hire_date: date | None = None
    national_id: str = ""
    phone: str = ""
    bank_card: str = ""
    masked: bool = field(default=False, compare=False)


def validate_employee(e: Employee, field_prefix: str = "employee") -> Employee:
    """Check and normalise an employee's own fields; raises InvalidArgument naming the field."""

    def f(name: str) -> str:
        return f"{field_prefix}.{name}"

    if not _EMPLOYEE_ID.match(e.employee_id):
        raise InvalidArgument("1-32 letters, digits, '-' or '_'", field=f("employee_id"))
    display = e.display_name.strip()
    if not display or len(display) > 200:
        raise InvalidArgument("required, at most 200 characters", field=f("display_name"))
    org = validate_org_path(e.org_unit, f("org_unit"))
    if e.manager_id and not _EMPLOYEE_ID.match(e.manager_id):
        raise InvalidArgument("not an employee id", field=f("manager_id"))
    if e.manager_id == e.employee_id:
        raise InvalidArgument("an employee cannot manage themselves", field=f("manager_id"))
    national_id = e.national_id.strip().upper()
    if national_id and not _NATIONAL_ID.match(national_id):
        raise InvalidArgument("must be an 18-character (or 15-digit) ID number", field=f("national_id"))
    phone = e.phone.strip()
    if phone and not _PHONE.match(phone):
        raise InvalidArgument("not a phone number", field=f("phone"))
    card = e.bank_card.replace(" ", "")
    if card and not _BANK_CARD.match(card):
        raise InvalidArgument("must be 12-19 digits", field=f("bank_card"))
    return replace(
        e,
        display_name=display,
        org_unit=org,
        role_titles=tuple(t.strip() for t in e.role_titles if t.strip()),
        national_id=national_id,
        phone=phone,
        bank_card=card,
    )


def parse_hire_date(value: str, field_name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("must be a date YYYY-MM-DD", field=field_name) from None


def mask_value(value: str, keep_start: int, keep_end: int) -> str:
    """``value`` with everything but the first/last characters replaced by '*'."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def masked(e: Employee) -> Employee:
    """The employee as a caller without the unmask permission sees them."""
    return replace(
        e,
        national_id=mask_value(e.national_id, 3, 4),
        phone=mask_value(e.phone, 3, 4),
        bank_card=mask_value(e.bank_card, 0, 4),
        masked=True,
    )
