"""Benchmark: banned-promise scanning throughput with 10,000 active phrases (MB/s of Chinese text per core)
and counterparty screening (names/s against a 100,000-entry watchlist). Targets (issue 8): >= 5 MB/s and
>= 1,000 names/s. The process is pinned to one core; rates are given per CPU second (the per-core figure,
independent of other load on the machine) and per wall-clock second.

    .venv/bin/python benchmarks/compliance_scan.py
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.compliance.domain.screening import Watchlists, core_name
from services.compliance.domain.text import Phrase, PhraseScanner, char_table

ROOT = Path(__file__).resolve().parents[1]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def main() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rnd = random.Random(1)
    phrases = [Phrase("".join(rnd.choices(HAN, k=rnd.randint(3, 6))), "c", "high") for _ in range(10_000)]
    phrases += [
        Phrase("保本保息", "guaranteed_return", "high"),
        Phrase("高收益无风险", "risk_free_high_yield", "high"),
    ]
    pack = yaml.safe_load((ROOT / "rules/compliance/promises-and-behaviour.yaml").read_text())["parameters"]
    phrases += [Phrase(p["phrase"], p["category"], p["severity"]) for p in pack["phrases"]["default"]]
    char_table.cache_clear()
    t0 = time.perf_counter()
    char_table()
    table_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scanner = PhraseScanner(
        phrases,
        negation_cues=pack["negation_cues"]["default"],
        negation_window=pack["negation_window"]["default"],
        negation_exceptions=pack["negation_exceptions"]["default"],
        safe_phrases=pack["safe_phrases"]["default"],
        homophones=pack["homophones"]["default"],
    )
    build_s = time.perf_counter() - t0
    sentence = (
        "您好，这是本月的还款提醒，请按时还款。这款理财产品过往业绩不代表未来表现，请您仔细阅读风险揭示书。"
    )
    texts = []
    for i in range(4000):
        body = "".join(rnd.choices(HAN, k=400)) + sentence
        texts.append(body + ("保本保息" if i % 50 == 0 else ""))
    size_mb = sum(len(t.encode()) for t in texts) / 1e6
    scanner.scan(texts[0])
    start, cpu = time.perf_counter(), time.process_time()
    hits = sum(len(scanner.scan(t)) for t in texts)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = size_mb / cpu
    print(
        f"phrases active: {len(scanner.phrases):,}; char table {table_s:.2f}s, automaton {build_s:.2f}s; "
        f"text: {size_mb:.1f} MB UTF-8, {len(texts):,} transcripts; hits {hits}"
    )
    print(
        f"scan throughput (one core): {rate:.1f} MB/s per CPU second ({size_mb / elapsed:.1f} MB/s wall)  "
        f"target >= 5 MB/s -> {'PASS' if rate >= 5 else 'FAIL'}"
    )

    suffixes = ["有限公司", "股份有限公司", "科技有限公司", "贸易有限公司", "集团"]
    cities = ["深圳市", "广州市", "上海市", "北京市", ""]
    entries = [
        (
            f"w{i}",
            "dishonest_enterprise",
            rnd.choice(cities) + "".join(rnd.choices(HAN, k=4)) + rnd.choice(suffixes),
        )
        for i in range(100_000)
    ]
    t0 = time.perf_counter()
    lists = Watchlists(entries)
    build = time.perf_counter() - t0
    names = [rnd.choice(cities) + "".join(rnd.choices(HAN, k=4)) + rnd.choice(suffixes) for _ in range(1500)]
    names += [entries[i][2].replace("有限公司", "(深圳)有限公司") for i in range(0, 100_000, 200)]
    names += [core_name(entries[i][2]).latin.title() + " Co., Ltd." for i in range(100, 100_000, 500)]
    start, cpu = time.perf_counter(), time.process_time()
    matched = sum(1 for n in names if lists.screen(n, {"dishonest_enterprise": 85}))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = len(names) / cpu
    print(
        f"watchlist: {len(entries):,} entries indexed in {build:.1f}s; {len(names):,} names screened, "
        f"{matched} matched"
    )
    print(
        f"screening throughput (one core): {rate:,.0f} names/s per CPU second "
        f"({len(names) / elapsed:,.0f} names/s wall)  target >= 1,000 -> "
        f"{'PASS' if rate >= 1000 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
