"""gRPC adapter for ComplianceService."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from covenant.auth import DataOwner, can
from covenant.compliance.v1 import compliance_pb2 as pb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.errors import InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.paging import page
from covenant.timestamps import as_utc, opt_ts, ts
from services.compliance.domain.screening import Match
from services.compliance.domain.text import Hit
from services.compliance.scanning import ScanOutcome, TextIn
from services.compliance.service import ComplianceService

# Evidence keys about other parties (clients, watchlist hits): removed for the case's own employee.
OTHER_PARTIES = ("client_id", "client_name", "counterparty", "risk", "commitment")


def case_cursor(cursor: tuple[int | str, ...] | None) -> tuple[datetime, str] | None:
    """The (opened_at, id) keyset position a ListCases page token holds."""
    if cursor is None:
        return None
    try:
        at, case_id = cursor
        return as_utc(datetime.fromisoformat(str(at))), str(case_id)
    except ValueError:
        raise InvalidArgument("is not a page token of this list (bad cursor)", field="page_token") from None


def text_in(r: pb.ScanTextRequest, now: datetime) -> TextIn:
    at = opt_ts(r.occurred_at) or now
    return TextIn(r.text_id, r.employee_id, r.org_unit, r.channel or "call", r.text, at, r.client_id)


def result_pb(text_id: str, out: ScanOutcome) -> pb.ScanResult:
    return pb.ScanResult(
        text_id=text_id, hits=[hit_pb(h, out.pack_id, out.pack_version) for h in out.hits], cases=out.cases
    )


def hit_pb(h: Hit, pack_id: str, version: str) -> pb.Hit:
    fields = fields_of(h, "phrase category severity start end matched_text matched_by")
    return pb.Hit(**fields, pack_id=pack_id, pack_version=version)


def match_pb(m: Match) -> pb.ScreeningMatch:
    return pb.ScreeningMatch(**fields_of(m, "entry_id list_name listed_name score features"))


def case_pb(row: Any, *, redact: bool) -> pb.Case:
    evidence = json.loads(row.evidence_json)
    if redact:
        for item in evidence.get("items", []):
            for key in OTHER_PARTIES:
                item.pop(key, None)
    return pb.Case(
        **fields_of(row, "employee_id org_unit rule_id category severity state owner pack_id pack_version"),
        occurrences=row.occurrences,
        name=f"cases/{row.id}",
        opened_at=ts(row.opened_at),
        sla_due_at=ts(row.sla_due_at),
        evidence_json=json.dumps(evidence, ensure_ascii=False),
        comments=json.loads(row.comments_json) if not redact else [],
        updated_at=ts(row.updated_at or row.opened_at),
    )


class ComplianceServicer(compliance_pb2_grpc.ComplianceServiceServicer):
    def __init__(self, service: ComplianceService) -> None:
        self.service = service

    def _redact(self, row: Any) -> bool:
        """The subject of a case (without case-management rights) sees it without other parties' data."""
        return not can(
            current_principal(), "compliance.cases.manage", DataOwner(row.employee_id, row.org_unit)
        )

    def ScanText(self, request: pb.ScanTextRequest, context: Any) -> pb.ScanResult:
        (out,) = self.service.scanning.scan(
            current_principal(), [text_in(request, self.service.clock())], single=True
        )
        return result_pb(request.text_id, out)

    def ScanTexts(self, request: pb.ScanTextsRequest, context: Any) -> pb.ScanTextsResponse:
        now = self.service.clock()
        results = self.service.scanning.scan(current_principal(), [text_in(r, now) for r in request.texts])
        return pb.ScanTextsResponse(
            results=[result_pb(r.text_id, out) for r, out in zip(request.texts, results, strict=True)]
        )

    def StreamScan(self, request_iterator: Iterator[pb.ScanChunk], context: Any) -> Iterator[pb.ScanResult]:
        """The first chunk carries the header; hits come back as soon as they are final."""
        first = next(request_iterator, None)
        if first is None or not first.header.text_id:
            raise InvalidArgument("the first chunk must carry the transcript header", field="header.text_id")
        header = text_in(first.header, self.service.clock())

        def texts() -> Iterator[str]:
            yield first.header.text + first.text
            for chunk in request_iterator:
                yield chunk.text

        for out in self.service.scanning.stream_scan(current_principal(), header, texts()):
            yield result_pb(header.text_id, out)

    def LoadWatchlist(self, request: pb.LoadWatchlistRequest, context: Any) -> pb.LoadWatchlistResponse:
        loaded, total = self.service.screening.load_watchlist(
            current_principal(), [(e.id, e.list_name, e.name) for e in request.entries]
        )
        return pb.LoadWatchlistResponse(loaded=loaded, total=total)

    def ListScreeningHits(
        self, request: pb.ListScreeningHitsRequest, context: Any
    ) -> pb.ListScreeningHitsResponse:
        bound = ("screening-hits", request.org_unit, request.start_date, request.end_date, request.status)

        def fetch(before: int | None, limit: int) -> list[Any]:
            return self.service.screening.list_screening_hits(  # newest first
                current_principal(),
                org_unit=request.org_unit,
                start_date=request.start_date,
                end_date=request.end_date,
                status=request.status,
                before_id=before,
                limit=limit,
            )

        rows, token = page(request.page_size, request.page_token, bound, fetch, key=lambda r: r.id, kind=int)
        return pb.ListScreeningHitsResponse(hits=[screening_hit_pb(r) for r in rows], next_page_token=token)

    def ScreenNames(self, request: pb.ScreenNamesRequest, context: Any) -> pb.ScreenNamesResponse:
        results = self.service.screening.screen(current_principal(), list(request.names))
        return pb.ScreenNamesResponse(
            results=[
                pb.ScreeningResult(name=n, matches=[match_pb(m) for m in ms])
                for n, ms in zip(request.names, results, strict=True)
            ]
        )

    def RecordClientActivity(
        self, request: pb.RecordClientActivityRequest, context: Any
    ) -> pb.RecordClientActivityResponse:
        at = opt_ts(request.occurred_at) or self.service.clock()
        cases = self.service.behaviour.record_activity(
            current_principal(),
            request.employee_id,
            request.org_unit,
            request.client_id,
            request.kind,
            at,
            client_name=request.client_name,
            activity_id=request.activity_id,
        )
        return pb.RecordClientActivityResponse(cases=cases)

    def EvaluateBehaviour(
        self, request: pb.EvaluateBehaviourRequest, context: Any
    ) -> pb.EvaluateBehaviourResponse:
        as_of = opt_ts(request.as_of) or self.service.clock()
        principal = current_principal()
        opened = self.service.behaviour.evaluate_behaviour(principal, as_of)
        return pb.EvaluateBehaviourResponse(
            cases_opened=opened, cases_escalated=self.service.cases.escalate_overdue(principal, as_of)
        )

    def GetCase(self, request: pb.GetCaseRequest, context: Any) -> pb.Case:
        row = self.service.cases.get_case(current_principal(), request.name)
        return case_pb(row, redact=self._redact(row))

    def ListCases(self, request: pb.ListCasesRequest, context: Any) -> pb.ListCasesResponse:
        bound = ("cases", request.employee_id, request.state)

        def fetch(after: tuple[int | str, ...] | None, limit: int) -> list[Any]:
            return self.service.cases.list_cases(
                current_principal(), request.employee_id, request.state, case_cursor(after), limit
            )

        def key(row: Any) -> tuple[str, str]:
            return as_utc(row.opened_at).isoformat(), row.id

        rows, token = page(request.page_size, request.page_token, bound, fetch, key=key, kind=tuple)
        return pb.ListCasesResponse(
            cases=[case_pb(r, redact=self._redact(r)) for r in rows], next_page_token=token
        )

    def TransitionCase(self, request: pb.TransitionCaseRequest, context: Any) -> pb.Case:
        row = self.service.cases.transition(
            current_principal(),
            request.name,
            request.state,
            request.owner,
            request.comment,
            request.request_id,
        )
        return case_pb(row, redact=False)

    def AddCaseComment(self, request: pb.AddCaseCommentRequest, context: Any) -> pb.Case:
        row = self.service.cases.comment(
            current_principal(), request.name, request.comment, request.request_id
        )
        return case_pb(row, redact=False)

    def GetPhraseFeedback(
        self, request: pb.GetPhraseFeedbackRequest, context: Any
    ) -> pb.GetPhraseFeedbackResponse:
        noise, active, pack_id, version = self.service.scanning.phrase_feedback(current_principal())
        return pb.GetPhraseFeedbackResponse(
            phrases=[
                pb.PhraseFeedback(
                    **fields_of(n, "phrase category hits false_positives reasons"),
                    noise_ratio=n.noise_ratio,
                    active=n.phrase in active,
                )
                for n in noise
            ],
            pack_id=pack_id,
            pack_version=version,
        )

    def VerifyAuditChain(
        self, request: pb.VerifyAuditChainRequest, context: Any
    ) -> pb.VerifyAuditChainResponse:
        streams = [
            pb.AuditStreamVerification(
                stream=name,
                intact=r.ok,
                entries_checked=r.checked,
                first_broken_seq=r.first_broken_seq or 0,
                reason=r.reason or "",
            )
            for name, r in self.service.verify_audit(current_principal())
        ]
        broken = next((s for s in streams if not s.intact), None)
        return pb.VerifyAuditChainResponse(
            intact=broken is None,
            entries_checked=sum(s.entries_checked for s in streams),
            first_broken_seq=broken.first_broken_seq if broken else 0,
            reason=f"{broken.stream}: {broken.reason}" if broken else "",
            streams=streams,
        )


def screening_hit_pb(r: Any) -> pb.ScreeningHit:
    return pb.ScreeningHit(
        **fields_of(r, "employee_id org_unit client_id client_name status"),
        name=f"screeningHits/{r.id}",
        match=match_pb(Match(r.entry_id, r.list_name, r.listed_name, r.score, json.loads(r.features))),
        contact_time=ts(r.at),
    )
