"""Negation with the shipped pack (issue 16): cues that overlap or follow the phrase, double negation,
within one clause; a table of disclosures and violations, half each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.compliance.domain.text import Phrase, PhraseScanner

PACK = Path(__file__).resolve().parents[2] / "rules/compliance/promises-and-behaviour.yaml"


def shipped_scanner() -> PhraseScanner:
    params = yaml.safe_load(PACK.read_text())["parameters"]

    def d(name: str) -> Any:
        return params[name]["default"]

    return PhraseScanner(
        [Phrase(p["phrase"], p["category"], p["severity"]) for p in d("phrases")],
        negation_cues=d("negation_cues"),
        negation_window=d("negation_window"),
        negation_exceptions=d("negation_exceptions"),
        safe_phrases=d("safe_phrases"),
        homophones=d("homophones"),
        negation_after_cues=d("negation_after_cues"),
        negation_after_window=d("negation_after_window"),
    )


SCANNER = shipped_scanner()

DISCLOSURES = [
    "我们无法保证收益。",  # the cue overlaps the phrase (无法保证 / 保证收益)
    "我们不能保证收益。",
    "谁也不能保证收益。",
    "我们不敢保证收益。",
    "没有任何产品能保证收益。",
    "本产品不保本，请注意风险。",
    "这款产品并非保本保息产品。",
    "这个产品没有保本保息。",
    "我们从不承诺保本保息。",
    "严禁承诺保本保息。",
    "禁止说零风险。",
    "不能说保本保息。",
    "投资有风险，不保证本金。",
    "理财产品不承诺保本。",
    "保本保息是不可能的。",  # the cue follows the phrase
    "保证收益这种说法是违规的。",
    "100%保本是假的。",
    "高收益无风险是骗人的。",
    "稳赚不赔那是不可能的。",
    "保本？没有这回事。",  # a rhetorical question and its answer
    "保本保息？不存在的。",
    "零风险？别信。",
]

VIOLATIONS = [
    "不能说不保本。",  # double negation
    "不是不保本，放心买。",
    "并非不保本。",
    "保本保息不是不可能的。",
    "不是不能保证收益。",
    "放心，保本保息。",
    "这款产品保本保息，一年稳拿。",
    "我们保证收益。",
    "不用担心，保本保息。",  # a negation in another clause
    "不但保本，收益还高。",  # 不但 is no negation
    "不仅保证收益，还有礼品。",
    "保本保息不可能亏。",  # 不可能亏 is no negation of the promise
    "保本保息，不存在风险。",
    "保本保息，没有问题。",
    "保本保息，你别信别人乱说。",  # the denial is in another clause and is about others
    "全部保本保息。",  # 部 sounds like 不 but is no negation
    "高收益无风险，快来买。",
    "稳赚不赔的好产品。",
    "绝对零风险。",
    "这个产品保证本金安全。",
    "你放心，100%保本。",
    "我们的产品保本，放心吧。",
]


def test_the_table_is_large_and_balanced() -> None:
    assert len(DISCLOSURES) + len(VIOLATIONS) >= 40 and len(DISCLOSURES) == len(VIOLATIONS)


@pytest.mark.parametrize("text", DISCLOSURES)
def test_a_disclosure_is_not_a_violation(text: str) -> None:
    assert SCANNER.scan(text) == []


@pytest.mark.parametrize("text", VIOLATIONS)
def test_a_promise_is_a_violation_with_its_span(text: str) -> None:
    hits = SCANNER.scan(text)
    assert len(hits) == 1
    (h,) = hits
    assert text[h.start : h.end] == h.matched_text and h.matched_by == "characters"


@pytest.mark.parametrize(
    ("disclosure", "promise"), list(zip(DISCLOSURES[:10], VIOLATIONS[5:15], strict=True))
)
def test_a_disclosure_and_a_promise_in_one_text_each_count_per_clause(disclosure: str, promise: str) -> None:
    text = disclosure + promise
    hits = SCANNER.scan(text)
    assert len(hits) == 1 and hits[0].start >= len(disclosure)
