"""Rules of the write path: which content is trackable, idempotent starts, growing ends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import InvalidInput, NotFound
from arv_analytics.ingest import repository
from arv_analytics.ingest.enrichment import Enricher
from arv_analytics.ingest.schemas import EndEvent, EndResponse, StartEvent
from arv_analytics.models import utcnow


@dataclass(frozen=True, slots=True)
class StartResult:
    session_id: uuid.UUID
    stored: bool  # False when a bot was dropped (ARV_STORE_BOTS=false)


async def record_start(
    session: AsyncSession,
    event: StartEvent,
    *,
    enricher: Enricher,
    ip: str | None,
    header_user_agent: str | None,
    store_bots: bool = True,
) -> StartResult:
    """Stores one view and returns its session_id; a repeated session_id stores nothing."""
    ref = await repository.find_content(
        session, content_id=event.content_id, unique_id=event.ar_content_unique_id
    )
    if ref is None:
        if event.content_id is not None and event.ar_content_unique_id is not None:
            # Either id alone may exist; say which combination failed.
            raise NotFound("no ar content matches both the given id and unique id")
        raise NotFound("ar content not found")
    if not ref.trackable:
        raise NotFound("ar content is not active")
    session_id = event.session_id or uuid.uuid4()
    found = await enricher.enrich(
        event, ip=ip, header_user_agent=header_user_agent, company_id=ref.company_id
    )
    if found.is_bot and not store_bots:
        return StartResult(session_id, stored=False)
    now = utcnow()
    await repository.insert_session_once(
        session,
        {
            "ar_content_id": ref.id,
            "project_id": ref.project_id,
            "company_id": ref.company_id,
            "session_id": session_id,
            **found.columns(),
            "tracking_quality": event.tracking_quality,
            "video_played": event.video_played,
            "created_at": now,
            "updated_at": now,
        },
    )
    return StartResult(session_id, stored=True)


def whole_seconds(value: float, maximum: int) -> int:
    """Rounds to the nearest second and clamps to the configured maximum."""
    if value >= maximum:
        return maximum
    return int(value + 0.5)


async def record_end(
    session: AsyncSession, session_id: uuid.UUID, event: EndEvent, *, max_seconds: int
) -> EndResponse:
    if event.duration_seconds < 0:  # the schema already refuses this; kept as the rule's home
        raise InvalidInput("duration_seconds: must be >= 0")
    result = await repository.apply_end(
        session,
        session_id,
        duration=whole_seconds(event.duration_seconds, max_seconds),
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        now=utcnow(),
    )
    if result is None:
        raise NotFound(f"session {session_id} not found")
    duration, played = result
    return EndResponse(session_id=session_id, duration_seconds=duration, video_played=played)
