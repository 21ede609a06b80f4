"""The one edge check of every request: declarative protovalidate constraints from the protos.

``ValidationInterceptor`` runs after authentication and before any servicer. For every covenant RPC it
- decodes the request itself, so bytes that are not the request message (or nest deeper than protobuf
  allows) are INVALID_ARGUMENT, not the INTERNAL grpc would answer;
- checks the request against the ``buf.validate`` constraints declared in its ``.proto`` (lengths, ranges,
  finite numbers, defined enums, valid timestamps, id patterns), each item of a request stream included;
- bounds every ``google.protobuf.Struct`` in it (depth, size, finite numbers, string lengths) and checks
  every Timestamp is representable (nanos in range), which protovalidate has no rules for;
- as a last net, a database ``DataError`` (a string longer than its column, a number out of its type's
  range) raised by the servicer becomes INVALID_ARGUMENT; the transaction was rolled back.
A refusal is INVALID_ARGUMENT with a message naming the fields and a ``google.rpc.BadRequest`` detail with
one field violation per problem (read it with ``grpc_status.rpc_status.from_call``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import protovalidate
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import DataError

VALIDATED_PREFIX = "/covenant."
MAX_STRUCT_DEPTH = 16
MAX_STRUCT_VALUES = 20_000
MAX_STRUCT_STRING = 64 * 1024

_validator = protovalidate.Validator()
FieldViolation = tuple[str, str]  # (field path, description)
TOO_BIG = "holds a value longer or larger than the service can store (nothing was written)"

_NOT_BLANK = r"\x00-\x20\x7F-\x{9F}\x{2028}\x{2029}"
_CONTROL = r"\x00-\x1F\x7F-\x{9F}\x{2028}\x{2029}"
PATTERN_MEANING = {  # the patterns the protos use, in words
    f"^[^{_NOT_BLANK}]*$": "must be an id without spaces, control characters or line breaks",
    f"^[^{_CONTROL}]*$": "must be one line without control characters",
    r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$": "must not contain control characters",
    f"^(/[^/{_NOT_BLANK}]+)*/?$": "must be an org unit path like /hq/branch-1",
    "^(|(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))$": "must be a date YYYY-MM-DD",
    "^(|(19|20|21)[0-9]{2}-(0[1-9]|1[0-2]))$": "must be a month YYYY-MM (years 1900-2199)",
    "^(|[+-]?[0-9]{1,15}([.][0-9]{1,9})?)$": "must be a decimal number like 12.5 (<= 15 digits, 9 decimals)",
    "^[A-Za-z0-9_.=-]*$": "must be a next_page_token returned by this list",
    "^[A-Za-z0-9_.=+/-]*$": "must be a token (base64url characters)",
}


@dataclass(frozen=True)
class _Undecodable:
    """A request whose bytes did not decode; carries the decoder's reason."""

    reason: str


def _path(violation: protovalidate.Violation) -> str:
    """``pings[3].location.latitude`` from a violation's field path (protovalidate's own message types)."""
    parts: list[str] = []
    for element in violation.proto.field.elements:
        name = element.field_name
        subscript = getattr(element, "subscript", None)
        if subscript is not None and getattr(subscript, "field", None):
            value = subscript.value
            name += f"[{value}]" if subscript.field == "index" else f"[{value!r}]"
        parts.append(name)
    return ".".join(parts)


def _describe(violation: protovalidate.Violation) -> str:
    if violation.proto.rule_id == "string.pattern":
        meaning = PATTERN_MEANING.get(str(violation.rule_value))
        if meaning:
            return meaning
    return violation.proto.message or violation.proto.rule_id


def _struct_problems(message: Message, prefix: str = "") -> list[FieldViolation]:
    """Bounds on every Struct / Value / ListValue inside ``message`` and validity of every Timestamp and
    Duration (iterative: safe on any depth)."""
    problems: list[FieldViolation] = []
    if not _needs_walk(message.DESCRIPTOR):
        return problems
    count = 0
    todo: list[tuple[Any, str, int]] = [(message, prefix, 0)]
    while todo:
        node, path, depth = todo.pop()
        if isinstance(node, struct_pb2.Value):
            count += 1
            kind = node.WhichOneof("kind")
            if kind == "struct_value":
                todo.append((node.struct_value, path, depth))
            elif kind == "list_value":
                todo.append((node.list_value, path, depth))
            elif kind == "number_value" and not math.isfinite(node.number_value):
                problems.append((path, "must be a finite number"))
            elif kind == "string_value" and len(node.string_value) > MAX_STRUCT_STRING:
                problems.append((path, f"must be at most {MAX_STRUCT_STRING} characters"))
            continue
        if isinstance(node, timestamp_pb2.Timestamp | duration_pb2.Duration):
            if not (
                0 <= abs(node.nanos) < 1_000_000_000 and _MIN_SECONDS <= node.seconds <= _MAX_SECONDS
            ) or (isinstance(node, timestamp_pb2.Timestamp) and node.nanos < 0):
                problems.append(
                    (path, "must be a valid timestamp (seconds in 0001..9999, nanos in [0, 1e9))")
                )
            continue
        if isinstance(node, struct_pb2.Struct | struct_pb2.ListValue):
            if depth >= MAX_STRUCT_DEPTH:
                problems.append((path, f"must not nest deeper than {MAX_STRUCT_DEPTH} levels"))
                continue
            if isinstance(node, struct_pb2.Struct):
                todo.extend((v, f"{path}.{k}" if path else k, depth + 1) for k, v in node.fields.items())
            else:
                todo.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node.values))
            continue
        for field, value in node.ListFields():
            target = field.message_type
            if target is None or not _needs_walk(target):
                continue
            name = f"{path}.{field.name}" if path else field.name
            if target.GetOptions().map_entry:
                todo.extend((item, f"{name}[{k!r}]", depth) for k, item in value.items())
            elif field.is_repeated:
                todo.extend((item, f"{name}[{i}]", depth) for i, item in enumerate(value))
            else:
                todo.append((value, name, depth))
        if count > MAX_STRUCT_VALUES:
            return [(prefix or "request", f"must hold at most {MAX_STRUCT_VALUES} structured values")]
    return problems


_STRUCTS = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
_TIMES = {"google.protobuf.Timestamp", "google.protobuf.Duration"}
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01 .. 9999-12-31


@functools.cache
def _needs_walk(descriptor: Any) -> bool:
    """Whether messages of this type can contain a Struct, Timestamp or Duration (the walk skips the rest)."""
    seen: set[str] = set()
    todo = [descriptor]
    while todo:
        d = todo.pop()
        if d.full_name in _STRUCTS or d.full_name in _TIMES:
            return True
        if d.full_name in seen:
            continue
        seen.add(d.full_name)
        todo.extend(f.message_type for f in d.fields if f.message_type is not None)
    return False


def violations(request: Message, prefix: str = "") -> list[FieldViolation]:
    """Every constraint the request breaks, as (field path, description); empty when it is valid."""
    try:
        found = [(prefix + _path(v), _describe(v)) for v in _validator.collect_violations(request)]
    except protovalidate.EvaluationError as exc:  # e.g. a Timestamp outside the representable range
        found = [(prefix or "request", f"cannot be evaluated: {exc}")]
    named = {field for field, _ in found}
    return found + [p for p in _struct_problems(request, prefix) if p[0] not in named]


def bad_request_status(problems: list[FieldViolation]) -> grpc.Status:
    """INVALID_ARGUMENT naming every field, with a google.rpc.BadRequest detail."""
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            for field, description in problems
        ]
    )
    shown = "; ".join(f"{field}: {description}" for field, description in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=shown + more)
    status.details.add().Pack(detail)
    return rpc_status.to_status(status)


def _decoder(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, RecursionError, ...: the client sent something else
            return _Undecodable(f"{type(exc).__name__}: {exc}"[:200])

    return decode


@contextmanager
def _fits_columns(context: grpc.ServicerContext) -> Iterator[None]:
    """A value the declared bounds let through but a column cannot hold is a bad request too."""
    try:
        yield
    except DataError:
        context.abort_with_status(bad_request_status([("request", TOO_BIG)]))


def _check(request: Any, context: grpc.ServicerContext, prefix: str = "") -> None:
    if isinstance(request, _Undecodable):
        problems = [(prefix or "request", f"is not a valid request message ({request.reason})")]
    elif isinstance(request, Message):
        problems = violations(request, prefix)
    else:  # a method with its own (non-protobuf) serialization: nothing declared to check
        return
    if problems:
        context.abort_with_status(bad_request_status(problems))


class ValidationInterceptor(grpc.ServerInterceptor):
    """Validates every covenant request (see module docstring)."""

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith(VALIDATED_PREFIX):
            return handler
        kind = next(
            k for k in ("unary_unary", "unary_stream", "stream_unary", "stream_stream") if getattr(handler, k)
        )
        behavior = getattr(handler, kind)

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            _check(request, context)
            with _fits_columns(context):
                return behavior(request, context)

        def streaming(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            def checked() -> Iterator[Any]:
                for i, request in enumerate(requests):
                    _check(request, context, prefix=f"[{i}].")
                    yield request

            with _fits_columns(context):
                return behavior(checked(), context)

        return getattr(grpc, f"{kind}_rpc_method_handler")(
            streaming if kind.startswith("stream") else unary,
            request_deserializer=_decoder(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
