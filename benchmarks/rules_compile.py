"""Benchmark: compiling a pack at the documented size ceiling is linear, fast and small (issue 15).

Builds a pack just under the 256 KiB ceiling (docs/rule-packs.md): 500 rules for any event type (near the
engine's 512 per ruleset) and as many rules pinned to the 256 event types a pack may name as fit (the
shape that used to copy every any-type rule into every per-type ruleset: a 58 KiB pack of 400 + 400 took
46 s and 1.15 GB to compile), compiles it and evaluates an event. Prints pack size, rule count, durable
rules created, compile time and peak memory growth.

Targets: durable rules created == pack rules (each rule once), compile < 10 s, memory growth < 300 MB.

    .venv/bin/python benchmarks/rules_compile.py
"""

from __future__ import annotations

import resource
import time

from covenant.rules import ActionSpec, ActionVocabulary, parse_pack
from covenant.rules.bounds import MAX_PACK_BYTES
from covenant.rules.engine import CompiledPack

VOCAB = ActionVocabulary("scoring", [ActionSpec("note", {"type": "object"})])


ANYWHERE = 500


def pack_text(pinned_count: int) -> str:
    head = "id: big\nversion: '1'\nservice: scoring\nowner: o\nrules:\n"
    pinned = "".join(
        f"  - id: t{i}\n    when: {{event.type: {{eq: type{i % 256}}}}}\n    then: [{{action: note}}]\n"
        for i in range(pinned_count)
    )
    anywhere = "".join(
        f"  - id: a{i}\n    when: {{event.x: {{eq: {i}}}}}\n    then: [{{action: note}}]\n"
        for i in range(ANYWHERE)
    )
    return head + pinned + anywhere


def main() -> int:
    pinned = 100
    while len(pack_text(pinned * 2).encode()) < MAX_PACK_BYTES:
        pinned *= 2
    while len(pack_text(pinned + 50).encode()) < MAX_PACK_BYTES:
        pinned += 50
    text = pack_text(pinned)
    total = pinned + ANYWHERE
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    compiled = CompiledPack(parse_pack(text, VOCAB), VOCAB)
    seconds = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    created = sum(len(r.definition) for r in compiled.rulesets())
    fired = [a.rule_id for a in compiled.evaluate({"type": "type7", "x": 3})]
    print(f"pack: {len(text.encode()) / 1024:.0f} KiB, {total} rules, {len(compiled.rulesets())} rulesets")
    print(f"durable rules created: {created} (target {total})")
    print(f"compile: {seconds:.2f} s (target < 10 s), memory growth {grown_mb:.0f} MB (target < 300 MB)")
    ok = (
        created == total
        and seconds < 10
        and grown_mb < 300
        and fired == [*(f"t{i}" for i in range(pinned) if i % 256 == 7), "a3"]
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
