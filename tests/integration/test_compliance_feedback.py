"""False-positive feedback per phrase through real gRPC and a real database (issue 16): officers mark
cases FALSE_POSITIVE with a reason; the pack owner sees per-phrase counts and reasons; the pack is not
changed by it."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from covenant.compliance.v1 import compliance_pb2 as pb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
PACK = yaml.safe_load(
    (Path(__file__).parents[2] / "rules/compliance/promises-and-behaviour.yaml").read_text()
)
# Texts planting one hit of a phrase each (with evasions: the count is per phrase, however it was written).
PLANTS = {
    "保本保息": ["这款产品保本保息", "宝本宝息，放心", "baoben baoxi ok", "保🙂本保息"],
    "零风险": ["绝对零风险", "林风险哦", "零\u200b风险"],
    "保证收益": ["我们保证收益", "保证收益的"],
    "稳赚不赔": ["稳赚不赔", "wzbp"],
    "高收益无风险": ["高收益无风险", "gaoshouyi wufengxian"],
}
REASONS = [
    "quoted the regulator's warning",
    "reading the disclaimer aloud",
    "a client's words, not the rep's",
]


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("compliance", db_url=db_url, data_dir=tmp_path) as s:
        people = [f"E{n}" for n in range(100)]
        publish_employees(s, [employee(e, TEAM, "sales_rep") for e in people])  # as identity does
        yield s


def stub(svc: RunningService) -> compliance_pb2_grpc.ComplianceServiceStub:
    return compliance_pb2_grpc.ComplianceServiceStub(svc.channel)


def officer(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(
        svc.tokens.user("C1", "/hq", {"compliance.cases.read": "all", "compliance.cases.manage": "all"})
    )


def pack_owner(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(svc.tokens.user("P1", "/hq", {"rules.packs.read": "all"}))


def test_false_positives_are_counted_per_phrase_for_the_pack_owner(svc: RunningService) -> None:
    rnd = random.Random(16)
    system = bearer(svc.tokens.service("transcription"))
    hits: Counter[str] = Counter()
    false_positives: Counter[str] = Counter()
    reasons: dict[str, list[str]] = {}
    n = 0
    for phrase, texts in PLANTS.items():
        for text in texts:
            n += 1  # one employee per text: one case per hit
            result = stub(svc).ScanText(
                pb.ScanTextRequest(
                    text_id=f"t{n}", employee_id=f"E{n}", org_unit=TEAM, channel="chat", text=text
                ),
                metadata=system,
            )
            assert [h.phrase for h in result.hits] == [phrase], text
            (case,) = result.cases
            hits[phrase] += 1
            if n % 3 == 0:
                continue  # every third case stays open
            reason = rnd.choice(REASONS)
            for state, comment in (("ACKNOWLEDGED", ""), ("FALSE_POSITIVE", reason)):
                stub(svc).TransitionCase(
                    pb.TransitionCaseRequest(name=case, state=state, owner="C1", comment=comment),
                    metadata=officer(svc),
                )
            false_positives[phrase] += 1
            reasons.setdefault(phrase, [])
            if reason not in reasons[phrase]:
                reasons[phrase].insert(0, reason)
    assert sum(false_positives.values()) >= 4 and len(false_positives) >= 3  # the plan has both kinds

    got = stub(svc).GetPhraseFeedback(pb.GetPhraseFeedbackRequest(), metadata=pack_owner(svc))
    assert (got.pack_id, got.pack_version) == (PACK["id"], PACK["version"])  # the pack was not changed
    by_phrase = {f.phrase: f for f in got.phrases}
    assert set(by_phrase) == set(PLANTS)
    for phrase in PLANTS:
        f = by_phrase[phrase]
        assert (f.hits, f.false_positives) == (hits[phrase], false_positives[phrase]), phrase
        assert list(f.reasons) == reasons.get(phrase, [])
        assert f.noise_ratio == pytest.approx(false_positives[phrase] / hits[phrase])
        assert f.active
    ranked = [f.false_positives for f in got.phrases]
    assert ranked == sorted(ranked, reverse=True)  # noisiest first

    # Still the same pack: the noisy phrases are still found.
    again = stub(svc).ScanText(
        pb.ScanTextRequest(
            text_id="again", employee_id="E99", org_unit=TEAM, channel="chat", text="保本保息"
        ),
        metadata=system,
    )
    assert [h.phrase for h in again.hits] == ["保本保息"]


def test_phrase_feedback_needs_rules_packs_read(svc: RunningService) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetPhraseFeedback(pb.GetPhraseFeedbackRequest(), metadata=officer(svc))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "rules.packs.read" in (err.value.details() or "")
