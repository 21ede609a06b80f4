"""Declarative request constraints (protovalidate) as the validation interceptor reads them."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.grpc.validation import MAX_STRUCT_DEPTH, bad_request_status, violations
from covenant.identity.v1 import org_pb2 as opb
from covenant.points.v1 import points_pb2 as ppb
from covenant.scoring.v1 import scoring_pb2 as spb


def fields(message) -> dict[str, str]:
    return dict(violations(message))


def test_a_valid_request_has_no_violations() -> None:
    ping = apb.Ping(employee_id="E1", org_unit="/hq/b1", time=Timestamp(seconds=1_790_000_000))
    ping.location.latitude, ping.location.longitude = 31.2, 121.5
    assert violations(apb.IngestPingsRequest(pings=[ping])) == []


@pytest.mark.parametrize(
    ("message", "field", "words"),
    [
        (ppb.AdjustPointsRequest(points=2**63 - 1), "points", "less than or equal to 1000000"),
        (spb.RecordMetricsRequest(values=[spb.MetricValue(value="1E+999999")]), "values[0].value", "decimal"),
        (spb.ComputeScoresRequest(period="0000-01"), "period", "YYYY-MM"),
        (ppb.GetBalanceRequest(employee_id="E1\n"), "employee_id", "without spaces, control characters"),
        (ppb.GetBalanceRequest(employee_id="E" * 33), "employee_id", "at most 32"),
        (ppb.ReverseEventRequest(reason="a\x00b"), "reason", "control characters"),
        (ppb.GetLeaderboardRequest(period=99), "period", "defined enum"),
        (opb.ListEmployeesRequest(page_token="%%%"), "page_token", "next_page_token"),
        (opb.ListEmployeesRequest(page_size=-1), "page_size", "greater than or equal to 0"),
        (apb.FindNearbyPlacesRequest(radius_m=float("nan")), "radius_m", "finite"),
        (apb.GetRouteReportRequest(date="2026-02-30x"), "date", "YYYY-MM-DD"),
        (
            apb.IngestPingsRequest(pings=[apb.Ping(time=Timestamp(seconds=10**11))]),
            "pings[0].time",
            "less than 2100",
        ),
        (
            apb.IngestPingsRequest(pings=[apb.Ping(time=Timestamp(seconds=1, nanos=-1))]),
            "pings[0].time",
            "valid timestamp",
        ),
    ],
)
def test_client_mistakes_are_named_field_violations(message, field: str, words: str) -> None:
    found = fields(message)
    assert field in found, found
    assert words in found[field]


def test_structs_are_bounded_in_depth_and_numbers() -> None:
    event = ppb.BusinessEvent(id="e1")
    node = event.data
    for _ in range(MAX_STRUCT_DEPTH + 5):
        node = node.fields["x"].struct_value
    event.data.fields["amount"].number_value = float("inf")
    found = fields(ppb.RecordEventRequest(event=event))
    assert "event.data.amount" in found
    assert any("deeper than" in v for v in found.values())


def test_the_status_carries_a_bad_request_detail() -> None:
    status = bad_request_status([("points", "must be small"), ("reason", "too long")])
    assert status.code.name == "INVALID_ARGUMENT"
    assert "points: must be small" in status.details
    detail = error_details_pb2.BadRequest()
    key, value = status.trailing_metadata[0]
    assert key == "grpc-status-details-bin"
    from google.rpc import status_pb2

    packed = status_pb2.Status.FromString(value).details[0]
    assert packed.Unpack(detail)
    assert [(v.field, v.description) for v in detail.field_violations] == [
        ("points", "must be small"),
        ("reason", "too long"),
    ]


def test_every_request_field_declares_a_constraint() -> None:
    """A field added to a request without a buf.validate constraint fails here (see docs/api-validation.md
    for the kind of constraint each field gets)."""
    import importlib
    import pkgutil

    from buf.validate import validate_pb2
    from google.protobuf.descriptor import FieldDescriptor as F

    import covenant

    seen: dict[str, object] = {}

    def visit(d) -> None:
        if d.full_name in seen or d.full_name.startswith("google."):
            return
        seen[d.full_name] = d
        for f in d.fields:
            if f.message_type is not None:
                visit(f.message_type)

    for m in pkgutil.walk_packages(covenant.__path__, "covenant."):
        if m.name.endswith("_pb2"):
            for service in importlib.import_module(m.name).DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    visit(method.input_type)

    def needs_constraint(f) -> bool:
        if f.is_repeated:
            return True  # max_items
        if f.message_type is not None:
            return f.message_type.full_name == "google.protobuf.Timestamp"  # messages are checked inside
        return f.type != F.TYPE_BOOL

    missing = [
        f"{d.full_name}.{f.name}"
        for d in seen.values()
        for f in d.fields
        if needs_constraint(f) and not f.GetOptions().HasExtension(validate_pb2.field)
    ]
    assert len(seen) > 80 and sum(needs_constraint(f) for d in seen.values() for f in d.fields) > 250
    assert not missing, missing
