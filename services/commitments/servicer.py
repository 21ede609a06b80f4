"""gRPC adapter for CommitmentsService: protobuf in, domain calls, protobuf out."""

from __future__ import annotations

from typing import Any

from google.protobuf.struct_pb2 import Struct

from covenant.auth import authorize, scope_filter
from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.errors import InvalidArgument, PermissionDenied
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.paging import page_cursor, page_size, page_token
from covenant.services import own_account_of
from covenant.timestamps import from_ts, ts
from services.commitments import storage
from services.commitments.domain.commitment import Commitment
from services.commitments.service import CommitmentsService


def commitment_id(name: str) -> str:
    prefix = "commitments/"
    if not name.startswith(prefix) or len(name) == len(prefix):
        raise InvalidArgument("must look like commitments/{id}", field="name")
    return name[len(prefix) :]


def to_pb(c: Commitment) -> pb.Commitment:
    t = c.terms
    consequences = Struct()
    consequences.update(t.consequences)
    return pb.Commitment(
        name=f"commitments/{c.id}",
        terms=pb.Terms(
            **fields_of(
                t,
                "template_id pack_id pack_version promise employee_id org_unit client_id"
                " fulfilling_event_type correlation_key correlation_value deadline_rule",
            ),
            created_at=ts(t.created_at),
            deadline=ts(t.deadline),
            reminders=[ts(r) for r in t.reminders],
            consequences=consequences,
        ),
        terms_hash=c.terms_hash,
        state=pb.CommitmentState.Value(c.state.value),
        effective_deadline=ts(c.effective_deadline),
        settled_at=ts(c.settled_at),
        fulfilled_at=ts(c.fulfilled_at),
        delay_seconds=c.delay_seconds,
        fulfilment_event_id=c.fulfilment_event_id,
        extensions=[
            pb.Extension(
                previous_deadline=ts(e.previous_deadline),
                new_deadline=ts(e.new_deadline),
                reason=e.reason,
                approver=e.approver,
                extended_at=ts(e.extended_at),
            )
            for e in c.extensions
        ],
    )


class CommitmentsServicer(commitments_pb2_grpc.CommitmentsServiceServicer):
    def __init__(self, service: CommitmentsService) -> None:
        self.service = service

    def CreateCommitment(self, request: pb.CreateCommitmentRequest, context: Any) -> pb.Commitment:
        c = self.service.create(
            current_principal(),
            template_id=request.template_id,
            employee_id=request.employee_id,
            org_unit=request.org_unit,
            client_id=request.client_id,
            correlation_value=request.correlation_value,
            created_at=from_ts(request.created_at, "created_at"),
            request_id=request.request_id,
        )
        return to_pb(c)

    def GetCommitment(self, request: pb.GetCommitmentRequest, context: Any) -> pb.Commitment:
        return to_pb(self.service.get(current_principal(), commitment_id(request.name)))

    def ListCommitments(self, request: pb.ListCommitmentsRequest, context: Any) -> pb.ListCommitmentsResponse:
        size = page_size(request.page_size)
        due = request.due_before.ToJsonString() if request.HasField("due_before") else ""
        bound = ("commitments", request.employee_id, request.org_unit, list(request.states), due)
        after = page_cursor(request.page_token, bound, kind=str) or ""
        principal = current_principal()
        scope = scope_filter(principal, "commitments.commitments.read")
        if (
            request.employee_id
            and not scope.all
            and scope.org_unit is None
            and scope.org_unit_prefix is None
            and request.employee_id != principal.employee_id
        ):
            raise PermissionDenied(
                "commitments.commitments.read", "scope self covers only your own commitments"
            )
        states = [pb.CommitmentState.Name(s) for s in request.states]
        with self.service.db.session() as session:
            items = storage.list_commitments(
                session,
                scope=scope,
                employee_id=request.employee_id or None,
                org_unit_prefix=None if request.employee_id else (request.org_unit or None),
                states=states,
                due_before=from_ts(request.due_before, "due_before"),
                after_id=after,
                limit=size + 1,
            )
        token = page_token(items[size - 1].id if len(items) > size else None, bound)
        items = items[:size]
        return pb.ListCommitmentsResponse(commitments=[to_pb(c) for c in items], next_page_token=token)

    def VerifyCommitment(
        self, request: pb.VerifyCommitmentRequest, context: Any
    ) -> pb.VerifyCommitmentResponse:
        valid, issued, computed = self.service.verify(current_principal(), commitment_id(request.name))
        return pb.VerifyCommitmentResponse(valid=valid, issued_hash=issued, computed_hash=computed)

    def ExtendCommitment(self, request: pb.ExtendCommitmentRequest, context: Any) -> pb.Commitment:
        new_deadline = from_ts(request.new_deadline, "new_deadline", required=True)
        assert new_deadline is not None
        return to_pb(
            self.service.extend(
                current_principal(), commitment_id(request.name), new_deadline, request.reason
            )
        )

    def CancelCommitment(self, request: pb.CancelCommitmentRequest, context: Any) -> pb.Commitment:
        return to_pb(self.service.cancel(current_principal(), commitment_id(request.name), request.reason))

    def RecordFulfilment(
        self, request: pb.RecordFulfilmentRequest, context: Any
    ) -> pb.RecordFulfilmentResponse:
        principal = current_principal()
        authorize(principal, "commitments.fulfilments.write")
        if principal.kind == "service" and own_account_of(principal.subject) is not None:
            raise PermissionDenied(  # provenance: fulfilling facts come from source systems (e.g. loans)
                "commitments.fulfilments.write", f"{principal.subject} reports through its events, not facts"
            )
        for name in ("event_type", "correlation_key", "correlation_value", "event_id"):
            if not getattr(request, name):
                raise InvalidArgument("is required", field=name)
        at = from_ts(request.occurred_at, "occurred_at") or self.service.clock()
        if (
            at > self.service.clock().replace(microsecond=0)
            and (at - self.service.clock()).total_seconds() > 300
        ):
            raise InvalidArgument("is in the future", field="occurred_at")
        with self.service.db.session() as session:
            settled = self.service.record_fulfilment(
                session,
                event_type=request.event_type,
                key=request.correlation_key,
                value=request.correlation_value,
                at=at,
                event_id=request.event_id,
            )
        return pb.RecordFulfilmentResponse(settled=[to_pb(c) for c in settled])

    def GetFulfilmentRate(self, request: pb.GetFulfilmentRateRequest, context: Any) -> pb.FulfilmentRate:
        start = from_ts(request.start_time, "start_time", required=True)
        end = from_ts(request.end_time, "end_time", required=True)
        assert start is not None and end is not None
        return pb.FulfilmentRate(
            **self.service.fulfilment_rate(current_principal(), request.org_unit, start, end)
        )

    def ListTemplates(self, request: pb.ListTemplatesRequest, context: Any) -> pb.ListTemplatesResponse:
        authorize(current_principal(), "commitments.commitments.read")
        packs = self.service.snapshot()  # the calendar and the templates from the same pack versions
        calendar = self.service.calendar(packs=packs)
        return pb.ListTemplatesResponse(
            templates=[
                pb.Template(
                    **fields_of(t, "id promise fulfilling_event_type correlation_key pack_id pack_version"),
                    deadline_rule=t.deadline.describe(calendar),
                )
                for t in sorted(self.service.templates(packs).values(), key=lambda t: t.id)
            ]
        )
