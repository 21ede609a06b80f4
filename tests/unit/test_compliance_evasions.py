"""Spoken and typed evasions (issue 16): homophones and near homophones, pinyin in full or initials, mixed
scripts, characters split by emoji or zero-width characters; each found with its span in the original text
and how it matched."""

from __future__ import annotations

import random

import opencc
import pytest
from pypinyin import Style, lazy_pinyin

from tests.unit.test_compliance_negation import SCANNER

PHRASES = ["保本保息", "保证收益", "稳赚不赔", "高收益无风险", "保证本金", "零风险"]
CONTEXT = ("这款产品{}，您放心买", "经理说了{}的")
SPLITTERS = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "🙂", "💰", "\ufe0f", "👍🏻", "★"]


def _same_sound() -> dict[str, list[str]]:
    t2s = opencc.OpenCC("t2s")
    out: dict[str, list[str]] = {}
    for ch in random.Random(5).sample([chr(c) for c in range(0x4E00, 0x9FA6)], 9000):
        if t2s.convert(ch) == ch:
            out.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return out


SOUNDS = _same_sound()


def homophones() -> list[tuple[str, str]]:
    """Every phrase with one or two characters swapped for others of the same toneless pinyin."""
    rnd = random.Random(16)
    out = []
    for phrase in PHRASES:
        for pos in range(len(phrase)):
            others = [c for c in SOUNDS.get(lazy_pinyin(phrase[pos])[0], []) if c != phrase[pos]]
            for c in others[:2]:
                variant = phrase[:pos] + c + phrase[pos + 1 :]
                if pos + 1 < len(phrase) and rnd.random() < 0.5:
                    more = [
                        x for x in SOUNDS.get(lazy_pinyin(phrase[pos + 1])[0], []) if x != phrase[pos + 1]
                    ]
                    if more:
                        variant = variant[: pos + 1] + more[0] + variant[pos + 2 :]
                out.append((phrase, variant))
    return out


NEAR = [  # southern accents: zh/z, ch/c, sh/s, -ng/-n
    ("保证收益", "保怎收益"),
    ("保证收益", "保证搜益"),
    ("零风险", "林风险"),
    ("零风险", "零分险"),
    ("稳赚不赔", "稳钻不赔"),
    ("保本保息", "保笨保息"),
    ("保本保息", "宝本宝息"),
]


def pinyin_spellings() -> list[tuple[str, str]]:
    out = []
    for phrase in PHRASES:
        syllables = lazy_pinyin(phrase)
        for sep in ("", " ", "-", "'"):
            out.append((phrase, sep.join(syllables)))
        out.append((phrase, " ".join(s.upper() for s in syllables)))
        out.append((phrase, "".join(s.title() for s in syllables)))
        out.append((phrase, " ".join(lazy_pinyin(phrase, style=Style.TONE))))  # typed with tone marks
    return out


def initials() -> list[tuple[str, str]]:
    out = []
    for phrase in PHRASES:
        if len(phrase) >= 3:
            letters = "".join(s[0] for s in lazy_pinyin(phrase))
            out += [(phrase, letters), (phrase, letters.upper()), (phrase, " ".join(letters))]
    return out


def mixed_scripts() -> list[tuple[str, str]]:
    """One character, a run, or every other character spelt in pinyin."""
    out = []
    for phrase in PHRASES:
        syllables = lazy_pinyin(phrase)
        for pos in range(len(phrase)):
            out.append((phrase, phrase[:pos] + syllables[pos] + phrase[pos + 1 :]))
        out.append(
            (
                phrase,
                "".join(s if k % 2 else ch for k, (ch, s) in enumerate(zip(phrase, syllables, strict=True))),
            )
        )
    return out


def splits() -> list[tuple[str, str]]:
    rnd = random.Random(3)
    out = []
    for phrase in PHRASES:
        for splitter in SPLITTERS:
            at = rnd.randrange(1, len(phrase))
            out.append((phrase, phrase[:at] + splitter + phrase[at:]))
        out.append((phrase, "\u200b".join(phrase)))
        out.append((phrase, "🙂".join(phrase)))
    return out


def _check(phrase: str, variant: str, matched_by: set[str]) -> None:
    for context in CONTEXT:
        text = context.format(variant)
        hits = SCANNER.scan(text)
        assert [h.phrase for h in hits] == [phrase], (text, hits)
        (h,) = hits
        assert text[h.start : h.end] == h.matched_text == variant.strip()
        assert h.matched_by in matched_by, h


@pytest.mark.parametrize(("phrase", "variant"), homophones() + NEAR)
def test_homophones_and_near_homophones(phrase: str, variant: str) -> None:
    _check(phrase, variant, {"homophone"})


@pytest.mark.parametrize(("phrase", "variant"), pinyin_spellings())
def test_pinyin_in_full(phrase: str, variant: str) -> None:
    _check(phrase, variant, {"pinyin"})


@pytest.mark.parametrize(("phrase", "variant"), initials())
def test_pinyin_initials(phrase: str, variant: str) -> None:
    _check(phrase, variant, {"initials"})


@pytest.mark.parametrize(("phrase", "variant"), mixed_scripts())
def test_mixed_scripts(phrase: str, variant: str) -> None:
    _check(phrase, variant, {"pinyin"})


@pytest.mark.parametrize(("phrase", "variant"), splits())
def test_characters_split_by_emoji_or_zero_width(phrase: str, variant: str) -> None:
    _check(phrase, variant, {"characters"})


def test_many_variants_are_planted() -> None:
    total = len(homophones()) + len(NEAR) + len(pinyin_spellings()) + len(initials()) + len(mixed_scripts())
    assert total + len(splits()) >= 220


@pytest.mark.parametrize(
    "text",
    [
        "baobei, bie ku le",  # ordinary pinyin chat
        "bbq tonight?",
        "全部保存好了",  # 部 is no 不 and 保存 is no 保本
        "请填写报表后保存",
        "XBBBX-2026 是订单号",  # initials glued into a longer token
        "ling feng xiang",  # 零风险 is ling feng xian: a different last syllable
    ],
)
def test_ordinary_text_is_not_flagged(text: str) -> None:
    assert SCANNER.scan(text) == []
