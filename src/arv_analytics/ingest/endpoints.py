"""Public tracking endpoints: no token, JSON or text/plain bodies, JSON errors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.ingest import service
from arv_analytics.ingest.body import openapi_body, parse_event
from arv_analytics.ingest.schemas import EndEvent, EndResponse, StartEvent, StartResponse

router = APIRouter(prefix="/api/analytics", tags=["tracking"])

_START_ERRORS = responses(404, 413, 415, 422, descriptions={404: "Unknown or inactive content"})
_END_ERRORS = responses(
    404,
    409,
    413,
    415,
    422,
    descriptions={404: "Unknown session", 409: "The session started too long ago to end now"},
)


@router.post(
    "/ar-session",
    response_model=StartResponse,
    responses=_START_ERRORS,
    openapi_extra=openapi_body(StartEvent),
    summary="Record the start of an AR view session",
)
async def start_session(request: Request, session: SessionDep) -> StartResponse:
    settings: Settings = request.app.state.settings
    event = await parse_event(request, StartEvent, settings.max_body_bytes)
    session_id = await service.record_start(
        session, event, header_user_agent=request.headers.get("user-agent")
    )
    await session.commit()
    return StartResponse(session_id=session_id)


@router.post(
    "/ar-session/{session_id}/end",
    response_model=EndResponse,
    responses=_END_ERRORS,
    openapi_extra=openapi_body(EndEvent),
    summary="Heartbeat or end of a session: the duration only grows",
)
async def end_session(session_id: uuid.UUID, request: Request, session: SessionDep) -> EndResponse:
    settings: Settings = request.app.state.settings
    event = await parse_event(request, EndEvent, settings.max_body_bytes)
    result = await service.record_end(
        session,
        session_id,
        event,
        max_seconds=settings.max_session_seconds,
        grace_seconds=settings.end_grace_seconds,
    )
    await session.commit()
    return result
