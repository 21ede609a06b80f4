"""Benchmark: scoring a period for 10,000 employees with 8 KPIs each, rankings included (target < 5 s).

Runs the real use case (PeriodScoring.compute) on a fresh PostgreSQL database when COVENANT_BENCH_PG_URL or
COVENANT_TEST_PG_URL names a server (dropped afterwards), else on a SQLite file.
With --history the three previous periods are scored first (untimed), so the timed period also works out
changes, trends and the signals the rule pack raises.

    .venv/bin/python benchmarks/scoring.py [--history]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from covenant.auth import DEV_PRINCIPAL
from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.db.scratch import scratch_database, test_server_url
from covenant.rules.component import build_rules_component
from covenant.settings import REPO_ROOT
from services.scoring import storage as t
from services.scoring.actions import VOCABULARY
from services.scoring.domain.scorecard import Kpi, Scorecard
from services.scoring.service import ScoringService

N, KPIS = 10_000, 8
PERIOD, EARLIER = "2026-10", ("2026-07", "2026-08", "2026-09")


def main() -> None:
    history = "--history" in sys.argv[1:]
    periods = (*EARLIER, PERIOD) if history else (PERIOD,)
    server = test_server_url()
    with (
        scratch_database(server, "covenant_bench_scoring")
        if server
        else nullcontext(f"sqlite:///{tempfile.mkdtemp()}/scoring.db") as url
    ):
        run(url, periods)


def run(url: str, periods: tuple[str, ...]) -> None:
    migrate(url, "scoring", REPO_ROOT / "services" / "scoring" / "migrations")
    db = Database(url)
    rules = build_rules_component(db, "scoring", VOCABULARY, REPO_ROOT / "rules", 3600)
    rules.load_default_packs()
    service = ScoringService(db, rules.runtime)
    kpis = tuple(
        Kpi(
            f"k{i}",
            f"kpi {i}",
            Decimal("12.5"),
            "higher" if i % 2 else "lower",
            ["target", "minmax", "percentile"][i % 3],
            target=Decimal(100) if i % 3 == 0 else None,
        )
        for i in range(KPIS)
    )
    service.scorecards.seed([(Scorecard("bench", 1, "officer", kpis, date(2026, 1, 1)), {})])
    rnd = random.Random(3)
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(
            insert(t.profiles),
            [
                {"employee_id": f"E{i:05d}", "org_unit": f"/hq/b{i % 3}/t{i % 60:02d}", "role": "officer"}
                for i in range(N)
            ],
        )
        rows = [
            {
                "employee_id": f"E{i:05d}",
                "period": period,
                "metric": f"k{k}",
                "value": str(rnd.randint(1, 150)),
                "mode": "set",
                "source": "bench",
                "source_ref": "",
                "rule_id": "",
                "pack_version": "",
                "recorded_at": now,
            }
            for period in periods
            for i in range(N)
            for k in range(KPIS)
        ]
        for start in range(0, len(rows), 10_000):
            s.execute(insert(t.metric_values), rows[start : start + 10_000])
    for period in periods[:-1]:
        service.periods.compute(DEV_PRINCIPAL, period, "/hq")
    began, cpu = time.perf_counter(), time.process_time()
    scored, signals = service.periods.compute(DEV_PRINCIPAL, PERIOD, "/hq")
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"scored {scored:,} employees x {KPIS} KPIs with team and org-unit rankings in {elapsed:.2f}s "
        f"(this process's CPU {cpu:.2f}s; the database server's is not counted) "
        f"({len(periods) - 1} earlier periods, {signals} signals)  "
        f"target < 5 s -> {'PASS' if scored == N and elapsed < 5 else 'FAIL'}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
