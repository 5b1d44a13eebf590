"""Public tracking endpoints: no token, JSON or text/plain bodies, JSON errors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from arv_analytics.config import Settings
from arv_analytics.ingest.body import openapi_body, parse_event
from arv_analytics.ingest.schemas import EndEvent, EndResponse, StartEvent, StartResponse
from arv_analytics.ingest.service import Ingest

router = APIRouter(prefix="/api/analytics", tags=["tracking"])

_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"description": "Unknown or inactive content / unknown session"},
    413: {"description": "Body larger than the limit"},
    503: {"description": "Queue full or database unavailable; retry after Retry-After"},
    415: {"description": "Body neither application/json nor text/plain"},
    422: {"description": "Invalid body; `detail` and `fields` name the field"},
}


@router.post(
    "/ar-session",
    response_model=StartResponse,
    responses=_ERRORS,
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
    responses=_ERRORS,
    openapi_extra=openapi_body(EndEvent),
    summary="Heartbeat or end of a session: the duration only grows",
)
async def end_session(session_id: uuid.UUID, request: Request) -> EndResponse:
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    event = await parse_event(request, EndEvent, settings.max_body_bytes)
    return await ingest.end(session_id, event)
