"""Reading a Prometheus exposition in tests: scrape ``/metrics`` and pick samples by name and labels."""

from __future__ import annotations

import socket
import urllib.request
from dataclasses import dataclass

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Exposition:
    """One scrape: every sample as (name, labels, value)."""

    samples: list[tuple[str, dict[str, str], float]]

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        """Samples named ``name`` whose labels include ``labels``."""
        return [
            (lab, value)
            for n, lab, value in self.samples
            if n == name and all(lab.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """Sum of the matching samples (0 when none)."""
        return sum(v for _, v in self.select(name, **labels))

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


def scrape(url: str) -> Exposition:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return Exposition(
        [
            (s.name, dict(s.labels), float(s.value))
            for f in text_string_to_metric_families(text)
            for s in f.samples
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local() -> Exposition:
    """This process's metrics (the default registry the Prometheus reader joins), without HTTP."""
    from covenant.telemetry import metrics

    metrics.install("test")
    return parse(generate_latest().decode())


def parse(text: str) -> Exposition:
    return Exposition(
        [
            (s.name, dict(s.labels), float(s.value))
            for f in text_string_to_metric_families(text)
            for s in f.samples
        ]
    )
