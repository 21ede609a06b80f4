"""Screening by sound (issue 16): a listed Chinese name written with same-sounding characters, or in
traditional characters, still matches, and the explanation says which comparison matched."""

from __future__ import annotations

import random

import opencc
import pytest
from pypinyin import lazy_pinyin

from services.compliance.domain.screening import Watchlists

LISTED = [
    "深圳市恒信达投资有限公司",
    "广州市鑫隆贸易有限公司",
    "上海华泰金融服务有限公司",
    "北京天成伟业科技有限公司",
    "杭州永盛财富管理有限公司",
    "成都金鼎担保有限公司",
    "武汉明德商贸有限公司",
    "南京瑞丰资产管理有限公司",
    "厦门海润实业有限公司",
    "苏州汇通小额贷款有限公司",
]
LIST = "dishonest_enterprise"
THRESHOLDS = {LIST: 85}
COMMON = [chr(c) for c in range(0x4E00, 0x9FA6)]


def _by_sound() -> dict[str, list[str]]:
    rnd = random.Random(16)
    t2s = opencc.OpenCC("t2s")
    pool = rnd.sample(COMMON, 6000)
    out: dict[str, list[str]] = {}
    for ch in pool:
        if t2s.convert(ch) != ch:
            continue  # simplified characters only: a traditional one is compared in its simplified form
        out.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return out


SOUNDS = _by_sound()


def _core_positions(name: str) -> range:
    """The characters of the identifying part (after the city prefix, before the business words)."""
    return range(3, 5)


def homophone_variants() -> list[tuple[str, str]]:
    out = []
    for name in LISTED:
        for pos in _core_positions(name):
            syllable = lazy_pinyin(name[pos])[0]
            others = [c for c in SOUNDS.get(syllable, []) if c != name[pos]][:3]
            out += [(name, name[:pos] + c + name[pos + 1 :]) for c in others]
    return out


def different_sound_variants() -> list[tuple[str, str]]:
    rnd = random.Random(7)
    out = []
    for name in LISTED:
        for pos in _core_positions(name):
            syllable = lazy_pinyin(name[pos])[0]
            for _ in range(2):
                other = rnd.choice([s for s in SOUNDS if s != syllable])
                out.append((name, name[:pos] + SOUNDS[other][0] + name[pos + 1 :]))
    return out


@pytest.fixture(scope="module")
def lists() -> Watchlists:
    return Watchlists([(f"w{i}", LIST, n) for i, n in enumerate(LISTED)])


def test_the_issue_example_matches_by_pinyin(lists: Watchlists) -> None:
    (m,) = lists.screen("深圳市恒信大投资有限公司", THRESHOLDS)
    assert m.listed_name == "深圳市恒信达投资有限公司"
    assert "core_ratio:80" in m.features and "matched_by:pinyin" in m.features and m.score >= 85


@pytest.mark.parametrize(("listed", "variant"), homophone_variants())
def test_a_same_sounding_character_still_matches_and_says_pinyin(
    lists: Watchlists, listed: str, variant: str
) -> None:
    found = lists.screen(variant, THRESHOLDS)
    assert [m.listed_name for m in found][:1] == [listed]
    assert "matched_by:pinyin" in found[0].features


@pytest.mark.parametrize(("listed", "variant"), different_sound_variants())
def test_a_different_sounding_character_does_not_match_by_sound(
    lists: Watchlists, listed: str, variant: str
) -> None:
    found = [m for m in lists.screen(variant, THRESHOLDS) if m.listed_name == listed]
    assert all("matched_by:pinyin" not in m.features for m in found)


@pytest.mark.parametrize("listed", LISTED)
def test_traditional_characters_match_and_say_so(lists: Watchlists, listed: str) -> None:
    traditional = opencc.OpenCC("s2t").convert(listed)
    found = lists.screen(traditional, THRESHOLDS)
    assert found and found[0].listed_name == listed
    if traditional != listed:
        assert "matched_by:traditional_form" in found[0].features
    plain = lists.screen(listed, THRESHOLDS)
    assert "matched_by:characters" in plain[0].features and "exact_core_name" in plain[0].features


def test_homophone_variants_are_many() -> None:
    assert len(homophone_variants()) >= 30 and len(different_sound_variants()) >= 30
