"""The console's web application (Starlette, Jinja2 with autoescaping, no client build step).

Every page: read the sealed session cookie, verify the user's token against identity's JWKS, call the
services with that token, render. Every form: CSRF-checked. Every response: a content security policy
that allows only this origin's scripts and styles (docs/console.md).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from covenant.auth.principal import Principal, Scope
from covenant.auth.tokens import TokenVerifier
from covenant.console import charts, packs, screening
from covenant.console.backend import RULE_SERVICES, Backend, BackendError
from covenant.console.i18n import LANGUAGES, pick_language, translate
from covenant.console.session import COOKIE, LANG_COOKIE, Session, SessionSealer
from covenant.errors import Unauthenticated

HERE = Path(__file__).parent
PRE_COOKIE = "covenant_pre"  # CSRF for the sign-in form, before there is a session
CASE_STATES = ("OPEN", "ACKNOWLEDGED", "ESCALATED", "RESOLVED", "FALSE_POSITIVE")
CASE_NEXT = {
    "OPEN": ("ACKNOWLEDGED", "ESCALATED"),
    "ACKNOWLEDGED": ("RESOLVED", "ESCALATED", "FALSE_POSITIVE"),
    "ESCALATED": ("ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"),
}


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs besides the services: its time zone, cookie policy and optional tiles."""

    timezone: str = "Asia/Shanghai"
    secure_cookies: bool = False
    tile_url: str = ""  # e.g. https://tiles.example.internal/{z}/{x}/{y}.png; "" = no tile layer
    session_ttl_seconds: int = 8 * 3600


@dataclass
class Ctx:
    """Per-request state handed to the templates."""

    request: Request
    lang: str
    session: Session | None
    principal: Principal | None
    backend: Backend
    csrf: str

    def can(self, permission: str) -> bool:
        return self.principal is not None and self.principal.scope_for(permission) is not None

    def scope(self, permission: str) -> Scope | None:
        return None if self.principal is None else self.principal.scope_for(permission)


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


def create_console(
    backend: Backend, sealer: SessionSealer, verifier: TokenVerifier, config: ConsoleConfig | None = None
) -> Starlette:
    config = config or ConsoleConfig()
    tz = ZoneInfo(config.timezone)
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = lambda ts, fmt="%Y-%m-%d %H:%M": _localtime(ts, tz, fmt)
    env.filters["km"] = lambda m: f"{(m or 0) / 1000:.1f}"
    env.filters["pretty_json"] = lambda s: _pretty_json(s)
    tile_host = urlparse(config.tile_url).netloc if config.tile_url else ""

    def today() -> str:
        return datetime.now(tz).date().isoformat()

    def this_period() -> str:
        return datetime.now(tz).strftime("%Y-%m")

    def context(request: Request) -> Ctx:
        lang = pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        session = sealer.open(request.cookies.get(COOKIE))
        principal = None
        if session is not None:
            try:
                principal = verifier.verify(session.access_token)
            except Unauthenticated:
                session = None
        csrf = sealer.csrf_token(session) if session else request.cookies.get(PRE_COOKIE, "")
        return Ctx(
            request=request,
            lang=lang,
            session=session,
            principal=principal,
            backend=backend.as_user(session.access_token if session else ""),
            csrf=csrf,
        )

    def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        def t(text: str) -> str:
            return translate(ctx.lang, text)

        html = env.get_template(template).render(
            ctx=ctx, t=t, languages=LANGUAGES, today=today(), this_period=this_period(), **values
        )
        return HTMLResponse(html, status_code=status)

    def guarded(ctx: Ctx, call: Callable[[], Response]) -> Response:
        """Run a handler: its redirect, or the service's refusal shown as a page with the service's words."""
        try:
            return call()
        except _Redirect as r:
            return RedirectResponse(r.url, status_code=303)
        except BackendError as exc:
            title = (
                "You may not see this page." if exc.code == "PERMISSION_DENIED" else "Something went wrong"
            )
            return render(ctx, "error.html", status=exc.http_status, title=title, error=exc)

    def page(handler: Callable[[Ctx], Response], *, signed_in: bool = True) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            ctx = context(request)
            if signed_in and ctx.principal is None:
                nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?" + urlencode({"next": nxt}), status_code=303)
            return guarded(ctx, lambda: handler(ctx))

        return endpoint

    async def form_of(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: str(v) for k, v in form.items()}

    def post(handler: Callable[[Ctx, dict[str, str]], Response], *, signed_in: bool = True):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            form = await form_of(request)
            ctx = context(request)
            if signed_in and ctx.principal is None:
                return RedirectResponse("/login", status_code=303)
            if not ctx.csrf or not secrets.compare_digest(ctx.csrf, form.get("csrf", "")):
                return render(
                    ctx,
                    "error.html",
                    status=403,
                    title="Something went wrong",
                    error=BackendError("PERMISSION_DENIED", "the form's CSRF token is missing or wrong"),
                )
            return await run_in_threadpool(guarded, ctx, lambda: handler(ctx, form))

        return endpoint

    # -- sign-in ---------------------------------------------------------------------------------
    def login_page(ctx: Ctx) -> Response:
        if ctx.principal is not None:
            raise _Redirect("/")
        pre = ctx.request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)
        ctx.csrf = pre
        response = render(
            ctx, "login.html", next=_safe_next(ctx.request.query_params.get("next")), failed=False
        )
        _set_cookie(response, PRE_COOKIE, pre, config, max_age=3600)
        return response

    def login_submit(ctx: Ctx, form: dict[str, str]) -> Response:
        nxt = _safe_next(form.get("next"))
        try:
            pair = ctx.backend.as_user("").login(
                form.get("username", "")[:200], form.get("password", "")[:500]
            )
        except BackendError:
            return render(ctx, "login.html", status=401, next=nxt, failed=True)
        session = sealer.new(
            pair.access_token, pair.refresh_token, form.get("username", ""), pair.expires_in_seconds
        )
        response = RedirectResponse(nxt, status_code=303)
        _set_cookie(response, COOKIE, sealer.seal(session), config, max_age=config.session_ttl_seconds)
        response.delete_cookie(PRE_COOKIE)
        return response

    def logout(ctx: Ctx, form: dict[str, str]) -> Response:
        if ctx.session is not None:
            with contextlib.suppress(BackendError):
                ctx.backend.revoke(ctx.session.refresh_token or ctx.session.access_token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def set_language(ctx: Ctx, form: dict[str, str]) -> Response:
        lang = form.get("lang", "")
        response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
        if lang in LANGUAGES:
            _set_cookie(response, LANG_COOKIE, lang, config, max_age=365 * 86400, http_only=False)
        return response

    # -- managers --------------------------------------------------------------------------------
    def home(ctx: Ctx) -> Response:
        return render(ctx, "home.html")

    def team_day(ctx: Ctx) -> Response:
        q = ctx.request.query_params
        day = _date_param(q.get("date"), today())
        scope = ctx.scope("attendance.routes.read")
        if scope is None or scope is Scope.SELF:
            raise _Redirect(f"/reps/{ctx.principal.employee_id}/day?date={day}")  # type: ignore[union-attr]
        unit = q.get("unit") or ctx.principal.org_unit or "/"  # type: ignore[union-attr]
        rows = ctx.backend.team_day(unit, day)
        maps = []
        anomalies = []
        for row in rows[:30]:
            report = ctx.backend.route(row.employee_id, day)
            maps.append((row.employee_id, _route_map(report, [], config, title=row.employee_id)))
            anomalies += [(row.employee_id, a) for a in report.anomalies]
        anomalies.sort(key=lambda x: x[1].time.seconds)
        return render(ctx, "team_day.html", unit=unit, day=day, rows=rows, maps=maps, anomalies=anomalies)

    def rep_day(ctx: Ctx) -> Response:
        emp = ctx.request.path_params["employee_id"]
        day = _date_param(ctx.request.query_params.get("date"), today())
        report = ctx.backend.route(emp, day)
        places = []
        located = [i for i in report.items if i.HasField("location")]
        if located and ctx.can("attendance.places.read"):
            lat = sum(i.location.latitude for i in located) / len(located)
            lon = sum(i.location.longitude for i in located) / len(located)
            try:
                places = ctx.backend.places_near(lat, lon, 3000, limit=60)
            except BackendError:
                places = []
        picture = _route_map(report, places, config, title=f"{emp} {day}", width=760, height=480)
        return render(ctx, "rep_day.html", emp=emp, day=day, report=report, picture=picture, places=places)

    def scorecard(ctx: Ctx) -> Response:
        emp = ctx.request.path_params["employee_id"]
        asked = ctx.request.query_params.get("period")
        period = _period_param(asked, this_period())
        history: dict[str, Any] = {}
        for p in _previous_periods(period, 7):
            try:
                history[p] = ctx.backend.score(emp, p)
            except BackendError as exc:
                if exc.code not in ("NOT_FOUND", "FAILED_PRECONDITION"):
                    raise
        if not asked and period not in history and history:
            period = max(history)  # no score yet this month: show the latest scored period
        score = history.get(period)
        trend = [(p, float(s.calibrated_score or s.score)) for p, s in sorted(history.items()) if p <= period]
        signals = []
        if ctx.can("scoring.signals.read"):
            with contextlib.suppress(BackendError):
                signals = [s for s in ctx.backend.signals(period="") if s.employee_id == emp]
        chart = charts.trend_svg(trend, title=f"{emp} {translate(ctx.lang, 'Trend')}")
        return render(
            ctx, "scorecard.html", emp=emp, period=period, score=score, chart=chart, signals=signals
        )

    def leaderboard(ctx: Ctx) -> Response:
        board = ctx.backend.leaderboard(top=50)
        return render(ctx, "leaderboard.html", board=board)

    def rep_points(ctx: Ctx) -> Response:
        emp = ctx.request.path_params["employee_id"]
        return render(ctx, "rep_points.html", emp=emp, entries=ctx.backend.ledger(emp))

    def signals_page(ctx: Ctx) -> Response:
        period = ctx.request.query_params.get("period", "")
        if period:
            period = _period_param(period, this_period())
        return render(ctx, "signals.html", signals=ctx.backend.signals(period=period), period=period)

    def heatmap_page(ctx: Ctx) -> Response:
        period = _period_param(ctx.request.query_params.get("period"), this_period())
        unit = _unit_param(ctx.request.query_params.get("org_unit"))
        hm = ctx.backend.heat_map(period, unit)
        cells = {(c.org_unit, c.kpi): c for c in hm.cells}
        return render(
            ctx, "heatmap.html", hm=hm, cells=cells, period=period, org_unit=unit, picture=_png_uri(hm.png)
        )

    def trends_page(ctx: Ctx) -> Response:
        to = _period_param(ctx.request.query_params.get("to"), this_period())
        start = _period_param(ctx.request.query_params.get("from"), _previous_periods(to, 12)[0])
        unit = _unit_param(ctx.request.query_params.get("org_unit"))
        tr = ctx.backend.unit_trends(start, to, unit)
        periods = sorted({p.period for u in tr.units for p in u.points})
        table = {u.org_unit: {p.period: p for p in u.points} for u in tr.units}
        return render(
            ctx,
            "trends.html",
            trends=tr,
            periods=periods,
            table=table,
            start=start,
            to=to,
            org_unit=unit,
            picture=_png_uri(tr.png),
        )

    def commitments_page(ctx: Ctx) -> Response:
        items = ctx.backend.commitments()
        groups = {"Due": [], "Fulfilled": [], "Breached": []}
        for c in items:
            state = c.state
            if state == 1:
                groups["Due"].append(c)
            elif state in (2, 5):
                groups["Fulfilled"].append(c)
            elif state == 3:
                groups["Breached"].append(c)
        groups["Due"].sort(key=lambda c: c.effective_deadline.seconds)
        return render(ctx, "commitments.html", groups=groups)

    # -- compliance officers ---------------------------------------------------------------------
    def cases_page(ctx: Ctx) -> Response:
        state = ctx.request.query_params.get("state", "")
        state = state if state in CASE_STATES else ""
        return render(
            ctx, "cases.html", cases=ctx.backend.cases(state=state), state=state, states=CASE_STATES
        )

    def screening_page(ctx: Ctx) -> Response:
        q = ctx.request.query_params
        filters = {k: q.get(k, "")[:255] for k in ("org_unit", "start_date", "end_date")}
        resp = ctx.backend.screening_hits(**filters, page_token=q.get("page_token", "")[:512])
        hits = [(h, screening.explain(h.match.features)) for h in resp.hits]
        more = urlencode({**filters, "page_token": resp.next_page_token}) if resp.next_page_token else ""
        return render(ctx, "screening.html", hits=hits, filters=filters, more=more)

    def case_page(ctx: Ctx) -> Response:
        case = ctx.backend.case(f"cases/{ctx.request.path_params['case_id']}")
        evidence = _evidence(case.evidence_json)
        return render(
            ctx, "case.html", case=case, evidence=evidence, next_states=CASE_NEXT.get(case.state, ())
        )

    def case_transition(ctx: Ctx, form: dict[str, str]) -> Response:
        case_id = ctx.request.path_params["case_id"]
        ctx.backend.transition_case(
            f"cases/{case_id}",
            form.get("state", ""),
            form.get("owner", ""),
            form.get("comment", ""),
            form.get("request_id", "") or secrets.token_hex(8),
        )
        raise _Redirect(f"/cases/{case_id}?done=1")

    # -- rule owners -----------------------------------------------------------------------------
    def rules_index(ctx: Ctx) -> Response:
        if not ctx.can("rules.packs.read"):
            raise BackendError("PERMISSION_DENIED", "permission rules.packs.read is required")
        rows = []
        for svc in RULE_SERVICES:
            try:
                active = ctx.backend.active_packs(svc)
            except BackendError as exc:
                if exc.code in ("PERMISSION_DENIED", "UNAVAILABLE", "DEADLINE_EXCEEDED"):
                    continue
                raise
            for p in active.packs:
                serving = sorted(
                    {v for k, v in active.serving_versions.items() if k.split("@")[0] == p.pack_id}
                    or {p.version}
                )
                rows.append((svc, p, serving))
        return render(ctx, "rules_index.html", rows=rows)

    def _svc(ctx: Ctx) -> str:
        svc = ctx.request.path_params["service"]
        if svc not in RULE_SERVICES:
            raise BackendError("NOT_FOUND", f"no service {svc!r}")
        return svc

    def pack_history(ctx: Ctx) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        versions = ctx.backend.pack_versions(svc, pack_id)
        return render(ctx, "pack_history.html", svc=svc, pack_id=pack_id, versions=versions)

    def pack_version(ctx: Ctx) -> Response:
        svc, pack_id, version = (
            _svc(ctx),
            ctx.request.path_params["pack_id"],
            ctx.request.path_params["version"],
        )
        v = ctx.backend.pack_version(svc, pack_id, version)
        doc = packs.load(v.source_yaml)
        versions = ctx.backend.pack_versions(svc, pack_id)
        return render(
            ctx,
            "pack_version.html",
            svc=svc,
            pack_id=pack_id,
            v=v,
            doc=doc,
            params=packs.parameters(doc),
            describe=packs.describe_condition,
            actions=packs.describe_actions,
            versions=versions,
        )

    def pack_diff(ctx: Ctx) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        q = ctx.request.query_params
        a, b = q.get("from", ""), q.get("to", "")
        va, vb = ctx.backend.pack_version(svc, pack_id, a), ctx.backend.pack_version(svc, pack_id, b)
        summary = ctx.backend.diff(svc, pack_id, a, b)
        rows = packs.side_by_side(va.source_yaml, vb.source_yaml, context=3)
        return render(ctx, "pack_diff.html", svc=svc, pack_id=pack_id, a=va, b=vb, rows=rows, summary=summary)

    def _base_version(ctx: Ctx, svc: str, pack_id: str, version: str | None):  # type: ignore[no-untyped-def]
        versions = ctx.backend.pack_versions(svc, pack_id)
        if not versions:
            raise BackendError("NOT_FOUND", f"pack {pack_id} has no versions")
        base = next((v for v in versions if v.version == version), None) if version else None
        base = base or next((v for v in versions if v.active), versions[0])
        return ctx.backend.pack_version(svc, pack_id, base.version), versions

    def pack_edit(ctx: Ctx) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        base, versions = _base_version(ctx, svc, pack_id, ctx.request.query_params.get("from"))
        doc = packs.load(base.source_yaml)
        new_version = packs.next_version([v.version for v in versions], datetime.now(tz).date())
        source = packs.apply_parameter_form(base.source_yaml, {}, new_version)
        return render(
            ctx,
            "pack_edit.html",
            svc=svc,
            pack_id=pack_id,
            base=base,
            params=packs.parameters(doc),
            source=source,
            new_version=new_version,
            error="",
        )

    def pack_edit_submit(ctx: Ctx, form: dict[str, str]) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        base, versions = _base_version(ctx, svc, pack_id, form.get("base"))
        new_version = packs.next_version([v.version for v in versions], datetime.now(tz).date())
        mode = form.get("mode", "params")
        error = ""
        try:
            if mode == "source":
                source = form.get("source", "")
            else:
                source = packs.apply_parameter_form(base.source_yaml, form, new_version)
        except (packs.EditError, ValueError) as exc:
            error = str(exc)
            source = form.get("source", "")
        action = form.get("action", "preview")
        if error:
            return render(
                ctx,
                "pack_edit.html",
                status=400,
                svc=svc,
                pack_id=pack_id,
                base=base,
                params=packs.parameters(packs.load(base.source_yaml)),
                source=source,
                new_version=new_version,
                error=error,
            )
        if action == "submit":
            v = ctx.backend.publish(svc, source, form.get("request_id", "") or secrets.token_hex(8))
            raise _Redirect(f"/rules/{svc}/{pack_id}/versions/{v.version}/approval?done=submitted")
        validation = ctx.backend.validate(svc, source)
        tests = ctx.backend.test(svc, source) if validation.valid else None
        dry = ctx.backend.dry_run(svc, source) if validation.valid else None
        summary = packs.summarize_dry_run(dry.results) if dry else []
        rows = packs.side_by_side(base.source_yaml, source, context=3)
        return render(
            ctx,
            "pack_preview.html",
            svc=svc,
            pack_id=pack_id,
            base=base,
            source=source,
            validation=validation,
            tests=tests,
            dry=dry,
            summary=summary,
            rows=rows,
            request_id=secrets.token_hex(8),
        )

    async def validate_endpoint(request: Request) -> Response:
        """As-you-type validation for the editor (JSON); same session and CSRF token as any form."""
        from starlette.concurrency import run_in_threadpool

        ctx = context(request)
        if ctx.principal is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if not secrets.compare_digest(ctx.csrf, request.headers.get("x-csrf-token", "")):
            return JSONResponse({"error": "bad CSRF token"}, status_code=403)
        svc = request.path_params["service"]
        if svc not in RULE_SERVICES:
            return JSONResponse({"error": "unknown service"}, status_code=404)
        body = await request.body()
        if len(body) > 512 * 1024:
            return JSONResponse({"valid": False, "problems": ["pack larger than 512 KiB"]}, status_code=413)
        try:
            result = await run_in_threadpool(ctx.backend.validate, svc, body.decode("utf-8", "replace"))
        except BackendError as exc:
            return JSONResponse({"valid": False, "problems": [exc.message]}, status_code=exc.http_status)
        return JSONResponse(
            {"valid": result.valid, "problems": list(result.problems), "tests_passed": result.tests_passed}
        )

    def approval_page(ctx: Ctx) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        version = ctx.request.path_params["version"]
        req = ctx.backend.approval(svc, pack_id, version)
        active = req.active_version
        rows = []
        if active and active != version:
            rows = packs.side_by_side(
                ctx.backend.pack_version(svc, pack_id, active).source_yaml, req.version.source_yaml, context=3
            )
        summary = packs.summarize_dry_run(req.dry_run.results)
        return render(
            ctx,
            "approval.html",
            svc=svc,
            pack_id=pack_id,
            req=req,
            rows=rows,
            summary=summary,
            request_id=secrets.token_hex(8),
        )

    def version_action(ctx: Ctx, form: dict[str, str]) -> Response:
        svc, pack_id = _svc(ctx), ctx.request.path_params["pack_id"]
        version, action = ctx.request.path_params["version"], ctx.request.path_params["action"]
        rid = form.get("request_id", "") or secrets.token_hex(8)
        if action == "approve":
            ctx.backend.approve(svc, pack_id, version, form.get("comment", "")[:2000], rid)
            done = "approved"
        elif action == "reject":
            ctx.backend.reject(svc, pack_id, version, form.get("reason", "")[:2000], rid)
            done = "rejected"
        elif action == "activate":
            at = _local_datetime(form.get("at", ""), tz)
            ctx.backend.activate(svc, pack_id, version, rid, at)
            done = "scheduled" if at else "activated"
        elif action == "rollback":
            emergency = form.get("emergency") == "1"
            ctx.backend.rollback(
                svc,
                pack_id,
                "" if emergency else version,
                rid,
                emergency=emergency,
                reason=form.get("reason", "")[:2000],
            )
            done = "rolledback"
        else:
            raise BackendError("NOT_FOUND", f"no action {action!r}")
        raise _Redirect(f"/rules/{svc}/{pack_id}/versions/{version}/approval?done={done}")

    def healthz(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    routes = [
        Route("/healthz", healthz),
        Route("/login", page(login_page, signed_in=False), methods=["GET"]),
        Route("/login", post(login_submit, signed_in=False), methods=["POST"]),
        Route("/logout", post(logout), methods=["POST"]),
        Route("/lang", post(set_language, signed_in=False), methods=["POST"]),
        Route("/", page(home)),
        Route("/team", page(team_day)),
        Route("/reps/{employee_id}/day", page(rep_day)),
        Route("/reps/{employee_id}/scorecard", page(scorecard)),
        Route("/reps/{employee_id}/points", page(rep_points)),
        Route("/points", page(leaderboard)),
        Route("/signals", page(signals_page)),
        Route("/heatmap", page(heatmap_page)),
        Route("/trends", page(trends_page)),
        Route("/commitments", page(commitments_page)),
        Route("/cases", page(cases_page)),
        Route("/screening", page(screening_page)),
        Route("/cases/{case_id}", page(case_page)),
        Route("/cases/{case_id}/transition", post(case_transition), methods=["POST"]),
        Route("/rules", page(rules_index)),
        Route("/rules/{service}/validate", validate_endpoint, methods=["POST"]),
        Route("/rules/{service}/{pack_id}", page(pack_history)),
        Route("/rules/{service}/{pack_id}/diff", page(pack_diff)),
        Route("/rules/{service}/{pack_id}/edit", page(pack_edit), methods=["GET"]),
        Route("/rules/{service}/{pack_id}/edit", post(pack_edit_submit), methods=["POST"]),
        Route("/rules/{service}/{pack_id}/versions/{version}", page(pack_version)),
        Route("/rules/{service}/{pack_id}/versions/{version}/approval", page(approval_page)),
        Route(
            "/rules/{service}/{pack_id}/versions/{version}/{action}", post(version_action), methods=["POST"]
        ),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    img = "'self' data:" + (f" https://{tile_host} http://{tile_host}" if tile_host else "")
    headers = {
        "content-security-policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src {img}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'"
        ),
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
    }
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, headers=headers)])


class SecurityHeaders:
    """Adds the security headers to every response, and ``no-store`` to every page (pages hold user data)."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/") or scope["path"] == "/healthz"

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = self.headers if static else [*self.headers, (b"cache-control", b"no-store")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- helpers -------------------------------------------------------------------------------------
def _set_cookie(
    response: Response, name: str, value: str, config: ConsoleConfig, *, max_age: int, http_only: bool = True
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=http_only,
        secure=config.secure_cookies,
        samesite="strict",
        path="/",
    )


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _date_param(value: str | None, default: str) -> str:
    try:
        return date.fromisoformat(value).isoformat() if value else default
    except ValueError:
        return default


def _period_param(value: str | None, default: str) -> str:
    try:
        return datetime.strptime(value, "%Y-%m").strftime("%Y-%m") if value else default
    except ValueError:
        return default


def _unit_param(value: str | None) -> str:
    """An org-unit path from the query string ("" when absent or not a path)."""
    value = (value or "").strip()
    return value if re.fullmatch(r"(/[^/\s]+)+", value) else ""


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode() if png else ""


def _local_datetime(value: str, tz: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` form value in the org's time zone; None when empty or malformed."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=tz) if value else None
    except ValueError:
        return None


def _previous_periods(period: str, n: int) -> list[str]:
    d = datetime.strptime(period, "%Y-%m").date().replace(day=1)
    out = []
    for _ in range(n):
        out.append(d.strftime("%Y-%m"))
        d = (d - timedelta(days=1)).replace(day=1)
    return out[::-1]


def _localtime(ts: Any, tz: ZoneInfo, fmt: str) -> str:
    if ts is None or not getattr(ts, "seconds", 0):
        return ""
    return datetime.fromtimestamp(ts.seconds, UTC).astimezone(tz).strftime(fmt)


def _pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        return text or ""


@dataclass
class EvidenceItem:
    """One finding of a case: its fields, and the words around the match with the match highlighted."""

    fields: list[tuple[str, str]]
    excerpt: Markup | None


@dataclass
class Evidence:
    """A case's evidence: its findings (``items``), and fields of any other shape."""

    fields: list[tuple[str, str]]
    items: list[EvidenceItem]


_HIDDEN = {"excerpt", "excerpt_span", "key"}


def _evidence(evidence_json: str) -> Evidence:
    try:
        doc = json.loads(evidence_json or "{}")
    except ValueError:
        return Evidence([("evidence", evidence_json)], [])
    if not isinstance(doc, dict):
        return Evidence([("evidence", json.dumps(doc, ensure_ascii=False))], [])
    items = []
    for raw in doc.get("items") or []:
        if not isinstance(raw, dict):
            continue
        span = raw.get("excerpt_span")
        excerpt = None
        if isinstance(raw.get("excerpt"), str) and isinstance(span, list) and len(span) == 2:
            excerpt = _highlight(raw["excerpt"], [{"start": span[0], "end": span[1]}])
        items.append(EvidenceItem(_fields(raw, _HIDDEN), excerpt))
    return Evidence(_fields(doc, {"items"}), items)


def _fields(doc: dict[str, Any], hidden: set[str]) -> list[tuple[str, str]]:
    return [
        (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
        for k, v in doc.items()
        if k not in hidden
    ]


def _highlight(text: str, hits: list[dict[str, Any]]) -> Markup:
    spans = sorted(
        {(int(h.get("start", -1)), int(h.get("end", -1))) for h in hits if isinstance(h.get("start"), int)}
    )
    out, pos = [], 0
    for start, end in spans:
        if start < pos or not (0 <= start < end <= len(text)):
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def _route_map(
    report: Any, places: list[Any], config: ConsoleConfig, *, title: str, width: int = 320, height: int = 220
) -> Markup:
    flagged_refs = {a.ref_id for a in report.anomalies if a.ref_id}
    route = [
        charts.MapPoint(
            lat=i.location.latitude,
            lon=i.location.longitude,
            kind=i.kind or "stop",
            label=f"{i.kind} {i.client_id} {i.minutes:.0f} min",
            verified=i.verified,
            minutes=i.minutes,
            flagged=bool(i.id and i.id in flagged_refs),
        )
        for i in report.items
        if i.HasField("location")
    ]
    marks = [
        charts.MapPoint(
            p.place.location.latitude, p.place.location.longitude, "place", label=p.place.client_id
        )
        for p in places
        if p.place.HasField("location")
    ]
    return charts.route_svg(route, marks, width=width, height=height, title=title, tile_url=config.tile_url)
