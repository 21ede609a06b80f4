"""A check-in id names one check-in (employee, client, time): a resend answers the recorded visit, the id
sent with another check-in is INVALID_ARGUMENT naming ``request_id`` and records nothing, whether the two
meet across calls, in one batch, in one group of concurrent unary calls or in two units racing on the
unique id (real gRPC, SQLite and PostgreSQL; docs/security.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.grpc.testing import RunningService, bearer
from tests.integration.test_attendance_grpc import (
    CLIENT_A,
    CLIENT_B,
    TEAM,
    at,
    ping,
    place,
    seeded,
    stub,
    system,
)

VISITS = "SELECT employee_id, client_id FROM attendance_visits WHERE request_id = :r"


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with seeded(db_url, tmp_path, [place("A", CLIENT_A), place("B", CLIENT_B)]) as s:
        yield s


def rep(svc: RunningService, emp: str) -> list[tuple[str, str]]:
    return bearer(svc.tokens.user(emp, TEAM, {"attendance.visits.write": "self"}))


def check_in(emp: str, request_id: str, client: str = "A", minute: int = 0) -> pb.CheckInRequest:
    where = CLIENT_A if client == "A" else CLIENT_B
    return pb.CheckInRequest(ping=ping(emp, at(16, minute), where), client_id=client, request_id=request_id)


def recorded(svc: RunningService, request_id: str) -> list[tuple[str, str]]:
    with svc.host.ctx.db.session() as db:  # type: ignore[union-attr]
        return [tuple(r) for r in db.execute(text(VISITS), {"r": request_id})]


def refused(err: grpc.RpcError, *other_visit_ids: str) -> bool:
    """INVALID_ARGUMENT naming ``request_id``, telling none of the other check-in's visit ids."""
    details = err.details() or ""
    return (
        err.code() == grpc.StatusCode.INVALID_ARGUMENT
        and "request_id" in details
        and not any(v in details for v in other_visit_ids)
    )


def test_a_colleagues_check_in_id_is_refused_and_tells_nothing_of_that_visit(svc: RunningService) -> None:
    first = stub(svc).CheckIn(check_in("E1", "ci-1"), metadata=rep(svc, "E1"))
    assert first.verified
    with pytest.raises(grpc.RpcError) as e:  # E2 learnt E1's id
        stub(svc).CheckIn(check_in("E2", "ci-1"), metadata=rep(svc, "E2"))
    assert refused(e.value, first.visit_id)
    with pytest.raises(grpc.RpcError) as e:  # E1's own id on another client: another check-in
        stub(svc).CheckIn(check_in("E1", "ci-1", client="B"), metadata=rep(svc, "E1"))
    assert refused(e.value, first.visit_id)
    with pytest.raises(grpc.RpcError) as e:  # ... or at another time
        stub(svc).CheckIn(check_in("E1", "ci-1", minute=7), metadata=rep(svc, "E1"))
    assert refused(e.value, first.visit_id)
    again = stub(svc).CheckIn(check_in("E1", "ci-1"), metadata=rep(svc, "E1"))  # the resend
    assert (again.visit_id, again.verified) == (first.visit_id, True)
    assert recorded(svc, "ci-1") == [("E1", "A")]
    batch = stub(svc).BatchCheckIns(
        pb.BatchCheckInsRequest(check_ins=[check_in("E2", "ci-2"), check_in("E2", "ci-1")]),
        metadata=rep(svc, "E2"),
    )
    assert batch.results[0].check_in.verified
    err = batch.results[1].error
    assert (err.code, err.field) == ("INVALID_ARGUMENT", "check_ins[1].request_id")
    assert first.visit_id not in err.message
    assert recorded(svc, "ci-1") == [("E1", "A")]


def test_one_id_on_two_check_ins_of_one_batch_records_the_first_only(svc: RunningService) -> None:
    items = [check_in("E3", "dup"), check_in("E4", "dup"), check_in("E3", "dup")]
    got = stub(svc).BatchCheckIns(pb.BatchCheckInsRequest(check_ins=items), metadata=system(svc))
    first = got.results[0].check_in
    assert first.verified
    assert (got.results[1].error.code, got.results[1].error.field) == (
        "INVALID_ARGUMENT",
        "check_ins[1].request_id",
    )
    assert got.results[2].check_in.visit_id == first.visit_id  # the same check-in twice: one visit
    assert recorded(svc, "dup") == [("E3", "A")]


def test_two_reps_sending_one_id_at_once_get_one_visit_and_one_refusal(svc: RunningService) -> None:
    """The calls share a group commit or race in two units; either way one records, the other is told."""

    def send(emp: str, rid: str, minute: int, gate: threading.Barrier, answers: dict[str, Any]) -> None:
        gate.wait()
        try:
            answers[emp] = stub(svc).CheckIn(check_in(emp, rid, minute=minute), metadata=rep(svc, emp))
        except grpc.RpcError as err:
            answers[emp] = err

    for round_ in range(5):
        rid, gate, answers = f"same-{round_}", threading.Barrier(2), {}
        threads = [threading.Thread(target=send, args=(e, rid, round_, gate, answers)) for e in ("E5", "E6")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        (winner,) = [emp for emp, a in answers.items() if isinstance(a, pb.CheckInResponse)]
        (loser,) = [a for a in answers.values() if isinstance(a, grpc.RpcError)]
        assert refused(loser, answers[winner].visit_id)
        assert recorded(svc, rid) == [(winner, "A")]


def test_an_id_recorded_by_another_unit_after_the_lookup_is_answered_not_internal(
    svc: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the caller's own employee-days are locked: another employee's unit may record the id between
    this unit's look-up and its insert. The insert fails on the unique id and the unit runs once more."""
    stub(svc).CheckIn(check_in("E7", "late"), metadata=rep(svc, "E7"))
    check_ins = svc.host.app.servicers[0][1].service.check_ins  # type: ignore[union-attr]
    real = check_ins._replay_recorded
    looks: list[int] = []

    def blind_once(recorded: Any, todo: Any, prevs: Any, out: Any, batch: bool) -> Any:
        looks.append(1)
        if len(looks) == 1:  # the first look-up ran before E7's unit committed
            return list(zip(todo, prevs, strict=True))
        return real(recorded, todo, prevs, out, batch)

    monkeypatch.setattr(check_ins, "_replay_recorded", blind_once)
    with pytest.raises(grpc.RpcError) as e:
        stub(svc).CheckIn(check_in("E8", "late"), metadata=rep(svc, "E8"))
    assert refused(e.value) and len(looks) == 2
    assert recorded(svc, "late") == [("E7", "A")]
    with svc.host.ctx.db.session() as db:  # type: ignore[union-attr]
        assert (
            db.execute(text("SELECT COUNT(*) FROM attendance_visits WHERE employee_id = 'E8'")).scalar() == 0
        )
