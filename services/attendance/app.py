"""Wires the attendance service into the chassis."""

from __future__ import annotations

from typing import Any

from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.auth.directory import EMPLOYEE_CHANGED, directory_for, with_directory
from covenant.grpc.app import ServiceApp, ServiceContext
from services.attendance.days import DayCloser
from services.attendance.domain.day import rederive_stop_facts
from services.attendance.service import AttendanceService
from services.attendance.servicer import AttendanceServicer


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = AttendanceService(ctx.db, ctx.rules, timezone=ctx.settings.timezone, directory=directory)
    if ctx.rules is not None:  # dry runs judge stops with the candidate's dwell threshold
        ctx.rules.fact_deriver = rederive_stop_facts
    feed_directory = with_directory(directory, None)

    def on_event(session: Any, event: Any) -> None:
        """Identity's employee events keep the directory cache fresh (refusing other senders) and the
        silence roster in step."""
        feed_directory(session, event)
        if event.type == EMPLOYEE_CHANGED:
            service.days.observe_employee(session, event)

    interval = ctx.settings.attendance_close_interval_seconds
    return ServiceApp(
        servicers=[
            (attendance_pb2_grpc.add_AttendanceServiceServicer_to_server, AttendanceServicer(service))
        ],
        grpc_service_names=["covenant.attendance.v1.AttendanceService"],
        event_handler=on_event,
        workers=[DayCloser(service.days, interval=interval)],
    )
