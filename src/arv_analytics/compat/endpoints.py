"""The original platform's paths: its viewer's tracking calls and its admin pages' reads.

Every route here is tagged "original platform" in OpenAPI and names the canonical route that
new clients should use. Tracking routes are public, rate-limited and CORS-open exactly like
``/api/analytics/ar-session`` (the router is included with the same dependency, and
ingest/cors.py lists these paths); reads need the same bearer tokens as the canonical reads.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from arv_analytics.analytics import endpoints as canonical
from arv_analytics.analytics.schemas import CompanyAnalytics, ContentAnalytics, Overview
from arv_analytics.compat import service
from arv_analytics.compat.schemas import (
    KEPT,
    TAG,
    Diagnostic,
    DiagnosticRecorded,
    Ignored,
    MobileSessionStart,
    MobileSessionStarted,
    MobileUpdate,
)
from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.ingest.body import openapi_body, parse_event
from arv_analytics.ingest.bots import BotRules
from arv_analytics.ingest.schemas import EndResponse
from arv_analytics.ingest.service import Ingest
from arv_analytics.models import utcnow

tracking = APIRouter(tags=[TAG])
reads = APIRouter(prefix="/api/analytics", tags=[TAG])

_START_ERRORS = responses(
    404, 413, 415, 422, 503, descriptions={404: "Unknown or inactive content"}
)
_UPDATE_ERRORS = responses(
    404,
    409,
    413,
    415,
    422,
    503,
    descriptions={404: "Unknown session", 409: "The session started too long ago to end now"},
)
_DIAGNOSTIC_ERRORS = responses(
    404, 413, 415, 422, 503, descriptions={404: "Unknown or inactive content"}
)


def _ip(request: Request, ingest: Ingest) -> str | None:
    peer = request.client.host if request.client else None
    return ingest.enricher.client_ip(peer, request.headers)


async def _start(request: Request) -> MobileSessionStarted:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    body = await parse_event(request, MobileSessionStart, settings.max_body_bytes)
    if service.gpc_declined(settings, request.headers):
        return MobileSessionStarted(status="ignored", session_id=body.session_id)
    return await service.start(
        ingest,
        body,
        ip=_ip(request, ingest),
        header_user_agent=request.headers.get("user-agent"),
    )


async def _update(request: Request) -> EndResponse | Ignored:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    body = await parse_event(request, MobileUpdate, settings.max_body_bytes)
    if service.gpc_declined(settings, request.headers):
        return Ignored(status="ignored", session_id=body.session_id)
    return await service.update(ingest, body)


_START_DOC = (
    KEPT + "`POST /api/analytics/ar-session`. Starts a view of the content `ar_content_unique_id`"
    " with the viewer's `session_id`, by the same rules (idempotent, enriched, bots flagged). "
    "JSON as `application/json` or `text/plain`."
)
_UPDATE_DOC = (
    KEPT + "`POST /api/analytics/ar-session/{session_id}/end`. The session is named in the "
    "body and every figure is optional (a key left out leaves the stored value alone); "
    "otherwise the same rules: the duration only grows and is clamped, `video_played` never "
    "goes back, 404 for an unknown session, 409 after the end window. The original viewer "
    "sends it with `navigator.sendBeacon` (a `text/plain` body)."
)

for prefix in ("/api/analytics", "/api"):
    # The original served /api/analytics/mobile/…; its viewer page and iOS app call
    # /api/mobile/… (which it never routed). Both are kept so that neither loses a view.
    tracking.add_api_route(
        f"{prefix}/mobile/sessions",
        _start,
        methods=["POST"],
        response_model=MobileSessionStarted,
        responses=_START_ERRORS,
        openapi_extra=openapi_body(MobileSessionStart),
        summary="Original platform: start of a view",
        description=_START_DOC,
        operation_id=f"original_mobile_sessions{prefix.replace('/', '_')}",
    )
    tracking.add_api_route(
        f"{prefix}/mobile/analytics",
        _update,
        methods=["POST"],
        response_model=EndResponse | Ignored,
        responses=_UPDATE_ERRORS,
        openapi_extra=openapi_body(MobileUpdate),
        summary="Original platform: update or end of a view (its sendBeacon)",
        description=_UPDATE_DOC,
        operation_id=f"original_mobile_analytics{prefix.replace('/', '_')}",
    )


@tracking.post(
    "/api/analytics/ar-diagnostic",
    response_model=DiagnosticRecorded,
    responses=_DIAGNOSTIC_ERRORS,
    openapi_extra=openapi_body(Diagnostic),
    summary="Original platform: AR start diagnostics (?diagnose=1)",
    description=KEPT + "none (the tracker reports the AR start with every view). Counts one "
    "timing or failure of the AR start per UTC day, content, stage, error, browser and OS; "
    "`duration_ms` goes into a sum, a count and a histogram (≤1 s, ≤3 s, ≤10 s, ≤30 s, more). "
    "Bots and browsers with Global Privacy Control are not counted.",
)
async def diagnostic(request: Request, session: SessionDep) -> DiagnosticRecorded:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    body = await parse_event(request, Diagnostic, settings.max_body_bytes)
    if service.gpc_declined(settings, request.headers):
        return DiagnosticRecorded(status="ignored")
    stored = await service.record_diagnostic(
        session,
        ingest,
        BotRules(settings.bot_user_agents, settings.bot_networks),
        body,
        ip=_ip(request, ingest),
        header_user_agent=request.headers.get("user-agent"),
        day=utcnow().date(),
    )
    await session.commit()
    return DiagnosticRecorded(status="ok" if stored else "ignored")


# --- reads: the original admin pages' aliases of the canonical analytics routes ------------

# The aliases are served by the canonical handlers themselves, so they take exactly the same
# parameters and tokens and give exactly the same answers, whatever the engine behind them.
_ALIASES = (
    ("/summary", canonical.overview, Overview, responses(401, 422), "overview",
     "GET /api/analytics/overview"),
    ("/company/{company_id}", canonical.company, CompanyAnalytics, responses(401, 404, 422),
     "one company", "GET /api/analytics/companies/{company_id}"),
    ("/content/{content_id}", canonical.content, ContentAnalytics, responses(401, 404, 422),
     "one AR content", "GET /api/analytics/ar-content/{content_id}"),
)  # fmt: skip
for path, handler, model, errors, what, target in _ALIASES:
    reads.add_api_route(
        path,
        handler,
        methods=["GET"],
        response_model=model,
        responses=errors,
        summary=f"Original platform: {what}",
        description=KEPT + f"`{target}` (the same answer).",
        operation_id=f"original_{handler.__name__}",
    )
