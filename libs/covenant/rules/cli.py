"""``covenant rules``: the rule-pack lifecycle from a terminal.

    covenant rules validate PACK|DIR ...         offline: schema, compile, action parameters, own tests,
                                                 and the rules no test fires [--output json]
                                                 [--require-coverage]; exit 0 ok, 1 invalid, 2 usage
    covenant rules test PACK|DIR ...             the same, listing every test case and what it fired
    covenant rules publish PACK.yaml [--activate]    (--activate only for packs that need no approval)
    covenant rules approval SERVICE PACK_ID VERSION  what an approver checks: approvals, diff, dry run
    covenant rules approve SERVICE PACK_ID VERSION [--comment TEXT]   (a person other than the author)
    covenant rules reject SERVICE PACK_ID VERSION --reason TEXT   (the same people; never activated after)
    covenant rules activate SERVICE PACK_ID VERSION [--at 2027-01-01T00:00:00+08:00]   (--at: scheduled)
    covenant rules rollback SERVICE PACK_ID VERSION
    covenant rules rollback SERVICE PACK_ID --emergency --reason TEXT   (to the last approved version)
    covenant rules history SERVICE PACK_ID
    covenant rules diff SERVICE PACK_ID FROM TO
    covenant rules dryrun PACK.yaml [--events FILE.jsonl]   (no --events: the service's recent events)
    covenant rules dryrun packs/ID/versions/V --service SERVICE [--events FILE.jsonl]

Events files are JSON lines: {"event": {"type": ..., "id": ..., <data fields>}, "facts": {...}}.

Remote commands call the service's RulePackService at --target (default: COVENANT_<SVC>_TARGET, else the
service's local port) with the bearer token from --token or COVENANT_TOKEN, over TLS/mTLS when
COVENANT_TLS_MODE says so, each call with --timeout seconds (default: the per-kind defaults).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc

from covenant.rules.engine import CompiledPack, run_pack_test_cases
from covenant.rules.pack import PackError, load_pack_yaml, parse_pack
from covenant.rules.vocabulary import ActionVocabulary
from covenant.services import service as service_info

ENVELOPE = ("id", "type", "subject", "org_unit", "source", "idempotency_key", "occurred_at")


def vocabulary_for(service: str) -> ActionVocabulary:
    try:
        return importlib.import_module(f"services.{service}.actions").VOCABULARY
    except ModuleNotFoundError:
        raise SystemExit(
            f"no action vocabulary for service {service!r} (services/{service}/actions.py)"
        ) from None


def _load(path: str) -> tuple[str, str]:
    text = Path(path).read_text()
    try:  # bounded: no alias expansion, no deep recursion (see covenant.rules.bounds)
        service = str((load_pack_yaml(text) or {}).get("service", ""))
    except Exception:  # parse_pack reports the problem with its line
        service = ""
    return text, service


@dataclass
class PackReport:
    """One pack file checked offline: problems, test results, and which rules the tests never fired."""

    path: str
    pack_id: str = ""
    version: str = ""
    content_hash: str = ""
    rules: int = 0
    problems: list[str] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    never_fired: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(t["passed"] for t in self.tests)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def pack_files(paths: Sequence[str]) -> list[Path]:
    """The pack files named, directories searched for ``*.yaml``/``*.yml`` (sorted); a missing path is a
    usage error (exit 2)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(raw)
    return out


def check_pack(path: Path) -> PackReport:
    """Schema, vocabulary, compile, the pack's own tests and their rule coverage, without a server."""
    report = PackReport(str(path))
    try:
        text, service = _load(str(path))
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"cannot read: {exc}")
        return report
    try:
        vocabulary = vocabulary_for(service) if service else None
    except SystemExit as exc:
        report.problems.append(str(exc))
        return report
    try:
        pack = parse_pack(text, vocabulary)
        results = run_pack_test_cases(CompiledPack(pack, vocabulary))
    except PackError as exc:
        report.problems += list(exc.problems)
        return report
    report.pack_id, report.version, report.content_hash = pack.id, pack.version, pack.content_hash
    report.rules = len(pack.rules)
    fired = set()
    for r in results:
        fired |= {a.rule_id for a in r.fired}
        report.tests.append(
            {
                "name": r.name,
                "line": r.line,
                "passed": r.passed,
                "message": r.message,
                "fired": [{"rule": a.rule_id, "action": a.action} for a in r.fired],
            }
        )
    report.never_fired = [rule.id for rule in pack.rules if rule.id not in fired]
    report.warnings = list(vocabulary.warnings(pack)) if vocabulary else []
    return report


def cmd_validate(args: argparse.Namespace, verbose: bool = False) -> int:
    """Offline checks of every pack named (files or directories). Exit codes: 0 every pack valid and its
    tests passed (and, with ``--require-coverage``, every rule fired by some test); 1 a pack is invalid, a
    test failed or coverage is missing; 2 a path does not exist (or the command line is wrong)."""
    try:
        files = pack_files(args.packs)
    except FileNotFoundError as exc:
        print(f"covenant rules: no such file or directory: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("covenant rules: no pack files found", file=sys.stderr)
        return 2
    reports = [check_pack(f) for f in files]
    uncovered = bool(args.require_coverage) and any(r.never_fired for r in reports)
    failed = any(not r.ok for r in reports) or uncovered
    if args.output == "json":
        print(
            json.dumps(
                {"ok": not failed, "packs": [r.as_json() for r in reports]}, ensure_ascii=False, indent=2
            )
        )
        return 1 if failed else 0
    for r in reports:
        for problem in r.problems:
            print(f"{r.path}: {problem}", file=sys.stderr)
        for t in r.tests:
            if verbose:
                print(f"{'ok' if t['passed'] else 'FAIL':4} {t['name']} (line {t['line']})")
                for a in t["fired"]:
                    print(f"       {a['rule']} -> {a['action']}")
            if not t["passed"]:
                print(f"{r.path}: test {t['name']!r} (line {t['line']}): {t['message']}", file=sys.stderr)
        for warning in r.warnings:
            print(f"{r.path}: WARNING: {warning}", file=sys.stderr)
        if r.problems:
            continue
        passed = sum(t["passed"] for t in r.tests)
        state = "valid" if r.ok else "INVALID"
        print(
            f"{r.pack_id}@{r.version} {state}: {r.rules} rules, "
            f"{passed}/{len(r.tests)} tests passed ({r.path})"
        )
        if r.never_fired:
            label = "ERROR" if args.require_coverage else "note"
            print(f"  {label}: rules no test fires: {', '.join(r.never_fired)}")
        print(f"  content hash {r.content_hash}")
    if len(reports) > 1:
        print(f"{sum(r.ok for r in reports)}/{len(reports)} packs valid")
    return 1 if failed else 0


def _stub(args: argparse.Namespace, service: str):  # type: ignore[no-untyped-def]
    from covenant.grpc.connect import cli_channel
    from covenant.rules.v1 import rule_pack_service_pb2_grpc

    service_info(service)  # unknown service names fail here
    token = args.token or os.environ.get("COVENANT_TOKEN", "")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    channel = cli_channel(service, args.target or None, timeout=getattr(args, "timeout", None))
    return rule_pack_service_pb2_grpc.RulePackServiceStub(channel), metadata


def _remote(fn):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except grpc.RpcError as exc:
            from covenant.grpc.connect import describe_rpc_error

            print(describe_rpc_error(exc), file=sys.stderr)
            return 1

    return run


@_remote
def cmd_publish(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    text, service = _load(args.pack)
    stub, md = _stub(args, args.service or service)
    v = stub.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=text, activate=args.activate, request_id=str(uuid.uuid4())),
        metadata=md,
    )
    print(f"published {v.name} {v.content_hash} by {v.author}{' (active)' if v.active else ''}")
    return 0


@_remote
def cmd_activate(args: argparse.Namespace) -> int:
    from google.protobuf.timestamp_pb2 import Timestamp

    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    stub, md = _stub(args, args.service)
    request = pb.ActivateRulePackVersionRequest(
        name=f"packs/{args.pack_id}/versions/{args.version}", request_id=str(uuid.uuid4())
    )
    if args.at:
        at = Timestamp()
        try:
            at.FromJsonString(args.at)
        except ValueError:
            print(f"--at {args.at!r} is not an RFC 3339 time (2027-01-01T00:00:00+08:00)", file=sys.stderr)
            return 2
        request.effective_time.CopyFrom(at)
    v = stub.ActivateRulePackVersion(request, metadata=md)
    if args.at:
        print(f"scheduled: {v.name} at {args.at} (every replica switches at that instant)")
    else:
        print(f"active: {v.name}")
    return 0


@_remote
def cmd_rollback(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    if not args.version and not args.emergency:
        print("give VERSION, or --emergency --reason TEXT for the last approved version", file=sys.stderr)
        return 2
    stub, md = _stub(args, args.service)
    v = stub.RollbackRulePack(
        pb.RollbackRulePackRequest(
            pack_id=args.pack_id,
            to_version=args.version or "",
            request_id=str(uuid.uuid4()),
            emergency=args.emergency,
            reason=args.reason,
        ),
        metadata=md,
    )
    print(f"{'emergency ' if args.emergency else ''}rolled back; active: {v.name}")
    return 0


def _print_approval(a) -> None:  # type: ignore[no-untyped-def]
    """An ApprovalRequest: the version, approvals, the diff against the active version, the dry run."""
    v = a.version
    who = ", ".join(x.approver for x in a.approvals) or "none"
    state = "ready to activate" if a.ready else "waiting for approval"
    if v.HasField("rejection"):
        r = v.rejection
        state = f"rejected by {r.rejected_by}: {r.reason}"
    print(f"{v.name} by {v.author} ({v.content_hash}); active now: {a.active_version or 'none'}")
    print(f"approvals {len(a.approvals)} of {a.approvals_required} needed: {who} -> {state}")
    if a.HasField("diff"):
        print(a.diff.unified_diff, end="")
        d = a.diff
        added, removed, changed = list(d.added_rules), list(d.removed_rules), list(d.changed_rules)
        print(f"rules added {added}, removed {removed}, changed {changed}")
    if a.HasField("dry_run"):
        for r in a.dry_run.results:
            if r.changed:
                now = [f"{x.rule_id}→{x.action}" for x in r.active_actions]
                cand = [f"{x.rule_id}→{x.action}" for x in r.candidate_actions]
                print(f"{r.event_type} {r.event_id}: active {now} | candidate {cand} {r.error}")
        print(f"{a.dry_run.changed} of {a.dry_run.events} recent events in your scope would change")


@_remote
def cmd_approval(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    stub, md = _stub(args, args.service)
    name = f"packs/{args.pack_id}/versions/{args.version}"
    _print_approval(stub.GetApprovalRequest(pb.GetApprovalRequestRequest(name=name), metadata=md))
    return 0


@_remote
def cmd_approve(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    request = pb.ApproveRulePackVersionRequest(comment=args.comment)
    return _decide(args, "ApproveRulePackVersion", request, "approved")


@_remote
def cmd_reject(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    if not args.reason.strip():
        print("--reason is required: say why the version is rejected", file=sys.stderr)
        return 2
    return _decide(
        args, "RejectRulePackVersion", pb.RejectRulePackVersionRequest(reason=args.reason), "rejected"
    )


def _decide(args: argparse.Namespace, method: str, request: Any, done: str) -> int:
    """A checker's decision (``request`` with its comment or reason) on ``args``' version, printed."""
    stub, md = _stub(args, args.service)
    request.name, request.request_id = f"packs/{args.pack_id}/versions/{args.version}", str(uuid.uuid4())
    a = getattr(stub, method)(request, metadata=md)
    print(f"{done} {request.name}")
    _print_approval(a)
    return 0


@_remote
def cmd_history(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    stub, md = _stub(args, args.service)
    resp = stub.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id=args.pack_id, page_size=100), metadata=md
    )
    for v in resp.versions:
        mark = "*" if v.active else " "
        line = f"{mark} {v.version:<16} {v.create_time.ToJsonString():<28} {v.author:<28} {v.content_hash}"
        if v.HasField("rejection"):
            line += f"  rejected by {v.rejection.rejected_by}: {v.rejection.reason}"
        print(line)
    if resp.versions:
        print(f"approvals needed before activation: {resp.versions[0].approvals_required}")
    return 0


@_remote
def cmd_diff(args: argparse.Namespace) -> int:
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    stub, md = _stub(args, args.service)
    d = stub.DiffRulePackVersions(
        pb.DiffRulePackVersionsRequest(
            pack_id=args.pack_id, from_version=args.from_version, to_version=args.to_version
        ),
        metadata=md,
    )
    print(d.unified_diff, end="")
    print(
        f"rules added {list(d.added_rules)}, removed {list(d.removed_rules)}, changed {list(d.changed_rules)}"
    )
    return 0


@_remote
def cmd_dryrun(args: argparse.Namespace) -> int:
    from google.protobuf.json_format import ParseDict

    from covenant.events.v1.event_pb2 import Event
    from covenant.rules.v1 import rule_pack_service_pb2 as pb

    if args.pack.startswith("packs/"):
        if not args.service:
            print("--service is needed with a published version", file=sys.stderr)
            return 2
        request = pb.DryRunRulePackRequest(candidate_version=args.pack)
        service = args.service
    else:
        text, service = _load(args.pack)
        request = pb.DryRunRulePackRequest(candidate_yaml=text)
    stub, md = _stub(args, args.service or service)
    inputs = []
    if args.events:
        for line in Path(args.events).read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                fields = dict(item["event"])
                event = Event(
                    **{k: str(fields.pop(k)) for k in ENVELOPE if k in fields and k != "occurred_at"}
                )
                if "occurred_at" in fields:
                    event.occurred_at.FromJsonString(str(fields.pop("occurred_at")))
                event.data.update(fields)
                dr = pb.DryRunInput(event=event)
                ParseDict(item.get("facts", {}), dr.facts)
                inputs.append(dr)
    request.inputs.extend(inputs)
    resp = stub.DryRunRulePack(request, metadata=md)
    for r in resp.results:
        if r.changed:
            now = [f"{a.rule_id}→{a.action}" for a in r.active_actions]
            cand = [f"{a.rule_id}→{a.action}" for a in r.candidate_actions]
            print(f"{r.event_type} {r.event_id}: active {now} | candidate {cand} {r.error}")
    print(f"{resp.changed} of {resp.events} events would change")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="covenant rules", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--target", default="", help="host:port of the service (default: its local port)")
    p.add_argument("--token", default="", help="bearer token (default: $COVENANT_TOKEN)")
    p.add_argument("--timeout", type=float, default=None, help="deadline of each call in seconds")
    remote = argparse.ArgumentParser(add_help=False)  # the same options after the command
    remote.add_argument("--target", default=argparse.SUPPRESS, help="host:port of the service")
    remote.add_argument("--token", default=argparse.SUPPRESS, help="bearer token (default: $COVENANT_TOKEN)")
    remote.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="call deadline, seconds")
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn in (("validate", cmd_validate), ("test", lambda a: cmd_validate(a, verbose=True))):
        s = sub.add_parser(
            name,
            help="offline checks of pack files or directories (exit 0 ok, 1 invalid/failing, 2 usage)",
        )
        s.add_argument("packs", nargs="+", metavar="PACK", help="pack files or directories of them")
        s.add_argument("--output", choices=("text", "json"), default="text")
        s.add_argument(
            "--require-coverage", action="store_true", help="fail when a rule is fired by none of the tests"
        )
        s.set_defaults(func=fn)
    s = sub.add_parser("publish", parents=[remote])
    s.add_argument("pack")
    s.add_argument("--activate", action="store_true")
    s.add_argument("--service", default="")
    s.set_defaults(func=cmd_publish)
    for name, fn in (
        ("activate", cmd_activate),
        ("approval", cmd_approval),
        ("approve", cmd_approve),
        ("reject", cmd_reject),
    ):
        s = sub.add_parser(name, parents=[remote])
        s.add_argument("service")
        s.add_argument("pack_id")
        s.add_argument("version")
        s.set_defaults(func=fn)
        if name == "activate":
            s.add_argument("--at", default="", help="scheduled activation instant (RFC 3339)")
        if name == "approve":
            s.add_argument("--comment", default="")
        if name == "reject":
            s.add_argument("--reason", default="", help="why (required; the author and the audit see it)")
    s = sub.add_parser("rollback", parents=[remote])
    s.add_argument("service")
    s.add_argument("pack_id")
    s.add_argument("version", nargs="?", default="")
    s.add_argument("--emergency", action="store_true", help="one person, to the last approved version")
    s.add_argument("--reason", default="", help="why (required with --emergency; audited)")
    s.set_defaults(func=cmd_rollback)
    s = sub.add_parser("history", parents=[remote])
    s.add_argument("service")
    s.add_argument("pack_id")
    s.set_defaults(func=cmd_history)
    s = sub.add_parser("diff", parents=[remote])
    s.add_argument("service")
    s.add_argument("pack_id")
    s.add_argument("from_version")
    s.add_argument("to_version")
    s.set_defaults(func=cmd_diff)
    s = sub.add_parser("dryrun", parents=[remote])
    s.add_argument("pack")
    s.add_argument("--events", default="", help='JSON lines: {"event": {...}, "facts": {...}}')
    s.add_argument("--service", default="")
    s.set_defaults(func=cmd_dryrun)
    return p


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.func(args))
