"""Fast servicer test on pytest-grpc's in-process server: the commitments servicer over SQLite, behind the
chassis interceptor (token check and error mapping), without starting a service process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.db import Database
from covenant.db.migrations import migrate
from covenant.grpc.interceptors import ChassisInterceptor
from covenant.grpc.testing import TestTokens, bearer
from covenant.paging import page_token
from services.commitments.service import CommitmentsService
from services.commitments.servicer import CommitmentsServicer

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "commitments" / "migrations"
TOKENS = TestTokens()


@pytest.fixture(scope="module")
def grpc_interceptors() -> list[grpc.ServerInterceptor]:
    return [ChassisInterceptor(TOKENS.verifier())]


@pytest.fixture(scope="module")
def grpc_add_to_server() -> Any:
    return commitments_pb2_grpc.add_CommitmentsServiceServicer_to_server


@pytest.fixture(scope="module")
def grpc_servicer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('commitments') / 'c.db'}"
    migrate(url, "commitments", MIGRATIONS)
    return CommitmentsServicer(CommitmentsService(Database(url), None))


@pytest.fixture(scope="module")
def grpc_stub_cls() -> Any:
    return commitments_pb2_grpc.CommitmentsServiceStub


def test_a_call_without_a_token_is_unauthenticated(grpc_stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as err:
        grpc_stub.ListCommitments(pb.ListCommitmentsRequest())
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_listing_needs_the_read_permission(grpc_stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as err:
        grpc_stub.ListCommitments(pb.ListCommitmentsRequest(), metadata=bearer(TOKENS.user("e1")))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "commitments.commitments.read" in (err.value.details() or "")


def test_bad_paging_names_the_field(grpc_stub: Any) -> None:
    meta = bearer(TOKENS.admin())
    assert list(grpc_stub.ListCommitments(pb.ListCommitmentsRequest(), metadata=meta).commitments) == []
    with pytest.raises(grpc.RpcError) as err:
        grpc_stub.ListCommitments(pb.ListCommitmentsRequest(page_size=-1), metadata=meta)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "page_size" in (err.value.details() or "")
    other_filter = page_token("c1", ("commitments", "e9", "", [], ""))
    with pytest.raises(grpc.RpcError) as err:
        grpc_stub.ListCommitments(pb.ListCommitmentsRequest(page_token=other_filter), metadata=meta)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "page_token" in (
        err.value.details() or ""
    )
