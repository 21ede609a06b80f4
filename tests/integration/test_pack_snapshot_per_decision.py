"""One pack snapshot per decision (issue 22): a decision's parameters, its rules and the version it records
come from the same pack versions, even while activations flip a parameter under load.

Compliance scans: version A rates the phrase 保本 ``medium``, version B ``high``; both are published and
activated through the real RulePackService. Then thirty activations alternate A and B, each the atomic swap
an activation ends in on a replica (``RuleRuntime.set_active``, which the gRPC path reaches after ~1 s of
audited database work that would stretch this test), while batches of scans run through real gRPC. Every
hit's severity must be the one of the version it is stamped with, and the case it opened must carry that
same version (before, the scanner came from one version and the case rules were evaluated on whatever was
active by then).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from covenant.compliance.v1 import compliance_pb2 as pb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.rules.engine import CompiledPack
from tests.support.directory import employee, publish_employees
from tests.support.rules import publish_active, set_version, shipped

TEAM = "/hq/b1/t1"
PACK_ID = "compliance-promises"
SEVERITY = {"2099.1.1": "medium", "2099.1.2": "high"}  # of 保本 in each version
ACTIVATIONS = 30
PHRASE = "      - {phrase: 保本, category: guaranteed_principal, severity: medium}\n"


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("compliance", db_url=db_url, data_dir=tmp_path) as s:
        yield s


def publish_both(svc: RunningService) -> dict[str, CompiledPack]:
    """Publish and activate A then B; the compiled form of each, as the runtime holds it."""
    source = shipped("compliance", "promises-and-behaviour")
    assert source.count(PHRASE) == 1, "the shipped phrase list changed; update this test"
    compiled = {}
    for version, severity in SEVERITY.items():
        publish_active(svc, set_version(source.replace(PHRASE, PHRASE.replace("medium", severity)), version))
        compiled[version] = svc.host.ctx.rules.active()[PACK_ID]  # type: ignore[union-attr]
        assert compiled[version].pack.version == version
    return compiled


def test_thirty_activations_under_scans_mix_no_versions(svc: RunningService) -> None:
    versions = publish_both(svc)
    runtime = svc.host.ctx.rules
    assert runtime is not None
    stub = compliance_pb2_grpc.ComplianceServiceStub(svc.channel)
    system = bearer(svc.tokens.service("transcription"))
    officer = bearer(svc.tokens.user("C1", "/hq", {"compliance.cases.read": "all"}))
    done = threading.Event()
    results: list[pb.ScanResult] = []
    errors: list[BaseException] = []

    def scans() -> None:
        n = 0
        try:
            while not done.is_set():
                # each scan is about a new employee, known to compliance's directory as identity would tell it
                publish_employees(svc, [employee(f"E{n}-{i}", TEAM, "sales_rep") for i in range(4)])
                texts = [
                    pb.ScanTextRequest(
                        text_id=f"t-{n}-{i}",
                        employee_id=f"E{n}-{i}",
                        org_unit=TEAM,
                        channel="call",
                        text="这个产品保本，您放心",
                    )
                    for i in range(4)
                ]
                n += 1
                results.extend(stub.ScanTexts(pb.ScanTextsRequest(texts=texts), metadata=system).results)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=scans)
    worker.start()
    try:
        for i in range(ACTIVATIONS):
            # Flip while the next batch is under way: just after the previous one came back.
            seen = len(results)
            until = time.monotonic() + 10
            while len(results) == seen and time.monotonic() < until and not errors:
                time.sleep(0.002)
            time.sleep(0.005)
            runtime.set_active({**runtime.active(), PACK_ID: versions[list(SEVERITY)[i % 2]]})
    finally:
        done.set()
        worker.join(60)
    assert not errors, errors
    assert len(results) >= 8, "too few decisions ran during the activations"
    seen: set[str] = set()
    mixed = []
    for r in results:
        [hit] = [h for h in r.hits if h.phrase == "保本"]
        [case_name] = r.cases
        case = stub.GetCase(pb.GetCaseRequest(name=case_name), metadata=officer)
        seen.add(hit.pack_version)
        if SEVERITY.get(hit.pack_version) != hit.severity or case.pack_version != hit.pack_version:
            mixed.append((r.text_id, hit.pack_version, hit.severity, case.pack_version))
    assert mixed == []
    assert seen == set(SEVERITY), "the activations did not land while decisions ran"
