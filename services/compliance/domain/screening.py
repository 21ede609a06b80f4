"""Fuzzy counterparty screening against watchlists (rapidfuzz), robust to company suffixes
(有限公司, 股份有限公司, Co., Ltd., Inc. ...), Chinese location prefixes (深圳市..., 广东省...) and
parenthesised locations ((深圳)), word order, transliteration (pinyin ↔ Latin, via pypinyin),
full-width / traditional characters and case.

Each name is reduced to a core name (what identifies the party) plus a Latin key (the pinyin of a
Chinese core, or the words of a Latin one). Candidates come from an inverted index of core-name
character bigrams and Latin-key tokens — so screening never scans the whole list — and are scored with
rapidfuzz; every match carries the features that produced its score.

Chinese names are compared twice: by characters and by sound (the toneless pinyin syllables, one per
character), so a name written with a same-sounding character (恒信大 for 恒信达) still matches; the
features say which comparison matched (``matched_by:characters`` / ``matched_by:pinyin``) and whether the
query was written in traditional characters (``traditional_form``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import opencc
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from services.compliance.domain.text import Normaliser

# Longest first: the first suffix that ends the name is removed.
SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "集团",
    "公司",
)
# Province / municipality / major city names that prefix company names with or without 省/市.
PLACES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "武汉",
    "成都",
    "西安",
    "厦门",
    "青岛",
    "大连",
    "宁波",
    "无锡",
    "东莞",
    "佛山",
    "珠海",
    "长沙",
    "郑州",
    "济南",
    "合肥",
    "福州",
    "昆明",
    "沈阳",
    "哈尔滨",
    "长春",
]
_PAREN = re.compile(r"[(\[][^()\[\]]{1,20}[)\]]")
_PLACE_PREFIX = re.compile(
    r"^(?:(?:" + "|".join(sorted(PLACES, key=len, reverse=True)) + r")(?:省|市|自治区|特别行政区)?"
    r"|[\u4e00-\u9fff]{2,3}?(?:省|市|自治区))+"
)
_LATIN_SUFFIXES = tuple(
    tuple(s.split())
    for s in (
        "company limited",
        "co ltd",
        "coltd",
        "limited",
        "ltd",
        "incorporated",
        "inc",
        "corporation",
        "corp",
        "llc",
        "plc",
        "gmbh",
        "group",
        "company",
        "co",
    )
)
_LATIN_PLACES = frozenset("".join(lazy_pinyin(p)) for p in PLACES) | {"hong kong", "hongkong", "macau"}
_WORDS = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_NORMALISER = Normaliser()
_T2S = opencc.OpenCC("t2s")


def _fold(text: str) -> str:
    """NFKC (full-width brackets and letters become ASCII) and case fold; punctuation is kept here."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class CoreName:
    core: str  # normalised core name, no spaces or punctuation
    latin: str  # space-separated Latin key: pinyin of a Chinese core, or the words of a Latin name
    features: tuple[str, ...]


_PINYIN: dict[str, str] = {}


def _pinyin(text: str) -> str:
    """Toneless pinyin, one syllable per character (memoised per character: names carry no phrase context
    worth the 50x cost of phrase segmentation)."""
    out = []
    for ch in text:
        syllable = _PINYIN.get(ch)
        if syllable is None:
            syllable = _PINYIN[ch] = "".join(lazy_pinyin(ch))
        out.append(syllable)
    return " ".join(out)


def _strip_latin(words: list[str], features: list[str]) -> list[str]:
    """Trailing company suffixes and leading / trailing place names of a Latin name."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        for suffix in _LATIN_SUFFIXES:
            n = len(suffix)
            if len(words) > n and tuple(words[-n:]) == suffix:
                words = words[:-n]
                features.append("suffix_removed:" + " ".join(suffix))
                changed = True
                break
    for at in (0, -1):
        if len(words) > 1 and words[at] in _LATIN_PLACES:
            features.append(f"location_removed:{words[at]}")
            words = words[1:] if at == 0 else words[:-1]
    return words


def core_name(name: str) -> CoreName:
    """Strip what does not identify the party; report what was stripped."""
    features: list[str] = []
    text = _fold(name.strip())
    if _PAREN.search(text):
        text = _PAREN.sub(" ", text)
        features.append("parenthesised_location_removed")
    if not _CJK.search(text):  # a Latin name: words, suffixes and places are whole words
        words = _strip_latin(_WORDS.findall(text), features)
        return CoreName("".join(words), " ".join(words), tuple(features))
    if _T2S.convert(text) != text:
        features.append("traditional_form")
    core = _NORMALISER.quick(text)
    stripped = True
    while stripped:
        stripped = False
        for suffix in SUFFIXES:
            if core.endswith(suffix) and len(core) > len(suffix) + 1:
                core = core[: -len(suffix)]
                features.append(f"suffix_removed:{suffix}")
                stripped = True
                break
    m = _PLACE_PREFIX.match(core)
    if m and len(core) - m.end() >= 2:
        core = core[m.end() :]
        features.append(f"location_prefix_removed:{m.group(0)}")
    return CoreName(core, _pinyin(core), tuple(features))


def _is_cjk(cn: CoreName) -> bool:
    return bool(_CJK.search(cn.core))


def _keys(cn: CoreName, *, query: bool) -> set[str]:
    """Index keys. Same script: bigrams of the core name. Across scripts: a Chinese entry files the pairs
    of consecutive pinyin syllables of its core ("P:moumou", "P:mouke", "P:keji"), which a Latin query
    finds among the substrings of its spelling; a Latin entry files trigrams of its spelling ("L:..."),
    which a Chinese query finds among the trigrams of its pinyin."""
    core = cn.core
    keys = {"c:" + core[i : i + 2] for i in range(len(core) - 1)} or {"c:" + core}
    if _is_cjk(cn):
        if query:
            latin = cn.latin.replace(" ", "")
            keys.update("L:" + latin[i : i + 3] for i in range(len(latin) - 2))
            syl = cn.latin.split()  # same-sounding Chinese entries (filed under their syllable pairs)
            keys.update("P:" + a + b for a, b in pairwise(syl))
        else:
            syl = cn.latin.split()
            keys.update("P:" + a + b for a, b in pairwise(syl))
            if len(syl) == 1:
                keys.add("P:" + syl[0])
    elif query:
        n = len(core)
        keys.update("P:" + core[i:j] for i in range(n) for j in range(i + 3, min(n, i + 12) + 1))
    else:
        keys.update("L:" + core[i : i + 3] for i in range(len(core) - 2))
    return keys


def score(query: CoreName, entry_core: str, entry_latin: str) -> tuple[float, list[str]]:
    """Similarity 0..100 of a query and an entry's core / Latin key, with the features behind it."""
    q_cjk, e_cjk = _is_cjk(query), bool(_CJK.search(entry_core))
    if q_cjk != e_cjk:  # Chinese vs Latin: compare the pinyin with the Latin spelling
        translit = fuzz.ratio(query.latin.replace(" ", ""), entry_latin.replace(" ", ""))
        return translit, [f"transliteration:{translit:.0f}"]
    plain = fuzz.ratio(query.core, entry_core)
    features = [f"core_ratio:{plain:.0f}"]
    best = plain
    if q_cjk:  # by sound: syllable by syllable, so one same-sounding character is no difference at all
        sound = fuzz.ratio(query.latin.split(), entry_latin.split())
        features.append(f"pinyin_ratio:{sound:.0f}")
        if sound > plain:
            best = sound
        if sound > plain:
            features.append("matched_by:pinyin")
        elif "traditional_form" in query.features:
            features.append("matched_by:traditional_form")
        else:
            features.append("matched_by:characters")
    if not q_cjk:
        by_order = fuzz.token_sort_ratio(query.latin, entry_latin)
        if by_order > plain:
            best = by_order
            features.append(f"word_order:{by_order:.0f}")
    if query.core == entry_core:
        features.append("exact_core_name")
    return best, features


@dataclass(frozen=True)
class Entry:
    id: str
    list_name: str
    name: str
    core: str
    latin: str


@dataclass(frozen=True)
class Match:
    entry_id: str
    list_name: str
    listed_name: str
    score: float
    features: tuple[str, ...] = field(default_factory=tuple)


class Watchlists:
    """All loaded watchlist entries with an inverted index of core bigrams and Latin tokens."""

    MAX_POSTINGS = 5000  # keys more common than this do not discriminate

    def __init__(self, entries: Iterable[tuple[str, str, str]] = ()) -> None:
        self.entries: list[Entry] = []
        self.index: dict[str, list[int]] = defaultdict(list)
        for entry_id, list_name, name in entries:
            self.add(entry_id, list_name, name)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry_id: str, list_name: str, name: str) -> None:
        cn = core_name(name)
        pos = len(self.entries)
        self.entries.append(Entry(entry_id, list_name, name, cn.core, cn.latin))
        for key in _keys(cn, query=False):
            self.index[key].append(pos)

    def screen(
        self,
        name: str,
        thresholds: Mapping[str, float],
        default_threshold: float = 85.0,
        candidates: int = 100,
    ) -> list[Match]:
        """Entries scoring at least their list's threshold, best first, with the features of each score."""
        query = core_name(name)
        counts: Counter[int] = Counter()
        for key in _keys(query, query=True):
            postings = self.index.get(key, ())
            if len(postings) < self.MAX_POSTINGS:
                counts.update(postings)
        out = []
        for pos, _ in counts.most_common(candidates):
            e = self.entries[pos]
            value, features = score(query, e.core, e.latin)
            if value < thresholds.get(e.list_name, default_threshold):
                continue
            out.append(Match(e.id, e.list_name, e.name, round(value, 1), (*query.features, *features)))
        return sorted(out, key=lambda m: -m.score)
