"""The console's pure parts: parameter edits and versions, the side-by-side diff, dry-run wording, SVG
pictures, sealed sessions and CSRF, the language catalogue."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from covenant.console import charts, packs, screening
from covenant.console.app import _evidence, _safe_next
from covenant.console.i18n import ZH, pick_language, translate
from covenant.console.session import SessionSealer

PACK = Path(__file__).resolve().parents[2] / "rules" / "attendance" / "field-presence.yaml"
TEMPLATES = Path(__file__).resolve().parents[2] / "libs" / "covenant" / "console" / "templates"


def test_a_parameter_form_changes_the_default_and_the_role_override_and_nothing_else() -> None:
    source = PACK.read_text()
    text = packs.apply_parameter_form(
        source, {"p.dwell_minutes.default": "45", "p.dwell_minutes.o.0.value": "50"}, "2026.12.1"
    )
    new, old = packs.load(text), packs.load(source)
    spec = new["parameters"]["dwell_minutes"]
    assert spec["default"] == 45 and spec["overrides"] == [{"when": {"role": "collector"}, "value": 50}]
    assert new["version"] == "2026.12.1" and new["rules"] == old["rules"] and new["tests"] == old["tests"]
    # the rest of the file, comments included, is untouched: only three lines differ
    changed = [r for r in packs.side_by_side(source, text) if r.kind != "same"]
    assert [(r.left.strip(), r.right.strip()) for r in changed] == [
        ('version: "2026.11.5"', 'version: "2026.12.1"'),
        ("default: 30", "default: 45"),
        ("- {when: {role: collector}, value: 40}", "- {when: {role: collector}, value: 50}"),
    ]


@pytest.mark.parametrize("pack", sorted(PACK.parents[1].glob("*/*.yaml")), ids=lambda p: p.parent.name)
def test_a_new_version_of_any_shipped_pack_differs_only_in_its_version_line(pack: Path) -> None:
    source = pack.read_text()
    text = packs.apply_parameter_form(source, {}, "2026.12.9")
    changed = [r for r in packs.side_by_side(source, text) if r.kind != "same"]
    assert [r.right.strip() for r in changed] == ['version: "2026.12.9"']
    assert packs.load(text) == {**packs.load(source), "version": "2026.12.9"}


def test_overrides_can_be_removed_and_added() -> None:
    text = packs.apply_parameter_form(
        PACK.read_text(),
        {
            "p.dwell_minutes.o.0.value": "",
            "p.dwell_minutes.o.new.org_unit_prefix": "/hq/rural",
            "p.dwell_minutes.o.new.value": "60",
        },
        "2026.12.1",
    )
    assert packs.load(text)["parameters"]["dwell_minutes"]["overrides"] == [
        {"when": {"org_unit_prefix": "/hq/rural"}, "value": 60}
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"p.dwell_minutes.default": "forty"}, "dwell_minutes"),
        ({"p.dwell_minutes.default": "nan"}, "dwell_minutes"),
        ({"p.repeated_coordinates_limit.default": "6.5"}, "repeated_coordinates_limit"),
        ({"p.dwell_minutes.o.new.value": "10"}, "needs a role or an org unit prefix"),
    ],
)
def test_a_bad_form_value_names_the_parameter(form: dict[str, str], message: str) -> None:
    with pytest.raises(packs.EditError, match=message):
        packs.apply_parameter_form(PACK.read_text(), form, "2026.12.1")


def test_next_version_counts_within_the_month() -> None:
    assert packs.next_version(["2026.11.1", "2026.11.3", "2026.10.9"], date(2026, 11, 30)) == "2026.11.4"
    assert packs.next_version(["2026.11.1"], date(2026, 12, 2)) == "2026.12.1"
    assert packs.next_version(["junk"], date(2026, 12, 2)) == "2026.12.1"


def test_conditions_read_as_text() -> None:
    cond = {
        "all": [
            {"event.type": {"eq": "attendance.stop"}},
            {"any": [{"facts.a": {"gt": 3}}, {"facts.b": True}]},
        ]
    }
    assert (
        packs.describe_condition(cond) == 'event.type = "attendance.stop" AND (facts.a > 3 OR facts.b = true)'
    )
    assert packs.describe_actions([{"action": "award", "params": {"points": {"expr": "event.x * 2"}}}]) == [
        "award(points=⟨event.x * 2⟩)"
    ]


def test_side_by_side_marks_changed_added_and_removed_lines() -> None:
    rows = packs.side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.left, r.right) for r in rows] == [
        ("same", "a", "a"),
        ("changed", "b", "B"),
        ("same", "c", "c"),
        ("added", "", "d"),
    ]
    assert [r.right_no for r in rows] == [1, 2, 3, 4]


def test_unchanged_runs_fold_into_one_row_with_context_kept() -> None:
    a = "".join(f"l{i}\n" for i in range(20))
    rows = packs.side_by_side(a, a.replace("l10\n", "L10\n"), context=2)
    assert [r.kind for r in rows] == ["skip", "same", "same", "changed", "same", "same", "skip"]
    assert rows[0].left == "… 8" and rows[-1].right == "… 7"  # 20 lines: 8 + 2 + 1 + 2 + 7


def _fired(rule: str, action: str) -> SimpleNamespace:
    return SimpleNamespace(rule_id=rule, action=action)


def test_dry_run_summary_counts_what_stops_and_starts_firing() -> None:
    stop = [_fired("dwell-anomaly", "raise_dwell_anomaly")]
    results = [SimpleNamespace(changed=True, active_actions=stop, candidate_actions=[]) for _ in range(14)]
    results.append(SimpleNamespace(changed=False, active_actions=stop, candidate_actions=stop))
    results.append(SimpleNamespace(changed=True, active_actions=[], candidate_actions=[_fired("x", "flag")]))
    lines = packs.summarize_dry_run(results)
    assert [(x.rule_id, x.action, x.count, x.direction) for x in lines] == [
        ("x", "flag", 1, "added"),
        ("dwell-anomaly", "raise_dwell_anomaly", 14, "removed"),
    ]


def test_route_picture_draws_every_stop_and_place_and_escapes_labels() -> None:
    route = [
        charts.MapPoint(22.5431, 114.0579, "visit", label="A", verified=True),
        charts.MapPoint(22.5333, 114.0453, "stop", label="<mall>", minutes=45, flagged=True),
    ]
    svg = str(charts.route_svg(route, [charts.MapPoint(22.55, 114.06, "place", label="B")], title="R1"))
    assert svg.count("<circle") == 2 and svg.count('class="place"') == 1
    assert 'class="stop flagged"' in svg and 'class="visit verified"' in svg
    assert "&lt;mall&gt;" in svg and "<mall>" not in svg
    assert ("<polyline" in svg and "km" in svg) or " m<" in svg


def test_tiles_are_laid_only_when_configured() -> None:
    route = [charts.MapPoint(22.5431, 114.0579, "stop"), charts.MapPoint(22.5333, 114.0453, "stop")]
    assert "<image" not in str(charts.route_svg(route))
    tiled = str(charts.route_svg(route, tile_url="https://tiles.example/{z}/{x}/{y}.png"))
    assert re.search(r'href="https://tiles.example/1[0-9]/\d+/\d+.png"', tiled)


def test_trend_chart_has_a_point_per_period() -> None:
    svg = str(charts.trend_svg([("2026-08", 98.0), ("2026-09", 96.0), ("2026-10", 94.0)]))
    assert svg.count("<circle") == 3 and "2026-09" in svg and ">96<" in svg


def test_sealed_sessions_resist_tampering_and_carry_csrf() -> None:
    sealer = SessionSealer(b"k" * 32)
    session = sealer.new("access.jwt", "refresh", "lead", 600)
    cookie = sealer.seal(session)
    assert "access.jwt" not in cookie and sealer.open(cookie) == session
    flipped = cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB")
    assert sealer.open(flipped) is None and sealer.open("garbage") is None and sealer.open(None) is None
    assert SessionSealer(b"x" * 32).open(cookie) is None
    token = sealer.csrf_token(session)
    altered = token[:-1] + ("1" if token.endswith("0") else "0")  # always a different last digit
    assert sealer.check_csrf(session, token) and not sealer.check_csrf(session, altered)
    other = sealer.new("access.jwt", "refresh", "lead", 600)
    assert not sealer.check_csrf(other, token)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/team?date=2026-11-25", "/team?date=2026-11-25"),
        ("//evil.example", "/"),
        ("https://evil", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_next_links_never_leave_the_site(value: str | None, expected: str) -> None:
    assert _safe_next(value) == expected


def test_evidence_highlights_each_finding_in_its_excerpt_and_escapes_the_rest() -> None:
    from services.compliance.domain.excerpt import excerpt

    text = "<b>客户</b>放心，电话13812345678，保本保息，绝对没问题"
    start = text.index("保本保息")
    window, s, e = excerpt(text, start, start + 4, context=30)
    assert window[s:e] == "保本保息" and "13812345678" not in window and "***********" in window
    item = {"text_id": "t1", "phrase": "保本保息", "span": [start, start + 4], "excerpt": window}
    doc = {"items": [{**item, "excerpt_span": [s, e]}, {"text_id": "t2", "day": "2026-11-30"}]}
    ev = _evidence(json.dumps(doc, ensure_ascii=False))
    first, second = ev.items
    assert (
        str(first.excerpt)
        == "&lt;b&gt;客户&lt;/b&gt;放心，电话***********，<mark>保本保息</mark>，绝对没问题"
    )
    assert ("phrase", "保本保息") in first.fields and not [
        k for k, _ in first.fields if k.startswith("excerpt")
    ]
    assert second.excerpt is None and ("day", "2026-11-30") in second.fields


def test_every_template_text_has_a_chinese_translation() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'\bt\("([^"]+)"\)', path.read_text()))
    missing = sorted(used - set(ZH))
    assert not missing, f"add to covenant.console.i18n.ZH: {missing}"
    assert translate("en", "Team day") == "Team day" and translate("zh-CN", "Team day") == "团队今日"


def test_language_choice_cookie_then_browser_then_chinese() -> None:
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language(None, "en-GB,en;q=0.8") == "en"
    assert pick_language("xx", None) == "zh-CN"


@pytest.mark.parametrize(
    ("features", "matched_by", "details"),
    [
        (
            ["core_ratio:80", "pinyin_ratio:100", "matched_by:pinyin"],
            "pinyin (same sound)",
            [("character similarity", "80"), ("pinyin similarity", "100")],
        ),
        (
            ["traditional_form", "core_ratio:100", "matched_by:traditional_form", "exact_core_name"],
            "traditional form",
            [("written in traditional characters", ""), ("character similarity", "100"), ("exact name", "")],
        ),
        (
            ["location_prefix_removed:深圳市", "core_ratio:92", "matched_by:characters", "novel:1"],
            "characters",
            [("location prefix removed", "深圳市"), ("character similarity", "92"), ("novel:1", "")],
        ),
    ],
)
def test_a_screening_hit_explains_which_comparison_matched(
    features: list[str], matched_by: str, details: list[tuple[str, str]]
) -> None:
    why = screening.explain(features)
    assert why.matched_by == matched_by and list(why.details) == details
    for label in [why.matched_by, *(d for d, _ in why.details if ":" not in d)]:
        assert label in ZH, label  # every explanation reads in Chinese too
