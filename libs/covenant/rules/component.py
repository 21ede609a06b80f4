"""Everything a service process needs for its rule packs, built by the chassis in one call."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covenant.db.engine import Database
from covenant.rules.authority import ApprovalPolicy
from covenant.rules.lifecycle import RulePackManager
from covenant.rules.runtime import RuleRuntime
from covenant.rules.servicer import RulePackServicer
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.rules.vocabulary import ActionVocabulary

log = logging.getLogger(__name__)


class ActiveVersionWatcher:
    """Polls the stored active versions and swaps the runtime when they change (every replica runs one)."""

    def __init__(self, manager: RulePackManager, interval: float) -> None:
        self.manager = manager
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.manager.refresh()
            except Exception:  # database unreachable for a moment: keep the current packs
                log.exception("rule-pack refresh failed; the active packs keep serving")

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rule-pack-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


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
