"""Wires the compliance service into the chassis: servicer, event consumer, behaviour scheduler."""

from __future__ import annotations

from datetime import UTC

from google.protobuf.json_format import MessageToDict
from sqlalchemy.orm import Session

from covenant.auth.directory import directory_for, with_directory
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.periodic import PeriodicWorker
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

    def handle(session: Session, event: Event) -> None:
        """Facts from other services; effects commit with the inbox row (exactly once in effect)."""
        if event.type in CONSUMED:
            service.behaviour.on_event(
                session,
                event.type,
                MessageToDict(event.data),
                event_id=event.id,
                org_unit=event.org_unit,
                occurred_at=event.occurred_at.ToDatetime(tzinfo=UTC),
            )

    return ServiceApp(
        servicers=[
            (compliance_pb2_grpc.add_ComplianceServiceServicer_to_server, ComplianceServicer(service))
        ],
        grpc_service_names=["covenant.compliance.v1.ComplianceService"],
        event_handler=with_directory(directory, handle),  # identity's employee events feed the directory
        workers=[BehaviourScheduler(service, interval)],
        on_start=char_table,  # build the normalisation table before the first scan
    )
