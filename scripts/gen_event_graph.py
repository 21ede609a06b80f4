"""Generate the event graph from the consumers' declared subscriptions (covenant.services.CONSUMES).

Writes the chart's ``services.<name>.callers`` (charts/covenant/values.yaml: who delivers events to a
service, and everyone calls identity) and the README's mermaid architecture picture. ``--check`` writes
nothing and exits 1 when either is stale (tests/unit/test_event_graph.py runs it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from covenant.services import CONSUMES, EMITS, SERVICES, SUBSCRIBERS, sources_of

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "charts" / "covenant" / "values.yaml"
README = ROOT / "README.md"
BEGIN, END = "<!-- event-graph:begin (scripts/gen_event_graph.py) -->", "<!-- event-graph:end -->"


def callers(service: str) -> list[str]:
    """Who may call ``service``: the producers that deliver events to it; everyone calls identity."""
    found = set(sources_of(service))
    if service == "identity":
        found |= set(SERVICES) - {"identity"}
    return [s for s in SERVICES if s in found]


def values_text(text: str) -> str:
    """``text`` (values.yaml) with each service's ``callers:`` line regenerated."""
    out, current = [], None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^  ([a-z]+):\s*$", line)
        if m:
            current = m.group(1)
        if current in SERVICES and re.match(r"^    callers:", line):
            line = f"    callers: [{', '.join(callers(current))}]\n"
        out.append(line)
    return "".join(out)


def mermaid() -> str:
    """The services and their event flows (producer --> consumer, labelled with what the consumer takes);
    the console calls every service over gRPC."""
    lines = ["```mermaid", "flowchart LR"]
    lines += [f"    console -. gRPC .-> {s}" for s in SERVICES]
    for source in SERVICES:
        for consumer in SUBSCRIBERS.get(source, ()):
            taken = [p for p in CONSUMES[consumer] if p.split(".")[0] == source]
            label = "all" if taken == [f"{source}.*"] else ", ".join(t.split(".", 1)[1] for t in taken)
            lines.append(f"    {source} -- {label} --> {consumer}")
    lines.append("```")
    return "\n".join(lines)


def readme_text(text: str) -> str:
    """``text`` (README.md) with the block between the markers regenerated."""
    block = f"{BEGIN}\n{mermaid()}\n{END}"
    if BEGIN not in text:
        raise SystemExit(f"README.md has no {BEGIN} marker")
    return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    assert set(EMITS) == set(SERVICES)
    stale = []
    for path, render in ((VALUES, values_text), (README, readme_text)):
        old = path.read_text()
        new = render(old)
        if new != old:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new)
    if check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run python scripts/gen_event_graph.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
