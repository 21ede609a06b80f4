"""The six services as real processes in ``jwt`` mode on free loopback ports, with dev secrets in a temp dir,
and a seeded bank branch for the console's tests (accounts per role, a planted dwell anomaly, scores).

Tokens are the real thing: users sign in through identity, every service verifies against identity's JWKS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.cli import check_health
from covenant.services import SERVICES
from tests.support.ports import free_port

SH = ZoneInfo("Asia/Shanghai")


@dataclass
class Platform:
    data_dir: Path
    targets: dict[str, str]
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def channel(self, name: str) -> grpc.Channel:
        return grpc.insecure_channel(self.targets[name])

    def admin_password(self) -> str:
        from covenant.secrets import DevSecretsProvider

        return DevSecretsProvider(self.data_dir).get_secret("identity/bootstrap-admin")["password"]


@contextmanager
def running_processes(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Platform]:
    """Start identity first, then the other five; stop them all (SIGTERM) on exit."""
    targets = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
    env.update(
        {
            "COVENANT_DATA_DIR": str(tmp),
            "COVENANT_AUTH_MODE": "jwt",
            "COVENANT_SECRETS_PROVIDER": "dev",
            "COVENANT_LOG_FORMAT": "text",
            "COVENANT_LOG_LEVEL": "WARNING",
            "COVENANT_RULES_POLL_SECONDS": "0.2",
            "COVENANT_RELAY_INTERVAL_SECONDS": "0.1",
            "COVENANT_GRACE_SECONDS": "2",
            **{f"COVENANT_{n.upper()}_TARGET": t for n, t in targets.items()},
            **(extra_env or {}),
        }
    )
    platform = Platform(tmp, targets, env)
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    from covenant.secrets import DevSecretsProvider

    DevSecretsProvider(tmp).get_secret("identity/bootstrap-admin")  # one secrets file before six readers
    try:
        for group in (["identity"], [n for n in SERVICES if n != "identity"]):
            for name in group:
                log = open(tmp / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
                platform.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "covenant.cli", "serve", name],
                    env={**env, "COVENANT_LISTEN": targets[name]},
                    stdout=log,
                    stderr=log,
                )
            _wait_serving({n: targets[n] for n in group}, platform, tmp)
        yield platform
    finally:
        for proc in platform.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in platform.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_serving(targets: dict[str, str], platform: Platform, tmp: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        dead = [n for n in targets if platform.procs[n].poll() is not None]
        if dead:
            logs = "\n".join((tmp / "logs" / f"{n}.log").read_text()[-3000:] for n in dead)
            raise RuntimeError(f"{dead} exited:\n{logs}")
        statuses = check_health(targets, timeout=0.5)
        if all(s == "SERVING" for s in statuses.values()):
            return
        time.sleep(0.3)
    raise RuntimeError(f"not serving after {timeout}s: {statuses}")


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def last_weekday(n: int = 3) -> date:
    """The most recent ISO weekday ``n`` strictly before today (a working day in the past)."""
    d = datetime.now(SH).date() - timedelta(days=1)
    while d.isoweekday() != n:
        d -= timedelta(days=1)
    return d


TEAM = "/hq/b1/t1"
OTHER_TEAM = "/hq/b1/t2"
CLIENT_A = (22.5431, 114.0579)
MALL = (22.5333, 114.0453)
PASSWORD = "correct horse battery staple 9"

# username -> (employee id, org unit, role titles, role)
PEOPLE = {
    "lead": ("L1", TEAM, ["team_lead"], "team_lead"),
    # R1 and R2 also collect (a second title): their scores come from the collector scorecard
    "rep": ("R1", TEAM, ["credit_officer", "collector"], "sales_rep"),
    "rep2": ("R2", TEAM, ["credit_officer", "collector"], "sales_rep"),
    "other": ("R3", OTHER_TEAM, ["credit_officer"], "sales_rep"),
    "owner": ("C1", "/hq/risk", ["operations_risk"], "operations_risk"),
    "owner2": ("C2", "/hq/risk", ["operations_risk"], "operations_risk"),
    "officer": ("K1", "/hq", ["compliance_officer"], "compliance_officer"),
}


@dataclass
class Seeded:
    day: date
    admin_token: str


def seed_branch(platform: Platform) -> Seeded:
    """Org units, employees and accounts for every role; R1's day with a 45-minute mall stop (a dwell anomaly)
    and a verified visit; R3 (another team) with a day of their own; three months of scores for R1."""
    from covenant.attendance.v1 import attendance_pb2 as apb
    from covenant.attendance.v1 import attendance_pb2_grpc
    from covenant.common.v1.common_pb2 import GeoPoint
    from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc, org_pb2

    identity = identity_service_pb2_grpc.IdentityServiceStub(platform.channel("identity"))
    admin = identity.Login(accounts_pb2.LoginRequest(username="admin", password=platform.admin_password()))
    md = [("authorization", f"Bearer {admin.access_token}")]
    for path in ("/hq", "/hq/b1", TEAM, OTHER_TEAM, "/hq/risk"):
        parent = path.rsplit("/", 1)[0] or ""
        identity.CreateOrgUnit(
            org_pb2.CreateOrgUnitRequest(
                org_unit=org_pb2.OrgUnit(path=path, display_name=path.rsplit("/", 1)[-1], parent_path=parent)
            ),
            metadata=md,
        )
    for username, (emp, unit, titles, role) in PEOPLE.items():
        identity.CreateEmployee(
            org_pb2.CreateEmployeeRequest(
                employee=org_pb2.Employee(
                    employee_id=emp,
                    display_name=username,
                    role_titles=titles,
                    org_unit=unit,
                    manager_id="L1" if unit == TEAM and emp != "L1" else "",
                )
            ),
            metadata=md,
        )
        identity.CreateAccount(
            accounts_pb2.CreateAccountRequest(
                account=accounts_pb2.Account(
                    username=username,
                    employee_id=emp,
                    role_assignments=[accounts_pb2.RoleAssignment(role=role, org_unit=unit)],
                ),
                password=PASSWORD,
            ),
            metadata=md,
        )
    day = last_weekday(3)
    att = attendance_pb2_grpc.AttendanceServiceStub(platform.channel("attendance"))
    att.ImportClientPlaces(
        apb.ImportClientPlacesRequest(
            places=[
                apb.ClientPlace(
                    client_id="A",
                    name="客户A",
                    location=GeoPoint(latitude=CLIENT_A[0], longitude=CLIENT_A[1]),
                ),
                apb.ClientPlace(
                    client_id="B",
                    name="客户B",
                    location=GeoPoint(latitude=CLIENT_A[0] + 0.01, longitude=CLIENT_A[1] + 0.01),
                ),
            ]
        ),
        metadata=md,
    )

    for emp, team in (("R1", TEAM), ("R3", OTHER_TEAM)):
        plant_day(platform, md, emp, team, day, mall_minutes=45)
    _seed_scores(platform, md)
    _seed_transcript(platform, md, day)
    return Seeded(day=day, admin_token=admin.access_token)


def plant_day(
    platform: Platform, md: list[tuple[str, str]], emp: str, team: str, day: date, *, mall_minutes: int
) -> None:
    """09:00-09:40 at client A (checked in: a verified visit), then ``mall_minutes`` at a shopping mall
    from 10:00, then 2 km away."""
    from covenant.attendance.v1 import attendance_pb2 as apb
    from covenant.attendance.v1 import attendance_pb2_grpc
    from covenant.common.v1.common_pb2 import GeoPoint

    att = attendance_pb2_grpc.AttendanceServiceStub(platform.channel("attendance"))

    def at(hh: int, mm: int) -> datetime:
        return datetime(day.year, day.month, day.day, hh, 0, tzinfo=SH) + timedelta(minutes=mm)

    def ping(when: datetime, lat: float, lon: float) -> apb.Ping:
        return apb.Ping(
            employee_id=emp,
            org_unit=team,
            device_id="phone",
            location=GeoPoint(latitude=lat, longitude=lon),
            accuracy_m=8.0,
            time=ts(when),
            role="credit_officer",
        )

    # small jitter, as real fixes have (identical fixes in a row look replayed)
    fixes = [ping(at(9, m), CLIENT_A[0] + 0.00003 * (m % 3), CLIENT_A[1]) for m in range(0, 45, 5)]
    fixes += [ping(at(10, m), MALL[0], MALL[1] + 0.00003 * (m % 3)) for m in range(0, mall_minutes + 5, 5)]
    far = (CLIENT_A[0] + 0.01, CLIENT_A[1] + 0.01)
    end = 10 * 60 + mall_minutes + 15
    fixes += [ping(at(end // 60, end % 60 + m), far[0] + 0.00003 * (m % 2), far[1]) for m in range(0, 15, 5)]
    att.IngestPings(apb.IngestPingsRequest(pings=fixes), metadata=md)
    att.CheckIn(
        apb.CheckInRequest(ping=ping(at(9, 5), *CLIENT_A), client_id="A", request_id=f"{emp}-{day}-visit"),
        metadata=md,
    )


TRANSCRIPT = "客户您好，我的手机13812345678。这款理财您放心，保本保息，年化百分之六。"


def _seed_transcript(platform: Platform, md: list[tuple[str, str]], day: date) -> None:
    """A call of R1's with a banned promise (保本保息): compliance opens a case for it."""
    from covenant.compliance.v1 import compliance_pb2 as kpb
    from covenant.compliance.v1 import compliance_pb2_grpc

    compliance = compliance_pb2_grpc.ComplianceServiceStub(platform.channel("compliance"))
    result = compliance.ScanText(
        kpb.ScanTextRequest(
            text_id="call-R1-1",
            employee_id="R1",
            org_unit=TEAM,
            channel="call",
            text=TRANSCRIPT,
            occurred_at=ts(datetime(day.year, day.month, day.day, 15, 0, tzinfo=SH)),
        ),
        metadata=md,
    )
    assert list(result.cases), "the planted promise opened no case"


def recent_periods(n: int = 4) -> list[str]:
    """The ``n`` months before this one, oldest first (``YYYY-MM``)."""
    d = datetime.now(SH).date().replace(day=1)
    out = []
    for _ in range(n):
        d = (d - timedelta(days=1)).replace(day=1)
        out.append(d.strftime("%Y-%m"))
    return out[::-1]


def _seed_scores(platform: Platform, md: list[tuple[str, str]]) -> None:
    """R1's recovery rate falls for three months (an attrition-risk signal); R2 holds steady."""
    from covenant.scoring.v1 import scoring_pb2 as spb
    from covenant.scoring.v1 import scoring_pb2_grpc

    scoring = scoring_pb2_grpc.ScoringServiceStub(platform.channel("scoring"))
    for period, rate in zip(recent_periods(4), ("0.95", "0.90", "0.85", "0.80"), strict=True):
        values = [
            spb.MetricValue(
                employee_id=emp,
                org_unit=TEAM,
                role="collector",
                period=period,
                metric=metric,
                value=value,
                mode="set",
                source="collections-system",
            )
            for emp, r in (("R1", rate), ("R2", "0.90"))
            for metric, value in (("recovery_rate", r), ("complaint_rate", "0.02"), ("compliance", "100"))
        ]
        scoring.RecordMetrics(spb.RecordMetricsRequest(values=values), metadata=md)
        scoring.ComputeScores(spb.ComputeScoresRequest(period=period, org_unit="/hq"), metadata=md)
