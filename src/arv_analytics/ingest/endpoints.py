"""Public tracking endpoints: no token, JSON or text/plain bodies, JSON errors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from arv_analytics.config import Settings
from arv_analytics.errors import responses
from arv_analytics.ingest.body import openapi_body, parse_event
from arv_analytics.ingest.schemas import EndEvent, EndResponse, StartEvent, StartResponse
from arv_analytics.ingest.service import Ingest

router = APIRouter(prefix="/api/analytics", tags=["tracking"])

_START_ERRORS = responses(
    404, 413, 415, 422, 503, descriptions={404: "Unknown or inactive content"}
)
_END_ERRORS = responses(
    404,
    409,
    413,
    415,
    422,
    503,
    descriptions={404: "Unknown session", 409: "The session started too long ago to end now"},
)


@router.post(
    "/ar-session",
    response_model=StartResponse,
    responses=_START_ERRORS,
    openapi_extra=openapi_body(StartEvent),
    summary="Record the start of an AR view session",
)
async def start_session(request: Request) -> StartResponse:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    event = await parse_event(request, StartEvent, settings.max_body_bytes)
    peer = request.client.host if request.client else None
    result = await ingest.start(
        event,
        ip=ingest.enricher.client_ip(peer, request.headers),
        header_user_agent=request.headers.get("user-agent"),
    )
    status = "tracked" if result.stored else "ignored"
    return StartResponse(status=status, session_id=result.session_id)


@router.post(
    "/ar-session/{session_id}/end",
    response_model=EndResponse,
    responses=_END_ERRORS,
    openapi_extra=openapi_body(EndEvent),
    summary="Heartbeat or end of a session: the duration only grows",
)
async def end_session(session_id: uuid.UUID, request: Request) -> EndResponse:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    event = await parse_event(request, EndEvent, settings.max_body_bytes)
    return await ingest.end(session_id, event)
