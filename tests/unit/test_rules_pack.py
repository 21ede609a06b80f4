"""Pack parsing and validation: every problem names the rule (when there is one) and the YAML line."""

from __future__ import annotations

from datetime import date

import pytest

from covenant.rules import ActionSpec, ActionVocabulary, PackError, parse_pack
from covenant.rules.engine import CompiledPack, run_pack_test_cases
from covenant.rules.expr import ExpressionError, compile_expression, evaluate
from covenant.rules.runtime import RuleRuntime

VOCAB = ActionVocabulary(
    "points",
    [
        ActionSpec(
            "award",
            {
                "type": "object",
                "required": ["points"],
                "additionalProperties": False,
                "properties": {"points": {"type": "integer", "minimum": 1}, "reason": {"type": "string"}},
            },
        )
    ],
)

GOOD = """\
id: sales-awards
version: "2026.11.1"
service: points
owner: sales-ops
description: Points for sales.
events: [points.sale]
parameters:
  per_10k:
    type: integer
    default: 5
    overrides:
      - when: {role: senior}
        value: 3
rules:
  - id: big-sale
    priority: 10
    when:
      all:
        - event.amount: {gte: 10000}
        - not: {facts.blacklisted: {eq: true}}
    then:
      - action: award
        params: {points: {expr: "event.amount // 10000 * 5"}, reason: big sale}
tests:
  - name: 20k earns 10
    event: {type: points.sale, amount: 20000}
    expect: [{rule: big-sale, action: award, params: {points: 10}}]
  - name: blacklisted earns nothing
    event: {type: points.sale, amount: 20000}
    facts: {blacklisted: true}
    expect: []
"""


def problems(text: str) -> str:
    with pytest.raises(PackError) as err:
        parse_pack(text, VOCAB)
    return "\n".join(err.value.problems)


def test_a_good_pack_parses_with_its_rules_tests_and_a_content_hash() -> None:
    pack = parse_pack(GOOD, VOCAB)
    assert (pack.id, pack.version, pack.events) == ("sales-awards", "2026.11.1", ("points.sale",))
    assert [r.id for r in pack.rules] == ["big-sale"] and pack.rules[0].line == 15
    assert [t.name for t in pack.tests] == ["20k earns 10", "blacklisted earns nothing"]
    assert all(r.passed for r in run_pack_test_cases(CompiledPack(pack, VOCAB)))


def test_the_content_hash_ignores_formatting_and_comments_but_not_content() -> None:
    reformatted = GOOD.replace(
        "description: Points for sales.", "# a comment\ndescription: 'Points for sales.'"
    )
    assert parse_pack(reformatted, VOCAB).content_hash == parse_pack(GOOD, VOCAB).content_hash
    changed = GOOD.replace("reason: big sale", "reason: large sale")
    assert parse_pack(changed, VOCAB).content_hash != parse_pack(GOOD, VOCAB).content_hash


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("  - id: big-sale\n", "  - id: Big Sale\n"), "rule Big Sale (line 15): schema: rules.0.id"),
        (
            ("{gte: 10000}", "{gte: lots}"),
            "rule big-sale (line 19): schema: rules.0.when.all.0.event.amount.gte: 'lots' is not of type",
        ),
        (('version: "2026.11.1"', "version: 2026.1"), "line 2: schema: version: 2026.1 is not of type"),
        (("action: award", "action: awrd"), "rule big-sale (line 22): unknown action 'awrd'"),
        (
            ("reason: big sale", "reason: 7"),
            "rule big-sale (line 22): bad parameter reason: 7 is not of type",
        ),
        (('"event.amount // 10000 * 5"', '"__import__(1)"'), "rule big-sale (line 22): params.points"),
        (('"event.amount // 10000 * 5"', '"event.amount +"'), "syntax error"),
        (("value: 3", "value: three"), "parameter per_10k (line 13): override value 'three' is not integer"),
        (
            ("events: [points.sale]", "events: [points.sale]\neffective_from: '2026-13-01'"),
            "line 7: effective_from: '2026-13-01' is not a date",
        ),
    ],
)
def test_each_problem_names_rule_and_line(change: tuple[str, str], expected: str) -> None:
    assert change[0] in GOOD
    assert expected in problems(GOOD.replace(*change))


def test_yaml_syntax_error_names_the_line() -> None:
    assert "line 4: YAML syntax error" in problems("id: x\nrules:\n  - [unclosed\n")


def test_duplicate_rule_ids_name_both_lines() -> None:
    dup = GOOD.replace(
        "tests:",
        "  - id: big-sale\n    when: {event.amount: {lt: 1}}\n"
        "    then: [{action: award, params: {points: 1}}]\ntests:",
    )
    assert "rule big-sale (line 24): duplicate rule id (first at line 15)" in problems(dup)


def test_all_problems_are_reported_together() -> None:
    text = GOOD.replace("action: award", "action: awrd").replace("value: 3", "value: x")
    found = problems(text)
    assert "unknown action" in found and "override value" in found


def test_effective_window_limits_when_the_pack_is_in_force() -> None:
    past = GOOD.replace("events: [points.sale]\n", "events: [points.sale]\neffective_to: 2020-12-31\n")
    pack = parse_pack(past, VOCAB)
    assert pack.effective_to == date(2020, 12, 31) and not pack.in_force(date.today())
    runtime = RuleRuntime("points", VOCAB)
    runtime.set_active({pack.id: CompiledPack(pack, VOCAB)})
    assert runtime.evaluate({"type": "points.sale", "amount": 50000}) == []
    backwards = GOOD.replace(
        "events: [points.sale]\n",
        "events: [points.sale]\neffective_from: 2027-01-02\neffective_to: 2027-01-01\n",
    )
    assert "effective_to is before effective_from" in problems(backwards)


def test_events_list_filters_which_events_a_pack_sees() -> None:
    runtime = RuleRuntime("points", VOCAB)
    pack = parse_pack(GOOD, VOCAB)
    runtime.set_active({pack.id: CompiledPack(pack, VOCAB)})
    assert [a.params["points"] for a in runtime.evaluate({"type": "points.sale", "amount": 30000})] == [15]
    assert runtime.evaluate({"type": "points.refund", "amount": 30000}) == []


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "event.__class__",
        "(lambda: 1)()",
        "[x for x in event]",
        "open('/etc/passwd')",
        "event.amount.bit_length()",
        "{'a': 1}",
        "os.system('x')",
    ],
)
def test_expressions_outside_the_whitelist_do_not_compile(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_expressions_compute_over_event_and_facts() -> None:
    event, facts = {"amount": 25000, "client": {"tier": "gold"}}, {"streak": 3}
    assert evaluate("event.amount // 10000 * 5", event, facts) == 10
    assert evaluate("min(facts.streak * 10, 25) if event.client.tier == 'gold' else 0", event, facts) == 25
    assert evaluate("round(event.amount / 3, 1)", event, facts) == 8333.3
    with pytest.raises(ExpressionError, match="no field 'missing'"):
        evaluate("event.missing + 1", event, facts)


def test_the_example_in_the_docs_is_a_valid_pack_whose_tests_pass() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "rule-packs.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    pack = parse_pack(example, VOCAB)
    assert [r.passed for r in run_pack_test_cases(CompiledPack(pack, VOCAB))] == [True, True]
    param = pack.parameters["points_per_10k"]
    assert param.resolve(None, None) == 5
    assert param.resolve("senior_adviser", "/hq/north/t1") == 3  # a role beats a prefix
    assert param.resolve("rep", "/hq/north/t1") == 6
    assert param.resolve("rep", "/hq/northeast") == 5  # a prefix matches whole units only
