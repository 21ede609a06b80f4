"""Rule tooling sees only what the caller's scope allows, personal data masked (issue 15: a team lead ran
DryRunRulePack with no inputs and a ``str(event)`` parameter and read other teams' events, phone numbers
included). Real gRPC in jwt mode on the points service, with the shipped role grants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.points.v1 import points_pb2, points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as pb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from tests.support.directory import employee as directory_entry
from tests.support.directory import publish_employees

ROOT = Path(__file__).resolve().parents[2]
GRANTS = yaml.safe_load((ROOT / "rules/identity/roles.yaml").read_text())["parameters"]["role_grants"][
    "default"
]
MINE, OTHER = "/hq/b1/team-1", "/hq/b1/team-2"
PHONES = {"E1": "13812345678", "E9": "13987654321"}


def leak(*fields: str) -> str:
    """A probe pack whose award reason reads the event's ``fields`` out (``str(event)`` itself is refused
    by the expression language now: str() takes scalars only)."""
    expr = " + ' ' + ".join(f"str(event.{f})" for f in fields)
    return f"""\
id: points-probe
version: "1"
service: points
owner: sales-operations
rules:
  - id: leak
    when: {{event.type: {{eq: loan_completed}}}}
    then: [{{action: award, params: {{points: 1, reason: {{expr: "{expr}"}}}}}}]
"""


LEAK = leak("employee_id", "org_unit", "client_name", "client_phone")


def person(svc: RunningService, who: str, role: str, org_unit: str) -> list[tuple[str, str]]:
    return bearer(svc.tokens.user(who, org_unit, dict(GRANTS[role]), roles=(role,)))


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("points", db_url=f"sqlite:///{tmp_path}/points.db", data_dir=tmp_path) as s:
        now = Timestamp()
        now.FromDatetime(datetime.now(UTC))
        events = []
        for employee, unit in (("E1", MINE), ("E9", OTHER)):
            e = points_pb2.BusinessEvent(
                id=f"loan-{employee}",
                type="loan_completed",
                employee_id=employee,
                org_unit=unit,
                occurred_at=now,
            )
            e.data.update({"client_phone": PHONES[employee], "client_name": f"client of {employee}"})
            events.append(e)
        publish_employees(
            s, [directory_entry("E1", MINE, "sales_rep"), directory_entry("E9", OTHER, "sales_rep")]
        )
        system = bearer(s.tokens.service("crm", {"points.events.write": "all"}))
        resp = points_pb2_grpc.PointsServiceStub(s.channel).RecordEvents(
            points_pb2.RecordEventsRequest(events=events), metadata=system
        )
        assert resp.applied == 2
        yield s


def reasons(resp: pb.DryRunRulePackResponse) -> str:
    return " ".join(a.params["reason"] for r in resp.results for a in r.candidate_actions)


def test_a_team_lead_dry_run_over_recent_events_sees_only_their_team_masked(svc: RunningService) -> None:
    s = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    lead = person(svc, "L1", "team_lead", MINE)
    resp = s.DryRunRulePack(pb.DryRunRulePackRequest(candidate_yaml=LEAK), metadata=lead)
    assert [r.event_type for r in resp.results] == ["loan_completed"] and resp.events == 1
    text = reasons(resp)
    assert "client of E1" in text and "138****5678" in text  # their own team's event, the phone masked
    assert PHONES["E1"] not in text and "E9" not in text and "139" not in text

    rep = person(svc, "E5", "sales_rep", MINE)  # no rules.packs.read at all
    with pytest.raises(Exception) as err:
        s.DryRunRulePack(pb.DryRunRulePackRequest(candidate_yaml=LEAK), metadata=rep)
    assert "rules.packs.read" in str(err.value)

    auditor = person(svc, "A1", "auditor", "/hq")  # scope all: every event, still masked
    text = reasons(s.DryRunRulePack(pb.DryRunRulePackRequest(candidate_yaml=LEAK), metadata=auditor))
    assert "client of E1" in text and "client of E9" in text
    assert all(phone not in text for phone in PHONES.values()) and "139****4321" in text


def test_caller_supplied_inputs_and_errors_come_back_masked(svc: RunningService) -> None:
    s = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    lead = person(svc, "L1", "team_lead", MINE)
    event = Event(id="x1", type="loan_completed", subject="employees/E9", org_unit=OTHER)
    event.data.update({"national_id": "110101199003071234", "card": "6222 0212 3456 7890"})
    resp = s.DryRunRulePack(
        pb.DryRunRulePackRequest(
            candidate_yaml=leak("subject", "national_id", "card"), inputs=[pb.DryRunInput(event=event)]
        ),
        metadata=lead,
    )
    text = reasons(resp)
    assert "employees/E9" in text  # the caller's own input is evaluated (and its numbers masked)
    assert "110101199003071234" not in text and "1234" in text and "6222 0212" not in text


def test_the_approval_request_dry_run_is_scoped_to_the_approver(svc: RunningService) -> None:
    s = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    hr = person(svc, "H1", "hr", "/hq")
    v = s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=LEAK), metadata=hr)
    lead = person(svc, "L1", "team_lead", MINE)
    as_lead = s.GetApprovalRequest(pb.GetApprovalRequestRequest(name=v.name), metadata=lead)
    assert as_lead.dry_run.events == 1 and "E9" not in reasons(as_lead.dry_run)
    as_hr = s.GetApprovalRequest(pb.GetApprovalRequestRequest(name=v.name), metadata=hr)
    assert as_hr.dry_run.events == 2
    assert all(phone not in reasons(as_hr.dry_run) for phone in PHONES.values())
