"""Compliance use cases: scanning, screening, behaviour rules and cases.

Phrase lists, categories, severities, negation cues, homophones, safe phrases, screening thresholds and
retention are parameters of the active compliance pack; whether and how a finding becomes a case is a
rule decision (``open_case``). Every alert joins the case of its employee + rule + window or opens one;
behaviour rules see derived facts kept in the database (client activity, contacts, dwell anomalies),
evaluated on events and by the scheduler. Every scan decision and case transition is written to the
hash-chained audit log; case events (case_opened, case_updated, alert_raised) go out through the outbox
in the same transaction.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize, forbid_self, scope_filter
from covenant.auth.directory import Directory, forbid_line
from covenant.calendar import BusinessCalendar
from covenant.db import idempotency
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import InvalidArgument, NotFound
from covenant.rules.lifecycle import AUDIT_STREAM as RULES_AUDIT_STREAM
from covenant.timestamps import as_utc as _utc
from services.compliance.domain.cases import check_transition
from services.compliance.domain.excerpt import excerpt
from services.compliance.domain.feedback import CaseView, PhraseNoise, phrase_noise
from services.compliance.domain.screening import Match, Watchlists
from services.compliance.domain.text import Hit, Phrase, PhraseScanner
from services.compliance.ports import ComplianceStore
from services.compliance.storage import SqlComplianceStore

SOURCE = "compliance"
SLA_HOURS = {"low": 72, "medium": 24, "high": 8, "critical": 2}
ACTIVITY_KINDS = ("opened", "follow_up", "closed", "contact")
AUDIT_STREAMS = ("compliance", RULES_AUDIT_STREAM)
WATCHLIST_SKEW = timedelta(minutes=5)  # replicas' clocks and in-flight loads
SCAN_PARAMETERS = (
    "phrases",
    "negation_cues",
    "negation_window",
    "negation_exceptions",
    "safe_phrases",
    "negation_after_cues",
    "negation_after_window",
)


def _excerpt_fields(text: str, start: int, end: int) -> dict[str, object]:
    window, s, e = excerpt(text, start, end)
    return {"excerpt": window, "excerpt_span": [s, e]}


@dataclass(frozen=True)
class TextIn:
    text_id: str
    employee_id: str
    org_unit: str
    channel: str
    text: str
    occurred_at: datetime
    client_id: str = ""


@dataclass(frozen=True)
class ScanOutcome:
    hits: list[Hit]
    cases: list[str]
    pack_id: str
    pack_version: str


SCREENING_STATUSES = ("OPEN",)  # a stored hit is open; clearing hits is not built yet


class ComplianceService:
    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "Asia/Shanghai",
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[ComplianceStore]] | None = None,
    ) -> None:
        """``stores`` opens one unit of work as a ``ComplianceStore`` (default: a SQL session of ``db``);
        every use case goes through it (event consumers through ``store`` over the inbox's session)."""
        self.db = db
        self.rules = rules
        # Org units of the employees written about come from the directory, not the request (None: the
        # request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tz = ZoneInfo(timezone)
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("compliance")
        self._scanner: tuple[Any, PhraseScanner] | None = None
        self._watchlists: Watchlists | None = None
        self._watch_ids: set[str] = set()
        self._watch_seen_at: datetime | None = None
        self._lock = threading.Lock()
        self.stores = stores or self._sql_store

    @contextmanager
    def _sql_store(self) -> Iterator[ComplianceStore]:
        with self.db.session() as session:
            yield self.store(session)

    def store(self, session: Session) -> SqlComplianceStore:
        """The storage port over the caller's session."""
        return SqlComplianceStore(session, self.outbox, self.audit, SOURCE)

    def local_date(self, at: datetime) -> date:
        return _utc(at).astimezone(self.tz).date()

    def window_key(self, window: str, at: datetime) -> str:
        day = self.local_date(at)
        if window == "week":
            y, w, _ = day.isocalendar()
            return f"{y}-W{w:02d}"
        if window == "month":
            return day.strftime("%Y-%m")
        return day.isoformat()

    def _midnight(self, day: date) -> datetime:
        """The start of local ``day``."""
        return datetime.combine(day, datetime.min.time(), self.tz)

    def calendar(self, packs: Sequence[Any] | None = None) -> BusinessCalendar:
        """The pack's business calendar: "a day" in the behaviour rules is one of its working days."""
        config = self.rules.parameter("business_calendar", default={"official": "cn"}, packs=packs) or {}
        return BusinessCalendar.from_config({"timezone": str(self.tz), **dict(config)})

    # -- pack-driven scanner -----------------------------------------------------------------
    def scanner(self, packs: Sequence[Any] | None = None) -> tuple[PhraseScanner, str, str]:
        """The scanner for ``packs`` (a snapshot; None: the active packs now), rebuilt when the pack
        providing the phrases changes. Its phrases and the version it reports come from the same set."""
        packs = self.rules.snapshot() if packs is None else packs
        source = tuple(
            self.rules.parameter_source(name, packs=packs) for name in (*SCAN_PARAMETERS, "homophones")
        )
        cached = self._scanner
        if cached is None or cached[0] != source:

            def p(name: str, default: Any) -> Any:
                return self.rules.parameter(name, default=default, packs=packs)

            scanner = PhraseScanner(
                [Phrase(x["phrase"], x["category"], x["severity"]) for x in p("phrases", default=[])],
                negation_cues=p("negation_cues", default=[]),
                negation_window=int(p("negation_window", default=4)),
                negation_exceptions=p("negation_exceptions", default=[]),
                safe_phrases=p("safe_phrases", default=[]),
                homophones=p("homophones", default={}),
                negation_after_cues=p("negation_after_cues", default=[]),
                negation_after_window=int(p("negation_after_window", default=6)),
            )
            cached = self._scanner = (source, scanner)
        pack_id, version = source[0]
        return cached[1], pack_id, version

    # -- rules → cases -----------------------------------------------------------------------
    def _fire(
        self,
        store: ComplianceStore,
        event: Mapping[str, Any],
        facts: Mapping[str, Any],
        *,
        employee_id: str,
        org_unit: str,
        at: datetime,
        evidence: dict[str, Any],
        evidence_key: str,
        category: str = "",
        packs: Sequence[Any] | None = None,
    ) -> list[str]:
        """Evaluate the pack (``packs``: the decision's snapshot) for one finding; every ``open_case``
        opens or joins a case."""
        cases: list[str] = []
        for a in self.rules.evaluate(dict(event), dict(facts), packs=packs):
            if a.action != "open_case":
                continue
            case_id = self._open_case(
                store,
                employee_id=employee_id,
                org_unit=org_unit,
                rule_id=a.rule_id,
                category=str(a.params.get("category", category or event.get("category", "other"))),
                severity=str(a.params["severity"]),
                window=str(a.params.get("window", "day")),
                at=at,
                evidence={**evidence, "key": evidence_key},
                pack_id=a.pack_id,
                pack_version=a.pack_version,
                sla_hours=a.params.get("sla_hours"),
            )
            if f"cases/{case_id}" not in cases:
                cases.append(f"cases/{case_id}")
        return cases

    def _open_case(
        self,
        store: ComplianceStore,
        *,
        employee_id: str,
        org_unit: str,
        rule_id: str,
        category: str,
        severity: str,
        window: str,
        at: datetime,
        evidence: dict[str, Any],
        pack_id: str,
        pack_version: str,
        sla_hours: int | None = None,
    ) -> str:
        """Join the case of employee + rule + window (once per evidence key) or open one."""
        key = self.window_key(window, at)
        now = self.clock()
        row = store.case_in_window(employee_id, rule_id, key)
        if row is not None:
            case_id = row.id
            ev = json.loads(row.evidence_json)
            items = ev.setdefault("items", [])
            if any(i.get("key") == evidence["key"] for i in items):
                return case_id  # the same finding again (re-evaluation): nothing new
            items.append(evidence)
            store.update_case(
                case_id,
                {
                    "evidence_json": json.dumps(ev, ensure_ascii=False),
                    "occurrences": row.occurrences + 1,
                    "updated_at": now,
                },
            )
        else:
            case_id = uuid.uuid4().hex[:16]
            store.add_case(
                dict(
                    id=case_id,
                    employee_id=employee_id,
                    org_unit=org_unit,
                    rule_id=rule_id,
                    window_key=key,
                    category=category,
                    severity=severity,
                    state="OPEN",
                    owner="",
                    opened_at=now,
                    updated_at=now,
                    sla_due_at=now + timedelta(hours=int(sla_hours or SLA_HOURS.get(severity, 24))),
                    evidence_json=json.dumps({"items": [evidence]}, ensure_ascii=False),
                    comments_json="[]",
                    pack_id=pack_id,
                    pack_version=pack_version,
                    occurrences=1,
                )
            )
            store.audit(
                actor="compliance",
                action="case.opened",
                subject=f"cases/{case_id}",
                data={"employee_id": employee_id, "rule_id": rule_id, "severity": severity, "window": key},
            )
        data = {
            "employee_id": employee_id,
            "case": f"cases/{case_id}",
            "rule_id": rule_id,
            "category": category,
            "severity": severity,
            "pack_id": pack_id,
            "pack_version": pack_version,
        }
        if row is None:
            self._emit(store, "compliance.case_opened", employee_id, org_unit, data, case_id)
        self._emit(
            store,
            "compliance.alert_raised",
            employee_id,
            org_unit,
            {**data, "evidence_key": evidence["key"]},
            f"{case_id}:{evidence['key']}",
        )
        return case_id

    def _emit(
        self,
        store: ComplianceStore,
        kind: str,
        employee_id: str,
        org_unit: str,
        data: dict[str, Any],
        key: str,
    ) -> None:
        store.emit(
            new_event(
                kind,
                source=SOURCE,
                subject=f"employees/{employee_id}",
                org_unit=org_unit,
                data=data,
                idempotency_key=f"{kind}:{key}",
            ),
        )

    # -- scanning ----------------------------------------------------------------------------
    def _unit(self, employee_id: str, claimed: str, field: str = "") -> str:
        """The employee's org unit per the directory (a different ``claimed`` one is refused)."""
        if self.directory is None:
            return claimed
        return self.directory.resolve(employee_id, org_unit=claimed, field=field).org_unit

    def _validate_texts(
        self, principal: Principal, texts: Sequence[TextIn], prefix: str | None = "texts"
    ) -> list[TextIn]:
        """``texts`` with each employee's org unit from the directory, all authorized (``prefix`` None: a
        single text whose fields are top-level)."""

        def where(i: int) -> str:
            return f"{prefix}[{i}]" if prefix == "texts" else (prefix or "")

        def name_of(i: int, name: str) -> str:
            return f"{where(i)}.{name}" if where(i) else name

        for i, x in enumerate(texts):
            for name in ("text_id", "employee_id"):
                if not getattr(x, name):
                    raise InvalidArgument("is required", field=name_of(i, name))
        seen: set[str] = set()
        for i, x in enumerate(texts):
            if x.text_id in seen:
                raise InvalidArgument("appears twice in the batch", field=name_of(i, "text_id"))
            seen.add(x.text_id)
        authorize(principal, "compliance.texts.scan")  # before the directory says anything about anyone
        out = []
        for i, x in enumerate(texts):
            x = replace(x, org_unit=self._unit(x.employee_id, x.org_unit, where(i)))
            authorize(principal, "compliance.texts.scan", DataOwner(x.employee_id, x.org_unit))
            out.append(x)
        return out

    def scan(
        self, principal: Principal, texts: Sequence[TextIn], *, single: bool = False
    ) -> list[ScanOutcome]:
        """Scan texts (validated whole first); a text id scanned before returns its recorded outcome.
        ``single``: one ``ScanText`` request, whose fields are named without a ``texts[i]`` prefix."""
        if not texts:
            raise InvalidArgument("at least one text is required", field="texts")
        texts = self._validate_texts(principal, texts, None if single else "texts")
        packs = self.rules.snapshot()  # phrases, case rules and the recorded version: one pack set
        scanner, pack_id, version = self.scanner(packs)
        results = []
        with self.stores() as store:
            for x in texts:
                done = store.scan_result(x.text_id)
                if done is not None:
                    saved = json.loads(done)
                    hits = [Hit(**h) for h in saved["hits"]]
                    results.append(ScanOutcome(hits, saved["cases"], saved["pack_id"], saved["pack_version"]))
                    continue
                hits = scanner.scan(x.text)
                cases = self._record_hits(store, x, hits, pack_id, version, packs)
                cases += self._visit_note_rules(store, x, packs)
                self._record_scan(store, principal, x, hits, cases, pack_id, version)
                results.append(ScanOutcome(hits, cases, pack_id, version))
        return results

    def _record_hits(
        self,
        store: ComplianceStore,
        x: TextIn,
        hits: Iterable[Hit],
        pack_id: str,
        version: str,
        packs: Sequence[Any] | None = None,
    ) -> list[str]:
        cases: list[str] = []
        for h in hits:
            event = {
                "type": "compliance.phrase_hit",
                "category": h.category,
                "severity": h.severity,
                "channel": x.channel,
            }
            evidence = {
                "text_id": x.text_id,
                "channel": x.channel,
                "phrase": h.phrase,
                "category": h.category,
                "span": [h.start, h.end],
                "matched_text": h.matched_text,
                **_excerpt_fields(x.text, h.start, h.end),
                "matched_by": h.matched_by,
                "scan_pack": f"{pack_id}@{version}",
            }
            if x.client_id:
                evidence["client_id"] = x.client_id
            for c in self._fire(
                store,
                event,
                {},
                employee_id=x.employee_id,
                org_unit=x.org_unit,
                at=x.occurred_at,
                evidence=evidence,
                evidence_key=f"{x.text_id}:{h.start}",
                category=h.category,
                packs=packs,
            ):
                if c not in cases:
                    cases.append(c)
        return cases

    def _record_scan(
        self,
        store: ComplianceStore,
        principal: Principal,
        x: TextIn,
        hits: Sequence[Hit],
        cases: Sequence[str],
        pack_id: str,
        version: str,
    ) -> None:
        outcome = {
            "hits": [h.__dict__ for h in hits],
            "cases": list(cases),
            "pack_id": pack_id,
            "pack_version": version,
        }
        store.save_scan(
            text_id=x.text_id,
            employee_id=x.employee_id,
            scanned_at=self.clock(),
            result_json=json.dumps(outcome, ensure_ascii=False),
        )
        store.audit(
            actor=principal.subject,
            action="text.scanned",
            subject=f"texts/{x.text_id}",
            data={
                "employee_id": x.employee_id,
                "channel": x.channel,
                "decision": "violation" if hits else "clean",
                "hits": [[h.phrase, h.start, h.end] for h in hits],
                "cases": list(cases),
                "pack": f"{pack_id}@{version}",
            },
        )

    def stream_scan(
        self, principal: Principal, header: TextIn, chunks: Iterable[str]
    ) -> Iterator[ScanOutcome]:
        """A live transcript: yields each batch of hits as soon as it is final (cases opened as it goes);
        the whole transcript is recorded under ``header.text_id`` when the stream ends."""
        (header,) = self._validate_texts(principal, [header], prefix="header")
        with self.stores() as store:
            if store.scan_result(header.text_id) is not None:
                raise InvalidArgument("this transcript was already scanned", field="header.text_id")
        packs = self.rules.snapshot()  # the whole transcript is judged on one pack set
        scanner, pack_id, version = self.scanner(packs)
        stream = scanner.stream()
        all_hits: list[Hit] = []
        all_cases: list[str] = []

        def record(hits: list[Hit]) -> ScanOutcome | None:
            if not hits:
                return None
            with self.stores() as store:
                cases = self._record_hits(store, header, hits, pack_id, version, packs)
            all_hits.extend(hits)
            all_cases.extend(c for c in cases if c not in all_cases)
            return ScanOutcome(hits, cases, pack_id, version)

        for chunk in chunks:
            out = record(stream.feed(chunk))
            if out:
                yield out
        out = record(stream.finish())
        if out:
            yield out
        x = TextIn(**{**header.__dict__, "text": stream.transcript})
        with self.stores() as store:
            self._record_scan(store, principal, x, all_hits, all_cases, pack_id, version)

    # -- screening ---------------------------------------------------------------------------
    def watchlists(self) -> Watchlists:
        """The in-memory index of all entries; entries loaded since (by any replica) are added on the next
        look (a count per call tells whether anything is new)."""
        with self._lock, self.stores() as store:
            total = store.watchlist_count()
            lists = self._watchlists
            if lists is not None and len(lists) == total:
                return lists
            since = None
            if lists is not None and self._watch_seen_at is not None:
                since = self._watch_seen_at - WATCHLIST_SKEW
            rows = store.watchlist_entries(since)
            if lists is None:
                lists, self._watch_ids = Watchlists(), set()
            for r in rows:
                if r.id not in self._watch_ids:
                    self._watch_ids.add(r.id)
                    lists.add(r.id, r.list_name, r.name)
                if r.loaded_at is not None:
                    at = _utc(r.loaded_at)
                    self._watch_seen_at = max(self._watch_seen_at or at, at)
            if len(lists) != total:  # rows without a usable load time: rebuild once
                self._watchlists, self._watch_seen_at = None, None
                rows = store.watchlist_entries()
                lists = Watchlists((r.id, r.list_name, r.name) for r in rows)
                self._watch_ids = {r.id for r in rows}
            self._watchlists = lists
            return lists

    def load_watchlist(
        self, principal: Principal, entries: Sequence[tuple[str, str, str]]
    ) -> tuple[int, int]:
        """Add entries (validated whole; ids already loaded are skipped). Returns (added, total)."""
        authorize(principal, "compliance.watchlists.write")
        if not entries:
            raise InvalidArgument("at least one entry is required", field="entries")
        for i, (eid, list_name, name) in enumerate(entries):
            for field, value in (("id", eid), ("list_name", list_name), ("name", name.strip())):
                if not value:
                    raise InvalidArgument("is required", field=f"entries[{i}].{field}")
        with self.stores() as store:
            existing = store.watchlist_ids([e[0] for e in entries])
            new, seen = [], set(existing)
            for eid, list_name, name in entries:
                if eid not in seen:
                    seen.add(eid)
                    new.append(
                        {"id": eid, "list_name": list_name, "name": name.strip(), "loaded_at": self.clock()}
                    )
            store.add_watchlist(new)
            total = store.watchlist_count()
            store.audit(
                actor=principal.subject,
                action="watchlist.loaded",
                subject="watchlists",
                data={"added": len(new), "lists": sorted({e["list_name"] for e in new})},
            )
        return len(new), total

    def _thresholds(self) -> tuple[dict[str, float], float]:
        packs = self.rules.snapshot()
        raw = self.rules.parameter("screening_thresholds", default={}, packs=packs) or {}
        return {k: float(v) for k, v in raw.items()}, float(
            self.rules.parameter("screening_default_threshold", default=85, packs=packs)
        )

    def screen(self, principal: Principal, names: Sequence[str]) -> list[list[Match]]:
        authorize(principal, "compliance.names.screen")
        if not names:
            raise InvalidArgument("at least one name is required", field="names")
        for i, n in enumerate(names):
            if not n.strip():
                raise InvalidArgument("is empty", field=f"names[{i}]")
        thresholds, default = self._thresholds()
        lists = self.watchlists()
        return [lists.screen(n, thresholds, default) for n in names]

    # -- behaviour facts and rules -----------------------------------------------------------
    def record_activity(
        self,
        principal: Principal,
        employee_id: str,
        org_unit: str,
        client_id: str,
        kind: str,
        at: datetime,
        *,
        client_name: str = "",
        activity_id: str = "",
    ) -> list[str]:
        """A client lifecycle fact (opened / follow_up / closed) or a contact; returns cases it touched."""
        for name, value in (("employee_id", employee_id), ("client_id", client_id)):
            if not value:
                raise InvalidArgument("is required", field=name)
        if kind not in ACTIVITY_KINDS:
            raise InvalidArgument(f"must be one of {', '.join(ACTIVITY_KINDS)}", field="kind")
        authorize(principal, "compliance.activity.write")  # before the directory says anything about anyone
        org_unit = self._unit(employee_id, org_unit)
        authorize(principal, "compliance.activity.write", DataOwner(employee_id, org_unit))
        matches = None
        if kind == "contact" and client_name.strip():  # screened before the unit of work starts
            thresholds, default = self._thresholds()
            matches = self.watchlists().screen(client_name, thresholds, default)
        fp = idempotency.fingerprint(employee_id, org_unit, client_id, kind, at, client_name)
        with self.stores() as store:
            if store.replayed("RecordClientActivity", activity_id, fingerprint=fp) is not None:
                return []
            self._remember(store, "RecordClientActivity", activity_id, {}, fp)
            if kind == "contact":
                contact_id = activity_id or uuid.uuid4().hex
                if matches is not None:
                    self._classify_client(store, client_id, matches)
                    self._store_hits(
                        store, contact_id, employee_id, org_unit, client_id, client_name, at, matches
                    )
                return self.record_contact(store, employee_id, org_unit, client_id, at, contact_id)
            row = store.client_activity(employee_id, client_id)
            if row is None:
                store.add_client_activity(
                    dict(
                        employee_id=employee_id,
                        client_id=client_id,
                        org_unit=org_unit,
                        open=int(kind != "closed"),
                        opened_at=at,
                        last_follow_up_at=at if kind == "follow_up" else None,
                    )
                )
            elif kind == "follow_up":
                store.update_client_activity(employee_id, client_id, {"last_follow_up_at": at})
            else:
                store.update_client_activity(
                    employee_id,
                    client_id,
                    {"open": int(kind == "opened"), **({"opened_at": at} if kind == "opened" else {})},
                )
        return []

    def _classify_client(self, store: ComplianceStore, client_id: str, matches: Sequence[Match]) -> None:
        """A client whose name matched a watchlist is high-risk (the matches are the reason)."""
        reason = "; ".join(f"{m.list_name}:{m.entry_id}:{m.score}" for m in matches[:3])
        store.save_client_risk(
            client_id, {"high_risk": int(bool(matches)), "reason": reason, "updated_at": self.clock()}
        )

    def _store_hits(
        self,
        store: ComplianceStore,
        activity_id: str,
        employee_id: str,
        org_unit: str,
        client_id: str,
        client_name: str,
        at: datetime,
        matches: Sequence[Match],
    ) -> None:
        """Keep each watchlist match of a contact's client name, with its explanation (the features)."""
        for m in matches:
            store.add_screening_hit(
                dict(
                    activity_id=activity_id,
                    employee_id=employee_id,
                    org_unit=org_unit.rstrip("/"),
                    client_id=client_id,
                    client_name=client_name.strip(),
                    entry_id=m.entry_id,
                    list_name=m.list_name,
                    listed_name=m.listed_name,
                    score=float(m.score),
                    features=json.dumps(list(m.features), ensure_ascii=False),
                    status="OPEN",
                    at=at,
                )
            )

    def list_screening_hits(
        self,
        principal: Principal,
        *,
        org_unit: str = "",
        start_date: str = "",
        end_date: str = "",
        status: str = "",
        before_id: int | None = None,
        limit: int = 50,
    ) -> tuple[list[Any], bool]:
        """Stored screening hits the caller may read (scope applied in the query), newest first, optionally
        in an org-unit subtree, between two local dates (inclusive) and in one status."""
        scope = scope_filter(principal, "compliance.screening.read")
        if status and status not in SCREENING_STATUSES:
            raise InvalidArgument(f"must be one of {', '.join(SCREENING_STATUSES)}", field="status")
        days = {}
        for name, value in (("start_date", start_date), ("end_date", end_date)):
            if value:
                try:
                    days[name] = date.fromisoformat(value)
                except ValueError:
                    raise InvalidArgument("must be a date YYYY-MM-DD", field=name) from None
        if len(days) == 2 and days["start_date"] > days["end_date"]:
            raise InvalidArgument("must not be after end_date", field="start_date")
        start = self._midnight(days["start_date"]) if "start_date" in days else None
        end = self._midnight(days["end_date"] + timedelta(days=1)) if "end_date" in days else None
        with self.stores() as store:
            rows = store.screening_hits(
                scope,
                org_unit=org_unit,
                start=start,
                end=end,
                status=status,
                before_id=before_id,
                limit=limit + 1,
            )
        return rows[:limit], len(rows) > limit

    def record_contact(
        self,
        store: ComplianceStore,
        employee_id: str,
        org_unit: str,
        client_id: str,
        at: datetime,
        activity_id: str,
    ) -> list[str]:
        """A contact with a client; repeated contact with a high-risk client is a rule decision."""
        contact = dict(
            activity_id=activity_id, employee_id=employee_id, client_id=client_id, org_unit=org_unit, at=at
        )
        if not store.add_contact(contact):
            return []
        risk = store.client_risk(client_id)
        packs = self.rules.snapshot()  # the window counted and the rule judging the count: one pack set
        days = int(self.rules.parameter("contact_window_days", default=7, packs=packs))
        contacts = store.count_contacts(employee_id, client_id, at - timedelta(days=days), at)
        return self._fire(
            store,
            {"type": "compliance.client_contact"},
            {"client_high_risk": bool(risk and risk.high_risk), "contacts_in_window": contacts},
            employee_id=employee_id,
            org_unit=org_unit,
            at=at,
            evidence={
                "client_id": client_id,
                "contacts_in_window": contacts,
                "window_days": days,
                "risk": risk.reason if risk else "",
                "activity_id": activity_id,
            },
            evidence_key=f"contact:{client_id}",
            category="high_risk_contact",
            packs=packs,
        )

    def record_follow_up(
        self, store: ComplianceStore, employee_id: str, org_unit: str, client_id: str, at: datetime
    ) -> None:
        """A follow-up with an open client, inside the caller's unit of work (event consumers)."""
        if not employee_id or not client_id:
            return
        row = store.client_activity(employee_id, client_id)
        if row is not None and (row.last_follow_up_at is None or _utc(row.last_follow_up_at) < at):
            store.update_client_activity(employee_id, client_id, {"last_follow_up_at": at})

    def _visit_note_rules(
        self, store: ComplianceStore, x: TextIn, packs: Sequence[Any] | None = None
    ) -> list[str]:
        """A "client visit" note after a dwell anomaly the same day is a rule decision."""
        if x.channel != "visit_note":
            return []
        day = self.local_date(x.occurred_at).isoformat()
        last = store.last_dwell_anomaly(x.employee_id, day, x.occurred_at)
        facts: dict[str, Any] = {"dwell_anomaly_before": last is not None}
        if last is not None:
            facts["minutes_since_dwell_anomaly"] = int((x.occurred_at - _utc(last)).total_seconds() // 60)
        evidence = {"text_id": x.text_id, "day": day, **facts}
        if x.client_id:
            evidence["client_id"] = x.client_id
        return self._fire(
            store,
            {"type": "compliance.visit_note", "channel": x.channel},
            facts,
            employee_id=x.employee_id,
            org_unit=x.org_unit,
            at=x.occurred_at,
            evidence=evidence,
            evidence_key=f"note:{x.text_id}",
            category="visit_misreport",
            packs=packs,
        )

    def on_event(
        self,
        session: Session,
        event_type: str,
        data: Mapping[str, Any],
        *,
        event_id: str,
        org_unit: str,
        occurred_at: datetime,
    ) -> None:
        """Facts from other services (inside the inbox transaction)."""
        employee = str(data.get("employee_id", ""))
        if not employee:
            return
        store = self.store(session)
        if event_type == "attendance.visit_verified":
            client = str(data.get("client_id", ""))
            self.record_follow_up(store, employee, org_unit, client, occurred_at)
            if client:
                self.record_contact(store, employee, org_unit, client, occurred_at, event_id)
        elif event_type == "attendance.dwell_anomaly":
            store.add_dwell_anomaly(
                event_id=event_id,
                employee_id=employee,
                day=str(data.get("day") or self.local_date(occurred_at).isoformat()),
                at=occurred_at,
            )
        elif event_type == "attendance.daily_summary":
            day = str(data.get("date", ""))
            try:
                at = self._midnight(date.fromisoformat(day))
            except ValueError:
                return
            facts = {k: v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            self._fire(
                store,
                {"type": "attendance.daily_summary"},
                facts,
                employee_id=employee,
                org_unit=org_unit,
                at=at,
                evidence={"event_id": event_id, "date": day, **facts},
                evidence_key=f"summary:{day}",
                category="field_presence",
            )
        elif event_type == "commitments.breached":
            self._fire(
                store,
                {"type": "commitments.breached", "template_id": str(data.get("template_id", ""))},
                {},
                employee_id=employee,
                org_unit=org_unit,
                at=occurred_at,
                evidence={
                    "event_id": event_id,
                    "commitment": str(data.get("commitment", "")),
                    "client_id": str(data.get("client_id", "")),
                },
                evidence_key=f"commitment:{data.get('commitment', event_id)}",
                category="commitment_breach",
            )

    def evaluate_behaviour(self, principal: Principal | None, as_of: datetime) -> list[str]:
        """Scheduled rules over open clients (no follow-up for N days); returns the cases newly opened."""
        if principal is not None:
            authorize(principal, "compliance.rules.evaluate")
        opened: list[str] = []
        today = self.local_date(as_of)
        with self.stores() as store:
            before = store.case_ids()
            rows = store.open_clients()
            packs = self.rules.snapshot()  # the calendar and the rules of this pass: one pack set
            calendar = self.calendar(packs)
            for r in rows:
                last = r.last_follow_up_at or r.opened_at
                since = self.local_date(last)
                days = (
                    calendar.business_days_between(since + timedelta(days=1), today) if since < today else 0
                )
                cases = self._fire(
                    store,
                    {"type": "compliance.client_state", "client_id": r.client_id},
                    {"days_without_follow_up": days},
                    employee_id=r.employee_id,
                    org_unit=r.org_unit,
                    at=as_of,
                    evidence={"client_id": r.client_id, "days_without_follow_up": days},
                    evidence_key=f"client:{r.client_id}:{self.local_date(last).isoformat()}",
                    category="follow_up",
                    packs=packs,
                )
                opened += [c for c in cases if c.removeprefix("cases/") not in before and c not in opened]
        return opened

    def escalate_overdue(self, principal: Principal | None, as_of: datetime) -> list[str]:
        """OPEN cases past their SLA become ESCALATED (pack parameter ``escalate_overdue_cases``)."""
        if principal is not None:
            authorize(principal, "compliance.rules.evaluate")
        if not self.rules.parameter("escalate_overdue_cases", default=False):
            return []
        escalated = []
        with self.stores() as store:
            for row in store.overdue_cases(as_of, limit=1000):
                store.update_case(row.id, {"state": "ESCALATED", "updated_at": as_of})
                reason = {"reason": "sla_breached"}
                self._transitioned(store, row, "ESCALATED", "compliance", reason, reason, f"{row.id}:sla")
                escalated.append(f"cases/{row.id}")
        return escalated

    def _transitioned(
        self,
        store: ComplianceStore,
        row: Any,
        state: str,
        actor: str,
        audit_extra: dict[str, Any],
        event_extra: dict[str, Any],
        key: str,
    ) -> None:
        """Audit a case's move from ``row.state`` to ``state`` and publish compliance.case_updated."""
        name = f"cases/{row.id}"
        store.audit(
            actor=actor,
            action="case.transition",
            subject=name,
            data={"from": row.state, "to": state, **audit_extra},
        )
        data = {"employee_id": row.employee_id, "case": name, "from_state": row.state, "state": state}
        data |= {**event_extra, "rule_id": row.rule_id, "category": row.category, "severity": row.severity}
        self._emit(store, "compliance.case_updated", row.employee_id, row.org_unit, data, key)

    def purge(self, as_of: datetime) -> int:
        """Retention: drop scanned-text results and request records older than the pack's retention
        (cases and the audit chain are kept: the chain must stay verifiable)."""
        days = int(self.rules.parameter("scan_retention_days", default=365))
        cutoff = as_of - timedelta(days=days)
        with self.stores() as store:
            n = store.purge_scans(cutoff)
            store.purge_requests(cutoff)
            if n:
                store.audit(
                    actor="compliance",
                    action="retention.purged",
                    subject="texts",
                    data={"scanned_texts": n, "before": cutoff.isoformat(), "retention_days": days},
                )
        return n

    # -- idempotency -------------------------------------------------------------------------
    def _remember(
        self, store: ComplianceStore, method: str, request_id: str, result: dict[str, Any], fp: str
    ) -> None:
        """Record a mutation's request id (the chassis table, ``covenant.db.idempotency``, in SQL)."""
        store.remember(method, request_id, json.dumps(result), self.clock(), fingerprint=fp)

    # -- case reads and changes --------------------------------------------------------------
    def _case(self, store: ComplianceStore, name: str, *, lock: bool = False) -> Any:
        case_id = name.removeprefix("cases/")
        if not case_id or case_id == name:
            raise InvalidArgument("must look like cases/{id}", field="name")
        row = store.case(case_id, lock=lock)
        if row is None:
            raise NotFound(f"{name} not found")
        return row

    def phrase_feedback(self, principal: Principal) -> tuple[list[PhraseNoise], set[str], str, str]:
        """False-positive counts per phrase over every case holding phrase hits, for the pack owner
        (``rules.packs.read``), with the active pack's phrases and its id and version."""
        authorize(principal, "rules.packs.read")
        with self.stores() as store:
            rows = store.cases_with_phrase_hits()  # oldest change first: reasons come out latest first
        views = [
            CaseView(r.state, json.loads(r.evidence_json).get("items", []), json.loads(r.comments_json))
            for r in rows
        ]
        scanner, pack_id, version = self.scanner()
        return phrase_noise(views), {p.text for p in scanner.phrases}, pack_id, version

    def get_case(self, principal: Principal, name: str) -> Any:
        with self.stores() as store:
            row = self._case(store, name)
        authorize(principal, "compliance.cases.read", DataOwner(row.employee_id, row.org_unit))
        return row

    def list_cases(
        self,
        principal: Principal,
        employee_id: str,
        state: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> tuple[list[Any], bool]:
        """Cases visible to the caller (scope applied in the query), oldest first, after the keyset position
        ``after`` (opened_at, id)."""
        scope = scope_filter(principal, "compliance.cases.read")
        with self.stores() as store:
            rows = store.list_cases(scope, employee_id=employee_id, state=state, after=after, limit=limit + 1)
        return rows[:limit], len(rows) > limit

    def transition(
        self,
        principal: Principal,
        name: str,
        state: str,
        owner: str,
        comment: str,
        request_id: str = "",
    ) -> Any:
        """Move a case; acknowledging and closing need an owner, closing a comment."""
        with self.stores() as store:
            row = self._case(store, name, lock=True)
            authorize(principal, "compliance.cases.manage", DataOwner(row.employee_id, row.org_unit))
            forbid_self(
                principal, row.employee_id, "compliance.cases.manage", "handle a case about themselves"
            )
            forbid_line(
                self.directory, principal, row.employee_id, "compliance.cases.manage", "handle a case"
            )
            fp = idempotency.fingerprint(name, state, owner, comment)
            if store.replayed("TransitionCase", request_id, fingerprint=fp) is not None:
                return row
            new_owner = owner or row.owner
            check_transition(row.state, state, new_owner, comment)
            comments = json.loads(row.comments_json)
            if comment.strip():
                comments.append(f"{principal.subject}: {comment.strip()}")
            store.update_case(
                row.id,
                {
                    "state": state,
                    "owner": new_owner,
                    "updated_at": self.clock(),
                    "comments_json": json.dumps(comments, ensure_ascii=False),
                },
            )
            self._remember(store, "TransitionCase", request_id, {"case": name}, fp)
            self._transitioned(
                store,
                row,
                state,
                principal.subject,
                {"owner": new_owner, "comment": comment.strip()},
                {"owner": new_owner},
                f"{row.id}:{row.state}->{state}:{request_id or uuid.uuid4().hex}",
            )
            return self._case(store, name)

    def comment(self, principal: Principal, name: str, comment: str, request_id: str = "") -> Any:
        if not comment.strip():
            raise InvalidArgument("is required", field="comment")
        with self.stores() as store:
            row = self._case(store, name, lock=True)
            authorize(principal, "compliance.cases.manage", DataOwner(row.employee_id, row.org_unit))
            fp = idempotency.fingerprint(name, comment)
            if store.replayed("AddCaseComment", request_id, fingerprint=fp) is not None:
                return row
            comments = [*json.loads(row.comments_json), f"{principal.subject}: {comment.strip()}"]
            store.update_case(
                row.id,
                {"comments_json": json.dumps(comments, ensure_ascii=False), "updated_at": self.clock()},
            )
            self._remember(store, "AddCaseComment", request_id, {"case": name}, fp)
            store.audit(
                actor=principal.subject,
                action="case.commented",
                subject=name,
                data={"comment": comment},
            )
            return self._case(store, name)

    def verify_audit(self, principal: Principal) -> list[tuple[str, Any]]:
        """(stream, VerifyResult) for the compliance stream and the rule-pack lifecycle stream."""
        authorize(principal, "compliance.audit.read")
        with self.stores() as store:
            return [(stream, store.verify_audit(stream)) for stream in AUDIT_STREAMS]
