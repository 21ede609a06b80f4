"""Domain errors. Pure Python: domain code raises these, the gRPC adapter maps them to status codes.

Every error carries a human message; errors about input name the offending field, errors about
authorization name the permission. Messages never contain secrets or stack traces.
"""

from __future__ import annotations


class CovenantError(Exception):
    """Base of all expected errors. ``code`` is the canonical gRPC status name."""

    code = "UNKNOWN"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = f"{field}: {message}" if field and not message.startswith(f"{field}:") else message
        super().__init__(self.message)


class InvalidArgument(CovenantError):
    """The request is malformed; ``field`` names the offending field (e.g. ``pings[3].latitude``)."""

    code = "INVALID_ARGUMENT"


class NotFound(CovenantError):
    code = "NOT_FOUND"


class AlreadyExists(CovenantError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(CovenantError):
    """The system is not in a state the operation needs (e.g. illegal state transition)."""

    code = "FAILED_PRECONDITION"


class Aborted(CovenantError):
    """A concurrency conflict; the caller may retry."""

    code = "ABORTED"


class ResourceExhausted(CovenantError):
    code = "RESOURCE_EXHAUSTED"


class Unauthenticated(CovenantError):
    code = "UNAUTHENTICATED"


class PermissionDenied(CovenantError):
    """The caller lacks ``permission`` (or it does not cover the target data)."""

    code = "PERMISSION_DENIED"

    def __init__(self, permission: str, detail: str = "") -> None:
        self.permission = permission
        msg = f"permission {permission} required"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class Unavailable(CovenantError):
    code = "UNAVAILABLE"


class DeadlineExceeded(CovenantError):
    code = "DEADLINE_EXCEEDED"
