"""Accounts: usernames, password rules, failed-login counts (throttling lives in ``throttle``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from covenant.errors import InvalidArgument

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class RoleAssignment:
    """A role anchored at an org unit ("" = the employee's own unit)."""

    role: str
    org_unit: str = ""


@dataclass(frozen=True)
class Account:
    username: str
    employee_id: str
    password_hash: str
    role_assignments: tuple[RoleAssignment, ...] = ()
    failed_attempts: int = 0
    locked_until: datetime | None = None
    disabled: bool = False

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def validate_username(username: str, field_name: str = "account.username") -> str:
    u = username.strip().lower()
    if not _USERNAME.match(u):
        raise InvalidArgument("2-64 lower-case letters, digits, '.', '_' or '-'", field=field_name)
    return u


def validate_client_id(client_id: str, field_name: str = "service_account.client_id") -> str:
    if not _CLIENT_ID.match(client_id):
        raise InvalidArgument("2-64 lower-case letters, digits, '.', '_' or '-'", field=field_name)
    return client_id


def validate_password(password: str, field_name: str = "password") -> str:
    """At least 10 characters, not all of one class."""
    if len(password) < 10:
        raise InvalidArgument("at least 10 characters", field=field_name)
    if len(password) > 256:
        raise InvalidArgument("at most 256 characters", field=field_name)
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 2:
        raise InvalidArgument("mix at least two of lower, upper, digits, symbols", field=field_name)
    return password


def counted_failure(account: Account) -> Account:
    """The account after a wrong password: the failure is counted (shown to administrators), nothing is
    locked. Guessing is throttled by source instead (``services.identity.domain.throttle``)."""
    return replace(account, failed_attempts=account.failed_attempts + 1)


def after_success(account: Account) -> Account:
    """The account after a successful login: failures forgotten."""
    return replace(account, failed_attempts=0, locked_until=None)


def unlocked(account: Account) -> Account:
    return replace(account, failed_attempts=0, locked_until=None)
