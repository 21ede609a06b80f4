"""The hostile-input corpus: for every RPC, request messages a hostile client could send.

``variants(descriptor)`` walks a request type and yields (field path, message) pairs, each with one field
made hostile: NUL and control characters, a trailing newline in ids, strings past every limit, int64
overflow, NaN and infinity, unknown enum numbers, invalid and far-future timestamps, Structs nested past
the bound (and past protobuf's own decoder limit), garbage page tokens. Every one must be refused with
INVALID_ARGUMENT naming the field. ``HOSTILE_PACKS`` are rule packs every service's RulePackService must
refuse, naming the line (and the rule, inside one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor, message_factory
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import Message

SERVICES = {
    "identity": ["covenant.identity.v1.IdentityService"],
    "attendance": ["covenant.attendance.v1.AttendanceService"],
    "scoring": ["covenant.scoring.v1.ScoringService"],
    "points": ["covenant.points.v1.PointsService"],
    "compliance": ["covenant.compliance.v1.ComplianceService"],
    "commitments": ["covenant.commitments.v1.CommitmentsService"],
}
SHARED = ["covenant.rules.v1.RulePackService", "covenant.events.v1.EventSinkService"]
HUGE = "x" * 1_100_000  # past every string limit (the largest, a scanned text, is 1 MiB)
INTS = {F.TYPE_INT32: -(2**31), F.TYPE_SINT32: -(2**31), F.TYPE_INT64: 2**63 - 1, F.TYPE_SINT64: -(2**63)}
FLOATS = (float("nan"), float("inf"), -float("inf"))


def message_class(d: descriptor.Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(d)


def _nested_struct(target: Message, depth: int) -> None:
    node = target
    for _ in range(depth):
        node = node.fields["x"].struct_value


PLAUSIBLE = {"pack_id": "hostile", "org_unit": "/hq", "date": "2026-11-02", "period": "2026-11"}


def _garbage_token(m: Message) -> None:
    """A well-formed-looking token no list issued, with the list's other required fields filled in."""
    m.page_token = "Zm9vYmFy"
    for name, value in PLAUSIBLE.items():
        field = m.DESCRIPTOR.fields_by_name.get(name)
        if field is not None and field.type == F.TYPE_STRING:
            setattr(m, name, value)


def _max_len(field: descriptor.FieldDescriptor) -> int:
    """The declared length limit of a string field (1 MiB, past every limit, when it declares none)."""
    from buf.validate import validate_pb2

    rules = field.GetOptions().Extensions[validate_pb2.field]
    strings = rules.repeated.items.string if field.is_repeated else rules.string
    return strings.max_len or strings.max_bytes or len(HUGE) - 1


def _hostile_values(field: descriptor.FieldDescriptor) -> Iterator[tuple[str, Any]]:
    """(label, setter) pairs; a setter takes the message holding the field."""
    name = field.name
    if field.message_type is not None:
        full = field.message_type.full_name
        if full == "google.protobuf.Timestamp":
            yield "year 5138", lambda m: getattr(m, name).FromSeconds(10**11)
            yield (
                "negative nanos",
                lambda m: (setattr(getattr(m, name), "seconds", 1), setattr(getattr(m, name), "nanos", -1)),
            )
        elif full == "google.protobuf.Struct":
            yield "Struct nested 20 deep", lambda m: _nested_struct(getattr(m, name), 20)
            yield "Struct with NaN", lambda m: getattr(m, name).update({"n": float("nan")})
        return
    if field.type == F.TYPE_STRING:
        yield "NUL byte", lambda m: setattr(m, name, "ok\x00ok")
        limit = _max_len(field)
        yield f"{limit + 1}-character string", lambda m: setattr(m, name, "x" * (limit + 1))
        if name.endswith("_id") or name in ("id", "name", "page_token", "period", "date"):
            yield "trailing newline", lambda m: setattr(m, name, "E1\n")
        if name == "page_token":
            yield "garbage token", _garbage_token
    elif field.type in INTS:
        yield "overflowing integer", lambda m: setattr(m, name, INTS[field.type])
    elif field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        for value in FLOATS:
            yield f"{value}", lambda m, v=value: setattr(m, name, v)
    elif field.type == F.TYPE_ENUM:
        yield "unknown enum number", lambda m: setattr(m, name, 12345)


def variants(d: descriptor.Descriptor, depth: int = 0) -> Iterator[tuple[str, str, Message]]:
    """(field path, what, request) with one hostile field each, down to three levels of messages."""
    cls = message_class(d)
    for field in d.fields:
        repeated = field.is_repeated
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            continue
        for what, setter in _hostile_values(field):
            if repeated:
                msg = cls()
                holder = _Holder(field)
                setter(holder)
                if holder.value is None:
                    continue
                getattr(msg, field.name).append(holder.value)
                yield f"{field.name}[0]", what, msg
            else:
                msg = cls()
                setter(msg)
                yield field.name, what, msg
        full = field.message_type.full_name if field.message_type is not None else ""
        if field.message_type is not None and not full.startswith("google.protobuf.") and depth < 2:
            for path, what, inner in variants(field.message_type, depth + 1):
                msg = cls()
                if repeated:
                    getattr(msg, field.name).append(inner)
                    yield f"{field.name}[0].{path}", what, msg
                else:
                    getattr(msg, field.name).CopyFrom(inner)
                    yield f"{field.name}.{path}", what, msg


class _Holder:
    """Catches the value a setter assigns, for repeated scalar fields."""

    def __init__(self, field: descriptor.FieldDescriptor) -> None:
        object.__setattr__(self, "value", None)

    def __setattr__(self, _name: str, value: Any) -> None:
        object.__setattr__(self, "value", value)

    def __getattr__(self, _name: str) -> Any:
        raise AttributeError(_name)


HEAD = "id: hostile\nversion: '1'\nservice: {service}\nowner: o\nrules:\n"
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
HOSTILE_PACKS: list[tuple[str, str, list[str]]] = [  # (case, YAML with {service}, words the refusal holds)
    ("200 KB of nested [", "[" * 200_000, ["line 1", "nested deeper than"]),
    ("alias bomb", ALIAS_BOMB, ["line 1", "anchors (&a) are not allowed"]),
    (
        "anchor inside a rule",
        HEAD + "  - id: r1\n    when: &w {event.x: {eq: 1}}\n    then: [{action: a}]\n",
        ["rule r1 (line 7)", "anchors (&w)"],
    ),
    (
        "deep condition",
        HEAD + "  - id: deep\n    when: " + "{all: [" * 3000,
        ["rule deep (line 7)", "nested deeper than"],
    ),
    (
        "back-reference regex",
        HEAD + "  - id: backref\n    when: {event.t: {matches: '(a)\\1'}}\n    then: [{action: a}]\n",
        ["rule backref (line 6)", "not a valid RE2"],
    ),
    (
        "expression bomb",
        HEAD + "  - id: bomb\n    when: {event.x: {eq: 1}}\n"
        "    then: [{action: a, params: {n: {expr: \"'x' * 1500000000\"}}}]\n",
        ["rule bomb (line 8)", "repetition would make 1500000000"],
    ),
    ("oversized pack", HEAD + "#" * 300_000, ["source_yaml"]),
]


def engine_limit_pack(service: str, rules: int = 513) -> str:
    """A pack of ``rules`` any-type rules, one past durable-rules' limit at 513: before the limit was
    checked, compiling it never returned (and held the service). ``verify_visit`` is an attendance action
    that needs no parameters; other services refuse the pack for its action instead."""
    body = "".join(
        f"  - id: a{i}\n    when: {{event.x: {{eq: {i}}}}}\n    then: [{{action: verify_visit}}]\n"
        for i in range(rules)
    )
    return HEAD.replace("{service}", service) + body


def catastrophic_regex_pack(service: str) -> str:
    """``^(a+)+$`` with a test case that backtracks for ages in Python's ``re``: under RE2 it is linear, so
    validating the pack (which runs its tests) is quick and the pack is fine (attendance's vocabulary)."""
    return HEAD.replace("{service}", service) + (
        "  - id: evil\n    when: {event.t: {matches: '^(a+)+$'}}\n    then: [{action: verify_visit}]\n"
        f"tests:\n  - name: long text\n    event: {{t: '{'a' * 15_000}b'}}\n    expect: []\n"
    )
