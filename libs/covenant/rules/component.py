"""Everything a service process needs for its rule packs, built by the chassis in one call."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covenant.db.engine import Database
from covenant.periodic import PeriodicWorker
from covenant.rules.authority import ApprovalPolicy
from covenant.rules.lifecycle import RulePackManager
from covenant.rules.runtime import RuleRuntime
from covenant.rules.servicer import RulePackServicer
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.rules.vocabulary import ActionVocabulary


class ActiveVersionWatcher(PeriodicWorker):
    """Polls the stored active versions and swaps the runtime when they change (every replica runs one).

    A failed refresh (database unreachable for a moment) is logged; the active packs keep serving.
    """

    thread_name = "rule-pack-watcher"

    def __init__(self, manager: RulePackManager, interval: float) -> None:
        super().__init__(interval)
        self.manager = manager

    def tick(self) -> None:
        self.manager.refresh()


@dataclass
class RulesComponent:
    runtime: RuleRuntime
    manager: RulePackManager
    servicer: RulePackServicer
    watcher: ActiveVersionWatcher
    rules_dir: Path
    add_to_server: Callable[[Any, Any], None] = (
        rule_pack_service_pb2_grpc.add_RulePackServiceServicer_to_server
    )

    def load_default_packs(self) -> list[str]:
        return self.manager.load_default_packs(self.rules_dir)


def build_rules_component(
    db: Database, service_name: str, vocabulary: ActionVocabulary, rules_dir: Path, poll_seconds: float
) -> RulesComponent:
    """Runtime, lifecycle manager, gRPC servicer and watcher for ``service_name``. Approvals needed per
    pack come from ``COVENANT_RULES_APPROVALS`` (``covenant.rules.authority.ApprovalPolicy``)."""
    runtime = RuleRuntime(service_name, vocabulary)
    policy = ApprovalPolicy.parse(os.environ.get("COVENANT_RULES_APPROVALS"))
    manager = RulePackManager(db, service_name, vocabulary, runtime, policy)
    manager.refresh()
    return RulesComponent(
        runtime,
        manager,
        RulePackServicer(manager),
        ActiveVersionWatcher(manager, poll_seconds),
        Path(rules_dir),
    )
