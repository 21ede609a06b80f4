"""Wires the compliance service into the chassis: servicer, event consumer, behaviour scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from sqlalchemy.orm import Session

from covenant.auth.directory import directory_for, with_directory, with_directory_batch
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.periodic import PeriodicWorker
from covenant.structs import struct_dict
from services.compliance.behaviour import Fact
from services.compliance.domain.text import char_table
from services.compliance.service import ComplianceService
from services.compliance.servicer import ComplianceServicer

CONSUMED = (
    "attendance.visit_verified",
    "attendance.dwell_anomaly",
    "attendance.daily_summary",
    "commitments.breached",
)


class BehaviourScheduler(PeriodicWorker):
    """Every ``interval`` seconds: behaviour rules, SLA escalation, retention purge."""

    thread_name = "compliance-scheduler"

    def __init__(self, service: ComplianceService, interval: float) -> None:
        super().__init__(interval)
        self.service = service

    def run_once(self) -> list[str]:
        now = self.service.clock()
        opened = self.service.behaviour.evaluate_behaviour(None, now)
        self.service.cases.escalate_overdue(None, now)
        self.service.scanning.purge(now)
        return opened

    def tick(self) -> None:
        self.run_once()


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = ComplianceService(ctx.db, ctx.rules, timezone=ctx.settings.timezone, directory=directory)
    interval = ctx.settings.compliance_schedule_seconds

    def fact(event: Event) -> Fact:
        return Fact(
            event.id,
            event.type,
            struct_dict(event.data),
            event.org_unit,
            event.occurred_at.ToDatetime(tzinfo=UTC),
        )

    def handle_batch(session: Session, events: Sequence[Event]) -> None:
        """Facts from other services; effects commit with the inbox rows (exactly once in effect). A
        delivered batch is read and written together (a handful of statements, not five per visit)."""
        service.behaviour.on_events(session, [fact(e) for e in events if e.type in CONSUMED])

    def handle(session: Session, event: Event) -> None:
        handle_batch(session, [event])

    return ServiceApp(
        servicers=[
            (compliance_pb2_grpc.add_ComplianceServiceServicer_to_server, ComplianceServicer(service))
        ],
        grpc_service_names=["covenant.compliance.v1.ComplianceService"],
        event_handler=with_directory(directory, handle),  # identity's employee events feed the directory
        event_batch_handler=with_directory_batch(directory, handle_batch),
        workers=[BehaviourScheduler(service, interval)],
        on_start=char_table,  # build the normalisation table before the first scan
    )
