"""Public tracking endpoints: no token, JSON or text/plain bodies, JSON errors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.ingest import service
from arv_analytics.ingest.body import openapi_body, parse_event
from arv_analytics.ingest.schemas import EndEvent, EndResponse, StartEvent, StartResponse

router = APIRouter(prefix="/api/analytics", tags=["tracking"])

_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"description": "Unknown or inactive content / unknown session"},
    413: {"description": "Body larger than the limit"},
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
async def start_session(request: Request, session: SessionDep) -> StartResponse:
    settings: Settings = request.app.state.settings
    event = await parse_event(request, StartEvent, settings.max_body_bytes)
    session_id = await service.record_start(
        session,
        event,
        header_user_agent=request.headers.get("user-agent"),
        max_seconds=settings.max_session_seconds,
    )
    await session.commit()
    return StartResponse(session_id=session_id)


@router.post(
    "/ar-session/{session_id}/end",
    response_model=EndResponse,
    responses=_ERRORS,
    openapi_extra=openapi_body(EndEvent),
    summary="Heartbeat or end of a session: the duration only grows",
)
async def end_session(session_id: uuid.UUID, request: Request, session: SessionDep) -> EndResponse:
    settings: Settings = request.app.state.settings
    event = await parse_event(request, EndEvent, settings.max_body_bytes)
    result = await service.record_end(
        session, session_id, event, max_seconds=settings.max_session_seconds
    )
    await session.commit()
    return result
