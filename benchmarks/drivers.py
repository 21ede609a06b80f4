"""Benchmark: a driver analysis over 10,000 reps × 12 periods × 8 process KPIs (target < 10 s).

Runs the real use case (DriverAnalyses.create: reading ~1.1 million metric values, folding them into
120,000 person-periods, the statsmodels fit with HC3 errors, VIFs and Cook's distances, storing the result)
on a fresh PostgreSQL database when COVENANT_BENCH_PG_URL or COVENANT_TEST_PG_URL names a server (dropped
afterwards), else on a SQLite file. The outcome is planted (conversion = 0.02 + 0.003·k0 − 0.002·k1 + noise)
and the recovered coefficients are printed against it.

    .venv/bin/python benchmarks/drivers.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
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
from services.scoring.drivers import DriverAnalyses
from services.scoring.service import ScoringService

N, KPIS = 10_000, 8
PERIODS = tuple(f"2026-{m:02d}" for m in range(1, 13))
PLANTED = {"k0": 0.003, "k1": -0.002}


def main() -> None:
    server = test_server_url()
    with (
        scratch_database(server, "covenant_bench_drivers")
        if server
        else nullcontext(f"sqlite:///{tempfile.mkdtemp()}/scoring.db") as url
    ):
        run(url)


def run(url: str) -> None:
    migrate(url, "scoring", REPO_ROOT / "services" / "scoring" / "migrations")
    db = Database(url)
    rules = build_rules_component(db, "scoring", VOCABULARY, REPO_ROOT / "rules", 3600)
    rules.load_default_packs()
    scoring = ScoringService(db, rules.runtime)
    kpis = tuple(Kpi(f"k{i}", f"kpi {i}", Decimal("12.5"), "higher", "percentile") for i in range(KPIS))
    scoring.scorecards.seed([(Scorecard("bench", 1, "officer", kpis, date(2026, 1, 1)), {})])
    rng = np.random.default_rng(3)
    now = datetime.now(UTC)
    loading = time.perf_counter()
    with db.session() as s:
        s.execute(
            insert(t.profiles),
            [
                {"employee_id": f"E{i:05d}", "org_unit": f"/hq/b{i % 3}/t{i % 60:02d}", "role": "officer"}
                for i in range(N)
            ],
        )
        for period in PERIODS:
            x = rng.uniform(0, 100, size=(N, KPIS)).round(2)
            y = 0.02 + x[:, 0] * PLANTED["k0"] + x[:, 1] * PLANTED["k1"] + rng.normal(0, 0.05, N)
            rows = [
                {
                    "employee_id": f"E{i:05d}",
                    "period": period,
                    "metric": f"k{k}" if k < KPIS else "conversion_rate",
                    "value": f"{(x[i, k] if k < KPIS else y[i]):.4f}",
                    "mode": "set",
                    "source": "bench",
                    "source_ref": "",
                    "rule_id": "",
                    "pack_version": "",
                    "recorded_at": now,
                }
                for i in range(N)
                for k in range(KPIS + 1)
            ]
            for start in range(0, len(rows), 10_000):
                s.execute(insert(t.metric_values), rows[start : start + 10_000])
    print(f"loaded {N * len(PERIODS) * (KPIS + 1):,} metric values in {time.perf_counter() - loading:.1f}s")
    analyses = DriverAnalyses(scoring)
    began, cpu = time.perf_counter(), time.process_time()
    row = analyses.create(
        DEV_PRINCIPAL,
        role="officer",
        outcome="conversion_rate",
        period_from=PERIODS[0],
        period_to=PERIODS[-1],
    )
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    coefs = {c["kpi"]: c for c in json.loads(row.result_json)["coefficients"]}
    recovered = all(coefs[k]["ci_low"] <= v <= coefs[k]["ci_high"] for k, v in PLANTED.items())
    for k, v in PLANTED.items():
        c = coefs[k]
        print(
            f"  {k}: planted {v:+.4f}, recovered {c['estimate']:+.4f} "
            f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
        )
    ok = row.observations == N * len(PERIODS) and recovered and elapsed < 10
    print(
        f"driver analysis over {row.people:,} reps x {len(PERIODS)} periods x {KPIS} KPIs "
        f"({row.observations:,} person-periods, R² {float(row.fit):.3f}) in {elapsed:.2f}s "
        f"(this process's CPU {cpu:.2f}s; the database server's is not counted)  "
        f"target < 10 s -> {'PASS' if ok else 'FAIL'}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
