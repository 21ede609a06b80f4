"""gRPC adapter for CommitmentsService: protobuf in, domain calls, protobuf out."""

from __future__ import annotations

from typing import Any

from google.protobuf.struct_pb2 import Struct

from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.errors import InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.paging import page
from covenant.timestamps import from_ts, ts
from services.commitments.domain.commitment import Commitment
from services.commitments.domain.terms import Terms
from services.commitments.service import CommitmentsService


def commitment_id(name: str) -> str:
    prefix = "commitments/"
    if not name.startswith(prefix) or len(name) == len(prefix):
        raise InvalidArgument("must look like commitments/{id}", field="name")
    return name[len(prefix) :]


def terms_pb(t: Terms) -> pb.Terms:
    consequences = Struct()
    consequences.update(t.consequences)
    return pb.Terms(
        **fields_of(
            t,
            "template_id pack_id pack_version promise employee_id org_unit client_id fulfilling_event_type"
            " correlation_key correlation_value deadline_rule",
        ),
        created_at=ts(t.created_at),
        deadline=ts(t.deadline),
        reminders=[ts(r) for r in t.reminders],
        consequences=consequences,
    )


def to_pb(c: Commitment) -> pb.Commitment:
    return pb.Commitment(
        name=f"commitments/{c.id}",
        terms=terms_pb(c.terms),
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
        due = request.due_before.ToJsonString() if request.HasField("due_before") else ""
        bound = ("commitments", request.employee_id, request.org_unit, list(request.states), due)

        def fetch(after: str, limit: int) -> list[Commitment]:
            return self.service.list_commitments(
                current_principal(),
                employee_id=request.employee_id,
                org_unit=request.org_unit,
                states=[pb.CommitmentState.Name(s) for s in request.states],
                due_before=from_ts(request.due_before, "due_before"),
                after_id=after,
                limit=limit,
            )

        items, token = page(
            request.page_size, request.page_token, bound, fetch, key=lambda c: c.id, kind=str, first=""
        )
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
        settled = self.service.report_fact(
            current_principal(),
            event_type=request.event_type,
            key=request.correlation_key,
            value=request.correlation_value,
            at=from_ts(request.occurred_at, "occurred_at"),
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
        return pb.ListTemplatesResponse(
            templates=[
                pb.Template(
                    id=t.id,
                    promise=t.promise,
                    deadline_rule=deadline_rule,
                    fulfilling_event_type=t.fulfilling_event_type,
                    correlation_key=t.correlation_key,
                    pack_id=t.pack_id,
                    pack_version=t.pack_version,
                )
                for t, deadline_rule in self.service.described_templates(current_principal())
            ]
        )
