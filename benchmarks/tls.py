"""Unary call rate and latency over plaintext, TLS and mutual TLS, in one run, through the real chassis.

For each mode a service process (the chassis ``ServiceHost``: auth, deadline and peer-identity interceptors,
tracing, round_robin channel with the service config) answers a small echo method; one client reuses one
channel (the chassis ``plain_channel`` with the dev CA's ``cli`` certificate). Prints calls/s and p50/p99
latency per mode for 1 caller thread and for 4, then the ratio mTLS / plaintext.
Target: mTLS >= 0.7 of plaintext (unary calls, reused channel).

Run: .venv/bin/python benchmarks/tls.py [seconds per measurement]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from covenant.auth.tokens import StaticKeySource, StaticTokenSource, TokenVerifier
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.grpc.client import plain_channel
from covenant.grpc.pki import ensure_dev_pki
from covenant.grpc.server import ServiceHost
from covenant.grpc.wire import WireSettings
from covenant.rules import ActionSpec, ActionVocabulary
from covenant.settings import Settings

SERVICE = "covenant.bench.v1.Echo"
METHOD = f"/{SERVICE}/Echo"
VOCABULARY = ActionVocabulary("bench", [ActionSpec("note", {"type": "object"}, "bench action")])
PAYLOAD = b"x" * 256
TARGET = 0.7


def create_app(_ctx: ServiceContext) -> ServiceApp:
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _context: request)}
    )
    return ServiceApp(
        servicers=[(lambda h, server: server.add_generic_rpc_handlers((h,)), handler)],
        grpc_service_names=[SERVICE],
    )


def start(mode: str, data_dir: Path) -> ServiceHost:
    env = {
        "COVENANT_DATA_DIR": str(data_dir),
        "COVENANT_LISTEN": "127.0.0.1:0",
        "COVENANT_AUTH_MODE": "dev",
        "COVENANT_TLS_MODE": mode,
        "COVENANT_RULES_DIR": str(data_dir / "rules"),
        "COVENANT_LOG_LEVEL": "WARNING",
        "COVENANT_SCORING_DB_URL": f"sqlite:///{data_dir / f'bench-{mode}.db'}",
    }
    host = ServiceHost(
        Settings.from_env("scoring", env),
        verifier=TokenVerifier(StaticKeySource('{"keys": []}')),
        token_source=StaticTokenSource(None),
        create_app=create_app,
        vocabulary=VOCABULARY,
        load_default_packs=False,
    )
    return host.start()


def measure(channel: grpc.Channel, seconds: float, threads: int) -> tuple[float, float, float]:
    """(calls/s, p50 ms, p99 ms) with ``threads`` callers sharing ``channel``."""
    call = channel.unary_unary(METHOD)
    for _ in range(200):  # warm-up: connection, TLS handshake, caches
        call(PAYLOAD, timeout=5)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop = time.perf_counter() + seconds

    def run(out: list[float]) -> None:
        while (t0 := time.perf_counter()) < stop:
            call(PAYLOAD, timeout=5)
            out.append(time.perf_counter() - t0)

    workers = [threading.Thread(target=run, args=(latencies[i],)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    p99 = flat[int(len(flat) * 0.99) - 1]
    return len(flat) / elapsed, statistics.median(flat) * 1000, p99 * 1000


def main(seconds: float = 3.0) -> int:
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        (data_dir / "rules").mkdir()
        ensure_dev_pki(data_dir, ["scoring", "cli"])
        for mode in ("off", "tls", "mtls"):
            host = start(mode, data_dir)
            client_wire = WireSettings.from_env({"COVENANT_TLS_MODE": mode}, "cli", data_dir)
            channel = plain_channel(f"127.0.0.1:{host.port}", wire=client_wire)
            try:
                for threads in (1, 4):
                    results[(mode, threads)] = measure(channel, seconds, threads)
            finally:
                channel.close()
                host.stop(grace=0)
    names = {"off": "plaintext", "tls": "TLS", "mtls": "mTLS"}
    print(f"unary echo, {len(PAYLOAD)} B, one reused channel, {seconds:.0f} s per row")
    print(f"{'mode':<10} {'callers':>7} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for (mode, threads), (rate, p50, p99) in results.items():
        print(f"{names[mode]:<10} {threads:>7} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f}")
    ok = True
    for threads in (1, 4):
        ratio = results[("mtls", threads)][0] / results[("off", threads)][0]
        passed = ratio >= TARGET
        ok &= passed
        verdict = "PASS" if passed else "FAIL"
        print(f"mTLS / plaintext, {threads} caller(s): {ratio:.2f} (target >= {TARGET}) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
