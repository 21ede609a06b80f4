"""Each client mistake observed to become INTERNAL (issue 15) is now INVALID_ARGUMENT naming the field, on
SQLite and PostgreSQL, with nothing written: int64-overflowing adjustments, a metric of 1E+999999, period
0000-01, strings longer than their PostgreSQL column, NUL bytes, invalid timestamps, unknown enum
numbers, ids with a trailing newline and garbage page tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
RURAL = "/hq/rural/team-01"  # what a rep would rather be judged by
BANNED = "这个产品保本保息，放心买"
ADMIN = {"*": "all"}


def refused_fields(call, request, metadata) -> list[str]:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata, timeout=20)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    bad = error_details_pb2.BadRequest()
    status = rpc_status.from_call(info.value)
    assert status is not None and status.details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


@pytest.fixture
def points(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("points", db_url=db_url, data_dir=tmp_path) as s:
        publish_employees(s, [employee("E1", TEAM, "wealth_adviser")])  # as identity does
        yield s


@pytest.fixture
def scoring(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=db_url, data_dir=tmp_path) as s:
        publish_employees(s, [employee("E1", TEAM, "collector")])  # as identity does
        yield s


@pytest.fixture
def compliance(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("compliance", db_url=db_url, data_dir=tmp_path) as s:
        publish_employees(s, [employee("E1", TEAM, "sales_rep")])  # as identity does
        yield s


def test_points_refuses_overflow_long_strings_nul_bad_times_enums_and_tokens(points: RunningService) -> None:
    stub = points_pb2_grpc.PointsServiceStub(points.channel)
    md = bearer(points.tokens.user("LEAD", TEAM, ADMIN))
    adjust = ppb.AdjustPointsRequest(
        employee_id="E1", org_unit=TEAM, points=5, reason="bonus", request_id="r1"
    )
    cases = [
        ("points", dict(points=2**63 - 1)),
        ("points", dict(points=-(2**63))),
        ("employee_id", dict(employee_id="E" * 40)),  # identity's column is VARCHAR(32)
        ("employee_id", dict(employee_id="E1\n")),
        ("reason", dict(reason="ok\x00ok")),
        ("org_unit", dict(org_unit="/hq/" + "x" * 300)),
    ]
    for field, change in cases:
        request = ppb.AdjustPointsRequest()
        request.CopyFrom(adjust)
        for k, v in change.items():
            setattr(request, k, v)
        assert field in refused_fields(stub.AdjustPoints, request, md)
    bad_time = ppb.BusinessEvent(id="e1", type="loan_completed", employee_id="E1", org_unit=TEAM)
    bad_time.occurred_at.CopyFrom(Timestamp(seconds=1_790_000_000, nanos=-5))
    assert refused_fields(stub.RecordEvent, ppb.RecordEventRequest(event=bad_time), md) == [
        "event.occurred_at"
    ]
    far = ppb.BusinessEvent(
        id="e2", type="loan_completed", employee_id="E1", occurred_at=Timestamp(seconds=10**12)
    )
    assert refused_fields(stub.RecordEvent, ppb.RecordEventRequest(event=far), md) == ["event.occurred_at"]
    board = ppb.GetLeaderboardRequest(org_unit=TEAM, period=77)
    assert refused_fields(stub.GetLeaderboard, board, md) == ["period"]
    with pytest.raises(grpc.RpcError) as info:
        stub.ListLedgerEntries(
            ppb.ListLedgerEntriesRequest(employee_id="E1", page_token="12345"), metadata=md
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in info.value.details()
    assert (
        stub.GetBalance(ppb.GetBalanceRequest(employee_id="E1"), metadata=md).balance == 0
    )  # nothing written
    stub.AdjustPoints(adjust, metadata=md)  # the valid request still works
    assert stub.GetBalance(ppb.GetBalanceRequest(employee_id="E1"), metadata=md).balance == 5


def test_scoring_refuses_huge_metrics_year_zero_periods_and_control_characters(
    scoring: RunningService,
) -> None:
    stub = scoring_pb2_grpc.ScoringServiceStub(scoring.channel)
    md = bearer(scoring.tokens.user("HR1", "/hq", ADMIN))
    good = spb.MetricValue(
        employee_id="E1",
        org_unit=TEAM,
        role="collector",
        period="2026-11",
        metric="recovery_rate",
        value="0.5",
    )
    for field, change in [
        ("value", {"value": "1E+999999"}),
        ("value", {"value": "NaN"}),
        ("period", {"period": "0000-01"}),
        ("metric", {"metric": "rate\x00"}),
        ("employee_id", {"employee_id": "E1\n"}),
    ]:
        value = spb.MetricValue()
        value.CopyFrom(good)
        for k, v in change.items():
            setattr(value, k, v)
        request = spb.RecordMetricsRequest(values=[good, value], request_id="m1")
        assert refused_fields(stub.RecordMetrics, request, md) == [f"values[1].{field}"]
    assert refused_fields(
        stub.ComputeScores, spb.ComputeScoresRequest(period="0000-01", org_unit="/hq"), md
    ) == ["period"]
    with pytest.raises(grpc.RpcError) as info:
        stub.ListScores(
            spb.ListScoresRequest(period="2026-11", org_unit="/hq", page_token="LTE"), metadata=md
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in info.value.details()
    stub.ComputeScores(spb.ComputeScoresRequest(period="2026-11", org_unit="/hq"), metadata=md)
    assert not stub.ListScores(spb.ListScoresRequest(period="2026-11", org_unit="/hq"), metadata=md).scores


# -- identity from the directory: claiming another org unit or role is refused and changes nothing -------
def refused_as(code: grpc.StatusCode, call, request, metadata) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata, timeout=20)
    assert info.value.code() == code, info.value.details()
    return info.value.details() or ""


def test_points_events_claiming_another_unit_are_refused_and_pay_nothing(points: RunningService) -> None:
    stub = points_pb2_grpc.PointsServiceStub(points.channel)
    crm = bearer(points.tokens.service("crm", {"points.events.write": "all"}))
    reader = bearer(points.tokens.user("HR1", "/hq", ADMIN))
    claim = ppb.BusinessEvent(id="x1", type="loan_completed", employee_id="E1", org_unit=RURAL)
    details = refused_as(
        grpc.StatusCode.INVALID_ARGUMENT, stub.RecordEvent, ppb.RecordEventRequest(event=claim), crm
    )
    assert details.startswith("event.org_unit") and TEAM in details
    honest = ppb.BusinessEvent(id="x2", type="loan_completed", employee_id="E1")
    batch = ppb.RecordEventsRequest(events=[honest, claim])
    assert refused_as(grpc.StatusCode.INVALID_ARGUMENT, stub.RecordEvents, batch, crm).startswith(
        "events[1].org_unit"
    )
    # someone the cache does not know, with identity unreachable (not running here): fail closed, and fast
    # after the first attempt (no worker waits out another look-up while identity is down)
    nobody = ppb.BusinessEvent(id="x3", type="loan_completed", employee_id="NOBODY")
    refused_as(grpc.StatusCode.UNAVAILABLE, stub.RecordEvent, ppb.RecordEventRequest(event=nobody), crm)
    started = time.monotonic()
    nobody2 = ppb.BusinessEvent(id="x4", type="loan_completed", employee_id="NOBODY2")
    refused_as(grpc.StatusCode.UNAVAILABLE, stub.RecordEvent, ppb.RecordEventRequest(event=nobody2), crm)
    assert time.monotonic() - started < 1.0
    assert stub.GetBalance(ppb.GetBalanceRequest(employee_id="E1"), metadata=reader).balance == 0
    paid = stub.RecordEvent(
        ppb.RecordEventRequest(event=honest), metadata=crm
    )  # no org unit: the directory's
    assert paid.entries and {e.org_unit for e in paid.entries} == {TEAM}
    rural = stub.GetLeaderboard(ppb.GetLeaderboardRequest(org_unit=RURAL), metadata=reader)
    assert not rural.rows


def test_compliance_scans_and_activity_claiming_another_unit_are_refused_and_open_nothing(
    compliance: RunningService,
) -> None:
    stub = compliance_pb2_grpc.ComplianceServiceStub(compliance.channel)
    archive = bearer(compliance.tokens.service("chat-archive", {"compliance.*.*": "all"}))
    officer = bearer(compliance.tokens.user("C1", "/hq", {"compliance.cases.read": "all"}))

    def text(tid: str, **kw: str) -> kpb.ScanTextRequest:
        return kpb.ScanTextRequest(text_id=tid, employee_id="E1", channel="chat", text=BANNED, **kw)

    details = refused_as(grpc.StatusCode.INVALID_ARGUMENT, stub.ScanText, text("t1", org_unit=RURAL), archive)
    assert details.startswith("org_unit") and TEAM in details
    batch = kpb.ScanTextsRequest(texts=[text("t2"), text("t3", org_unit=RURAL)])
    assert refused_as(grpc.StatusCode.INVALID_ARGUMENT, stub.ScanTexts, batch, archive).startswith(
        "texts[1].org_unit"
    )
    chunks = iter([kpb.ScanChunk(header=text("t4", org_unit=RURAL))])
    with pytest.raises(grpc.RpcError) as info:
        list(stub.StreamScan(chunks, metadata=archive, timeout=20))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith("header.org_unit")
    activity = kpb.RecordClientActivityRequest(
        employee_id="E1", org_unit=RURAL, client_id="C1", kind="opened"
    )
    assert refused_as(
        grpc.StatusCode.INVALID_ARGUMENT, stub.RecordClientActivity, activity, archive
    ).startswith("org_unit")
    refused_as(
        grpc.StatusCode.UNAVAILABLE,
        stub.ScanText,
        kpb.ScanTextRequest(text_id="t5", employee_id="NOBODY", channel="chat", text=BANNED),
        archive,
    )
    assert not stub.ListCases(kpb.ListCasesRequest(), metadata=officer).cases  # nothing opened
    opened = stub.ScanText(text("t2"), metadata=archive)  # the same text, honestly: judged in E1's unit
    case = stub.GetCase(kpb.GetCaseRequest(name=opened.cases[0]), metadata=officer)
    assert case.org_unit == TEAM


def test_scoring_metrics_claiming_another_unit_or_role_are_refused_and_score_nothing(
    scoring: RunningService,
) -> None:
    stub = scoring_pb2_grpc.ScoringServiceStub(scoring.channel)
    crm = bearer(scoring.tokens.service("crm", {"scoring.metrics.write": "all"}))
    hr = bearer(scoring.tokens.user("HR1", "/hq", ADMIN))
    honest = spb.MetricValue(
        employee_id="E1", period="2026-11", metric="recovery_rate", value="0.5", source="crm"
    )
    for field, change in (("org_unit", {"org_unit": RURAL}), ("role", {"role": "wealth_adviser"})):
        claim = spb.MetricValue()
        claim.CopyFrom(honest)
        for k, v in change.items():
            setattr(claim, k, v)
        request = spb.RecordMetricsRequest(values=[honest, claim])
        assert refused_as(grpc.StatusCode.INVALID_ARGUMENT, stub.RecordMetrics, request, crm).startswith(
            f"values[1].{field}"
        )
    stranger = spb.MetricValue(
        employee_id="NOBODY", period="2026-11", metric="recovery_rate", value="1", source="crm"
    )
    refused_as(
        grpc.StatusCode.UNAVAILABLE,
        stub.RecordMetrics,
        spb.RecordMetricsRequest(values=[stranger]),
        crm,
    )
    stub.ComputeScores(spb.ComputeScoresRequest(period="2026-11", org_unit="/hq"), metadata=hr)
    assert not stub.ListScores(spb.ListScoresRequest(period="2026-11", org_unit="/hq"), metadata=hr).scores
    stub.RecordMetrics(spb.RecordMetricsRequest(values=[honest]), metadata=crm)
    stub.ComputeScores(spb.ComputeScoresRequest(period="2026-11", org_unit="/hq"), metadata=hr)
    scores = stub.ListScores(spb.ListScoresRequest(period="2026-11", org_unit="/hq"), metadata=hr).scores
    assert [(s.employee_id, s.org_unit, s.role) for s in scores] == [("E1", TEAM, "collector")]
