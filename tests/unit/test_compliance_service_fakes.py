"""The compliance scan → case and case transition use cases over the in-memory store: the same service
logic as tests/integration/test_compliance_grpc.py, with no database and no gRPC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from covenant.auth import Principal, parse_permissions
from covenant.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from covenant.rules import CompiledPack, parse_pack
from covenant.rules.runtime import RuleRuntime
from services.compliance.actions import VOCABULARY
from services.compliance.behaviour import Contact
from services.compliance.scanning import TextIn
from services.compliance.service import ComplianceService
from tests.support.fakes.compliance import FakeComplianceStore

TEAM = "/hq/futian/team-01"
NOW = datetime(2026, 9, 1, 3, tzinfo=UTC)
PACK = Path(__file__).resolve().parents[2] / "rules" / "compliance" / "promises-and-behaviour.yaml"
CRM = Principal(
    "services/crm", kind="service", permissions=parse_permissions({"compliance.texts.scan": "all"})
)
OFFICER = Principal(
    "employees/C1",
    employee_id="C1",
    org_unit="/hq",
    permissions=parse_permissions({"compliance.cases.manage": "all", "compliance.cases.read": "all"}),
)


@pytest.fixture(scope="module")
def rules() -> RuleRuntime:
    runtime = RuleRuntime("compliance", VOCABULARY)
    pack = parse_pack(PACK.read_text(), VOCABULARY)
    runtime.set_active({pack.id: CompiledPack(pack, VOCABULARY)})
    return runtime


@pytest.fixture
def store() -> FakeComplianceStore:
    return FakeComplianceStore()


@pytest.fixture
def svc(rules: RuleRuntime, store: FakeComplianceStore) -> ComplianceService:
    return ComplianceService(None, rules, clock=lambda: NOW, directory=None, stores=store.unit)  # type: ignore[arg-type]


def text(tid: str, body: str, channel: str = "call", at: datetime = NOW, **kw: str) -> TextIn:
    return TextIn(tid, "E1", TEAM, channel, body, at, **kw)


def test_a_banned_promise_opens_one_case_per_day_and_a_rescan_changes_nothing(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    (bad,) = svc.scanning.scan(
        CRM, [text("call-1", "您放心，這個產品保 本 保 息，一年穩賺", client_id="K-9")]
    )
    assert [(h.phrase, h.matched_text, h.start, h.end) for h in bad.hits] == [
        ("保本保息", "保 本 保 息", 8, 15)
    ]
    assert len(bad.cases) == 1
    (again,) = svc.scanning.scan(CRM, [text("call-2", "再说一遍，保本保息")])
    assert again.cases == bad.cases
    assert svc.scanning.scan(CRM, [text("call-2", "再说一遍，保本保息")]) == [again]
    (case,) = store.state.cases.values()
    assert (case["state"], case["severity"], case["occurrences"], case["rule_id"]) == (
        "OPEN",
        "high",
        2,
        "banned-promise-severe",
    )
    assert case["sla_due_at"] == NOW + timedelta(hours=8)
    ev = json.loads(case["evidence_json"])
    assert ev["items"][0]["client_id"] == "K-9" and ev["items"][0]["span"] == [8, 15]
    types = [e.type for e in store.state.events]
    assert types == ["compliance.case_opened", "compliance.alert_raised", "compliance.alert_raised"]
    assert [a["action"] for a in store.state.audit_log] == ["case.opened", "text.scanned", "text.scanned"]


def test_the_next_day_opens_a_new_case_and_a_clean_text_opens_none(svc: ComplianceService) -> None:
    (one,) = svc.scanning.scan(CRM, [text("a", "保本保息")])
    (two,) = svc.scanning.scan(CRM, [text("b", "保本保息", at=NOW + timedelta(days=1))])
    (clean,) = svc.scanning.scan(CRM, [text("c", "今天天气很好")])
    assert one.cases != two.cases and (clean.hits, clean.cases) == ([], [])


def test_a_visit_note_after_a_dwell_anomaly_that_day_opens_a_case(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    (before,) = svc.scanning.scan(CRM, [text("n0", "拜访了客户", channel="visit_note")])
    assert before.cases == []
    store.state.dwell_anomalies.append(("E1", "2026-09-01", NOW - timedelta(minutes=30)))
    (after,) = svc.scanning.scan(CRM, [text("n1", "拜访了客户", channel="visit_note")])
    assert len(after.cases) == 1
    case = store.state.cases[after.cases[0].removeprefix("cases/")]
    assert case["category"] == "visit_misreport"
    assert json.loads(case["evidence_json"])["items"][0]["minutes_since_dwell_anomaly"] == 30


def test_bad_texts_change_nothing(svc: ComplianceService, store: FakeComplianceStore) -> None:
    with pytest.raises(InvalidArgument) as err:
        svc.scanning.scan(CRM, [text("x", "保本保息"), text("x", "again")])
    assert err.value.field == "texts[1].text_id"
    with pytest.raises(PermissionDenied):
        svc.scanning.scan(OFFICER, [text("y", "保本保息")])
    assert store.state.cases == {} and store.state.scans == {}


def test_case_transitions_need_an_owner_and_a_closing_comment_and_replay_once(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    name = svc.scanning.scan(CRM, [text("call-9", "这是高收益无风险的")])[0].cases[0]
    for state in ("RESOLVED", "ACKNOWLEDGED", "FALSE_POSITIVE"):
        with pytest.raises(FailedPrecondition):
            svc.cases.transition(OFFICER, name, state, "", "ok")
    assert (svc.cases.get_case(OFFICER, name).state, store.state.cases[name[6:]]["owner"]) == ("OPEN", "")
    svc.cases.transition(OFFICER, name, "ACKNOWLEDGED", "C1", "", "r-1")
    assert svc.cases.transition(OFFICER, name, "ACKNOWLEDGED", "C1", "", "r-1").state == "ACKNOWLEDGED"
    with pytest.raises(InvalidArgument) as reused:  # the request id names one request (AIP-155)
        svc.cases.transition(OFFICER, name, "ACKNOWLEDGED", "C2", "", "r-1")
    assert reused.value.field == "request_id"
    svc.cases.comment(OFFICER, name, "called the rep")
    with pytest.raises(InvalidArgument) as err:
        svc.cases.transition(OFFICER, name, "RESOLVED", "", "")
    assert err.value.field == "comment"
    done = svc.cases.transition(OFFICER, name, "RESOLVED", "", "coached")
    assert (done.state, done.owner, len(json.loads(done.comments_json))) == ("RESOLVED", "C1", 2)
    with pytest.raises((FailedPrecondition, InvalidArgument)):
        svc.cases.transition(OFFICER, name, "OPEN", "", "")
    moves = [a["data"]["to"] for a in store.state.audit_log if a["action"] == "case.transition"]
    assert moves == ["ACKNOWLEDGED", "RESOLVED"]
    updates = [e for e in store.state.events if e.type == "compliance.case_updated"]
    assert [e.data["state"] for e in updates] == ["ACKNOWLEDGED", "RESOLVED"]


def test_transitions_are_authorised_and_name_checked(svc: ComplianceService) -> None:
    name = svc.scanning.scan(CRM, [text("call-9", "保本保息")])[0].cases[0]
    other = Principal(
        "employees/C2",
        org_unit="/hq/other",
        permissions=parse_permissions({"compliance.cases.manage": "team"}),
    )
    with pytest.raises(PermissionDenied):
        svc.cases.transition(other, name, "ACKNOWLEDGED", "C2", "")
    me = Principal("employees/E1", employee_id="E1", org_unit=TEAM, permissions=OFFICER.permissions)
    with pytest.raises(PermissionDenied):
        svc.cases.transition(me, name, "ACKNOWLEDGED", "E1", "")
    with pytest.raises(InvalidArgument):
        svc.cases.transition(OFFICER, "case-1", "ACKNOWLEDGED", "C1", "")
    with pytest.raises(NotFound):
        svc.cases.transition(OFFICER, "cases/missing", "ACKNOWLEDGED", "C1", "")


def test_visits_are_judged_by_fact_time_whatever_order_they_arrive_in(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    behaviour = svc.behaviour
    with store.unit() as s:
        s.save_client_risk("RISKY", {"high_risk": 1, "reason": "watchlist", "updated_at": NOW})
        s.add_client_activity(
            dict(
                employee_id="E1",
                client_id="RISKY",
                org_unit=TEAM,
                open=1,
                opened_at=NOW - timedelta(days=10),
                last_follow_up_at=None,
            )
        )
    newest_first = [Contact(f"v{k}", "E1", TEAM, "RISKY", NOW - timedelta(hours=k)) for k in range(4)]
    with store.unit() as s:
        behaviour.record_follow_ups(s, newest_first)
        (case,) = behaviour.record_contacts(s, newest_first)
    row = store.state.cases[case.removeprefix("cases/")]
    (item,) = json.loads(row["evidence_json"])["items"]
    # the third contact by fact time (v1) is the one that reached the rule's three, not the first to arrive
    assert (item["activity_id"], item["contacts_in_window"]) == ("v1", 3)
    assert store.state.client_activity[("E1", "RISKY")]["last_follow_up_at"] == NOW
    late = Contact("v9", "E1", TEAM, "RISKY", NOW - timedelta(hours=5))
    with store.unit() as s:
        behaviour.record_follow_ups(s, [late])  # an older visit reported late moves nothing back
        assert behaviour.record_contacts(s, newest_first) == []  # redelivered: nothing new
    assert store.state.client_activity[("E1", "RISKY")]["last_follow_up_at"] == NOW
    assert len(store.state.contacts) == 4


def test_contacts_reported_one_at_a_time_newest_first_still_reach_the_rule(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    """Observed before: each late, earlier contact was counted only with those before it, so a backlog that
    arrived newest first never reached "three contacts in the window"."""
    with store.unit() as s:
        s.save_client_risk("RISKY", {"high_risk": 1, "reason": "watchlist", "updated_at": NOW})
    touched: list[str] = []
    for k in range(4):  # v0 is the newest
        with store.unit() as s:
            touched += svc.behaviour.record_contacts(
                s, [Contact(f"v{k}", "E1", TEAM, "RISKY", NOW - timedelta(hours=k))]
            )
    (case,) = set(touched)
    (item,) = json.loads(store.state.cases[case.removeprefix("cases/")]["evidence_json"])["items"]
    # when v2 arrived, v2, v1 and v0 were three contacts in the window: v0, the third by fact time, opened it
    assert item["contacts_in_window"] == 3 and item["activity_id"] == "v0"


def test_a_follow_up_reported_late_through_the_api_does_not_move_the_last_follow_up_back(
    svc: ComplianceService, store: FakeComplianceStore
) -> None:
    crm = Principal(
        "services/crm", kind="service", permissions=parse_permissions({"compliance.activity.write": "all"})
    )
    svc.behaviour.record_activity(crm, "E1", TEAM, "C9", "opened", NOW - timedelta(days=10))
    svc.behaviour.record_activity(crm, "E1", TEAM, "C9", "follow_up", NOW)
    svc.behaviour.record_activity(crm, "E1", TEAM, "C9", "follow_up", NOW - timedelta(days=2))
    assert store.state.client_activity[("E1", "C9")]["last_follow_up_at"] == NOW
