"""Compliance through real gRPC and a real database (SQLite and PostgreSQL): scans open cases, disclosures
pass, exact spans, streaming, screening, behaviour rules on a schedule and on events, case states and
scopes, idempotency, audit chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import and_, select, update

from covenant.compliance.v1 import compliance_pb2 as pb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.db.engine import Database
from covenant.db.outbox import new_event
from covenant.db.tables import audit_log
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, TestTokens, bearer, running_service
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
OFFICER = {"compliance.*.*": "all"}
PACK = yaml.safe_load(
    (Path(__file__).parents[2] / "rules/compliance/promises-and-behaviour.yaml").read_text()
)
VERSION = PACK["version"]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("compliance", db_url=db_url, data_dir=tmp_path) as s:
        people = [employee(f"E{i}", TEAM, "sales_rep") for i in range(1, 10)]
        publish_employees(s, people)  # as identity does
        yield s


def stub(svc: RunningService) -> compliance_pb2_grpc.ComplianceServiceStub:
    return compliance_pb2_grpc.ComplianceServiceStub(svc.channel)


def officer(svc: RunningService, org: str = "/hq", scope: str = "all") -> list[tuple[str, str]]:
    perms = {
        "compliance.cases.read": scope,
        "compliance.cases.manage": scope,
        "compliance.names.screen": "all",
        "compliance.watchlists.write": "all",
        "compliance.rules.evaluate": "all",
        "compliance.audit.read": "all",
    }
    return bearer(svc.tokens.user("C1", org, perms))


def system(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(svc.tokens.service("transcription"))


def request(text_id: str, text: str, employee: str = "E1", **kw: object) -> pb.ScanTextRequest:
    return pb.ScanTextRequest(
        text_id=text_id, employee_id=employee, org_unit=TEAM, channel="call", text=text, **kw
    )


def scan(svc: RunningService, text_id: str, text: str, employee: str = "E1", **kw: object) -> pb.ScanResult:
    return stub(svc).ScanText(request(text_id, text, employee, **kw), metadata=system(svc))


def deliver(svc: RunningService, *events: event_pb2.Event) -> None:
    sink = event_pb2_grpc.EventSinkServiceStub(svc.channel)
    for event in events:  # each as its source's service account (the only caller compliance accepts)
        source = bearer(svc.tokens.service(event.source, {"events.deliveries.write": "all"}))
        sink.DeliverEvents(event_pb2.DeliverEventsRequest(events=[event]), metadata=source)


EVASIONS = [
    ("您放心，這個產品保本保息", "保本保息", "保本保息"),  # traditional characters around it
    ("这个理财１００％保本", "100%保本", "１００％保本"),  # full-width digits and percent
    ("這是高收益無風險的產品", "高收益无风险", "高收益無風險"),  # traditional characters
    ("绝对 保-本.保 息", "保本保息", "保-本.保 息"),  # spaces and punctuation inserted
    ("this fund is RISK  FREE", "risk free", "RISK  FREE"),  # letter case and doubled space
    ("宝本饱夕，没问题", "保本保息", "宝本饱夕"),  # single-character homophones from the pack
    ("跟着我稳赚不陪", "稳赚不赔", "稳赚不陪"),  # word-level homophone from the pack
    ("你不用担心保本保息", "保本保息", "保本保息"),  # "不用担心" is not a negation
    ("这个产品不错，保本保息", "保本保息", "保本保息"),  # a negation in another clause does not count
]
DISCLOSURES = [
    "本产品不保本",
    "我们不能承诺保本保息",
    "本產品不保本，過往業績不代表未來表現",
    "我们无法保证保本，请您理解",
    "这是非保本浮动收益型产品",
    "按时还款即可",
]


def test_each_evasion_is_caught_with_its_exact_original_span_and_each_disclosure_passes(
    svc: RunningService,
) -> None:
    texts = [request(f"ev-{i}", text) for i, (text, _, _) in enumerate(EVASIONS)]
    texts += [request(f"ok-{i}", text) for i, text in enumerate(DISCLOSURES)]
    resp = stub(svc).ScanTexts(pb.ScanTextsRequest(texts=texts), metadata=system(svc))
    for (text, phrase, span), result in zip(EVASIONS, resp.results, strict=False):
        assert [h.phrase for h in result.hits] == [phrase], text
        (hit,) = result.hits
        assert text[hit.start : hit.end] == span == hit.matched_text
        assert (hit.pack_id, hit.pack_version) == (PACK["id"], VERSION)
        assert hit.category and hit.severity
    for text, result in zip(DISCLOSURES, resp.results[len(EVASIONS) :], strict=True):
        assert (list(result.hits), list(result.cases)) == ([], []), text


def test_banned_promise_opens_one_case_per_day_and_a_rescan_changes_nothing(svc: RunningService) -> None:
    bad = scan(svc, "call-1", "您放心，這個產品保 本 保 息，一年穩賺", client_id="K-9")
    assert [(h.phrase, h.matched_text, h.start, h.end) for h in bad.hits] == [
        ("保本保息", "保 本 保 息", 8, 15)
    ]
    assert len(bad.cases) == 1
    again = scan(svc, "call-2", "再说一遍，保本保息")  # same employee, rule and day: joins the case
    assert again.cases == bad.cases
    assert scan(svc, "call-2", "再说一遍，保本保息") == again  # a re-sent text id is not scanned twice
    case = stub(svc).GetCase(pb.GetCaseRequest(name=bad.cases[0]), metadata=officer(svc))
    assert (case.state, case.severity, case.occurrences, case.rule_id, case.pack_version) == (
        "OPEN",
        "high",
        2,
        "banned-promise-severe",
        VERSION,
    )
    assert '"client_id": "K-9"' in case.evidence_json and '"span": [8, 15]' in case.evidence_json
    # The employee sees the case about themself, without the client's identity or reviewer comments.
    own = bearer(svc.tokens.user("E1", TEAM, {"compliance.cases.read": "self"}))
    mine = stub(svc).GetCase(pb.GetCaseRequest(name=bad.cases[0]), metadata=own)
    assert "K-9" not in mine.evidence_json and "保 本 保 息" in mine.evidence_json


def test_case_cannot_go_open_to_resolved_without_an_owner(svc: RunningService) -> None:
    name = scan(svc, "call-9", "这是高收益无风险的").cases[0]
    for state in ("RESOLVED", "ACKNOWLEDGED", "FALSE_POSITIVE"):
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).TransitionCase(
                pb.TransitionCaseRequest(name=name, state=state, comment="ok"), metadata=officer(svc)
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    unchanged = stub(svc).GetCase(pb.GetCaseRequest(name=name), metadata=officer(svc))
    assert (unchanged.state, unchanged.owner) == ("OPEN", "")
    ack = pb.TransitionCaseRequest(name=name, state="ACKNOWLEDGED", owner="C1", request_id="r-1")
    stub(svc).TransitionCase(ack, metadata=officer(svc))
    replay = stub(svc).TransitionCase(ack, metadata=officer(svc))  # idempotent: not applied twice
    assert replay.state == "ACKNOWLEDGED"
    reused = pb.TransitionCaseRequest(name=name, state="ACKNOWLEDGED", owner="C2", request_id="r-1")
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).TransitionCase(reused, metadata=officer(svc))  # the id names one request (AIP-155)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in (
        err.value.details() or ""
    )
    stub(svc).AddCaseComment(
        pb.AddCaseCommentRequest(name=name, comment="called the rep"), metadata=officer(svc)
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).TransitionCase(pb.TransitionCaseRequest(name=name, state="RESOLVED"), metadata=officer(svc))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "comment" in (err.value.details() or "")
    done = stub(svc).TransitionCase(
        pb.TransitionCaseRequest(name=name, state="RESOLVED", comment="coached"), metadata=officer(svc)
    )
    assert (done.state, done.owner, len(done.comments)) == ("RESOLVED", "C1", 2)
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).TransitionCase(pb.TransitionCaseRequest(name=name, state="OPEN"), metadata=officer(svc))
    assert err.value.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT)
    verify = stub(svc).VerifyAuditChain(pb.VerifyAuditChainRequest(), metadata=officer(svc))
    assert verify.intact and verify.entries_checked >= 4  # scan, opened, acknowledged, comment, resolved


def test_scopes_reps_see_their_own_cases_officers_their_remit(svc: RunningService) -> None:
    name = scan(svc, "call-3", "零风险，放心").cases[0]
    other = scan(svc, "call-4", "零风险", employee="E7").cases[0]
    peer = bearer(svc.tokens.user("E2", TEAM, {"compliance.cases.read": "self"}))
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetCase(pb.GetCaseRequest(name=name), metadata=peer)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "compliance.cases.read" in (err.value.details() or "")
    own = bearer(svc.tokens.user("E1", TEAM, {"compliance.cases.read": "self"}))
    listed = stub(svc).ListCases(pb.ListCasesRequest(), metadata=own)
    assert [c.name for c in listed.cases] == [name]
    remit = officer(svc, "/hq/futian", "subtree")
    assert {c.name for c in stub(svc).ListCases(pb.ListCasesRequest(), metadata=remit).cases} == {name, other}
    outside = officer(svc, "/hq/nanshan", "subtree")
    assert list(stub(svc).ListCases(pb.ListCasesRequest(), metadata=outside).cases) == []
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).TransitionCase(
            pb.TransitionCaseRequest(name=name, state="ACKNOWLEDGED", owner="C9"), metadata=outside
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    page = stub(svc).ListCases(pb.ListCasesRequest(page_size=1), metadata=officer(svc))
    rest = stub(svc).ListCases(
        pb.ListCasesRequest(page_size=1, page_token=page.next_page_token), metadata=officer(svc)
    )
    assert len(page.cases) == len(rest.cases) == 1 and page.cases[0].name != rest.cases[0].name
    # keyset paging: a case leaving the filter between pages does not make the next page skip one
    both = stub(svc).ListCases(pb.ListCasesRequest(state="OPEN", page_size=2), metadata=officer(svc))
    head = stub(svc).ListCases(pb.ListCasesRequest(state="OPEN", page_size=1), metadata=officer(svc))
    ack = pb.TransitionCaseRequest(name=head.cases[0].name, state="ACKNOWLEDGED", owner="C9")
    stub(svc).TransitionCase(ack, metadata=officer(svc))
    after = pb.ListCasesRequest(state="OPEN", page_size=1, page_token=head.next_page_token)
    assert [c.name for c in stub(svc).ListCases(after, metadata=officer(svc)).cases] == [both.cases[1].name]


def test_no_follow_up_for_3_days_fires_once_on_day_4_and_not_again_that_week(svc: RunningService) -> None:
    monday = datetime(2026, 11, 9, 1, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    stub(svc).RecordClientActivity(
        pb.RecordClientActivityRequest(
            employee_id="E1", org_unit=TEAM, client_id="C-7", kind="opened", occurred_at=ts(monday)
        ),
        metadata=system(svc),
    )
    opened = []
    for day in range(1, 7):  # Tue .. Sun of the same ISO week, evaluated twice a day
        for hours in (0, 8):
            resp = stub(svc).EvaluateBehaviour(
                pb.EvaluateBehaviourRequest(as_of=ts(monday + timedelta(days=day, hours=hours))),
                metadata=officer(svc),
            )
            opened.append(len(resp.cases_opened))
    assert opened == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  # day 4 (Thursday) only
    cases = stub(svc).ListCases(pb.ListCasesRequest(employee_id="E1"), metadata=officer(svc)).cases
    assert [(c.rule_id, c.occurrences, c.category) for c in cases] == [("no-follow-up-3d", 1, "follow_up")]
    next_monday = monday + timedelta(days=7)
    assert (
        len(
            stub(svc)
            .EvaluateBehaviour(pb.EvaluateBehaviourRequest(as_of=ts(next_monday)), metadata=officer(svc))
            .cases_opened
        )
        == 1
    )  # a new week, still no follow-up


def test_a_verified_visit_event_is_a_follow_up(svc: RunningService) -> None:
    monday = datetime(2026, 11, 9, 1, tzinfo=UTC)
    stub(svc).RecordClientActivity(
        pb.RecordClientActivityRequest(
            employee_id="E1", org_unit=TEAM, client_id="C-8", kind="opened", occurred_at=ts(monday)
        ),
        metadata=system(svc),
    )
    visit = new_event(
        "attendance.visit_verified",
        source="attendance",
        subject="employees/E1",
        org_unit=TEAM,
        data={"employee_id": "E1", "client_id": "C-8"},
        occurred_at=monday + timedelta(days=2),
    )
    deliver(svc, visit)
    deliver(svc, visit)  # redelivery: no effect
    thursday = stub(svc).EvaluateBehaviour(
        pb.EvaluateBehaviourRequest(as_of=ts(monday + timedelta(days=3))), metadata=officer(svc)
    )
    assert list(thursday.cases_opened) == []  # the follow-up on Wednesday reset the count
    saturday = stub(svc).EvaluateBehaviour(
        pb.EvaluateBehaviourRequest(as_of=ts(monday + timedelta(days=5))), metadata=officer(svc)
    )
    assert list(saturday.cases_opened) == []  # Thursday and Friday: 2 working days (issue 16)
    next_monday = stub(svc).EvaluateBehaviour(
        pb.EvaluateBehaviourRequest(as_of=ts(monday + timedelta(days=7))), metadata=officer(svc)
    )
    assert len(next_monday.cases_opened) == 1  # Thursday, Friday, Monday


def test_behaviour_rules_on_events(svc: RunningService) -> None:
    day = datetime(2026, 11, 10, 2, tzinfo=UTC)  # 10:00 local
    summary = new_event(
        "attendance.daily_summary",
        source="attendance",
        org_unit=TEAM,
        data={"employee_id": "E3", "date": "2026-11-10", "visits": 1, "verified_visits": 0, "working_day": 1},
    )
    busy = new_event(
        "attendance.daily_summary",
        source="attendance",
        org_unit=TEAM,
        data={"employee_id": "E4", "date": "2026-11-10", "visits": 2, "verified_visits": 2, "working_day": 1},
    )
    dwell = new_event(
        "attendance.dwell_anomaly",
        source="attendance",
        org_unit=TEAM,
        data={"employee_id": "E3", "day": "2026-11-10", "minutes": 95},
        occurred_at=day,
    )
    deliver(svc, summary, busy, dwell)
    cases = {
        c.employee_id: c for c in stub(svc).ListCases(pb.ListCasesRequest(), metadata=officer(svc)).cases
    }
    assert set(cases) == {"E3"} and cases["E3"].rule_id == "fewer-than-1-visit"
    note = pb.ScanTextRequest(
        text_id="note-1",
        employee_id="E3",
        org_unit=TEAM,
        channel="visit_note",
        text="上午拜访客户，介绍了新产品",
        occurred_at=ts(day + timedelta(hours=2)),
    )
    result = stub(svc).ScanText(note, metadata=system(svc))
    assert list(result.hits) == [] and len(result.cases) == 1
    case = stub(svc).GetCase(pb.GetCaseRequest(name=result.cases[0]), metadata=officer(svc))
    assert (case.rule_id, case.category) == ("visit-note-after-dwell-anomaly", "visit_misreport")
    earlier = pb.ScanTextRequest()
    earlier.CopyFrom(note)
    earlier.text_id, earlier.employee_id = "note-2", "E4"
    assert list(stub(svc).ScanText(earlier, metadata=system(svc)).cases) == []  # no anomaly for E4


def test_repeated_contact_with_a_watchlisted_client(svc: RunningService) -> None:
    stub(svc).LoadWatchlist(
        pb.LoadWatchlistRequest(
            entries=[
                pb.WatchlistEntry(id="b1", list_name="internal_blacklist", name="深圳市黑名单贸易有限公司")
            ]
        ),
        metadata=officer(svc),
    )
    start = datetime(2026, 11, 9, 2, tzinfo=UTC)
    touched = []
    for i in range(3):
        resp = stub(svc).RecordClientActivity(
            pb.RecordClientActivityRequest(
                employee_id="E5",
                org_unit=TEAM,
                client_id="K-1",
                client_name="黑名单贸易(深圳)有限公司",
                kind="contact",
                activity_id=f"a-{i}",
                occurred_at=ts(start + timedelta(days=i)),
            ),
            metadata=system(svc),
        )
        touched.append(len(resp.cases))
    assert touched == [0, 0, 1]
    (case,) = stub(svc).ListCases(pb.ListCasesRequest(employee_id="E5"), metadata=officer(svc)).cases
    assert (case.rule_id, case.severity) == ("repeated-high-risk-contact", "high")
    for i in range(3):  # an ordinary client, contacted as often: nothing
        resp = stub(svc).RecordClientActivity(
            pb.RecordClientActivityRequest(
                employee_id="E6",
                org_unit=TEAM,
                client_id="K-2",
                client_name="北京天天餐饮有限公司",
                kind="contact",
                activity_id=f"b-{i}",
                occurred_at=ts(start + timedelta(days=i)),
            ),
            metadata=system(svc),
        )
        assert list(resp.cases) == []


def test_screening_location_and_suffix_variants_match_unrelated_does_not(svc: RunningService) -> None:
    entries = [
        pb.WatchlistEntry(id="d1", list_name="dishonest_enterprise", name="某某科技(深圳)有限公司"),
        pb.WatchlistEntry(id="s1", list_name="sanctions", name="ACME Trading Inc."),
    ]
    loaded = stub(svc).LoadWatchlist(pb.LoadWatchlistRequest(entries=entries), metadata=officer(svc))
    again = stub(svc).LoadWatchlist(pb.LoadWatchlistRequest(entries=entries), metadata=officer(svc))
    assert (loaded.loaded, loaded.total, again.loaded, again.total) == (2, 2, 0, 2)
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).LoadWatchlist(
            pb.LoadWatchlistRequest(entries=[entries[0], pb.WatchlistEntry(id="x", list_name="sanctions")]),
            metadata=officer(svc),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "entries[1].name" in err.value.details()
    names = [
        "深圳市某某科技有限公司",
        "北京天天餐饮有限公司",
        "Moumou Keji (Shenzhen) Co., Ltd.",
        "Trading ACME Corp",
    ]
    resp = stub(svc).ScreenNames(pb.ScreenNamesRequest(names=names), metadata=officer(svc))
    threshold = PACK["parameters"]["screening_thresholds"]["default"]["dishonest_enterprise"]
    first, unrelated, latin, reordered = resp.results
    assert [m.entry_id for m in first.matches] == ["d1"] and first.matches[0].score >= threshold
    assert "location_prefix_removed:深圳市" in first.matches[0].features
    assert list(unrelated.matches) == []
    assert [m.entry_id for m in latin.matches] == ["d1"]
    assert any(f.startswith("transliteration:") for f in latin.matches[0].features)
    assert [m.entry_id for m in reordered.matches] == ["s1"]
    assert any(f.startswith("word_order:") for f in reordered.matches[0].features)


def test_streaming_finds_a_phrase_across_chunks_once_with_its_span_in_the_transcript(
    svc: RunningService,
) -> None:
    header = pb.ScanTextRequest(text_id="live-1", employee_id="E1", org_unit=TEAM, channel="call")
    parts = ["您好，这款产品保本", "保息的，放心。", "另外本产品不保", "本，请知悉。", "再说一次保本保息"]
    chunks = [pb.ScanChunk(header=header, text=parts[0])] + [pb.ScanChunk(text=p) for p in parts[1:]]
    results = list(stub(svc).StreamScan(iter(chunks), metadata=system(svc)))
    transcript = "".join(parts)
    hits = [(h.phrase, h.start, h.end) for r in results for h in r.hits]
    assert hits == [("保本保息", 7, 11), ("保本保息", 33, 37)]  # no early "保本"; the disclosure is clean
    assert all(transcript[s:e] == "保本保息" for _, s, e in hits)
    assert len({c for r in results for c in r.cases}) == 1
    with pytest.raises(grpc.RpcError) as err:  # the transcript was recorded whole
        list(stub(svc).StreamScan(iter([pb.ScanChunk(header=header, text="x")]), metadata=system(svc)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_bad_input_names_the_field_and_changes_nothing(svc: RunningService) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ScanTexts(
            pb.ScanTextsRequest(texts=[request("t-1", "保本保息"), request("", "保本保息")]),
            metadata=system(svc),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "texts[1].text_id" in err.value.details()
    assert list(stub(svc).ListCases(pb.ListCasesRequest(), metadata=officer(svc)).cases) == []
    rep = bearer(svc.tokens.user("E1", TEAM, {"compliance.cases.read": "self"}))
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ScanText(request("t-2", "保本保息"), metadata=rep)
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "compliance.texts.scan" in err.value.details()
    )


def test_the_scheduler_worker_runs_the_behaviour_rules(tmp_path: Path, sqlite_url: str) -> None:
    env = {"COVENANT_COMPLIANCE_SCHEDULE_SECONDS": "0.2"}
    with running_service("compliance", db_url=sqlite_url, data_dir=tmp_path, env=env) as s:
        publish_employees(s, [employee("E1", TEAM, "sales_rep")])  # as identity does
        stub(s).RecordClientActivity(
            pb.RecordClientActivityRequest(
                employee_id="E1",
                org_unit=TEAM,
                client_id="C-1",
                kind="opened",
                occurred_at=ts(datetime.now(UTC) - timedelta(days=5)),
            ),
            metadata=system(s),
        )
        deadline = time.monotonic() + 15
        cases: list[pb.Case] = []
        while not cases and time.monotonic() < deadline:
            time.sleep(0.2)
            cases = list(stub(s).ListCases(pb.ListCasesRequest(), metadata=officer(s)).cases)
        assert [c.rule_id for c in cases] == ["no-follow-up-3d"]
        time.sleep(0.6)  # more ticks: still one case, one occurrence
        (again,) = stub(s).ListCases(pb.ListCasesRequest(), metadata=officer(s)).cases
        assert again.occurrences == 1


def test_a_new_pack_version_changes_the_phrase_list_without_restart_and_the_audit_covers_it(
    svc: RunningService, db_url: str
) -> None:
    assert list(scan(svc, "before", "这是无本万利的生意").hits) == []
    source = (Path(__file__).parents[2] / "rules/compliance/promises-and-behaviour.yaml").read_text()
    changed = source.replace(f'version: "{VERSION}"', 'version: "2099.1.1"').replace(
        "      - {phrase: 零风险,",
        "      - {phrase: 无本万利, category: risk_free_high_yield, severity: high}\n"
        "      - {phrase: 零风险,",
    )
    owner = bearer(svc.tokens.user("C1", "/hq", {"rules.*.publish": "all", "rules.*.activate": "all"}))
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=changed, activate=True), metadata=owner)
    after = scan(svc, "after", "这是無本萬利的生意")
    assert [(h.phrase, h.matched_text, h.pack_version) for h in after.hits] == [
        ("无本万利", "無本萬利", "2099.1.1")
    ]
    case = stub(svc).GetCase(pb.GetCaseRequest(name=after.cases[0]), metadata=officer(svc))
    assert case.pack_version == "2099.1.1"

    verify = stub(svc).VerifyAuditChain(pb.VerifyAuditChainRequest(), metadata=officer(svc))
    streams = {s.stream: s for s in verify.streams}
    assert (
        verify.intact and streams["compliance"].entries_checked >= 3 and streams["rules"].entries_checked >= 1
    )
    # Edit a recorded scan decision behind the service's back: the chain shows where.
    db = Database(db_url)
    try:
        with db.session() as session:
            session.execute(
                update(audit_log)
                .where(and_(audit_log.c.stream == "compliance", audit_log.c.subject == "texts/after"))
                .values(data_json='{"decision":"clean"}')
            )
            seq = session.execute(
                select(audit_log.c.seq).where(
                    and_(audit_log.c.stream == "compliance", audit_log.c.subject == "texts/after")
                )
            ).scalar()
    finally:
        db.dispose()
    broken = stub(svc).VerifyAuditChain(pb.VerifyAuditChainRequest(), metadata=officer(svc))
    assert not broken.intact and broken.first_broken_seq == seq and broken.reason.startswith("compliance:")


def test_a_watchlist_loaded_on_one_replica_is_screened_on_another(db_url: str, tmp_path: Path) -> None:
    tokens = TestTokens()
    with (
        running_service("compliance", db_url=db_url, data_dir=tmp_path / "a", tokens=tokens) as a,
        running_service("compliance", db_url=db_url, data_dir=tmp_path / "b", tokens=tokens) as b,
    ):
        names = pb.ScreenNamesRequest(names=["深圳市某某科技有限公司"])
        assert list(stub(b).ScreenNames(names, metadata=officer(b)).results[0].matches) == []  # index built
        entry = pb.WatchlistEntry(id="d1", list_name="dishonest_enterprise", name="某某科技(深圳)有限公司")
        stub(a).LoadWatchlist(pb.LoadWatchlistRequest(entries=[entry]), metadata=officer(a))
        (match,) = stub(b).ScreenNames(names, metadata=officer(b)).results[0].matches
        assert match.entry_id == "d1"
        with pytest.raises(grpc.RpcError) as err:
            stub(a).ScanTexts(
                pb.ScanTextsRequest(texts=[request("t-1", "x"), request("t-1", "y")]), metadata=system(a)
            )
        assert (
            err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "texts[1].text_id" in err.value.details()
        )


def test_open_cases_past_their_sla_are_escalated_once(svc: RunningService) -> None:
    high = scan(svc, "sla-1", "保本保息").cases[0]  # high: 8 hours
    medium = scan(svc, "sla-2", "零风险", employee="E2").cases[0]  # medium: 24 hours
    now = datetime.now(UTC)
    first = stub(svc).EvaluateBehaviour(
        pb.EvaluateBehaviourRequest(as_of=ts(now + timedelta(hours=9))), metadata=officer(svc)
    )
    assert list(first.cases_escalated) == [high]
    later = stub(svc).EvaluateBehaviour(
        pb.EvaluateBehaviourRequest(as_of=ts(now + timedelta(hours=25))), metadata=officer(svc)
    )
    assert list(later.cases_escalated) == [medium]
    case = stub(svc).GetCase(pb.GetCaseRequest(name=high), metadata=officer(svc))
    assert case.state == "ESCALATED"
    done = stub(svc).TransitionCase(
        pb.TransitionCaseRequest(name=high, state="RESOLVED", owner="C1", comment="handled"),
        metadata=officer(svc),
    )
    assert (done.state, done.owner) == ("RESOLVED", "C1")
