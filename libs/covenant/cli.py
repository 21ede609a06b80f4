"""The ``covenant`` command: serve one service, run the platform locally, migrate, check health, rules.

covenant serve <service>        run one service (the container entry point)
covenant up [service ...]       run every service locally, on loopback, on its default port (or the port
                                of COVENANT_<SVC>_TARGET); COVENANT_TLS_MODE=tls|mtls uses a dev CA; Ctrl-C
                                stops
covenant migrate <service|all>  run database migrations
covenant health [service ...]   check health; exit 1 if any service is not SERVING
covenant rules ...              rule-pack lifecycle (validate, test, publish, activate, ...)
covenant secrets init           pre-generate a secrets file for clusters without Vault
covenant demo                   load a realistic week at a bank branch and show what Covenant finds
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from covenant.services import SERVICES, package_dir
from covenant.settings import Settings


def built_services() -> list[str]:
    """Services whose package exists in this build, in start order (identity first)."""
    return [name for name in SERVICES if (d := package_dir(name)) is not None and (d / "app.py").exists()]


def cmd_serve(args: argparse.Namespace) -> int:
    from covenant.listening import ListenError

    try:
        if args.service == "console":
            from covenant.console.server import serve

            serve()
        else:
            from covenant.grpc.server import ServiceHost

            ServiceHost(Settings.from_env(args.service)).serve_forever()
    except ListenError as exc:
        print(f"{args.service}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from covenant.grpc.server import migrate_service

    names = built_services() if args.service == "all" else [args.service]
    for name in names:
        migrate_service(Settings.from_env(name))
        print(f"{name}: migrated")
    return 0


def check_health(
    targets: dict[str, str], timeout: float = 2.0, env: dict[str, str] | None = None
) -> dict[str, str]:
    """``{service: status}`` for each target ("SERVING", "NOT_SERVING", or the error), over TLS/mTLS when
    ``COVENANT_TLS_MODE`` (in ``env``, default the process environment) says so."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from covenant.grpc.connect import cli_channel, cli_wire

    wire = cli_wire(env, timeout)
    out: dict[str, str] = {}
    for name, target in targets.items():
        with cli_channel(name, target, wire=wire) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                resp = stub.Check(
                    health_pb2.HealthCheckRequest(service=SERVICES[name].grpc_service), timeout=timeout
                )
                out[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
            except grpc.RpcError as exc:
                out[name] = f"{exc.code().name}: {exc.details()}"
    return out


def cmd_health(args: argparse.Namespace) -> int:
    names = args.services or built_services()
    from covenant.grpc.connect import cli_targets

    targets = cli_targets()
    statuses = check_health({n: targets[n] for n in names}, timeout=args.timeout)
    for name, status in statuses.items():
        print(f"{name:<12} {targets[name]:<22} {status}")
    return 0 if statuses and all(s == "SERVING" for s in statuses.values()) else 1


def local_env(name: str, env: dict[str, str]) -> dict[str, str]:
    """The environment ``covenant up`` gives one service: it listens on its default port or the port of
    ``COVENANT_<NAME>_TARGET``, on loopback only unless ``COVENANT_LISTEN`` names another host (``up`` takes
    only its host: six services cannot share one port). ``up`` runs in dev auth, where a call without a
    token is the local admin from this machine only (``covenant.grpc.interceptors.is_local_peer``)."""
    child = dict(env)
    if name in SERVICES:
        target = env.get(f"COVENANT_{name.upper()}_TARGET") or SERVICES[name].default_target
        host = env.get("COVENANT_LISTEN", "").rsplit(":", 1)[0] or "127.0.0.1"
        child["COVENANT_LISTEN"] = f"{host}:{target.rsplit(':', 1)[-1]}"
    return child


def cmd_up(args: argparse.Namespace) -> int:
    names = args.services or built_services()
    if not names:
        print("no services are built yet", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env.setdefault("COVENANT_DATA_DIR", str(Path.cwd() / ".covenant"))
    env.setdefault("COVENANT_AUTH_MODE", "dev")
    env.setdefault("COVENANT_SECRETS_PROVIDER", "dev")
    env.setdefault("COVENANT_LOG_FORMAT", "text")
    data_dir = Path(env["COVENANT_DATA_DIR"])
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    if env.get("COVENANT_TLS_MODE", "off") != "off" and not env.get("COVENANT_TLS_CERT_FILE"):
        from covenant.grpc.pki import ensure_dev_pki

        # A local dev CA and a certificate per service (and the CLI) under <data dir>/tls.
        domain = env.get("COVENANT_TLS_TRUST_DOMAIN") or "covenant.local"
        tls_dir = Path(env.get("COVENANT_TLS_DIR") or data_dir / "tls")
        ensure_dev_pki(data_dir, [*names, "cli"], domain, tls_dir)
        print(f"TLS {env['COVENANT_TLS_MODE']}: dev CA and certificates in {tls_dir}")
    from covenant.secrets import provider_from_settings

    # Create the dev secrets file once, before six processes race for it.
    provider_from_settings(Settings.from_env("identity", env)).close()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with_console = not args.no_console and not args.services
    env.setdefault("COVENANT_CONSOLE_LISTEN", "127.0.0.1:8080")
    for name in [*names, "console"] if with_console else names:
        log_file = open(data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "covenant.cli", "serve", name],
            env=local_env(name, env),
            stdout=log_file,
            stderr=log_file,
        )
    settings = Settings.from_env(names[0], env)
    targets = {n: settings.targets[n] for n in names}
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    deadline = time.monotonic() + args.start_timeout
    statuses: dict[str, str] = {}
    while not stopping and time.monotonic() < deadline:
        statuses = check_health(targets, timeout=1.0, env=env)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead or all(s == "SERVING" for s in statuses.values()):
            break
        time.sleep(0.5)
    for name in names:
        print(f"{name:<12} {targets[name]:<22} {statuses.get(name, '?')}")
    dead = [n for n, p in procs.items() if p.poll() is not None]  # the console too: it has no health check
    ok = not dead and all(s == "SERVING" for s in statuses.values()) and len(statuses) == len(names)
    if ok:
        if with_console:
            print(f"console      http://{env['COVENANT_CONSOLE_LISTEN']}/")
        print(
            f"Covenant is up (data dir {data_dir}, logs in {data_dir / 'logs'}); Ctrl-C stops all services."
        )
        while not stopping and all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
    else:
        print(f"Covenant did not start; see {data_dir / 'logs'}", file=sys.stderr)
    for name, proc in procs.items():
        if proc.poll() is not None:  # why a child exited by itself is the last line of its log
            print(f"{name} exited ({proc.returncode}): {last_line(data_dir / 'logs' / f'{name}.log')}")
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for name, proc in procs.items():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"{name}: stopped (exit {proc.returncode})")
    return 0 if ok else 1


def last_line(path: Path) -> str:
    """The last non-empty line of a log file ("" when there is none)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def cmd_secrets_init(args: argparse.Namespace) -> int:
    """Pre-generate a complete dev-secrets file (service accounts, admin, signing key, field key)."""
    import json as _json

    from covenant.auth import generate_signing_key
    from covenant.secrets import DevSecretsProvider

    out = Path(args.out)
    provider = DevSecretsProvider(out.parent)
    for name in SERVICES:
        provider.get_secret(f"service-accounts/{name}")
    provider.get_secret("identity/bootstrap-admin")
    provider.get_secret("console/session")
    try:
        provider.get_secret("identity/signing-keys")
    except KeyError:
        kid, pem = generate_signing_key()
        key = {"kid": kid, "pem": pem, "created_at": time.time(), "retired_at": None}
        provider.put_secret("identity/signing-keys", {"keys": _json.dumps([key])})
    provider.encrypt("identity", b"warm-up")
    if provider.path != out:
        provider.path.replace(out)
    print(f"wrote {out} (mode 0600); create the Kubernetes Secret with:")
    print(f"  kubectl create secret generic covenant-secrets --from-file=dev-secrets.json={out}")
    return 0


def cmd_demo(argv: Sequence[str]) -> int:
    from covenant.demo.cli import main as demo_main

    return demo_main(list(argv))


def cmd_rules(argv: Sequence[str]) -> int:
    from covenant.rules.cli import main as rules_main

    return rules_main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="covenant", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run one service")
    p.add_argument("service", choices=[*SERVICES, "console"])
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("up", help="run every service locally")
    p.add_argument("services", nargs="*", help="default: every built service")
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--no-console", action="store_true", help="do not start the web console")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("migrate", help="run database migrations")
    p.add_argument("service", choices=[*SERVICES, "all"])
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("health", help="check every service's health")
    p.add_argument("services", nargs="*")
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(func=cmd_health)
    p = sub.add_parser("secrets", help="secrets helpers")
    secrets_sub = p.add_subparsers(dest="secrets_command", required=True)
    p = secrets_sub.add_parser("init", help="pre-generate a secrets file for clusters without Vault")
    p.add_argument("--out", default="dev-secrets.json")
    p.set_defaults(func=cmd_secrets_init)
    sub.add_parser("demo", help="a realistic week at a bank branch", add_help=False)
    sub.add_parser("rules", help="rule-pack lifecycle (see `covenant rules --help`)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "rules":
        return cmd_rules(argv[1:])
    if argv and argv[0] == "demo":
        return cmd_demo(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
