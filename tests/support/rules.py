"""Test helpers for rule packs: publish an edited shipped pack and activate it through real gRPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from covenant.grpc.testing import RunningService, bearer
from covenant.rules import CompiledPack, parse_pack
from covenant.rules.runtime import RuleRuntime
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc

RULES = Path(__file__).resolve().parents[2] / "rules"
PACK_OWNER = {"rules.*.publish": "all", "rules.*.activate": "all"}


def shipped(service: str, name: str) -> str:
    """The source of a shipped pack (``rules/<service>/<name>.yaml``)."""
    return (RULES / service / f"{name}.yaml").read_text()


def set_version(source: str, version: str) -> str:
    """``source`` with its top-level ``version:`` line replaced."""
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("version:"):
            lines[i] = f'version: "{version}"\n'
            return "".join(lines)
    raise ValueError("the pack has no version line")


def publish_active(svc: RunningService, source: str) -> None:
    """Publish ``source`` and activate it now (as a pack owner, through the service's RulePackService)."""
    owner = bearer(svc.tokens.user("C1", "/hq", PACK_OWNER))
    rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel).PublishRulePack(
        rpb.PublishRulePackRequest(source_yaml=source, activate=True), metadata=owner, timeout=30
    )


def breach_grace(svc: RunningService, seconds: int, version: str = "2099.1.1") -> None:
    """Activate the shipped commitments pack with ``breach_grace_seconds`` set to ``seconds``."""
    source = shipped("commitments", "templates")
    marker = "    default: 300\n"
    assert source.count(marker) == 1, "the breach_grace_seconds default moved; update this helper"
    publish_active(svc, set_version(source.replace(marker, f"    default: {seconds}\n"), version))


def activate(svc: RunningService, pack_id: str, version: str, request_id: str = "") -> None:
    """Activate an already published version now (as a pack owner)."""
    owner = bearer(svc.tokens.user("C1", "/hq", PACK_OWNER))
    rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel).ActivateRulePackVersion(
        rpb.ActivateRulePackVersionRequest(name=f"packs/{pack_id}/versions/{version}", request_id=request_id),
        metadata=owner,
        timeout=30,
    )


def shipped_runtime(service: str, vocabulary: Any, *names: str) -> RuleRuntime:
    """An in-process rule runtime of ``service`` with its shipped packs ``names`` active."""
    runtime = RuleRuntime(service, vocabulary)
    packs = [parse_pack(shipped(service, n), vocabulary) for n in names]
    runtime.set_active({p.id: CompiledPack(p, vocabulary) for p in packs})
    return runtime
