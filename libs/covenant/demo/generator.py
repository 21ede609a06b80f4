"""Seeded, reproducible synthetic data: an org, client places around real-looking city coordinates and
working days of field activity with planted anomalies and violations (the ground truth the demo checks).

Everything is derived from ``random.Random(seed)``; the same seed gives the same world.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
# Branch centres: Shenzhen Futian, Nanshan, Luohu.
CITY_CENTRES = [("futian", 22.5431, 114.0579), ("nanshan", 22.5329, 113.9305), ("luohu", 22.5484, 114.1315)]
MALLS = [("Coco Park", 22.5333, 114.0553), ("MixC", 22.5382, 114.1105), ("Coastal City", 22.5178, 113.9365)]
ROLES = ("credit_officer", "wealth_adviser", "collector")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"

CLEAN_LINES = [
    "您好，这是本月的还款提醒，请按时还款。",
    "这款理财产品过往业绩不代表未来表现，请您仔细阅读风险揭示书。",
    "我们下周三上门为您办理续贷手续。",
    "感谢您的配合，有问题随时联系我。",
]
DISCLOSURES = ["本产品不保本，投资需谨慎。", "我们不能承诺保本保息，请您理解。"]
VIOLATIONS = [
    "放心，这个产品保本保息，一年稳拿收益。",
    "这是高收益无风险的，100%保本。",
    "保 本 保 息，绝对没问题。",
]


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    role: str
    org_unit: str
    manager_id: str


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    latitude: float
    longitude: float
    radius_m: int
    high_risk: bool = False


@dataclass(frozen=True)
class Ping:
    employee_id: str
    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float = 12.0


@dataclass(frozen=True)
class CheckIn:
    employee_id: str
    client_id: str
    at: datetime
    latitude: float
    longitude: float


@dataclass(frozen=True)
class BusinessEvent:
    employee_id: str
    type: str  # e.g. "loan_completed", "wealth_product_sold", "follow_up_visit"
    at: datetime
    key: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Transcript:
    employee_id: str
    at: datetime
    text: str
    planted_violation: bool


@dataclass(frozen=True)
class PlannedCommitment:
    employee_id: str
    loan_id: str
    client_id: str
    created_at: datetime
    disbursed_at: datetime | None  # None: never disbursed (will breach)


@dataclass
class Day:
    date: date
    pings: list[Ping] = field(default_factory=list)
    check_ins: list[CheckIn] = field(default_factory=list)
    events: list[BusinessEvent] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    commitments: list[PlannedCommitment] = field(default_factory=list)
    planted_dwell: list[tuple[str, str]] = field(default_factory=list)  # (employee, mall)
    planted_teleports: list[str] = field(default_factory=list)
    planted_mismatches: list[str] = field(default_factory=list)


@dataclass
class World:
    seed: int
    org_units: list[str]
    employees: list[Employee]
    places: list[Place]
    days: list[Day]


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320.0, lon + east_m / (111_320.0 * math.cos(math.radians(lat)))


def working_days(start: date, n: int) -> Iterator[date]:
    d = start
    while n:
        if d.weekday() < 5:
            yield d
            n -= 1
        d += timedelta(days=1)


def generate(
    seed: int = 7,
    *,
    branches: int = 3,
    teams: int = 20,
    staff: int = 300,
    places: int = 20_000,
    days: int = 5,
    start: date = date(2026, 11, 16),
    ping_minutes: int = 10,
) -> World:
    rnd = random.Random(seed)
    units = ["/hq"] + [f"/hq/{CITY_CENTRES[b % 3][0]}" for b in range(branches)]
    team_units = [f"{units[1 + t % branches]}/team-{t + 1:02d}" for t in range(teams)]
    units += team_units
    employees: list[Employee] = []
    for t, unit in enumerate(team_units):
        lead_id = f"L{t + 1:03d}"
        employees.append(Employee(lead_id, rnd.choice(SURNAMES) + rnd.choice(GIVEN), "team_lead", unit, ""))
    per_team = max(1, (staff - teams) // teams)
    n = 0
    for t, unit in enumerate(team_units):
        role = ROLES[t % 3]
        for _ in range(per_team):
            n += 1
            name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
            employees.append(Employee(f"E{n:04d}", name, role, unit, f"L{t + 1:03d}"))
    place_list = []
    for i in range(places):
        _, clat, clon = CITY_CENTRES[i % 3]
        lat, lon = _offset(clat, clon, rnd.gauss(0, 3000), rnd.gauss(0, 3000))
        while any(
            abs(lat - m[1]) < 0.004 and abs(lon - m[2]) < 0.004 for m in MALLS
        ):  # no client inside a mall
            lat, lon = _offset(clat, clon, rnd.gauss(0, 3000), rnd.gauss(0, 3000))
        place_list.append(
            Place(f"C{i:05d}", f"客户{i:05d}", round(lat, 6), round(lon, 6), 150, rnd.random() < 0.01)
        )
    world = World(seed, units, employees, place_list, [])
    field_staff = [e for e in employees if e.role != "team_lead"]
    for d in working_days(start, days):
        world.days.append(_day(rnd, d, field_staff, place_list, ping_minutes))
    return world


def _day(rnd: random.Random, d: date, staff: list[Employee], places: list[Place], ping_minutes: int) -> Day:
    day = Day(d)
    dwellers = set(rnd.sample([e.id for e in staff], k=max(1, len(staff) // 50)))
    teleporters = set(rnd.sample([e.id for e in staff if e.id not in dwellers], k=max(1, len(staff) // 150)))
    for e in staff:
        route = rnd.sample(places, k=3)
        t = datetime(d.year, d.month, d.day, 9, 0, tzinfo=TZ).astimezone(UTC)
        for stop_no, place in enumerate(route):
            # ~45 minutes at each client, then travel ~40 minutes. A planted mismatch: the rep claims the
            # visit from 2 km away, where the pings put them for 20 minutes (too short for a dwell anomaly).
            mismatch = stop_no == 1 and rnd.random() < 0.02
            where = (
                _offset(place.latitude, place.longitude, 2000, 0)
                if mismatch
                else (place.latitude, place.longitude)
            )
            for k in range(0, 25 if mismatch else 50, ping_minutes):
                lat, lon = _offset(*where, rnd.uniform(-20, 20), rnd.uniform(-20, 20))
                day.pings.append(Ping(e.id, t + timedelta(minutes=k), lat, lon))
            day.check_ins.append(CheckIn(e.id, place.id, t + timedelta(minutes=5), *where))
            if mismatch:
                day.planted_mismatches.append(e.id)
            t += timedelta(minutes=90)
            if stop_no == 0 and e.id in dwellers:
                mall_name, mlat, mlon = rnd.choice(MALLS)
                for k in range(0, 60, ping_minutes):  # a 50-minute stop at a mall
                    lat, lon = _offset(mlat, mlon, rnd.uniform(-15, 15), rnd.uniform(-15, 15))
                    day.pings.append(Ping(e.id, t + timedelta(minutes=k), lat, lon))
                day.planted_dwell.append((e.id, mall_name))
                t += timedelta(minutes=70)
            if stop_no == 1 and e.id in teleporters:
                day.pings.append(
                    Ping(e.id, t - timedelta(minutes=29), 31.2304, 121.4737)
                )  # Shanghai, briefly
                day.planted_teleports.append(e.id)
        if e.role == "credit_officer" and rnd.random() < 0.4:
            loan = f"LN-{d.isoformat()}-{e.id}"
            day.events.append(
                BusinessEvent(e.id, "loan_completed", t, loan, {"amount": rnd.randint(5, 80) * 10_000})
            )
            disbursed = None if rnd.random() < 0.15 else t + timedelta(hours=rnd.randint(2, 40))
            day.commitments.append(
                PlannedCommitment(e.id, loan, route[0].id, t - timedelta(hours=1), disbursed)
            )
        if e.role == "wealth_adviser" and rnd.random() < 0.3:
            day.events.append(BusinessEvent(e.id, "wealth_product_sold", t, f"WP-{d}-{e.id}", {}))
        if rnd.random() < 0.5:
            day.events.append(
                BusinessEvent(e.id, "follow_up_visit", t, f"FU-{d}-{e.id}", {"feedback": "good"})
            )
        if e.role == "wealth_adviser" or rnd.random() < 0.2:
            roll = rnd.random()
            if roll < 0.04:
                text, bad = rnd.choice(VIOLATIONS), True
            elif roll < 0.15:
                text, bad = rnd.choice(DISCLOSURES), False
            else:
                text, bad = rnd.choice(CLEAN_LINES), False
            day.transcripts.append(Transcript(e.id, t, text, bad))
    day.pings.sort(key=lambda p: (p.employee_id, p.at))
    return day
