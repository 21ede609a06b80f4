"""Hostile rule packs and expressions are refused cheaply, naming the rule and line (issue 15)."""

from __future__ import annotations

import resource
import time

import pytest

from covenant.rules import ActionSpec, ActionVocabulary, PackError, parse_pack
from covenant.rules.bounds import MAX_PACK_BYTES
from covenant.rules.engine import CompiledPack
from covenant.rules.expr import ExpressionError, evaluate

VOCAB = ActionVocabulary(
    "scoring", [ActionSpec("note", {"type": "object", "properties": {"n": {"type": ["integer", "string"]}}})]
)
HEAD = "id: p\nversion: '1'\nservice: scoring\nowner: o\nrules:\n"
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def refusal(text: str) -> str:
    with pytest.raises(PackError) as info:
        parse_pack(text, VOCAB)
    return info.value.message


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_200kb_of_nested_brackets_is_refused_without_a_crash() -> None:
    started = time.perf_counter()
    assert "nested deeper than" in refusal("[" * 200_000)
    assert "nested deeper than" in refusal(HEAD + "  - id: deep\n    when: " + "{all: [" * 5000)
    assert "rule deep (line 7)" in refusal(HEAD + "  - id: deep\n    when: " + "{all: [" * 5000)
    assert "rules[0] (line 6)" in refusal(HEAD + "  - when: " + "{all: [" * 5000)
    assert time.perf_counter() - started < 2


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    assert len(ALIAS_BOMB.encode()) < 600
    before = rss_mb()
    message = refusal(ALIAS_BOMB)
    assert "anchors (&a) are not allowed" in message and "line 1" in message
    assert rss_mb() - before < 50


def test_anchors_and_aliases_name_the_rule_and_line() -> None:
    text = HEAD + (
        "  - id: first\n    when: &w {event.x: {eq: 1}}\n    then: [{action: note}]\n"
        "  - id: second\n    when: *w\n    then: [{action: note}]\n"
    )
    message = refusal(text)
    assert "rule first (line 7): YAML anchors (&w)" in message
    assert "rule second (line 10): YAML aliases (*w)" in message


def test_oversized_packs_and_values_are_refused() -> None:
    assert "byte limit" in refusal(HEAD + "#" * (MAX_PACK_BYTES + 1))
    huge = (
        HEAD
        + f"  - id: long\n    when: {{event.x: {{eq: '{'x' * 20_000}'}}}}\n    then: [{{action: note}}]\n"
    )
    assert "rule long (line 7)" in refusal(huge)
    assert "one YAML document" in refusal(HEAD + "---\nid: q\n")


def test_catastrophic_regexes_run_in_linear_time_and_bad_ones_name_the_rule() -> None:
    text = HEAD + "  - id: evil\n    when: {event.t: {matches: '^(a+)+$'}}\n    then: [{action: note}]\n"
    compiled = CompiledPack(parse_pack(text, VOCAB), VOCAB)
    started = time.perf_counter()
    for _ in range(20):
        assert compiled.evaluate({"t": "a" * 50_000 + "b"}) == []
    assert time.perf_counter() - started < 5.0  # Python re: exponential, never finishes on this input
    bad = HEAD + "  - id: backref\n    when: {event.t: {matches: '(a)\\1'}}\n    then: [{action: note}]\n"
    with pytest.raises(PackError, match=r"rule backref \(line 6\): matches: not a valid RE2"):
        CompiledPack(parse_pack(bad, VOCAB), VOCAB)


def test_compile_cost_is_linear_rules_of_any_type_are_not_copied_per_type() -> None:
    def pack_text(types: int) -> str:
        pinned = "".join(
            f"  - id: t{i}\n    when: {{event.type: {{eq: type{i}}}}}\n    then: [{{action: note}}]\n"
            for i in range(types)
        )
        anywhere = "".join(
            f"  - id: a{i}\n    when: {{event.x: {{eq: {i}}}}}\n    then: [{{action: note}}]\n"
            for i in range(types)
        )
        return HEAD + pinned + anywhere

    compiled = CompiledPack(parse_pack(pack_text(150), VOCAB), VOCAB)
    sizes = [len(r.definition) for r in compiled.rulesets()]
    assert sum(sizes) == 300  # each rule exactly once (it was 150 * 151 before)
    assert compiled.evaluate({"type": "type7", "x": 3}) and [
        a.rule_id for a in compiled.evaluate({"type": "type7", "x": 3})
    ] == ["t7", "a3"]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("'x' * 1500000000", "repetition would make 1500000000"),
        ("event.s * 1000000", "repetition"),
        ("'%999999999d' % 1", "no string formatting"),
        ("event.n * event.n * event.n", "64-bit"),
        ("float('1e999')", "finite"),
        ("round(5, -1000000000000)", "digits"),
        ("str(event)", "single value"),
        ("1" + "+1" * 150, "syntax nodes"),
        ("x" * 2000, "longer than"),
        ("int('9' * 5000)", "32 characters"),
        ("event.s + event.s", "too large"),
    ],
)
def test_expressions_are_bounded(source: str, problem: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=problem):
        evaluate(source, {"s": "y" * 6000, "n": 2**40}, {})
    assert time.perf_counter() - started < 2.0


def test_a_constant_expression_over_a_bound_refuses_the_pack_naming_rule_and_line() -> None:
    text = (
        HEAD
        + "  - id: bomb\n    when: {event.x: {eq: 1}}\n"
        + "    then: [{action: note, params: {n: {expr: \"'x' * 1500000000\"}}}]\n"
    )
    assert "rule bomb (line 8): params.n: repetition" in refusal(text)


def test_rulesets_past_the_engine_limit_are_refused_naming_the_rule() -> None:
    def wide(rules: int, values: int = 1) -> str:
        return HEAD + "".join(
            f"  - id: w{i}\n    when: {{event.x: {{in: {list(range(i * 1000, i * 1000 + values))}}}}}\n"
            "    then: [{action: note}]\n"
            for i in range(rules)
        )

    assert len(CompiledPack(parse_pack(wide(512), VOCAB), VOCAB).rulesets()) == 1  # exactly at the limit
    with pytest.raises(PackError, match=r"rule w512 \(line 1542\): .* more than 512"):
        CompiledPack(parse_pack(wide(513), VOCAB), VOCAB)
    with pytest.raises(PackError, match=r"rule w1 \(line 9\): .* more than 512"):  # 2 rules x 300 values
        CompiledPack(parse_pack(wide(2, 300), VOCAB), VOCAB)
