"""``covenant demo``: a realistic week at a bank branch, loaded through the public gRPC APIs only.

Starts the platform (or uses one already running on the default ports), loads the seeded world from
``covenant.demo.generator``, and prints what Covenant found — leaderboard, anomalies, compliance cases,
commitments, signals and one route report, each with the rule and pack version behind it — checked against
what the generator planted. Then it changes a rule pack live (dwell threshold 30 → 45 minutes) and shows
the difference without a restart. HTML reports (a route map and a team points chart) go to the data dir.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.commitments.v1 import commitments_pb2 as cpb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.demo.accounts import create_accounts, import_directory
from covenant.demo.check import (
    EmployeeDay,
    attendance_checks,
    commitment_checks,
    compliance_check,
    expected_commitment_states,
    text_id,
)
from covenant.demo.generator import TZ, World, generate
from covenant.demo.profiles import plant_pattern, planted_high_performers, show_profile
from covenant.demo.scoring import (
    CONVERSION_PER_VISIT,
    conversion_rows,
    driver_check,
    metric_rows,
    periods_before,
    planted_attrition,
    scoring_checks,
)
from covenant.grpc.messages import fields_of
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc
from covenant.services import SERVICES
from covenant.settings import REPO_ROOT
from covenant.timestamps import ts

DEMO_BREACH_GRACE_SECONDS = 2  # the demo commitments pack's breach_grace_seconds (see main)


def console_url() -> str:
    """Where ``covenant up`` serves the console (``COVENANT_CONSOLE_LISTEN``, default 127.0.0.1:8080)."""
    return f"http://{os.environ.get('COVENANT_CONSOLE_LISTEN') or '127.0.0.1:8080'}/"


def ensure_platform(data_dir: Path) -> subprocess.Popen[bytes] | None:
    """Use a platform already serving where the CLI looks (``COVENANT_<SVC>_TARGET``, default ports), or run
    one with ``covenant up`` in ``data_dir``. When ``up`` gives up (a service exits, e.g. its port is held by
    another program), say what it printed at once instead of waiting out the start deadline."""
    from covenant.cli import check_health
    from covenant.grpc.connect import cli_targets

    targets = cli_targets()
    if all(s == "SERVING" for s in check_health(targets, timeout=0.5).values()):
        print(
            "using the platform already running at "
            f"{', '.join(sorted(set(targets.values())))} "
            "(what it held before counts as unexpected in the check below)"
        )
        return None
    env = dict(
        os.environ, COVENANT_DATA_DIR=str(data_dir), COVENANT_AUTH_MODE="dev", COVENANT_LOG_LEVEL="WARNING"
    )
    # the CLI side (check_health, Clients) finds the dev CA where it would for `covenant up` itself
    env.setdefault("COVENANT_TLS_DIR", str((data_dir.parent / "tls").resolve()))
    print(f"starting the platform (data dir {data_dir}) ...")
    log = data_dir / "logs" / "up.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "covenant.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if all(s == "SERVING" for s in check_health(targets, timeout=0.5).values()):
            return proc
        time.sleep(0.5)
    if proc.poll() is None:
        proc.terminate()
        raise SystemExit(f"the platform did not start within 120 s; see the logs in {log.parent}")
    said = log.read_text(errors="replace").strip()
    raise SystemExit(f"the platform did not start; `covenant up` said:\n{said}\n(logs in {log.parent})")


class Clients:
    def __init__(self) -> None:
        from covenant.grpc.connect import cli_channel, cli_targets

        targets = cli_targets()
        ch = {n: cli_channel(n, targets[n]) for n in SERVICES}
        self.identity = ch["identity"]
        self.attendance = attendance_pb2_grpc.AttendanceServiceStub(ch["attendance"])
        self.points = points_pb2_grpc.PointsServiceStub(ch["points"])
        self.scoring = scoring_pb2_grpc.ScoringServiceStub(ch["scoring"])
        self.compliance = compliance_pb2_grpc.ComplianceServiceStub(ch["compliance"])
        self.commitments = commitments_pb2_grpc.CommitmentsServiceStub(ch["commitments"])
        self.attendance_rules = rule_pack_service_pb2_grpc.RulePackServiceStub(ch["attendance"])
        self.commitments_rules = rule_pack_service_pb2_grpc.RulePackServiceStub(ch["commitments"])


@dataclass
class Loaded:
    """What ``load`` sent: counts per kind; each commitment's deadline and whether its disbursal was sent."""

    counts: dict[str, int]
    deadlines: dict[str, datetime] = field(default_factory=dict)  # loan id -> effective deadline
    fulfilled: set[str] = field(default_factory=set)  # loan ids whose disbursal was recorded


def load(c: Clients, w: World) -> Loaded:
    role = {e.id: e.role for e in w.employees}
    unit = {e.id: e.org_unit for e in w.employees}
    places = [
        apb.ClientPlace(
            client_id=p.id,
            name=p.name,
            visit_radius_m=p.radius_m,
            high_risk=p.high_risk,
            location=GeoPoint(latitude=p.latitude, longitude=p.longitude),
        )
        for p in w.places
    ]
    for i in range(0, len(places), 5000):
        c.attendance.ImportClientPlaces(
            apb.ImportClientPlacesRequest(places=places[i : i + 5000]), timeout=120
        )
    counts: Counter[str] = Counter()
    loaded = Loaded({})
    for day in w.days:
        batch: list[apb.Ping] = []
        for p in day.pings:
            batch.append(
                apb.Ping(
                    employee_id=p.employee_id,
                    org_unit=unit[p.employee_id],
                    device_id="phone",
                    role=role[p.employee_id],
                    accuracy_m=p.accuracy_m,
                    time=ts(p.at),
                    location=GeoPoint(latitude=p.latitude, longitude=p.longitude),
                )
            )
            if len(batch) >= 2000:
                c.attendance.IngestPings(apb.IngestPingsRequest(pings=batch), timeout=120)
                batch = []
        if batch:
            c.attendance.IngestPings(apb.IngestPingsRequest(pings=batch), timeout=120)
        counts["pings"] += len(day.pings)
        for ci in day.check_ins:
            c.attendance.CheckIn(
                apb.CheckInRequest(
                    client_id=ci.client_id,
                    ping=apb.Ping(
                        employee_id=ci.employee_id,
                        org_unit=unit[ci.employee_id],
                        device_id="phone",
                        role=role[ci.employee_id],
                        accuracy_m=10,
                        time=ts(ci.at),
                        location=GeoPoint(latitude=ci.latitude, longitude=ci.longitude),
                    ),
                ),
                timeout=30,
            )
        counts["check_ins"] += len(day.check_ins)
        events = []
        for e in day.events:
            be = ppb.BusinessEvent(
                id=f"{e.type}:{e.key}",
                type=e.type,
                employee_id=e.employee_id,
                org_unit=unit[e.employee_id],
                occurred_at=ts(e.at),
            )
            be.data.update(e.data)
            events.append(be)
        if events:
            c.points.RecordEvents(ppb.RecordEventsRequest(events=events), timeout=120)
        counts["business_events"] += len(events)
        texts = [
            kpb.ScanTextRequest(
                text_id=text_id(t.employee_id, t.at),
                employee_id=t.employee_id,
                org_unit=unit[t.employee_id],
                channel="call",
                text=t.text,
                occurred_at=ts(t.at),
            )
            for t in day.transcripts
        ]
        for i in range(0, len(texts), 200):
            c.compliance.ScanTexts(kpb.ScanTextsRequest(texts=texts[i : i + 200]), timeout=120)
        counts["transcripts"] += len(texts)
        for cm in day.commitments:
            created = c.commitments.CreateCommitment(
                cpb.CreateCommitmentRequest(
                    template_id="loan_disbursal_3d",
                    employee_id=cm.employee_id,
                    org_unit=unit[cm.employee_id],
                    client_id=cm.client_id,
                    correlation_value=cm.loan_id,
                    created_at=ts(cm.created_at),
                    request_id=f"demo:{cm.loan_id}",
                ),
                timeout=30,
            )
            loaded.deadlines[cm.loan_id] = created.effective_deadline.ToDatetime(UTC)
            if cm.disbursed_at is not None and cm.disbursed_at <= datetime.now(UTC):
                loaded.fulfilled.add(cm.loan_id)
                c.commitments.RecordFulfilment(
                    cpb.RecordFulfilmentRequest(
                        event_type="loan.disbursed",
                        correlation_key="loan_id",
                        correlation_value=cm.loan_id,
                        occurred_at=ts(cm.disbursed_at),
                        event_id=f"los:{cm.loan_id}",
                    ),
                    timeout=30,
                )
        counts["commitments"] += len(day.commitments)
    loaded.counts = dict(counts)
    return loaded


def mall_stop(c: Clients, employee: str, day: date) -> str:
    """Ingest a 40-minute stop at a mall at 15:00 on ``day`` and the drive away from it (a stop is judged once
    a later ping has left it); describe the dwell anomaly it raised, if any."""
    start = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)  # 15:00 in Shanghai
    mall, away = (22.5333, 114.0553), (22.5423, 114.0553)  # 1 km north: five minutes' drive
    pings = [
        apb.Ping(
            employee_id=employee,
            org_unit="/hq/futian/team-01",
            device_id="phone",
            role="credit_officer",
            accuracy_m=10,
            time=ts(start + timedelta(minutes=k)),
            location=GeoPoint(latitude=lat, longitude=lon),
        )
        for k, (lat, lon) in [(k, mall) for k in range(0, 45, 5)] + [(45, away)]
    ]
    c.attendance.IngestPings(apb.IngestPingsRequest(pings=pings), timeout=60)
    rep = c.attendance.GetRouteReport(apb.GetRouteReportRequest(employee_id=employee, date=day.isoformat()))
    dwell = [a for a in rep.anomalies if a.kind == "dwell_anomaly"]
    return f"dwell anomaly by rule {dwell[0].rule_id} @ {dwell[0].pack_version}" if dwell else ""


def attendance_flags(c: Clients, world: World) -> dict[str, set[EmployeeDay]]:
    """The employee-days attendance flagged, per kind, from the team summary of the whole org."""
    out: dict[str, set[EmployeeDay]] = {"dwell": set(), "spoofing": set(), "mismatch": set()}
    for d in world.days:
        token = ""
        while True:
            page = c.attendance.GetTeamSummary(
                apb.GetTeamSummaryRequest(
                    org_unit="/hq", date=d.date.isoformat(), page_size=1000, page_token=token
                )
            )
            for e in page.employees:
                for kind, n in (
                    ("dwell", e.dwell_anomalies),
                    ("spoofing", e.spoofing_suspicions),
                    ("mismatch", e.location_mismatches),
                ):
                    if n:
                        out[kind].add((e.employee_id, d.date))
            token = page.next_page_token
            if not token:
                break
    return out


def list_cases(c: Clients) -> list[kpb.Case]:
    """Every compliance case, all pages."""
    cases: list[kpb.Case] = []
    token = ""
    while True:
        page = c.compliance.ListCases(kpb.ListCasesRequest(page_size=1000, page_token=token))
        cases += page.cases
        token = page.next_page_token
        if not token:
            return cases


def evidence_items(case: kpb.Case) -> list[dict]:
    return list(json.loads(case.evidence_json or "{}").get("items", []))


def commitment_states(c: Clients, expected: dict[str, str], wait_seconds: float = 20) -> dict[str, str]:
    """loan id -> state of every commitment, once they match ``expected`` or ``wait_seconds`` have passed (the
    scheduler settles deadlines that passed while the demo loaded within a poll or two). An on-time
    disbursal that reached a commitment after the scheduler breached it counts as fulfilled (see below)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        actual: dict[str, str] = {}
        token = ""
        while True:
            page = c.commitments.ListCommitments(cpb.ListCommitmentsRequest(page_size=1000, page_token=token))
            for x in page.commitments:
                state = cpb.CommitmentState.Name(x.state)
                if x.state == cpb.BREACHED_THEN_FULFILLED and x.delay_seconds == 0:
                    # Back-loaded history: the deadline had passed before the demo sent the commitment, and
                    # the scheduler breached it before the on-time disbursal (sent next) arrived. Covenant
                    # judges on what it knew at the deadline; delay 0 records that the disbursal was on time.
                    state = "FULFILLED"
                actual[x.terms.correlation_value] = state
            token = page.next_page_token
            if not token:
                break
        if actual == expected or time.monotonic() > deadline:
            return actual
        time.sleep(0.5)


def record_score_history(c: Clients, world: World, period: str, planted: set[str]) -> int:
    """Sends the KPI values of the history months and the demo month (RecordMetrics, in batches)."""
    rows = plant_pattern(
        world, metric_rows(world, period, planted), period, planted_high_performers(world, planted)
    )
    rows += conversion_rows(world, period, rows)  # the planted driver, from the visits as recorded
    for i in range(0, len(rows), 2000):
        c.scoring.RecordMetrics(
            spb.RecordMetricsRequest(
                values=[
                    spb.MetricValue(
                        **fields_of(r, "employee_id org_unit role period metric value"),
                        mode="set",
                        source="demo-crm",
                    )
                    for r in rows[i : i + 2000]
                ],
                request_id=f"demo-metrics:{world.seed}:{period}:{i}",
            ),
            timeout=120,
        )
    return len(rows)


def conversion_drivers(c: Clients, period: str) -> spb.DriverAnalysis:
    """The driver analysis of credit officers' conversion rate on verified visits over the history months."""
    months = periods_before(period, 3)
    return c.scoring.CreateDriverAnalysis(
        spb.CreateDriverAnalysisRequest(
            role="credit_officer",
            outcome="conversion_rate",
            period_from=months[0],
            period_to=months[-1],
            kpis=["verified_visits"],
        ),
        timeout=60,
    )


def all_scores(c: Clients, period: str) -> list[spb.EmployeeScore]:
    scores: list[spb.EmployeeScore] = []
    token = ""
    while True:
        page = c.scoring.ListScores(
            spb.ListScoresRequest(period=period, org_unit="/hq", page_size=1000, page_token=token)
        )
        scores += page.scores
        token = page.next_page_token
        if not token:
            return scores


def explain(s: spb.EmployeeScore) -> list[str]:
    """A score with its explanation: rank in team, change, each KPI's raw value, normalised value, points."""
    change = f", change {s.change}" if s.change else ""
    lines = [
        f"  {s.employee_id} ({s.role}, {s.org_unit}): {s.score} - rank {s.rank_in_team} of {s.team_size} "
        f"in team{change}; scorecard {s.scorecard_id} v{s.scorecard_version}"
    ]
    for k in s.contributions:
        lines.append(
            f"      {k.label:<24} raw {k.raw_value:<10} normalised {k.normalised:<8} x{k.weight:>3}% "
            f"= {k.points} points"
        )
    return lines


def first_dwell_route(c: Clients, world: World) -> apb.RouteReport | None:
    """The route report of the first planted mall dwell, to show."""
    for d in world.days:
        for employee, _mall in d.planted_dwell:
            return c.attendance.GetRouteReport(
                apb.GetRouteReportRequest(employee_id=employee, date=d.date.isoformat())
            )
    return None


def marker(x: float, y: float, item: apb.RouteItem) -> str:
    colour = (
        "#2a9d8f"
        if item.verified
        else ("#e76f51" if item.kind == "stop" and not item.client_id else "#264653")
    )
    label = html.escape(f"{item.kind} {item.client_id or '(no client)'} {item.minutes} min")
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}"><title>{label}</title></circle>'


def write_reports(out: Path, report: apb.RouteReport, board: ppb.Leaderboard) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    pts = [(i.location.latitude, i.location.longitude, i) for i in report.items]
    if pts:
        lats, lons = [p[0] for p in pts], [p[1] for p in pts]
        lo_lat, hi_lat, lo_lon, hi_lon = min(lats), max(lats), min(lons), max(lons)

        def xy(lat: float, lon: float) -> tuple[float, float]:
            return (
                20 + 560 * (lon - lo_lon) / ((hi_lon - lo_lon) or 1),
                380 - 360 * (lat - lo_lat) / ((hi_lat - lo_lat) or 1),
            )

        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(a, b) for a, b, _ in pts))
        marks = "".join(
            marker(x, y, i) for (_a, _b, i), (x, y) in zip(pts, (xy(a, b) for a, b, _ in pts), strict=True)
        )
    else:
        line, marks = "", ""
    route = out / f"route-{report.employee_id}-{report.date}.html"
    anomalies = "".join(
        f"<li>{html.escape(a.kind)} — rule {html.escape(a.rule_id)} @ {html.escape(a.pack_version)}</li>"
        for a in report.anomalies
    )
    title = f"Route of {report.employee_id} on {report.date}"
    svg = (
        f'<svg width="600" height="400" style="border:1px solid #ccc">'
        f'<polyline points="{line}" fill="none" stroke="#999"/>{marks}</svg>'
    )
    route.write_text(
        f'<!doctype html><meta charset="utf-8"><title>{title}</title><h1>{title}</h1>'
        f"<p>{report.verified_visits} verified visits, {report.distance_m / 1000:.1f} km travelled. "
        f"Green: verified visit; red: stop away from any client.</p>{svg}"
        f"<h2>Anomalies</h2><ul>{anomalies}</ul>"
    )
    chart = out / "points-leaderboard.html"
    top = max((r.points for r in board.rows), default=1) or 1
    bars = "".join(
        f'<rect x="{140}" y="{20 + i * 28}" width="{400 * r.points / top:.0f}" height="20" fill="#264653"/>'
        f'<text x="10" y="{35 + i * 28}">{html.escape(r.employee_id)}</text>'
        f'<text x="{150 + 400 * r.points / top:.0f}" y="{35 + i * 28}">{r.points}</text>'
        for i, r in enumerate(board.rows)
    )
    chart.write_text(
        '<!doctype html><meta charset="utf-8"><title>Points leaderboard</title><h1>Points this week</h1>'
        f'<svg width="640" height="{40 + 28 * len(board.rows)}">{bars}</svg>'
    )
    return route, chart


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(prog="covenant demo")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--staff", type=int, default=300)
    ap.add_argument("--places", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the platform and the console up after the summary (Ctrl-C stops them)",
    )
    args = ap.parse_args(list(argv))
    data_dir = Path(os.environ.get("COVENANT_DATA_DIR", ".covenant")) / f"demo-{int(time.time())}"
    started = time.monotonic()
    proc = ensure_platform(data_dir)
    try:
        c = Clients()
        world = generate(args.seed, staff=args.staff, places=args.places, days=args.days)
        identity = c.identity
        imported = import_directory(identity, world)
        print(
            f"directory: {imported.org_units_created} org units and "
            f"{imported.employees_created + imported.employees_updated} employees in identity"
        )
        # The demo back-loads a week: the breach of a deadline that passed long ago need not wait the
        # production grace (300 s) for late facts, only the few seconds the load takes to send them.
        pack = (REPO_ROOT / "rules" / "commitments" / "templates.yaml").read_text()
        demo_pack = re.sub(r'(?m)^version: "([^"]+)"$', r'version: "\1-demo"', pack, count=1).replace(
            "    default: 300\n", f"    default: {DEMO_BREACH_GRACE_SECONDS}\n"
        )
        c.commitments_rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=demo_pack, activate=True))
        loaded = load(c, world)
        print(f"loaded through gRPC: {loaded.counts}")
        time.sleep(3)  # outbox relays deliver to points, scoring and compliance
        first, last = world.days[0].date, world.days[-1].date
        start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=8)
        board = c.points.GetLeaderboard(
            ppb.GetLeaderboardRequest(start_time=ts(start), end_time=ts(start + timedelta(days=7)), top=5)
        )
        print("\nTop of the points leaderboard:")
        for r in board.rows:
            print(f"  {r.rank}. {r.employee_id}: {r.points} points")

        checks = attendance_checks(world, attendance_flags(c, world))
        cases = list_cases(c)
        text_ids = {i["text_id"] for k in cases for i in evidence_items(k) if "text_id" in i}
        checks.append(compliance_check(world, text_ids))
        expected = expected_commitment_states(world, loaded.deadlines, loaded.fulfilled, datetime.now(UTC))
        actual = commitment_states(c, expected)
        checks += commitment_checks(expected, actual)
        print("\nChecked against what the generator planted (unexpected: found but not planted):")
        for check in checks:
            print(check.line())
        text_cases = [k for k in cases if any("text_id" in i for i in evidence_items(k))]
        print(f"\nCompliance cases opened: {len(cases)} ({len(text_cases)} for banned promises in calls)")
        for k in text_cases[:3]:
            item = evidence_items(k)[0]
            print(
                f"  {k.name} {k.employee_id} {k.severity}: \u201c{item.get('matched_text', '')}\u201d "
                f"rule {k.rule_id} @ {k.pack_version}"
            )
        print(f"Commitments: {dict(Counter(actual.values()))}")
        period = f"{last.year:04d}-{last.month:02d}"
        planted = planted_attrition(world)
        recorded = record_score_history(c, world, period, planted)
        for month in [*periods_before(period, 3), period]:  # oldest first: each month's trend sees the last
            computed = c.scoring.ComputeScores(spb.ComputeScoresRequest(period=month, org_unit="/hq"))
        scores = all_scores(c, period)
        signals = c.scoring.ListSignals(spb.ListSignalsRequest(period=period, org_unit="/hq")).signals
        attrition = {s.employee_id for s in signals if s.kind == "attrition_risk"}
        score_checks = scoring_checks(
            world,
            planted,
            {s.employee_id: (s.org_unit, s.rank_in_team, s.team_size) for s in scores},
            attrition,
        )
        analysis = conversion_drivers(c, period)
        visits = next(x for x in analysis.coefficients if x.kpi == "verified_visits")
        score_checks.append(driver_check(visits.estimate, visits.ci_low, visits.ci_high))
        checks += score_checks
        print(
            f"\nScores for {period}: {computed.scored} employees scored with team ranks "
            f"({recorded} KPI values recorded for {period} and the three months before); signals: "
            f"{dict(Counter(s.kind for s in signals))}"
        )
        best = sorted(scores, key=lambda s: -float(s.score))[:2]
        for s in [*best, *[x for x in scores if x.employee_id in sorted(attrition)[:1]]]:
            print("\n".join(explain(s)))
        for s in [x for x in signals if x.kind == "attrition_risk"][:3]:
            print(
                f"  ! attrition risk: {s.employee_id} to {s.audience} ({s.detail}) "
                f"rule {s.rule_id} @ {s.pack_version}"
            )
        print(
            f"Driver analysis {analysis.name} ({analysis.model_version}): credit officers' conversion "
            f"rate on verified visits over {analysis.period_from}..{analysis.period_to}, "
            f"{analysis.people} people, "
            f"{analysis.observations} person-months, R² {analysis.fit:.2f}\n"
            f"  planted +{CONVERSION_PER_VISIT:.4f} per visit, recovered {visits.estimate:+.4f} "
            f"(95% CI {visits.ci_low:+.4f} .. {visits.ci_high:+.4f}, standardised {visits.standardised:+.2f})"
        )
        for w in analysis.warnings:
            print(f"  note ({w.code}): {w.message}")
        for check in score_checks:
            print(check.line())
        month = periods_before(period, 1)[
            0
        ]  # the last history month: the high-performer pattern is planted there
        high = planted_high_performers(world, planted)
        checks += show_profile(c, world, month, high, all_scores(c, month))
        example = first_dwell_route(c, world)
        if example is not None:
            print(
                f"\nRoute of {example.employee_id} on {example.date}: "
                f"{example.verified_visits} verified visits, "
                f"{example.distance_m / 1000:.1f} km"
            )
            for i in example.items:
                print(
                    f"  {i.start_time.ToDatetime(UTC).astimezone(TZ):%H:%M} {i.kind:<5} "
                    f"{i.client_id or '(no client)':<10} {i.minutes:5.1f} min"
                )
            for a in example.anomalies:
                print(f"  ! {a.kind} rule {a.rule_id} @ {a.pack_version}: {a.detail_json}")
            route, chart = write_reports(data_dir / "reports", example, board)
            print(f"\nReports: {route}\n         {chart}")
        # a live rule change: the same 40-minute mall stop before and after publishing dwell 30 -> 45 minutes
        pack = (REPO_ROOT / "rules" / "attendance" / "field-presence.yaml").read_text()
        changed = pack.replace('version: "2026.11.5"', 'version: "2026.11.6-demo"').replace(
            "    default: 30\n", "    default: 45\n"
        )
        before = mall_stop(c, "DEMO-A", last)
        c.attendance_rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=changed, activate=True))
        time.sleep(1.5)  # every replica picks up the new active version within its poll interval
        after = mall_stop(c, "DEMO-B", last)
        print("\nPublished attendance-field-presence 2026.11.6-demo live (dwell threshold 30 -> 45 minutes).")
        print(f"  a 40-minute mall stop before the change: {before or 'no anomaly'}")
        print(f"  the same stop after the change, no restart: {after or 'no anomaly'}")
        ok = all(check.ok for check in checks) and before and not after
        print(f"\nsummary matches what the generator planted: {'yes' if ok else 'NO'}")
        accounts, password = create_accounts(identity, world, data_dir)
        print(f"\nConsole: {console_url()}  (password for every demo account: {password})")
        for a in accounts:
            print(f"  {a.username:<8} {a.role:<19} {a.note}")
        print(f"done in {time.monotonic() - started:.0f}s")
        if args.keep_running and proc is not None:
            print("the platform and the console keep running; Ctrl-C stops them")
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()
        return 0 if ok else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
