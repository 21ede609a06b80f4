"""A check-in is judged on one pack snapshot: under activations that flip the visit radius while check-ins
run concurrently, every decision's radius, outcome and stamped pack version belong to the same pack version
(real gRPC, SQLite and PostgreSQL). Also BatchCheckIns: per-item results and errors, idempotency per
check-in id, the whole batch refused on an authorization failure."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.grpc.testing import RunningService, bearer
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from tests.integration.test_attendance_grpc import (
    CLIENT_A,
    MALL,
    PACK,
    TEAM,
    at,
    ping,
    place,
    seeded,
    stub,
    system,
)


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with seeded(db_url, tmp_path, [place("A", CLIENT_A), place("R", MALL, radius=0)]) as s:
        yield s


HERE = (MALL[0] + 250 / 111_195, MALL[1])  # 250 m from client R, which has no radius of its own
ACTIVATIONS = 30
COUNT_VISITS = "SELECT COUNT(*) FROM attendance_visits WHERE request_id LIKE :p"


def variant(k: int) -> tuple[str, float, str]:
    """Pack version k: radius 300 (a check-in at 250 m is verified) when k is even, else 150."""
    radius = 300.0 if k % 2 == 0 else 150.0
    version = f"2099.1.{k}"  # above any shipped version
    source = re.sub(r'(?m)^version: ".*"$', f'version: "{version}"', PACK.read_text())
    source = source.replace("    default: 150\n", f"    default: {int(radius)}\n", 1)
    return version, radius, source


def test_activations_under_concurrent_check_ins_never_mix_two_versions(svc: RunningService) -> None:
    owner = bearer(svc.tokens.user("C1", "/hq", {"rules.*.publish": "all", "rules.*.activate": "all"}))
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    shipped = re.search(r'(?m)^version: "(.*)"$', PACK.read_text())
    radius_of = {shipped.group(1) if shipped else "": 150.0}
    variants = [variant(k) for k in range(1, ACTIVATIONS + 1)]
    radius_of |= {v: r for v, r, _ in variants}
    stop = threading.Event()
    answers: list[pb.CheckInResponse] = []
    errors: list[BaseException] = []

    def check_in(worker: int) -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                when = at(14, 0) + timedelta(seconds=n)
                r = stub(svc).CheckIn(
                    pb.CheckInRequest(
                        ping=ping(f"E{worker}", when, HERE), client_id="R", request_id=f"w{worker}-{n}"
                    ),
                    metadata=system(svc),
                )
                answers.append(r)
        except BaseException as e:  # surfaced below
            errors.append(e)

    workers = [threading.Thread(target=check_in, args=(w,)) for w in range(4)]
    for t in workers:
        t.start()
    try:
        for _, _, source in variants:
            rules.PublishRulePack(
                rpb.PublishRulePackRequest(source_yaml=source, activate=True), metadata=owner
            )
    finally:
        stop.set()
        for t in workers:
            t.join()
    assert not errors, errors
    versions = {a.pack_version for a in answers}
    assert len(answers) > 60 and len(versions) > 5, (len(answers), versions)
    mixed = [
        (a.pack_version, a.radius_m, a.verified)
        for a in answers
        if a.radius_m != radius_of[a.pack_version] or a.verified != (radius_of[a.pack_version] >= 250)
    ]
    assert mixed == [], f"{len(mixed)} of {len(answers)} decisions mixed two pack versions: {mixed[:5]}"


def batch_item(emp: str, minute: int, request_id: str, client: str = "A") -> pb.CheckInRequest:
    where = MALL if client == "R" else CLIENT_A
    return pb.CheckInRequest(ping=ping(emp, at(15, minute), where), client_id=client, request_id=request_id)


def test_a_batch_answers_per_item_and_a_resent_batch_changes_nothing(svc: RunningService) -> None:
    s = stub(svc)
    items = [batch_item(f"E{k}", k, f"b-{k}") for k in range(5)]
    items.append(batch_item("E5", 5, "b-5", client="nope"))  # unknown client: that item fails
    bad = batch_item("E6", 6, "")  # no check-in id: that item fails
    items.append(bad)
    items.append(batch_item("E1", 1, "b-1"))  # the same check-in id twice: one visit
    first = s.BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items), metadata=system(svc))
    assert len(first.results) == len(items)
    ok = [r.check_in for r in first.results[:5]]
    assert all(r.verified and r.event_type == "attendance.visit_verified" and r.visit_id for r in ok)
    assert first.results[5].error.code == "NOT_FOUND" and "nope" in first.results[5].error.message
    assert (first.results[6].error.code, first.results[6].error.field) == (
        "INVALID_ARGUMENT",
        "check_ins[6].request_id",
    )
    assert first.results[7].check_in.visit_id == ok[1].visit_id
    again = s.BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items[:5]), metadata=system(svc))
    assert [r.check_in.visit_id for r in again.results] == [r.visit_id for r in ok]
    unary = s.CheckIn(items[2], metadata=system(svc))
    assert unary.visit_id == ok[2].visit_id  # the unary path shares the check-in ids
    with svc.host.ctx.db.session() as db:  # type: ignore[union-attr]
        visits = db.execute(text(COUNT_VISITS), {"p": "b-%"}).scalar()
        events = db.execute(
            text("SELECT COUNT(DISTINCT event_id) FROM outbox WHERE event_type = 'attendance.visit_verified'")
        ).scalar()
    assert (visits, events) == (5, 5)


def test_a_batch_with_one_item_outside_the_callers_scope_is_refused_whole(svc: RunningService) -> None:
    rep = bearer(svc.tokens.user("E1", TEAM, {"attendance.visits.write": "self"}))
    items = [batch_item("E1", 20, "s-1"), batch_item("E2", 21, "s-2")]
    with pytest.raises(grpc.RpcError) as e:
        stub(svc).BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items), metadata=rep)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "attendance.visits.write" in (e.value.details() or "")
    with svc.host.ctx.db.session() as db:  # type: ignore[union-attr]
        assert db.execute(text(COUNT_VISITS), {"p": "s-%"}).scalar() == 0
    mine = stub(svc).BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items[:1]), metadata=rep)
    assert mine.results[0].check_in.verified


def test_a_batch_over_the_limit_or_empty_is_invalid(svc: RunningService) -> None:
    for items in ([], [batch_item("E1", 0, f"x-{k}") for k in range(501)]):
        with pytest.raises(grpc.RpcError) as e:
            stub(svc).BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items), metadata=system(svc))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "check_ins" in (e.value.details() or "")


def test_a_batch_resent_while_the_first_call_still_runs_gets_the_same_visits_not_an_error(
    svc: RunningService,
) -> None:
    """A phone resending an upload it timed out on: both calls used to look the check-in ids up before
    locking the days, so the later one failed on the unique check-in id (INTERNAL)."""
    items = [batch_item(f"E{k % 5}", k, f"race-{k}") for k in range(60)]
    gate = threading.Barrier(2)
    answers: list[object] = []

    def send() -> None:
        gate.wait()
        try:
            answers.append(
                stub(svc).BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items), metadata=system(svc))
            )
        except grpc.RpcError as err:
            answers.append(err.code())

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(a, pb.BatchCheckInsResponse) for a in answers), answers
    ids = [[r.check_in.visit_id for r in a.results] for a in answers]  # type: ignore[attr-defined]
    assert ids[0] == ids[1] and all(ids[0])
    with svc.host.ctx.db.session() as db:  # type: ignore[union-attr]
        assert db.execute(text(COUNT_VISITS), {"p": "race-%"}).scalar() == 60
