"""RulePackManager on a real database: replicas, default packs, idempotent publishing, dry runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.errors import AlreadyExists, NotFound
from covenant.rules import ActionSpec, ActionVocabulary, PackError
from covenant.rules.lifecycle import RulePackManager
from covenant.rules.runtime import RuleRuntime

VOCAB = ActionVocabulary("points", [ActionSpec("award", {"type": "object", "required": ["points"]})])
PACK = """\
id: awards
version: "{version}"
service: points
owner: sales-ops
rules:
  - id: sale
    when: {{all: [{{event.type: {{eq: sale}}}}, {{event.amount: {{gte: {floor}}}}}]}}
    then: [{{action: award, params: {{points: 10}}}}]
"""


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate(db_url, "points", None)
    database = Database(db_url)
    yield database
    database.dispose()


def manager(db: Database) -> RulePackManager:
    return RulePackManager(db, "points", VOCAB, RuleRuntime("points", VOCAB))


def awards(m: RulePackManager, amount: int) -> list[str]:
    return [a.pack_version for a in m.runtime.evaluate({"type": "sale", "amount": amount})]


def test_a_second_replica_swaps_on_refresh_and_publishing_is_idempotent(db: Database) -> None:
    first, second = manager(db), manager(db)
    v1, created = first.publish(PACK.format(version="1", floor=100), "employees/C1")
    assert created and v1.author == "employees/C1"
    again, created = first.publish(PACK.format(version="1", floor=100) + "# a comment\n", "employees/C2")
    assert not created and again.author == "employees/C1"  # same content: the stored version
    with pytest.raises(AlreadyExists):
        first.publish(PACK.format(version="1", floor=5), "employees/C1")
    first.activate("awards", "1", "employees/C1")
    assert awards(first, 150) == ["1"] and awards(second, 150) == []
    assert second.refresh() is True and awards(second, 150) == ["1"]
    assert second.refresh() is False  # nothing changed since
    first.publish(PACK.format(version="2", floor=200), "employees/C1")
    first.activate("awards", "2", "employees/C1")
    second.refresh()
    assert awards(second, 150) == [] and awards(second, 250) == ["2"]
    with pytest.raises(NotFound):
        first.activate("awards", "9", "employees/C1")


def test_default_packs_load_once_and_an_invalid_one_is_skipped(db: Database, tmp_path: Path) -> None:
    (tmp_path / "points").mkdir()
    (tmp_path / "points" / "awards.yaml").write_text(PACK.format(version="2026.1", floor=1))
    (tmp_path / "points" / "broken.yaml").write_text("id: broken\nversion: '1'\nservice: points\n")
    m = manager(db)
    assert m.load_default_packs(tmp_path) == ["awards@2026.1"]
    assert m.history("awards")[0][0].author == "system:default-packs" and awards(m, 5) == ["2026.1"]
    m.publish(PACK.format(version="2026.2", floor=1), "employees/C1")
    m.activate("awards", "2026.2", "employees/C1")
    assert manager(db).load_default_packs(tmp_path) == []  # published before: the database decides
    assert manager(db).history("awards")[1] == "2026.2"


def test_dry_run_over_recent_events_shows_what_changes(db: Database) -> None:
    m = manager(db)
    m.publish(PACK.format(version="1", floor=100), "employees/C1")
    m.activate("awards", "1", "employees/C1")
    for amount in (50, 150, 250):
        m.runtime.evaluate({"type": "sale", "id": f"s{amount}", "amount": amount})
    pack, compiled = m.candidate(PACK.format(version="2", floor=200))
    rows = m.dry_run(pack, compiled, m.runtime.recent())
    assert [(r.event["id"], len(r.active), len(r.candidate), r.changed) for r in rows] == [
        ("s50", 0, 0, False),
        ("s150", 1, 0, True),
        ("s250", 1, 1, False),
    ]
    with pytest.raises(PackError):
        m.candidate(PACK.format(version="3", floor="lots"))
