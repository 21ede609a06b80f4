"""The demo world in identity's directory, and one console account per role to look at it with.

Accounts (password generated per run, printed once and kept 0600 in the demo's data dir):
lead (the team lead of the first planted mall dwell), rep (a rep of that team), officer (compliance
officer), hr, owner and owner2 (operations risk: they own the attendance pack, so a threshold change
by one is approved by the other).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from covenant.demo.generator import World
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc, org_pb2

RISK_UNIT = "/hq/risk"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    employee_id: str
    role: str
    org_unit: str
    note: str


def _records(world: World) -> Iterator[org_pb2.ImportRecord]:
    for unit in sorted({*world.org_units, RISK_UNIT}, key=lambda u: u.count("/")):
        parent = unit.rsplit("/", 1)[0]
        yield org_pb2.ImportRecord(
            org_unit=org_pb2.OrgUnit(path=unit, display_name=unit.rsplit("/", 1)[-1], parent_path=parent)
        )
    for e in world.employees:
        yield org_pb2.ImportRecord(
            employee=org_pb2.Employee(
                employee_id=e.id,
                display_name=e.name,
                role_titles=[e.role],
                org_unit=e.org_unit,
                manager_id=e.manager_id,
            )
        )
    for emp, title in (("OR1", "operations_risk"), ("OR2", "operations_risk"), ("CO1", "compliance_officer")):
        yield org_pb2.ImportRecord(
            employee=org_pb2.Employee(
                employee_id=emp, display_name=emp, role_titles=[title], org_unit=RISK_UNIT
            )
        )
    yield org_pb2.ImportRecord(
        employee=org_pb2.Employee(employee_id="HR1", display_name="HR1", role_titles=["hr"], org_unit="/hq")
    )


def import_directory(channel: grpc.Channel, world: World) -> org_pb2.ImportDirectoryResponse:
    """Org units and employees of ``world`` into identity (idempotent: a re-run updates)."""
    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
    return stub.ImportDirectory(_records(world), timeout=120)


def plan_accounts(world: World) -> list[DemoAccount]:
    dweller = next((emp for d in world.days for emp, _ in d.planted_dwell), world.employees[-1].id)
    staff = {e.id: e for e in world.employees}
    team = staff[dweller].org_unit
    lead = next(e for e in world.employees if e.role == "team_lead" and e.org_unit == team)
    return [
        DemoAccount(
            "lead", lead.id, "team_lead", team, f"team lead of {team} (a planted mall dwell: {dweller})"
        ),
        DemoAccount("rep", dweller, "sales_rep", team, "a rep of that team: sees only their own data"),
        DemoAccount("officer", "CO1", "compliance_officer", RISK_UNIT, "works the case queue"),
        DemoAccount("hr", "HR1", "hr", "/hq", "scores, signals, goals"),
        DemoAccount(
            "owner", "OR1", "operations_risk", RISK_UNIT, "owns the attendance pack: edits thresholds"
        ),
        DemoAccount("owner2", "OR2", "operations_risk", RISK_UNIT, "approves owner's changes"),
    ]


def create_accounts(channel: grpc.Channel, world: World, data_dir: Path) -> tuple[list[DemoAccount], str]:
    """The planned accounts (created once; a re-run reuses them) and the demo password."""
    path = data_dir / "demo-accounts.txt"
    if path.exists():
        password = path.read_text().split("password: ", 1)[1].split()[0]
    else:
        password = secrets.token_urlsafe(9)
    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
    accounts = plan_accounts(world)
    for a in accounts:
        try:
            stub.CreateAccount(
                accounts_pb2.CreateAccountRequest(
                    account=accounts_pb2.Account(
                        username=a.username,
                        employee_id=a.employee_id,
                        role_assignments=[accounts_pb2.RoleAssignment(role=a.role, org_unit=a.org_unit)],
                    ),
                    password=password,
                    request_id=f"demo-account-{a.username}",
                ),
                timeout=10,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"password: {password}\n" + "".join(f"{a.username}\t{a.role}\t{a.note}\n" for a in accounts))
    return accounts, password
