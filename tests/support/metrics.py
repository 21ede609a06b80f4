"""Reading a Prometheus exposition in tests: scrape ``/metrics`` and pick samples by name and labels."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Exposition:
    """One scrape: every sample as (name, labels, value)."""

    samples: list[tuple[str, dict[str, str], float]]

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        """Samples named ``name`` whose labels include ``labels``."""
        return [
            (lab, value)
            for n, lab, value in self.samples
            if n == name and all(lab.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """Sum of the matching samples (0 when none)."""
        return sum(v for _, v in self.select(name, **labels))

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


def scrape(url: str) -> Exposition:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return Exposition(
        [
            (s.name, dict(s.labels), float(s.value))
            for f in text_string_to_metric_families(text)
            for s in f.samples
        ]
    )


def local() -> Exposition:
    """This process's metrics (the default registry the Prometheus reader joins), without HTTP."""
    from covenant.telemetry import metrics

    metrics.install("test")
    return parse(generate_latest().decode())


def parse(text: str) -> Exposition:
    return Exposition(
        [
            (s.name, dict(s.labels), float(s.value))
            for f in text_string_to_metric_families(text)
            for s in f.samples
        ]
    )


_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
}


def metric_names_in(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (label matchers, ranges, groupings, functions removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        rest = expr[m.end() :].lstrip()
        if rest.startswith("(") or m.group(0) in _KEYWORDS:
            continue  # a function or an operator
        if re.fullmatch(r"\d+(ms|s|m|h|d)?|e\d+", m.group(0)):
            continue
        names.add(m.group(0))
    return names


def dashboard_queries(dashboard: dict) -> list[str]:
    """Every PromQL expression of a Grafana dashboard (panel targets and query variables)."""
    out = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict) and var.get("type") == "query":
            match = re.fullmatch(r"label_values\((\w+)\s*,\s*\w+\)", query["query"])
            out.append(match.group(1) if match else query["query"])
    return out


STALE_PACK = """\
id: awards
version: "1"
service: points
owner: sales-ops
rules:
  - id: sale
    when: {event.type: {eq: sale}}
    then: [{action: award, params: {points: 10}}]
"""


def plant_compile_failure(sqlite_url: str) -> None:
    """A pack is active that one replica (on code without its action) cannot compile: that replica's
    refresh counts ``covenant.rules.compile_failures`` for ``service=points, pack=awards``."""
    from covenant.db.engine import Database
    from covenant.db.migrations import migrate
    from covenant.rules import ActionSpec, ActionVocabulary
    from covenant.rules.lifecycle import RulePackManager
    from covenant.rules.runtime import RuleRuntime

    migrate(sqlite_url, "points", None)
    db = Database(sqlite_url)
    try:
        current = ActionVocabulary(
            "points", [ActionSpec("award", {"type": "object", "required": ["points"]})]
        )
        publisher = RulePackManager(db, "points", current, RuleRuntime("points", current))
        publisher.publish(STALE_PACK, "employees/C1")
        publisher.activate("awards", "1", "employees/C1")
        older = ActionVocabulary("points", [])
        RulePackManager(db, "points", older, RuleRuntime("points", older)).refresh()
    finally:
        db.dispose()
