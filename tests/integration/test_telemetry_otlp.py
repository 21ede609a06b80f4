"""With COVENANT_OTEL_EXPORTER=otlp the same metrics are pushed over OTLP: a real OTLP/gRPC receiver (the
collector's MetricsService, served here) gets them from a service process."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from opentelemetry import metrics as api
from covenant import telemetry
from covenant.settings import Settings
from covenant.telemetry import metrics
env = {"COVENANT_DATA_DIR": sys.argv[1], "COVENANT_OTEL_EXPORTER": "otlp"}
telemetry.setup(Settings.from_env("points", env))
metrics.OUTBOX_DELIVERED.add(3, {"source": "points", "destination": "scoring"})
api.get_meter_provider().shutdown()  # flushes the periodic reader
"""


class Receiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.requests: list[mpb.ExportMetricsServiceRequest] = []
        self.lock = threading.Lock()

    def Export(self, request, context):  # type: ignore[no-untyped-def]
        with self.lock:
            self.requests.append(request)
        return mpb.ExportMetricsServiceResponse()


def test_metrics_are_pushed_over_otlp_when_configured(tmp_path: Path) -> None:
    receiver = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
        subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, env=env, check=True, timeout=120
        )
    finally:
        server.stop(1)
    points = [
        (resource.resource, dp)
        for request in receiver.requests
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "covenant.outbox.delivered"
        for dp in metric.sum.data_points
    ]
    assert points, receiver.requests
    resource, dp = points[-1]
    assert dp.as_int == 3 or dp.as_double == 3
    assert {a.key: a.value.string_value for a in dp.attributes} == {
        "source": "points",
        "destination": "scoring",
    }
    attrs = {a.key: a.value.string_value for a in resource.attributes}
    assert attrs["service.name"] == "covenant-points"
