"""Wires the scoring service into the chassis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from covenant.auth.directory import directory_for, with_directory, with_directory_batch
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.service import ScoringService
from services.scoring.servicer import ScoringServicer, card_from_pb

DEFAULT_SCORECARDS = Path(__file__).parent / "default_scorecards.yaml"


def default_scorecards() -> Iterator[Any]:
    """The example scorecards of ``default_scorecards.yaml``, read only when asked for: ``seed`` asks only
    on a first start, when there are no scorecards yet."""
    for item in yaml.safe_load(DEFAULT_SCORECARDS.read_text()):
        kpis = [
            scoring_pb2.Kpi(
                id=k["id"],
                label=k.get("label", ""),
                weight=str(k["weight"]),
                direction=k.get("direction", ""),
                normalisation=k.get("normalisation", ""),
                target=str(k.get("target", "")),
                unit=k.get("unit", ""),
                default_value=str(k.get("default", "")),
            )
            for k in item["kpis"]
        ]
        yield card_from_pb(
            scoring_pb2.Scorecard(
                id=item["id"],
                role=item["role"],
                effective_from=item["effective_from"],
                kpis=kpis,
                org_unit_prefix=item.get("org_unit_prefix", ""),
            )
        )


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = ScoringService(ctx.db, ctx.rules, timezone=ctx.settings.timezone, directory=directory)
    return ServiceApp(
        servicers=[(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, ScoringServicer(service))],
        grpc_service_names=["covenant.scoring.v1.ScoringService"],
        # identity's employee events feed the directory; the rest become metric values
        event_handler=with_directory(directory, service.metrics.apply_event),
        event_batch_handler=with_directory_batch(directory, service.metrics.apply_events),
        on_start=lambda: service.scorecards.seed(default_scorecards()),
    )
