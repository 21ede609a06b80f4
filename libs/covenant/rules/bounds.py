"""Limits on rule-pack YAML, checked before anything builds a tree from it (see docs/rule-packs.md).

A pack is read twice: first as a stream of parser events (libyaml's parser is iterative, so 200 KB of
nested ``[`` costs a counter, not a C stack), then composed into nodes only when the stream is within the
limits. Anchors and aliases are refused outright (packs never need them, and an alias bomb of a few hundred
bytes expands to gigabytes in anything that walks the document). Every refusal names the line and, inside
``rules``, the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2
import yaml

from covenant.errors import InvalidArgument

MAX_PACK_BYTES = 256 * 1024  # the documented ceiling of one pack's YAML
MAX_DEPTH = 32  # nesting of mappings and sequences (condition trees included)
MAX_NODES = 50_000  # scalars + mappings + sequences in one pack
MAX_SCALAR_CHARS = 16 * 1024  # one string value (an expression, a regular expression, a description)

MAX_PATTERN_CHARS = 1000  # one ``matches`` regular expression

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 8 << 20


def compile_pattern(pattern: str) -> Any:
    """A ``matches`` pattern as an RE2 regex: linear time in the text, whatever the pattern (no
    back-references or look-arounds). ``re2.error`` when it is not one."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise re2.error(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    return re2.compile(pattern, _RE2_OPTIONS)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable ``matches`` pattern, or None."""
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return f"matches: not a valid RE2 regular expression: {detail}"
    return None


class PackError(InvalidArgument):
    """A rule pack that fails validation; ``problems`` lists every issue found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems), field="pack")


@dataclass
class _Frame:
    mapping: bool
    key: Any = None  # mapping: the current key (None while a key is expected)
    expect_key: bool = True
    index: int = -1  # sequence: the current item


class _Tracker:
    """Where the parser is: the path from the root, enough to tell which rule an event belongs to."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.rule_ids: dict[int, str] = {}

    def rule_index(self) -> int | None:
        s = self.stack
        if len(s) >= 2 and s[0].mapping and s[0].key == "rules" and not s[1].mapping and s[1].index >= 0:
            return s[1].index
        return None

    def _advance(self) -> Any:
        """Account for one node starting in the current container; returns the key if it is a key."""
        if not self.stack:
            return None
        top = self.stack[-1]
        if not top.mapping:
            top.index += 1
            return None
        if top.expect_key:
            top.expect_key = False
            return True
        top.expect_key = True
        return None

    def scalar(self, value: str) -> None:
        is_key = self._advance()
        top = self.stack[-1] if self.stack else None
        if is_key and top is not None:
            top.key = value
            return
        if (
            top is not None
            and len(self.stack) == 3
            and top.key == "id"
            and (index := self.rule_index()) is not None
        ):
            self.rule_ids.setdefault(index, value)

    def start(self, mapping: bool) -> None:
        is_key = self._advance()
        if is_key and self.stack:
            self.stack[-1].key = None  # a complex key: nothing we name rules by
        self.stack.append(_Frame(mapping))

    def end(self) -> None:
        self.stack.pop()


def _where(tracker: _Tracker, index: int | None, line: int) -> str:
    if index is None:
        return f"line {line}"
    rule = tracker.rule_ids.get(index)
    return f"rule {rule} (line {line})" if rule else f"rules[{index}] (line {line})"


def check_yaml_bounds(text: str) -> None:
    """Refuse (``PackError``) YAML over the size, depth, node or scalar limits, or with anchors, aliases or
    more than one document. Cheap and non-recursive: safe on any input."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PACK_BYTES:
        raise PackError([f"pack: {size} bytes is over the {MAX_PACK_BYTES}-byte limit of a rule pack"])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise PackError([f"line {line}: NUL characters are not allowed"])
    tracker = _Tracker()
    pending: list[tuple[int | None, int, str]] = []  # (rule index, line, problem)
    nodes = documents = 0
    try:
        for event in yaml.parse(text, Loader=_Parser):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise PackError([f"line {line}: a rule pack is one YAML document"])
                continue
            if isinstance(event, yaml.AliasEvent):
                pending.append(
                    (tracker.rule_index(), line, f"YAML aliases (*{event.anchor}) are not allowed in a pack")
                )
                tracker.scalar("")
                continue
            if not isinstance(event, yaml.NodeEvent):
                if isinstance(event, yaml.CollectionEndEvent):
                    tracker.end()
                continue
            nodes += 1
            if nodes > MAX_NODES:
                raise PackError([f"line {line}: more than {MAX_NODES} YAML nodes in one pack"])
            if event.anchor is not None:
                pending.append(
                    (tracker.rule_index(), line, f"YAML anchors (&{event.anchor}) are not allowed in a pack")
                )
            if isinstance(event, yaml.ScalarEvent):
                if len(event.value) > MAX_SCALAR_CHARS:
                    pending.append(
                        (
                            tracker.rule_index(),
                            line,
                            f"a value of {len(event.value)} characters is over the {MAX_SCALAR_CHARS} limit",
                        )
                    )
                tracker.scalar(event.value)
            else:
                tracker.start(isinstance(event, yaml.MappingStartEvent))
                if len(tracker.stack) > MAX_DEPTH:
                    where = _where(tracker, tracker.rule_index(), line)
                    raise PackError([f"{where}: nested deeper than {MAX_DEPTH} levels"])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "pack"
        raise PackError([f"{where}: YAML syntax error: {getattr(exc, 'problem', None) or exc}"]) from None
    if pending:
        shown = [f"{_where(tracker, index, line)}: {problem}" for index, line, problem in pending[:10]]
        more = [f"pack: and {len(pending) - 10} more like these"] if len(pending) > 10 else []
        raise PackError(shown + more)
