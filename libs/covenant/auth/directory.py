"""Who an employee is (org unit, job role, manager chain) as the directory (identity) says, never the caller.

A request names *which* employee; ``Directory.resolve`` looks up *who* they are. Entries come from identity's
``identity.employee.changed`` events (pushed through the outbox to every service, see ``observe_event``) and,
on a miss, from ``IdentityService.GetEmployee`` with the service's own token (cached for ``ttl_seconds``).
A request that still asserts an org unit or role which differs from the directory is refused
(INVALID_ARGUMENT naming the field), never silently honoured. When identity cannot be reached and the
employee is not cached, the write fails closed (UNAVAILABLE).

``trust_requests`` exists only for ``COVENANT_AUTH_MODE=dev`` (``make up``/``make demo`` without a populated
directory): an employee identity does not know is then described by the request, as before. It is never set
in ``jwt`` mode.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from covenant.auth.principal import DataOwner, Principal, Scope
from covenant.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable

EMPLOYEE_CHANGED = "identity.employee.changed"
IDENTITY_ACCOUNT = "serviceAccounts/identity"
MAX_CHAIN = 32  # manager chains longer than this are cut (and a cycle stops the walk)


@dataclass(frozen=True)
class DirectoryEntry:
    """The directory's facts about one employee."""

    employee_id: str
    org_unit: str
    role_titles: tuple[str, ...] = ()
    manager_id: str = ""
    status: str = "ACTIVE"  # ACTIVE, ON_LEAVE, LEFT

    @property
    def role(self) -> str:
        """The primary job role (first title), used for per-role rule parameters."""
        return self.role_titles[0] if self.role_titles else ""

    @property
    def owner(self) -> DataOwner:
        return DataOwner(self.employee_id, self.org_unit)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> DirectoryEntry:
        """From an ``identity.employee.changed`` event's data."""
        titles = data.get("role_titles") or ()
        return cls(
            employee_id=str(data.get("employee_id", "")),
            org_unit=str(data.get("org_unit", "")).rstrip("/"),
            role_titles=tuple(str(t) for t in titles),
            manager_id=str(data.get("manager_id", "") or ""),
            status=str(data.get("status", "ACTIVE") or "ACTIVE"),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "org_unit": self.org_unit,
            "role_titles": list(self.role_titles),
            "manager_id": self.manager_id,
            "status": self.status,
        }


class NotInDirectory(Exception):
    """Raised by a fetch function when identity has no such employee."""


# Fetches one employee from identity: returns the entry, raises NotInDirectory or Unavailable.
Fetch = Callable[[str], DirectoryEntry]


class Directory:
    """A service's cached view of identity's directory (thread-safe)."""

    def __init__(
        self,
        fetch: Fetch | None,
        *,
        ttl_seconds: float = 300.0,
        negative_ttl_seconds: float = 5.0,
        down_seconds: float = 2.0,
        trust_requests: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl_seconds
        self.negative_ttl = negative_ttl_seconds
        # After identity failed to answer, uncached look-ups fail at once for this long (fail closed and
        # fast: no worker waits out another timeout while identity is down).
        self.down_seconds = down_seconds
        self._down_until = float("-inf")
        self._down_reason = ""
        self.trust_requests = trust_requests
        self._clock = clock
        self._lock = threading.Lock()
        # employee id -> (entry or None for "not in the directory", expiry; inf for event-fed entries)
        self._cache: dict[str, tuple[DirectoryEntry | None, float]] = {}

    # -- feeding -----------------------------------------------------------------------------------------
    def observe(self, entry: DirectoryEntry) -> None:
        """Record what identity published (events keep the cache fresh, so these entries do not expire)."""
        with self._lock:
            self._cache[entry.employee_id] = (entry, float("inf"))

    def observe_event(self, event: Any, sender: Principal | None = None) -> bool:
        """Feed an ``identity.employee.changed`` event; True when it was one.

        Only identity's service account may tell a service who someone is: the same event delivered by
        anyone else (``sender``, the delivering caller) is refused, naming the permission.
        """
        if event.type != EMPLOYEE_CHANGED:
            return False
        from_identity = sender is None or (sender.kind == "service" and sender.subject == IDENTITY_ACCOUNT)
        if event.source != "identity" or not (from_identity or self.trust_requests):
            raise PermissionDenied(
                "events.deliveries.write",
                f"{EMPLOYEE_CHANGED} is accepted only from identity's service account ({IDENTITY_ACCOUNT})",
            )
        from covenant.structs import struct_dict

        entry = DirectoryEntry.from_data(struct_dict(event.data))
        if entry.employee_id:
            self.observe(entry)
        return True

    # -- reading -----------------------------------------------------------------------------------------
    def find(self, employee_id: str) -> DirectoryEntry | None:
        """The entry, or None when identity has no such employee; raises Unavailable when it cannot say."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(employee_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        if self._fetch is None:
            raise Unavailable("no directory is configured: identity attributes cannot be looked up")
        if now < self._down_until:
            raise Unavailable(f"{self._down_reason} (not retried for {self.down_seconds:g} s)")
        try:
            entry: DirectoryEntry | None = self._fetch(employee_id)
            expiry = now + self.ttl
        except NotInDirectory:
            entry, expiry = None, now + self.negative_ttl
        except Unavailable as exc:
            with self._lock:
                self._down_until = self._clock() + self.down_seconds
                self._down_reason = exc.message
            raise
        with self._lock:
            current = self._cache.get(employee_id)
            if current is None or current[1] != float("inf"):  # an event that raced in wins
                self._cache[employee_id] = (entry, expiry)
            else:
                entry = current[0]
        return entry

    def prefetch(self, employee_ids: Iterable[str], *, workers: int = 16) -> None:
        """Look up the ids not cached yet concurrently (a batch would otherwise wait for one identity round
        trip per unknown employee in turn); failures are left for ``find`` to raise in its place."""
        now = self._clock()
        with self._lock:
            missing = [
                e
                for e in dict.fromkeys(employee_ids)
                if e and not (e in self._cache and self._cache[e][1] > now)
            ]
        if len(missing) < 2 or self._fetch is None:
            return
        from concurrent.futures import ThreadPoolExecutor

        def quietly(employee_id: str) -> None:
            with contextlib.suppress(Exception):  # find raises it again, in the request that needs it
                self.find(employee_id)

        with ThreadPoolExecutor(min(workers, len(missing)), thread_name_prefix="directory-prefetch") as pool:
            list(pool.map(quietly, missing))

    def manager_chain(self, employee_id: str) -> tuple[str, ...]:
        """Managers from the direct one upwards (cycles and chains past ``MAX_CHAIN`` are cut)."""
        chain: list[str] = []
        seen = {employee_id}
        entry = self.find(employee_id)
        while entry is not None and entry.manager_id and entry.manager_id not in seen:
            if len(chain) >= MAX_CHAIN:
                break
            chain.append(entry.manager_id)
            seen.add(entry.manager_id)
            entry = self.find(entry.manager_id)
        return tuple(chain)

    def reports_to(self, employee_id: str, manager_id: str) -> bool:
        """Whether ``manager_id`` is in ``employee_id``'s manager chain; the walk stops where it is found,
        so only the entries below the caller are looked up."""
        seen = {employee_id}
        entry = self.find(employee_id)
        while entry is not None and entry.manager_id and entry.manager_id not in seen:
            if entry.manager_id == manager_id:
                return True
            if len(seen) > MAX_CHAIN:
                break
            seen.add(entry.manager_id)
            entry = self.find(entry.manager_id)
        return False

    def resolve(
        self,
        employee_id: str,
        *,
        org_unit: str = "",
        role: str = "",
        field: str = "",
    ) -> DirectoryEntry:
        """The directory's entry for ``employee_id``, refusing a request that asserts something else.

        ``org_unit``/``role`` are what the request claimed (deprecated fields; "" when not sent); ``field``
        prefixes the field names in errors (e.g. ``pings[3]`` gives ``pings[3].org_unit``).
        """
        prefix = f"{field}." if field else ""
        if not employee_id:
            raise InvalidArgument("is required", field=f"{prefix}employee_id")
        try:
            entry = self.find(employee_id)
        except Unavailable:
            if not self.trust_requests:
                raise
            entry = None
        if entry is None:
            if self.trust_requests:
                return DirectoryEntry(employee_id, org_unit.rstrip("/"), (role,) if role else ())
            raise FailedPrecondition(
                f"employee {employee_id} is not in the directory (identity); create the employee first"
            )
        claimed = org_unit.rstrip("/")
        if claimed and claimed != entry.org_unit:
            raise InvalidArgument(
                f"{claimed!r} does not match the directory: employee {employee_id} is in "
                f"{entry.org_unit!r} (identity attributes come from the directory; leave this field empty)",
                field=f"{prefix}org_unit",
            )
        if role and role not in entry.role_titles:
            raise InvalidArgument(
                f"{role!r} does not match the directory: employee {employee_id} has roles "
                f"{list(entry.role_titles)} (identity attributes come from the directory; leave it empty)",
                field=f"{prefix}role",
            )
        if entry.status == "LEFT":
            raise FailedPrecondition(f"employee {employee_id} has left; nothing more is recorded for them")
        return entry


def require_line(
    directory: Directory | None, principal: Principal, employee_id: str, permission: str, action: str
) -> None:
    """Chain of command: a grant scoped to a team or subtree is a line manager's, and it reaches only the
    people who report to the caller (directly or further down the directory's manager chain).

    Raises PermissionDenied naming ``permission`` when a user whose grant for it is ``team``/``subtree`` is
    not in ``employee_id``'s manager chain (a lead acting on a peer, on another lead's report in the same
    unit, or on anyone their org unit merely contains). Remit-wide grants (``all``: HR, service accounts)
    are not line authority and pass; so does everything when no directory is wired (in-process tools).
    """
    if directory is None or principal.kind != "user" or not principal.employee_id:
        return
    if principal.scope_for(permission) not in (Scope.TEAM, Scope.SUBTREE):
        return
    try:
        if directory.reports_to(employee_id, principal.employee_id):
            return
    except Unavailable:
        if directory.trust_requests:  # dev mode without identity: requests describe people, as before
            return
        raise
    if directory.trust_requests and directory.find(employee_id) is None:
        return
    raise PermissionDenied(
        permission,
        f"chain of command: {principal.employee_id} may {action} only for people who report to them, "
        f"and {employee_id} does not (per the directory)",
    )


def forbid_line(
    directory: Directory | None, principal: Principal, employee_id: str, permission: str, action: str
) -> None:
    """Independence: nobody decides about someone who reports to them (e.g. a compliance case about one
    of their own people). Raises PermissionDenied naming ``permission`` when the caller is in
    ``employee_id``'s manager chain."""
    if directory is None or principal.kind != "user" or not principal.employee_id:
        return
    try:
        reports = directory.reports_to(employee_id, principal.employee_id)
    except Unavailable:
        if directory.trust_requests:
            return
        raise
    if reports:
        raise PermissionDenied(
            permission,
            f"independence: {principal.employee_id} may not {action} of {employee_id}, who reports to them",
        )


def identity_fetch(channel_for: Callable[[], Any], timeout: float = 2.0) -> Fetch:
    """A fetch function calling ``IdentityService.GetEmployee`` on the channel ``channel_for()`` returns
    (the service's own channel to identity, which carries its service-account token)."""

    def fetch(employee_id: str) -> DirectoryEntry:
        import grpc

        from covenant.identity.v1 import identity_service_pb2_grpc, org_pb2

        stub = identity_service_pb2_grpc.IdentityServiceStub(channel_for())
        try:
            e = stub.GetEmployee(org_pb2.GetEmployeeRequest(name=f"employees/{employee_id}"), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotInDirectory(employee_id) from None
            raise Unavailable(
                f"the directory (identity) cannot be reached to look up employee {employee_id}: "
                f"{exc.code().name}"
            ) from None
        status = org_pb2.EmployeeStatus.Name(e.status).removeprefix("EMPLOYEE_STATUS_")
        return DirectoryEntry(
            e.employee_id,
            e.org_unit.rstrip("/"),
            tuple(e.role_titles),
            e.manager_id,
            "ACTIVE" if status == "UNSPECIFIED" else status,
        )

    return fetch


def directory_for(ctx: Any) -> Directory:
    """The directory a service process uses: identity over its chassis channel; requests are trusted for
    unknown employees only in ``dev`` auth mode."""
    env = ctx.settings.env
    ttl = float(env.get("COVENANT_DIRECTORY_TTL_SECONDS", "300"))
    return Directory(
        identity_fetch(lambda: ctx.channel("identity")),
        ttl_seconds=ttl,
        down_seconds=float(env.get("COVENANT_DIRECTORY_DOWN_SECONDS", "2")),
        trust_requests=ctx.settings.auth_mode == "dev",
    )


def _sender() -> Principal | None:
    """The caller delivering the events being handled (None outside an RPC)."""
    from covenant.errors import Unauthenticated
    from covenant.grpc.context import current_principal

    try:
        return current_principal()
    except Unauthenticated:
        return None


def with_directory(directory: Directory, handler: Callable[..., None] | None) -> Callable[..., None]:
    """An event handler that feeds identity's employee events to ``directory`` and passes the rest on."""

    def handle(session: Any, event: Any) -> None:
        if directory.observe_event(event, _sender()):
            return
        if handler is not None:
            handler(session, event)

    return handle


def with_directory_batch(
    directory: Directory, handler: Callable[..., None] | None
) -> Callable[..., None] | None:
    """The batch form of ``with_directory`` (None stays None: the chassis then uses the single handler)."""
    if handler is None:
        return None

    def handle(session: Any, events: Any) -> None:
        sender = _sender()
        rest = [e for e in events if not directory.observe_event(e, sender)]
        if rest:
            handler(session, rest)

    return handle
