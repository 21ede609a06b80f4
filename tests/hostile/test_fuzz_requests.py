"""Property-based fuzzing (Hypothesis) of every request message of every RPC of every service.

Requests are drawn from the message descriptors: any text (control characters, line breaks, huge and
non-ASCII included), integers over each type's whole range, NaN and infinities, unknown enum numbers, any
Timestamp, nested messages and Structs. Whatever arrives, the answer is a status the client can act on —
never INTERNAL or UNKNOWN — and the service stays up. A bounded number of examples per RPC keeps it fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor
from google.protobuf.descriptor import FieldDescriptor as F
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from covenant.grpc.testing import RunningService, running_service
from tests.hostile.corpus import SERVICES, SHARED, message_class
from tests.hostile.test_hostile_services import POOL

# Per RPC (about 25 RPCs per service with the shared ones); COVENANT_FUZZ_EXAMPLES=200 fuzzes harder.
EXAMPLES = int(os.environ.get("COVENANT_FUZZ_EXAMPLES", "8"))
BROKEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "E1", "E1\n", "/hq", "/hq/b1", "2026-11", "2026-11-02", "0000-01", "1E+999999", "\x00"]
    ),
    st.builds(lambda n: "x" * n, st.integers(0, 70_000)),
)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=20))


def _scalar(field: descriptor.FieldDescriptor) -> st.SearchStrategy:
    if field.type == F.TYPE_STRING:
        return TEXT
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(width=64 if field.type == F.TYPE_DOUBLE else 32)
    if field.type == F.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-5, 10_000))
    lo, hi = INT_RANGES[field.type]
    return st.one_of(st.integers(lo, hi), st.sampled_from([0, 1, -1, lo, hi]).filter(lambda v: lo <= v <= hi))


def message_strategy(d: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy:
    """A strategy for messages of type ``d``: each field set or left unset at random."""
    cls = message_class(d)
    if d.full_name == "google.protobuf.Struct":
        json = st.recursive(
            JSON_SCALARS, lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=3)
        )
        return st.dictionaries(st.text(max_size=8), json, max_size=4).map(lambda v: _struct(cls, v))
    if d.full_name == "google.protobuf.Timestamp":
        return st.builds(
            lambda s, n: cls(seconds=s, nanos=n),
            st.integers(-(2**40), 2**40),
            st.one_of(st.integers(0, 999_999_999), st.integers(-(2**31), 2**31 - 1)),
        )
    parts = {}
    for field in d.fields:
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry or depth >= 3:
                continue
            inner = message_strategy(field.message_type, depth + 1)
        else:
            inner = _scalar(field)
        parts[field.name] = st.lists(inner, max_size=3) if field.is_repeated else st.one_of(st.none(), inner)
    return st.fixed_dictionaries(parts).map(lambda values: _build(cls, values))


def _struct(cls, value: dict):
    message = cls()
    message.update(value)
    return message


def _build(cls, values: dict):
    message = cls()
    for name, value in values.items():
        if value is None:
            continue
        target = getattr(message, name)
        if isinstance(value, list):
            target.extend(value)
        elif hasattr(value, "SerializeToString"):
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


@pytest.fixture(scope="module", params=list(SERVICES))
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    env = {"COVENANT_AUTH_MODE": "dev", "COVENANT_LOG_LEVEL": "CRITICAL"}
    with running_service(
        request.param, db_url=f"sqlite:///{data / 'fuzz.db'}", data_dir=data, env=env
    ) as svc:
        yield svc


def _methods(name: str) -> Iterator[descriptor.MethodDescriptor]:
    for service_name in [*SERVICES[name], *SHARED]:
        yield from POOL.FindServiceByName(service_name).methods


def _caller(channel: grpc.Channel, method: descriptor.MethodDescriptor, broken: list[str]):
    """A Hypothesis test sending fuzzed requests to one RPC, recording INTERNAL/UNKNOWN answers."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    response = message_class(method.output_type)
    kwargs = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response.FromString,
    }
    requests = message_strategy(method.input_type)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(requests, min_size=1, max_size=2) if method.client_streaming else requests)
    def call(request) -> None:
        try:
            if method.client_streaming and method.server_streaming:
                list(channel.stream_stream(path, **kwargs)(iter(request), timeout=30))
            elif method.client_streaming:
                channel.stream_unary(path, **kwargs)(iter(request), timeout=30)
            else:
                channel.unary_unary(path, **kwargs)(request, timeout=30)
        except grpc.RpcError as exc:
            if exc.code() in BROKEN:
                broken.append(f"{path}: {exc.code().name} {exc.details()} for {str(request)[:300]!r}")

    return call


def test_fuzzed_requests_never_get_internal_and_the_service_survives(service: RunningService) -> None:
    broken: list[str] = []
    for method in _methods(service.settings.service):
        _caller(service.channel, method, broken)()
    health = health_pb2_grpc.HealthStub(service.channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert not broken, "\n".join(broken[:20])
