"""Stored screening hits (issue 20: compliance officers see "screening hits with their explanation") through
real gRPC on SQLite and PostgreSQL: client contacts whose name matches a watchlist are kept with the
features that explain the score (characters, pinyin, traditional form); ListScreeningHits filters by org
subtree, local dates and status, pages, and is scoped for every shipped role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.compliance.v1 import compliance_pb2 as pb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.conftest import _fresh_pg_database
from tests.support.directory import employee, publish_employees
from tests.support.roles import shipped_roles

READ = "compliance.screening.read"
ENTRIES = [
    ("s1", "sanctions", "深圳市恒信达投资有限公司"),
    ("b1", "internal_blacklist", "深圳市黑名单贸易有限公司"),
    ("b2", "internal_blacklist", "广州市白云山宏达贸易有限公司"),
]
# (activity, employee, org unit, client name, day offset, matched entry or "" for a clean client, matched by)
CONTACTS = [
    ("a1", "E1", "/hq/futian/team-01", "深圳市恒信大投资有限公司", 0, "s1", "pinyin"),  # same sound
    ("a2", "E2", "/hq/futian/team-02", "深圳市黑名單貿易有限公司", 1, "b1", "traditional_form"),
    ("a3", "E3", "/hq/nanshan/team-01", "广州市白云山宏达贸易有限公司", 2, "b2", "characters"),
    ("a4", "E1", "/hq/futian/team-01", "北京天天餐饮有限公司", 3, "", ""),  # clean: no hit
    ("a5", "E4", "/hq/futian/team-01", "深圳市恒信达投资有限公司", 4, "s1", "characters"),
    ("a6", "E5", "/hq/futianx/team-01", "深圳市恒信达投资有限公司", 5, "s1", "characters"),  # not /hq/futian
]
START = datetime(2026, 11, 2, 2, tzinfo=UTC)  # 10:00 in Shanghai, Monday


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture(scope="module")
def svc(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    tmp = tmp_path_factory.mktemp("screening")
    with running_service("compliance", db_url=db_url, data_dir=tmp) as s:
        stub = compliance_pb2_grpc.ComplianceServiceStub(s.channel)
        loader = bearer(s.tokens.user("C0", "/hq", {"compliance.watchlists.write": "all"}))
        stub.LoadWatchlist(
            pb.LoadWatchlistRequest(
                entries=[pb.WatchlistEntry(id=i, list_name=lst, name=n) for i, lst, n in ENTRIES]
            ),
            metadata=loader,
        )
        # writes about an employee take their org unit from the directory (fed as identity does)
        people = {(emp, org) for _, emp, org, *_ in CONTACTS}
        publish_employees(s, [employee(emp, org, "sales_rep") for emp, org in sorted(people)])
        system = bearer(s.tokens.service("crm"))
        for _ in range(2):  # a re-sent contact (same activity id) is applied once
            for act, emp, org, name, day, _, _ in CONTACTS:
                stub.RecordClientActivity(
                    pb.RecordClientActivityRequest(
                        employee_id=emp,
                        org_unit=org,
                        client_id=f"K-{act}",
                        client_name=name,
                        kind="contact",
                        activity_id=act,
                        occurred_at=ts(START + timedelta(days=day)),
                    ),
                    metadata=system,
                )
        yield s


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One platform per database for the whole module (the tests only read)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        yield from _fresh_pg_database()


def stub(svc: RunningService) -> compliance_pb2_grpc.ComplianceServiceStub:
    return compliance_pb2_grpc.ComplianceServiceStub(svc.channel)


def reader(
    svc: RunningService, scope: str = "all", org: str = "/hq", emp: str = "C1"
) -> list[tuple[str, str]]:
    return bearer(svc.tokens.user(emp, org, {READ: scope}))


def every(svc: RunningService, md: list[tuple[str, str]], **kw: object) -> list[pb.ScreeningHit]:
    out, token = [], ""
    while True:
        resp = stub(svc).ListScreeningHits(pb.ListScreeningHitsRequest(page_token=token, **kw), metadata=md)
        out.extend(resp.hits)
        token = resp.next_page_token
        if not token:
            return out


def acts(hits: list[pb.ScreeningHit]) -> list[str]:
    by_client = {h.client_id: h for h in hits}
    return sorted(c.removeprefix("K-") for c in by_client)


HITS = [c for c in CONTACTS if c[5]]


def test_hits_carry_their_explanation_newest_first(svc: RunningService) -> None:
    hits = every(svc, reader(svc), page_size=2)  # paged through three pages
    assert [h.client_id for h in hits] == [f"K-{c[0]}" for c in reversed(HITS)]
    for h in hits:
        act = h.client_id.removeprefix("K-")
        _, emp, org, name, day, entry, matched_by = next(c for c in CONTACTS if c[0] == act)
        assert (h.employee_id, h.org_unit, h.client_name, h.match.entry_id, h.status) == (
            emp,
            org,
            name,
            entry,
            "OPEN",
        )
        assert f"matched_by:{matched_by}" in h.match.features and h.match.score >= 85
        assert h.match.listed_name == next(n for i, _, n in ENTRIES if i == entry)
        assert h.contact_time.ToDatetime(tzinfo=UTC) == START + timedelta(days=day)
        assert h.name.startswith("screeningHits/")
    sound = next(h for h in hits if h.client_id == "K-a1")
    assert any(f.startswith("pinyin_ratio:") for f in sound.match.features)


def test_filters_by_org_subtree_dates_and_status(svc: RunningService) -> None:
    md = reader(svc)
    assert acts(every(svc, md, org_unit="/hq/futian")) == ["a1", "a2", "a5"]  # not /hq/futianx
    assert acts(every(svc, md, org_unit="/hq/futian/team-01/")) == ["a1", "a5"]
    assert acts(every(svc, md, start_date="2026-11-03", end_date="2026-11-06")) == ["a2", "a3", "a5"]
    assert acts(every(svc, md, end_date="2026-11-02")) == ["a1"]
    assert acts(every(svc, md, status="OPEN")) == ["a1", "a2", "a3", "a5", "a6"]
    for kw, field in (
        ({"status": "CLEARED"}, "status"),
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"start_date": "2026-11-05", "end_date": "2026-11-04"}, "start_date"),
        ({"page_token": "bm9wZQ"}, "page_token"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).ListScreeningHits(pb.ListScreeningHitsRequest(**kw), metadata=md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details(), kw
    first = stub(svc).ListScreeningHits(pb.ListScreeningHitsRequest(page_size=1), metadata=md)
    with pytest.raises(grpc.RpcError) as err:  # a token is bound to the filter it was issued for
        stub(svc).ListScreeningHits(
            pb.ListScreeningHitsRequest(page_size=1, org_unit="/hq", page_token=first.next_page_token),
            metadata=md,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.value.details()


@pytest.mark.parametrize("role", sorted(shipped_roles()))
def test_every_shipped_role_sees_exactly_its_scope(svc: RunningService, role: str) -> None:
    grants = shipped_roles()[role]
    md = bearer(svc.tokens.user("E1", "/hq/futian/team-01", grants))
    scope = next(
        (grants[p] for p in (READ, "compliance.screening.*", "compliance.*.*", "*") if p in grants), None
    )
    if scope is None:
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).ListScreeningHits(pb.ListScreeningHitsRequest(), metadata=md)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and READ in err.value.details()
        return
    visible = {
        "self": lambda c: c[1] == "E1",
        "team": lambda c: c[2] == "/hq/futian/team-01",
        "subtree": lambda c: c[2] == "/hq/futian/team-01" or c[2].startswith("/hq/futian/team-01/"),
        "all": lambda c: True,
    }[scope]
    assert acts(every(svc, md)) == sorted(c[0] for c in HITS if visible(c))
    # asking for another subtree never widens the scope
    assert acts(every(svc, md, org_unit="/hq/nanshan")) == sorted(
        c[0] for c in HITS if visible(c) and c[2].startswith("/hq/nanshan/")
    )


def test_officers_subtree_scope(svc: RunningService) -> None:
    md = reader(svc, "subtree", "/hq/futian")
    assert acts(every(svc, md)) == ["a1", "a2", "a5"]
    assert acts(every(svc, reader(svc, "team", "/hq/futian/team-02"))) == ["a2"]
    assert acts(every(svc, reader(svc, "self", "/hq/futian/team-01", "E4"))) == ["a5"]
