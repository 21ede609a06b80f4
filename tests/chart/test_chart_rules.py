"""The chart ships a copy of rules/ (Helm cannot read outside the chart): the copy must be current."""

from __future__ import annotations

import shutil
import subprocess

from chart_render import CHART, ROOT

PACKAGED = CHART / "files" / "rules"


def tree(base) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def test_packaged_rule_packs_match_rules_dir() -> None:
    shipped = {k: v for k, v in tree(ROOT / "rules").items() if k.endswith(".yaml")}
    assert shipped
    assert tree(PACKAGED) == shipped, "chart copy of the rule packs is stale: run scripts/sync_chart_rules.sh"


def test_sync_script_reproduces_the_rules_dir(tmp_path) -> None:
    fake = tmp_path / "repo"
    shutil.copytree(ROOT / "rules", fake / "rules")
    (fake / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "sync_chart_rules.sh", fake / "scripts")
    stale = fake / "charts" / "covenant" / "files" / "rules" / "gone" / "old.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("id: old\n")
    subprocess.run(["bash", str(fake / "scripts" / "sync_chart_rules.sh")], check=True, capture_output=True)
    copied = tree(fake / "charts" / "covenant" / "files" / "rules")
    assert copied == {k: v for k, v in tree(fake / "rules").items() if k.endswith(".yaml")}
