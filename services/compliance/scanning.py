"""Scanning: texts and live transcripts against the active pack's phrases (negations, homophones, safe
phrases); each hit is a rule decision that may open a case. Every scan decision is audited; a text id
scanned before returns its recorded outcome. Scan results are kept for the pack's retention."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from covenant.auth import DataOwner, Principal, authorize
from covenant.errors import InvalidArgument
from covenant.timestamps import as_utc as _utc
from services.compliance.cases import Cases
from services.compliance.context import Context
from services.compliance.domain.excerpt import excerpt
from services.compliance.domain.feedback import CaseView, PhraseNoise, phrase_noise
from services.compliance.domain.text import Hit, Phrase, PhraseScanner
from services.compliance.ports import ComplianceStore

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


class Scanning:
    """Texts and live transcripts scanned with the pack's phrases; phrase feedback; scan retention."""

    def __init__(self, ctx: Context, cases: Cases) -> None:
        self.ctx = ctx
        self.cases = cases
        self._scanner: tuple[Any, PhraseScanner] | None = None

    def scanner(self, packs: Sequence[Any] | None = None) -> tuple[PhraseScanner, str, str]:
        """The scanner for ``packs`` (a snapshot; None: the active packs now), rebuilt when the pack
        providing the phrases changes. Its phrases and the version it reports come from the same set."""
        packs = self.ctx.rules.snapshot() if packs is None else packs
        source = tuple(
            self.ctx.rules.parameter_source(name, packs=packs) for name in (*SCAN_PARAMETERS, "homophones")
        )
        cached = self._scanner
        if cached is None or cached[0] != source:

            def p(name: str, default: Any) -> Any:
                return self.ctx.rules.parameter(name, default=default, packs=packs)

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
            x = replace(x, org_unit=self.ctx.unit(x.employee_id, x.org_unit, where(i)))
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
        packs = self.ctx.rules.snapshot()  # phrases, case rules and the recorded version: one pack set
        scanner, pack_id, version = self.scanner(packs)
        results = []
        with self.ctx.stores() as store:
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
            key = f"{x.text_id}:{h.start}"
            for c in self._fire(store, x, event, {}, evidence, key, h.category, packs):
                if c not in cases:
                    cases.append(c)
        return cases

    def _fire(
        self,
        store: ComplianceStore,
        x: TextIn,
        event: dict[str, Any],
        facts: dict[str, Any],
        evidence: dict[str, Any],
        key: str,
        category: str,
        packs: Sequence[Any] | None,
    ) -> list[str]:
        """A finding in text ``x`` (evidence naming its client, if any) to the rules."""
        if x.client_id:
            evidence = {**evidence, "client_id": x.client_id}
        return self.cases.fire(
            store,
            event,
            facts,
            employee_id=x.employee_id,
            org_unit=x.org_unit,
            at=x.occurred_at,
            evidence=evidence,
            evidence_key=key,
            category=category,
            packs=packs,
        )

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
            scanned_at=self.ctx.clock(),
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
        with self.ctx.stores() as store:
            if store.scan_result(header.text_id) is not None:
                raise InvalidArgument("this transcript was already scanned", field="header.text_id")
        packs = self.ctx.rules.snapshot()  # the whole transcript is judged on one pack set
        scanner, pack_id, version = self.scanner(packs)
        stream = scanner.stream()
        all_hits: list[Hit] = []
        all_cases: list[str] = []

        def record(hits: list[Hit]) -> ScanOutcome | None:
            if not hits:
                return None
            with self.ctx.stores() as store:
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
        with self.ctx.stores() as store:
            self._record_scan(store, principal, x, all_hits, all_cases, pack_id, version)

    def _visit_note_rules(
        self, store: ComplianceStore, x: TextIn, packs: Sequence[Any] | None = None
    ) -> list[str]:
        """A "client visit" note after a dwell anomaly the same day is a rule decision."""
        if x.channel != "visit_note":
            return []
        day = self.ctx.local_date(x.occurred_at).isoformat()
        last = store.last_dwell_anomaly(x.employee_id, day, x.occurred_at)
        facts: dict[str, Any] = {"dwell_anomaly_before": last is not None}
        if last is not None:
            facts["minutes_since_dwell_anomaly"] = int((x.occurred_at - _utc(last)).total_seconds() // 60)
        event = {"type": "compliance.visit_note", "channel": x.channel}
        evidence = {"text_id": x.text_id, "day": day, **facts}
        return self._fire(store, x, event, facts, evidence, f"note:{x.text_id}", "visit_misreport", packs)

    def phrase_feedback(self, principal: Principal) -> tuple[list[PhraseNoise], set[str], str, str]:
        """False-positive counts per phrase over every case holding phrase hits, for the pack owner
        (``rules.packs.read``), with the active pack's phrases and its id and version."""
        authorize(principal, "rules.packs.read")
        with self.ctx.stores() as store:
            rows = store.cases_with_phrase_hits()  # oldest change first: reasons come out latest first
        views = [
            CaseView(r.state, json.loads(r.evidence_json).get("items", []), json.loads(r.comments_json))
            for r in rows
        ]
        scanner, pack_id, version = self.scanner()
        return phrase_noise(views), {p.text for p in scanner.phrases}, pack_id, version

    def purge(self, as_of: datetime) -> int:
        """Retention: drop scanned-text results and request records older than the pack's retention
        (cases and the audit chain are kept: the chain must stay verifiable)."""
        days = int(self.ctx.rules.parameter("scan_retention_days", default=365))
        cutoff = as_of - timedelta(days=days)
        with self.ctx.stores() as store:
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
