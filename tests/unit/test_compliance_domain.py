"""Compliance domain: evasion-proof scanning with exact spans, disclosures, fuzzy screening, case states."""

from __future__ import annotations

import pytest

from covenant.errors import FailedPrecondition
from services.compliance.domain.cases import check_transition
from services.compliance.domain.screening import Watchlists, core_name
from services.compliance.domain.text import Normaliser, Phrase, PhraseScanner

SCANNER = PhraseScanner(
    [
        Phrase("保本保息", "guaranteed_return", "high"),
        Phrase("100%保本", "guaranteed_principal", "high"),
        Phrase("保本", "guaranteed_principal", "medium"),
        Phrase("高收益无风险", "risk_free_high_yield", "high"),
        Phrase("Risk Free", "risk_free_high_yield", "high"),
    ],
    negation_cues=["不", "不能承诺", "无法保证"],
    negation_exceptions=["不用担心"],
    safe_phrases=["非保本"],
    homophones={"宝": "保", "饱": "保", "夕": "息", "包本": "保本"},
)


@pytest.mark.parametrize(
    ("text", "phrase", "span"),
    [
        ("放心，保本保息，一年稳拿", "保本保息", "保本保息"),
        ("这个理财１００％保本", "100%保本", "１００％保本"),  # full-width digits and percent
        ("這是高收益無風險的產品", "高收益无风险", "高收益無風險"),  # traditional characters
        ("绝对 保-本.保 息", "保本保息", "保-本.保 息"),  # spaces and punctuation inserted
        ("this fund is RISK  FREE", "Risk Free", "RISK  FREE"),  # letter case and doubled space
        ("宝本饱夕，没问题", "保本保息", "宝本饱夕"),  # homophone substitutions from the pack
        ("这个产品不错，保本保息", "保本保息", "保本保息"),  # a negation in another clause does not count
        ("包本包息", "保本保息", "包本包息"),  # same sound as the longer phrase (issue 16: matched by sound)
        ("收益2100%保本", "保本", "保本"),  # a glued digit rejects 100%保本; the shorter phrase counts
        ("你不用担心，包本保息", "保本保息", "包本保息"),  # word variant inside a longer phrase
        ("你不用担心保本保息", "保本保息", "保本保息"),  # a listed exception is not a negation
        (
            "Ｒｉｓｋ\u3000Ｆｒｅｅ!",
            "Risk Free",
            "Ｒｉｓｋ\u3000Ｆｒｅｅ",
        ),  # full-width letters, ideographic space
        ("㍿保本保息", "保本保息", "保本保息"),  # a character that expands (slow path keeps the offsets)
        (
            "前" * 300 + "保\u200b本保息" + "后" * 300,
            "保本保息",
            "保\u200b本保息",
        ),  # long text, zero-width space
    ],
)
def test_each_evasion_is_caught_with_the_exact_original_span(text: str, phrase: str, span: str) -> None:
    hits = SCANNER.scan(text)
    assert [h.phrase for h in hits] == [phrase]
    assert text[hits[0].start : hits[0].end] == span == hits[0].matched_text


@pytest.mark.parametrize(
    "text",
    [
        "本产品不保本",
        "我们不能承诺保本保息",
        "我们无法保证保本，请您理解",
        "按时还款即可",
        "这是非保本浮动收益产品",  # a safe phrase containing the banned one
        "本產品不保本",
        "a brisk freedom of choice",  # a Latin phrase inside longer words
    ],
)
def test_disclosures_and_clean_text_pass(text: str) -> None:
    assert SCANNER.scan(text) == []


def test_fuzzy_screening_handles_location_and_suffix_but_not_unrelated() -> None:
    lists = Watchlists(
        [
            ("d1", "dishonest_enterprise", "某某科技(深圳)有限公司"),
            ("s1", "sanctions", "Acme Trading Co., Ltd."),
        ]
    )
    match = lists.screen("深圳市某某科技有限公司", {"dishonest_enterprise": 85})
    assert match and match[0].entry_id == "d1" and match[0].score >= 85
    assert any(f.startswith("location_prefix_removed") for f in match[0].features)
    assert lists.screen("北京天天餐饮管理有限公司", {"dishonest_enterprise": 85}) == []
    by_order = lists.screen("Trading Acme Limited", {"sanctions": 80})
    assert by_order and any(f.startswith("word_order") for f in by_order[0].features)


def test_a_case_cannot_jump_from_open_to_resolved_or_close_without_owner() -> None:
    with pytest.raises(FailedPrecondition, match="OPEN to RESOLVED"):
        check_transition("OPEN", "RESOLVED", owner="officer-1", comment="done")
    with pytest.raises(FailedPrecondition, match="needs an owner"):
        check_transition("OPEN", "ACKNOWLEDGED", owner="", comment="")
    check_transition("OPEN", "ACKNOWLEDGED", owner="officer-1", comment="")
    check_transition("ACKNOWLEDGED", "RESOLVED", owner="officer-1", comment="coached the rep")


def test_offset_map_points_every_normalised_character_at_its_original() -> None:
    n = Normaliser({"宝": "保"})
    for text in ["１００％ 宝-本，這個", "x" * 400 + "保 本" + "，" * 10, "㍿保本"]:
        norm = n.normalise(text)
        assert norm.text == n.quick(text)
        assert len(norm.origin) == len(norm.text) and list(norm.origin) == sorted(norm.origin)
    assert n.normalise("１００％ 宝-本").text == "100保本"  # "%" and "-" are noise between characters


TRANSCRIPT = "您好，这款产品保本保息的。另外本产品不保本，我们不能承诺保本保息。再说一次保 本 保 息，稳拿"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_streaming_in_any_chunking_reports_exactly_what_a_whole_scan_reports(size: int) -> None:
    stream = SCANNER.stream()
    got = []
    for i in range(0, len(TRANSCRIPT), size):
        got += stream.feed(TRANSCRIPT[i : i + size])
    got += stream.finish()
    assert got == SCANNER.scan(TRANSCRIPT)
    assert [TRANSCRIPT[h.start : h.end] for h in got] == ["保本保息", "保 本 保 息"]


def test_a_stream_holds_a_hit_back_until_no_longer_phrase_can_complete_it() -> None:
    stream = SCANNER.stream()
    assert stream.feed("这款产品保本") == []  # could still become 保本保息
    (hit,) = stream.feed("保息的，放心放心放心")
    assert (hit.phrase, hit.start, hit.end) == ("保本保息", 4, 8)
    assert stream.finish() == []


def test_core_names_strip_suffixes_places_and_keep_a_latin_key() -> None:
    assert core_name("广东省深圳市某某科技股份有限公司").core == "某某科技"
    assert core_name("某某科技（深圳）有限公司").core == "某某科技"
    latin = core_name("Moumou Keji (Shenzhen) Co., Ltd.")
    assert (latin.core, latin.latin) == ("moumoukeji", "moumou keji")
    assert core_name("某某科技").latin == "mou mou ke ji"


def test_transliterated_latin_name_meets_the_chinese_entry_and_scores_are_explained() -> None:
    lists = Watchlists(
        [("d1", "dishonest_enterprise", "深圳市某某科技有限公司"), ("d2", "sanctions", "华为技术")]
    )
    (m,) = lists.screen("Shenzhen Moumou Keji Co Ltd", {}, 85)
    assert m.entry_id == "d1" and m.score == 100 and "transliteration:100" in m.features
    assert lists.screen("Moumou Trading Co Ltd", {}, 85) == []
